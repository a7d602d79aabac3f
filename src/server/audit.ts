// The audit trail (`--audit-log PATH|-`): one JSON line per event, written with pino.
// Events carry who, from where and what; never a key or a proof. Client data (argv,
// command) stays under `request`, never spread into the line, and every client string
// is clipped (log-text.ts) before it gets here. Refusals that can repeat without bound
// carry a `count`: 1 on a line written at once, N on the summary of N refusals that
// were only counted (refusal-tally.ts), so that summing `count` gives the total.
import type { Logger } from 'pino';
import type { ExitStatus } from '../protocol/messages.js';
import { pino as loadPino } from '../common/lazy-modules.js';
import type { AdmissionRule } from './admission.js';
import type { RequestSummary } from './log-text.js';

/** The events an admin can reconstruct a session from. */
export type AuditEvent =
  /** Written when a connection first presents a proof (at once without auth). */
  | { readonly event: 'connect'; readonly conn: number; readonly remote: string }
  | { readonly event: 'auth-ok'; readonly conn: number; readonly remote: string; readonly user: string }
  | {
      readonly event: 'auth-failed';
      readonly conn: number;
      readonly remote: string;
      readonly user: string | null;
      readonly reason: string;
    }
  | {
      readonly event: 'exec';
      readonly conn: number;
      readonly user: string;
      readonly id: number;
      readonly pid: number;
      readonly request: RequestSummary & { readonly cwd: string };
    }
  | ({
      readonly event: 'exit';
      readonly conn: number;
      readonly user: string;
      readonly id: number;
      readonly pid: number;
    } & ExitStatus)
  | {
      readonly event: 'denied';
      readonly conn: number;
      readonly user: string;
      readonly id: number | null;
      readonly reason: string;
      readonly request?: RequestSummary & { readonly put?: string; readonly get?: string };
      readonly count: 1;
    }
  | {
      /** An exec refused before a process existed: BAD_REQUEST, NOT_FOUND, SPAWN_FAILED. */
      readonly event: 'exec-refused';
      readonly conn: number;
      readonly user: string;
      readonly id: number | null;
      readonly code: string;
      readonly reason: string;
      readonly request: RequestSummary;
      readonly count: 1;
    }
  | {
      /** A file transfer that reached the file system: how it ended. */
      readonly event: 'put' | 'get';
      readonly conn: number;
      readonly user: string;
      readonly id: number;
      /** The path the client sent. */
      readonly path: string;
      /** The real path read or written, once known. */
      readonly file: string | null;
      readonly bytes: number;
      readonly sha256: string | null;
      readonly result: 'done' | 'failed' | 'aborted' | 'refused';
      /** The error code and message of a failure or refusal. */
      readonly code?: string;
      readonly reason?: string;
      /** On a refusal (result "refused"). */
      readonly count?: 1;
    }
  | { readonly event: 'disconnect'; readonly conn: number; readonly user: string | null; readonly reason: string }
  | {
      /** A connection refused at accept, before hello: the rule that refused it. */
      readonly event: 'connection-refused';
      readonly remote: string;
      readonly rule: AdmissionRule;
      readonly reason: string;
      readonly count: 1;
    }
  | {
      /** A login refused without a check: its name or its address is locked out. */
      readonly event: 'locked-out';
      readonly conn: number;
      readonly remote: string;
      readonly user: string | null;
      readonly reason: string;
      readonly count: 1;
    }
  | {
      /** A connection that closed before presenting a proof (timeout, junk, a scanner). */
      readonly event: 'unauthenticated';
      readonly conn: number;
      readonly remote: string;
      readonly reason: string;
      readonly count: 1;
    }
  | SummaryEvent;

/** The summary of `count` refusals of one kind that were counted, not written one by one. */
export interface SummaryEvent {
  /** `refusals-overflow`: refusals of any kind that found no room for a key of their own. */
  readonly event:
    | 'connection-refused'
    | 'locked-out'
    | 'unauthenticated'
    | 'denied'
    | 'exec-refused'
    | 'put'
    | 'get'
    | 'refusals-overflow';
  readonly summary: true;
  readonly count: number;
  /** The address (refusals before authentication), or null. */
  readonly remote: string | null;
  /** The user (refusals after authentication), or null. */
  readonly user: string | null;
  /** What the summarised refusals share: the rule or code, as on the line written at once. */
  readonly reason: string;
  readonly result?: 'refused';
}

/** Where audit events go. */
export interface AuditLog {
  record(event: AuditEvent): void;
  /** Writes out what is buffered (at shutdown). */
  flush(): Promise<void>;
}

/** An audit log that records nothing (no --audit-log). */
export const noAudit: AuditLog = {
  record() {},
  flush: () => Promise.resolve(),
};

/**
 * A pino audit log to a file (appended, created 0600) or, for "-", to stderr. Writes
 * are synchronous so that a line is on disk before the next event, even when the
 * client has vanished or rexecd is killed right after.
 */
export function createAuditLog(destination: string): AuditLog {
  const pino = loadPino();
  const stream = pino.destination(
    destination === '-'
      ? { dest: 2, sync: true }
      : { dest: destination, sync: true, mkdir: true, append: true, mode: 0o600 },
  );
  const logger: Logger = pino({ base: { service: 'rexecd' }, timestamp: pino.stdTimeFunctions.isoTime }, stream);
  return {
    record(event) {
      const { event: name, ...fields } = event;
      logger.info({ event: name, ...fields }, name);
    },
    flush: () =>
      new Promise((resolve) => {
        stream.flush(() => resolve());
      }),
  };
}
