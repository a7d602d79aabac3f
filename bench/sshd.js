// A private OpenSSH server on 127.0.0.1 for the reference figures: generated host and
// user keys in a temporary directory, its own config, run in the foreground (-D -e).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { join } from 'node:path';
import { readLine, start, stop, tempDir, withTimeout } from './processes.js';

// REXEC_BENCH_SSHD: another sshd binary (or a missing path, to check the skip).
export const SSHD = process.env.REXEC_BENCH_SSHD ?? '/usr/sbin/sshd';
export const SKIP_NOTE = `OpenSSH reference skipped: ${SSHD} not found (apt-get install openssh-server)`;

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function canConnect(port) {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Starts sshd, or resolves with { skipped: note } when it cannot be. The result's
 * `sshArgs(command)` gives the ssh arguments for running `command` on it.
 */
export async function startSshd(log) {
  if (!existsSync(SSHD)) return { skipped: SKIP_NOTE };
  const dir = tempDir('sshd');
  const hostKey = join(dir, 'host_ed25519');
  const userKey = join(dir, 'user_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey], { stdio: 'ignore', timeout: 10000 });
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', userKey], { stdio: 'ignore', timeout: 10000 });
  execFileSync('cp', [`${userKey}.pub`, join(dir, 'authorized_keys')], { timeout: 5000 });
  // Run as root, sshd needs its privilege separation directory (systemd normally makes it).
  if (process.getuid?.() === 0 && !existsSync('/run/sshd')) {
    mkdirSync('/run/sshd', { mode: 0o755 });
    log('created /run/sshd (sshd privilege separation directory)');
  }
  const port = await freePort();
  const config = join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      'StrictModes no',
      'UsePAM no',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      'PrintMotd no',
      'UseDNS no',
      '',
    ].join('\n'),
  );
  const child = start(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let errors = '';
  child.stderr.on('data', (c) => {
    if (errors.length < 8192) errors += c.toString();
  });
  try {
    await readLine(child, child.stderr, /Server listening on 127\.0\.0\.1/, 10000, 'sshd');
  } catch (error) {
    await stop(child);
    return { skipped: `OpenSSH reference skipped: sshd did not start (${error.message}) ${errors.trim()}` };
  }
  // Double-check that it accepts connections.
  if (!(await withTimeout(canConnect(port), 5000, 'sshd connect').catch(() => false))) {
    await stop(child);
    return { skipped: `OpenSSH reference skipped: sshd does not accept connections on port ${port}` };
  }
  // Flags and their values in pairs, as on a command line.
  // prettier-ignore
  const base = [
    '-F', '/dev/null',
    '-p', String(port),
    '-i', userKey,
    '-o', 'BatchMode=yes',
    '-o', 'IdentitiesOnly=yes',
    '-o', 'StrictHostKeyChecking=no',
    '-o', 'UserKnownHostsFile=/dev/null',
    '-o', 'LogLevel=ERROR',
    '-T',
  ];
  return {
    port,
    child,
    sshArgs: (command) => [...base, '127.0.0.1', command],
    stop: () => stop(child, 3000),
  };
}
