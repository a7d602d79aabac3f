// Two students on one lab box, attacking each other with only the commands the
// recommended policy allows (docs/lab.example.json): overwrite, delete and read the
// other's work, plant a Python start-up file (.pth) in a HOME, read a REPL history, and
// hold every process slot with a fork bomb. With the README's set-up (an account and a
// jail per student, made by `rexecd adduser`) every attack fails; with one shared root
// and one account every one of them works, as SECURITY.md says. Real accounts (rxt-...,
// removed afterwards), real bubblewrap, the built rexecd for adduser.
import { existsSync, readFileSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyText } from '../../src/common/key-file.js';
import { createServer } from '../../src/server/index.js';
import type { RexecServer } from '../../src/server/index.js';
import { IS_ROOT } from '../helpers/lab.js';
import { startClass } from '../helpers/lab-class.js';
import type { Person } from '../helpers/lab-class.js';
import {
  accountPrefix,
  createAccount,
  gidOf,
  leftoverAccounts,
  removeAccounts,
  uidOf,
} from '../helpers/lab-accounts.js';
import { RawClient, summarize } from '../helpers/raw-client.js';
import type { RunResult } from '../helpers/raw-client.js';

const HAVE_BWRAP = existsSync('/usr/bin/bwrap');
const EXAMPLE = JSON.parse(readFileSync(new URL('../../docs/lab.example.json', import.meta.url), 'utf8')) as Record<
  string,
  unknown
> & {
  users: { teacher: Record<string, unknown> };
  limits: Record<string, unknown>;
};
const SECRET = 'bob-secret-work';
const HISTORY = 'bob-history-secret';
// A .pth line that starts with "import" runs in every python3 that reads the site dir.
const PTH = 'import sys; sys.stderr.write("PLANTED-BY-ALICE\\n")\n';

/** A running lab: who is who, and where each student keeps their work. */
interface Lab {
  readonly port: number;
  readonly alice: Person;
  readonly bob: Person;
  readonly teacher: Person;
  readonly aliceDir: string;
  readonly bobDir: string;
  stop(): Promise<void>;
}

/** What alice managed to do to bob (and the teacher). */
interface Observed {
  readFile: boolean;
  overwroteFile: boolean;
  deletedFile: boolean;
  pthRanInBob: boolean;
  pthRanInTeacher: boolean;
  readHistory: boolean;
  bombStoppedBob: boolean;
}

let nextId = 1;

async function run(
  person: Person,
  lab: Lab,
  argv: string[],
  options: { input?: string; cwd?: string } = {},
): Promise<RunResult> {
  const client = await RawClient.ready(lab.port, person.key, person.user);
  try {
    const id = nextId++;
    const input = options.input;
    client.send({
      type: 'exec',
      id,
      argv,
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
      ...(input === undefined ? {} : { stdin: true }),
    });
    if (input !== undefined) client.send({ type: 'stdin', id, eof: true }, Buffer.from(input));
    return summarize(await client.collect(id));
  } finally {
    client.close();
  }
}

const ok = (result: RunResult): boolean => result.exit?.['code'] === 0;
const py = (code: string): string[] => ['python3', '-c', code];

