// Section 4, running commands: the frame sequence and byte totals, argv without a
// shell, binary and large output, exit only after both pipes end, the pid, the clean
// environment and merge. Commands are standard POSIX tools.
import { MAX_BODY_LENGTH } from '../../protocol/constants.js';
import { sameBytes } from '../bytes.js';
import { expectEqual, fail, show } from '../check.js';
import type { Check } from '../check.js';
import { expectExited, expectUncapped, runCommand } from '../replies.js';
import type { CommandOutcome } from '../replies.js';
import type { ServerContext } from '../server-context.js';

/** The checks of section 4 about one command's frames and process. */
export const EXEC_CHECKS: ReadonlyArray<Check<ServerContext>> = [
  {
    id: 'exec-sequence',
    section: '4',
    title: 'started, then stdout/stderr, then exactly one exit with code and byte totals; nothing after',
    async run(context) {
      await context.requireTools();
      const probe = await context.ready();
      const outcome = await runCommand(
        probe,
        1,
        { argv: ['sh', '-c', 'printf out1; printf err >&2; printf out2; exit 3'] },
        context.waitMs,
      );
      const exit = expectExited(outcome, 'sh -c ...');
      if (outcome.types[0] !== 'started') fail(`the first frame for the id is ${show(outcome.types[0])}, not started`);
      const pid = outcome.started?.['pid'];
      if (!Number.isInteger(pid) || (pid as number) < 1) fail(`started.pid is ${show(pid)}`);
      checkExitShape(exit);
      expectEqual(
        [
          outcome.stdout.toString(),
          outcome.stderr.toString(),
          exit['code'],
          exit['signal'],
          exit['timedOut'],
          exit['truncated'],
        ],
        ['out1out2', 'err', 3, null, false, false],
        'stdout, stderr, code, signal, timedOut, truncated',
      );
      checkTotals(outcome);
      // Anything for the id after its exit would arrive before the pong of a later ping.
      probe.send({ type: 'ping', ts: 'after-exit' });
      await probe.next({ type: 'pong' }, context.waitMs);
      const afterExit = probe.received({ id: 1 }).slice(outcome.types.indexOf('exit') + 1);
      if (afterExit.length > 0)
        fail(`frames for the id after its exit: ${show(afterExit.map((frame) => frame.header))}`);
    },
  },
  {
    id: 'exec-argv-no-shell',
    section: '4',
    title: 'argv runs without a shell: nothing in it is expanded',
    async run(context) {
      await context.requireTools();
      const probe = await context.ready();
      const outcome = await runCommand(
        probe,
        1,
        { argv: ['printf', '%s|', '$HOME', '*', ';', '`id`'] },
        context.waitMs,
      );
      expectExited(outcome, 'printf');
      expectEqual(outcome.stdout.toString(), '$HOME|*|;|`id`|', 'stdout');
    },
  },
  {
    id: 'binary-output',
    section: '4',
    title: 'output bytes pass through exactly: all 256 byte values, on stdout and stderr',
    async run(context) {
      await context.requireTools();
      const probe = await context.ready();
      const octal = Array.from({ length: 256 }, (_, byte) => `\\${byte.toString(8).padStart(3, '0')}`).join('');
      const outcome = await runCommand(
        probe,
        1,
        { argv: ['sh', '-c', `printf '${octal}'; printf '${octal}' >&2`] },
        context.waitMs,
      );
      expectExited(outcome, 'printf of every byte');
      const all = Buffer.from(Array.from({ length: 256 }, (_, byte) => byte));
      sameBytes(outcome.stdout, all, 'stdout');
      sameBytes(outcome.stderr, all, 'stderr');
      checkTotals(outcome);
    },
  },
  {
    id: 'large-output',
    section: '4',
    title: 'output of several MiB arrives whole, in bodies of 1 byte to 1 MiB, matching stdoutBytes',
    async run(context) {
      await context.requireTools();
      const probe = await context.ready();
      const size = 3 * MAX_BODY_LENGTH + 12_345;
      const outcome = await runCommand(
        probe,
        1,
        { argv: ['sh', '-c', `yes 0123456789abcde | head -c ${size}`] },
        context.waitMs * 2,
      );
      expectUncapped(outcome, 'yes | head');
      sameBytes(outcome.stdout, Buffer.from('0123456789abcde\n'.repeat(Math.ceil(size / 16)).slice(0, size)), 'stdout');
      const sizes = outcome.frames.filter((frame) => frame.header.type === 'stdout').map((frame) => frame.size);
      const bad = sizes.filter((n) => n < 1 || n > MAX_BODY_LENGTH);
      if (bad.length > 0) fail(`stdout bodies must hold 1 ... 1048576 bytes; got sizes ${show(bad)}`);
      checkTotals(outcome);
    },
  },
  {
    id: 'exit-after-output-ends',
    section: '4',
    title: 'exit comes only once stdout and stderr have reached end of file (a background child keeps them open)',
    async run(context) {
      await context.requireTools();
      const probe = await context.ready();
      const outcome = await runCommand(
        probe,
        1,
        { argv: ['sh', '-c', '(sleep 0.3; printf late) & printf early'] },
        context.waitMs,
      );
      expectExited(outcome, 'sh -c ...');
      expectEqual(outcome.stdout.toString(), 'earlylate', 'stdout before the exit');
    },
  },
  {
    id: 'started-pid',
    section: '4',
    title: "started.pid is the process's pid, and it leads its own process group and session",
    async run(context) {
      await context.requireTools();
      const probe = await context.ready();
      const script = 'echo $$; if [ -r /proc/$$/stat ]; then sed "s/^.*) //" /proc/$$/stat | cut -d" " -f3,4; fi';
      const outcome = await runCommand(probe, 1, { argv: ['sh', '-c', script] }, context.waitMs);
      expectExited(outcome, 'sh -c "echo $$"');
      const [pid, groupAndSession] = outcome.stdout.toString().trim().split('\n');
      const started = outcome.started?.['pid'];
      if (Number(pid) !== started) fail(`the process says its pid is ${show(pid)}, started.pid is ${show(started)}`);
      if (groupAndSession !== undefined && groupAndSession !== `${pid} ${pid}`) {
        fail(`process group and session are "${groupAndSession}" (from /proc), expected "${pid} ${pid}"`);
      }
    },
  },
  {
    id: 'clean-environment',
    section: '4',
    title:
      "the environment is PATH, HOME, LANG, USER, LOGNAME, SHELL and the request's env, nothing of the server's own",
    async run(context) {
      await context.requireTools();
      const probe = await context.ready();
      const outcome = await runCommand(
        probe,
        1,
        { argv: ['env'], env: { REXEC_CONFORMANCE: 'a b=c' } },
        context.waitMs,
      );
      expectExited(outcome, 'env');
      const lines = outcome.stdout
        .toString()
        .split('\n')
        .filter((line) => line !== '');
      const names = lines.map((line) => line.slice(0, line.indexOf('=')));
      const base = ['PATH', 'HOME', 'LANG', 'USER', 'LOGNAME', 'SHELL'];
      const extra = names.filter((name) => ![...base, 'REXEC_CONFORMANCE'].includes(name));
      // TERM belongs to commands on a terminal only; this one has none.
      if (extra.length > 0) fail(`variables beyond ${base.join(', ')} and the request's: ${extra.join(', ')}`);
      if (!lines.includes('REXEC_CONFORMANCE=a b=c')) fail(`the request's env is missing: ${show(lines)}`);
      // USER, LOGNAME and SHELL since revision 2026-12 of the contract.
      const missing = base.filter((name) => name !== 'LANG' && !names.includes(name));
      if (missing.length > 0) fail(`${missing.join(', ')} missing: ${show(lines)}`);
      const value = (name: string): string | undefined =>
        lines.find((line) => line.startsWith(`${name}=`))?.slice(name.length + 1);
      if (value('USER') !== value('LOGNAME')) fail(`USER and LOGNAME name different accounts: ${show(lines)}`);
    },
  },
  {
    id: 'merge',
    section: '4',
    title: 'merge sends stderr through stdout in the order written; no stderr frames',
    async run(context) {
      await context.requireTools();
      const probe = await context.ready();
      const outcome = await runCommand(
        probe,
        1,
        { argv: ['sh', '-c', 'printf a; printf b >&2; printf c; printf d >&2'], merge: true },
        context.waitMs,
      );
      const exit = expectExited(outcome, 'a merged command');
      expectEqual(
        [outcome.stdout.toString(), outcome.stderr.length, exit['stderrBytes']],
        ['abcd', 0, 0],
        'stdout, stderr bytes, exit.stderrBytes',
      );
    },
  },
];

