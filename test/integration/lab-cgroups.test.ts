// A command confined by cgroups starts through a root preamble and setpriv, and must
// behave exactly as one that is not: the same pid and process group, exit status,
// signals, merged output, identity and environment; a SIGTERM during the preamble
// leaves nothing running; and nothing of the cgroups is left after the server stops.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodePtyInstalled } from '../../src/common/lazy-modules.js';
import { REXECD } from '../helpers/daemon.js';
import { IS_ROOT, startLab } from '../helpers/lab.js';
import type { LabServer } from '../helpers/lab.js';
import { RawClient, waitUntil } from '../helpers/raw-client.js';
import { processesRunning } from '../helpers/processes.js';

const CONTROLLERS = ['memory', 'pids', 'cpu'] as const;
const V1 = CONTROLLERS.every((name) => existsSync(`/sys/fs/cgroup/${name}/cgroup.procs`));
const HAVE_BWRAP = existsSync('/usr/bin/bwrap');
const LIMITS = { memoryBytes: 256 * 1024 * 1024, maxProcesses: 100, cpuWeight: 100 };

// This process's subtree (the lab server runs in it) in each v1 hierarchy.
function subtrees(): string[] {
  const own = readFileSync('/proc/self/cgroup', 'utf8');
  return CONTROLLERS.flatMap((name) => {
    const path = new RegExp(`^\\d+:(?:[^:]*,)?${name}(?:,[^:]*)?:(.*)$`, 'm').exec(own)?.[1] ?? '/';
    const dir = `/sys/fs/cgroup/${name}${path === '/' ? '' : path}`;
    return readdirSync(dir)
      .filter((entry) => entry === `rexecd-${process.pid}` || entry.startsWith(`rexecd-${process.pid}.`))
      .map((entry) => `${dir}/${entry}`);
  });
}

describe.runIf(IS_ROOT && V1)('commands in cgroups behave as before (preamble, then setpriv)', () => {
  let lab: LabServer;
  let client: RawClient;
  let trees: string[];
  beforeAll(async () => {
    lab = await startLab({ allow: '*', limits: LIMITS });
    client = await RawClient.ready(lab.port, lab.keys['alice'] as string, 'alice');
    trees = subtrees();
  });
  afterAll(async () => {
    client.close();
    await lab.stop();
    // The server is gone, and its cgroups with it.
    expect(trees.length).toBeGreaterThan(0);
    expect(trees.filter((tree) => existsSync(tree))).toStrictEqual([]);
  });

  it('keeps the pid rexecd reports, as the leader of its own process group', async () => {
    const result = await client.run(1, { argv: ['sh', '-c', 'echo $$; cut -d" " -f5 /proc/$$/stat'] });
    const [pid, pgid] = result.stdout.toString().trim().split('\n').map(Number);
    expect(pid).toBe(result.started?.['pid']);
    expect(pgid).toBe(pid);
  });

  it("runs in the user's group, as the runAs account with no other groups", async () => {
    const result = await client.run(2, {
      argv: ['sh', '-c', 'id -u; id -g; id -G; grep -E "memory|pids" /proc/self/cgroup'],
    });
    const lines = result.stdout.toString().trim().split('\n');
    expect(lines.slice(0, 3)).toStrictEqual(['65534', '65534', '65534']);
    expect(
      lines
        .slice(3)
        .every(
          (line) => line.endsWith(`/rexecd-${process.pid}/user-alice`) || /\/rexecd-\d+\.\d+\/user-alice$/.test(line),
        ),
    ).toBe(true);
    expect(lines).toHaveLength(5);
  });

  it('reports exit statuses and signals as they are', async () => {
    expect((await client.run(3, { argv: ['sh', '-c', 'exit 3'] })).exit).toMatchObject({ code: 3, signal: null });
    expect((await client.run(4, { argv: ['sh', '-c', 'kill -TERM $$'] })).exit).toMatchObject({
      code: null,
      signal: 'SIGTERM',
    });
    client.send({ type: 'exec', id: 5, argv: ['sleep', '30'] });
    await client.next('started', 5);
    client.send({ type: 'signal', id: 5, signal: 'SIGINT' });
    expect((await client.collect(5)).at(-1)?.header).toMatchObject({ type: 'exit', code: null, signal: 'SIGINT' });
  });

  it('merges stderr into stdout in order', async () => {
    const result = await client.run(6, { argv: ['sh', '-c', 'echo a; echo b >&2; echo c'], merge: true });
    expect(result.stdout.toString()).toBe('a\nb\nc\n');
    expect(result.types).not.toContain('stderr');
  });

  it("gives the command exactly the environment rexecd built (no PWD of the preamble's)", async () => {
    const plain = await client.run(7, { argv: ['env'] });
    const names = plain.stdout
      .toString()
      .trim()
      .split('\n')
      .map((line) => line.split('=')[0])
      .sort();
    expect(names).toStrictEqual(['HOME', 'LANG', 'LOGNAME', 'PATH', 'SHELL', 'USER']);
    const given = await client.run(8, { argv: ['env'], env: { PWD: '/given' } });
    expect(given.stdout.toString()).toContain('PWD=/given\n');
  });

  it.runIf(nodePtyInstalled())("runs a terminal command in the user's group too", async () => {
    const result = await client.run(9, {
      argv: ['sh', '-c', 'tty; id -u; grep pids /proc/self/cgroup'],
      pty: { cols: 80, rows: 24 },
    });
    const lines = result.stdout.toString().trim().split('\r\n');
    expect(lines[0]).toMatch(/^\/dev\/pts\/\d+$/);
    expect(lines[1]).toBe('65534');
    expect(lines[2]).toMatch(/\/user-alice$/);
  });

  it.runIf(nodePtyInstalled())(
    "puts the terminal's helper in the user's group: its memory and tasks count against the user",
    async () => {
      // Outside the group, every `-t` a student opened cost ~40 MB of root memory that no
      // limit of theirs counted. The helper is the command's parent.
      // (It ignores SIGHUP, which the terminal's end would send it.)
      client.send({
        type: 'exec',
        id: 10,
        argv: ['sh', '-c', 'trap "" HUP; exec sleep 47'],
        pty: { cols: 80, rows: 24 },
      });
      const started = await client.next('started', 10);
      const pid = Number(started.header['pid']);
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const helper = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      expect(readFileSync(`/proc/${helper}/cmdline`, 'utf8')).toContain('pty-helper');
      const groups = readFileSync(`/proc/${helper}/cgroup`, 'utf8');
      for (const name of CONTROLLERS) {
        expect(groups, name).toMatch(new RegExp(`^\\d+:(?:[^:]*,)?${name}(?:,[^:]*)?:.*/user-alice$`, 'm'));
      }
      // Its OOM score is rexecd's own, not the command's raised one.
      expect(readFileSync(`/proc/${helper}/oom_score_adj`, 'utf8').trim()).toBe(
        readFileSync('/proc/self/oom_score_adj', 'utf8').trim(),
      );
      // The command's is raised by its preamble, which may still be running.
      await waitUntil(() => readFileSync(`/proc/${pid}/oom_score_adj`, 'utf8').trim() === '500', "the command's score");
      // Its own threads are few: each one counts against the user's pids.max.
      // (9 with Node's defaults, 6 with one V8 and one libuv worker.)
      expect(readdirSync(`/proc/${helper}/task`).length).toBeLessThanOrEqual(7);
      // The OOM killer of a full group may still pick it (it is the largest process):
      // then the command must not run on unseen. It is killed and its exit reported.
      process.kill(helper, 'SIGKILL');
      expect((await client.next('exit', 10)).header).toMatchObject({ code: null, signal: 'SIGKILL' });
      await waitUntil(
        () => !existsSync(`/proc/${pid}`) || / Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8')),
        'the command to be gone',
      );
    },
  );

  it('an early SIGTERM ends the command and leaves nothing behind, every time', async () => {
    for (let i = 0; i < 20; i += 1) {
      const id = 100 + i;
      client.send({ type: 'exec', id, argv: ['sleep', '41'] });
      await client.next('started', id);
      client.send({ type: 'signal', id, signal: 'SIGTERM' });
      const exit = await client.next('exit', id, 20_000);
      expect(exit.header, `try ${i}`).toMatchObject({ code: null });
    }
    expect(await waitUntil(() => processesRunning('sleep 41').length === 0, 'no sleeper left', 5_000)).toBe(true);
  }, 120_000);
});

