// A command sees descriptors 0, 1 and 2 and nothing else, on every launch path (plain,
// terminal, runAs, bubblewrap), whatever other sessions are open: once, every command
// inherited the master side of every open terminal (node-pty opens it without
// close-on-exec), and a student typed into another student's `rexec run -t -- python3`
// through /proc/self/fd. Descriptors rexecd inherited from whoever started it leaked the
// same way. The real rexecd program, started with a descriptor of ours it must drop.
import { chmod, mkdir, mkdtemp, open, realpath, rm, writeFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyText } from '../../src/common/key-file.js';
import { startDaemon } from '../helpers/daemon.js';
import type { Daemon } from '../helpers/daemon.js';
import { fileHelpersOf } from '../helpers/processes.js';
import { RawClient, waitUntil } from '../helpers/raw-client.js';

const IS_ROOT = process.getuid?.() === 0;
const HAVE_BWRAP = existsSync('/usr/bin/bwrap');
const TERMINAL = { cols: 80, rows: 24 };
// The shell lists its own descriptors (`ls /proc/self/fd` would show ls's directory too).
const LIST_FDS = ['sh', '-c', 'ls /proc/$$/fd'];
// Node marks what it inherits close-on-exec itself from 0 up to the first gap above 15:
// a descriptor rexecd must drop on its own is one past such a gap.
const AT_FD_40 = (fd: number): Array<number | 'ignore'> => [...Array<'ignore'>(37).fill('ignore'), fd];

// Everything a terminal session has sent so far.
function output(client: RawClient): string {
  return Buffer.concat(
    client.frames.filter((frame) => frame.header.type === 'stdout').map((frame) => frame.body),
  ).toString();
}

// A process's descriptors that a program it starts would inherit (not close-on-exec).
function inheritable(pid: number): number[] {
  return readdirSync(`/proc/${pid}/fdinfo`)
    .map(Number)
    .filter((fd) => {
      try {
        const flags = /^flags:\s*([0-7]+)$/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'))?.[1] ?? '0';
        return (parseInt(flags, 8) & 0o2000000) === 0;
      } catch {
        return false;
      }
    })
    .sort((a, b) => a - b);
}

function descriptors(output: Buffer): string[] {
  return output
    .toString()
    .split(/\s+/)
    .filter(Boolean)
    .sort((a, b) => Number(a) - Number(b));
}

// Opens a terminal session that stays open (`cat` reading the terminal) on its own connection.
async function openTerminal(port: number, key: string, user: string): Promise<RawClient> {
  const client = await RawClient.ready(port, key, user);
  client.send({ type: 'exec', id: 1, argv: ['cat'], pty: TERMINAL });
  await client.next('started', 1);
  return client;
}

// Runs LIST_FDS on a fresh connection, with or without a terminal, and returns what it saw.
async function listed(port: number, key: string, user: string, pty: boolean): Promise<string[]> {
  const client = await RawClient.ready(port, key, user);
  try {
    const result = await client.run(1, { argv: LIST_FDS, ...(pty ? { pty: TERMINAL } : {}) });
    expect(result.error).toBeUndefined();
    return descriptors(result.stdout);
  } finally {
    client.close();
  }
}

