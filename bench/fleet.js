// Many small commands from many client processes: 50 separate client processes at once
// (bench/fleet-client.js), each on its own connection, each running 20 `sh -c 'echo
// TOKEN'` one after another and checking every output, as real clients compete with
// rexecd for the cores. Commands per second from "go" to the last client's end.
// Reference, interleaved round by round: Node's parallel spawn floor, the same 50 × 20
// spawn('sh', ['-c', 'echo TOKEN']) loops in one small plain Node process. A line per
// Node version gives that version's sequential spawn floor (the libuv of the running
// Node decides how a spawn is made: fork, or posix_spawn in libuv after 1.52).
import { join } from 'node:path';
import { NODE, REPO, readLine, runToEnd, start, startRexecd, stop, withTimeout } from './processes.js';
import { percentile, summary } from './stats.js';
import { ratioTarget } from './table.js';

async function fleetRound(rexecd, clients, each, tag) {
  const workers = Array.from({ length: clients }, (_, c) =>
    start(NODE, [join(REPO, 'bench/fleet-client.js'), String(rexecd.port), rexecd.key, String(each), `${tag}-${c}`], {
      stdio: ['pipe', 'pipe', 'pipe'],
    }),
  );
  try {
    // Every client has started Node and connected before the clock starts.
    await Promise.all(workers.map((w, c) => readLine(w, w.stdout, /^ready$/, 120_000, `fleet client ${c}`)));
    const stderrs = workers.map((w) => {
      const box = { text: '' };
      w.stderr.on('data', (chunk) => {
        if (box.text.length < 2000) box.text += chunk;
      });
      return box;
    });
    const results = workers.map(
      (w) =>
        new Promise((resolve) => {
          let text = '';
          w.stdout.on('data', (chunk) => (text += chunk));
          w.exited.then(() => resolve(text));
        }),
    );
    const begin = performance.now();
    for (const w of workers) w.stdin.write('go\n');
    const outputs = await withTimeout(Promise.all(results), 300_000, 'fleet clients to finish');
    const elapsedMs = performance.now() - begin;
    const samples = [];
    const firstErrors = [];
    let errors = 0;
    let checked = 0;
    for (const [c, text] of outputs.entries()) {
      const line = text.split('\n').find((l) => l.startsWith('{'));
      if (line === undefined) {
        errors += each;
        firstErrors.push(
          `client ${c} printed no result: ${stderrs[c].text.trim().split('\n').slice(-2).join(' / ').slice(0, 300)}`,
        );
        continue;
      }
      const r = JSON.parse(line);
      samples.push(...r.samples);
      checked += r.samples.length;
      errors += r.errors;
      firstErrors.push(...r.firstErrors);
    }
    return {
      cps: checked / (elapsedMs / 1000),
      p50: percentile(samples, 0.5),
      p99: percentile(samples, 0.99),
      errors,
      checked,
      firstErrors,
      elapsedMs,
    };
  } finally {
    await Promise.all(workers.map((w) => stop(w)));
  }
}

async function floorRound(clients, each) {
  const args = [
    join(REPO, 'bench/spawn-floor.js'),
    'concurrency',
    '--shell',
    '--clients',
    String(clients),
    '--each',
    String(each),
    '--warmup',
    '1',
  ];
  const result = await runToEnd(NODE, args, 180_000, 'spawn floor (fleet)');
  if (result.code !== 0) throw new Error(`spawn-floor.js exited with ${result.code}: ${result.stderr.trim()}`);
  const r = JSON.parse(result.stdout);
  return { cps: (r.commands - r.errors) / (r.elapsedMs / 1000), errors: r.errors };
}

// The sequential spawn floor of `node` (a path, or a version from the npm registry's
// `node` package when it is in npm's cache: nothing is downloaded here).
async function spawnFloor(label, command, args) {
  const result = await runToEnd(
    command,
    [...args, join(REPO, 'bench/spawn-floor.js'), 'latency', '--count', '300', '--warmup', '30'],
    120_000,
    `spawn floor ${label}`,
  );
  if (result.code !== 0) return undefined;
  const samples = JSON.parse(result.stdout.split('\n').find((l) => l.startsWith('{'))).samples;
  return summary(samples);
}

async function otherNode(version) {
  const probe = await runToEnd(
    'npx',
    ['--offline', '-y', '-p', `node@${version}`, '--', 'node', '-p', 'process.version + " uv " + process.versions.uv'],
    60_000,
    `node@${version}`,
  );
  return probe.code === 0 ? probe.stdout.trim() : undefined;
}

export async function run(ctx) {
  const clients = ctx.quick ? 10 : 50;
  const each = ctx.quick ? 5 : 20;
  const rounds = ctx.quick ? 1 : 3;
  const notes = [];
  const perRound = { rexec: [], floor: [] };
  let rexecd;
  try {
    // Logs at warn: a line per command on stderr is the operator's choice (--log-level).
    rexecd = await startRexecd(['--max-connections', String(clients * 2 + 50), '--log-level', 'warn']);
    for (let round = 0; round < rounds; round++) {
      if (ctx.outOfTime()) {
        notes.push(`stopped after ${round} rounds: time budget reached`);
        break;
      }
      const rexec = await fleetRound(rexecd, clients, each, `r${round}`);
      const floor = await floorRound(clients, each);
      perRound.rexec.push(rexec);
      perRound.floor.push(floor);
      ctx.log(
        `round ${round + 1}/${rounds}: rexec ${rexec.cps.toFixed(0)} cmd/s errors ${rexec.errors}; floor ${floor.cps.toFixed(0)} cmd/s errors ${floor.errors}`,
      );
      for (const e of rexec.firstErrors.slice(0, 3)) notes.push(`round ${round + 1} rexec error: ${e}`);
    }
  } finally {
    await rexecd?.stop();
  }
  const pick = (name, key) => summary(perRound[name].map((r) => r[key]));
  const cps = pick('rexec', 'cps');
  const floorCps = pick('floor', 'cps');
  const errors = perRound.rexec.reduce((n, r) => n + r.errors, 0);
  const checked = perRound.rexec.reduce((n, r) => n + r.checked, 0);
  const measure = `${clients} client processes × ${each} sh -c echo`;
  const floorLabel = `spawn('sh -c echo') floor, ${clients} loops`;
  const rows = [
    {
      bench: 'fleet',
      measure,
      unit: 'cmd/s',
      value: cps,
      ref: { label: floorLabel, value: floorCps },
      target: ratioTarget('≥ 0.8 × floor', cps.median, floorCps.median, { atLeast: 0.8 }),
    },
    { bench: 'fleet', measure: `${measure}, p99 per command`, unit: 'ms', value: pick('rexec', 'p99') },
    {
      bench: 'fleet',
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
  // The spawn floor per Node version: this Node, and newer ones when npm has them cached.
  const versions = [{ label: `${process.version} uv ${process.versions.uv}`, command: NODE, args: [] }];
  for (const version of ctx.quick ? [] : ['24']) {
    const label = await otherNode(version);
    if (label === undefined)
      notes.push(
        `node@${version} is not in npm's cache: no spawn floor for it (npx -p node@${version} -- node -v fetches it)`,
      );
    else versions.push({ label, command: 'npx', args: ['--offline', '-y', '-p', `node@${version}`, '--', 'node'] });
  }
  for (const { label, command, args } of versions) {
    const floor = await spawnFloor(label, command, args);
    if (floor !== undefined)
      rows.push({ bench: 'fleet', measure: `spawn floor, node ${label}`, unit: 'ms', value: floor });
  }
  return { rows, notes, data: { clients, each, rounds, perRound } };
}
