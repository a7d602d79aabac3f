// Whether a new connection may take a slot. Connections that have not authenticated yet
// are capped per source address and in total, below the server-wide limit, so that a
// client without a key cannot take the slots of those who have one: authenticated
// connections always have `maxConnections - maxUnauthenticated` slots for themselves.

/** Admission limits (`--max-connections`, `--max-unauthenticated`, `--max-unauthenticated-per-address`). */
export interface AdmissionLimits {
  /** Connections at once, authenticated or not. */
  readonly maxConnections: number;
  /** Connections at once that have not authenticated yet (TLS handshakes included). */
  readonly maxUnauthenticated: number;
  /** Of those, from one address. */
  readonly maxUnauthenticatedPerAddress: number;
}

/** Default per-address cap of connections still authenticating (lower on small servers). */
export const DEFAULT_MAX_UNAUTHENTICATED_PER_ADDRESS = 8;

/** Default cap of connections still authenticating: half of `maxConnections`. */
export function defaultMaxUnauthenticated(maxConnections: number): number {
  return Math.max(1, Math.floor(maxConnections / 2));
}

/**
 * Default per-address cap: 8, or a quarter of `maxUnauthenticated` when that is less,
 * so that one address never holds all the unauthenticated slots of a small server.
 */
export function defaultMaxUnauthenticatedPerAddress(maxUnauthenticated: number): number {
  return Math.max(1, Math.min(DEFAULT_MAX_UNAUTHENTICATED_PER_ADDRESS, Math.floor(maxUnauthenticated / 4)));
}

/** The rule that refused a connection, named in its error message and audit line. */
export type AdmissionRule = 'maxConnections' | 'maxUnauthenticatedPerAddress' | 'maxUnauthenticated';

/** A refused connection: the rule and a message for the client. */
export interface AdmissionRefusal {
  readonly rule: AdmissionRule;
  readonly message: string;
}

/**
 * The slots of an admitted connection: first an unauthenticated one (taken by `admit`),
 * then a connection slot (`open`, separate so that a TLS connection is counted from its
 * first TCP byte but told TOO_MANY_CONNECTIONS inside TLS). All methods are idempotent.
 */
export interface AdmissionTicket {
  /** Takes a connection slot; the refusal when the server is full (the ticket is then released). */
  open(): AdmissionRefusal | undefined;
  /** The connection authenticated (or needs none): it no longer counts as unauthenticated. */
  authenticated(): void;
  /** The connection closed: its slots are free. */
  release(): void;
}

/** The counts behind admission decisions. */
export class Admission {
  readonly #limits: AdmissionLimits;
  // Only addresses with a connection still authenticating: at most maxUnauthenticated.
  readonly #perAddress = new Map<string, number>();
  #open = 0;
  #unauthenticated = 0;

  constructor(limits: AdmissionLimits) {
    this.#limits = limits;
  }

  /** Connections holding a connection slot now. */
  get open(): number {
    return this.#open;
  }

  /** Connections (and TLS handshakes) that have not authenticated yet. */
  get unauthenticated(): number {
    return this.#unauthenticated;
  }

  /** Addresses counted now: those with a connection still authenticating (the memory bound). */
  get addresses(): number {
    return this.#perAddress.size;
  }

  /** An unauthenticated slot for a new connection from `address` (normalised), or the rule that refuses it. */
  admit(address: string): AdmissionTicket | AdmissionRefusal {
    const { maxConnections, maxUnauthenticated, maxUnauthenticatedPerAddress } = this.#limits;
    const fromAddress = this.#perAddress.get(address) ?? 0;
    if (fromAddress >= maxUnauthenticatedPerAddress) {
      return {
        rule: 'maxUnauthenticatedPerAddress',
        message: `too many connections from ${address} still authenticating (${maxUnauthenticatedPerAddress}; rule: maxUnauthenticatedPerAddress)`,
      };
    }
    if (this.#unauthenticated >= maxUnauthenticated) {
      return {
        rule: 'maxUnauthenticated',
        message: `too many connections still authenticating (${maxUnauthenticated}; rule: maxUnauthenticated)`,
      };
    }
    this.#unauthenticated += 1;
    this.#perAddress.set(address, fromAddress + 1);
    let unauthenticated = true;
    let opened = false;
    let released = false;
    const leaveUnauthenticated = (): void => {
      if (!unauthenticated) return;
      unauthenticated = false;
      this.#unauthenticated -= 1;
      const left = (this.#perAddress.get(address) ?? 1) - 1;
      if (left <= 0) this.#perAddress.delete(address);
      else this.#perAddress.set(address, left);
    };
    const release = (): void => {
      if (released) return;
      released = true;
      leaveUnauthenticated();
      if (opened) this.#open -= 1;
    };
    return {
      open: () => {
        if (opened || released) return undefined;
        if (this.#open >= maxConnections) {
          release();
          return {
            rule: 'maxConnections',
            message: `the server is full (${maxConnections} connections; rule: maxConnections)`,
          };
        }
        opened = true;
        this.#open += 1;
        return undefined;
      },
      authenticated: leaveUnauthenticated,
      release,
    };
  }
}

/** Whether `admit` refused. */
export function isRefusal(result: AdmissionTicket | AdmissionRefusal): result is AdmissionRefusal {
  return 'rule' in result;
}

/**
 * The address a connection is counted under: IPv4-mapped IPv6 (`::ffff:1.2.3.4`) is the
 * IPv4 address it maps; a socket without one (already closed) counts as "unknown".
 */
export function normalizeAddress(address: string | undefined): string {
  if (address === undefined || address === '') return 'unknown';
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  return mapped === null ? address : (mapped[1] as string);
}
