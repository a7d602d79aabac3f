// The raw limit for the throughput benchmark: a minimal Node server that, for each
// connection, spawns the command given on its own command line and pipes the
// command's stdout straight into the socket. No framing, no protocol, no auth.
//
//   node bench/raw-relay-server.js head -c 1073741824 /dev/zero
//
// Prints `raw-relay listening on 127.0.0.1:<port>` once ready.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';

const [command, ...args] = process.argv.slice(2);
if (command === undefined) {
  process.stderr.write('usage: node bench/raw-relay-server.js COMMAND [ARG...]\n');
  process.exit(2);
}

const server = createServer((socket) => {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  child.stdout.pipe(socket);
  socket.on('error', () => child.kill('SIGKILL'));
  socket.on('close', () => child.kill('SIGKILL'));
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`raw-relay listening on 127.0.0.1:${server.address().port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
