// The `rexecd` program: flags → server options, the one "listening" line on stdout,
// logs on stderr, and a clean drain on SIGTERM/SIGINT.
import { realpath, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { defaultKeyFile, ensureKeyFile, writeKeyFile } from '../../common/key-file.js';
import { isLoopback } from '../../common/loopback.js';
import { RexecError } from '../../errors.js';
import { DEFAULT_PORT, DEFAULT_USER } from '../../protocol/constants.js';
import {
  closeInheritedDescriptors,
  createAuditLog,
  createServer,
  DEFAULT_AUTH_GUARD,
  DEFAULT_LABS_DIR,
  protectFromOomKiller,
  serverDefaults,
  VERSION,
} from '../../server/index.js';
import type { AuthSetting } from '../../server/index.js';
import { integerIn } from '../shared/arg-parsers.js';
import { addUserCommand } from './adduser-command.js';
import type { AddUserFlags } from './adduser-command.js';
import { createStderrLogger, LOG_LEVELS } from './stderr-logger.js';
import { addServeTlsOptions, addTlsCommands, serveTlsSetting } from './tls-options.js';
import type { ServeTlsFlags } from './tls-options.js';
import type { LogLevel } from './stderr-logger.js';

/** Runs rexecd with `argv` (process.argv form); resolves with the exit status. */
export async function main(argv: readonly string[]): Promise<number> {
  let status = 0;
  const program = buildProgram((code) => {
    status = code;
  });
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof RexecError || error instanceof TypeError || isSystemError(error)) {
      process.stderr.write(`rexecd: ${(error as Error).message}\n`);
      return 1;
    }
    throw error;
  }
  return status;
}

interface ServeFlags extends ServeTlsFlags {
  host: string;
  port: number;
  keyFile: string;
  auth: boolean;
  root: string;
  allowShell: boolean;
  path?: string;
  timeout: number;
  maxConnections: number;
  maxUnauthenticated?: number;
  maxUnauthenticatedPerAddress?: number;
  maxConcurrent: number;
  idleTimeout: number;
  authTimeout: number;
  grace: number;
  maxOutput?: number;
  logLevel: LogLevel;
  policy?: string;
  users?: string;
  auditLog?: string;
  stateDir: string;
  authFailures: number;
  authFailuresPerAddress: number;
  authLockout: number;
}

