// The `rexecd` program: its flags, help and subcommands (serving is in serve.ts).
// main() returns the exit status; bin/rexecd.js sets it. Nothing here exits the process
// or writes to its streams: they come in through `io`.
import { Command, CommanderError, Option } from 'commander';
import { defaultKeyFile, writeKeyFile } from '../../common/key-file.js';
import { DEFAULT_PORT } from '../../protocol/constants.js';
import { DEFAULT_AUTH_GUARD, DEFAULT_LABS_DIR, serverDefaults, VERSION } from '../../server/index.js';
import { integerIn } from '../shared/arg-parsers.js';
import { REXECD_STATUS_ERROR } from '../shared/exit-status.js';
import { addUserCommand } from './adduser-command.js';
import type { AddUserFlags } from './adduser-command.js';
import { userErrorMessage } from './user-errors.js';
import { printRexecdError, processRexecdIo } from './io.js';
import type { RexecdIo } from './io.js';
import { defaultStateDir, serve } from './serve.js';
import type { ServeFlags } from './serve.js';
import { LOG_LEVELS } from './stderr-logger.js';
import { addServeTlsOptions, addTlsCommands } from './tls-options.js';

/** Runs rexecd with `args` (without node and the script); resolves with the exit status. */
export async function main(args: readonly string[], io: RexecdIo = processRexecdIo()): Promise<number> {
  let status = 0;
  const program = createProgram(io, (code) => {
    status = code;
  });
  try {
    await program.parseAsync([...args], { from: 'user' });
  } catch (error) {
    // Commander has printed its message (or the help) already.
    if (error instanceof CommanderError) return error.exitCode;
    // A bad flag value, file or address, said in one line.
    const message = userErrorMessage(error);
    if (message !== undefined) {
      printRexecdError(io, message);
      return REXECD_STATUS_ERROR;
    }
    // A bug of ours: say so, with what a report needs.
    printRexecdError(io, error instanceof Error ? (error.stack ?? error.message) : String(error));
    return REXECD_STATUS_ERROR;
  }
  return status;
}

