// After the whole run: no process that the tests started may still be alive. Every
// command the tests run is a `sleep`, `sh`, `cat`, `head`, `yes` or similar, started
// by rexecd after the run began; any of them left over means a process outlived its
// connection.
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SUSPECTS = /^(sleep|sh|cat|head|yes|tail|sort|bash|dash)$/;
// rexecd itself and its helpers, run from this checkout's bin/ and dist/ or an installed
// package, with their files in a test's temporary directory.
const RexecdPrograms = /\/(bin\/rexecd(\.js)?|dist\/bundle\/(pty|file)-helper\.mjs)$/;
const TEST_DIRS = join(tmpdir(), 'rexec');
// Stray daemons found: killed once reported, so that a failed run leaves none behind.
const stray = new Set<number>();
const DEADLINE_MS = 15_000;

function startTicks(pid: string): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z') return undefined;
    return Number(fields[19]);
  } catch {
    return undefined;
  }
}

function parentOf(pid: string): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1];
  } catch {
    return undefined;
  }
}

// The test runner's own ancestors (npm, sh -c vitest) are not suspects.
function ancestors(): Set<string> {
  const chain = new Set<string>();
  for (let pid: string | undefined = String(process.pid); pid !== undefined && pid !== '0'; pid = parentOf(pid)) {
    if (chain.has(pid)) break;
    chain.add(pid);
  }
  return chain;
}

// rexecd gives commands a clean environment (PATH, HOME, LANG and a few more), which
// tells them apart from the shells of whoever runs the tests on a shared machine.
function startedByRexecd(pid: string): boolean {
  try {
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);
    return environ.length <= 12;
  } catch {
    return false;
  }
}

function leftovers(since: number): string[] {
  const found: string[] = [];
  const mine = ancestors();
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    if (mine.has(pid)) continue;
    const started = startTicks(pid);
    if (started === undefined || started < since) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    } catch {
      continue;
    }
    const name = (argv[0] ?? '').split('/').pop() ?? '';
    if (SUSPECTS.test(name) && startedByRexecd(pid)) found.push(`${pid}: ${argv.join(' ')}`);
    // A rexecd (or a helper of one) that a test started in its temporary directory and
    // did not stop: it would serve, or spin, long after the run.
    else if (argv.some((arg) => RexecdPrograms.test(arg)) && argv.some((arg) => arg.startsWith(TEST_DIRS))) {
      found.push(`${pid}: ${argv.join(' ')}`);
      stray.add(Number(pid));
    }
  }
  return found;
}

export default function setup(): () => Promise<void> {
  const self = startTicks(String(process.pid)) ?? 0;
  return async () => {
    const deadline = Date.now() + DEADLINE_MS;
    let left = leftovers(self);
    while (left.length > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      left = leftovers(self);
    }
    if (left.length > 0) {
      // A teardown error alone does not fail vitest's exit status; this does.
      process.stderr.write(`\nFAIL: processes started by the tests are still running:\n${left.join('\n')}\n`);
      for (const pid of stray) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Gone meanwhile.
        }
      }
      process.exitCode = 1;
      process.once('beforeExit', () => {
        process.exitCode = 1;
      });
    }
  };
}