describe.runIf(IS_ROOT && V1 && HAVE_BWRAP)('sandboxed commands in cgroups', () => {
  it('an early SIGTERM ends the command and leaves nothing behind, every time', async () => {
    const lab = await startLab({ allow: '*', sandbox: 'bwrap', limits: LIMITS }, { alice: {} });
    try {
      for (let i = 0; i < 20; i += 1) {
        const client = await RawClient.ready(lab.port, lab.keys['alice'] as string, 'alice');
        client.send({ type: 'exec', id: 1, argv: ['sleep', '43'] });
        await client.next('started', 1);
        client.send({ type: 'signal', id: 1, signal: 'SIGTERM' });
        const exit = await client.next('exit', 1, 20_000).catch(() => undefined);
        client.close();
        expect(exit?.header, `try ${i}: no exit after SIGTERM`).toMatchObject({ code: null });
      }
    } finally {
      await lab.stop();
      const left = await waitUntil(() => processesRunning('sleep 43').length === 0, 'sleepers to end', 5_000).catch(
        () => false,
      );
      expect(left, `still running: ${processesRunning('sleep 43').join(', ')}`).toBe(true);
    }
  }, 300_000);
});

describe('cgroup limits without root', () => {
  // The program, as an unprivileged user (nobody, when the tests run as root).
  it('refuse to start, and say why', async () => {
    const dir = await realpath(await mkdtemp(join(tmpdir(), 'rexec-noroot-')));
    try {
      await chmod(dir, 0o755);
      await writeFile(
        join(dir, 'lab.json'),
        JSON.stringify({ root: dir, allow: '*', limits: { memoryBytes: 64 * 1024 * 1024 } }),
      );
      const result = spawnSync(
        process.execPath,
        [REXECD, '--port', '0', '--no-auth', '--root', dir, '--policy', join(dir, 'lab.json')],
        {
          encoding: 'utf8',
          timeout: 20_000,
          ...(IS_ROOT ? { uid: 65534, gid: 65534 } : {}),
        },
      );
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(
        /^rexecd: limits\.memoryBytes, maxProcesses and cpuWeight are enforced with cgroups, which need rexecd to run as root/m,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
