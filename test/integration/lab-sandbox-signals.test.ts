// Found by `rexec conformance server`, check "signal", against a lab server
// with sandbox "bwrap"): a SIGTERM that reaches a sandboxed command right after its
// `started` sometimes kills only the outer bwrap. The inner bwrap (its own session,
// because of --new-session) and the command are reparented to init, outside the
// process group rexecd signals: no `exit` comes until the timeout, and the processes
// outlive the connection (docs/protocol.md sections 4 and 6). It happened about 1 in 20
// tries before bwrap lost --new-session; the command now stays in the group.
import { describe, expect, it } from 'vitest';
import { RawClient, waitUntil } from '../helpers/raw-client.js';
import { startLab } from '../helpers/lab.js';
import { processesRunning } from '../helpers/processes.js';

describe('lab sandbox: an early SIGTERM', () => {
  it('ends the command (exit comes) and leaves nothing behind, every time', async () => {
    const lab = await startLab({ allow: '*', sandbox: 'bwrap' }, { alice: {} });
    try {
      for (let i = 0; i < 30; i += 1) {
        const client = await RawClient.ready(lab.port, lab.keys['alice'] as string, 'alice');
        client.send({ type: 'exec', id: 1, argv: ['sleep', '37'] });
        await client.next('started', 1);
        client.send({ type: 'signal', id: 1, signal: 'SIGTERM' });
        const exit = await client.next('exit', 1, 20_000).catch(() => undefined);
        client.close();
        expect(exit?.header, `try ${i}: no exit after SIGTERM`).toMatchObject({ code: null });
      }
    } finally {
      await lab.stop();
      // What escaped the group is still running after the server stopped.
      const left = await waitUntil(
        () => processesRunning('sleep 37').length === 0,
        'escaped sleepers to end',
        5_000,
      ).catch(() => false);
      expect(left, `still running: ${processesRunning('sleep 37').join(', ')}`).toBe(true);
    }
  }, 300_000);
});
