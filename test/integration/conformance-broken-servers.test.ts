// The checker against deliberately broken servers (rexecd behind a proxy that breaks
// one rule): the whole suite runs, and exactly the checks of that rule fail, each
// saying what went wrong.
import { afterEach, describe, expect, it } from 'vitest';
import type { CheckResult } from '../../src/conformance/check.js';
import { runServerChecks } from '../../src/conformance/run-server-checks.js';
import { startBrokenServer } from '../helpers/broken-server.js';
import type { Breakage, BrokenServer } from '../helpers/broken-server.js';

let server: BrokenServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

async function failedChecks(breakage: Breakage, only?: string[], waitMs?: number): Promise<Map<string, string>> {
  server = await startBrokenServer(breakage);
  const report = await runServerChecks({
    target: { host: '127.0.0.1', port: server.port },
    key: server.key,
    graceMs: 500,
    only,
    waitMs,
  });
  return new Map(
    report.results
      .filter((result: CheckResult) => result.status === 'fail')
      .map((result) => [result.id, result.reason]),
  );
}

describe('conformance server against broken servers', () => {
  it('names the UTF-8 length checks when H counts characters instead of bytes', async () => {
    const failed = await failedChecks('char-lengths');
    expect([...failed.keys()].sort()).toEqual(['json-formatting', 'utf8-lengths']);
    expect(failed.get('utf8-lengths')).toMatch(/not a valid frame stream \(PROTOCOL: header is not valid/);
  });

  it('names the output size checks when bodies are not split at 1 MiB', async () => {
    const failed = await failedChecks('unsplit-output');
    expect([...failed.keys()].sort()).toEqual(['large-output', 'slow-reader']);
    expect(failed.get('large-output')).toMatch(/FRAME_TOO_LARGE: body length \d+ is over the limit of 1048576/);
  });

  it('names the mutual proof checks when auth-ok carries a forged proof', async () => {
    const failed = await failedChecks('forged-proof');
    expect([...failed.keys()].sort()).toEqual(['auth-default-user', 'auth-mutual-proof']);
    expect(failed.get('auth-mutual-proof')).toContain('the server does not prove it knows the key');
  });

  it('names the mutual proof checks when auth-ok carries no proof', async () => {
    const failed = await failedChecks('no-proof');
    expect([...failed.keys()].sort()).toEqual(['auth-default-user', 'auth-mutual-proof']);
    expect(failed.get('auth-mutual-proof')).toContain('auth-ok has no proof');
  });

  it('names the closing checks when processes outlive their connection', async () => {
    // Only the section 6 checks and a few others, with shorter waits: each failure waits
    // out the grace period and half a wait.
    const failed = await failedChecks('orphans', ['close', 'reset', 'fatal', 'exec-sequence', 'busy'], 4_000);
    expect([...failed.keys()].sort()).toEqual([
      'close-ends-leftovers',
      'close-ends-processes',
      'close-ends-stubborn-processes',
      'reset-ends-processes',
    ]);
    for (const reason of failed.values()) expect(reason).toMatch(/^processes [\d, ]+ still alive \d+ ms after/);
  });
});
