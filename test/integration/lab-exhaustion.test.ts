// One student must not be able to exhaust the lab machine: a real rexecd program as
// root, real cgroup v1 controllers and real bubblewrap. Alice fills /tmp, allocates in
// many processes and forks in a loop; each attack stops at her policy's limit, rexecd
// survives, and Bob's `echo ok` still answers (its latency is printed, not asserted).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyText } from '../../src/common/key-file.js';
import { startDaemon } from '../helpers/daemon.js';
import type { Daemon } from '../helpers/daemon.js';
import { sendData, framesUntil, startPut } from '../helpers/files.js';
import { IS_ROOT } from '../helpers/lab.js';
import { pidAlive, RawClient, waitUntil } from '../helpers/raw-client.js';

const MiB = 1024 * 1024;
const LIMITS = { memoryBytes: 200 * MiB, maxProcesses: 64, cpuWeight: 50, tmpBytes: 32 * MiB, timeoutMs: 60_000 };
const CONTROLLERS = ['memory', 'pids', 'cpu'] as const;
const V1 = CONTROLLERS.every((name) => existsSync(`/sys/fs/cgroup/${name}/cgroup.procs`));
const HAVE_BWRAP = existsSync('/usr/bin/bwrap');
// Root without CAP_SYS_RESOURCE (some containers) may raise scores but not lower them.
const CAP_SYS_RESOURCE = 24;
const CAPS = BigInt(`0x${/^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '0'}`);
const MAY_LOWER_SCORES = ((CAPS >> BigInt(CAP_SYS_RESOURCE)) & 1n) === 1n;

// rexecd's subtree in each v1 hierarchy: under its own cgroup there (mounted at the root).
function subtrees(pid: number): string[] {
  const own = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
  return CONTROLLERS.map((name) => {
    const path = new RegExp(`^\\d+:(?:[^:]*,)?${name}(?:,[^:]*)?:(.*)$`, 'm').exec(own)?.[1] ?? '/';
    return `/sys/fs/cgroup/${name}${path === '/' ? '' : path}/rexecd-${pid}`;
  });
}

function read(path: string): string {
  return readFileSync(path, 'utf8').trim();
}

