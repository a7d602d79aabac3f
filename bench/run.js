#!/usr/bin/env node
// rexec's benchmark suite. `npm run bench` builds, then runs this.
//
//   node bench/run.js [--only throughput,latency,...] [--quick] [--json FILE]
//
// Progress goes to stderr, the results table to stdout. Every process a benchmark
// starts is stopped when it ends, when it fails, and on Ctrl-C.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { describeMachine, machineLine } from './machine.js';
import { REPO, killAllNow, runningCount, stopAll } from './processes.js';
import { renderMarkdown, renderTable } from './table.js';
import os from 'node:os';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

const BENCHMARKS = {
  throughput: './throughput.js',
  latency: './warm-latency.js',
  cold: './cold-latency.js',
  concurrency: './concurrency.js',
  fleet: './fleet.js',
  memory: './memory.js',
  codec: './codec.js',
};
// Hard limits: each benchmark gets a time budget (its loops stop early past it), and
// the whole run is aborted, processes killed, past the watchdog.
// Typical full-run durations on the 2-core machine: throughput 45 s, latency 25 s, cold 20 s,
// concurrency 45 s, memory 75 s, codec 20 s.
const BUDGET_MS = {
  throughput: 120_000,
  latency: 90_000,
  cold: 60_000,
  concurrency: 100_000,
  fleet: 150_000,
  memory: 130_000,
  codec: 45_000,
};
const WATCHDOG_MS = 15 * 60_000;

const usage = `usage: node bench/run.js [--only ${Object.keys(BENCHMARKS).join(',')}] [--quick] [--json FILE] [--markdown FILE]

  --only LIST      run only these benchmarks (comma-separated; aliases: warm=latency)
  --quick          a fast smoke run: few rounds, small sizes (checks that the bench works)
  --json FILE      write every result, raw samples and the machine description to FILE
  --markdown FILE  also write the results table as Markdown to FILE
`;

