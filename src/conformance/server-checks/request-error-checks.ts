// Section 8, request-level errors: each gets its code (with the request's id when it
// has a valid one) and leaves the connection open.
import { fail, show, skip } from '../check.js';
import type { Check } from '../check.js';
import { expectError, expectStillOpen } from '../replies.js';
import type { ServerContext } from '../server-context.js';

interface BadRequest {
  readonly id: string;
  readonly title: string;
  readonly header: Readonly<Record<string, unknown>>;
  /** The id the error must carry, or null for none. */
  readonly errorId: number | null;
}

const BAD_REQUESTS: readonly BadRequest[] = [
  { id: 'empty-argv', title: 'an empty argv', header: { type: 'exec', id: 4, argv: [] }, errorId: 4 },
  {
    id: 'argv-and-command',
    title: 'both argv and command',
    header: { type: 'exec', id: 4, argv: ['true'], command: 'true' },
    errorId: 4,
  },
  { id: 'no-argv-or-command', title: 'neither argv nor command', header: { type: 'exec', id: 4 }, errorId: 4 },
  {
    id: 'timeout-zero',
    title: 'timeoutMs 0',
    header: { type: 'exec', id: 4, argv: ['true'], timeoutMs: 0 },
    errorId: 4,
  },
  {
    id: 'id-zero',
    title: 'id 0 (no valid id: the error has none)',
    header: { type: 'exec', id: 0, argv: ['true'] },
    errorId: null,
  },
  {
    id: 'id-too-large',
    title: 'id 2^31 (no valid id: the error has none)',
    header: { type: 'exec', id: 2147483648, argv: ['true'] },
    errorId: null,
  },
  { id: 'id-missing', title: 'an exec without id', header: { type: 'exec', argv: ['true'] }, errorId: null },
  {
    id: 'unknown-signal',
    title: 'an unknown signal name',
    header: { type: 'signal', id: 4, signal: 'SIGWINCH' },
    errorId: 4,
  },
];

/** The checks of section 8 for non-fatal request errors. */
export const REQUEST_ERROR_CHECKS: ReadonlyArray<Check<ServerContext>> = [
  {
    id: 'unsupported-type',
    section: '8',
    title: 'an unknown frame type gets UNSUPPORTED and the connection stays open',
    async run(context) {
      const probe = await context.ready();
      probe.send({ type: 'x-conformance-unknown', id: 1 });
      await expectError(probe, 'UNSUPPORTED', context.waitMs);
      await expectStillOpen(probe, context.waitMs, 'after UNSUPPORTED');
    },
  },
  ...BAD_REQUESTS.map((entry): Check<ServerContext> => ({
    id: `bad-request-${entry.id}`,
    section: '8',
    title: `${entry.title} is BAD_REQUEST and the connection stays open`,
    async run(context) {
      const probe = await context.ready();
      probe.send(entry.header);
      await expectError(probe, 'BAD_REQUEST', context.waitMs, entry.errorId);
      await expectStillOpen(probe, context.waitMs, 'after BAD_REQUEST');
    },
  })),
  {
    id: 'unknown-id',
    section: '8',
    title: 'signal and stdin for an id that is not running get UNKNOWN_ID (or are ignored); the connection stays open',
    async run(context) {
      const probe = await context.ready();
      probe.send({ type: 'signal', id: 99, signal: 'SIGTERM' });
      probe.send({ type: 'stdin', id: 98 }, Buffer.from('x'));
      await expectStillOpen(probe, context.waitMs, 'after signal and stdin for ids not running');
      for (const frame of probe.received({ type: 'error' })) {
        if (frame.header['code'] !== 'UNKNOWN_ID') {
          fail(`expected UNKNOWN_ID or nothing, got ${show(frame.header)}`);
        }
      }
    },
  },
  {
    id: 'not-found',
    section: '8',
    title: 'a program that does not exist gets NOT_FOUND with the id, and no started or exit',
    async run(context) {
      const probe = await context.ready();
      probe.send({ type: 'exec', id: 3, argv: ['rexec-conformance-no-such-program'] });
      await expectError(probe, 'NOT_FOUND', context.waitMs, 3);
      await expectStillOpen(probe, context.waitMs, 'after NOT_FOUND');
      const others = probe.received({ id: 3 }).filter((frame) => frame.header.type !== 'error');
      if (others.length > 0) fail(`frames besides the error for the id: ${show(others.map((frame) => frame.header))}`);
    },
  },
  {
    id: 'duplicate-id',
    section: '8',
    title: 'an exec with the id of a running request is DUPLICATE_ID; the running one is unharmed',
    async run(context) {
      await context.requireTools();
      const probe = await context.ready();
      probe.send({ type: 'exec', id: 7, argv: ['cat'], stdin: true });
      await probe.next({ type: 'started', id: 7 }, context.waitMs);
      probe.send({ type: 'exec', id: 7, argv: ['true'] });
      await expectError(probe, 'DUPLICATE_ID', context.waitMs, 7);
      probe.send({ type: 'stdin', id: 7, eof: true }, Buffer.from('still here'));
      const output = await probe.next({ type: 'stdout', id: 7 }, context.waitMs);
      if (!output.body.toString().startsWith('still'))
        fail(`the first request's output is ${show(output.body.toString())}`);
    },
  },
  {
    id: 'precedence-bad-request',
    section: '8',
    title: 'BAD_REQUEST wins over DUPLICATE_ID (an empty argv under a running id)',
    async run(context) {
      await context.requireTools();
      const probe = await context.ready();
      probe.send({ type: 'exec', id: 7, argv: ['sleep', '30'] });
      await probe.next({ type: 'started', id: 7 }, context.waitMs);
      probe.send({ type: 'exec', id: 7, argv: [] });
      await expectError(probe, 'BAD_REQUEST', context.waitMs, 7);
    },
  },
  {
    id: 'command-needs-shell',
    section: '4',
    title: 'a command request to a server without a shell is DENIED',
    async run(context) {
      if (context.hello.shell) skip('the server allows shell commands (hello.shell is true)');
      const probe = await context.ready();
      probe.send({ type: 'exec', id: 2, command: 'true' });
      await expectError(probe, 'DENIED', context.waitMs, 2);
      await expectStillOpen(probe, context.waitMs, 'after DENIED');
    },
  },
];
