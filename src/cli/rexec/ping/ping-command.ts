// `rexec ping`: connect, authenticate both ways, and time one round trip.
import { printableLine } from '../../shared/printable.js';
import { STATUS_FAILURE } from '../../shared/exit-status.js';
import { printError } from '../../shared/io.js';
import type { CliIo } from '../../shared/io.js';
import type { Command } from 'commander';
import type { ConnectionSettings } from '../connection-options.js';
// Loaded on demand: see core.ts for why this import is here.
import '../core.js';
import { failureMessage } from '../failure-message.js';
import { connectionSettings } from '../hosts/settings.js';
import { withClient } from '../open-client.js';

/** The action of `rexec ping`, loaded when it runs. */
export async function pingAction(command: Command, io: CliIo): Promise<number> {
  return pingCommand(connectionSettings(command), io);
}

/** Prints the server's version, the auth result and the round-trip time; 0, or 255 on failure. */
export async function pingCommand(settings: ConnectionSettings, io: CliIo): Promise<number> {
  return withClient(settings, io, async (client) => {
    let ms: number;
    try {
      ms = await client.ping();
    } catch (error) {
      printError(io, failureMessage(error, settings));
      return STATUS_FAILURE;
    }
    const { hello } = client;
    const auth = client.authenticated
      ? `${hello.auth}, user "${client.user}": key accepted, server proof verified`
      : 'none: the server does not authenticate (loopback only)';
    io.stdout.write(
      `server: ${printableLine(hello.server)} at ${settings.host}:${settings.port} (protocol ${hello.protocol}, ` +
        `shell ${hello.shell ? 'allowed' : 'not allowed'}, ` +
        `files ${hello.files ? 'yes' : 'no'}, terminal (-t) ${hello.pty ? 'yes' : 'no'})\n` +
        `auth: ${auth}\n` +
        `round trip: ${ms.toFixed(2)} ms\n`,
    );
    return 0;
  });
}
