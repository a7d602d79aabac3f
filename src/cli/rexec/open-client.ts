// Opening a client with the connection settings: the key file read, TLS set up when
// asked for (its code loaded only then), and a failure said in one line.
import { connect } from '../../client/index.js';
import type { RexecClient, SocketFactory } from '../../client/index.js';
import { readKeyFile } from '../../common/key-file.js';
import { isLoopback } from '../../common/loopback.js';
import { RexecError } from '../../errors.js';
import { statusOfError } from '../shared/exit-status.js';
import { printError } from '../shared/io.js';
import type { CliIo } from '../shared/io.js';
import type { ConnectionSettings } from './connection-options.js';
import { failureMessage } from './failure-message.js';

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
 * tell the user (a certificate trusted on first use).
 */
export async function openClient(settings: ConnectionSettings, notice: (line: string) => void): Promise<RexecClient> {
  let key: string | undefined;
  let keyError: RexecError | undefined;
  try {
    key = await readKeyFile(settings.keyFile);
  } catch (error) {
    if (!(error instanceof RexecError)) throw error;
    keyError = error;
  }
  // With TLS, HMAC authentication still applies inside it. The TLS code is loaded only
  // for a TLS connection: a plain one starts faster without it.
  let socketFactory: SocketFactory | undefined;
  if (settings.tls !== undefined) {
    const { tlsFactoryFor } = await import('./tls-client.js');
    socketFactory = await tlsFactoryFor(settings.tls, notice);
  }
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
