// The audit trail (`--audit-log PATH|-`): one JSON line per event, written with pino.
// Events carry who, from where and what; never a key or a proof. Client data (argv,
// command) stays under `request`, never spread into the line.
import type { Logger } from 'pino';
import type { ExitStatus } from '../protocol/messages.js';
import { pino as loadPino } from '../common/lazy-modules.js';

/** The events an admin can reconstruct a session from. */
export type AuditEvent =
  | { readonly event: 'connect'; readonly conn: number; readonly remote: string }
  | { readonly event: 'auth-ok'; readonly conn: number; readonly remote: string; readonly user: string }
  | { readonly event: 'auth-failed'; readonly conn: number; readonly remote: string; readonly user: string | null; readonly reason: string }
  | {
      readonly event: 'exec';
      readonly conn: number;
      readonly user: string;
      readonly id: number;
      readonly pid: number;
      readonly request: { readonly argv?: readonly string[]; readonly command?: string; readonly cwd: string };
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
      readonly request?: {
        readonly argv?: readonly string[];
        readonly command?: string;
        readonly cwd?: string;
        readonly put?: string;
        readonly get?: string;
      };
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
    }
  | { readonly event: 'disconnect'; readonly conn: number; readonly user: string | null; readonly reason: string };

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
  const stream = pino.destination(destination === '-' ? { dest: 2, sync: true } : { dest: destination, sync: true, mkdir: true, append: true, mode: 0o600 });
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