/** Every attack of the review, with allowed commands only; returns what worked. */
async function attack(lab: Lab): Promise<Observed> {
  const { alice, bob, teacher, aliceDir, bobDir } = lab;
  // bob's work, and alice's own file to copy over it.
  expect(ok(await run(bob, lab, ['mkdir', '-p', bobDir]))).toBe(true);
  expect(
    ok(await run(bob, lab, py(`for n in ('hw.txt', 'hw2.txt'): open('${bobDir}/' + n, 'w').write('${SECRET}')`))),
  ).toBe(true);
  expect(ok(await run(alice, lab, ['mkdir', '-p', aliceDir]))).toBe(true);
  expect(ok(await run(alice, lab, py(`open('${aliceDir}/mine.txt', 'w').write('alice was here')`)))).toBe(true);

  const read = await run(alice, lab, ['cat', `${bobDir}/hw.txt`]);
  await run(alice, lab, ['cp', '-f', `${aliceDir}/mine.txt`, `${bobDir}/hw.txt`]);
  await run(alice, lab, ['rm', '-f', `${bobDir}/hw2.txt`]);

  // The .pth file: in alice's own user site, and in bob's if she can reach his HOME.
  const bobHome = (await run(bob, lab, py('import os; print(os.environ["HOME"])'))).stdout.toString().trim();
  // `home` is a Python expression: the user site of python3 is below HOME.
  const plant = (home: string): string =>
    `import os, site, sys\nd = site.getusersitepackages().replace(os.path.expanduser('~'), ${home}, 1)\n` +
    `try:\n  os.makedirs(d, exist_ok=True); open(d + '/zz.pth', 'w').write(sys.stdin.read())\nexcept OSError as e:\n  print(e)`;
  await run(alice, lab, py(plant(`os.path.expanduser('~')`)), { input: PTH });
  await run(alice, lab, py(plant(`'${bobHome}'`)), { input: PTH });
  const bobPython = await run(bob, lab, py('print("bob runs python")'));
  expect(bobPython.stdout.toString()).toBe('bob runs python\n');
  const teacherPython = await run(teacher, lab, py('print("teacher runs python")'));
  expect(teacherPython.stdout.toString()).toBe('teacher runs python\n');

  // bob's REPL history (what readline writes at the end of an interactive python3).
  expect(
    ok(
      await run(
        bob,
        lab,
        py(
          `import os, readline; readline.add_history('${HISTORY}'); readline.write_history_file(os.path.expanduser('~/.python_history'))`,
        ),
      ),
    ),
  ).toBe(true);
  const ownHistory = await run(
    alice,
    lab,
    py(`import os; print(open(os.path.expanduser('~/.python_history')).read())`),
  );
  const bobsHistory = await run(alice, lab, ['cat', `${bobHome}/.python_history`]);

  // The fork bomb: alice holds every process her account may have, then bob runs python3.
  const bombClient = await RawClient.ready(lab.port, alice.key, alice.user);
  const bombId = nextId++;
  const bomb =
    'import os, sys, time\nn = 0\nwhile n < 1000:\n  try:\n    pid = os.fork()\n  except OSError:\n    break\n' +
    '  if pid == 0:\n    time.sleep(30); os._exit(0)\n  n += 1\nprint("forked", n, flush=True)\ntime.sleep(30)';
  bombClient.send({ type: 'exec', id: bombId, argv: py(bomb), timeoutMs: 40_000 });
  const forked = await bombClient.next('stdout', bombId);
  expect(forked.body.toString()).toMatch(/^forked \d+\n$/);
  const bobDuringBomb = await run(bob, lab, py('print("bob still runs")'));
  bombClient.send({ type: 'signal', id: bombId, signal: 'SIGKILL' });
  await bombClient.collect(bombId);
  bombClient.close();

  return {
    readFile: read.stdout.toString().includes(SECRET),
    overwroteFile: (await readFile(`${bobDir}/hw.txt`, 'utf8')) !== SECRET,
    deletedFile: !existsSync(`${bobDir}/hw2.txt`),
    pthRanInBob: bobPython.stderr.toString().includes('PLANTED-BY-ALICE'),
    pthRanInTeacher: teacherPython.stderr.toString().includes('PLANTED-BY-ALICE'),
    readHistory: ownHistory.stdout.toString().includes(HISTORY) || bobsHistory.stdout.toString().includes(HISTORY),
    bombStoppedBob: bobDuringBomb.stdout.toString() !== 'bob still runs\n',
  };
}

async function startServerWith(
  policy: Record<string, unknown>,
  policyFile: string,
  usersFile: string,
): Promise<{ server: RexecServer; port: number }> {
  await writeFile(policyFile, JSON.stringify(policy));
  const server = createServer({
    auth: { mode: 'hmac-sha256', keys: new Map() },
    host: '127.0.0.1',
    port: 0,
    graceMs: 300,
    policyFile,
    usersFile,
  });
  const { port } = await server.listen();
  return { server, port };
}

async function temporaryDir(): Promise<string> {
  const dir = await realpath(await mkdtemp(join(tmpdir(), 'rexec-students-')));
  // The students' accounts reach their jails through it.
  await chmod(dir, 0o755);
  return dir;
}