/** The commander program; `setStatus` receives the status of the subcommand that ran. */
export function createProgram(io: RexecdIo, setStatus: (code: number) => void): Command {
  const program = new Command('rexecd')
    .description("rexec server: runs authenticated clients' commands and streams their output")
    .version(VERSION)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    })
    .enablePositionalOptions()
    .addOption(new Option('--host <address>', 'address to listen on').default('127.0.0.1').env('REXECD_HOST'))
    .addOption(
      new Option('--port <n>', 'TCP port (0 picks a free one)')
        .default(DEFAULT_PORT)
        .argParser(integerIn(0, 65535))
        .env('REXECD_PORT'),
    )
    .addOption(
      new Option('--key-file <path>', 'shared key file, created (0600) if missing')
        .default(defaultKeyFile(), '~/.config/rexec/key')
        .env('REXEC_KEY_FILE'),
    )
    .option('--no-auth', 'accept clients without a key (loopback addresses only)')
    .option('--root <dir>', 'commands run here; every cwd must resolve inside it', process.cwd())
    .option('--allow-shell', 'allow `command` requests, run by /bin/sh -c', false)
    .option(
      '--path <dirs>',
      'commands\' PATH and where argv[0] is looked up: absolute directories separated by ":" (a policy\'s path wins)',
    )
    .option(
      '--timeout <ms>',
      'default and maximum run time of a command',
      integerIn(1),
      serverDefaults.DEFAULT_TIMEOUT_MS,
    )
    .option('--max-connections <n>', 'connections at once', integerIn(1), serverDefaults.DEFAULT_MAX_CONNECTIONS)
    .option(
      '--max-unauthenticated <n>',
      'connections at once that have not authenticated yet (default: half of --max-connections)',
      integerIn(1),
    )
    .option(
      '--max-unauthenticated-per-address <n>',
      'of those, from one address (default: 8, or a quarter of --max-unauthenticated if less)',
      integerIn(1),
    )
    .option(
      '--max-concurrent <n>',
      'running commands per connection',
      integerIn(1),
      serverDefaults.DEFAULT_MAX_CONCURRENT,
    )
    .option(
      '--idle-timeout <ms>',
      'close connections idle this long',
      integerIn(1),
      serverDefaults.DEFAULT_IDLE_TIMEOUT_MS,
    )
    .option('--auth-timeout <ms>', 'time allowed to authenticate', integerIn(1), serverDefaults.DEFAULT_AUTH_TIMEOUT_MS)
    .option(
      '--grace <ms>',
      'between SIGTERM and SIGKILL when ending a process group',
      integerIn(1),
      serverDefaults.DEFAULT_GRACE_MS,
    )
    .option(
      '--max-output <bytes>',
      'per-stream output cap; the process group is ended past it (default: none)',
      integerIn(1),
    )
    .addOption(new Option('--log-level <level>', 'stderr log detail').choices(LOG_LEVELS).default('info'))
    .option('--policy <file>', 'lab policy (JSON): allowlist, env, limits, runAs, sandbox; overrides the flags above')
    .option('--users <file>', 'users file (JSON): one key per user, with per-user overrides (see adduser)')
    .option(
      '--audit-log <path>',
      'append one JSON line per event (connect, auth, exec, exit, denied, disconnect); "-" for stderr',
    )
    .addOption(
      new Option(
        '--state-dir <dir>',
        'keep the ledger of running process groups here: started again on the same address, rexecd ends what a killed predecessor left',
      )
        .default(defaultStateDir(), '/run/rexecd as root, else $XDG_RUNTIME_DIR/rexecd or /tmp/rexecd-UID')
        .env('REXECD_STATE_DIR'),
    )
    .option(
      '--auth-failures <n>',
      'failed logins of one user name from one address that lock that name out there',
      integerIn(1),
      DEFAULT_AUTH_GUARD.maxFailures,
    )
    .option(
      '--auth-failures-per-address <n>',
      'failed logins from one address, whatever the names, that lock the address out',
      integerIn(1),
      DEFAULT_AUTH_GUARD.maxAddressFailures,
    )
    .option(
      '--auth-lockout <ms>',
      'how long failures count, and how long a lockout lasts',
      integerIn(1),
      DEFAULT_AUTH_GUARD.windowMs,
    );
  addServeTlsOptions(program).action(async (flags: ServeFlags) => {
    setStatus(await serve(flags, io));
  });
  addTlsCommands(program, (text) => io.stdout.write(text));
  program
    .command('keygen')
    .description('write a new key file (mode 0600)')
    .argument('[path]', 'where to write it', defaultKeyFile())
    .option('-f, --force', 'replace an existing key file', false)
    .action(async (path: string, flags: { force: boolean }) => {
      await writeKeyFile(path, { overwrite: flags.force });
      io.stdout.write(`wrote a new key to ${path}\n`);
    });
  program
    .command('adduser')
    .description(
      'add a lab user: their own key, and (as root) their own Linux account and jail; otherwise print what to run as root',
    )
    .argument('<name>', 'the user name (an account name: lower-case letters, digits, "_", "-")')
    .requiredOption('--users <file>', 'the users file (created if missing)')
    .option('--key-dir <dir>', 'where to write the key file (default: keys/ beside the users file)')
    .option('--labs-dir <dir>', 'where jails go: the jail and HOME is DIR/NAME', DEFAULT_LABS_DIR)
    .option('--readers <group>', "a group that may read (not write) the jail: the teacher's (mode 2750; default 0700)")
    .option('--root <dir>', "the user's root, if not the jail (a teacher: the labs directory)")
    .option('--no-account', 'no Linux account or jail: only the key and the entry (a shared root)')
    .option('--host <address>', 'the address students connect to, for the printed command', '<server>')
    .option('--port <n>', 'the port students connect to, for the printed command', String(DEFAULT_PORT))
    .option('-f, --force', 'give an existing user a new key', false)
    .action(async (name: string, flags: AddUserFlags, command: Command) => {
      // The default labs directory means nothing without an account.
      const labsDir = command.getOptionValueSource('labsDir') === 'default' ? undefined : flags.labsDir;
      await addUserCommand(name, { ...flags, labsDir }, (text) => io.stdout.write(text));
    });
  return program;
}
