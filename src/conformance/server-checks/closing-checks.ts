// Sections 5, 6 and 8 seen from outside: no process outlives its connection however
// it ends (FIN, reset, fatal error; stubborn and background processes too), idle
// connections are closed, and a client that stops reading stops the process.
import { prefixOf } from '../bytes.js';
import { expectEqual, fail, show, skip } from '../check.js';
import type { Check } from '../check.js';
import { delay } from '../deadline.js';
import { awaitEnd, expectExited, expectFatal, expectUncapped, runCommand } from '../replies.js';
import { alivePids, endWithinMs, requireVisible } from '../remote-processes.js';
import type { Probe } from '../probe.js';
import type { ServerContext } from '../server-context.js';

// A leader that waits for a background child; the child's pid is printed.
const WAITING = 'sleep 60 >/dev/null 2>&1 & echo $!; wait';
// The same, but both ignore SIGTERM: only SIGKILL after the grace period ends them.
const STUBBORN = `trap "" TERM; ${WAITING}`;

/** How the client lets go of a connection. */
type Ending = (probe: Probe, context: ServerContext) => void | Promise<void>;

const fin: Ending = (probe) => probe.end();

/** The checks of what happens when a connection ends. */
export const CLOSING_CHECKS: ReadonlyArray<Check<ServerContext>> = [
  closeCheck(
    'close-ends-processes',
    'when the client closes (FIN), the server ends the process group of every command',
    WAITING,
    fin,
  ),
  closeCheck(
    'reset-ends-processes',
    'when the connection is reset, the server ends every process group',
    WAITING,
    (probe) => probe.reset(),
  ),
  closeCheck(
    'close-ends-stubborn-processes',
    'processes that ignore SIGTERM get SIGKILL after the grace period',
    STUBBORN,
    fin,
  ),
  closeCheck(
    'fatal-error-ends-processes',
    'a fatal error (PROTOCOL) closes the connection and ends its processes (section 8)',
    WAITING,
    async (probe, context) => {
      probe.write(prefixOf(0, 0));
      await expectFatal(probe, 'PROTOCOL', context.waitMs);
    },
  ),
  {
    id: 'close-ends-leftovers',
    section: '6',
    title: 'a background process left by a command that already exited ends with the connection',
    async run(context) {
      await context.requireTools();
      const probe = await context.ready();
      const outcome = await runCommand(
        probe,
        1,
        { argv: ['sh', '-c', 'sleep 60 >/dev/null 2>&1 & echo $!'] },
        context.waitMs,
      );
      expectExited(outcome, 'sh leaving sleep 60 behind');
      const child = Number(outcome.stdout.toString().trim());
      await requireVisible(context, [child]);
      probe.end();
      await expectGone(context, [child], 'after the client closed the connection');
    },
  },
  {
    id: 'idle-timeout',
    section: '6',
    title: 'a connection with nothing running gets IDLE_TIMEOUT after the idle limit, and is closed',
    async run(context) {
      const limit = context.idleTimeoutMs;
      if (limit === undefined)
        skip("the idle limit is not announced: give --idle-timeout MS (the server's setting) to check it");
      const probe = await context.ready();
      await expectFatal(probe, 'IDLE_TIMEOUT', limit + context.waitMs);
    },
  },
  {
    id: 'slow-reader',
    section: '5',
    title:
      'a client that stops reading stops the process (it blocks on write) instead of the server buffering its output',
    async run(context) {
      await context.requireTools();
      const probe = await context.ready();
      probe.discardOutput();
      // First make sure a second connection can see this one's processes at all.
      probe.send({ type: 'exec', id: 2, argv: ['sleep', '30'] });
      const sleeper = Number((await probe.next({ type: 'started', id: 2 }, context.waitMs)).header['pid']);
      await requireVisible(context, [sleeper]);
      probe.send({ type: 'signal', id: 2, signal: 'SIGKILL' });
      const size = 64 * 1024 * 1024;
      probe.send({ type: 'exec', id: 1, argv: ['head', '-c', String(size), '/dev/zero'] });
      const pid = Number((await probe.next({ type: 'started', id: 1 }, context.waitMs)).header['pid']);
      probe.pause();
      // Unthrottled, head writes 64 MiB in well under this; throttled, it blocks.
      await delay(1_000);
      const alive = await alivePids(context, [pid]);
      probe.resume();
      const outcome = await awaitEnd(probe, 1, context.waitMs * 3);
      const exit = expectUncapped(outcome, 'head -c 64MiB');
      if (alive.length === 0) {
        fail(
          'the process wrote 64 MiB and ended while the client read nothing: the server buffered its output instead of pausing it',
        );
      }
      expectEqual(
        [outcome.stdoutSize, exit['stdoutBytes']],
        [size, size],
        'stdout bytes received and exit.stdoutBytes',
      );
    },
  },
];

function closeCheck(id: string, title: string, script: string, ending: Ending): Check<ServerContext> {
  return {
    id,
    section: id.startsWith('fatal') ? '8' : '6',
    title,
    async run(context) {
      await context.requireTools();
      const probe = await context.ready();
      probe.send({ type: 'exec', id: 1, argv: ['sh', '-c', script] });
      const leader = Number((await probe.next({ type: 'started', id: 1 }, context.waitMs)).header['pid']);
      const child = Number((await probe.next({ type: 'stdout', id: 1 }, context.waitMs)).body.toString().trim());
      if (!Number.isInteger(child)) fail(`the command printed ${show(child)} instead of its child's pid`);
      await requireVisible(context, [leader, child]);
      await ending(probe, context);
      await expectGone(context, [leader, child], 'after the connection ended');
    },
  };
}

async function expectGone(context: ServerContext, pids: readonly number[], when: string): Promise<void> {
  const within = endWithinMs(context);
  const left = await alivePids(context, pids, within);
  if (left.length > 0)
    fail(
      `processes ${left.join(', ')} still alive ${within} ms ${when}: no process of a closed connection may outlive it`,
    );
}
