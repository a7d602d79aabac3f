// 2. Warm latency: 2,000 sequential `exec {argv: ['true']}`, each awaited to its exit,
// on one authenticated connection: p50, p90, p99 per round. Reference, interleaved
// round by round: the bare floor, `child_process.spawn('true')` awaited to 'exit' in a
// small plain Node process (bench/spawn-floor.js), same count.
import { join } from 'node:path';
import { connect } from '../dist/index.js';
import { NODE, REPO, runToEnd, startRexecd, withTimeout } from './processes.js';
import { latencyPercentiles, summary } from './stats.js';
import { ratioTarget } from './table.js';

const EXEC_TIMEOUT_MS = 10_000;

async function execTrue(client) {
  const proc = client.exec({ argv: ['true'] });
  proc.stdout.resume();
  proc.stderr.resume();
  const exit = await withTimeout(proc.exit, EXEC_TIMEOUT_MS, 'rexec exec true');
  if (exit.code !== 0) throw new Error(`true exited with ${exit.code}/${exit.signal}`);
}

async function rexecRound(client, count, outOfTime) {
  const samples = [];
  for (let i = 0; i < count && !outOfTime(); i++) {
    const start = performance.now();
    await execTrue(client);
    samples.push(performance.now() - start);
  }
  return samples;
}

async function floorRound(count, warmup) {
  const args = [join(REPO, 'bench/spawn-floor.js'), 'latency', '--count', String(count), '--warmup', String(warmup)];
  const result = await runToEnd(NODE, args, 30_000 + count * 100, 'spawn floor (latency)');
  if (result.code !== 0) throw new Error(`spawn-floor.js exited with ${result.code}: ${result.stderr.trim()}`);
  return JSON.parse(result.stdout).samples;
}

export async function run(ctx) {
  const count = ctx.quick ? 200 : 2000;
  const rounds = ctx.quick ? 1 : 3;
  const warmup = ctx.quick ? 20 : 100;
  const notes = [];
  const perRound = { rexec: [], floor: [] };
  let rexecd;
  let client;
  try {
    rexecd = await startRexecd();
    client = await connect({ host: '127.0.0.1', port: rexecd.port, key: rexecd.key });
    await rexecRound(client, warmup, ctx.outOfTime);
    ctx.log(`warm-up: ${warmup} execs`);
    for (let round = 0; round < rounds; round++) {
      if (ctx.outOfTime()) {
        notes.push(`stopped after ${round} rounds: time budget reached`);
        break;
      }
      const rexec = latencyPercentiles(await rexecRound(client, count, ctx.outOfTime));
      if (rexec.n < count) notes.push(`round ${round + 1}: only ${rexec.n} of ${count} execs within the time budget`);
      const floor = latencyPercentiles(await floorRound(count, warmup));
      perRound.rexec.push(rexec);
      perRound.floor.push(floor);
      const show = (p) => `p50 ${p.p50.toFixed(2)} p90 ${p.p90.toFixed(2)} p99 ${p.p99.toFixed(2)} ms`;
      ctx.log(`round ${round + 1}/${rounds}: rexec ${show(rexec)}; spawn floor ${show(floor)}`);
    }
  } finally {
    await client?.close().catch(() => {});
    await rexecd?.stop();
  }
  const pick = (name, key) => summary(perRound[name].map((p) => p[key]));
  const floorLabel = "spawn('true') floor";
  const measure = (p) => `${count} × true, ${p}`;
  const p50 = pick('rexec', 'p50');
  const p99 = pick('rexec', 'p99');
  const floorP50 = pick('floor', 'p50');
  const stretch = {
    ...ratioTarget('stretch: < 1 × floor p50', p50.median, floorP50.median, { atMost: 1 }),
    stretch: true,
  };
  const rows = [
    {
      bench: 'warm latency',
      measure: measure('p50'),
      unit: 'ms',
      value: p50,
      ref: { label: floorLabel, value: floorP50 },
      target: ratioTarget('≤ 1.3 × floor p50', p50.median, floorP50.median, { atMost: 1.3 }),
    },
    {
      bench: 'warm latency',
      measure: measure('p50'),
      unit: 'ms',
      value: p50,
      ref: { label: floorLabel, value: floorP50 },
      target: stretch,
    },
    {
      bench: 'warm latency',
      measure: measure('p90'),
      unit: 'ms',
      value: pick('rexec', 'p90'),
      ref: { label: floorLabel, value: pick('floor', 'p90') },
    },
    {
      bench: 'warm latency',
      measure: measure('p99'),
      unit: 'ms',
      value: p99,
      ref: { label: floorLabel, value: pick('floor', 'p99') },
      target: ratioTarget('p99 ≤ 3 × rexec p50', p99.median, p50.median, { atMost: 3 }),
    },
  ];
  return { rows, notes, data: { count, rounds, warmup, perRound } };
}
