// The audit and log lines of refusals that a client can repeat as fast as it likes:
// connections refused at accept, logins refused during a lockout, connections that close
// before presenting a proof, and an authenticated user's refused requests. Each kind is
// written in full the first time per key and interval, and summarised with a count after
// that (refusal-tally.ts). What is never summarised: a checked login (auth-ok,
// auth-failed, bounded by the lockout), an exec that ran, its exit, a finished transfer.
import type { AdmissionRefusal } from './admission.js';
import type { AuditEvent, AuditLog, SummaryEvent } from './audit.js';
import { clipMessage, clipText } from './log-text.js';
import type { ServerLogger } from './logger.js';
import { RefusalTally } from './refusal-tally.js';
import type { RefusalTallySettings } from './refusal-tally.js';

/** Refused requests of one user written in full per interval, before counting starts. */
export const REQUEST_REFUSALS_WRITTEN = 10;

/** A refused request of an authenticated user, as audited. */
export type RequestRefusal = Extract<AuditEvent, { event: 'denied' | 'exec-refused' | 'put' | 'get'; count?: 1 }> & {
  readonly user: string;
};

/** Writes (or counts) refusals for one server. */
export class Refusals {
  readonly #audit: AuditLog;
  readonly #logger: ServerLogger;
  readonly #tally: RefusalTally;

  constructor(audit: AuditLog, logger: ServerLogger, settings: RefusalTallySettings) {
    this.#audit = audit;
    this.#logger = logger;
    this.#tally = new RefusalTally(settings, (count) => {
      // Refusals that found no room for their own key: too many addresses or users at once.
      this.#summary({
        event: 'refusals-overflow',
        summary: true,
        count,
        remote: null,
        user: null,
        reason: 'refusals beyond the keys tracked at once',
      });
      this.#logger.warn({ count }, 'refusals beyond the keys tracked at once (summary)');
    });
  }

  /** A connection refused at accept (TOO_MANY_CONNECTIONS, or closed before a TLS handshake). */
  connection(address: string, refusal: AdmissionRefusal): void {
    const { rule, message } = refusal;
    const summary = (count: number): void => {
      this.#summary({
        event: 'connection-refused',
        summary: true,
        count,
        remote: address,
        user: null,
        reason: message,
      });
      this.#logger.warn({ remote: address, rule, count }, 'connections refused (summary)');
    };
    if (!this.#tally.count(`connection-refused\u0000${rule}\u0000${address}`, summary)) return;
    this.#audit.record({ event: 'connection-refused', remote: address, rule, reason: message, count: 1 });
    this.#logger.warn({ remote: address, rule }, `connection refused: ${message}`);
  }

  /** A login refused without a check, because its name or its address is locked out. */
  lockedOut(conn: number, address: string, user: string | null, reason: string): void {
    const summary = (count: number): void => {
      this.#summary({
        event: 'locked-out',
        summary: true,
        count,
        remote: address,
        user: null,
        reason: 'logins refused during a lockout',
      });
      this.#logger.warn({ remote: address, count }, 'logins refused during a lockout (summary)');
    };
    if (!this.#tally.count(`locked-out\u0000${address}`, summary)) return;
    const name = user === null ? null : clipText(user);
    this.#audit.record({ event: 'locked-out', conn, remote: address, user: name, reason, count: 1 });
    this.#logger.warn({ conn, remote: address, user: name }, `login refused: ${reason}`);
  }

  /** A connection that closed before presenting a proof: `why` is an error code or how it closed. */
  unauthenticated(conn: number, address: string, why: string, reason: string): void {
    const summary = (count: number): void => {
      this.#summary({ event: 'unauthenticated', summary: true, count, remote: address, user: null, reason: why });
      this.#logger.info({ remote: address, reason: why, count }, 'connections closed before authenticating (summary)');
    };
    if (!this.#tally.count(`unauthenticated\u0000${why}\u0000${address}`, summary)) return;
    const text = clipMessage(reason);
    this.#audit.record({ event: 'unauthenticated', conn, remote: address, reason: text, count: 1 });
    this.#logger.info({ conn, remote: address }, `closed before authenticating: ${text}`);
  }

  /** A refused request of an authenticated user: the first few per interval in full. */
  request(refusal: RequestRefusal): void {
    const user = clipText(refusal.user);
    const summary = (count: number): void => {
      this.#summary({
        event: refusal.event,
        summary: true,
        count,
        remote: null,
        user,
        reason: `refusals beyond the first ${REQUEST_REFUSALS_WRITTEN} of this user in the interval`,
        ...(refusal.event === 'put' || refusal.event === 'get' ? { result: 'refused' as const } : {}),
      });
    };
    if (!this.#tally.count(`${refusal.event}\u0000${user}`, summary, REQUEST_REFUSALS_WRITTEN)) return;
    this.#audit.record(refusal);
  }

  /** Writes the pending summaries now (the server stops). */
  close(): void {
    this.#tally.close();
  }

  #summary(event: SummaryEvent): void {
    this.#audit.record(event);
  }
}
