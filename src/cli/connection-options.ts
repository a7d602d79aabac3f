// The connection flags every subcommand shares (-H, -p, -k, -u, with REXEC_* environment
// defaults), and opening a client with them.
import { isIP } from 'node:net';
import { InvalidArgumentError, Option } from 'commander';
import type { Command } from 'commander';
import { connect, DEFAULT_HOST, DEFAULT_PORT, DEFAULT_USER } from '../client/index.js';
import type { RexecClient } from '../client/index.js';
import { defaultKeyFile, readKeyFile } from '../common/key-file.js';
import { RexecError } from '../errors.js';

/** Where to connect and as whom, after flags, environment and defaults. */
export interface ConnectionSettings {
  readonly host: string;
  readonly port: number;
  readonly keyFile: string;
  readonly user: string;
}

const KEYS = ['host', 'port', 'keyFile', 'user'] as const;

/** Adds -H, -p, -k and -u to a command (the program, and each subcommand). */
export function addConnectionOptions(command: Command): Command {
  return command
    .addOption(
      new Option('-H, --host <host>', 'server host').env('REXEC_HOST').default(DEFAULT_HOST),
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
}

/**
 * The settings for a subcommand: a flag given after the subcommand wins, then one given
 * before it (`rexec -H h run ...`), then the environment, then the default.
 */
export function connectionSettings(command: Command): ConnectionSettings {
  const parent = command.parent;
  const pick = <K extends (typeof KEYS)[number]>(key: K): ConnectionSettings[K] => {
    const source =
      command.getOptionValueSource(key) !== 'cli' && parent?.getOptionValueSource(key) === 'cli'
        ? parent
        : command;
    return source.getOptionValue(key) as ConnectionSettings[K];
  };
  return { host: pick('host'), port: pick('port'), keyFile: pick('keyFile'), user: pick('user') };
}

/**
 * Reads the key file and connects. A missing key file is an error only if the server
 * asks for a key. A server without authentication is accepted only on a loopback
 * address, where rexecd allows one; elsewhere it could be anyone.
 */
export async function openClient(settings: ConnectionSettings): Promise<RexecClient> {
  let key: string | undefined;
  let keyError: RexecError | undefined;
  try {
    key = await readKeyFile(settings.keyFile);
  } catch (error) {
    if (!(error instanceof RexecError)) throw error;
    keyError = error;
  }
  try {
    return await connect({
      host: settings.host,
      port: settings.port,
      user: settings.user,
      key,
      allowNoAuth: isLoopback(settings.host),
    });
  } catch (error) {
    if (error instanceof RexecError && error.code === 'KEY_FILE' && keyError !== undefined) throw keyError;
    throw error;
  }
}

function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1' || host.startsWith('::ffff:127.');
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port < 1 || port > 65535) {
    throw new InvalidArgumentError(`the port must be a number 1..65535, not "${value}"`);
  }
  return port;
}
