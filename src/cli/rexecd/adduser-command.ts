// `rexecd adduser NAME`: a lab user with their own key, and (by default) their own
// Linux account and jail, which is also their HOME. As root it does it all; otherwise it
// changes nothing and prints exactly what to run as root.
import { basename, dirname, relative, resolve } from 'node:path';
import { RexecError } from '../../errors.js';
import {
  accountEntry,
  addUser,
  checkNewUser,
  checkPlan,
  createAccount,
  keyFileFor,
  planAccount,
  planCommands,
  quote,
} from '../../server/index.js';
import type { AccountPlan } from '../../server/index.js';

/** The flags of `rexecd adduser`. */
export interface AddUserFlags {
  readonly users: string;
  readonly keyDir?: string;
  readonly host: string;
  readonly port: string;
  readonly force: boolean;
  /** false with --no-account: only the key and the users-file entry. */
  readonly account: boolean;
  readonly labsDir?: string;
  readonly readers?: string;
  readonly root?: string;
}

/** Adds the user; `write` gets what to tell the admin. `asRoot` says whether we may act on the system. */
export async function addUserCommand(
  name: string,
  flags: AddUserFlags,
  write: (text: string) => void,
  asRoot = process.getuid?.() === 0,
): Promise<void> {
  const keyOptions = { force: flags.force, ...(flags.keyDir === undefined ? {} : { keyDir: flags.keyDir }) };
  if (!flags.account) {
    if (flags.labsDir !== undefined || flags.readers !== undefined || flags.root !== undefined) {
      throw new RexecError('CONFIG', '--labs-dir, --readers and --root set up an account: leave out --no-account');
    }
    const added = await addUser(flags.users, name, keyOptions);
    write(`added user ${name} to ${added.usersFile}\n${handOver(name, added.keyFile, added.usersFile, flags)}`);
    return;
  }
  const plan = planAccount(name, {
    ...(flags.labsDir === undefined ? {} : { labsDir: flags.labsDir }),
    ...(flags.readers === undefined ? {} : { readers: flags.readers }),
  });
  const rules = accountEntry(plan, flags.root);
  if (!asRoot) {
    write(printedPlan(plan, rules, flags));
    return;
  }
  // Everything is checked before anything is made.
  await checkNewUser(flags.users, name, flags.force);
  checkPlan(plan);
  await createAccount(plan);
  const added = await addUser(flags.users, name, { ...keyOptions, rules });
  write(
    `created the account ${name} and its jail ${plan.jail} (its HOME; mode ${octal(plan.mode)}, group ${plan.readers ?? name})\n` +
      `added user ${name} to ${added.usersFile} (root ${rules.root}, runAs ${name})\n` +
      handOver(name, added.keyFile, added.usersFile, flags),
  );
}

function printedPlan(plan: AccountPlan, rules: ReturnType<typeof accountEntry>, flags: AddUserFlags): string {
  const usersFile = resolve(flags.users);
  const keyFile = keyFileFor(usersFile, plan.user, flags.keyDir);
  const entry = { keyFile: relative(dirname(usersFile), keyFile), ...rules };
  return (
    `not running as root: nothing was changed. To add ${plan.user}, run as root:\n` +
    [...planCommands(plan), `rexecd keygen ${quote(keyFile)}`].map((line) => `  ${line}\n`).join('') +
    `and add this entry to "users" in ${usersFile}:\n` +
    `  ${JSON.stringify(plan.user)}: ${JSON.stringify(entry)}\n` +
    `(this same rexecd adduser command, run as root, does all of it)\n`
  );
}

function handOver(name: string, keyFile: string, usersFile: string, flags: AddUserFlags): string {
  const keyName = basename(keyFile);
  return (
    `hand ${name} this key file (private, mode 0600): ${keyFile}\n` +
    `${name} saves it as ~/.config/rexec/${keyName} and runs:\n` +
    `  rexec -H ${flags.host} -p ${flags.port} -u ${name} -k ~/.config/rexec/${keyName} run -- uname -a\n` +
    `restart rexecd (it reads ${basename(usersFile)} at start) to let ${name} in\n`
  );
}

function octal(mode: number): string {
  return mode.toString(8).padStart(4, '0');
}
