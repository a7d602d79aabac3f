// Reads and checks the lab files at start: a bad file stops rexecd with a message that
// names the file, the field and what is wrong.
import { readFileSync, statSync } from 'node:fs';
import { secretFileProblem } from '../../common/key-file.js';
import { dirname, isAbsolute, resolve } from 'node:path';
import { RexecError } from '../../errors.js';
import { applyRules } from './user-policy.js';
import type { UserPolicy } from './user-policy.js';
import { parseConfigText, schemas } from './schema.js';
import type { z as Z } from 'zod';
import type { PolicyFile, Rules, UsersFile } from './schema.js';

/** Who may log in, and the rules for each. */
export interface LabSetup {
  /** User name → key text, from the users file (undefined: the server's single key). */
  readonly keys: ReadonlyMap<string, string> | undefined;
  /** Server-wide connection limit from the policy, if it sets one. */
  readonly maxConnections: number | undefined;
  /** The rules for a user (the policy's top level for names it does not list). */
  policyFor(user: string): UserPolicy;
  /** Every distinct policy in use (for start-up checks). */
  readonly policies: readonly UserPolicy[];
}

/** Loads `--policy` and/or `--users` on top of the server's base policy. */
export function loadLab(base: UserPolicy, policyPath: string | undefined, usersPath: string | undefined): LabSetup {
  const policyFile = policyPath === undefined ? undefined : parseFile(policyPath, schemas().policyFileSchema);
  const usersFile = usersPath === undefined ? undefined : parseFile(usersPath, schemas().usersFileSchema);
  if (usersPath !== undefined && Object.values(usersFile?.users ?? {}).some((entry) => entry.key !== undefined)) {
    // Keys written in the file itself: the file is as secret as a key file.
    const problem = secretFileProblem(usersPath, statSync(usersPath).mode, 'users file (it holds keys)');
    if (problem !== undefined) throw new RexecError('CONFIG', problem);
  }
  const policyDir = policyPath === undefined ? process.cwd() : dirname(resolve(policyPath));
  const usersDir = usersPath === undefined ? process.cwd() : dirname(resolve(usersPath));
  const top = policyFile === undefined ? base : applyRules(base, rulesOf(policyFile), policyPath ?? '', policyDir);

  if (usersFile === undefined && Object.keys(policyFile?.users ?? {}).length > 0) {
    throw new RexecError(
      'CONFIG',
      `${policyPath}: "users" needs a users file (--users): with one shared key any client could claim any ` +
        "user's rules; give each user their own key (rexecd adduser)",
    );
  }
  const perUser = new Map<string, UserPolicy>();
  const names = new Set([...Object.keys(policyFile?.users ?? {}), ...Object.keys(usersFile?.users ?? {})]);
  for (const name of names) {
    let policy = top;
    const fromPolicy = policyFile?.users?.[name];
    if (fromPolicy !== undefined) policy = applyRules(policy, fromPolicy, `${policyPath} users.${name}`, policyDir);
    const fromUsers = usersFile?.users[name];
    if (fromUsers !== undefined) {
      const { key: _key, keyFile: _keyFile, ...rules } = fromUsers;
      policy = applyRules(policy, rules, `${usersPath} users.${name}`, usersDir);
    }
    perUser.set(name, policy);
  }
  return {
    keys: usersFile === undefined ? undefined : readKeys(usersFile, usersPath as string, usersDir),
    maxConnections: policyFile?.maxConnections,
    policyFor: (user) => perUser.get(user) ?? top,
    policies: [top, ...perUser.values()],
  };
}

function rulesOf(file: PolicyFile): Rules {
  const { users: _users, maxConnections: _max, ...rules } = file;
  return rules;
}

function parseFile<T>(path: string, schema: Z.ZodType<T>): T {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new RexecError('CONFIG', `${path}: ${(error as Error).message}`);
  }
  return parseConfigText(path, text, schema);
}

function readKeys(file: UsersFile, usersPath: string, usersDir: string): Map<string, string> {
  const keys = new Map<string, string>();
  for (const [name, entry] of Object.entries(file.users)) {
    if (entry.key !== undefined) {
      keys.set(name, entry.key.trim());
      continue;
    }
    const keyPath = isAbsolute(entry.keyFile as string)
      ? (entry.keyFile as string)
      : resolve(usersDir, entry.keyFile as string);
    let text: string;
    try {
      const problem = secretFileProblem(keyPath, statSync(keyPath).mode);
      if (problem !== undefined) throw new Error(problem);
      text = readFileSync(keyPath, 'utf8').trim();
    } catch (error) {
      throw new RexecError('CONFIG', `${usersPath} users.${name}.keyFile: ${(error as Error).message}`);
    }
    if (text.length < 16)
      throw new RexecError('CONFIG', `${usersPath} users.${name}.keyFile: ${keyPath} holds less than 16 characters`);
    keys.set(name, text);
  }
  return keys;
}
