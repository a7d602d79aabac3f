// A file helper runs as the lab account, so the student's own commands can take copies of
// its descriptors (pidfd_getfd: same account, and the helper is dumpable) and write into
// the channels rexecd reads from it. What they write there can only spoil the student's
// own transfer: rexecd reads a bounded amount from the control channel and stops reading
// a download once it has the size it announced. Once, a flood of `{}` lines on the control
// channel grew rexecd's memory without bound until it aborted (every user's commands with
// it), and junk written into a download's output kept rexecd reading it for as long as
// the student liked, the download never ending.
import { existsSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { framesUntil, sendData } from '../helpers/files.js';
import { IS_ROOT, startLab } from '../helpers/lab.js';
import type { LabServer } from '../helpers/lab.js';
import { fileHelpersOf } from '../helpers/processes.js';
import { pidAlive, RawClient, waitUntil } from '../helpers/raw-client.js';

const PERL = '/usr/bin/perl';

// Finds the first file helper of this account, takes a copy of its descriptor FD, says
// "got", and writes `{}` lines into it until LIMIT bytes, SECONDS, or an error; then says
// how much it wrote. Helpers are looked for among PARENT's children (the lab runs in the
// test's process), those in IGNORE (pids, comma-separated) left out. Given a sixth
// argument, stops the helper first (unless there is a seventh) and writes that line
// instead, once. pidfd_open is 434 and pidfd_getfd 438 on every Linux architecture.
const THIEF = String.raw`
use strict;
my ($fdno, $seconds, $limit, $parent, $ignore, $forge, $awake) = @ARGV;
# The children of rexecd's main thread that run the helper as this account: one read per
# look, so that a helper is found within a moment of its start.
sub helpers {
  my @found;
  open(my $k, '<', "/proc/$parent/task/$parent/children") or die "children: $!\n";
  for my $p (grep { $_ != $$ } split ' ', scalar <$k>) {
    my @st = stat("/proc/$p");
    next unless @st && $st[4] == $<;
    open(my $c, '<', "/proc/$p/cmdline") or next;
    local $/;
    my $cmd = <$c>;
    push @found, $p if defined $cmd && index($cmd, 'file-helper') >= 0;
  }
  return @found;
}
my %old = map { $_ => 1 } split(/,/, $ignore);
my ($pid, $deadline) = (0, time + 20);
until ($pid) {
  ($pid) = grep { !$old{$_} } helpers();
  die "no helper\n" if !$pid && time > $deadline;
}
kill 'STOP', $pid if defined $forge && !defined $awake;
my $pidfd = syscall(434, $pid + 0, 0);
die "pidfd_open: $!\n" if $pidfd < 0;
my $fd = syscall(438, $pidfd + 0, $fdno + 0, 0);
die "pidfd_getfd: $!\n" if $fd < 0;
open(my $out, '>&=', $fd) or die "fdopen: $!\n";
$| = 1;
print "got $pid\n";
if (defined $forge) {
  syswrite($out, "$forge\n");
  exit 0;
}
$SIG{PIPE} = 'IGNORE';
my $chunk = "{}\n" x 4096;
my ($sent, $end) = (0, time + $seconds);
while ($sent < $limit && time < $end) {
  my $n = syswrite($out, $chunk);
  last unless defined $n;
  $sent += $n;
}
print "sent $sent\n";
`;

async function alice(lab: LabServer): Promise<RawClient> {
  return RawClient.ready(lab.port, lab.keys['alice'] as string, 'alice');
}

// Runs the thief as `id` on `client`; resolves with the helper's pid once it has the copy.
async function steal(client: RawClient, id: number, fd: number, seconds: number, limit: number): Promise<number> {
  client.send({
    type: 'exec',
    id,
    argv: [PERL, '-e', THIEF, String(fd), String(seconds), String(limit), String(process.pid), ''],
  });
  const said = await waitUntil(() => {
    const text = output(client, id);
    const got = /^got (\d+)$/m.exec(text)?.[1];
    if (got === undefined && client.frames.some((f) => f.header.type === 'exit' && f.header['id'] === id)) {
      throw new Error(`the thief ended: ${text}`);
    }
    return got;
  }, 'the copy of the descriptor');
  return Number(said);
}

function output(client: RawClient, id: number): string {
  return Buffer.concat(
    client.frames
      .filter((f) => (f.header.type === 'stdout' || f.header.type === 'stderr') && f.header['id'] === id)
      .map((f) => f.body),
  ).toString();
}

describe.runIf(IS_ROOT && existsSync(PERL))("a student writing into her own file helper's channels", () => {
  let lab: LabServer;
  beforeAll(async () => {
    // runAs without a sandbox: the student's commands see the helper's process.
    lab = await startLab({ allow: '*' }, { alice: {} });
  });
  afterEach(async () => {
    // Each test's helpers end before the next (and before the jail is removed): one woken
    // from a stop may still be creating and removing its temporary file.
    await waitUntil(() => fileHelpersOf(process.pid).length === 0, 'the helpers to end');
  });
  afterAll(async () => {
    await lab.stop();
  });

  it('a flood on the control channel fails her upload and is no longer read', async () => {
    const client = await alice(lab);
    try {
      client.send({ type: 'put', id: 1, path: 'x.txt', size: 10 });
      await client.next('ready', 1);
      const limit = 16 * 1024 * 1024;
      const helper = await steal(client, 2, 3, 60, limit);
      // Her upload fails: the helper said more than a helper ever says.
      expect((await client.next('error', 1)).header).toMatchObject({ id: 1, code: 'SPAWN_FAILED' });
      await client.next('exit', 2, 60_000);
      const sent = Number(/^sent (\d+)$/m.exec(output(client, 2))?.[1]);
      // rexecd stopped reading and closed its end: her writes failed long before the limit.
      expect(sent).toBeLessThan(limit / 8);
      await waitUntil(() => !pidAlive(helper), 'the helper to be ended');
      // The server is there for her next command.
      expect((await client.run(3, { argv: ['echo', 'still here'] })).stdout.toString()).toBe('still here\n');
    } finally {
      client.close();
    }
  });

  it('junk written into a download ends it instead of keeping it open, and is not read', async () => {
    writeFileSync(join(lab.root, 'eight.bin'), '');
    truncateSync(join(lab.root, 'eight.bin'), 8 * 1024 * 1024);
    const thief = await alice(lab);
    const reader = await alice(lab);
    try {
      // The download waits (its client reads nothing) until the thief has the helper's stdout.
      reader.socket.pause();
      reader.send({ type: 'get', id: 1, path: 'eight.bin' });
      await steal(thief, 1, 1, 50, 1e12);
      reader.socket.resume();
      // The junk is part of what she receives (her own download, spoiled by her own
      // command); once the announced size is there, rexecd reads no more and the download
      // ends: it no longer waits for the thief to let go of its copy (50 s).
      const frames = await framesUntil(reader, 1, (f) => f.header.type === 'done' || f.header.type === 'error');
      const data = frames.filter((f) => f.header.type === 'data');
      expect(data.reduce((sum, f) => sum + f.body.length, 0)).toBeLessThanOrEqual(8 * 1024 * 1024);
      // rexecd closed its end: the thief's writes failed long before its time was up.
      await thief.next('exit', 1, 40_000);
      expect(output(thief, 1)).toMatch(/^sent \d+$/m);
    } finally {
      thief.close();
      reader.close();
    }
  });

  it('a forged `done` after `ready` commits nothing: the upload fails at once', async () => {
    const client = await alice(lab);
    try {
      client.send({ type: 'put', id: 1, path: 'forged-done.txt', size: 3 });
      await client.next('ready', 1);
      const line = JSON.stringify({ done: { bytes: 3 } });
      const argv = [PERL, '-e', THIEF, '3', '0', '0', String(process.pid), '', line, 'awake'];
      client.send({ type: 'exec', id: 2, argv });
      const frame = (id: number, type: string): Promise<Record<string, unknown>> =>
        waitUntil(() => client.frames.find((f) => f.header.type === type && f.header['id'] === id)?.header, type);
      expect(await frame(2, 'exit'), output(client, 2)).toMatchObject({ code: 0 });
      // Before any byte was sent: the helper's own word would come only after the commit.
      expect(await frame(1, 'error')).toMatchObject({ code: 'SPAWN_FAILED' });
      expect(client.frames.some((f) => f.header['id'] === 1 && f.header.type === 'done')).toBe(false);
      expect(existsSync(join(lab.root, 'forged-done.txt'))).toBe(false);
    } finally {
      client.close();
    }
  });

  it('a flood on the stderr of her helper is cut off once the diagnostics are full; the upload goes on', async () => {
    const client = await alice(lab);
    try {
      client.send({ type: 'put', id: 1, path: 'after-flood.txt', size: 5 });
      await client.next('ready', 1);
      const limit = 16 * 1024 * 1024;
      await steal(client, 2, 2, 60, limit);
      await client.next('exit', 2, 40_000);
      expect(Number(/^sent (\d+)$/m.exec(output(client, 2))?.[1])).toBeLessThan(limit / 8);
      sendData(client, 1, Buffer.from('hello'));
      expect((await client.next(undefined, 1)).header).toMatchObject({ type: 'done', id: 1, bytes: 5 });
    } finally {
      client.close();
    }
  });

  // A line written before the helper's own (the thief stops it first), as the helper's
  // first word. Each fails only the transfer, with an error of the protocol's shape.
  const forgeries: Array<[string, string, Record<string, unknown>]> = [
    ['get', 'null file', { file: null }],
    ['get', 'fields of the wrong types', { file: { path: {}, size: 'x', mode: [], mtimeMs: null, identity: 5 } }],
    ['get', 'a negative size', { file: { path: 'a', size: -1, mode: 0o644, mtimeMs: 0, identity: 'x' } }],
    ['get', 'a size past 2^53', { file: { path: 'a', size: 1e300, mode: 0o644, mtimeMs: 0, identity: 'x' } }],
    ['get', 'a mode past 0o7777', { file: { path: 'a', size: 1, mode: 0o170000, mtimeMs: 0, identity: 'x' } }],
    ['get', 'an error that is not one', { error: { code: 'NOT_FOUND', message: { not: 'a string' } } }],
    ['get', 'a null error', { error: null }],
    ['put', 'a ready path that is not a string', { ready: { path: { x: 1 } } }],
    ['put', 'an early done', { done: { bytes: 4 } }],
  ];
  it.each(forgeries)(
    'a forged first line on the control channel (%s, %s) fails only that transfer',
    async (op, _what, line) => {
      writeFileSync(join(lab.root, 'small.txt'), 'abc');
      const client = await alice(lab);
      try {
        // The thief looks for the helper before it exists, so that it can stop it before it speaks.
        const ignore = fileHelpersOf(process.pid).join(',');
        client.send({
          type: 'exec',
          id: 1,
          argv: [PERL, '-e', THIEF, '3', '0', '0', String(process.pid), ignore, JSON.stringify(line)],
        });
        client.send(
          op === 'get' ? { type: 'get', id: 2, path: 'small.txt' } : { type: 'put', id: 2, path: 'p.txt', size: 3 },
        );
        const frame = (id: number, type: string): Promise<Record<string, unknown>> =>
          waitUntil(() => client.frames.find((f) => f.header.type === type && f.header['id'] === id)?.header, type);
        expect(await frame(1, 'exit'), output(client, 1)).toMatchObject({ code: 0 });
        // Whether before the helper's first word or after it, the transfer fails (and a put
        // has nothing committed: a forged `done` is no commit).
        const error = await frame(2, 'error');
        expect(error).toMatchObject({ code: 'SPAWN_FAILED', message: expect.any(String) });
        expect(client.frames.some((f) => f.header['id'] === 2 && f.header.type === 'done')).toBe(false);
        if (op === 'put') expect(existsSync(join(lab.root, 'p.txt'))).toBe(false);
        expect((await client.run(3, { argv: ['echo', 'still here'] })).stdout.toString()).toBe('still here\n');
      } finally {
        client.close();
      }
    },
  );
});