function parse() {
  try {
    const { values } = parseArgs({
      options: {
        only: { type: 'string' },
        quick: { type: 'boolean', default: false },
        json: { type: 'string' },
        markdown: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    return values;
  } catch (error) {
    process.stderr.write(`bench: ${error.message}\n${usage}`);
    process.exit(2);
  }
}

const options = parse();
if (options.help) {
  process.stdout.write(usage);
  process.exit(0);
}
const aliases = { warm: 'latency', 'warm-latency': 'latency', 'cold-latency': 'cold', decoder: 'codec', rss: 'memory' };
const selected = options.only
  ? options.only
      .split(',')
      .map((name) => aliases[name.trim()] ?? name.trim())
      .filter(Boolean)
  : Object.keys(BENCHMARKS);
const unknown = selected.filter((name) => !(name in BENCHMARKS));
if (unknown.length > 0) {
  process.stderr.write(`bench: unknown benchmark ${unknown.join(', ')}\n${usage}`);
  process.exit(2);
}

// The bench imports the built library; the programs it starts import dist/ too.
const needed = ['dist/index.js', 'dist/protocol/frame-decoder.js', 'dist/protocol/frame-encoder.js'];
for (const bin of ['bin/rexec.js', 'bin/rexecd.js']) {
  needed.push(bin);
  const text = existsSync(join(REPO, bin)) ? readFileSync(join(REPO, bin), 'utf8') : '';
  for (const [, target] of text.matchAll(/from '\.\.\/(dist\/[^']+)'/g)) needed.push(target);
}
const missing = needed.filter((file) => !existsSync(join(REPO, file)));
if (missing.length > 0) {
  process.stderr.write(
    `bench: ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} missing: build first with \`npm run build\` ` +
      '(`npm run bench` does it for you)\n',
  );
  process.exit(2);
}

const log = (message) => process.stderr.write(`[bench] ${message}\n`);

// Other processes' CPU use, sampled each second by a small separate process.
const busySamples = [];
const windows = {};
const monitor = spawn(process.execPath, [join(REPO, 'bench/busy-monitor.js'), String(process.pid)], {
  stdio: ['ignore', 'pipe', 'ignore'],
});
monitor.on('error', () => {});
process.on('exit', () => monitor.kill('SIGKILL'));
createInterface({ input: monitor.stdout }).on('line', (line) => {
  try {
    busySamples.push(JSON.parse(line));
  } catch {
    // ignore
  }
});

/** Mean and max CPU (in cores) that other processes used during one benchmark. */
function otherLoad(name) {
  const { from, to } = windows[name];
  // A sample covers the second before its time stamp.
  const samples = busySamples.filter((s) => s.t > from + 500 && s.t <= to + 500);
  if (samples.length === 0) return undefined;
  const mean = samples.reduce((sum, s) => sum + s.cores, 0) / samples.length;
  const max = Math.max(...samples.map((s) => s.cores));
  const names = new Map();
  for (const s of samples) for (const [n, c] of s.top) names.set(n, (names.get(n) ?? 0) + c / samples.length);
  const top = [...names]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3)
    .map(([n, c]) => `${n} ${c.toFixed(2)}`);
  return { meanCores: Number(mean.toFixed(2)), maxCores: Number(max.toFixed(2)), samples: samples.length, top };
}

// Ctrl-C, SIGTERM, or the watchdog: kill every process group we started and leave.
let interrupted = false;
const abort = (why, status) => {
  if (interrupted) return;
  interrupted = true;
  process.stderr.write(`\n[bench] ${why}: stopping every process the bench started\n`);
  killAllNow();
  monitor.kill('SIGKILL');
  process.exit(status);
};
process.on('SIGINT', () => abort('interrupted', 130));
process.on('SIGTERM', () => abort('terminated', 143));
process.on('exit', () => killAllNow());
const watchdog = setTimeout(() => abort(`still running after ${WATCHDOG_MS / 60000} minutes`, 124), WATCHDOG_MS);
watchdog.unref();

const machine = describeMachine();
const runStart = performance.now();
log(`machine: ${machineLine(machine)}`);
if (machine.loadAverage[0] > machine.cores) {
  log(
    `warning: the 1-minute load average is ${machine.loadAverage[0]}: the machine may be busy (other processes' CPU use is sampled during the run)`,
  );
}

const results = {};
const allRows = [];
let failed = false;
for (const name of selected) {
  const started = performance.now();
  const budget = (options.quick ? 0.5 : 1) * BUDGET_MS[name];
  const ctx = {
    quick: options.quick,
    log: (message) => log(`${name}: ${message}`),
    outOfTime: () => performance.now() - started > budget,
  };
  windows[name] = { from: Date.now(), to: Infinity };
  const loadAverageStart = os.loadavg().map((v) => Number(v.toFixed(2)));
  log(`${name}: starting${options.quick ? ' (quick)' : ''} (load average ${loadAverageStart.join(' ')})`);
  try {
    const { run } = await import(BENCHMARKS[name]);
    const result = await run(ctx);
    results[name] = { ...result, loadAverageStart, durationMs: Math.round(performance.now() - started) };
    allRows.push(...result.rows);
    log(`${name}: done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  } catch (error) {
    failed = true;
    results[name] = {
      error: String(error?.stack ?? error),
      loadAverageStart,
      durationMs: Math.round(performance.now() - started),
    };
    log(`${name}: FAILED: ${error?.stack ?? error}`);
  } finally {
    await stopAll();
  }
  windows[name].to = Date.now();
}
// Let the last samples arrive (a benchmark that keeps the event loop busy delays them).
await new Promise((resolve) => setTimeout(resolve, 1200));
monitor.kill('SIGTERM');
monitor.stdout.destroy();
monitor.unref();
for (const name of Object.keys(results)) {
  const other = otherLoad(name);
  results[name].otherProcessesCpu = other;
  if (other !== undefined && (other.meanCores >= 0.05 || other.maxCores >= 0.5)) {
    results[name].notes = [
      ...(results[name].notes ?? []),
      `machine busy: other processes used ${other.meanCores} cores on average (max ${other.maxCores}) during this benchmark (${other.top.join(', ')})`,
    ];
  }
}

const finished = {
  durationMs: Math.round(performance.now() - runStart),
  loadAverageEnd: os.loadavg().map((v) => Number(v.toFixed(2))),
};
const notes = Object.entries(results).flatMap(([name, r]) => [
  ...(r.notes ?? []).map((note) => `${name}: ${note}`),
  ...(r.error ? [`${name}: FAILED: ${r.error.split('\n')[0]}`] : []),
]);

process.stdout.write(`\nrexec benchmarks${options.quick ? ' (QUICK: smoke run, not figures)' : ''}\n`);
process.stdout.write(`${machineLine(machine)}\n`);
process.stdout.write(
  `run time ${(finished.durationMs / 1000).toFixed(0)} s, load average at end ${finished.loadAverageEnd.join(' ')}; ratios are rexec / reference, same run; MB = 10^6 bytes\n\n`,
);
process.stdout.write(`${renderTable(allRows)}\n`);
if (notes.length > 0) process.stdout.write(`\n${notes.map((n) => `note: ${n}`).join('\n')}\n`);
const missed = allRows.filter((r) => r.target?.ok === false && !r.target.stretch);
process.stdout.write(
  `\ntargets (stretch goals not counted): ${allRows.filter((r) => r.target?.ok === true && !r.target.stretch).length} met, ${missed.length} missed` +
    `${missed.length ? ` (${missed.map((r) => `${r.bench} ${r.measure}: ${r.target.text}, got ${r.target.achieved}`).join('; ')})` : ''}\n`,
);

const write = (file, text) => {
  const path = resolve(file);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  log(`wrote ${path}`);
};
if (options.json) {
  write(
    options.json,
    `${JSON.stringify({ quick: options.quick, selected, machine, ...finished, rows: allRows, notes, results }, null, 2)}\n`,
  );
}
if (options.markdown) write(options.markdown, `${renderMarkdown(allRows)}\n`);

if (runningCount() > 0) {
  log(`warning: ${runningCount()} started processes were still running; killing them`);
  killAllNow();
}
process.exitCode = failed ? 1 : 0;
