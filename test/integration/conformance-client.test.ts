// The torture server and `rexec conformance client`: our own client (the built `rexec
// run`) reassembles every scenario exactly; a client that decodes from read boundaries
// does not; the client library untangles the interleaved frames of concurrent commands.
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { connect } from '../../src/client/index.js';
import type { CheckResult } from '../../src/conformance/check.js';
import { runClientChecks } from '../../src/conformance/torture/run-client-checks.js';
import { SCENARIOS } from '../../src/conformance/torture/scenarios.js';
import { TortureServer } from '../../src/conformance/torture/torture-server.js';
import { REXEC_BIN } from '../helpers/rexec-cli.js';
import { readAll } from '../helpers/streams.js';

const NAIVE_CLIENT = fileURLToPath(new URL('../fixtures/conformance/naive-client.mjs', import.meta.url));

const statuses = (results: readonly CheckResult[]): Record<string, string> =>
  Object.fromEntries(results.map((result) => [result.id, result.status]));

describe('conformance client', () => {
  it('passes every scenario with our own client, `rexec run --`', async () => {
    const report = await runClientChecks({ command: [process.execPath, REXEC_BIN, 'run', '--'] });
    expect(report.results.filter((result) => result.status !== 'pass').map((r) => `${r.id}: ${r.reason}`)).toEqual([]);
    expect(report.results.map((result) => result.id)).toEqual(SCENARIOS.map((scenario) => scenario.name));
  });

  it('fails a client that takes every read for one frame, naming what it got wrong', async () => {
    const report = await runClientChecks({
      command: [process.execPath, NAIVE_CLIENT],
      only: ['cut-in-prefix', 'coalesced', 'tiny-bodies', 'max-bodies'],
      scenarioDeadlineMs: 5_000,
    });
    expect(statuses(report.results)).toEqual({
      'cut-in-prefix': 'fail',
      coalesced: 'fail',
      'tiny-bodies': 'fail',
      'max-bodies': 'fail',
    });
    const coalesced = report.results.find((result) => result.id === 'coalesced');
    expect(coalesced?.reason).toMatch(/stdout is \d+ bytes, expected 10472; first difference at byte/);
  });

  it('fails a client whose exit status is not the remote one, and one that cannot be started', async () => {
    const wrongStatus = await runClientChecks({
      command: ['sh', '-c', '"$0" "$1" run -- "$2"; exit 0', process.execPath, REXEC_BIN],
      only: ['exit-code', 'whole-frames'],
    });
    expect(statuses(wrongStatus.results)).toEqual({ 'whole-frames': 'pass', 'exit-code': 'fail' });
    expect(wrongStatus.results.find((result) => result.id === 'exit-code')?.reason).toMatch(
      /^exit status 0, expected 3 \(section 7\)/,
    );
    const missing = await runClientChecks({ command: ['/nonexistent/rexec-client'], only: ['empty-output'] });
    expect(missing.results[0]).toMatchObject({
      status: 'fail',
      reason: 'cannot run "/nonexistent/rexec-client": ENOENT',
    });
  });

  it('refuses an empty command and an unknown scenario', async () => {
    await expect(runClientChecks({ command: [] })).rejects.toMatchObject({ code: 'CONFIG' });
    await expect(runClientChecks({ command: ['true'], only: ['no-such-scenario'] })).rejects.toMatchObject({
      code: 'CONFIG',
    });
  });
});

describe('the torture server and the client library', () => {
  let server: TortureServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('interleaves the frames of commands run at once; each command gets exactly its own output', async () => {
    const key = randomBytes(32).toString('hex');
    server = await TortureServer.start(key, SCENARIOS);
    const client = await connect({ host: '127.0.0.1', port: server.port, key, user: 'library' });
    const names = ['interleaved-streams', 'binary-bodies', 'tiny-bodies', 'exit-code', 'json-formatting', 'max-bodies'];
    const runs = names.map((name) => client.exec({ argv: [name] }));
    const outcomes = await Promise.all(
      runs.map(async (run) => {
        const [stdout, stderr, exit] = await Promise.all([readAll(run.stdout), readAll(run.stderr), run.exit]);
        return { stdout, stderr, code: exit.code };
      }),
    );
    names.forEach((name, i) => {
      const expected = SCENARIOS.find((scenario) => scenario.name === name)?.expected();
      expect(outcomes[i]?.stdout.equals(expected?.stdout ?? Buffer.alloc(1)), `${name} stdout`).toBe(true);
      expect(outcomes[i]?.stderr.equals(expected?.stderr ?? Buffer.alloc(1)), `${name} stderr`).toBe(true);
      expect(outcomes[i]?.code, `${name} code`).toBe(expected?.status);
    });
    expect(server.observations).toMatchObject({ connections: 1, authenticated: 1, requests: names, violations: [] });
    await client.close();
  });

  it('reports a client whose proof is wrong', async () => {
    server = await TortureServer.start(randomBytes(32).toString('hex'), SCENARIOS);
    const failure = await connect({ host: '127.0.0.1', port: server.port, key: 'not the key' }).catch(
      (error: unknown) => error,
    );
    expect(failure).toMatchObject({ code: 'AUTH_FAILED' });
    expect(server.observations.violations).toEqual([
      'the client\'s proof for user "default" is wrong (not HMAC of the key over the section 3 input)',
    ]);
  });
});
