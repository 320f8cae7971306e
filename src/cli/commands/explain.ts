import { UserError } from '../../core/errors';
import type { CliCommand } from '../common';

export const command: CliCommand = {
  help: () => 'deepfaith explain: not available in this build yet.',
  run: async () => {
    throw new UserError('deepfaith explain is not available in this build yet.', 'Update to a later version.');
  },
};