describe('descriptors reaching commands (single key, plain and terminal)', () => {
  let daemon: Daemon;
  let file: FileHandle;
  let dir: string;
  let terminal: RawClient;
  beforeAll(async () => {
    dir = await realpath(await mkdtemp(join(tmpdir(), 'rexec-fds-')));
    file = await open(join(dir, 'inherited'), 'w');
    daemon = await startDaemon([], { inherit: AT_FD_40(file.fd) });
    terminal = await openTerminal(daemon.port, daemon.key, 'default');
  });
  afterAll(async () => {
    terminal?.close();
    await daemon?.stop();
    await file?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('a plain command sees 0, 1 and 2 while another connection has a terminal open', async () => {
    expect(await listed(daemon.port, daemon.key, 'default', false)).toEqual(['0', '1', '2']);
  });

  it('a terminal command sees 0, 1 and 2 while another connection has a terminal open', async () => {
    expect(await listed(daemon.port, daemon.key, 'default', true)).toEqual(['0', '1', '2']);
  });

  it('the terminal session that is open sees only its own terminal too', async () => {
    // Typed into the open `cat`'s terminal: its own shell would show the same.
    const other = await openTerminal(daemon.port, daemon.key, 'default');
    try {
      expect(await listed(daemon.port, daemon.key, 'default', true)).toEqual(['0', '1', '2']);
    } finally {
      other.close();
    }
  });

  it('rexecd itself holds no terminal and nothing inheritable while a terminal session is open', () => {
    const pid = daemon.process.pid as number;
    const links = readdirSync(`/proc/${pid}/fd`).map((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        return '';
      }
    });
    expect(links).not.toContain('/dev/ptmx');
    expect(inheritable(pid).filter((fd) => fd > 2)).toEqual([]);
  });

  it('says at start that it dropped what it inherited', async () => {
    await waitUntil(
      () => /closed descriptors inherited from the parent process fds=\[(\d+,)*40[,\]]/.test(daemon.stderr()),
      'the start-up log line',
    );
  });
});

// Node marks what a process inherits close-on-exec itself, but only from 0 up to the first
// gap above 15: an IPC channel placed higher (a supervisor's stdio array) is not, and
// rexecd has no use for one.
describe('an IPC channel rexecd was started with, at a high descriptor', () => {
  let daemon: Daemon;
  beforeAll(async () => {
    daemon = await startDaemon([], { inherit: [...Array<'ignore'>(27).fill('ignore'), 'ipc'] });
  });
  afterAll(async () => {
    await daemon?.stop();
  });

  it('reaches no command, and is ended (the parent sees it disconnect)', async () => {
    expect(await listed(daemon.port, daemon.key, 'default', false)).toEqual(['0', '1', '2']);
    await waitUntil(() => !daemon.process.connected, 'the channel to disconnect');
  });

  it('rexecd serves on once its descriptor number is taken again', async () => {
    // One after the other (each authenticates before the next), all kept open: rexecd's
    // descriptors pass 30, the channel's number.
    const clients: RawClient[] = [];
    try {
      for (let i = 0; i < 40; i += 1) clients.push(await RawClient.ready(daemon.port, daemon.key));
      for (const client of clients) expect((await client.run(1, { argv: ['true'] })).exit?.['code']).toBe(0);
    } finally {
      for (const client of clients) client.close();
    }
  });
});

describe.runIf(IS_ROOT && HAVE_BWRAP)('descriptors reaching lab commands (runAs, bubblewrap)', () => {
  let daemon: Daemon;
  let file: FileHandle;
  let dir: string;
  const keys = { alice: generateKeyText(), bob: generateKeyText() };
  let terminals: RawClient[] = [];
  beforeAll(async () => {
    dir = await realpath(await mkdtemp(join(tmpdir(), 'rexec-fds-lab-')));
    await chmod(dir, 0o755);
    const root = join(dir, 'root');
    await mkdir(root);
    await chmod(root, 0o777);
    file = await open(join(dir, 'inherited'), 'w');
    const policy = join(dir, 'lab.json');
    const users = join(dir, 'users.json');
    // alice: runAs without a sandbox; bob: runAs inside bubblewrap.
    await writeFile(
      policy,
      JSON.stringify({ root, allow: '*', runAs: { user: 'nobody' }, users: { bob: { sandbox: 'bwrap' } } }),
    );
    await writeFile(users, JSON.stringify({ users: { alice: { key: keys.alice }, bob: { key: keys.bob } } }), {
      mode: 0o600,
    });
    daemon = await startDaemon(['--policy', policy, '--users', users], { inherit: AT_FD_40(file.fd) });
    // Each has a terminal open that the other's commands must not see.
    terminals = [
      await openTerminal(daemon.port, keys.alice, 'alice'),
      await openTerminal(daemon.port, keys.bob, 'bob'),
    ];
  });
  afterAll(async () => {
    for (const client of terminals) client.close();
    await daemon?.stop();
    await file?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("the attack: alice writes to every terminal master she can find; bob's terminal never gets it", async () => {
    const bob = terminals[1] as RawClient;
    // Written to the descriptor itself (opening /proc/self/fd/N would open a new terminal).
    const attack = [
      'import os',
      'for name in os.listdir("/proc/self/fd"):',
      '    try:',
      '        if os.readlink("/proc/self/fd/" + name) == "/dev/ptmx": os.write(int(name), b"injected-by-alice\\n")',
      '    except OSError: pass',
    ].join('\n');
    for (const pty of [false, true]) {
      const alice = await RawClient.ready(daemon.port, keys.alice, 'alice');
      const result = await alice.run(1, { argv: ['python3', '-c', attack], ...(pty ? { pty: TERMINAL } : {}) });
      alice.close();
      expect(result.exit?.['code']).toBe(0);
    }
    // What bob types now comes after anything alice managed to type.
    bob.send({ type: 'stdin', id: 1 }, Buffer.from('typed-by-bob\n'));
    await waitUntil(() => output(bob).includes('typed-by-bob'), "bob's own line on his terminal");
    expect(output(bob)).not.toContain('injected-by-alice');
  });

  it('the file helper holds nothing to pass on beyond its stdin, stdout, stderr and control pipe (fd 3)', async () => {
    // A put that waits for its bytes keeps alice's helper (runAs, no sandbox) running.
    const alice = await RawClient.ready(daemon.port, keys.alice, 'alice');
    try {
      alice.send({ type: 'put', id: 7, path: 'waiting.txt', size: 10 });
      await alice.next('ready', 7);
      // This daemon's own (other tests' helpers may be running meanwhile).
      const pid = await waitUntil(() => fileHelpersOf(daemon.process.pid as number)[0], 'the file helper process');
      // Its control pipe is there; nothing else it could pass on (Node itself marks even
      // 0 to 3 close-on-exec once it has them).
      expect(readdirSync(`/proc/${pid}/fd`)).toContain('3');
      expect(inheritable(pid).filter((fd) => fd > 3)).toEqual([]);
    } finally {
      alice.close();
    }
  });

  for (const [user, how] of [
    ['alice', 'runAs'],
    ['bob', 'runAs in bubblewrap'],
  ] as const) {
    for (const pty of [false, true]) {
      it(`${how}, ${pty ? 'on a terminal' : 'plain'}: 0, 1 and 2 only`, async () => {
        expect(await listed(daemon.port, keys[user], user, pty)).toEqual(['0', '1', '2']);
      });
    }
  }
});