// The processes whose command line has `marker`.
function processesWith(marker: string): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe.runIf(IS_ROOT && V1 && HAVE_BWRAP)(
  'one student cannot exhaust the machine (rexecd as root, cgroup v1, bwrap)',
  () => {
    let dir: string;
    let daemon: Daemon;
    let alice: RawClient;
    let bob: RawClient;
    let groups: string[];
    let nextId = 1;

    beforeAll(async () => {
      dir = await realpath(await mkdtemp(join(tmpdir(), 'rexec-exhaust-')));
      await chmod(dir, 0o755);
      const root = join(dir, 'root');
      await mkdir(root);
      await chmod(root, 0o777);
      const keys = { alice: generateKeyText(), bob: generateKeyText() };
      await writeFile(
        join(dir, 'lab.json'),
        JSON.stringify({ root, allow: '*', runAs: { user: 'nobody' }, sandbox: 'bwrap', limits: LIMITS }),
      );
      await writeFile(
        join(dir, 'users.json'),
        JSON.stringify({ users: { alice: { key: keys.alice }, bob: { key: keys.bob } } }),
        {
          mode: 0o600,
        },
      );
      daemon = await startDaemon([
        '--policy',
        join(dir, 'lab.json'),
        '--users',
        join(dir, 'users.json'),
        '--grace',
        '300',
      ]);
      alice = await RawClient.ready(daemon.port, keys.alice, 'alice');
      bob = await RawClient.ready(daemon.port, keys.bob, 'bob');
      groups = subtrees(daemon.process.pid as number).map((subtree) => `${subtree}/user-alice`);
    });

    afterAll(async () => {
      alice?.close();
      bob?.close();
      const trees = daemon === undefined ? [] : subtrees(daemon.process.pid as number);
      await daemon?.stop();
      await rm(dir, { recursive: true, force: true });
      // Nothing of rexecd's cgroups is left once it has stopped.
      expect(trees.filter((tree) => existsSync(tree))).toStrictEqual([]);
    });

    // A command of alice that holds her group while the test looks at it from outside.
    async function holding<T>(script: string, ready: string, look: () => T): Promise<{ seen: T; stdout: string }> {
      const id = nextId++;
      alice.send({ type: 'exec', id, argv: ['sh', '-c', `${script}; echo ${ready}; sleep 60`] });
      await alice.next('started', id);
      let stdout = '';
      await waitUntil(
        () => {
          stdout = Buffer.concat(
            alice.frames.filter((f) => f.header['id'] === id && f.header.type === 'stdout').map((f) => f.body),
          ).toString();
          return stdout.includes(ready);
        },
        `alice's "${ready}"`,
        30_000,
      );
      const seen = look();
      alice.send({ type: 'signal', id, signal: 'SIGTERM' });
      await alice.collect(id);
      return { seen, stdout };
    }

    async function latency(who: RawClient): Promise<number> {
      const started = performance.now();
      const result = await who.run(nextId++, { argv: ['echo', 'ok'] });
      expect(result.stdout.toString()).toBe('ok\n');
      return performance.now() - started;
    }

    it("lowers rexecd's own OOM score (where the kernel lets root) and raises every command, for good", async () => {
      const own = Number(read(`/proc/${daemon.process.pid}/oom_score_adj`));
      const lower = (to: number): string =>
        `echo ${to} > /proc/self/oom_score_adj 2>/dev/null && echo lowered || echo refused`;
      const result = await alice.run(nextId++, {
        argv: ['sh', '-c', `cat /proc/self/oom_score_adj; ${lower(0)}; ${lower(-500)}`],
      });
      const [command, toZero, belowZero] = result.stdout.toString().trim().split('\n');
      expect(Number(command)).toBe(500);
      if (MAY_LOWER_SCORES) {
        expect(own).toBe(-900);
        // rexecd as root pinned the command's minimum at 500.
        expect([toZero, belowZero]).toStrictEqual(['refused', 'refused']);
      } else {
        // Without CAP_SYS_RESOURCE rexecd stays at 0 and says so; a command may come back
        // down to rexecd's score, never below it.
        expect(own).toBe(0);
        expect(daemon.stderr()).toMatch(/cannot lower rexecd's own OOM score/);
        expect([toZero, belowZero]).toStrictEqual(['lowered', 'refused']);
      }
    });

    it('/tmp and /dev/shm stop at tmpBytes, and the sandbox root and /dev take no bytes', async () => {
      const script =
        'for d in /tmp /dev/shm; do head -c 100000000 /dev/zero > $d/fill; echo "$d $? $(wc -c < $d/fill)"; rm $d/fill; done; ' +
        'touch /fill 2>/dev/null || echo root-refused; touch /dev/fill 2>/dev/null || echo dev-refused; ' +
        'echo x > /dev/null && head -c 4 /dev/urandom | wc -c';
      const result = await alice.run(nextId++, { argv: ['sh', '-c', script] });
      const lines = result.stdout.toString().trim().split('\n');
      for (const [index, mount] of ['/tmp', '/dev/shm'].entries()) {
        const [name, status, size] = (lines[index] ?? '').split(' ');
        expect(name).toBe(mount);
        expect(Number(status)).not.toBe(0);
        expect(Number(size)).toBeLessThanOrEqual(LIMITS.tmpBytes);
        expect(Number(size)).toBeGreaterThan(LIMITS.tmpBytes / 2);
      }
      expect(lines.slice(2)).toStrictEqual(['root-refused', 'dev-refused', '4']);
    });

    it("runs every command in the user's group with the policy's limits; tmpfs pages count as her memory", async () => {
      const { seen } = await holding('head -c 30000000 /dev/zero > /tmp/held', 'written', () => ({
        members: read(`${groups[0]}/cgroup.procs`).split('\n').length,
        memory: Number(read(`${groups[0]}/memory.usage_in_bytes`)),
        limit: Number(read(`${groups[0]}/memory.limit_in_bytes`)),
        pids: read(`${groups[1]}/pids.max`),
        shares: read(`${groups[2]}/cpu.shares`),
      }));
      expect(seen.members).toBeGreaterThan(0);
      expect(seen.memory).toBeGreaterThanOrEqual(30_000_000);
      expect(seen).toMatchObject({ limit: LIMITS.memoryBytes, pids: '64', shares: '512' });
    });

    it('memory in many processes stops at memoryBytes (the OOM killer ends hers), rexecd survives and Bob still answers', async () => {
      const quiet = await latency(bob);
      const allocate = `python3 -c 'import time; a = b"x" * (80 << 20); time.sleep(4)'`;
      const attack = `for i in 1 2 3 4 5 6; do (${allocate}; echo "status $?") & done; wait`;
      const { seen, stdout } = await holding(attack, 'done', () => ({
        peak: Number(read(`${groups[0]}/memory.max_usage_in_bytes`)),
        kills: Number(/oom_kill (\d+)/.exec(read(`${groups[0]}/memory.oom_control`))?.[1] ?? 0),
      }));
      // Bob's command while Alice's group is at its limit (measured during the next attack too).
      const statuses = stdout.split('\n').filter((line) => line.startsWith('status '));
      expect(statuses).toHaveLength(6);
      expect(statuses.filter((line) => line === 'status 137').length).toBeGreaterThan(0);
      expect(seen.kills).toBeGreaterThan(0);
      expect(seen.peak).toBeLessThanOrEqual(LIMITS.memoryBytes);

      // Again, with Bob asking while Alice's processes are being killed.
      const id = nextId++;
      alice.send({ type: 'exec', id, argv: ['sh', '-c', attack] });
      await alice.next('started', id);
      await alice.next('stdout', id);
      const underAttack = await latency(bob);
      await alice.collect(id);
      console.log(
        `bob's "echo ok": ${quiet.toFixed(1)} ms quiet, ${underAttack.toFixed(1)} ms while alice's memory attack runs`,
      );
      expect(pidAlive(daemon.process.pid as number)).toBe(true);
    });

    it('a fork loop stops at maxProcesses', async () => {
      const forker =
        'import os, time\n' +
        'children = []\n' +
        'for i in range(300):\n' +
        '    try:\n' +
        '        pid = os.fork()\n' +
        '    except OSError as error:\n' +
        '        print("refused", error.errno)\n' +
        '        break\n' +
        '    if pid == 0:\n' +
        '        time.sleep(20)\n' +
        '        os._exit(0)\n' +
        '    children.append(pid)\n' +
        'print("forked", len(children))\n' +
        'for pid in children: os.kill(pid, 9)\n' +
        'for pid in children: os.waitpid(pid, 0)\n';
      const result = await alice.run(nextId++, { argv: ['python3', '-c', forker] });
      const out = result.stdout.toString();
      expect(out).toMatch(/^refused 11\n/);
      const forked = Number(/forked (\d+)/.exec(out)?.[1]);
      expect(forked).toBeGreaterThan(0);
      expect(forked).toBeLessThan(LIMITS.maxProcesses);
      expect(await latency(bob)).toBeGreaterThan(0);
    });

    it("the file helper runs in the user's group, raised like a command", async () => {
      const id = nextId++;
      const content = randomBytes(100_000);
      expect(await startPut(alice, id, 'upload.bin', content.length)).toMatchObject({ type: 'ready' });
      const group = `/rexecd-${daemon.process.pid}/user-alice`;
      const helper = processesWith('file-helper.mjs').find((pid) =>
        readFileSync(`/proc/${pid}/cgroup`, 'utf8').includes(group),
      );
      expect(helper).toBeDefined();
      expect(read(`/proc/${helper}/oom_score_adj`)).toBe('500');
      sendData(alice, id, content);
      const frames = await framesUntil(
        alice,
        id,
        (frame) => frame.header.type === 'done' || frame.header.type === 'error',
      );
      expect(frames.at(-1)?.header).toMatchObject({ type: 'done', bytes: content.length });
    });

    it("removes a user's group once her last command has ended", async () => {
      const { seen } = await holding('true', 'held', () => groups.map((group) => existsSync(group)));
      expect(seen).toStrictEqual([true, true, true]);
      expect(await waitUntil(() => groups.every((group) => !existsSync(group)), "alice's groups to go", 20_000)).toBe(
        true,
      );
      // And makes it again for her next command.
      expect((await alice.run(nextId++, { argv: ['echo', 'again'] })).stdout.toString()).toBe('again\n');
    });
  },
);
