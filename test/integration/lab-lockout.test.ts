// The lockout after failed logins, attacked from a shared address: it counts per
// (address, user name), so a guesser cannot lock a classmate out; a coarser per-address
// limit keeps name spraying slow; a locked-out login is told so, and `rexec` says so.
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeProof, keyFromText, newNonce } from '../../src/protocol/auth-proof.js';
import { RawClient } from '../helpers/raw-client.js';
import { startLab } from '../helpers/lab.js';
import type { LabServer } from '../helpers/lab.js';
import { rexec } from '../helpers/rexec-cli.js';

interface Attempt {
  readonly result: string;
  readonly message: string;
}

/** One login from `from`: 'ok', or the error code with its message. */
async function login(port: number, user: string, key: string, from: string): Promise<Attempt> {
  const client = await RawClient.open(port, from);
  try {
    const hello = await client.next('hello');
    const snonce = Buffer.from(String(hello.header['nonce']), 'base64');
    const cnonce = newNonce();
    const proof = computeProof(keyFromText(key), 'client', user, snonce, cnonce);
    client.send({ type: 'auth', user, cnonce: cnonce.toString('base64'), proof });
    const reply = await client.next();
    if (reply.header.type === 'auth-ok') return { result: 'ok', message: '' };
    return { result: String(reply.header['code']), message: String(reply.header['message']) };
  } finally {
    client.close();
  }
}

const wrongKey = (): string => randomBytes(32).toString('hex');
const LOCKOUT = /^authentication failed: locked out for (\d+) s after repeated failed logins/;

describe('lockout from a shared address', () => {
  let lab: LabServer;
  beforeAll(async () => {
    lab = await startLab({ allow: ['echo'] }, { alice: {}, bob: {}, carol: {} });
  });
  afterAll(() => lab.stop());

  it('five wrong keys for one name lock out only that name at that address, and say so', async () => {
    for (let i = 0; i < 5; i += 1) {
      expect(await login(lab.port, 'alice', wrongKey(), '127.0.0.1')).toMatchObject({ result: 'AUTH_FAILED' });
    }
    // A classmate at the same address (a NAT, the lab's own router) is not locked out.
    expect(await login(lab.port, 'bob', lab.keys['bob'] as string, '127.0.0.1')).toEqual({ result: 'ok', message: '' });
    // Nor is alice from her own machine.
    expect(await login(lab.port, 'alice', lab.keys['alice'] as string, '127.0.0.2')).toEqual({
      result: 'ok',
      message: '',
    });
    // At the guessing address, alice's own key is refused, with a lockout the client can tell.
    const locked = await login(lab.port, 'alice', lab.keys['alice'] as string, '127.0.0.1');
    expect(locked.result).toBe('AUTH_FAILED');
    const seconds = Number(LOCKOUT.exec(locked.message)?.[1]);
    expect(seconds).toBeGreaterThan(0);
    expect(seconds).toBeLessThanOrEqual(60);
    const refusals = lab.events.filter((e) => e['event'] === 'locked-out');
    expect(refusals[0]).toMatchObject({ remote: '127.0.0.1', user: 'alice', count: 1 });
    expect(String(refusals[0]?.['reason'])).toMatch(/locked out for \d+ s/);
  });

  it('spraying names from one address locks that address out, but not users who logged in from it', async () => {
    // bob logs in from the address first: a known (address, user) pair.
    expect(await login(lab.port, 'bob', lab.keys['bob'] as string, '127.0.0.3')).toMatchObject({ result: 'ok' });
    const sprayed: string[] = [];
    // Five at a time: each new name is answered after a short tarpit delay.
    for (let batch = 0; batch < 10; batch += 1) {
      const names = Array.from({ length: 5 }, (_, i) => `guess${batch * 5 + i}`);
      const results = await Promise.all(names.map((name) => login(lab.port, name, wrongKey(), '127.0.0.3')));
      sprayed.push(...results.map((attempt) => attempt.result));
    }
    expect(sprayed.every((result) => result === 'AUTH_FAILED')).toBe(true);
    // The address is now locked for names it has not proved: carol never logged in from it.
    const carol = await login(lab.port, 'carol', lab.keys['carol'] as string, '127.0.0.3');
    expect(carol.result).toBe('AUTH_FAILED');
    expect(carol.message).toMatch(LOCKOUT);
    expect(carol.message).toContain('from this address');
    // Guessing goes on being refused without a check.
    expect((await login(lab.port, 'guess-more', wrongKey(), '127.0.0.3')).message).toMatch(LOCKOUT);
    // bob, who proved his key from there before, still gets in; carol does from elsewhere.
    expect(await login(lab.port, 'bob', lab.keys['bob'] as string, '127.0.0.3')).toMatchObject({ result: 'ok' });
    expect(await login(lab.port, 'carol', lab.keys['carol'] as string, '127.0.0.4')).toMatchObject({ result: 'ok' });
  });

  it('rexec reports a lockout as a lockout, not as a wrong key', async () => {
    for (let i = 0; i < 5; i += 1) {
      expect((await login(lab.port, 'carol', wrongKey(), '127.0.0.1')).result).toBe('AUTH_FAILED');
    }
    const keyFile = join(lab.dir, 'carol.key');
    await writeFile(keyFile, `${lab.keys['carol']}\n`, { mode: 0o600 });
    const result = await rexec(['-u', 'carol', 'run', '--', 'echo', 'hi'], {
      REXEC_HOST: '127.0.0.1',
      REXEC_PORT: String(lab.port),
      REXEC_KEY_FILE: keyFile,
    });
    const stderr = result.stderr.toString();
    expect(result.exitCode).toBe(255);
    expect(stderr).toMatch(/^rexec: locked out by the server for \d+ s after repeated failed logins/);
    expect(stderr).not.toContain("not the server's key");
  });
});