function buildProgram(setStatus: (code: number) => void): Command {
  const program = new Command('rexecd')
    .description('rexec server: runs authenticated clients\' commands and streams their output')
    .version(VERSION)
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
    .option('--path <dirs>', "commands' PATH and where argv[0] is looked up: absolute directories separated by \":\" (a policy's path wins)")
    .option('--timeout <ms>', 'default and maximum run time of a command', integerIn(1), serverDefaults.DEFAULT_TIMEOUT_MS)
    .option('--max-connections <n>', 'connections at once', integerIn(1), serverDefaults.DEFAULT_MAX_CONNECTIONS)
    .option('--max-unauthenticated <n>', 'connections at once that have not authenticated yet (default: half of --max-connections)', integerIn(1))
    .option('--max-unauthenticated-per-address <n>', 'of those, from one address (default: 8, or a quarter of --max-unauthenticated if less)', integerIn(1))
    .option('--max-concurrent <n>', 'running commands per connection', integerIn(1), serverDefaults.DEFAULT_MAX_CONCURRENT)
    .option('--idle-timeout <ms>', 'close connections idle this long', integerIn(1), serverDefaults.DEFAULT_IDLE_TIMEOUT_MS)
    .option('--auth-timeout <ms>', 'time allowed to authenticate', integerIn(1), serverDefaults.DEFAULT_AUTH_TIMEOUT_MS)
    .option('--grace <ms>', 'between SIGTERM and SIGKILL when ending a process group', integerIn(1), serverDefaults.DEFAULT_GRACE_MS)
    .option('--max-output <bytes>', 'per-stream output cap; the process group is ended past it (default: none)', integerIn(1))
    .addOption(new Option('--log-level <level>', 'stderr log detail').choices(LOG_LEVELS).default('info'))
    .option('--policy <file>', 'lab policy (JSON): allowlist, env, limits, runAs, sandbox; overrides the flags above')
    .option('--users <file>', 'users file (JSON): one key per user, with per-user overrides (see adduser)')
    .option('--audit-log <path>', 'append one JSON line per event (connect, auth, exec, exit, denied, disconnect); "-" for stderr')
    .addOption(
      new Option(
        '--state-dir <dir>',
        'keep the ledger of running process groups here: started again on the same address, rexecd ends what a killed predecessor left',
      )
        .default(defaultStateDir(), '/run/rexecd as root, else $XDG_RUNTIME_DIR/rexecd or /tmp/rexecd-UID')
        .env('REXECD_STATE_DIR'),
    )
    .option('--auth-failures <n>', 'failed logins of one user name from one address that lock that name out there', integerIn(1), DEFAULT_AUTH_GUARD.maxFailures)
    .option(
      '--auth-failures-per-address <n>',
      'failed logins from one address, whatever the names, that lock the address out',
      integerIn(1),
      DEFAULT_AUTH_GUARD.maxAddressFailures,
    )
    .option('--auth-lockout <ms>', 'how long failures count, and how long a lockout lasts', integerIn(1), DEFAULT_AUTH_GUARD.windowMs);
  addServeTlsOptions(program).action(async (flags: ServeFlags) => {
    setStatus(await serve(flags));
  });
  addTlsCommands(program, (text) => process.stdout.write(text));
  program
    .command('keygen')
    .description('write a new key file (mode 0600)')
    .argument('[path]', 'where to write it', defaultKeyFile())
    .option('-f, --force', 'replace an existing key file', false)
    .action(async (path: string, flags: { force: boolean }) => {
      await writeKeyFile(path, { overwrite: flags.force });
      process.stdout.write(`wrote a new key to ${path}\n`);
    });
  program
    .command('adduser')
    .description('add a lab user: their own key, and (as root) their own Linux account and jail; otherwise print what to run as root')
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
      await addUserCommand(name, { ...flags, labsDir }, (text) => process.stdout.write(text));
    });
  return program;
}

