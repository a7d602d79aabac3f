// One client process of the fleet benchmark (bench/fleet.js): connects to rexecd on
// its own connection, says "ready", waits for "go" on stdin, runs `each` shell commands
// `sh -c 'echo TOKEN'` one after another, checks every output, and prints one JSON line:
// { samples: [ms, ...], errors, firstErrors, cpuMs }.
//
//   node bench/fleet-client.js PORT KEY EACH TAG
import { createInterface } from 'node:readline';
import { connect } from '../dist/index.js';

const [port, key, each, tag] = process.argv.slice(2);
const EXEC_TIMEOUT_MS = 60_000;

async function echo(client, token) {
  const proc = client.exec({ argv: ['sh', '-c', `echo ${token}`] });
  let out = '';
  proc.stdout.setEncoding('utf8');
  proc.stdout.on('data', (chunk) => (out += chunk));
  proc.stderr.resume();
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`echo ${token}: no exit in ${EXEC_TIMEOUT_MS} ms`)), EXEC_TIMEOUT_MS);
  });
  const exit = await Promise.race([proc.exit, timeout]).finally(() => clearTimeout(timer));
  if (exit.code !== 0) throw new Error(`echo ${token} exited with ${exit.code}/${exit.signal}`);
  if (out !== `${token}\n`) throw new Error(`echo ${token}: wrong output ${JSON.stringify(out.slice(0, 80))}`);
}

const client = await connect({ host: '127.0.0.1', port: Number(port), key, connectTimeoutMs: 60_000 });
process.stdout.write('ready\n');
const lines = createInterface({ input: process.stdin });
await new Promise((resolve) => lines.once('line', resolve));
const cpuBefore = process.cpuUsage();
const samples = [];
const firstErrors = [];
let errors = 0;
for (let j = 0; j < Number(each); j++) {
  const token = `${tag}-${j}-${Math.random().toString(36).slice(2, 10)}`;
  const start = performance.now();
  try {
    await echo(client, token);
    samples.push(performance.now() - start);
  } catch (error) {
    errors += 1;
    if (firstErrors.length < 3) firstErrors.push(String(error.message));
  }
}
const cpu = process.cpuUsage(cpuBefore);
await client.close();
lines.close();
// CPU time this client spent on its commands (user + system, ms): what a client costs.
process.stdout.write(`${JSON.stringify({ samples, errors, firstErrors, cpuMs: (cpu.user + cpu.system) / 1000 })}\n`);
