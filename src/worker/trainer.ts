/**
 * Adapter from the studio's train request to the engine's explainer trainer.
 * The engine's trainer (src/core/explainer/train.ts) is wired here once it is available.
 */
import { UserError } from '../core/errors';
import type { Post } from './handler';
import type { ResultMap, TrainRequestConfig } from './protocol';
import type { ProgressFn, Session } from './session';

export class Trainer {
  constructor(
    readonly session: Session,
    readonly requestId: number,
    readonly config: TrainRequestConfig,
    private readonly post: Post,
  ) {}

  pause(): void {}
  resume(): void {}

  async run(signal: AbortSignal, progress: ProgressFn): Promise<ResultMap['train']> {
    void signal;
    void progress;
    void this.post;
    throw new UserError('Training the explainer is not available in this build yet.', 'Use the other panels; training arrives with the engine\'s trainer.');
  }

  async explain(rows: number[]): Promise<Float32Array> {
    void rows;
    throw new UserError('No explainer has been trained in this session.', 'Train one in the Train panel first.');
  }

  dispose(): void {}
}
