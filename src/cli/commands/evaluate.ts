import { UserError } from '../../core/errors';
import type { CliCommand } from '../common';

export const command: CliCommand = {
  help: () => 'deepfaith evaluate: not available in this build yet.',
  run: async () => {
    throw new UserError('deepfaith evaluate is not available in this build yet.', 'Update to a later version.');
  },
};
