// `rexec conformance server` and `rexec conformance client` as processes: against the
// real rexecd program and the built `rexec run`, a broken server and a broken client;
// output lines, summaries, JSON and exit statuses (0 conforms, 1 does not, 255 cannot run).
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBrokenServer } from '../helpers/broken-server.js';
import { startDaemon } from '../helpers/daemon.js';
import type { Daemon } from '../helpers/daemon.js';
import { REXEC_BIN, rexec } from '../helpers/rexec-cli.js';

const NAIVE_CLIENT = fileURLToPath(new URL('../fixtures/conformance/naive-client.mjs', import.meta.url));

describe('rexec conformance server', () => {
  let daemon: Daemon;
  beforeAll(async () => {
    daemon = await startDaemon(['--idle-timeout', '2000', '--grace', '500']);
  });
  afterAll(() => daemon.stop());

  it('checks the rexecd program: a line per check, a summary, status 0', async () => {
    const result = await rexec(
      [
        'conformance',
        'server',
        `127.0.0.1:${daemon.port}`,
        '-k',
        daemon.keyFile,
        '--idle-timeout',
        '2000',
        '--grace',
        '500',
      ],
      {},
    );
    const lines = result.stdout.toString().trimEnd().split('\n');
    expect(result.stderr.toString()).toBe('');
    expect(lines[0]).toMatch(/^PASS {2}hello {31} §3\.1 {2}the server speaks first/);
    expect(lines.filter((line) => line.startsWith('FAIL'))).toEqual([]);
    expect(lines.at(-1)).toMatch(
      new RegExp(`^rexecd/\\S+ at 127\\.0\\.0\\.1:${daemon.port}: \\d+ passed, 0 failed, 2 skipped of \\d+: conforms$`),
    );
    expect(result.exitCode).toBe(0);
  });

  it('takes the key from REXEC_KEY_FILE, selects checks with --only, and prints JSON with --json', async () => {
    const result = await rexec(
      ['conformance', 'server', `127.0.0.1:${daemon.port}`, '--only', 'auth,ping-pong', '--json'],
      {
        REXEC_KEY_FILE: daemon.keyFile,
      },
    );
    expect(result.exitCode).toBe(0);
    const report = JSON.parse(result.stdout.toString()) as {
      ok: boolean;
      passed: number;
      results: Array<{ id: string }>;
    };
    expect(report).toMatchObject({ ok: true, passed: 6, failed: 0, skipped: 1 });
    expect(report.results.map((entry) => entry.id)).toEqual([
      'auth-mutual-proof',
      'auth-wrong-proof',
      'auth-default-user',
      'auth-short-cnonce',
      'auth-required',
      'auth-timeout',
      'ping-pong',
    ]);
  });

  it('fails with status 1 against a server that forges its proof, naming the check and why', async () => {
    const broken = await startBrokenServer('forged-proof');
    try {
      const result = await rexec(
        ['conformance', 'server', `127.0.0.1:${broken.port}`, '--only', 'hello,auth-mutual-proof'],
        {
          REXEC_KEY_FILE: broken.rexecd.keyFile,
        },
      );
      expect(result.exitCode).toBe(1);
      const text = result.stdout.toString();
      expect(text).toContain('FAIL  auth-mutual-proof');
      expect(text).toContain('      -> the auth-ok proof is wrong');
      expect(text.trimEnd().split('\n').at(-1)).toMatch(
        /2 passed, 1 failed, 0 skipped of 3: does not conform \(failed: auth-mutual-proof\)$/,
      );
    } finally {
      await broken.stop();
    }
  });

  it('fails with status 255 when it cannot check at all, saying why', async () => {
    const nothing = await rexec(['conformance', 'server', '127.0.0.1:1'], {});
    expect(nothing.exitCode).toBe(255);
    expect(nothing.stderr.toString()).toBe('rexec: cannot connect to 127.0.0.1:1 (ECONNREFUSED)\n');
    const noKey = await rexec(['conformance', 'server', `127.0.0.1:${daemon.port}`, '-k', '/nonexistent/key'], {});
    expect(noKey.exitCode).toBe(255);
    expect(noKey.stderr.toString()).toContain(
      'give its key file with --key-file (key file /nonexistent/key does not exist)',
    );
    const noTarget = await rexec(['conformance', 'server'], {});
    expect(noTarget.exitCode).toBe(255);
    const badName = await rexec(['conformance', 'server', `127.0.0.1:${daemon.port}`, '--only', 'nope'], {
      REXEC_KEY_FILE: daemon.keyFile,
    });
    expect(badName.stderr.toString()).toBe('rexec: no check named "nope" (--list shows them)\n');
  });

  it('lists its checks with --list', async () => {
    const result = await rexec(['conformance', 'server', '--list'], {});
    expect(result.exitCode).toBe(0);
    expect(result.stdout.toString()).toMatch(/^slow-reader +§5 +a client that stops reading/m);
  });
});

describe('rexec conformance client', () => {
  it('passes the built `rexec run --`, status 0', async () => {
    const result = await rexec(
      [
        'conformance',
        'client',
        '--only',
        'cut-in-prefix,coalesced,max-bodies,exit-signal',
        '--',
        process.execPath,
        REXEC_BIN,
        'run',
        '--',
      ],
      {},
    );
    expect(result.stdout.toString().trimEnd().split('\n').at(-1)).toMatch(
      /: 4 passed, 0 failed, 0 skipped of 4: conforms$/,
    );
    expect(result.exitCode).toBe(0);
  });

  it('fails a client that decodes from read boundaries, status 1, with what differed', async () => {
    const result = await rexec(
      [
        'conformance',
        'client',
        '--only',
        'coalesced',
        '--timeout',
        '3000',
        '--json',
        '--',
        process.execPath,
        NAIVE_CLIENT,
      ],
      {},
    );
    expect(result.exitCode).toBe(1);
    const report = JSON.parse(result.stdout.toString()) as {
      ok: boolean;
      results: Array<{ id: string; status: string; reason: string }>;
    };
    expect(report.ok).toBe(false);
    expect(report.results[0]).toMatchObject({ id: 'coalesced', status: 'fail' });
    expect(report.results[0]?.reason).toMatch(/stdout is \d+ bytes, expected 10472; first difference at byte \d+/);
  });

  it('lists its scenarios, and needs a command', async () => {
    expect((await rexec(['conformance', 'client', '--list'], {})).stdout.toString()).toMatch(/^cut-in-prefix +§1 /m);
    const none = await rexec(['conformance', 'client'], {});
    expect(none.exitCode).toBe(255);
    expect(none.stderr.toString()).toBe('rexec: no client command given (after --)\n');
  });
});
