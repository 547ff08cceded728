/**
 * Saves one state object to a CheckpointFile for parallel writers: saves are serialized and
 * grouped, so a caller joins a save that has not started yet (its snapshot is taken when it
 * starts, so it includes the caller's progress) instead of queueing one more.
 */
import { CheckpointFile } from '../core/checkpoint.js';

export class StateSaver<State> {
  readonly file: CheckpointFile<State>;
  private saving: Promise<void> = Promise.resolve();
  private queued: Promise<void> | undefined;

  constructor(path: string) {
    this.file = new CheckpointFile<State>(path);
  }

  /** Save `state` durably; resolves once a save that started after this call has finished. */
  save(state: State): Promise<void> {
    if (this.queued) return this.queued;
    const queued = this.saving.then(() => {
      this.queued = undefined;
      return this.file.save(state);
    });
    this.queued = queued;
    this.saving = queued.catch(() => undefined);
    return queued;
  }

  /** Wait for the saves under way (their errors went to their callers). */
  settled(): Promise<void> {
    return this.saving;
  }
}
