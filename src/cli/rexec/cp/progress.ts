// The progress line of `rexec cp` on a terminal: one line, redrawn at most ten times a
// second, with the current file, the bytes so far, a bar, the rate and the time left;
// cleared when the copy ends, where a one-line summary takes its place. Nothing is drawn
// when stderr is not a terminal (or with -q): the summary alone is printed.
import { performance } from 'node:perf_hooks';
import type { Writable } from 'node:stream';
import { printable } from '../../shared/printable.js';

/** The terminal (or not) progress is drawn on. */
export type ProgressOutput = Writable & { readonly isTTY?: boolean; readonly columns?: number };

// Redraws at most this often.
const FRAME_MS = 100;
// "100% [##########] 1023.9 MiB  999.9 MiB/s ETA 10:00:00"
const STATUS_WIDTH = 54;

/** Bytes and files of a copy, drawn as they move. */
export class Progress {
  readonly #output: ProgressOutput;
  readonly #draw: boolean;
  readonly #startedAt = performance.now();
  #total: number | undefined;
  #done = 0;
  #current = 0;
  #currentSize: number | undefined;
  #name = '';
  #files = 0;
  #lastDraw = -Infinity;
  #drawn = false;

  /** `total`: the bytes of the whole copy when known up front. */
  constructor(output: ProgressOutput, options: { readonly quiet: boolean; readonly total?: number }) {
    this.#output = output;
    this.#draw = !options.quiet && output.isTTY === true;
    this.#total = options.total;
  }

  /** Whether a progress line is drawn at all. */
  get drawing(): boolean {
    return this.#draw;
  }

  /** The bytes of the whole copy, once known: the line then shows the whole copy's progress. */
  setTotal(total: number): void {
    this.#total = total;
  }

  /** A file starts (its size when known: without a total, the line shows the file's progress). */
  startFile(name: string, size: number | undefined): void {
    this.#name = printable(name);
    this.#current = 0;
    this.#currentSize = size;
    this.#render(true);
  }

  /** The current file's size, once known (a download learns it from the server). */
  setFileSize(size: number): void {
    this.#currentSize = size;
    this.#render(true);
  }

  /** The current file has moved `bytes` bytes so far. */
  update(bytes: number): void {
    this.#current = bytes;
    this.#render(false);
  }

  /** The current file is done (or failed: its bytes still count as moved). */
  endFile(ok: boolean): void {
    this.#render(true);
    this.#done += this.#current;
    this.#current = 0;
    if (ok) this.#files += 1;
  }

  /** Clears the line before other text is written (an error message). */
  clear(): void {
    if (!this.#drawn) return;
    this.#output.write('\r\x1b[K');
    this.#drawn = false;
    this.#lastDraw = -Infinity;
  }

  /** The one-line summary: `3 files copied, 1 failed (300.0 MiB in 6.6 s, 45.5 MiB/s)`. */
  summary(failed: number): string {
    const seconds = (performance.now() - this.#startedAt) / 1000;
    const bytes = this.#done;
    const files = `${this.#files} file${this.#files === 1 ? '' : 's'} copied`;
    const failures = failed === 0 ? '' : `, ${failed} failed`;
    return `${files}${failures} (${formatBytes(bytes)} in ${seconds.toFixed(1)} s, ${formatBytes(bytes / Math.max(seconds, 0.001))}/s)`;
  }

  #render(force: boolean): void {
    if (!this.#draw) return;
    const now = performance.now();
    if (!force && now - this.#lastDraw < FRAME_MS) return;
    this.#lastDraw = now;
    const moved = this.#done + this.#current;
    const seconds = Math.max((now - this.#startedAt) / 1000, 0.001);
    const rate = moved / seconds;
    const parts: string[] = [];
    // The whole copy when its size is known, else the current file.
    const [done, total] = this.#total !== undefined ? [moved, this.#total] : [this.#current, this.#currentSize];
    if (total !== undefined && total > 0) {
      const fraction = Math.min(done / total, 1);
      parts.push(`${String(Math.floor(fraction * 100)).padStart(3)}%`, bar(fraction, 10));
      parts.push(formatBytes(done).padStart(10), `${formatBytes(rate)}/s`.padStart(12));
      parts.push(`ETA ${rate > 0 ? formatDuration((total - done) / rate) : '--:--'}`);
    } else {
      parts.push(formatBytes(moved), `${formatBytes(rate)}/s`);
    }
    const status = parts.join(' ');
    const width = Math.max((this.#output.columns || 80) - 1, 20);
    // The name's column does not move as the numbers grow: room for the longest status.
    const room = width - Math.max(status.length, STATUS_WIDTH) - 2;
    const name =
      room <= 3 ? '' : this.#name.length > room ? `...${this.#name.slice(-(room - 3))}` : this.#name.padEnd(room);
    this.#output.write(`\r\x1b[K${name}${name === '' ? '' : '  '}${status}`.slice(0, width + 5));
    this.#drawn = true;
  }
}

/** 1536 → "1.5 KiB". */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** Seconds as m:ss (or h:mm:ss). */
export function formatDuration(seconds: number): string {
  const total = Math.max(0, Math.round(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

function bar(fraction: number, width: number): string {
  const full = Math.round(fraction * width);
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}]`;
}