async function serve(flags: ServeFlags): Promise<number> {
  const logger = createStderrLogger(flags.logLevel);
  // Before anything else opens: what rexecd inherited must not reach its commands.
  const inherited = closeInheritedDescriptors();
  if (inherited.length > 0) logger.info({ fds: inherited }, 'closed descriptors inherited from the parent process');
  const root = await checkRoot(flags.root);
  if (root === undefined) return 1;
  let auth: AuthSetting;
  if (flags.users !== undefined) {
    // The keys come from the users file.
    auth = { mode: 'hmac-sha256', keys: new Map() };
  } else if (flags.auth) {
    const { key, created } = await ensureKeyFile(flags.keyFile);
    if (created) logger.info({ path: flags.keyFile }, 'created a new key file (mode 0600); clients need the same key');
    auth = { mode: 'hmac-sha256', keys: new Map([[DEFAULT_USER, key]]) };
  } else {
    if (!isLoopback(flags.host)) {
      process.stderr.write(`rexecd: --no-auth is only allowed on a loopback address, not ${flags.host}\n`);
      return 2;
    }
    auth = { mode: 'none' };
  }
  const tls = await serveTlsSetting(flags);
  // Before the server exists: the commands it starts are raised above what rexecd keeps.
  if (process.getuid?.() === 0) {
    const protection = protectFromOomKiller();
    if (!protection.adjusted) {
      logger.warn({ reason: protection.reason }, "cannot lower rexecd's own OOM score (it needs CAP_SYS_RESOURCE)");
    }
  }
  const server = createServer({
    auth,
    host: flags.host,
    port: flags.port,
    root,
    allowShell: flags.allowShell,
    ...(flags.path === undefined ? {} : { searchPath: flags.path.split(':') }),
    timeoutMs: flags.timeout,
    maxConnections: flags.maxConnections,
    ...(flags.maxUnauthenticated === undefined ? {} : { maxUnauthenticated: flags.maxUnauthenticated }),
    ...(flags.maxUnauthenticatedPerAddress === undefined ? {} : { maxUnauthenticatedPerAddress: flags.maxUnauthenticatedPerAddress }),
    maxConcurrent: flags.maxConcurrent,
    idleTimeoutMs: flags.idleTimeout,
    authTimeoutMs: flags.authTimeout,
    graceMs: flags.grace,
    ...(flags.maxOutput === undefined ? {} : { maxOutputBytes: flags.maxOutput }),
    ...(flags.policy === undefined ? {} : { policyFile: flags.policy }),
    ...(flags.users === undefined ? {} : { usersFile: flags.users }),
    ...(flags.auditLog === undefined ? {} : { audit: createAuditLog(flags.auditLog) }),
    stateDir: flags.stateDir,
    authGuard: { maxFailures: flags.authFailures, windowMs: flags.authLockout, maxAddressFailures: flags.authFailuresPerAddress },
    ...(tls === undefined ? {} : { tls }),
    logger,
  });
  let address;
  try {
    address = await server.listen();
  } catch (error) {
    if (error instanceof RexecError) {
      // The set-up before listening (cgroups) refused.
      process.stderr.write(`rexecd: ${error.message}\n`);
      return 1;
    }
    const code = (error as NodeJS.ErrnoException).code;
    const hint =
      code === 'EADDRINUSE'
        ? ' (is another rexecd running? choose another --port)'
        : code === 'EADDRNOTAVAIL'
          ? ' (no such address on this machine: check --host)'
          : '';
    process.stderr.write(`rexecd: cannot listen on ${flags.host}:${flags.port}: ${(error as Error).message}${hint}\n`);
    return 1;
  }
  const shown = address.host.includes(':') ? `[${address.host}]` : address.host;
  process.stdout.write(`rexecd listening on ${shown}:${address.port}\n`);
  logger.info(
    {
      root: server.policyFor('default').root,
      auth: auth.mode,
      shell: server.helloShell,
      ...(server.options.tls === undefined
        ? {}
        : { tls: server.options.tls.fingerprint, clientCerts: server.options.tls.clientCa !== undefined }),
    },
    `rexecd ${VERSION} ready; try: npx rexec${server.options.tls === undefined ? '' : ' --tls'} run -- uname -a`,
  );
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      if (server.draining) {
        logger.warn({ signal }, 'already shutting down; waiting for running commands to end');
        return;
      }
      logger.info({ signal, running: server.runningCount }, 'shutting down');
      void server.shutdown().then(resolve);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    // A bug of ours must not leave commands running without their server: log it with
    // its stack, drain (every process group is ended), and exit with EX_SOFTWARE.
    const crash = (error: unknown): void => {
      logger.error({ err: (error as Error)?.stack ?? String(error) }, 'internal error: shutting down');
      process.exitCode = 70;
      if (!server.draining) void server.shutdown().then(resolve);
    };
    process.on('uncaughtException', crash);
    process.on('unhandledRejection', crash);
  });
  await server.options.audit.flush();
  logger.info({}, 'stopped');
  return typeof process.exitCode === 'number' ? process.exitCode : 0;
}

async function checkRoot(dir: string): Promise<string | undefined> {
  try {
    const real = await realpath(dir);
    if ((await stat(real)).isDirectory()) return real;
    process.stderr.write(`rexecd: --root ${dir} is not a directory\n`);
  } catch (error) {
    process.stderr.write(`rexecd: --root ${dir}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such directory' : (error as Error).message}\n`);
  }
  return undefined;
}

function isSystemError(error: unknown): boolean {
  return typeof (error as NodeJS.ErrnoException | undefined)?.code === 'string' && error instanceof Error;
}

// Where the ledger of process groups goes (group-ledger.ts): a directory only this user
// can write, that the system empties at boot (when the groups are gone anyway).
function defaultStateDir(): string {
  const uid = process.getuid?.() ?? 0;
  if (uid === 0) return '/run/rexecd';
  const runtime = process.env['XDG_RUNTIME_DIR'];
  return runtime === undefined || runtime === '' ? join(tmpdir(), `rexecd-${uid}`) : join(runtime, 'rexecd');
}
