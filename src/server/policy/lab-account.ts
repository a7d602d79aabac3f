// A lab user's own Linux account and jail (`rexecd adduser`): what separates students
// is the kernel's, not rexecd's, so each gets an account (their own files, their own
// RLIMIT_NPROC budget) and a directory only they can write, which is also their HOME.
// The plan is pure data, so that it can be carried out (as root) or printed (otherwise).
import { execFileSync } from 'node:child_process';
import { lstatSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { chmod, chown, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { RexecError } from '../../errors.js';
import { findAccount, findGroup } from './accounts.js';

/** Where jails go unless told otherwise: one directory per user below it. */
export const DEFAULT_LABS_DIR = '/srv/rexec';

// Lower-case letters, digits, "_" and "-", not starting with a digit or "-" (no option
// injection into useradd), at most 32 characters: what every Linux tool accepts.
const SAFE_NAME = /^[a-z_][a-z0-9_-]{0,31}$/;

/** The account and jail to make for one user. */
export interface AccountPlan {
  readonly user: string;
  /** The directory of all jails (root-owned, searchable). */
  readonly labsDir: string;
  /** The user's jail and HOME: `labsDir/user`. */
  readonly jail: string;
  /** The group that may read the jail (the teacher's), or undefined: the user's own group. */
  readonly readers: string | undefined;
  /** 0700, or 2750 with a readers group (setgid: new files get that group too). */
  readonly mode: number;
  /** The useradd command line (argv). */
  readonly useradd: readonly string[];
}

/** Throws CONFIG unless `name` is safe to hand to useradd as an account or group name. */
export function checkAccountName(name: string, what = 'user name'): void {
  if (!SAFE_NAME.test(name)) {
    throw new RexecError(
      'CONFIG',
      `${what} ${JSON.stringify(name)} is not a safe Linux account name: 1-32 lower-case letters, digits, "_" or "-", ` +
        'starting with a letter or "_"',
    );
  }
}

/** The plan for `user`; checks the names, not the system. */
export function planAccount(user: string, options: { labsDir?: string; readers?: string } = {}): AccountPlan {
  checkAccountName(user);
  if (options.readers !== undefined) checkAccountName(options.readers, 'readers group');
  const labsDir = resolve(options.labsDir ?? DEFAULT_LABS_DIR);
  const jail = join(labsDir, user);
  return {
    user,
    labsDir,
    jail,
    readers: options.readers,
    mode: options.readers === undefined ? 0o700 : 0o2750,
    useradd: ['useradd', '--home-dir', jail, '--no-create-home', '--shell', '/usr/sbin/nologin', '--user-group', user],
  };
}

/**
 * Checks that the plan can be carried out without taking over anything that exists:
 * an existing account must be this plan's own (its home is the jail), an existing jail
 * must be that account's directory, the readers group must exist. Throws CONFIG.
 */
export function checkPlan(plan: AccountPlan): void {
  const existing = findAccount(plan.user);
  if (existing !== undefined && existing.home !== plan.jail) {
    throw new RexecError(
      'CONFIG',
      `a local account "${plan.user}" already exists with the home ${existing.home}, not ${plan.jail}: ` +
        'adduser does not take over existing accounts (choose another name)',
    );
  }
  let jail: Stats | undefined;
  try {
    jail = lstatSync(plan.jail);
  } catch {
    jail = undefined;
  }
  // Never hand someone else's directory (and what is in it) to the new account.
  if (jail !== undefined && (!jail.isDirectory() || existing === undefined || jail.uid !== existing.id)) {
    throw new RexecError(
      'CONFIG',
      `${plan.jail} exists and is not ${plan.user}'s directory: remove it or choose another --labs-dir`,
    );
  }
  if (plan.readers !== undefined && findGroup(plan.readers) === undefined) {
    throw new RexecError('CONFIG', `no local group "${plan.readers}" for --readers (add the teacher first)`);
  }
}

/** Carries out the plan (as root): the account unless it exists, the labs directory, the jail. */
export async function createAccount(plan: AccountPlan): Promise<void> {
  checkPlan(plan);
  if (findAccount(plan.user) === undefined) {
    const [file, ...args] = plan.useradd as [string, ...string[]];
    try {
      execFileSync(file, args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 });
    } catch (error) {
      const detail = (error as { stderr?: Buffer }).stderr?.toString().trim() || (error as Error).message;
      throw new RexecError('CONFIG', `useradd ${plan.user} failed: ${detail}`);
    }
  }
  const account = findAccount(plan.user);
  if (account === undefined) throw new RexecError('CONFIG', `useradd did not create "${plan.user}"`);
  const group = plan.readers === undefined ? account.gid : (findGroup(plan.readers)?.id ?? account.gid);
  await mkdir(plan.labsDir, { recursive: true, mode: 0o755 });
  // EEXIST: the account's own jail (checked above), kept with what is in it.
  await mkdir(plan.jail, { mode: 0o700 }).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
  await chown(plan.jail, account.id, group);
  // After chown, which clears the setgid bit.
  await chmod(plan.jail, plan.mode);
}

/** The plan as shell commands for an admin to run as root (the same steps). */
export function planCommands(plan: AccountPlan): string[] {
  const group = plan.readers ?? plan.user;
  return [
    plan.useradd.map(quote).join(' '),
    `install -d -m 0755 ${quote(plan.labsDir)}`,
    `install -d -o ${plan.user} -g ${group} -m ${plan.mode.toString(8).padStart(4, '0')} ${quote(plan.jail)}`,
  ];
}

/** The users-file fields that tie a user to the account and jail. */
export function accountEntry(plan: AccountPlan, root: string | undefined): { root: string; runAs: { user: string } } {
  return { root: resolve(root ?? plan.jail), runAs: { user: plan.user } };
}

/** A word for sh: as it is when plain, else in single quotes. */
export function quote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
