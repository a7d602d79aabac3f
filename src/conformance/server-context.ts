// What a server check works with: the target, the key, the server's hello, and fresh
// connections (opened, or authenticated) that are all closed when the check ends.
import { computeProof, decodeNonce, keyFromText, newNonce } from '../protocol/auth-proof.js';
import type { FrameHeader } from '../protocol/frame.js';
import type { HelloMessage } from '../protocol/messages.js';
import { fail, skip, show } from './check.js';
import { Probe } from './probe.js';
import type { Target } from './probe.js';

/** How to reach the server under test, and what the checker may assume of it. */
export interface ServerCheckOptions {
  readonly target: Target;
  /** The shared key's text; needed unless the server says `auth: "none"`. */
  readonly key?: string | undefined;
  /** The user to authenticate as (default "default"). */
  readonly user?: string | undefined;
  /** Deadline of each awaited frame, in ms (default 10000). */
  readonly waitMs?: number | undefined;
  /** The server's idle limit, when known: enables the idle check. */
  readonly idleTimeoutMs?: number | undefined;
  /** The server's authentication deadline, when known: enables the auth-timeout check. */
  readonly authTimeoutMs?: number | undefined;
  /** The server's grace period between SIGTERM and SIGKILL (default 2000, rexecd's). */
  readonly graceMs?: number | undefined;
}

/** Default deadline for one awaited frame. */
export const DEFAULT_WAIT_MS = 10_000;

/** Default grace period assumed between SIGTERM and SIGKILL (rexecd's). */
export const DEFAULT_GRACE_MS = 2_000;

/** A connection whose hello has been read. */
export interface OpenedProbe {
  readonly probe: Probe;
  readonly hello: FrameHeader;
  /** The hello's nonce as bytes (undefined if it is not base64 of 32 bytes). */
  readonly snonce: Buffer | undefined;
}

/** What the checks of one run share: whether the server runs POSIX tools, asked once. */
export interface SharedProbes {
  tools?: Promise<string | undefined>;
}

/** The per-check view of the server under test. */
export class ServerContext {
  readonly target: Target;
  readonly key: string | undefined;
  readonly user: string;
  readonly waitMs: number;
  readonly idleTimeoutMs: number | undefined;
  readonly authTimeoutMs: number | undefined;
  readonly graceMs: number;
  /** The hello of the run's first connection. */
  readonly hello: HelloMessage;
  readonly #probes = new Set<Probe>();
  readonly #shared: SharedProbes;

  constructor(options: ServerCheckOptions, hello: HelloMessage, shared: SharedProbes = {}) {
    this.target = options.target;
    this.key = options.key;
    this.user = options.user ?? 'default';
    this.waitMs = options.waitMs ?? DEFAULT_WAIT_MS;
    this.idleTimeoutMs = options.idleTimeoutMs;
    this.authTimeoutMs = options.authTimeoutMs;
    this.graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
    this.hello = hello;
    this.#shared = shared;
  }

  /** True when the server authenticates clients. */
  get authenticates(): boolean {
    return this.hello.auth !== 'none';
  }

  /** A new connection, its hello read (and failed on if it is not a hello). */
  async open(): Promise<OpenedProbe> {
    const probe = await Probe.connect(this.target, this.waitMs);
    this.#probes.add(probe);
    const first = await probe.next({}, this.waitMs);
    if (first.header.type !== 'hello') fail(`the server's first frame is ${show(first.header)}, not a hello`);
    const nonce = first.header['nonce'];
    return { probe, hello: first.header, snonce: typeof nonce === 'string' ? decodeNonce(nonce) : undefined };
  }

  /** A new connection, authenticated when the server asks for it. */
  async ready(): Promise<Probe> {
    const { probe, hello, snonce } = await this.open();
    if (hello['auth'] === 'none') return probe;
    probe.send(this.authRequest(snonce));
    const reply = await probe.next({}, this.waitMs);
    if (reply.header.type !== 'auth-ok') {
      fail(`authentication was refused: ${show(reply.header)} (is the key the server's, for user "${this.user}"?)`);
    }
    return probe;
  }

  /** A correct `auth` frame for a hello's nonce; `overrides` replace or add members. */
  authRequest(snonce: Buffer | undefined, overrides: { cnonce?: Buffer; user?: string } = {}): Record<string, unknown> {
    if (snonce === undefined) fail('the hello nonce is not base64 of 32 bytes: no proof can be computed');
    const cnonce = overrides.cnonce ?? newNonce();
    const user = overrides.user ?? this.user;
    return {
      type: 'auth',
      user,
      cnonce: cnonce.toString('base64'),
      proof: computeProof(keyFromText(this.key ?? ''), 'client', user, snonce, cnonce),
    };
  }

  /**
   * Skips the check unless the server runs standard POSIX tools (sh, cat, printf, ...)
   * for us: the exec checks need them. Asked once per run.
   */
  async requireTools(): Promise<void> {
    this.#shared.tools ??= this.#probeTools();
    const refusal = await this.#shared.tools;
    if (refusal !== undefined) skip(refusal);
  }

  /** Closes every connection this check opened. */
  closeAll(): void {
    for (const probe of this.#probes) probe.destroy();
    this.#probes.clear();
  }

  async #probeTools(): Promise<string | undefined> {
    const probe = await this.ready();
    try {
      probe.send({ type: 'exec', id: 1, argv: ['sh', '-c', 'printf ok'] });
      const first = await probe.next({ id: 1 }, this.waitMs);
      if (first.header.type === 'error') {
        return `the server does not run "sh -c" for us (${String(first.header['code'])}: ${String(first.header['message'])}); this check needs sh and POSIX tools`;
      }
      return undefined;
    } finally {
      probe.destroy();
      this.#probes.delete(probe);
    }
  }
}
