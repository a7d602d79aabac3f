// A class on one lab box as the README sets it up: `rexecd adduser` (the built program,
// as root) makes a teacher whose root is the labs directory and two students whose
// jails the teacher's group may read; then a real rexecd (in-process) with `policy`.
// Accounts are named `prefix` + t, a, b; removeAccounts(prefix) takes them away.
import { spawnSync } from 'node:child_process';
import { chmod, mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { createServer } from '../../src/server/index.js';
import type { AuditLog } from '../../src/server/index.js';
import { REXECD } from './daemon.js';

export interface Person {
  readonly user: string;
  readonly key: string;
}

export interface LabClass {
  readonly port: number;
  /** The labs directory: the teacher's root; each jail is labs/NAME. */
  readonly labs: string;
  readonly teacher: Person;
  readonly alice: Person;
  readonly bob: Person;
  /** Audit events so far. */
  readonly events: Array<Record<string, unknown>>;
  /** The jail (and HOME) of a person. */
  jail(person: Person): string;
  stop(): Promise<void>;
}

/** Makes the accounts and starts rexecd with `policy` (its root is set to the labs directory). */
export async function startClass(prefix: string, policy: Record<string, unknown>): Promise<LabClass> {
  const dir = await realpath(await mkdtemp(join(tmpdir(), 'rexec-class-')));
  try {
    return await startClassIn(dir, prefix, policy);
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

async function startClassIn(dir: string, prefix: string, policy: Record<string, unknown>): Promise<LabClass> {
  // The accounts reach their jails through it.
  await chmod(dir, 0o755);
  const labs = join(dir, 'labs');
  const usersFile = join(dir, 'etc', 'users.json');
  const names = { teacher: `${prefix}t`, alice: `${prefix}a`, bob: `${prefix}b` };
  const adduser = (name: string, ...extra: string[]): void => {
    const result = spawnSync(
      process.execPath,
      [REXECD, 'adduser', name, '--users', usersFile, '--labs-dir', labs, ...extra],
      {
        encoding: 'utf8',
        timeout: 30_000,
      },
    );
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  };
  adduser(names.teacher, '--root', labs);
  adduser(names.alice, '--readers', names.teacher);
  adduser(names.bob, '--readers', names.teacher);
  const person = async (name: string): Promise<Person> => ({
    user: name,
    key: (await readFile(join(dir, 'etc', 'keys', `${name}.key`), 'utf8')).trim(),
  });
  const policyFile = join(dir, 'etc', 'lab.json');
  await writeFile(policyFile, JSON.stringify({ ...policy, root: labs }));
  const events: Array<Record<string, unknown>> = [];
  const audit: AuditLog = {
    record: (event) => {
      events.push({ ...event });
    },
    flush: () => Promise.resolve(),
  };
  const server = createServer({
    auth: { mode: 'hmac-sha256', keys: new Map() },
    host: '127.0.0.1',
    port: 0,
    graceMs: 300,
    policyFile,
    usersFile,
    audit,
  });
  const { port } = await server.listen();
  return {
    port,
    labs,
    teacher: await person(names.teacher),
    alice: await person(names.alice),
    bob: await person(names.bob),
    events,
    jail: (p) => join(labs, p.user),
    async stop() {
      await server.shutdown();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
