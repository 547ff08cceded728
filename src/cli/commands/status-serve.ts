/** `status --serve PORT [--host HOST]`: the live status page, until Ctrl-C or SIGTERM. */
import { withoutPassword } from '../../queue/bullmq.js';
import { serveStatus } from '../../queue/index.js';
import { interruptedExitCode, parseIntegerFlag, writeJsonSummary, type CliIO, type OptionValues } from '../command.js';

export const SERVE_HELP = `  --serve PORT            serve a live page of the job (without --id: of the queue's --limit
                          newest jobs, each with a page of its own) on http://127.0.0.1:PORT/ until
                          Ctrl-C (0 picks a free port); it updates itself every second, and
                          GET /status.json serves what --json prints. Redis is read at most once
                          a second however many browsers watch. With --json, prints {"url"} on stdout
  --host HOST             the interface --serve listens on (default 127.0.0.1: this machine only).
                          The page has no authentication: another interface shows the job's ids,
                          failure reasons and worker hosts to anyone who can reach it`;

/** Serve the page of `exportId` (or of every job) until the process is told to stop; returns the exit code (130/143). */
export async function serveStatusPage(values: OptionValues, queue: string, exportId: string | undefined, limit: number | undefined, io: CliIO): Promise<number> {
  const started = Date.now();
  const port = parseIntegerFlag('serve', values.serve as string, 0, 65_535)!;
  const host = typeof values.host === 'string' ? values.host : undefined;
  let server;
  try {
    server = await serveStatus({ queue, exportId, limit, port, host, signal: io.signal });
  } catch (error) {
    // Ctrl-C while the first read still waits for Redis: stopped, not failed.
    if (!io.signal.aborted) throw error;
    return interruptedExitCode(io);
  }
  if (server.exposed) {
    io.stderr.write(`inference-streams status: warning: the page has no authentication; anyone who can reach ${server.host} port ${server.port} sees the job's ids, failure reasons and worker hosts\n`);
  }
  io.stderr.write(`inference-streams status: serving the status of ${exportId ?? 'the jobs'} (queue ${withoutPassword(queue)}) at ${server.url}; Ctrl-C stops\n`);
  if (values.json === true) writeJsonSummary(io, 'status', { url: server.url, elapsedMs: Date.now() - started });
  await new Promise<void>((resolve) => {
    if (io.signal.aborted) return resolve();
    io.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await server.close();
  io.stderr.write('inference-streams status: stopped serving\n');
  // Stopped by a signal, as a server is: 130 after Ctrl-C, 143 after SIGTERM.
  return interruptedExitCode(io);
}
