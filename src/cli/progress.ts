/**
 * Progress on stderr, the one renderer every long-running command uses, in four modes
 * (`--progress auto|bar|plain|json|none`):
 * - `bar`: one line redrawn in place (at most every 100 ms), for a terminal;
 * - `plain`: the same text as a new line every 10 s, for logs of runs under cron, nohup or CI;
 * - `json`: one JSON object a line every 10 s and a last one (`"final": true`) at the end, for log
 *   collectors (keys in {@link ProgressJson});
 * - `none`: nothing.
 * `auto` (the default) is `bar` when stderr is a TTY, else `plain`. stdout stays clean for data.
 */
import type { Writable } from 'node:stream';
import { redact } from '../core/errors.js';
import { UsageError, type CliIO, type OptionValues } from './command.js';
import { jsonLineSafe, terminalSafe } from './terminal-text.js';
import { counted } from '../core/plural.js';

/** What `--progress` can say. */
export const PROGRESS_CHOICES = ['auto', 'bar', 'plain', 'json', 'none'] as const;
/** How progress is shown once `auto` is decided. */
export type ProgressMode = 'bar' | 'plain' | 'json' | 'none';

/** The option of the commands that show progress (export, import, ingest, predict, demo). */
export const PROGRESS_OPTION = { progress: { type: 'string' } } as const;

/** Their help lines, next to the common options. */
export const PROGRESS_HELP = `Progress (on stderr):
  --progress MODE         auto, bar, plain, json or none (default auto: a bar on a terminal, else a
                          plain line every 10 s with records, rate and position; json: one JSON
                          object a line, see the README; --no-progress is --progress none)`;

/** Plain and JSON lines come this often; `INFERENCE_STREAMS_PROGRESS_INTERVAL_MS` changes it (for tests). */
export const PROGRESS_INTERVAL_MS = 10_000;

/**
 * The mode of a run: `--progress` (checked: a usage error names the allowed values), `--no-progress`
 * (none), else `auto`: a bar when `stderrIsTty`, else plain lines.
 */
export function resolveProgressMode(values: OptionValues, stderrIsTty: boolean): ProgressMode {
  const value = values.progress;
  if (value !== undefined && (typeof value !== 'string' || !(PROGRESS_CHOICES as readonly string[]).includes(value))) {
    throw new UsageError(`--progress must be one of ${PROGRESS_CHOICES.join(', ')} (got "${String(value)}")`);
  }
  if (values['no-progress'] === true) return 'none';
  if (value === undefined || value === 'auto') return stderrIsTty ? 'bar' : 'plain';
  return value as ProgressMode;
}

/** What a command reports: the text of the bar and plain lines, and the fields of the JSON lines. */
export interface ProgressSnapshot {
  /** One line for people, e.g. `export: 78,000 records (1,000 new), 950/s, at 2024-03-01T…`. */
  text: string;
  /** Records (objects, predictions) done so far, earlier runs of a resumed job included. */
  records?: number;
  /** Of them, done by this run (equal to `records` unless resumed). */
  recordsThisRun?: number;
  /** This run's records per second. */
  ratePerSecond?: number;
  /** Where the run stands: a checkpoint's time (export), `line N` or `byte N` of the input. */
  position?: string;
  /** Retries so far. */
  retries?: number;
}

/**
 * One `--progress json` line. Every key is always there (`null` when the command does not know
 * it), so a log collector can rely on them.
 */
export interface ProgressJson {
  type: 'progress';
  /** `export`, `import`, `ingest`, `predict`, `demo`. */
  command: string;
  /** When the line was written, ISO 8601. */
  time: string;
  /** Since the progress started, ms. */
  elapsedMs: number;
  records: number | null;
  recordsThisRun: number | null;
  ratePerSecond: number | null;
  position: string | null;
  retries: number | null;
  /** The text of a plain line. */
  message: string;
  /** True for the last line, written when the run ends. */
  final: boolean;
}

/** The reporters running now, so `stopAllProgress` can end their timers when a command returns. */
const running = new Set<Progress>();

/**
 * Progress of one run (or stage) of a command. `update()` after each step, `done()` at the end,
 * `clear()` before printing a message (it erases the bar; plain and JSON lines need no erasing).
 */
export class Progress {
  private readonly started = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private lastDraw = 0;
  private lastText = '';
  private drawn = false;
  private finished = false;

