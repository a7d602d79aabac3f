// The connection flags every subcommand shares (-H, -p, -k, -u, with REXEC_* environment
// defaults), and opening a client with them.
import { Option } from 'commander';
import type { Command } from 'commander';
import { connect, DEFAULT_HOST, DEFAULT_PORT, DEFAULT_USER } from '../../client/index.js';
import type { RexecClient } from '../../client/index.js';
import { defaultKeyFile, readKeyFile } from '../../common/key-file.js';
import { isLoopback } from '../../common/loopback.js';
import { RexecError } from '../../errors.js';
import { addTargetOptions, readConnectionFlags, singleTarget } from './hosts/settings.js';
import { tlsFactoryFor } from './tls-client.js';
import { parsePort } from '../shared/arg-parsers.js';
import { statusOfError } from '../shared/exit-status.js';
import { failureMessage } from './failure-message.js';
import { printError } from '../shared/io.js';
import type { CliIo } from '../shared/io.js';

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
      new Option('-p, --port <port>', 'server port')
        .env('REXEC_PORT')
        .default(DEFAULT_PORT)
        .argParser(parsePort),
    )
    .addOption(
      new Option('-k, --key-file <path>', 'file holding the shared key')
        .env('REXEC_KEY_FILE')
        .default(defaultKeyFile()),
    )
    .addOption(
      new Option('-u, --user <name>', 'user name the key belongs to').env('REXEC_USER').default(DEFAULT_USER),
    );
  return addTargetOptions(command);
}

/**
 * The settings for a subcommand: a flag given after the subcommand wins, then one given
 * before it (`rexec -H h run ...`), then the host's entry in the config file (-H NAME),
 * then the environment, then the default. Throws CONFIG for a bad config file, or when
 * -H names several hosts (see hosts/settings.ts).
 */
export function connectionSettings(command: Command): ConnectionSettings {
  return singleTarget(readConnectionFlags(command));
}

/**
 * Opens a client, runs `use` with it and closes it. A failure to connect or
 * authenticate is printed (one line that says what to do) and becomes the status.
 */
export async function withClient(
  settings: ConnectionSettings,
  io: CliIo,
  use: (client: RexecClient) => Promise<number>,
): Promise<number> {
  let client: RexecClient;
  try {
    client = await openClient(settings, (line) => printError(io, line));
  } catch (error) {
    printError(io, failureMessage(error, settings, { connecting: true }));
    return statusOfError(error);
  }
  try {
    return await use(client);
  } finally {
    await client.close();
  }
}

/**
 * Reads the key file and connects. A missing key file is an error only if the server
 * asks for a key. A server without authentication is accepted only on a loopback
 * address, where rexecd allows one; elsewhere it could be anyone. `notice` gets lines to
 * tell the user (a certificate trusted on first use); default: `rexec: ...` on stderr.
 */
export async function openClient(settings: ConnectionSettings, notice?: (line: string) => void): Promise<RexecClient> {
  let key: string | undefined;
  let keyError: RexecError | undefined;
  try {
    key = await readKeyFile(settings.keyFile);
  } catch (error) {
    if (!(error instanceof RexecError)) throw error;
    keyError = error;
  }
  // With TLS, HMAC authentication still applies inside it.
  const socketFactory =
    settings.tls === undefined
      ? undefined
      : await tlsFactoryFor(settings.tls, notice ?? ((line) => process.stderr.write(`rexec: ${line}\n`)));
  try {
    return await connect({
      host: settings.host,
      port: settings.port,
      user: settings.user,
      key,
      allowNoAuth: isLoopback(settings.host),
      ...(socketFactory === undefined ? {} : { socketFactory }),
      ...(settings.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: settings.connectTimeoutMs }),
    });
  } catch (error) {
    if (error instanceof RexecError && error.code === 'KEY_FILE' && keyError !== undefined) throw keyError;
    throw error;
  }
}
