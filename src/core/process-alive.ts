/**
 * Whether the process that left a file behind still runs: temp files and directories named with
 * their writer's pid (checkpoint temp files, import spools) are removed by a later run once that
 * pid is gone, and never while it runs (in this process or another).
 */
import { hostname } from 'node:os';

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

/** This host's name as it appears in file names (nothing but letters, digits, `.` and `-`). */
const HOST = hostname().replace(/[^A-Za-z0-9.-]/g, '_');

/**
 * `PID@HOST` of this process: put in the name of a temp file so that a later run removes it once
 * this process is gone, and a run on another host sharing the directory (NFS) leaves it alone.
 */
export function writerTag(): string {
  return `${process.pid}@${HOST}`;
}

/**
 * True when the writer named by `tag` (from {@link writerTag}; a bare `PID` is of an older version,
 * which assumed one host) is a process of this host that is gone. Another host's cannot be checked.
 */
export function writerGone(tag: string): boolean {
  const writer = /^(\d+)(?:@(.+))?$/.exec(tag);
  if (!writer || (writer[2] !== undefined && writer[2] !== HOST)) return false;
  return !processAlive(Number(writer[1]));
}
