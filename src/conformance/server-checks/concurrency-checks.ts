// Section 4 and 8, many requests on one connection: commands run at once with their
// frames kept apart, ids are free again after exit, and the limit announced in hello
// gives BUSY (after DUPLICATE_ID in precedence).
import { expectEqual, fail, show, skip } from '../check.js';
import type { Check } from '../check.js';
import { awaitEnd, expectError, expectExited, runCommand } from '../replies.js';
import type { Probe } from '../probe.js';
import type { ServerContext } from '../server-context.js';

/** The BUSY checks start this many processes at most. */
export const BUSY_CHECK_MAX_CONCURRENT = 16;

/** The checks of requests running side by side. */
export const CONCURRENCY_CHECKS: ReadonlyArray<Check<ServerContext>> = [
  {
    id: 'multiplexing',
    section: '4',
    title: 'commands run at once on one connection, each id with exactly its own output',
    async run(context) {
      await context.requireTools();
      if (context.hello.limits.maxConcurrent < 2) skip('hello.limits.maxConcurrent is 1: nothing can run at once');
      const probe = await context.ready();
      // id 1 waits for its stdin: id 2 can only finish first if both run at once.
      probe.send({ type: 'exec', id: 1, argv: ['cat'], stdin: true });
      probe.send({ type: 'stdin', id: 1 }, Buffer.from('one,'));
      const second = await runCommand(probe, 2, { argv: ['sh', '-c', 'printf two; printf owt >&2'] }, context.waitMs);
      expectExited(second, 'id 2 while id 1 runs');
      probe.send({ type: 'stdin', id: 1, eof: true }, Buffer.from('done'));
      const first = await awaitEnd(probe, 1, context.waitMs);
      expectExited(first, 'id 1');
      expectEqual(
        [first.stdout.toString(), first.stderr.toString(), second.stdout.toString(), second.stderr.toString()],
        ['one,done', '', 'two', 'owt'],
        'output of ids 1 and 2 (stdout, stderr each)',
      );
    },
  },
  {
    id: 'id-reuse-after-exit',
    section: '4',
    title: 'an id is free again once its exit has been sent',
    async run(context) {
      await context.requireTools();
      const probe = await context.ready();
      for (const word of ['first', 'second']) {
        const outcome = await runCommand(probe, 5, { argv: ['printf', word] }, context.waitMs);
        expectExited(outcome, `the ${word} exec with id 5`);
        expectEqual(outcome.stdout.toString(), word, `output of the ${word} exec with id 5`);
      }
    },
  },
  {
    id: 'busy',
    section: '8',
    title: 'one exec over hello.limits.maxConcurrent is BUSY; the others are unharmed',
    async run(context) {
      const { probe } = await fill(context);
      probe.send({ type: 'exec', id: 1000, argv: ['true'] });
      await expectError(probe, 'BUSY', context.waitMs, 1000);
      probe.send({ type: 'signal', id: 1, signal: 'SIGKILL' });
      const exit = expectExited(await awaitEnd(probe, 1, context.waitMs), 'a running sleep after BUSY');
      expectEqual(exit['signal'], 'SIGKILL', 'its exit.signal');
    },
  },
  {
    id: 'precedence-duplicate-over-busy',
    section: '8',
    title: 'DUPLICATE_ID wins over BUSY (a running id on a full connection)',
    async run(context) {
      const { probe } = await fill(context);
      probe.send({ type: 'exec', id: 1, argv: ['true'] });
      await expectError(probe, 'DUPLICATE_ID', context.waitMs, 1);
    },
  },
];

/** A connection running maxConcurrent `sleep 30`s as ids 1..max. */
async function fill(context: ServerContext): Promise<{ probe: Probe; max: number }> {
  await context.requireTools();
  const max = context.hello.limits.maxConcurrent;
  if (max > BUSY_CHECK_MAX_CONCURRENT) {
    skip(
      `hello.limits.maxConcurrent is ${max}; this check starts at most ${BUSY_CHECK_MAX_CONCURRENT} processes (run the server with a lower limit)`,
    );
  }
  const probe = await context.ready();
  for (let id = 1; id <= max; id += 1) probe.send({ type: 'exec', id, argv: ['sleep', '30'] });
  for (let id = 1; id <= max; id += 1) {
    const first = await probe.next({ id }, context.waitMs);
    if (first.header.type !== 'started') fail(`exec ${id} of ${max} (within the limit) got ${show(first.header)}`);
  }
  return { probe, max };
}
