// Names and ids of local users and groups, from /etc/passwd and /etc/group, for a
// policy's `runAs`.
import { readFileSync } from 'node:fs';
import { RexecError } from '../../errors.js';

/** Whom processes run as. */
export interface RunAs {
  readonly uid: number;
  readonly gid: number;
  readonly user: string;
  readonly home: string;
  /** The account's login shell ('' when it has none). */
  readonly shell: string;
}

/** A line of /etc/passwd (gid: the primary group) or /etc/group (gid = id). */
export interface Entry {
  readonly name: string;
  readonly id: number;
  readonly gid: number;
  readonly home: string;
  readonly shell: string;
}

function readTable(path: string, parse: (fields: string[]) => Entry | undefined): Entry[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .map((line) => line.split(':'))
    .map((fields) => (fields.length >= 4 ? parse(fields) : undefined))
    .filter((entry): entry is Entry => entry !== undefined);
}

const passwd = (): Entry[] =>
  readTable('/etc/passwd', (f) => ({
    name: f[0] ?? '',
    id: Number(f[2]),
    gid: Number(f[3]),
    home: f[5] ?? '/',
    shell: f[6] ?? '',
  }));
const groups = (): Entry[] =>
  readTable('/etc/group', (f) => ({ name: f[0] ?? '', id: Number(f[2]), gid: Number(f[2]), home: '', shell: '' }));

/** The local account of this name, if any. */
export function findAccount(name: string): Entry | undefined {
  return passwd().find((u) => u.name === name);
}

/** The local group of this name, if any. */
export function findGroup(name: string): Entry | undefined {
  return groups().find((g) => g.name === name);
}

/** The name of the account with this uid, or the number as text. */
export function accountName(uid: number): string {
  return passwd().find((u) => u.id === uid)?.name ?? String(uid);
}

/**
 * Resolves `runAs` (names or numeric ids). The group defaults to the user's primary
 * group. Throws naming the field when a name is unknown.
 */
export function resolveRunAs(user: string | number, group: string | number | undefined, field: string): RunAs {
  const users = passwd();
  const account = typeof user === 'number' ? users.find((u) => u.id === user) : users.find((u) => u.name === user);
  if (account === undefined && typeof user === 'string') {
    throw new RexecError('CONFIG', `${field}.user: no local user named "${user}"`);
  }
  const uid = typeof user === 'number' ? user : (account as Entry).id;
  let gid: number;
  if (group === undefined) {
    gid = account?.gid ?? uid;
  } else if (typeof group === 'number') {
    gid = group;
  } else {
    const found = groups().find((g) => g.name === group);
    if (found === undefined) throw new RexecError('CONFIG', `${field}.group: no local group named "${group}"`);
    gid = found.id;
  }
  return { uid, gid, user: account?.name ?? String(uid), home: account?.home ?? '/', shell: account?.shell ?? '' };
}
