// Per-user keys, the lockout of names that keep failing, and the audit trail.
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeProof, keyFromText, newNonce } from '../../src/protocol/auth-proof.js';
import { createAuditLog, createServer } from '../../src/server/index.js';
import { REXECD } from '../helpers/daemon.js';
import { RawClient, waitUntil } from '../helpers/raw-client.js';
import { LAB_RUN_AS, startLab } from '../helpers/lab.js';
import type { LabServer } from '../helpers/lab.js';

async function tryAuth(port: number, user: string, key: string): Promise<string> {
  const client = await RawClient.open(port);
  const hello = await client.next('hello');
  const snonce = Buffer.from(String(hello.header['nonce']), 'base64');
  const cnonce = newNonce();
  client.send({
    type: 'auth',
    user,
    cnonce: cnonce.toString('base64'),
    proof: computeProof(keyFromText(key), 'client', user, snonce, cnonce),
  });
  const reply = await client.next();
  client.close();
  return reply.header.type === 'auth-ok' ? 'ok' : String(reply.header['code']);
}

describe('per-user keys and lockout', () => {
  let lab: LabServer;
  beforeAll(async () => {
    lab = await startLab({ allow: '*' }, { alice: {}, bob: {} }, { authGuard: { maxFailures: 3, windowMs: 60_000 } });
  });
  afterAll(() => lab.stop());

  it('each user logs in with their own key only; unknown users fail', async () => {
    expect(await tryAuth(lab.port, 'alice', lab.keys['alice'] as string)).toBe('ok');
    expect(await tryAuth(lab.port, 'bob', lab.keys['bob'] as string)).toBe('ok');
    expect(await tryAuth(lab.port, 'bob', lab.keys['alice'] as string)).toBe('AUTH_FAILED');
    expect(await tryAuth(lab.port, 'mallory', lab.keys['alice'] as string)).toBe('AUTH_FAILED');
  });

  it('locks a name out at an address after repeated failures: then even the right key fails, told so', async () => {
    // Three failures of one name from one address lock that name out there.
    for (let i = 0; i < 3; i += 1)
      expect(await tryAuth(lab.port, 'alice', 'guess-guess-guess-guess')).toBe('AUTH_FAILED');
    expect(await tryAuth(lab.port, 'alice', lab.keys['alice'] as string)).toBe('AUTH_FAILED');
    const refusals = lab.events.filter((e) => e['event'] === 'locked-out');
    expect(String(refusals.at(-1)?.['reason'])).toMatch(
      /^authentication failed: locked out for \d+ s after repeated failed logins/,
    );
    expect(refusals.at(-1)).toMatchObject({ user: 'alice', remote: '127.0.0.1', count: 1 });
    // The other names from the same address are not held back.
    expect(await tryAuth(lab.port, 'bob', lab.keys['bob'] as string)).toBe('ok');
  });
});

