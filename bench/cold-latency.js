// 3. Cold latency: `node bin/rexec.js run -- true` as a whole process (start-up,
// connect, auth, exec, exit), against `node -e 0` (Node's own start-up) and
// `ssh 127.0.0.1 true` (the bench's sshd). Spawn to exit, as seen by the bench;
// the three are interleaved in every round.
import { join } from 'node:path';
import { NODE, REPO, runToEnd, startRexecd } from './processes.js';
import { startSshd } from './sshd.js';
import { summary } from './stats.js';
import { ratioTarget } from './table.js';

async function timed(command, args, what) {
  const result = await runToEnd(command, args, 20_000, what);
  if (result.code !== 0) {
    throw new Error(
      `${what} exited with ${result.code}/${result.signal}: ${result.stderr.trim() || result.stdout.trim()}`,
    );
  }
  return result.ms;
}

export async function run(ctx) {
  const rounds = ctx.quick ? 5 : 30;
  const warmups = ctx.quick ? 1 : 3;
  const notes = [];
  const samples = { rexec: [], node: [], ssh: [] };
  let rexecd;
  let sshd;
  try {
    rexecd = await startRexecd();
    sshd = await startSshd(ctx.log);
    if (sshd.skipped) {
      notes.push(sshd.skipped);
      ctx.log(sshd.skipped);
    }
    const rexecArgs = [
      join(REPO, 'bin/rexec.js'),
      'run',
      '-p',
      String(rexecd.port),
      '-k',
      rexecd.keyFile,
      '--',
      'true',
    ];
    const variants = [
      ['node', () => timed(NODE, ['-e', '0'], 'node -e 0')],
      ['rexec', () => timed(NODE, rexecArgs, 'rexec run -- true')],
      ...(sshd.skipped ? [] : [['ssh', () => timed('ssh', sshd.sshArgs('true'), 'ssh true')]]),
    ];
    for (let round = -warmups; round < rounds; round++) {
      if (ctx.outOfTime()) {
        notes.push(`stopped after ${round} rounds: time budget reached`);
        break;
      }
      const line = [];
      for (const [name, once] of variants) {
        const ms = await once();
        if (round >= 0) samples[name].push(ms);
        line.push(`${name} ${ms.toFixed(1)} ms`);
      }
      if (round < 0 || (round + 1) % 10 === 0)
        ctx.log(`${round < 0 ? 'warm-up' : `round ${round + 1}/${rounds}`}: ${line.join(', ')}`);
    }
  } finally {
    await rexecd?.stop();
    await sshd?.stop?.();
  }
  const rexec = summary(samples.rexec);
  const node = summary(samples.node);
  const ssh = summary(samples.ssh);
  const overhead = rexec.median - node.median;
  const rows = [
    {
      bench: 'cold latency',
      measure: 'rexec run -- true (process)',
      unit: 'ms',
      value: rexec,
      ref: { label: 'node -e 0', value: node },
      target: { text: '≤ node -e 0 + 40 ms', achieved: `+${overhead.toFixed(0)} ms`, ok: overhead <= 40 },
    },
    {
      bench: 'cold latency',
      measure: 'rexec run -- true (process)',
      unit: 'ms',
      value: rexec,
      ref: { label: 'ssh 127.0.0.1 true', value: ssh },
      target: sshd.skipped
        ? { text: '< 0.25 × ssh', achieved: 'skipped', ok: undefined }
        : ratioTarget('< 0.25 × ssh', rexec.median, ssh.median, { atMost: 0.25 }),
    },
  ];
  return { rows, notes, data: { rounds, warmups, samples } };
}
