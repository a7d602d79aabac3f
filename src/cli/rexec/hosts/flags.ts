// The flags every connecting subcommand shares beyond -H, -p, -k and -u (TLS, --config,
// --connect-timeout), and reading all of them from a subcommand and the program before
// it. Light on purpose: defined at every start (settings.ts applies them).
import { InvalidArgumentError, Option } from 'commander';
import type { Command } from 'commander';
import { parseFingerprint } from '../../../common/fingerprint.js';
import { parseMs } from '../../shared/arg-parsers.js';

/** A flag's value and whether it was typed on the command line (else: environment or default). */
export interface FlagValue<T> {
  readonly value: T;
  readonly fromCli: boolean;
}

/** The connection flags of one subcommand, merged with the program's. */
export interface ConnectionFlags {
  readonly host: FlagValue<string>;
  readonly port: FlagValue<number>;
  readonly keyFile: FlagValue<string>;
  readonly user: FlagValue<string>;
  /** --tls (true), --no-tls (false), or neither. */
  readonly tls: boolean | undefined;
  readonly ca: string | undefined;
  readonly fingerprint: string | undefined;
  readonly tlsCert: string | undefined;
  readonly tlsKey: string | undefined;
  /** --config FILE (or REXEC_CONFIG); undefined: the default file, if it exists. */
  readonly config: string | undefined;
  readonly connectTimeout: number | undefined;
}

/** Adds the TLS flags, --config and --connect-timeout to a command. */
export function addTargetOptions(command: Command): Command {
  return command
    .option('--tls', 'connect with TLS (the server runs with --tls-cert)')
    .option('--no-tls', 'connect without TLS even if the config file says otherwise')
    .option('--ca <file>', "verify the server's TLS certificate with these CAs (PEM) and its name (implies --tls)")
    .option(
      '--fingerprint <sha256>',
      'accept only this TLS certificate (sha256:..., as rexecd tls-fingerprint prints; implies --tls)',
      checkFingerprint,
    )
    .option('--tls-cert <file>', 'client certificate (PEM) for servers that require one (implies --tls)')
    .option('--tls-key <file>', "the client certificate's private key (PEM)")
    .addOption(
      new Option('--config <file>', 'hosts and groups file (default: ~/.config/rexec/config.json)').env('REXEC_CONFIG'),
    )
    .option(
      '--connect-timeout <ms>',
      'give up on a host not connected and authenticated by then (default 10000)',
      parseMs,
    );
}

/** The flags of `command`: one typed after the subcommand wins over one before it. */
export function readConnectionFlags(command: Command): ConnectionFlags {
  const parent = command.parent;
  const source = (key: string): Command =>
    command.getOptionValueSource(key) !== 'cli' && parent?.getOptionValueSource(key) === 'cli' ? parent : command;
  const value = <T>(key: string): FlagValue<T> => {
    const from = source(key);
    return { value: from.getOptionValue(key) as T, fromCli: from.getOptionValueSource(key) === 'cli' };
  };
  const optional = <T>(key: string): T | undefined => {
    const from = source(key);
    const found = from.getOptionValue(key) as T | undefined;
    // On the program, an option that only the subcommand has is simply absent.
    return found ?? (command.getOptionValue(key) as T | undefined);
  };
  return {
    host: value('host'),
    port: value('port'),
    keyFile: value('keyFile'),
    user: value('user'),
    tls: optional<boolean>('tls'),
    ca: optional<string>('ca'),
    fingerprint: optional<string>('fingerprint'),
    tlsCert: optional<string>('tlsCert'),
    tlsKey: optional<string>('tlsKey'),
    config: optional<string>('config'),
    connectTimeout: optional<number>('connectTimeout'),
  };
}

function checkFingerprint(value: string): string {
  const fingerprint = parseFingerprint(value);
  if (fingerprint === undefined) throw new InvalidArgumentError('expected "sha256:" and 64 hex digits');
  return fingerprint;
}
