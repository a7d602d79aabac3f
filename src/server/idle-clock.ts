// A connection's idle limit (docs/protocol.md section 6): a connection with nothing running
// is closed once it has been idle for the limit, counted from the later of its last
// frame and the end of its last command or transfer. One timer per connection, re-armed
// for the time still left rather than on every frame.
import { performance } from 'node:perf_hooks';

/** The idle clock of one connection. */
export class IdleClock {
  readonly #limitMs: number;
  readonly #running: () => number;
  readonly #expired: () => void;
  #lastActivity = performance.now();
  #timer: NodeJS.Timeout | undefined;

  /** `running`: what runs now (nothing idles while it is not 0); `expired`: the limit is reached. */
  constructor(limitMs: number, running: () => number, expired: () => void) {
    this.#limitMs = limitMs;
    this.#running = running;
    this.#expired = expired;
  }

  /** Something happened (a frame arrived, a command ended): idle time counts from now. */
  touch(): void {
    this.#lastActivity = performance.now();
  }

  /** Starts counting (once a user is admitted). */
  start(): void {
    this.#arm(this.#limitMs);
  }

  stop(): void {
    clearTimeout(this.#timer);
  }

  #arm(delayMs: number): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#check(), delayMs);
  }

  #check(): void {
    if (this.#running() > 0) {
      this.#arm(this.#limitMs);
      return;
    }
    const idleFor = performance.now() - this.#lastActivity;
    if (idleFor >= this.#limitMs) this.#expired();
    else this.#arm(Math.ceil(this.#limitMs - idleFor));
  }
}
