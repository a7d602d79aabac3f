// The bare spawn floor: what a small, plain Node process pays to run a command with
// child_process.spawn, with nothing else around it. Prints one JSON line on stdout.
//
//   node bench/spawn-floor.js latency --count 2000 --warmup 100
//     sequential spawn('true'), each awaited to 'exit': { samples: [ms, ...] }
//   node bench/spawn-floor.js concurrency --clients 200 --each 20 [--warmup 1] [--shell]
//     200 concurrent loops of 20 spawn('echo', [token]) (with --shell: spawn('sh',
//     ['-c', 'echo TOKEN'])), output checked:
//     { elapsedMs, commands, errors, samples: [ms, ...] }
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    count: { type: 'string', default: '2000' },
    warmup: { type: 'string', default: '0' },
    clients: { type: 'string', default: '200' },
    each: { type: 'string', default: '20' },
    'timeout-ms': { type: 'string', default: '10000' },
    // concurrency: run `sh -c 'echo TOKEN'` instead of `echo TOKEN` (the fleet bench's command).
    shell: { type: 'boolean', default: false },
  },
});
const timeoutMs = Number(values['timeout-ms']);

function runTrue() {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('spawn(true) did not exit in time')), timeoutMs);
    const child = spawn('true');
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`true exited with ${code}`));
    });
  });
}

function runEcho(token) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('spawn(echo) did not finish in time')), timeoutMs);
    const child = values.shell ? spawn('sh', ['-c', `echo ${token}`]) : spawn('echo', [token]);
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.once('error', reject);
    // 'close': exited and its output read to the end, as rexec's `exit` promise is.
    child.once('close', (code) => {
      clearTimeout(timer);
      if (code === 0 && out === `${token}\n`) resolve();
      else reject(new Error(`echo ${token}: code ${code}, output ${JSON.stringify(out)}`));
    });
  });
}

async function latency() {
  const count = Number(values.count);
  for (let i = 0; i < Number(values.warmup); i++) await runTrue();
  const samples = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    await runTrue();
    samples.push(performance.now() - start);
  }
  return { samples };
}

async function concurrency() {
  const clients = Number(values.clients);
  const each = Number(values.each);
  const samples = [];
  let errors = 0;
  const firstErrors = [];
  const loop = async (c) => {
    for (let j = 0; j < each; j++) {
      const token = `floor-${c}-${j}-${Math.random().toString(36).slice(2)}`;
      const start = performance.now();
      try {
        await runEcho(token);
        samples.push(performance.now() - start);
      } catch (error) {
        errors += 1;
        if (firstErrors.length < 5) firstErrors.push(String(error.message));
      }
    }
  };
  for (let w = 0; w < Number(values.warmup); w++) {
    await Promise.all(Array.from({ length: Math.min(clients, 20) }, (_, c) => loop(c)));
  }
  samples.length = 0;
  errors = 0;
  const start = performance.now();
  await Promise.all(Array.from({ length: clients }, (_, c) => loop(c)));
  const elapsedMs = performance.now() - start;
  return { elapsedMs, commands: clients * each, errors, firstErrors, samples };
}

const mode = positionals[0];
const result = mode === 'latency' ? await latency() : mode === 'concurrency' ? await concurrency() : undefined;
if (result === undefined) {
  process.stderr.write('usage: node bench/spawn-floor.js latency|concurrency [options]\n');
  process.exit(2);
}
process.stdout.write(`${JSON.stringify(result)}\n`);
