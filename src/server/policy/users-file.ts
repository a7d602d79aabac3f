// `rexecd adduser`: a new user with a fresh key file in the users file, written so that
// a crash leaves either the old file or the new one, never half of one.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { writeKeyFile } from '../../common/key-file.js';
import { RexecError } from '../../errors.js';
import { parseConfigText, schemas } from './schema.js';
import type { Rules, UsersFile } from './schema.js';

/** What `addUser` did. */
export interface AddedUser {
  readonly user: string;
  readonly keyFile: string;
  readonly usersFile: string;
}

/** What `addUser` may be told beyond the name. */
export interface AddUserOptions {
  readonly keyDir?: string;
  readonly force?: boolean;
  /** Rules for the entry (e.g. its own root and runAs), over what an old entry had. */
  readonly rules?: Rules;
}

/** Adds `user` to the users file (created if missing) with a new key in `keyDir`. */
export async function addUser(usersPath: string, user: string, options?: AddUserOptions): Promise<AddedUser> {
  const usersFile = resolve(usersPath);
  const file = await checkNewUser(usersFile, user, options?.force === true);
  await mkdir(dirname(usersFile), { recursive: true, mode: 0o700 });
  const keyFile = keyFileFor(usersFile, user, options?.keyDir);
  await writeKeyFile(keyFile, { overwrite: options?.force === true });
  const previous = file.users[user] ?? {};
  const { key: _key, keyFile: _old, ...overrides } = previous;
  const entry = { ...overrides, ...options?.rules, keyFile: relative(dirname(usersFile), keyFile) };
  const next: UsersFile = { users: { ...file.users, [user]: entry } };
  const temporary = `${usersFile}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(next, null, 2)}\n`, { mode: 0o600 });
  await rename(temporary, usersFile);
  return { user, keyFile, usersFile };
}

/**
 * Reads the users file (none yet: empty) and checks that `user` may be added: a valid
 * name, not there already unless `force`. Throws CONFIG; changes nothing.
 */
export async function checkNewUser(usersPath: string, user: string, force: boolean): Promise<UsersFile> {
  const usersFile = resolve(usersPath);
  const file = await readUsersFile(usersFile);
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(user)) {
    throw new RexecError('CONFIG', `user name "${user}" must be 1-64 letters, digits, ".", "_" or "-"`);
  }
  if (Object.hasOwn(file.users, user) && !force) {
    throw new RexecError('CONFIG', `${usersFile} already has a user "${user}" (use --force to give it a new key)`);
  }
  return file;
}

/** Where `user`'s key file goes: `keyDir`, by default keys/ beside the users file. */
export function keyFileFor(usersPath: string, user: string, keyDir?: string): string {
  return join(resolve(keyDir ?? join(dirname(resolve(usersPath)), 'keys')), `${user}.key`);
}

async function readUsersFile(path: string): Promise<UsersFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { users: {} };
    throw new RexecError('CONFIG', `${path}: ${(error as Error).message}`);
  }
  return parseConfigText(path, text, schemas().usersFileSchema);
}
