// `rexec conformance`: the commander wiring of the conformance checker (`server`) and
// the torture server for clients (`client`). The work is in src/conformance, loaded when
// a check runs.
import type { Command } from 'commander';
import type { ClientCheckFlags } from './conformance-client-command.js';
import type { ServerCheckFlags } from './conformance-server-command.js';
import type { CliIo } from '../shared/io.js';
import { collectNames, parseMs } from '../shared/arg-parsers.js';
import { addKeyOptions, inheritedOption, parseTarget } from './kit-options.js';

const STATUS_HELP =
  '\nExit status: 0 when no check failed, 1 when some did, 255 when the checks could not run\n' +
  '(usage, unreachable server, missing key).';

/** Adds `conformance server` and `conformance client` to the program. */
export function addConformanceCommand(program: Command, io: CliIo, setStatus: (status: number) => void): void {
  const conformance = program
    .command('conformance')
    .description('test an implementation of the rexec protocol: a server (checker) or a client (torture server)')
    .enablePositionalOptions();

  addKeyOptions(
    conformance
      .command('server')
      .description('run every black-box check of docs/protocol.md against a server')
      .argument('[host:port]', 'the server to check', parseTarget)
      .option('--json', 'print one JSON object instead of a line per check')
      .option(
        '--only <names>',
        'run only these checks (comma-separated ids or prefixes such as "malformed")',
        collectNames,
      )
      .option('--list', 'list the checks and exit')
      .option('--wait <ms>', 'deadline of each awaited reply (default 10000)', parseMs)
      .option('--idle-timeout <ms>', "the server's idle limit, to check IDLE_TIMEOUT (else skipped)", parseMs)
      .option(
        '--auth-timeout <ms>',
        "the server's authentication deadline, to check AUTH_TIMEOUT (else skipped)",
        parseMs,
      )
      .option('--grace <ms>', "the server's grace period between SIGTERM and SIGKILL (default 2000)", parseMs)
      .addHelpText('after', STATUS_HELP),
  ).action(async (target: { host: string; port: number } | undefined, flags: ServerCheckFlags, command: Command) => {
    const keyFile = String(inheritedOption(command, 'keyFile'));
    const user = String(inheritedOption(command, 'user'));
    const { conformanceServerCommand } = await import('./conformance-server-command.js');
    setStatus(await conformanceServerCommand(target, { ...flags, keyFile, user }, io));
  });

  conformance
    .command('client')
    .description('run a client against a torture server, once per scenario, and compare what it prints')
    .argument('[command...]', 'the client under test, e.g. "-- rexec run --"; the scenario name is appended')
    .option('--json', 'print one JSON object instead of a line per scenario')
    .option('--only <names>', 'run only these scenarios (comma-separated)', collectNames)
    .option('--list', 'list the scenarios and exit')
    .option('--timeout <ms>', 'deadline of each run of the client (default 30000)', parseMs)
    .passThroughOptions()
    .addHelpText(
      'after',
      '\nThe client runs with REXEC_HOST, REXEC_PORT, REXEC_KEY_FILE and REXEC_USER set to the torture\n' +
        'server (127.0.0.1, a free port, a fresh key); it must run the command named by its last argument\n' +
        'and print its stdout and stderr and exit with its status, as `rexec run` does.' +
        STATUS_HELP,
    )
    .action(async (command: string[], flags: ClientCheckFlags) => {
      const { conformanceClientCommand } = await import('./conformance-client-command.js');
      setStatus(await conformanceClientCommand(command, flags, io));
    });
}
