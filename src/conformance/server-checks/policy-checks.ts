// Section 4, what the server decides: shell commands where hello.shell allows them,
// and the working directory (inside the root, or DENIED; missing, SPAWN_FAILED).
import { randomBytes } from 'node:crypto';
import { expectEqual, fail, show, skip } from '../check.js';
import type { Check } from '../check.js';
import { expectError, expectExited, expectStillOpen, runCommand } from '../replies.js';
import type { ServerContext } from '../server-context.js';

/** The checks of the server's policy decisions. */
export const POLICY_CHECKS: ReadonlyArray<Check<ServerContext>> = [
  {
    id: 'shell-command',
    section: '4',
    title: 'a command request runs with /bin/sh -c where hello.shell is true',
    async run(context) {
      if (!context.hello.shell) skip('the server does not allow shell commands (hello.shell is false)');
      const probe = await context.ready();
      const outcome = await runCommand(probe, 1, { command: 'printf %s $((6 * 7)) | cat' }, context.waitMs);
      expectExited(outcome, 'the shell command');
      expectEqual(outcome.stdout.toString(), '42', 'its output');
    },
  },
  {
    id: 'cwd-outside-root',
    section: '4',
    title: "a cwd outside the server's root is DENIED",
    async run(context) {
      await context.requireTools();
      const probe = await context.ready();
      const root = (await runCommand(probe, 1, { argv: ['sh', '-c', 'pwd -P'] }, context.waitMs)).stdout
        .toString()
        .trim();
      if (root === '/' || root === '') skip(`the server's root is "${root || '?'}": nothing lies outside it`);
      probe.send({ type: 'exec', id: 2, argv: ['true'], cwd: '/' });
      await expectError(probe, 'DENIED', context.waitMs, 2);
      await expectStillOpen(probe, context.waitMs, 'after DENIED');
    },
  },
  {
    id: 'cwd-missing',
    section: '4',
    title: 'a cwd inside the root that does not exist is SPAWN_FAILED',
    async run(context) {
      await context.requireTools();
      const probe = await context.ready();
      const missing = `rexec-conformance-missing-${randomBytes(6).toString('hex')}`;
      probe.send({ type: 'exec', id: 1, argv: ['true'], cwd: missing });
      const reply = (await probe.next({ id: 1 }, context.waitMs)).header;
      if (reply.type !== 'error' || reply['code'] !== 'SPAWN_FAILED') {
        fail(`exec with cwd "${missing}" (relative, missing) got ${show(reply)}, expected error SPAWN_FAILED`);
      }
      await expectStillOpen(probe, context.waitMs, 'after SPAWN_FAILED');
    },
  },
];
