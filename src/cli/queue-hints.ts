/** What `export --queue` and `predict --queue` print after enqueueing: the commands that start workers and watch the job, ready to paste. */
import { commandHint, copyableCommand } from './command-line.js';

/**
 * Two lines: the worker command (and what each worker needs: `needs`) and the status command,
 * with the real queue URL (its password left out) and id.
 */
export function queueHints(queue: string, id: string, needs: string): string {
  const worker = commandHint(copyableCommand(['worker'], { queue }));
  const status = commandHint(copyableCommand(['status'], { queue, id }));
  return `Start workers (each needs ${needs}) with: ${worker}\nWatch it with: ${status}\n`;
}
