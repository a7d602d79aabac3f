// Watches for CPU use by processes that are not the bench's: every second, the CPU
// time of every process on the machine that does not descend from the bench (pid
// given) is summed from /proc/<pid>/stat. Prints one JSON line per sample:
//   {"t": Date.now(), "cores": other processes' CPU in cores, "top": [[name, cores], ...]}
// Started by run.js as its own small process, so the sampling costs the benchmarks
// nothing on their event loops. Processes shorter than a second can be missed.
import { readdirSync, readFileSync } from 'node:fs';

const benchPid = Number(process.argv[2]);
const TICKS = 100; // USER_HZ on Linux
const INTERVAL_MS = 1000;

function snapshot() {
  const procs = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let text;
    try {
      text = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue;
    }
    const close = text.lastIndexOf(')');
    const comm = text.slice(text.indexOf('(') + 1, close);
    const fields = text.slice(close + 2).split(' ');
    // fields[0] is state (field 3); ppid is field 4, utime 14, stime 15.
    procs.set(Number(name), { comm, ppid: Number(fields[1]), cpu: Number(fields[11]) + Number(fields[12]) });
  }
  return procs;
}

function isBench(pid, procs) {
  for (let p = pid, hops = 0; p > 1 && hops < 64; hops++) {
    if (p === benchPid || p === process.pid) return true;
    const info = procs.get(p);
    if (info === undefined) return false;
    p = info.ppid;
  }
  return false;
}

let last = snapshot();
let lastAt = performance.now();
const timer = setInterval(() => {
  const now = snapshot();
  const at = performance.now();
  const seconds = (at - lastAt) / 1000;
  let total = 0;
  const byName = new Map();
  for (const [pid, info] of now) {
    const before = last.get(pid);
    if (before === undefined || isBench(pid, now)) continue;
    const cores = (info.cpu - before.cpu) / TICKS / seconds;
    if (cores <= 0) continue;
    total += cores;
    byName.set(info.comm, (byName.get(info.comm) ?? 0) + cores);
  }
  const top = [...byName]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3)
    .map(([n, c]) => [n, Number(c.toFixed(2))]);
  process.stdout.write(`${JSON.stringify({ t: Date.now(), cores: Number(total.toFixed(2)), top })}\n`);
  last = now;
  lastAt = at;
}, INTERVAL_MS);

// Stop when the bench goes away.
setInterval(() => {
  try {
    process.kill(benchPid, 0);
  } catch {
    clearInterval(timer);
    process.exit(0);
  }
}, 2000).unref();
process.on('SIGTERM', () => process.exit(0));
