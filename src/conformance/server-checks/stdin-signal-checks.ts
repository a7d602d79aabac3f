// Section 4, talking to a running process: stdin (closed by default, with eof, sent
// before started, refused when not asked for or after eof), signals to the whole
// group, and the server's timeout.
import { randomBytes } from 'node:crypto';
import { sameBytes } from '../bytes.js';
import { expectEqual, fail, show } from '../check.js';
import type { Check } from '../check.js';
import { awaitEnd, expectError, expectExited, expectStillOpen, runCommand } from '../replies.js';
import type { Probe } from '../probe.js';
import type { ServerContext } from '../server-context.js';

/** The checks of section 4 about stdin, signals and timeouts. */
export const STDIN_SIGNAL_CHECKS: ReadonlyArray<Check<ServerContext>> = [
  {
    id: 'stdin-closed-by-default',
    section: '4',
    title: "without stdin: true the process's stdin is closed at once (cat ends with no output)",
    async run(context) {
      await context.requireTools();
      const probe = await context.ready();
      const outcome = await runCommand(probe, 1, { argv: ['cat'] }, context.waitMs);
      const exit = expectExited(outcome, 'cat without stdin');
      expectEqual([exit['code'], outcome.stdout.length], [0, 0], 'code and stdout bytes');
    },
  },
  {
    id: 'stdin-eof',
    section: '4',
    title: 'stdin frames reach the process in order, and eof closes its stdin',
    async run(context) {
      await context.requireTools();
      const probe = await context.ready();
      const parts = [randomBytes(1), randomBytes(70_000), Buffer.from([0, 255, 10, 13]), randomBytes(3)];
      probe.send({ type: 'exec', id: 1, argv: ['cat'], stdin: true });
      await probe.next({ type: 'started', id: 1 }, context.waitMs);
      parts.forEach((part, i) =>
        probe.send({ type: 'stdin', id: 1, ...(i === parts.length - 1 ? { eof: true } : {}) }, part),
      );
      const outcome = await awaitEnd(probe, 1, context.waitMs);
      expectExited(outcome, 'cat');
      sameBytes(outcome.stdout, Buffer.concat(parts), "cat's output");
    },
  },
  {
    id: 'stdin-before-started',
    section: '4',
    title: 'stdin sent right after exec, in the same write, before started, is handled in order',
    async run(context) {
      await context.requireTools();
      const probe = await context.ready();
      probe.send({ type: 'exec', id: 1, argv: ['cat'], stdin: true });
      probe.send({ type: 'stdin', id: 1 }, Buffer.from('early '));
      probe.send({ type: 'stdin', id: 1, eof: true }, Buffer.from('bird'));
      const outcome = await awaitEnd(probe, 1, context.waitMs);
      expectExited(outcome, 'cat');
      expectEqual(outcome.stdout.toString(), 'early bird', "cat's output");
    },
  },
  {
    id: 'stdin-not-requested',
    section: '4',
    title: 'stdin for a request started without stdin: true is BAD_REQUEST (not fatal)',
    async run(context) {
      await context.requireTools();
      const probe = await sleeping(context, { stdin: false });
      probe.send({ type: 'stdin', id: 1 }, Buffer.from('x'));
      await expectError(probe, 'BAD_REQUEST', context.waitMs, 1);
      await expectStillOpen(probe, context.waitMs, 'after BAD_REQUEST');
    },
  },
  {
    id: 'stdin-after-eof',
    section: '4',
    title: 'stdin after eof is BAD_REQUEST (not fatal)',
    async run(context) {
      await context.requireTools();
      const probe = await sleeping(context, { stdin: true });
      probe.send({ type: 'stdin', id: 1, eof: true });
      probe.send({ type: 'stdin', id: 1 }, Buffer.from('too late'));
      await expectError(probe, 'BAD_REQUEST', context.waitMs, 1);
      await expectStillOpen(probe, context.waitMs, 'after BAD_REQUEST');
    },
  },
  {
    id: 'signal',
    section: '4',
    title: "a signal ends the process; exit has code null and the signal's name",
    async run(context) {
      await context.requireTools();
      const probe = await sleeping(context, {});
      probe.send({ type: 'signal', id: 1, signal: 'SIGTERM' });
      const exit = expectExited(await awaitEnd(probe, 1, context.waitMs), 'sleep after SIGTERM');
      expectEqual([exit['code'], exit['signal'], exit['timedOut']], [null, 'SIGTERM', false], 'code, signal, timedOut');
    },
  },
  {
    id: 'signal-before-started',
    section: '4',
    title: 'a signal sent right after exec, in the same write, reaches the process',
    async run(context) {
      await context.requireTools();
      const probe = await context.ready();
      probe.send({ type: 'exec', id: 1, argv: ['sleep', '30'] });
      probe.send({ type: 'signal', id: 1, signal: 'SIGKILL' });
      const exit = expectExited(await awaitEnd(probe, 1, context.waitMs), 'sleep after SIGKILL');
      expectEqual([exit['code'], exit['signal']], [null, 'SIGKILL'], 'code and signal');
    },
  },
  {
    id: 'signal-reaches-group',
    section: '4',
    title: 'a signal is delivered to the whole process group (a background child holding stdout dies too)',
    async run(context) {
      await context.requireTools();
      const probe = await context.ready();
      // The child keeps stdout open: the exit can only come once the signal reached it.
      probe.send({ type: 'exec', id: 1, argv: ['sh', '-c', 'sleep 30 & echo $!; wait'] });
      await probe.next({ type: 'stdout', id: 1 }, context.waitMs);
      probe.send({ type: 'signal', id: 1, signal: 'SIGTERM' });
      try {
        const exit = expectExited(await awaitEnd(probe, 1, context.waitMs), 'sh after SIGTERM');
        expectEqual(exit['signal'], 'SIGTERM', 'exit.signal');
      } catch (error) {
        fail(`${(error as Error).message} (did SIGTERM reach only the leader, not its child "sleep 30"?)`);
      }
    },
  },
  {
    id: 'timeout',
    section: '4',
    title: 'timeoutMs ends the process group: exit has timedOut true, code null and the signal',
    async run(context) {
      await context.requireTools();
      const probe = await context.ready();
      const outcome = await runCommand(probe, 1, { argv: ['sleep', '30'], timeoutMs: 300 }, context.waitMs);
      const exit = expectExited(outcome, 'sleep 30 with timeoutMs 300');
      if (
        exit['timedOut'] !== true ||
        exit['code'] !== null ||
        !['SIGTERM', 'SIGKILL'].includes(String(exit['signal']))
      ) {
        fail(`expected timedOut true, code null, signal SIGTERM or SIGKILL; got ${show(exit)}`);
      }
    },
  },
];

/** A connection running `sleep 30` as id 1, started. */
async function sleeping(context: ServerContext, options: { stdin?: boolean }): Promise<Probe> {
  const probe = await context.ready();
  probe.send({ type: 'exec', id: 1, argv: ['sleep', '30'], ...(options.stdin ? { stdin: true } : {}) });
  const first = await probe.next({ id: 1 }, context.waitMs);
  if (first.header.type !== 'started') fail(`exec of sleep 30 got ${show(first.header)}, not started`);
  return probe;
}