/** Fails unless the exit frame has every member of section 4 with the right type. */
export function checkExitShape(exit: Readonly<Record<string, unknown>>): void {
  const problems: string[] = [];
  const { code, signal } = exit;
  if (!(code === null || Number.isInteger(code))) problems.push('code is not an integer or null');
  if (!(signal === null || typeof signal === 'string')) problems.push('signal is not a name or null');
  for (const name of ['timedOut', 'truncated'])
    if (typeof exit[name] !== 'boolean') problems.push(`${name} is not a boolean`);
  for (const name of ['stdoutBytes', 'stderrBytes', 'durationMs']) {
    if (!Number.isInteger(exit[name]) || (exit[name] as number) < 0)
      problems.push(`${name} is not a non-negative integer`);
  }
  if (problems.length > 0) fail(`${problems.join('; ')} in ${show(exit)}`);
}

/** Fails unless exit.stdoutBytes/stderrBytes are the bytes that arrived. */
export function checkTotals(outcome: CommandOutcome): void {
  const exit: Readonly<Record<string, unknown>> = outcome.exit ?? {};
  if (exit['stdoutBytes'] !== outcome.stdoutSize || exit['stderrBytes'] !== outcome.stderrSize) {
    fail(
      `exit says stdoutBytes ${show(exit['stdoutBytes'])}, stderrBytes ${show(exit['stderrBytes'])}; ` +
        `${outcome.stdoutSize} and ${outcome.stderrSize} bytes arrived`,
    );
  }
}
