// What the figures were measured on: recorded at the start of every run.
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { REPO } from './processes.js';

/** A command's output (stdout, else stderr: `ssh -V` writes there), or undefined if it failed. */
function quiet(command, args) {
  const result = spawnSync(command, args, {
    cwd: REPO,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 5000,
  });
  if (result.status !== 0) return undefined;
  return result.stdout.trim() || result.stderr.trim();
}

/** CPU, cores, memory, kernel, Node, load average now, and the rexec commit. */
export function describeMachine() {
  const cpus = os.cpus();
  const dirty = quiet('git', ['status', '--porcelain', '--', 'src', 'bin', 'package.json', 'scripts']);
  return {
    cpuModel: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryBytes: os.totalmem(),
    freeMemoryBytes: os.freemem(),
    kernel: `${os.type()} ${os.release()}`,
    kernelVersion: os.version(),
    arch: os.arch(),
    node: process.version,
    loadAverage: os.loadavg().map((v) => Number(v.toFixed(2))),
    openssh: quiet('ssh', ['-V']),
    // Outside a git checkout (e.g. an exported tree), REXEC_BENCH_REVISION names what was measured.
    rexecCommit: quiet('git', ['rev-parse', '--short', 'HEAD']) ?? process.env.REXEC_BENCH_REVISION,
    /** Uncommitted changes in src/, bin/, scripts/ or package.json: figures are of a work in progress. */
    srcModified: dirty === undefined ? undefined : dirty !== '',
  };
}

/** One line for the top of the table. */
export function machineLine(m) {
  const gib = (m.memoryBytes / 2 ** 30).toFixed(1);
  return (
    `${m.cpuModel}, ${m.cores} cores, ${gib} GiB, ${m.kernel}, Node ${m.node}, ` +
    `load ${m.loadAverage.join(' ')}, rexec ${m.rexecCommit ?? '?'}${m.srcModified ? ' + uncommitted changes' : ''}`
  );
}
