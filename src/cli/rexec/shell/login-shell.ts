// `rexec shell -t`: the server's interactive shell on a terminal, as `ssh host` gives:
// bash when the server has it (and the policy allows it), else sh.
import type { CliIo } from '../../shared/io.js';
import type { ConnectionSettings } from '../connection-options.js';
import { withClient } from '../open-client.js';
import { runOn } from '../run/run-command.js';

/** Runs the login shell until it exits; resolves with its status. */
export async function loginShell(settings: ConnectionSettings, io: CliIo): Promise<number> {
  return withClient(settings, io, async (client) => {
    const shell = await client.run(['bash', '-c', ':']).then(
      () => 'bash',
      () => 'sh',
    );
    return runOn(client, [shell, '-i'], { tty: true }, settings, io);
  });
}
