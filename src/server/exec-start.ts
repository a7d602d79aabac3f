// The way from an `exec` request to a running Command (docs/protocol.md section 4), checked
// in section 8's order: BAD_REQUEST, SHUTTING_DOWN, DUPLICATE_ID, BUSY (the session's
// slots), then the policy (exec-request.ts), then the user's cgroup and the spawn.
// Synchronous unless the cwd must be resolved, a cgroup created or a terminal's helper
// started: an await on the common path costs event-loop turns on every command.
import { performance } from 'node:perf_hooks';
import { RexecError } from '../errors.js';
import type { ExecRequest } from '../protocol/exec-requests.js';
import { Command } from './command.js';
import type { ConfinementLease, ConfinementResult } from './confinement.js';
import { prepareExec } from './exec-request.js';
import { clipText, summarizeRequest } from './log-text.js';
import { endGroups, groupAlive, leaderOf } from './process-group.js';
import type { Session } from './session.js';
import { spawnProcess } from './spawn.js';
import type { SpawnedProcess, SpawnSpec } from './spawn.js';

/** What a handler returns: a promise when the frames behind it must wait for it. */
export type Pending = Promise<void> | undefined;

/** Starts the command of a valid `exec`, or answers with the request's error. */
export function startExec(session: Session, request: ExecRequest): Pending {
  const { host } = session.link;
  const { id } = request;
  try {
    // BAD_REQUEST comes before every other check (section 8's precedence).
    if (request.pty !== undefined && !host.ptySupported) {
      throw new RexecError('BAD_REQUEST', 'this server cannot run commands on a terminal (node-pty is not installed)', {
        id,
      });
    }
    if (host.draining) throw new RexecError('SHUTTING_DOWN', 'the server is shutting down', { id });
    session.checkSlot(id);
    const spec = prepareExec(request, session.policy, host.environmentFor(session.policy));
    if (spec instanceof Promise) {
      return session.holdSlot(
        spec.then(
          (resolved) => confine(session, request, resolved),
          (error: unknown) => refused(session, request, error),
        ),
      );
    }
    return session.holdSlot(confine(session, request, spec));
  } catch (error) {
    refused(session, request, error);
    return undefined;
  }
}

// An exec that got no process: audited as its error says (request-records.ts), answered.
function refused(session: Session, request: ExecRequest, error: unknown): void {
  session.records.execRefused(request, request.id, error);
  session.link.requestError(error, request.id);
}

// The user's cgroup (created first if it is not there yet: asynchronous then).
function confine(session: Session, request: ExecRequest, spec: SpawnSpec): Pending {
  if (session.closed) return undefined;
  let lease: ConfinementResult;
  try {
    lease = session.link.host.confine(session.user, session.policy, request.id);
  } catch (error) {
    refused(session, request, error);
    return undefined;
  }
  if (lease instanceof Promise) {
    return lease.then(
      (held) => spawn(session, request, spec, held),
      (error: unknown) => refused(session, request, error),
    );
  }
  return spawn(session, request, spec, lease);
}

function spawn(session: Session, request: ExecRequest, spec: SpawnSpec, lease: ConfinementLease | undefined): Pending {
  if (session.closed) {
    lease?.release();
    return undefined;
  }
  let spawned: ReturnType<typeof spawnProcess>;
  try {
    // child_process.spawn throws at once for some errors (ETXTBSY, ENOTDIR, ...).
    spawned = spawnProcess(lease === undefined ? spec : { ...spec, confinement: lease.confinement });
  } catch (error) {
    lease?.release();
    refused(session, request, error);
    return undefined;
  }
  if (spawned instanceof Promise) {
    return spawned.then(
      (running) => started(session, request, spec, running, lease),
      (error: unknown) => {
        lease?.release();
        refused(session, request, error);
      },
    );
  }
  started(session, request, spec, spawned, lease);
  return undefined;
}

function started(
  session: Session,
  request: ExecRequest,
  spec: SpawnSpec,
  spawned: SpawnedProcess,
  lease: ConfinementLease | undefined,
): void {
  const { host, writer } = session.link;
  if (session.closed) {
    // The connection closed while the process was being started (a terminal's helper):
    // it has run, however briefly, so it is audited like any other, and ended.
    host.recordGroup(spawned.pid, spawned.started);
    session.records.exec(request.id, spawned.pid, { ...summarizeRequest(request), cwd: clipText(spec.cwd) });
    endGroups([spawned.pid], host.options.graceMs, leaderOf(spawned));
    spawned.stdout.destroy();
    const startedAt = performance.now();
    void spawned.exited.then((end) => {
      lease?.release();
      session.records.exit(request.id, spawned.pid, {
        code: end.code,
        signal: end.signal,
        timedOut: false,
        truncated: false,
        stdoutBytes: 0,
        stderrBytes: 0,
        durationMs: Math.round(performance.now() - startedAt),
      });
    });
    return;
  }
  // In the ledger before `started` goes out: once a client knows of a process, a
  // rexecd killed right then still leaves a trace of it for its successor.
  host.recordGroup(spawned.pid, spawned.started);
  // A group that outlives its leader is known by its other processes from then on. (In
  // a user's cgroup there is no need: a successor empties the cgroups a dead rexecd left.)
  if (lease === undefined || lease.confinement.cgroupProcs.length === 0) {
    void spawned.exited.then(() => {
      if (groupAlive(spawned.pid)) host.recordGroupMembers(spawned.pid);
    });
  }
  const { policy } = session;
  const { id } = request;
  const command = new Command(
    id,
    spawned,
    writer,
    {
      timeoutMs: Math.min(request.timeoutMs ?? policy.timeoutMs, policy.timeoutMs),
      deadlines: host.deadlines,
      graceMs: host.options.graceMs,
      maxOutputBytes: policy.maxOutputBytes,
      endGroupOnExit: spec.sandboxRoot !== undefined,
      stdinAck: request.stdinAck,
    },
    (result) => {
      lease?.release();
      session.commandFinished(command, result);
    },
  );
  session.commandStarted(command);
  session.records.exec(id, spawned.pid, { ...summarizeRequest(request), cwd: clipText(spec.cwd) });
}
