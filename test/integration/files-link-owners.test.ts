// A student's symbolic link must not make the teacher's transfer fetch (or write) another
// account's files: a transfer follows a link of another account (root's excepted) only
// to that account's own file (get) or into its own directory (put). The class is the
// README's (an account and a jail per student, the teacher's root above them), with real
// accounts (rxt-..., removed afterwards), with and without bubblewrap.
import { existsSync } from 'node:fs';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { get, put, startPut } from '../helpers/files.js';
import { IS_ROOT } from '../helpers/lab.js';
import { accountPrefix, leftoverAccounts, removeAccounts } from '../helpers/lab-accounts.js';
import { startClass } from '../helpers/lab-class.js';
import type { LabClass, Person } from '../helpers/lab-class.js';
import { RawClient } from '../helpers/raw-client.js';

const HAVE_BWRAP = existsSync('/usr/bin/bwrap');

describe.runIf(IS_ROOT && HAVE_BWRAP).each(['bwrap', 'none'] as const)(
  'symbolic links of students, sandbox %s',
  (sandbox) => {
    const prefix = accountPrefix();
    let lab: LabClass;
    let teacher: RawClient;
    let nextId = 1;
    // Runs a command as `person` in their own jail; it must succeed.
    const as = async (person: Person, argv: string[]): Promise<void> => {
      const client = await RawClient.ready(lab.port, person.key, person.user);
      const result = await client.run(1, { argv, cwd: lab.jail(person) });
      client.close();
      expect(result.stderr.toString()).toBe('');
      expect(result.exit?.['code']).toBe(0);
    };
    const fetch = (path: string): ReturnType<typeof get> => get(teacher, nextId++, path);
    const deniedByRule = { type: 'error', code: 'DENIED', message: expect.stringContaining('(rule: symlink owner)') };

    beforeAll(async () => {
      lab = await startClass(prefix, { allow: '*', sandbox, runAs: { user: 'nobody' } });
      const [alice, bob] = [lab.jail(lab.alice), lab.jail(lab.bob)];
      await as(lab.bob, ['sh', '-c', 'echo bob-work > hw.txt']);
      await as(lab.alice, [
        'sh',
        '-c',
        `echo alice-work > hw.txt && ln -s ../${lab.bob.user}/hw.txt link && ln -s .. up && ln -s hw.txt own ` +
          `&& mkdir -m 777 drop && ln -s drop to-drop && ln -s ../material/notes.txt notes && ln -s ${bob} to-bob`,
      ]);
      await as(lab.teacher, ['sh', '-c', `ln -s ../${lab.bob.user}/hw.txt bobs`]);
      // Root's own: course material, and a link an admin made.
      await mkdir(join(lab.labs, 'material'));
      await writeFile(join(lab.labs, 'material', 'notes.txt'), 'notes');
      await symlink(join(alice, 'hw.txt'), join(lab.labs, 'alice-latest'));
      teacher = await RawClient.ready(lab.port, lab.teacher.key, lab.teacher.user);
    }, 60_000);
    afterAll(async () => {
      teacher?.close();
      await lab?.stop();
      removeAccounts(prefix);
      expect(leftoverAccounts(prefix)).toEqual([]);
    });

    it("alice's link to bob's file is not followed: DENIED naming the rule, and audited", async () => {
      const path = `${lab.alice.user}/link`;
      const result = await fetch(path);
      expect(result.end).toMatchObject(deniedByRule);
      expect(String(result.end['message'])).toContain(
        `a symbolic link of ${lab.alice.user} to a file of ${lab.bob.user}`,
      );
      expect(result.content.length).toBe(0);
      expect(
        lab.events.filter(
          (e) => e['event'] === 'denied' && (e['request'] as { get?: string } | undefined)?.get === path,
        ),
      ).toHaveLength(1);
    });

    it("nor a link in the middle of the path, to a directory above (alice/up/bob/hw.txt) or to bob's", async () => {
      expect((await fetch(`${lab.alice.user}/up/${lab.bob.user}/hw.txt`)).end).toMatchObject(deniedByRule);
      expect((await fetch(`${lab.alice.user}/to-bob/hw.txt`)).end).toMatchObject(deniedByRule);
    });

    it("nor alice's link to a file of root (course material: not her work)", async () => {
      expect((await fetch(`${lab.alice.user}/notes`)).end).toMatchObject(deniedByRule);
    });

    it("alice's link to her own file, the teacher's own links, and root's links are followed", async () => {
      expect((await fetch(`${lab.alice.user}/own`)).content.toString()).toBe('alice-work\n');
      expect((await fetch(`${lab.teacher.user}/bobs`)).content.toString()).toBe('bob-work\n');
      expect((await fetch('alice-latest')).content.toString()).toBe('alice-work\n');
      // And no link at all: the teacher reads both students' work directly.
      expect((await fetch(`${lab.bob.user}/hw.txt`)).content.toString()).toBe('bob-work\n');
    });

    it("put: not through alice's link into bob's directory; through it into her own, yes", async () => {
      expect(await startPut(teacher, nextId++, `${lab.alice.user}/up/${lab.bob.user}/feedback.txt`, 3)).toMatchObject(
        deniedByRule,
      );
      expect(
        await startPut(teacher, nextId++, `${lab.alice.user}/to-bob/new/feedback.txt`, 3, { mkdirs: true }),
      ).toMatchObject(deniedByRule);
      expect(existsSync(join(lab.jail(lab.bob), 'new'))).toBe(false);
      expect(await put(teacher, nextId++, `${lab.alice.user}/to-drop/feedback.txt`, Buffer.from('ok\n'))).toMatchObject(
        { type: 'done' },
      );
      expect(await readFile(join(lab.jail(lab.alice), 'drop', 'feedback.txt'), 'utf8')).toBe('ok\n');
    });

    it('a student is not stopped by her own links', async () => {
      const alice = await RawClient.ready(lab.port, lab.alice.key, lab.alice.user);
      expect((await get(alice, 1, `${lab.jail(lab.alice)}/own`)).content.toString()).toBe('alice-work\n');
      expect(await put(alice, 2, `${lab.jail(lab.alice)}/to-drop/mine.txt`, Buffer.from('x'))).toMatchObject({
        type: 'done',
      });
      alice.close();
    });
  },
);
