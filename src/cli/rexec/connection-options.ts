// The connection flags every subcommand shares (-H, -p, -k, -u, with REXEC_* environment
// defaults), and the settings they become. Light on purpose: the program defines these
// flags at every start, before it knows which subcommand runs (open-client.ts connects).
import { Option } from 'commander';
import type { Command } from 'commander';
import { defaultKeyFile } from '../../common/key-file.js';
import { DEFAULT_HOST, DEFAULT_PORT, DEFAULT_USER } from '../../protocol/constants.js';
import { parsePort } from '../shared/arg-parsers.js';
import { addTargetOptions } from './hosts/flags.js';

/** Where to connect and as whom, after flags, environment and defaults. */
export interface ConnectionSettings {
  readonly host: string;
  readonly port: number;
  readonly keyFile: string;
  readonly user: string;
  /** What the user called the host: a config file name, or HOST[:PORT] as typed. */
  readonly label?: string;
  /** Connect with TLS; absent for plain TCP. */
  readonly tls?: TlsSettings;
  /** Deadline for connecting and authenticating (default 10000 ms). */
  readonly connectTimeoutMs?: number;
}

/** How to check a TLS server (file paths; see tls-client.ts). */
export interface TlsSettings {
  /** CA certificates (PEM file): verify the server's chain and name. */
  readonly ca?: string;
  /** Pinned certificate fingerprint. */
  readonly fingerprint?: string;
  /** Client certificate and key (PEM files), for mutual TLS. */
  readonly cert?: string;
  readonly key?: string;
  /** Trust on first use, when there is neither a CA nor a fingerprint. */
  readonly knownHostsFile: string;
}

/** Adds -H, -p, -k and -u (and TLS, --config, --connect-timeout) to a command (the program, and each subcommand). */
export function addConnectionOptions(command: Command): Command {
  command
    .addOption(
      new Option('-H, --host <host>', 'server host, HOST:PORT, or a config file name (run: also a,b,c or a group)')
        .env('REXEC_HOST')
        .default(DEFAULT_HOST),
    )
    .addOption(
      new Option('-p, --port <port>', 'server port').env('REXEC_PORT').default(DEFAULT_PORT).argParser(parsePort),
    )
    .addOption(
      new Option('-k, --key-file <path>', 'file holding the shared key')
        .env('REXEC_KEY_FILE')
        .default(defaultKeyFile()),
    )
    .addOption(new Option('-u, --user <name>', 'user name the key belongs to').env('REXEC_USER').default(DEFAULT_USER));
  return addTargetOptions(command);
}
