// `rexec ping`: connect, authenticate both ways, and time one round trip.
import { STATUS_FAILURE } from '../../shared/exit-status.js';
import { failureMessage } from '../failure-message.js';
import type { ConnectionSettings } from '../connection-options.js';
import { openClient } from '../connection-options.js';
import { printError } from '../../shared/io.js';
import type { CliIo } from '../../shared/io.js';

/** Prints the server's version, the auth result and the round-trip time; 0, or 255 on failure. */
export async function pingCommand(settings: ConnectionSettings, io: CliIo): Promise<number> {
  try {
    const client = await openClient(settings, (line) => printError(io, line));
    try {
      const ms = await client.ping();
      const { hello } = client;
      const auth = client.authenticated
        ? `${hello.auth}, user "${client.user}": key accepted, server proof verified`
        : 'none: the server does not authenticate (loopback only)';
      io.stdout.write(
        `server: ${hello.server} at ${settings.host}:${settings.port} (protocol ${hello.protocol}, ` +
          `shell ${hello.shell ? 'allowed' : 'not allowed'}, ` +
          `files ${hello.files ? 'yes' : 'no'}, terminal (-t) ${hello.pty ? 'yes' : 'no'})\n` +
          `auth: ${auth}\n` +
          `round trip: ${ms.toFixed(2)} ms\n`,
      );
      return 0;
    } finally {
      await client.close();
    }
  } catch (error) {
    printError(io, failureMessage(error, settings));
    return STATUS_FAILURE;
  }
}
