// Where every host's output meets: whole lines written to our stdout or stderr, one
// write each (so never torn), the progress line moved out of the way, and every host's
// streams paused while our own output is full (a slow pipe slows the servers, as with
// one host), resumed on 'drain'. A broken stdout (`| head`) is reported once.
import type { Readable, Writable } from 'node:stream';
import type { CliIo } from '../io.js';
import type { ProgressLine } from './progress-line.js';

export type OutputName = 'stdout' | 'stderr';

/** Our two output streams, shared by all hosts. */
export class OutputMux {
  readonly #streams: Record<OutputName, Writable>;
  readonly #progress: ProgressLine;
  readonly #sources = new Set<Readable>();
  readonly #full = new Set<OutputName>();
  #broken = false;
  readonly #onBroken: () => void;

  /** `onBroken` is called once if one of our streams fails (a closed pipe). */
  constructor(io: CliIo, progress: ProgressLine, onBroken: () => void) {
    this.#streams = { stdout: io.stdout, stderr: io.stderr };
    this.#progress = progress;
    this.#onBroken = onBroken;
    for (const stream of Object.values(this.#streams)) stream.on('error', this.#fail);
  }

  /** True once one of our streams has failed: nothing more is written. */
  get broken(): boolean {
    return this.#broken;
  }

  /** Writes whole lines (or a whole block) to one of our streams. */
  write(name: OutputName, data: Buffer | string): void {
    if (this.#broken || data.length === 0) return;
    this.#progress.hide();
    if (!this.#streams[name].write(data) && !this.#full.has(name)) {
      this.#full.add(name);
      if (this.#full.size === 1) for (const source of this.#sources) source.pause();
      this.#streams[name].once('drain', () => {
        this.#full.delete(name);
        if (this.#full.size === 0) for (const source of this.#sources) source.resume();
      });
    }
  }

  /** A host's stream to pause while our output is full; the returned function forgets it. */
  addSource(source: Readable): () => void {
    this.#sources.add(source);
    if (this.#full.size > 0) source.pause();
    return () => {
      this.#sources.delete(source);
    };
  }

  /** Stops listening for errors on our streams. */
  close(): void {
    for (const stream of Object.values(this.#streams)) stream.off('error', this.#fail);
  }

  readonly #fail = (): void => {
    if (this.#broken) return;
    this.#broken = true;
    this.#onBroken();
  };
}
