// 4. Concurrency: 200 clients at once, each on its own authenticated connection,
// each running 20 `echo <unique token>` one after another; every output is checked
// against its token. Commands per second (all commands / time from the first exec to
// the last exit, connections already open), p99 per command, errors. Reference,
// interleaved round by round: the same 200 × 20 spawn('echo', [token]) loops in a
// small plain Node process (bench/spawn-floor.js).
import { join } from 'node:path';
import { connect } from '../dist/index.js';
import { NODE, REPO, runToEnd, startRexecd, withTimeout } from './processes.js';
import { percentile, summary } from './stats.js';
import { ratioTarget } from './table.js';

const EXEC_TIMEOUT_MS = 30_000;

async function echo(client, token) {
  const proc = client.exec({ argv: ['echo', token] });
  let out = '';
  proc.stdout.setEncoding('utf8');
  proc.stdout.on('data', (c) => (out += c));
  proc.stderr.resume();
  const exit = await withTimeout(proc.exit, EXEC_TIMEOUT_MS, `echo ${token}`);
  if (exit.code !== 0) throw new Error(`echo ${token} exited with ${exit.code}/${exit.signal}`);
  if (out !== `${token}\n`) throw new Error(`echo ${token}: wrong output ${JSON.stringify(out.slice(0, 80))}`);
}

async function connectAll(rexecd, clients) {
  const settled = await withTimeout(
    Promise.allSettled(
      Array.from({ length: clients }, () =>
        connect({ host: '127.0.0.1', port: rexecd.port, key: rexecd.key, connectTimeoutMs: 30_000 }),
      ),
    ),
    60_000,
    `opening ${clients} connections`,
  );
  const open = settled.filter((s) => s.status === 'fulfilled').map((s) => s.value);
  const failures = settled.filter((s) => s.status === 'rejected').map((s) => String(s.reason?.message ?? s.reason));
  return { open, failures };
}

async function rexecRound(rexecd, clients, each, tag) {
  const connectStart = performance.now();
  const { open, failures } = await connectAll(rexecd, clients);
  const connectMs = performance.now() - connectStart;
  const samples = [];
  const errors = [...failures];
  let checked = 0;
  const start = performance.now();
  try {
    await Promise.all(
      open.map(async (client, c) => {
        for (let j = 0; j < each; j++) {
          const token = `${tag}-${c}-${j}-${Math.random().toString(36).slice(2, 10)}`;
          const t = performance.now();
          try {
            await echo(client, token);
            samples.push(performance.now() - t);
            checked += 1;
          } catch (error) {
            errors.push(String(error.message));
            if (client.isClosed) break;
          }
        }
      }),
    );
  } finally {
    await Promise.allSettled(open.map((client) => withTimeout(client.close(), 10_000, 'close')));
  }
  const elapsedMs = performance.now() - start;
  return {
    cps: checked / (elapsedMs / 1000),
    p99: percentile(samples, 0.99),
    p50: percentile(samples, 0.5),
    errors: errors.length + (clients - open.length - failures.length),
    firstErrors: errors.slice(0, 5),
    checked,
    elapsedMs,
    connectMs,
  };
}

async function floorRound(clients, each) {
  const args = [
    join(REPO, 'bench/spawn-floor.js'),
    'concurrency',
    '--clients',
    String(clients),
    '--each',
    String(each),
    '--warmup',
    '1',
  ];
  const result = await runToEnd(NODE, args, 120_000, 'spawn floor (concurrency)');
  if (result.code !== 0) throw new Error(`spawn-floor.js exited with ${result.code}: ${result.stderr.trim()}`);
  const r = JSON.parse(result.stdout);
  return {
    cps: (r.commands - r.errors) / (r.elapsedMs / 1000),
    p99: percentile(r.samples, 0.99),
    p50: percentile(r.samples, 0.5),
    errors: r.errors,
    firstErrors: r.firstErrors,
    elapsedMs: r.elapsedMs,
  };
}

export async function run(ctx) {
  const clients = ctx.quick ? 20 : 200;
  const each = ctx.quick ? 5 : 20;
  const rounds = ctx.quick ? 1 : 3;
  const notes = [];
  const perRound = { rexec: [], floor: [] };
  let rexecd;
  try {
    rexecd = await startRexecd(['--max-connections', String(clients + 50)]);
    const warm = await rexecRound(rexecd, Math.min(clients, 20), Math.min(each, 5), 'warm');
    ctx.log(`warm-up: ${warm.checked} commands, ${warm.errors} errors`);
    for (let round = 0; round < rounds; round++) {
      if (ctx.outOfTime()) {
        notes.push(`stopped after ${round} rounds: time budget reached`);
        break;
      }
      const rexec = await rexecRound(rexecd, clients, each, `r${round}`);
      const floor = await floorRound(clients, each);
      perRound.rexec.push(rexec);
      perRound.floor.push(floor);
      ctx.log(
        `round ${round + 1}/${rounds}: rexec ${rexec.cps.toFixed(0)} cmd/s p99 ${rexec.p99.toFixed(1)} ms ` +
          `errors ${rexec.errors} (connect ${rexec.connectMs.toFixed(0)} ms); ` +
          `floor ${floor.cps.toFixed(0)} cmd/s p99 ${floor.p99.toFixed(1)} ms errors ${floor.errors}`,
      );
      for (const e of rexec.firstErrors) notes.push(`round ${round + 1} rexec error: ${e}`);
      for (const e of floor.firstErrors) notes.push(`round ${round + 1} floor error: ${e}`);
    }
  } finally {
    await rexecd?.stop();
  }
  const pick = (name, key) => summary(perRound[name].map((r) => r[key]));
  const cps = pick('rexec', 'cps');
  const floorCps = pick('floor', 'cps');
  const errors = perRound.rexec.reduce((n, r) => n + r.errors, 0);
  const checked = perRound.rexec.reduce((n, r) => n + r.checked, 0);
  const floorLabel = `spawn('echo') floor, ${clients} loops`;
  const measure = `${clients} clients × ${each} echo`;
  const rows = [
    {
      bench: 'concurrency',
      measure,
      unit: 'cmd/s',
      value: cps,
      ref: { label: floorLabel, value: floorCps },
      target: ratioTarget('≥ 0.8 × floor', cps.median, floorCps.median, { atLeast: 0.8 }),
    },
    {
      bench: 'concurrency',
      measure: `${measure}, p99 per command`,
      unit: 'ms',
      value: pick('rexec', 'p99'),
      ref: { label: floorLabel, value: pick('floor', 'p99') },
    },
    {
      bench: 'concurrency',
      measure: `${measure}, errors (all rounds)`,
      unit: 'count',
      value: summary([errors]),
      target: {
        text: '0 errors, outputs checked',
        achieved: `${errors} errors, ${checked} outputs OK`,
        ok: errors === 0 && perRound.rexec.length > 0,
      },
    },
  ];
  return { rows, notes, data: { clients, each, rounds, perRound } };
}
