// Where every host's output meets: whole lines written to our stdout or stderr, one
// write each (so never torn), the progress line moved out of the way, and every host's
// streams paused while our own output is full (a slow pipe slows the servers, as with
// one host), resumed on 'drain'. A failed output (`| head`, a full disk) is reported once,
// and every host's stream is destroyed then: paused, it would hold its command forever.
import type { Readable, Writable } from 'node:stream';
import type { CliIo } from '../../shared/io.js';
import type { ProgressLine } from './progress-line.js';

export type OutputName = 'stdout' | 'stderr';

/** Our two output streams, shared by all hosts. */
export class OutputMux {
  readonly #streams: Record<OutputName, Writable>;
  readonly #progress: ProgressLine;
  readonly #sources = new Set<Readable>();
  readonly #full = new Set<OutputName>();
  readonly #listeners: Record<OutputName, (error: unknown) => void>;
  #failed: OutputName | undefined;
  readonly #onFailure: (name: OutputName, error: unknown) => void;

  /** `onFailure` is called once, when one of our streams fails (a closed pipe, a write error). */
  constructor(io: CliIo, progress: ProgressLine, onFailure: (name: OutputName, error: unknown) => void) {
    this.#streams = { stdout: io.stdout, stderr: io.stderr };
    this.#progress = progress;
    this.#onFailure = onFailure;
    this.#listeners = {
      stdout: (error) => this.#fail('stdout', error),
      stderr: (error) => this.#fail('stderr', error),
    };
    for (const name of ['stdout', 'stderr'] as const) this.#streams[name].on('error', this.#listeners[name]);
  }

  /** True once one of our streams has failed: nothing more is written. */
  get broken(): boolean {
    return this.#failed !== undefined;
  }

  /** The stream that failed, if one did. */
  get failed(): OutputName | undefined {
    return this.#failed;
  }

  /**
   * Writes whole lines (or a whole block) to one of our streams. `written` is called once
   * the data has left our hands (flushed, or dropped because the output failed).
   */
  write(name: OutputName, data: Buffer | string, written?: () => void): void {
    if (this.#failed !== undefined || data.length === 0) {
      written?.();
      return;
    }
    this.#progress.hide();
    const stream = this.#streams[name];
    if (!stream.write(data, written === undefined ? undefined : () => written()) && !this.#full.has(name)) {
      this.#full.add(name);
      if (this.#full.size === 1) for (const source of this.#sources) source.pause();
      stream.once('drain', () => {
        if (!this.#full.delete(name) || this.#full.size > 0) return;
        for (const source of this.#sources) source.resume();
      });
    }
  }

  /** A host's stream to pause while our output is full; the returned function forgets it. */
  addSource(source: Readable): () => void {
    if (this.#failed !== undefined) {
      source.destroy();
      return () => {};
    }
    this.#sources.add(source);
    if (this.#full.size > 0) source.pause();
    return () => {
      this.#sources.delete(source);
    };
  }

  /** Stops listening for errors on our streams. */
  close(): void {
    for (const name of ['stdout', 'stderr'] as const) this.#streams[name].off('error', this.#listeners[name]);
  }

  #fail(name: OutputName, error: unknown): void {
    if (this.#failed !== undefined) return;
    this.#failed = name;
    this.#full.clear();
    // No 'drain' will come: a paused stream would never be read to its end, and its
    // command's exit would never settle.
    for (const source of this.#sources) source.destroy();
    this.#sources.clear();
    this.#onFailure(name, error);
  }
}
