/**
 * Whether the process that left a file behind still runs: temp files and directories named with
 * their writer's pid (checkpoint temp files, import spools) are removed by a later run once that
 * pid is gone, and never while it runs (in this process or another).
 */

/** True when `pid` is a running process (ours, or another user's: EPERM still means alive). */
export function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
