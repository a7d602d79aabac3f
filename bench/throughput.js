// 1. Throughput: one command writing 1 GiB to stdout, carried to a client that
// discards it (counting bytes). Beside it, in the same run and interleaved round by
// round: the raw limit (bench/raw-relay-server.js: spawn + pipe into a socket), and
// OpenSSH against a private sshd. Also rexec with stdout and stderr both busy, and rexec
// inside TLS (rexecd --tls-cert, a certificate from rexecd tls-init, pinned).
// Rate = bytes / (last byte - first byte) at the client, so connection set-up, auth
// and spawn (measured by the latency benchmarks) are left out for every variant alike.
import { connect as netConnect } from 'node:net';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from '../dist/index.js';
import { fingerprintOfPem, tlsSocketFactory } from '../dist/tls.js';
import { NODE, REPO, memoryOf, readLine, start, startRexecd, stop, tempDir, withTimeout } from './processes.js';
import { startSshd } from './sshd.js';
import { GiB, MiB, MB, summary } from './stats.js';
import { ratioTarget } from './table.js';
import { join } from 'node:path';

function transferTimeout(bytes) {
  return Math.max(60_000, (bytes / (5 * MB)) * 1000);
}

/** Counts bytes arriving on readables; resolves the rate once `done` resolves. */
function meter() {
  const m = { bytes: 0, first: undefined, last: undefined };
  m.add = (chunk) => {
    const now = performance.now();
    m.first ??= now;
    m.last = now;
    m.bytes += chunk.length;
  };
  m.rate = () => m.bytes / MB / ((m.last - m.first) / 1000);
  return m;
}

async function rexecOnce(client, argv, expected) {
  const m = meter();
  const started = performance.now();
  const proc = client.exec({ argv });
  let out = 0;
  let err = 0;
  proc.stdout.on('data', (c) => {
    out += c.length;
    m.add(c);
  });
  proc.stderr.on('data', (c) => {
    err += c.length;
    m.add(c);
  });
  const exit = await withTimeout(
    proc.exit,
    transferTimeout(expected.stdout + expected.stderr),
    `rexec ${argv.join(' ')}`,
  );
  if (exit.code !== 0) throw new Error(`rexec ${argv.join(' ')} exited with ${exit.code}/${exit.signal}`);
  if (out !== expected.stdout || err !== expected.stderr) {
    throw new Error(
      `rexec ${argv.join(' ')}: got ${out} stdout + ${err} stderr bytes, expected ${expected.stdout} + ${expected.stderr}`,
    );
  }
  return { mbps: m.rate(), wallMs: performance.now() - started };
}

function rawOnce(port, size) {
  const m = meter();
  const started = performance.now();
  const done = new Promise((resolve, reject) => {
    const socket = netConnect({ host: '127.0.0.1', port });
    socket.on('data', m.add);
    socket.once('error', reject);
    socket.once('end', () => {
      socket.destroy();
      resolve();
    });
  });
  return withTimeout(done, transferTimeout(size), 'raw relay transfer').then(() => {
    if (m.bytes !== size) throw new Error(`raw relay: got ${m.bytes} bytes, expected ${size}`);
    return { mbps: m.rate(), wallMs: performance.now() - started };
  });
}

async function sshOnce(sshd, command, size) {
  const m = meter();
  const started = performance.now();
  const child = start('ssh', sshd.sshArgs(command), { stdio: ['ignore', 'pipe', 'pipe'] });
  let errors = '';
  child.stdout.on('data', m.add);
  child.stderr.on('data', (c) => (errors += c));
  try {
    const end = await withTimeout(child.exited, transferTimeout(size), 'ssh transfer');
    await withTimeout(child.closed, 5000, 'ssh output end').catch(() => {});
    if (end.code !== 0) throw new Error(`ssh exited with ${end.code}/${end.signal}: ${errors.trim()}`);
  } finally {
    await stop(child, 1000);
  }
  if (m.bytes !== size) throw new Error(`ssh: got ${m.bytes} bytes, expected ${size}`);
  return { mbps: m.rate(), wallMs: performance.now() - started };
}

