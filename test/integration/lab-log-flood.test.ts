// Logs against a hostile client: long names and requests are clipped, repeated
// refusals are summarised, and client text cannot forge a line of the stderr log.
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { newNonce } from '../../src/protocol/auth-proof.js';
import { createAuditLog } from '../../src/server/index.js';
import { createStderrLogger } from '../../src/cli/rexecd/stderr-logger.js';
import { startDaemon } from '../helpers/daemon.js';
import { RawClient, waitUntil } from '../helpers/raw-client.js';
import { startLab } from '../helpers/lab.js';

const MB = 1024 * 1024;
const NAME_LENGTH = 65_000;

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

/** One login with a 64 KiB user name and a random proof; resolves with the error code. */
async function refusedLogin(port: number, from: string): Promise<string> {
  const client = await RawClient.open(port, from);
  try {
    await client.next('hello');
    const user = randomBytes(8).toString('hex') + 'x'.repeat(NAME_LENGTH - 16);
    client.send({ type: 'auth', user, cnonce: newNonce().toString('base64'), proof: randomBytes(32).toString('hex') });
    return String((await client.next()).header['code']);
  } catch (error) {
    return `lost: ${(error as Error).message}`;
  } finally {
    client.close();
  }
}

describe('log flooding without a key', () => {
  it('10,000 refused logins with 64 KiB user names grow the audit and stderr logs by less than 5 MB', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rexec-flood-'));
    const auditPath = join(dir, 'audit.log');
    const daemon = await startDaemon(['--audit-log', auditPath]);
    const total = 10_000;
    const limit = 5 * MB;
    const growth = async (): Promise<number> => (await sizeOf(auditPath)) + Buffer.byteLength(daemon.stderr());
    const base = await growth();
    const codes = new Map<string, number>();
    let started = 0;
    let overflowed = false;
    const deadline = Date.now() + 240_000;
    // Four addresses, six logins at a time from each (under the per-address cap).
    const worker = async (from: string): Promise<void> => {
      while (started < total && !overflowed && Date.now() < deadline) {
        started += 1;
        const code = await refusedLogin(daemon.port, from);
        codes.set(code, (codes.get(code) ?? 0) + 1);
        // Bounded: an attack that already broke the limit stops at once.
        if (started % 100 === 0 && (await growth()) - base > limit) overflowed = true;
      }
    };
    let grown: number;
    try {
      const addresses = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4'];
      await Promise.all(addresses.flatMap((from) => Array.from({ length: 6 }, () => worker(from))));
    } finally {
      await daemon.stop();
      grown = (await growth()) - base;
      await rm(dir, { recursive: true, force: true });
    }
    console.info(`log growth for ${started} refused logins with ${NAME_LENGTH}-character names: ${grown} bytes`);
    expect(grown).toBeLessThan(limit);
    expect(Object.fromEntries(codes)).toEqual({ AUTH_FAILED: total });
  });

  it('a client cannot forge stderr log lines with control characters in what it sends', async () => {
    const sink = new PassThrough();
    let text = '';
    sink.on('data', (chunk: Buffer) => {
      text += chunk.toString();
    });
    const lab = await startLab({ allow: ['echo'] }, { alice: {} }, { logger: createStderrLogger('debug', sink) });
    try {
      const forgedUser = 'mallory\nrexecd: info authenticated conn=99 remote=10.0.0.9:4242 user=teacher';
      const one = await RawClient.open(lab.port);
      await one.next('hello');
      one.send({ type: 'auth', user: forgedUser, cnonce: newNonce().toString('base64'), proof: '00'.repeat(32) });
      await one.waitClosed();
      const two = await RawClient.open(lab.port);
      await two.next('hello');
      two.send({ type: 'x\rrexecd: info exec conn=99 id=1 pid=4242 request={"argv":["rm","-rf","/"]}\u2028' });
      await two.waitClosed();
      const alice = await RawClient.ready(lab.port, lab.keys['alice'] as string, 'alice');
      await alice.run(1, { argv: ['echo', 'one\ntwo'] });
      await alice.run(2, { argv: ['echo'], env: { 'A\nB': 'x' } });
      alice.send({ type: 'ping\nrexecd: error forged' });
      await alice.next('error');
      alice.close();
      await waitUntil(() => text.includes('disconnected') && text.includes('ping'), 'the log lines');
    } finally {
      await lab.stop();
    }
    const lines = text.split(/\r\n|\r|\n|\u2028|\u2029/).filter((line) => line !== '');
    expect(lines.every((line) => line.startsWith('rexecd: '))).toBe(true);
    expect(lines.filter((line) => line.startsWith('rexecd: info authenticated'))).toHaveLength(1);
    expect(lines.some((line) => line.startsWith('rexecd: info exec conn=99'))).toBe(false);
    expect(lines.some((line) => line.startsWith('rexecd: error forged'))).toBe(false);
    expect(text).toContain('mallory\\nrexecd: info authenticated');
  });
});

describe('log flooding with a key', () => {
  it('pipelined refused execs with 64 KiB argv and 15,000-entry argv are clipped and summarised', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rexec-flood-'));
    const auditPath = join(dir, 'audit.log');
    const logPath = join(dir, 'stderr.log');
    const logStream = createWriteStream(logPath);
    const lab = await startLab(
      { allow: ['echo'] },
      { alice: {} },
      { audit: createAuditLog(auditPath), logger: createStderrLogger('info', logStream) },
    );
    const requests = 400;
    let audit: string;
    let log: string;
    try {
      const alice = await RawClient.ready(lab.port, lab.keys['alice'] as string, 'alice');
      const long = 'x'.repeat(NAME_LENGTH);
      for (let id = 1; id <= requests; id += 1) alice.send({ type: 'exec', id, argv: [`${long}${id}`, 'y'] });
      for (let id = 1; id <= requests; id += 1)
        expect((await alice.next('error', id)).header).toMatchObject({ code: 'DENIED' });
      const many = await alice.run(requests + 1, { argv: ['echo', ...Array.from({ length: 15_000 }, () => 'a')] });
      expect(many.exit).toMatchObject({ code: 0 });
      alice.close();
      await waitUntil(
        async () => (await readFile(auditPath, 'utf8')).includes('"event":"disconnect"'),
        'the disconnect line',
      );
    } finally {
      await lab.stop();
      await new Promise((resolve) => logStream.end(resolve));
      audit = await readFile(auditPath, 'utf8');
      log = await readFile(logPath, 'utf8');
      await rm(dir, { recursive: true, force: true });
    }
    expect(audit.length + log.length).toBeLessThan(MB);
    for (const line of [...audit.split('\n'), ...log.split('\n')]) expect(line.length).toBeLessThan(20_000);
    const events = audit
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const denied = events.filter((e) => e['event'] === 'denied');
    // Every refusal is counted: lines written at once, plus summaries with their count.
    expect(denied.reduce((sum, e) => sum + Number(e['count']), 0)).toBe(requests);
    expect(denied.length).toBeLessThan(50);
    const first = denied[0]?.['request'] as { argv: string[] };
    expect(first.argv[0]).toMatch(/^x{200}…\[65001 chars\]$/);
    const exec = events.find((e) => e['event'] === 'exec')?.['request'] as { argv: string[]; argc: number };
    expect(exec.argv).toHaveLength(64);
    expect(exec.argc).toBe(15_001);
  });
});
