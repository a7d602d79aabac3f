// Real Linux accounts for lab tests that run as root: every name starts with "rxt-"
// and a random part, so that a test's accounts are recognisable and never collide with
// real ones, and each test removes the accounts it made (userdel, then any group left).
import { randomBytes } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Every test account's name starts with this. */
export const TEST_ACCOUNT_PREFIX = 'rxt-';

/** A fresh prefix for one test file's accounts: `rxt-1a2b3c-`. */
export function accountPrefix(): string {
  return `${TEST_ACCOUNT_PREFIX}${randomBytes(3).toString('hex')}-`;
}

/** Whether /etc/passwd has an account of this name. */
export function accountExists(name: string): boolean {
  return passwdNames().includes(name);
}

/** The uid of an existing account. */
export function uidOf(name: string): number {
  return Number(execFileSync('id', ['-u', '--', name], { encoding: 'utf8' }).trim());
}

/** The primary gid of an existing account. */
export function gidOf(name: string): number {
  return Number(execFileSync('id', ['-g', '--', name], { encoding: 'utf8' }).trim());
}

/** A system account with its own group, no home and no login shell (the shared lab account). */
export function createAccount(name: string): void {
  execFileSync(
    'useradd',
    [
      '--system',
      '--user-group',
      '--no-create-home',
      '--home-dir',
      '/nonexistent',
      '--shell',
      '/usr/sbin/nologin',
      name,
    ],
    {
      stdio: 'pipe',
    },
  );
}

/**
 * Removes every account and group whose name starts with `prefix` (ours only: the prefix
 * carries a random part). Home directories are left to the test's temporary directory.
 */
export function removeAccounts(prefix: string): void {
  if (!prefix.startsWith(TEST_ACCOUNT_PREFIX) || prefix.length <= TEST_ACCOUNT_PREFIX.length) {
    throw new Error(`refusing to remove accounts with the prefix "${prefix}"`);
  }
  for (const name of passwdNames().filter((n) => n.startsWith(prefix))) {
    // userdel refuses an account that still runs something: the test must have ended it all.
    spawnSync('userdel', [name], { stdio: 'ignore' });
  }
  for (const name of groupNames().filter((n) => n.startsWith(prefix))) {
    spawnSync('groupdel', [name], { stdio: 'ignore' });
  }
}

/** Names in /etc/passwd or /etc/group that start with `prefix` (empty once cleaned up). */
export function leftoverAccounts(prefix: string): string[] {
  return [...passwdNames(), ...groupNames()].filter((n) => n.startsWith(prefix));
}

function passwdNames(): string[] {
  return namesIn('/etc/passwd');
}

function groupNames(): string[] {
  return namesIn('/etc/group');
}

function namesIn(file: string): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => line.split(':')[0] ?? '')
    .filter((name) => name !== '');
}
