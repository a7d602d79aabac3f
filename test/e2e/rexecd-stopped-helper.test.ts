// A student may stop her own file helper (it runs as her account) and then let rexecd end
// it: the put is aborted when her connection closes, and rexecd stops at once. The helper
// is woken (SIGCONT) to hear its closed stdin, and its SIGKILL after the grace period is
// on a timer that keeps rexecd running until then: rexecd never exits leaving it behind,
// stopped, for good. (Servers in a test's own process did leave such helpers, stopped.)
import { readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyText } from '../../src/common/key-file.js';
import { startDaemon } from '../helpers/daemon.js';
import type { Daemon } from '../helpers/daemon.js';
import { fileHelpersOf } from '../helpers/processes.js';
import { pidAlive, RawClient, waitUntil } from '../helpers/raw-client.js';

const IS_ROOT = process.getuid?.() === 0;

describe.runIf(IS_ROOT)('a file helper stopped by its own student when rexecd stops', () => {
  let daemon: Daemon;
  let dir: string;
  let helper: number | undefined;
  const key = generateKeyText();
  beforeAll(async () => {
    dir = await realpath(await mkdtemp(join(tmpdir(), 'rexec-stopped-')));
    await chmod(dir, 0o755);
    const root = join(dir, 'root');
    await mkdir(root);
    await chmod(root, 0o777);
    const policy = join(dir, 'lab.json');
    const users = join(dir, 'users.json');
    await writeFile(policy, JSON.stringify({ root, allow: '*', runAs: { user: 'nobody' } }));
    await writeFile(users, JSON.stringify({ users: { alice: { key } } }), { mode: 0o600 });
    daemon = await startDaemon(['--policy', policy, '--users', users, '--grace', '1000']);
  });
  afterAll(async () => {
    if (helper !== undefined && pidAlive(helper)) process.kill(helper, 'SIGKILL');
    await daemon?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('is ended before rexecd exits', async () => {
    const alice = await RawClient.ready(daemon.port, key, 'alice');
    alice.send({ type: 'put', id: 1, path: 'never.txt', size: 10 });
    await alice.next('ready', 1);
    helper = await waitUntil(() => fileHelpersOf(daemon.process.pid as number)[0], 'the file helper');
    process.kill(helper, 'SIGSTOP');
    await waitUntil(() => /^State:\s+T/m.test(readStatus(helper as number)), 'the helper to stop');
    alice.close();
    expect(await daemon.stop()).toBe(0);
    expect(pidAlive(helper), 'the stopped helper outlived rexecd').toBe(false);
  });
});

function readStatus(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return '';
  }
}
