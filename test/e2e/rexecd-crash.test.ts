// Processes outlive a rexecd that is killed (kill -9, a crash): nothing is left to end
// them. A rexecd started again on the same address ends what its predecessor left,
// from its ledger of process groups, and never a process that only reuses a pid.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyText } from '../../src/common/key-file.js';
import { startTime } from '../../src/server/group-ledger.js';
import { startDaemon } from '../helpers/daemon.js';
import { freePort } from '../helpers/free-port.js';
import { RawClient, waitUntil } from '../helpers/raw-client.js';

const IS_ROOT = process.getuid?.() === 0;
const PIDS_V1 = existsSync('/sys/fs/cgroup/pids/cgroup.procs');

function alive(pid: number): boolean {
  return startTime(pid) !== undefined;
}

describe('a rexecd killed with SIGKILL, started again on the same address', () => {
  let stateDir: string;
  beforeAll(async () => {
    stateDir = await realpath(await mkdtemp(join(tmpdir(), 'rexecd-state-')));
  });
  afterAll(() => rm(stateDir, { recursive: true, force: true }));

  it('ends the command its predecessor left running, within the grace period', async () => {
    const port = await freePort();
    const args = ['--port', String(port), '--state-dir', stateDir, '--grace', '500'];
    const first = await startDaemon(args);
    const client = await RawClient.ready(first.port, first.key);
    // A command that ignores SIGTERM too: the SIGKILL after the grace period must come.
    client.send({ type: 'exec', id: 1, argv: ['sh', '-c', 'trap "" TERM; sleep 300'] });
    const pid = Number((await client.next('started', 1)).header['pid']);
    await first.stop('SIGKILL');
    client.close();
    // This was the defect: nothing ended it.
    expect(alive(pid)).toBe(true);
    const second = await startDaemon(args);
    try {
      await waitUntil(() => !alive(pid), 'the left command to be ended');
      expect(second.stderr()).toMatch(/ending process groups a previous rexecd on this address left running/);
    } finally {
      await second.stop();
    }
    // A clean stop leaves no ledger behind.
    expect(await readdir(stateDir)).toEqual([]);
  });

  it('ends what a finished command left in its group, though the group leader is gone', async () => {
    const port = await freePort();
    const args = ['--port', String(port), '--state-dir', stateDir, '--grace', '500'];
    const first = await startDaemon(args);
    const client = await RawClient.ready(first.port, first.key);
    // The command exits at once; its background process stays in its group, which
    // lingers until the connection closes. The leader's pid no longer names the group.
    const result = await client.run(1, { argv: ['sh', '-c', 'sleep 300 </dev/null >/dev/null 2>&1 & echo $!'] });
    const pid = Number(result.stdout.toString().trim());
    expect(result.exit).toMatchObject({ code: 0 });
    // The ledger names the group by that process once rexecd has looked through /proc
    // (at most a second after the leader's exit).
    const ledger = join(stateDir, `groups-127.0.0.1-${port}`);
    await waitUntil(() => readFileSync(ledger, 'utf8').includes(` ${pid}\n`), 'the member in the ledger');
    await first.stop('SIGKILL');
    client.close();
    // This was the defect: the ledger knew only the exited leader.
    expect(alive(pid)).toBe(true);
    const second = await startDaemon(args);
    try {
      await waitUntil(() => !alive(pid), 'the leftover of the finished command to be ended');
      expect(second.stderr()).toMatch(/ending process groups a previous rexecd on this address left running/);
    } finally {
      await second.stop();
    }
  });

  it('never signals a process that has a recorded pid but started at another time', async () => {
    const port = await freePort();
    // A stranger, not started by rexecd, whose pid stands in the ledger with another start time.
    const stranger = spawn('sleep', ['300'], { detached: true, stdio: 'ignore' });
    const pid = stranger.pid as number;
    try {
      const started = startTime(pid) as number;
      await writeFile(join(stateDir, `groups-127.0.0.1-${port}`), `${pid} ${started - 1}\n${pid} ${started + 1}\n`, {
        mode: 0o600,
      });
      const daemon = await startDaemon(['--port', String(port), '--state-dir', stateDir, '--grace', '200']);
      try {
        // rexecd reads its ledger and signals what it ends before it says it listens,
        // and sleep dies of the first signal: had it been signalled, it would be gone.
        const client = await RawClient.ready(daemon.port, daemon.key);
        await client.run(1, { argv: ['true'] });
        client.close();
        expect(alive(pid)).toBe(true);
        expect(daemon.stderr()).not.toMatch(/ending process groups/);
      } finally {
        await daemon.stop();
      }
    } finally {
      process.kill(-pid, 'SIGKILL');
    }
  });
});

describe.runIf(IS_ROOT && PIDS_V1)('a lab rexecd with cgroup limits, killed and started again', () => {
  it("kills what a command left in its user's cgroup, even detached from its group", async () => {
    const dir = await realpath(await mkdtemp(join(tmpdir(), 'rexecd-stale-')));
    try {
      await chmod(dir, 0o755);
      const root = join(dir, 'root');
      await mkdir(root);
      await chmod(root, 0o777);
      const key = generateKeyText();
      const args = [
        '--policy',
        join(dir, 'lab.json'),
        '--users',
        join(dir, 'users.json'),
        '--state-dir',
        join(dir, 'state'),
      ];
      await writeFile(
        join(dir, 'lab.json'),
        JSON.stringify({ root, allow: '*', runAs: { user: 'nobody' }, limits: { maxProcesses: 32 } }),
      );
      await writeFile(join(dir, 'users.json'), JSON.stringify({ users: { alice: { key } } }), { mode: 0o600 });
      const first = await startDaemon(args);
      const client = await RawClient.ready(first.port, key, 'alice');
      // Out of its process group and session (setsid), past its leader's exit: the
      // ledger cannot reach it, the cgroup can.
      const result = await client.run(1, {
        argv: ['sh', '-c', 'setsid sleep 300 </dev/null >/dev/null 2>&1 & echo $!'],
      });
      const pid = Number(result.stdout.toString().trim());
      client.close();
      await first.stop('SIGKILL');
      expect(alive(pid)).toBe(true);
      const second = await startDaemon(args);
      try {
        await waitUntil(() => !alive(pid), 'the detached leftover to be killed');
        expect(second.stderr()).toMatch(/killed what a previous rexecd left running/);
      } finally {
        await second.stop();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
