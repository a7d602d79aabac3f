// What the audit log must not miss: exec requests refused before a process existed
// (BAD_REQUEST, NOT_FOUND, SPAWN_FAILED), and uploads given up by a close or a shutdown.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RawClient, waitUntil } from '../helpers/raw-client.js';
import { startLab } from '../helpers/lab.js';
import { startDaemon } from '../helpers/daemon.js';
import { startPut } from '../helpers/files.js';

describe('audit of a terminal command whose connection closed while it started', () => {
  it('records its exec and its exit: it ran, however briefly', async () => {
    // A terminal's helper takes tens of milliseconds to start; a client that closes in
    // that window once had its command run with no exec line in the audit log.
    const lab = await startLab({ allow: '*' }, { alice: {} });
    try {
      const alice = await RawClient.ready(lab.port, lab.keys['alice'] as string, 'alice');
      alice.send({
        type: 'exec',
        id: 7,
        argv: ['sh', '-c', 'trap "" TERM; echo ran; sleep 30'],
        pty: { cols: 80, rows: 24 },
      });
      alice.socket.destroy();
      await waitUntil(
        () => lab.events.some((e) => e['event'] === 'exit' && e['id'] === 7),
        'the exit event of request 7',
      );
      expect(lab.events.find((e) => e['event'] === 'exec' && e['id'] === 7)).toMatchObject({
        user: 'alice',
        request: { argv: ['sh', '-c', 'trap "" TERM; echo ran; sleep 30'] },
      });
    } finally {
      await lab.stop();
    }
  });
});

describe('audit of refused execs', () => {
  it('records BAD_REQUEST, NOT_FOUND and SPAWN_FAILED with the (clipped) request', async () => {
    const lab = await startLab({ allow: '*' }, { alice: {} });
    try {
      const alice = await RawClient.ready(lab.port, lab.keys['alice'] as string, 'alice');
      expect((await alice.run(1, { argv: [] })).error).toMatchObject({ code: 'BAD_REQUEST' });
      expect((await alice.run(2, { argv: ['no-such-command-rexec'] })).error).toMatchObject({ code: 'NOT_FOUND' });
      expect((await alice.run(3, { argv: ['echo'], cwd: 'no-such-dir' })).error).toMatchObject({
        code: 'SPAWN_FAILED',
      });
      alice.close();
      await waitUntil(() => lab.events.some((e) => e['event'] === 'disconnect'), 'the disconnect event');
    } finally {
      await lab.stop();
    }
    const refused = lab.events.filter((e) => e['event'] === 'exec-refused');
    expect(refused).toHaveLength(3);
    expect(refused[0]).toMatchObject({ user: 'alice', id: 1, code: 'BAD_REQUEST', request: { argv: [] }, count: 1 });
    expect(refused[1]).toMatchObject({
      user: 'alice',
      id: 2,
      code: 'NOT_FOUND',
      request: { argv: ['no-such-command-rexec'] },
    });
    expect(refused[2]).toMatchObject({
      user: 'alice',
      id: 3,
      code: 'SPAWN_FAILED',
      request: { argv: ['echo'], cwd: 'no-such-dir' },
    });
    expect(String(refused[2]?.['reason'])).toContain('no-such-dir');
  });
});

describe('audit of uploads that did not finish', () => {
  it('an upload cut off by the client closing its connection is audited as aborted', async () => {
    const lab = await startLab({ allow: '*' }, { alice: {} });
    try {
      const alice = await RawClient.ready(lab.port, lab.keys['alice'] as string, 'alice');
      expect((await startPut(alice, 1, 'cut.bin', 100_000)).type).toBe('ready');
      alice.send({ type: 'data', id: 1 }, Buffer.alloc(1000));
      alice.send({ type: 'ping' });
      await alice.next('pong');
      alice.socket.resetAndDestroy();
      await waitUntil(() => lab.events.some((e) => e['event'] === 'disconnect'), 'the disconnect event');
      await waitUntil(() => lab.events.some((e) => e['event'] === 'put'), 'the put event');
    } finally {
      await lab.stop();
    }
    expect(lab.events.find((e) => e['event'] === 'put')).toMatchObject({
      user: 'alice',
      id: 1,
      path: 'cut.bin',
      result: 'aborted',
    });
  });

  it('an upload whose connection closes while the file is being opened is audited', async () => {
    const lab = await startLab({ allow: '*' }, { alice: {} });
    try {
      const alice = await RawClient.ready(lab.port, lab.keys['alice'] as string, 'alice');
      alice.send({ type: 'put', id: 1, path: 'opening.bin', size: 100 });
      alice.socket.resetAndDestroy();
      await waitUntil(() => lab.events.some((e) => e['event'] === 'disconnect'), 'the disconnect event');
      await waitUntil(() => lab.events.some((e) => e['event'] === 'put'), 'the put event');
    } finally {
      await lab.stop();
    }
    expect(lab.events.find((e) => e['event'] === 'put')).toMatchObject({
      user: 'alice',
      id: 1,
      path: 'opening.bin',
      result: 'aborted',
    });
  });

  it('an upload in progress when rexecd is shut down (SIGTERM) leaves an audit line', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rexec-audit-'));
    const auditPath = join(dir, 'audit.log');
    const daemon = await startDaemon(['--audit-log', auditPath, '--grace', '200']);
    let status: number | null;
    let text: string;
    try {
      const client = await RawClient.ready(daemon.port, daemon.key);
      expect((await startPut(client, 1, 'upload.bin', 100_000)).type).toBe('ready');
      client.send({ type: 'data', id: 1 }, Buffer.alloc(1000));
      client.send({ type: 'ping' });
      await client.next('pong');
      status = await daemon.stop('SIGTERM');
    } finally {
      await daemon.stop();
      text = await readFile(auditPath, 'utf8');
      await rm(dir, { recursive: true, force: true });
    }
    const lines = text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(status).toBe(0);
    expect(lines.find((e) => e['event'] === 'put')).toMatchObject({
      id: 1,
      path: 'upload.bin',
      result: 'failed',
      code: 'SHUTTING_DOWN',
    });
  });
});
