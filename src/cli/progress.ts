/**
 * A one-line progress display on stderr, redrawn at most every 100 ms, only when stderr is a
 * TTY: stdout stays clean for data, and logs of piped runs stay free of control characters.
 */
import type { Writable } from 'node:stream';
import { redact } from '../core/errors.js';

export class ProgressLine {
  private lastDraw = 0;
  private lastText = '';
  private drawn = false;

  constructor(
    private readonly stream: Writable,
    private readonly enabled: boolean,
    private readonly render: () => string,
  ) {}

  /** Redraw if 100 ms have passed since the last draw (or `force`). */
  update(force = false): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (!force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const text = redact(this.render());
    if (text === this.lastText && !force) return;
    this.lastText = text;
    const width = (this.stream as { columns?: number }).columns || 120;
    this.stream.write(`\r\x1b[2K${text.slice(0, Math.max(20, width - 1))}`);
    this.drawn = true;
  }

  /** Draw the final state and end the line. */
  done(): void {
    if (!this.enabled) return;
    this.update(true);
    if (this.drawn) this.stream.write('\n');
  }

  /** Erase the line (before printing an error). */
  clear(): void {
    if (this.enabled && this.drawn) this.stream.write('\r\x1b[2K');
  }
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