export async function run(ctx) {
  const size = ctx.quick ? 64 * MiB : GiB;
  const half = size / 2;
  const rounds = ctx.quick ? 2 : 5;
  const warmups = 1;
  const command = ['head', '-c', String(size), '/dev/zero'];
  const busy = ['sh', '-c', `head -c ${half} /dev/zero & head -c ${half} /dev/zero >&2; wait`];
  const notes = [];
  const samples = { rexec: [], busy: [], raw: [], ssh: [], tls: [] };
  let rexecd;
  let tlsd;
  let tlsClient;
  let relay;
  let sshd;
  let client;
  const peaks = {};
  try {
    rexecd = await startRexecd();
    client = await connect({ host: '127.0.0.1', port: rexecd.port, key: rexecd.key });
    const certDir = join(tempDir('tls'), 'cert');
    execFileSync(NODE, [join(REPO, 'bin/rexecd.js'), 'tls-init', certDir, '--name', '127.0.0.1'], { stdio: 'ignore' });
    tlsd = await startRexecd(['--tls-cert', join(certDir, 'cert.pem'), '--tls-key', join(certDir, 'key.pem')]);
    const fingerprint = fingerprintOfPem(readFileSync(join(certDir, 'cert.pem'), 'utf8'));
    tlsClient = await connect({
      host: '127.0.0.1',
      port: tlsd.port,
      key: tlsd.key,
      socketFactory: tlsSocketFactory({ fingerprint }),
    });
    relay = start(NODE, [join(REPO, 'bench/raw-relay-server.js'), ...command], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const [, relayPort] = await readLine(
      relay,
      relay.stdout,
      /^raw-relay listening on 127\.0\.0\.1:(\d+)$/,
      10000,
      'raw relay',
    );
    sshd = await startSshd(ctx.log);
    if (sshd.skipped) {
      notes.push(sshd.skipped);
      ctx.log(sshd.skipped);
    }
    const variants = [
      ['raw', () => rawOnce(Number(relayPort), size)],
      ['rexec', () => rexecOnce(client, command, { stdout: size, stderr: 0 })],
      ['busy', () => rexecOnce(client, busy, { stdout: half, stderr: half })],
      ['tls', () => rexecOnce(tlsClient, command, { stdout: size, stderr: 0 })],
      ...(sshd.skipped ? [] : [['ssh', () => sshOnce(sshd, command.join(' '), size)]]),
    ];
    for (let round = -warmups; round < rounds; round++) {
      if (ctx.outOfTime()) {
        notes.push(`stopped after ${round} rounds: time budget reached`);
        break;
      }
      for (const [name, once] of variants) {
        const result = await once();
        ctx.log(`${round < 0 ? 'warm-up' : `round ${round + 1}/${rounds}`} ${name}: ${result.mbps.toFixed(0)} MB/s`);
        if (round >= 0) samples[name].push(result);
      }
    }
    peaks.rexecd = memoryOf(rexecd.pid).hwm / MB;
    peaks.relay = memoryOf(relay.pid).hwm / MB;
  } finally {
    await client?.close().catch(() => {});
    await tlsClient?.close().catch(() => {});
    await rexecd?.stop();
    await tlsd?.stop();
    await stop(relay);
    await sshd?.stop?.();
  }
  const rate = (name) => summary(samples[name].map((s) => s.mbps));
  const rexec = rate('rexec');
  const raw = rate('raw');
  const ssh = rate('ssh');
  const label = ctx.quick ? `${size / MiB} MiB` : '1 GiB';
  const rows = [
    {
      bench: 'throughput',
      measure: `${label} stdout`,
      unit: 'MB/s',
      value: rexec,
      ref: { label: 'raw relay (spawn | socket)', value: raw },
      target: ratioTarget('≥ 0.85 × raw', rexec.median, raw.median, { atLeast: 0.85 }),
    },
    {
      bench: 'throughput',
      measure: `${label} stdout`,
      unit: 'MB/s',
      value: rexec,
      ref: { label: 'OpenSSH', value: ssh },
      target: sshd.skipped
        ? { text: '≥ 3 × OpenSSH', achieved: 'skipped', ok: undefined }
        : ratioTarget('≥ 3 × OpenSSH', rexec.median, ssh.median, { atLeast: 3 }),
    },
    {
      bench: 'throughput',
      measure: `${label}: stdout+stderr busy`,
      unit: 'MB/s',
      value: rate('busy'),
      ref: { label: 'raw relay (stdout only)', value: raw },
      target: ratioTarget('no target (ratio to raw)', rate('busy').median, raw.median, { atLeast: 0 }),
    },
    {
      bench: 'throughput',
      measure: `${label} stdout over TLS`,
      unit: 'MB/s',
      value: rate('tls'),
      ref: { label: 'rexec without TLS', value: rexec },
      target: {
        text: 'no target (ratio to plain rexec)',
        achieved: `${(rate('tls').median / rexec.median).toFixed(2)}×`,
        ok: undefined,
      },
    },
    {
      bench: 'throughput',
      measure: 'server peak RSS over all these runs',
      unit: 'MB',
      value: summary([peaks.rexecd]),
      ref: { label: 'raw relay', value: summary([peaks.relay]) },
    },
  ];
  rows[2].target.ok = undefined;
  return { rows, notes, data: { sizeBytes: size, rounds, samples, peakRssMB: peaks } };
}