/** The set-up of the README: `rexecd adduser` for the teacher and each student. */
async function perStudentLab(prefix: string): Promise<Lab> {
  const lab = await startClass(prefix, { ...EXAMPLE, users: { [`${prefix}t`]: EXAMPLE.users.teacher } });
  return { ...lab, aliceDir: lab.jail(lab.alice), bobDir: lab.jail(lab.bob) };
}

/** One root and one account for everybody: the set-up this file shows is not isolation. */
async function sharedLab(prefix: string): Promise<Lab> {
  const dir = await temporaryDir();
  try {
    return await sharedLabIn(dir, prefix);
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

async function sharedLabIn(dir: string, prefix: string): Promise<Lab> {
  const account = `${prefix}lab`;
  createAccount(account);
  const root = join(dir, 'lab');
  await mkdir(root);
  await chown(root, uidOf(account), gidOf(account));
  const people = ['alice', 'bob', 'teacher'].map((role) => ({ user: `${prefix}${role[0]}`, key: generateKeyText() }));
  const [alice, bob, teacher] = people as [Person, Person, Person];
  const usersFile = join(dir, 'users.json');
  await writeFile(
    usersFile,
    JSON.stringify({ users: Object.fromEntries(people.map((p) => [p.user, { key: p.key }])) }),
    { mode: 0o600 },
  );
  const policy = { ...EXAMPLE, root, runAs: { user: account }, users: { [teacher.user]: EXAMPLE.users.teacher } };
  const { server, port } = await startServerWith(policy, join(dir, 'lab.json'), usersFile);
  return {
    port,
    alice,
    bob,
    teacher,
    aliceDir: join(root, 'alice'),
    bobDir: join(root, 'bob'),
    async stop() {
      await server.shutdown();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

describe.runIf(IS_ROOT && HAVE_BWRAP)('two students on the recommended set-up (an account and a jail each)', () => {
  const prefix = accountPrefix();
  let lab: Lab;
  beforeAll(async () => {
    lab = await perStudentLab(prefix);
  }, 60_000);
  afterAll(async () => {
    await lab?.stop();
    removeAccounts(prefix);
    expect(leftoverAccounts(prefix)).toEqual([]);
  });

  it("alice can do nothing to bob: not read, overwrite or delete his work, not run code in his or the teacher's python3, not read his history, not stop his commands", async () => {
    expect(await attack(lab)).toEqual({
      readFile: false,
      overwroteFile: false,
      deletedFile: false,
      pthRanInBob: false,
      pthRanInTeacher: false,
      readHistory: false,
      bombStoppedBob: false,
    });
  }, 120_000);

  it("each one's HOME is inside their own jail; the teacher reads the students' work", async () => {
    const home = async (person: Person): Promise<string> =>
      (await run(person, lab, py('import os; print(os.environ["HOME"])'))).stdout.toString().trim();
    expect(await home(lab.alice)).toBe(lab.aliceDir);
    expect(await home(lab.bob)).toBe(lab.bobDir);
    const teacherHome = await home(lab.teacher);
    expect(teacherHome).toMatch(new RegExp(`/${lab.teacher.user}$`));
    const work = await run(lab.teacher, lab, ['cat', `${lab.aliceDir}/mine.txt`]);
    expect(work.stdout.toString()).toBe('alice was here');
    // Reading is all: the teacher's group cannot write in a student's jail.
    const write = await run(lab.teacher, lab, ['touch', `${lab.aliceDir}/from-teacher.txt`]);
    expect(write.exit?.['code']).not.toBe(0);
  }, 60_000);
});

describe.runIf(IS_ROOT && HAVE_BWRAP)(
  'two students on one shared root and account (what SECURITY.md says it does not protect)',
  () => {
    const prefix = accountPrefix();
    let lab: Lab;
    beforeAll(async () => {
      lab = await sharedLab(prefix);
    }, 60_000);
    afterAll(async () => {
      await lab?.stop();
      removeAccounts(prefix);
      expect(leftoverAccounts(prefix)).toEqual([]);
    });

    it('every attack works', async () => {
      expect(await attack(lab)).toEqual({
        readFile: true,
        overwroteFile: true,
        deletedFile: true,
        pthRanInBob: true,
        pthRanInTeacher: true,
        readHistory: true,
        bombStoppedBob: true,
      });
    }, 120_000);
  },
);