describe('audit log', () => {
  it('records connect, auth, exec, exit, denied and disconnect, without keys or proofs', async () => {
    const lab = await startLab({ allow: ['echo'] });
    const key = lab.keys['alice'] as string;
    try {
      const client = await RawClient.ready(lab.port, key, 'alice');
      await client.run(1, { argv: ['echo', 'audited'] });
      await client.run(2, { argv: ['uname'] });
      client.close();
      await waitUntil(() => lab.events.some((e) => e['event'] === 'disconnect'), 'the disconnect event');
      const names = lab.events.map((e) => e['event']);
      expect(names).toEqual(['connect', 'auth-ok', 'exec', 'exit', 'denied', 'disconnect']);
      expect(lab.events[2]).toMatchObject({ user: 'alice', id: 1, request: { argv: ['echo', 'audited'] } });
      expect(lab.events[3]).toMatchObject({ user: 'alice', id: 1, code: 0, stdoutBytes: 8, timedOut: false });
      expect(lab.events[4]).toMatchObject({ user: 'alice', id: 2, request: { argv: ['uname'] } });
      expect(JSON.stringify(lab.events)).not.toContain(key);
    } finally {
      await lab.stop();
    }
  });

  it('writes JSON lines to a file (0600) with pino, even when the client vanishes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rexec-audit-'));
    const path = join(dir, 'audit.log');
    const lab = await startLab({ allow: '*' }, { alice: {} }, { audit: createAuditLog(path) });
    try {
      const client = await RawClient.ready(lab.port, lab.keys['alice'] as string, 'alice');
      client.send({ type: 'exec', id: 1, argv: ['sleep', '30'] });
      await client.next('started', 1);
      client.socket.resetAndDestroy();
      await waitUntil(async () => (await readFile(path, 'utf8')).includes('"event":"exit"'), 'the exit line');
      const lines = (await readFile(path, 'utf8'))
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(lines.map((l) => l['event'])).toEqual(['connect', 'auth-ok', 'exec', 'disconnect', 'exit']);
      expect(lines[2]).toMatchObject({ level: 30, user: 'alice', request: { argv: ['sleep', '30'] } });
      expect(typeof lines[0]?.['time']).toBe('string');
      expect((await stat(path)).mode & 0o777).toBe(0o600);
    } finally {
      await lab.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('configuration errors', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rexec-config-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('names the field and what is wrong', async () => {
    const policyFile = join(dir, 'bad.json');
    await writeFile(
      policyFile,
      JSON.stringify({ ...LAB_RUN_AS, limits: { nproc: -3 }, allow: 'everything', colour: 'red' }),
    );
    expect(() =>
      createServer({
        auth: { mode: 'hmac-sha256', keys: new Map([['default', 'k'.repeat(32)]]) },
        port: 0,
        policyFile,
      }),
    ).toThrow(/limits\.nproc: .*\n.*allow: .*\n?.*|colour/s);
    const result = spawnSync(
      process.execPath,
      [REXECD, '--port', '0', '--policy', policyFile, '--key-file', join(dir, 'k')],
      {
        encoding: 'utf8',
        timeout: 20_000,
      },
    );
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('limits.nproc');
    expect(result.stderr).toContain('colour');
    expect(result.stdout).toBe('');
  });

  it('a policy with per-user rules needs a users file', async () => {
    const policyFile = join(dir, 'per-user.json');
    await writeFile(policyFile, JSON.stringify({ ...LAB_RUN_AS, allow: ['ls'], users: { teacher: { allow: '*' } } }));
    expect(() =>
      createServer({
        auth: { mode: 'hmac-sha256', keys: new Map([['default', 'k'.repeat(32)]]) },
        port: 0,
        policyFile,
      }),
    ).toThrow(/needs a users file/);
  });

  it('a users entry needs exactly one of key and keyFile', async () => {
    const usersFile = join(dir, 'users.json');
    await writeFile(usersFile, JSON.stringify({ users: { alice: {} } }));
    expect(() => createServer({ auth: { mode: 'hmac-sha256', keys: new Map() }, port: 0, usersFile })).toThrow(
      /users\.alice: needs exactly one of "key" and "keyFile"/,
    );
  });

  it('adduser writes a 0600 key and an entry, and says what to hand over', async () => {
    const usersFile = join(dir, 'class', 'users.json');
    const run = (name: string): ReturnType<typeof spawnSync> =>
      spawnSync(
        process.execPath,
        [REXECD, 'adduser', name, '--no-account', '--users', usersFile, '--host', 'lab.example', '--port', '7077'],
        {
          encoding: 'utf8',
          timeout: 20_000,
        },
      );
    const first = run('carol');
    expect(first.status).toBe(0);
    expect(String(first.stdout)).toContain('rexec -H lab.example -p 7077 -u carol -k');
    const keyFile = join(dir, 'class', 'keys', 'carol.key');
    expect((await readFile(keyFile, 'utf8')).trim()).toMatch(/^[0-9a-f]{64}$/);
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(usersFile, 'utf8'))).toEqual({ users: { carol: { keyFile: 'keys/carol.key' } } });
    const again = run('carol');
    expect(again.status).toBe(1);
    expect(String(again.stderr)).toContain('already has a user "carol"');
  });
});