  constructor(
    private readonly stream: Writable,
    readonly mode: ProgressMode,
    private readonly command: string,
    private readonly snapshot: () => ProgressSnapshot,
    private readonly intervalMs = PROGRESS_INTERVAL_MS,
  ) {
    this.startTimer();
  }

  /** Redraw the bar if 100 ms have passed since the last draw (or `force`). Plain and JSON lines come on their timer. */
  update(force = false): void {
    if (this.finished) return;
    this.startTimer();
    if (this.mode !== 'bar') return;
    const now = Date.now();
    if (!force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const text = terminalSafe(redact(this.snapshot().text));
    if (text === this.lastText && !force) return;
    this.lastText = text;
    const width = (this.stream as { columns?: number }).columns || 120;
    this.stream.write(`\r\x1b[2K${text.slice(0, Math.max(20, width - 1))}`);
    this.drawn = true;
  }

  /** The end: the bar's last state and a newline, or the final JSON line. */
  done(): void {
    if (this.finished) return;
    if (this.mode === 'bar') {
      this.update(true);
      if (this.drawn) this.stream.write('\n');
    } else if (this.mode === 'json') {
      this.writeLine(true);
    }
    this.stop();
  }

  /** Erase the bar (before a message); the lines pause until the next `update()`. */
  clear(): void {
    if (this.mode === 'bar' && this.drawn) {
      this.stream.write('\r\x1b[2K');
      this.drawn = false;
      this.lastText = '';
    }
    this.pause();
  }

  /** No more output from this reporter. */
  stop(): void {
    this.finished = true;
    this.pause();
  }

  private startTimer(): void {
    if (this.timer !== undefined || this.finished || (this.mode !== 'plain' && this.mode !== 'json')) return;
    running.add(this);
    this.timer = setInterval(() => this.writeLine(false), this.intervalMs);
    // A progress line never keeps the process alive.
    this.timer.unref();
  }

  private pause(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    running.delete(this);
  }

  private writeLine(final: boolean): void {
    const snapshot = this.snapshot();
    const message = terminalSafe(redact(snapshot.text));
    if (this.mode === 'plain') {
      this.stream.write(`${message}\n`);
      return;
    }
    const line: ProgressJson = {
      type: 'progress',
      command: this.command,
      time: new Date().toISOString(),
      elapsedMs: Date.now() - this.started,
      records: snapshot.records ?? null,
      recordsThisRun: snapshot.recordsThisRun ?? null,
      ratePerSecond: snapshot.ratePerSecond === undefined ? null : Math.round(snapshot.ratePerSecond * 10) / 10,
      position: snapshot.position === undefined ? null : redact(snapshot.position),
      retries: snapshot.retries ?? null,
      message,
      final,
    };
    this.stream.write(`${jsonLineSafe(line)}\n`);
  }
}

/** The progress of `command` on `io.stderr`, in the run's mode (see {@link resolveProgressMode}). */
export function startProgress(io: Pick<CliIO, 'stderr' | 'progress' | 'progressMode' | 'env'>, command: string, snapshot: () => ProgressSnapshot): Progress {
  const mode = io.progressMode ?? (io.progress ? 'bar' : 'none');
  return new Progress(io.stderr, mode, command, snapshot, progressInterval(io.env));
}

/** End every reporter's timer (when a command returns, whatever path it took). */
export function stopAllProgress(): void {
  for (const progress of [...running]) progress.stop();
}

function progressInterval(env: NodeJS.ProcessEnv): number {
  const raw = env.INFERENCE_STREAMS_PROGRESS_INTERVAL_MS;
  const ms = raw !== undefined && /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  return Number.isSafeInteger(ms) && ms >= 10 ? ms : PROGRESS_INTERVAL_MS;
}

/** "78,000 records (1,000 new)" when resumed (the total and this run's share), else "1,000 records". */
export function recordsText(total: number, thisRun: number, resumed: boolean, noun = 'record'): string {
  return resumed ? `${counted(total, noun)} (${formatCount(thisRun)} new)` : counted(total, noun);
}

/** `12 345` style number. */
export function formatCount(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

/** Bytes as B/kB/MB/GB. */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = -1;
  do {
    value /= 1000;
    unit++;
  } while (value >= 1000 && unit < units.length - 1);
  return `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

/** Per-second rate of `count` over `elapsedMs`. */
export function ratePerSecond(count: number, elapsedMs: number): number {
  return elapsedMs > 0 ? (count * 1000) / elapsedMs : 0;
}
