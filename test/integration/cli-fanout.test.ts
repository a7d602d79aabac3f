// `rexec run` on several hosts at once, in-process against three real servers (and a
// closed port, and a server that never answers): prefixes, --group, --json, the summary
// and exit statuses, lines never torn, --parallel, Ctrl-C, config aliases and groups
// (NAME:PORT too), a stdout that fails, and the memory --group holds.
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { mkdir, mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/rexec/main.js';
import type { CliIo } from '../../src/cli/shared/io.js';
import { JSON_OUTPUT_LIMIT } from '../../src/cli/rexec/run/json-output.js';
import { captureIo } from '../helpers/capture-io.js';
import { waitUntil } from '../helpers/raw-client.js';
import { within } from '../helpers/within.js';
import { generateKeyText } from '../../src/common/key-file.js';
import { createServer as createRexecServer } from '../../src/server/index.js';
import type { RexecServer } from '../../src/server/index.js';
import { freePort } from '../helpers/free-port.js';

interface Host {
  readonly port: number;
  readonly root: string;
  readonly server: RexecServer;
}

let servers: Host[];
let closedPort: number;
let silent: { server: Server; port: number; sockets: Set<Socket> };
let dir: string;
let keyFile: string;
const savedXdg = process.env['XDG_CONFIG_HOME'];

// Three servers with one key, as the hosts of one site would have; each root holds the
// host's name and the status its commands exit with.
async function startHosts(): Promise<Host[]> {
  const key = generateKeyText();
  keyFile = join(dir, 'key');
  await writeFile(keyFile, `${key}\n`, { mode: 0o600 });
  return Promise.all(
    [0, 1, 2].map(async (index) => {
      const root = join(dir, `root${index}`);
      await mkdir(root);
      await writeFile(join(root, 'name'), `h${index}`);
      await writeFile(join(root, 'code'), String([0, 3, 1][index]));
      const server = createRexecServer({
        auth: { mode: 'hmac-sha256', keys: new Map([['default', key]]) },
        host: '127.0.0.1',
        port: 0,
        root,
        graceMs: 500,
      });
      const { port } = await server.listen();
      return { port, root, server };
    }),
  );
}

beforeAll(async () => {
  dir = await realpath(await mkdtemp(join(tmpdir(), 'rexec-fanout-')));
  process.env['XDG_CONFIG_HOME'] = join(dir, 'xdg');
  servers = await startHosts();
  closedPort = await freePort();
  // Accepts connections and never says a word: a host that hangs.
  const sockets = new Set<Socket>();
  const hang = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => hang.listen(0, '127.0.0.1', resolve));
  silent = { server: hang, port: (hang.address() as AddressInfo).port, sockets };
});
afterAll(async () => {
  await Promise.all(servers.map((host) => host.server.shutdown()));
  for (const socket of silent.sockets) socket.destroy();
  await new Promise((resolve) => silent.server.close(resolve));
  if (savedXdg === undefined) delete process.env['XDG_CONFIG_HOME'];
  else process.env['XDG_CONFIG_HOME'] = savedXdg;
  await rm(dir, { recursive: true, force: true });
});

const address = (server: Host): string => `127.0.0.1:${server.port}`;
const all = (): string => servers.map(address).join(',');

async function rexec(args: readonly string[], options: { stderrTTY?: boolean } = {}) {
  const captured = captureIo(options);
  const status = await main(['-k', keyFile, ...args], captured.io);
  return { status, stdout: captured.stdout(), stderr: captured.stderr() };
}

describe('output', () => {
  it('prefixes every line of stdout and stderr with its host, and ends with a summary', async () => {
    const result = await rexec([
      'run',
      '-H',
      all(),
      '--',
      'sh',
      '-c',
      'echo "out $(cat name)"; echo "err $(cat name)" >&2; printf "no newline"',
    ]);
    const [a, b, c] = servers.map(address);
    expect(result.stdout.split('\n').sort()).toEqual(
      [
        '',
        `${a}: no newline`,
        `${a}: out h0`,
        `${b}: no newline`,
        `${b}: out h1`,
        `${c}: no newline`,
        `${c}: out h2`,
      ].sort(),
    );
    expect(result.stderr).toContain(`${a}: err h0\n`);
    expect(result.stderr).toContain(`${c}: err h2\n`);
    expect(result.stderr.endsWith('rexec: 3 hosts: 3 ok, 0 failed\n')).toBe(true);
    expect(result.status).toBe(0);
  });

  it('--no-prefix prints the lines bare', async () => {
    const result = await rexec(['run', '-H', all(), '--no-prefix', '--', 'cat', 'name']);
    expect(result.stdout.split('\n').sort()).toEqual(['', 'h0', 'h1', 'h2']);
  });

  it("--group prints each host's whole output together", async () => {
    const result = await rexec([
      'run',
      '-H',
      all(),
      '--group',
      '--',
      'sh',
      '-c',
      'for i in 1 2 3; do echo "$(cat name) $i"; done',
    ]);
    const rule = '-'.repeat(16);
    for (const [index, server] of servers.entries()) {
      expect(result.stdout).toContain(`${rule}\n${address(server)}\n${rule}\nh${index} 1\nh${index} 2\nh${index} 3\n`);
    }
  });

  it('--collapse prints identical output once, under every host that gave it (as dshbak -c)', async () => {
    const [a, b, c] = servers.map(address) as [string, string, string];
    const script = 'if [ "$(cat code)" = 3 ]; then echo odd; echo warn >&2; else echo even; echo warn >&2; fi';
    const result = await rexec(['run', '-H', all(), '--collapse', '--', 'sh', '-c', script]);
    expect(result.status).toBe(0);
    const rule = '-'.repeat(16);
    expect(result.stdout).toBe(`${rule}\n${a},${c}\n${rule}\neven\n${rule}\n${b}\n${rule}\nodd\n`);
    // stdout and stderr together decide: the same stderr under each group's names.
    expect(result.stderr).toContain(`${rule}\n${a},${c}\n${rule}\nwarn\n${rule}\n${b}\n${rule}\nwarn\n`);
    const same = await rexec(['run', '-H', all(), '--group', '--collapse', '--', 'echo', 'one answer']);
    expect(same.stdout).toBe(`${rule}\n${a},${b},${c}\n${rule}\none answer\n`);
    const json = await rexec(['run', '-H', all(), '--collapse', '--json', '--', 'true']);
    expect(json.status).toBe(255);
    expect(json.stderr).toContain('--collapse groups the blocks of --group: it cannot be used with --json');
  });

  it('-x leaves hosts out', async () => {
    const [a, b, c] = servers.map(address) as [string, string, string];
    const result = await rexec(['run', '-H', all(), '-x', b, '--', 'cat', 'name']);
    expect(result.stdout.split('\n').sort()).toEqual(['', `${a}: h0`, `${c}: h2`].sort());
    expect(result.stderr).toBe('rexec: 2 hosts: 2 ok, 0 failed\n');
    const none = await rexec(['run', '-H', `${a},${b}`, '-x', `${b},${a}`, '--', 'true']);
    expect(none.status).toBe(255);
    expect(none.stderr).toContain(`-x ${b},${a} leaves no host to run on`);
  });

  it('--json prints one object per host', async () => {
    const result = await rexec([
      'run',
      '-H',
      `${all()},127.0.0.1:${closedPort}`,
      '--json',
      '--',
      'sh',
      '-c',
      'cat name; exit $(cat code)',
    ]);
    const lines = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toHaveLength(4);
    const byHost = new Map(lines.map((line) => [line['host'], line]));
    expect(byHost.get(address(servers[0]!))).toMatchObject({
      status: 0,
      code: 0,
      stdout: 'h0',
      stdoutEncoding: 'utf8',
      signal: null,
    });
    expect(byHost.get(address(servers[1]!))).toMatchObject({ status: 3, code: 3, stdout: 'h1' });
    expect(byHost.get(`127.0.0.1:${closedPort}`)).toMatchObject({
      status: 255,
      reached: false,
      error: { code: 'CONNECT_FAILED' },
    });
    expect(result.status).toBe(255);
  });

  it('never tears a line, with every host printing many lines at once', async () => {
    // sed writes in blocks, so chunks end in the middle of lines.
    const script = 'seq 1 20000 | sed "s/^/$(cat name) /; s/$/ ..................................................../"';
    const result = await rexec(['run', '-H', all(), '--', 'sh', '-c', script]);
    expect(result.status).toBe(0);
    const seen = new Map<string, number>();
    for (const line of result.stdout.split('\n').slice(0, -1)) {
      const match = /^127\.0\.0\.1:(\d+): (h\d) (\d+) \.{52}$/.exec(line);
      expect(match, line).not.toBeNull();
      const [, port, name, number] = match as unknown as [string, string, string, string];
      expect(name).toBe(`h${servers.findIndex((server) => String(server.port) === port)}`);
      expect(Number(number)).toBe((seen.get(name) ?? 0) + 1);
      seen.set(name, Number(number));
    }
    expect([...seen.values()]).toEqual([20000, 20000, 20000]);
  });
  it('prints a line longer than 64 KiB in pieces of at most 64 KiB, for every host', async () => {
    // The piece that completed a line used to go out with what waited before it, unsplit.
    const script = "head -c 300000 /dev/zero | tr '\\0' a; echo; echo short";
    const result = await rexec(['run', '-H', all(), '--', 'sh', '-c', script]);
    expect(result.status).toBe(0);
    for (const server of servers) {
      const prefix = `${address(server)}: `;
      const mine = result.stdout
        .split('\n')
        .filter((line) => line.startsWith(prefix))
        .map((line) => line.slice(prefix.length));
      expect(mine.map((line) => line.length)).toEqual([65536, 65536, 65536, 65536, 300_000 - 4 * 65536, 5]);
      expect(mine.slice(0, -1).join('')).toBe('a'.repeat(300_000));
    }
  });
});

describe('statuses and failures', () => {
  it('exits with the highest remote code, listing which host exited how', async () => {
    const result = await rexec(['run', '-H', all(), '--', 'sh', '-c', 'exit $(cat code)']);
    expect(result.status).toBe(3);
    expect(result.stderr).toContain('rexec: 3 hosts: 1 ok, 2 failed\n');
    expect(result.stderr).toContain(`rexec:   exit 1: ${address(servers[2]!)}\n`);
    expect(result.stderr).toContain(`rexec:   exit 3: ${address(servers[1]!)}\n`);
  });

  it('exits 255 when a host cannot be reached, after the others have finished', async () => {
    const down = `127.0.0.1:${closedPort}`;
    const result = await rexec(['run', '-H', `${down},${all()}`, '--', 'cat', 'name']);
    expect(result.status).toBe(255);
    expect(result.stdout.split('\n').sort()).toEqual(
      ['', ...servers.map((server, index) => `${address(server)}: h${index}`)].sort(),
    );
    expect(result.stderr).toContain(`rexec: ${down}: cannot connect to ${down} (connection refused)`);
    expect(result.stderr).toContain(`rexec:   unreachable (255): ${down}\n`);
  });

  it('does not let a host that never answers hold the others back', async () => {
    const hung = `127.0.0.1:${silent.port}`;
    const captured = captureIo();
    const status = main(
      ['-k', keyFile, 'run', '-H', `${hung},${all()}`, '--connect-timeout', '15000', '--', 'cat', 'name'],
      captured.io,
    );
    // All three answer while the fourth is still waiting for its hello.
    for (const [index, server] of servers.entries()) await captured.shows('stdout', `${address(server)}: h${index}\n`);
    expect(captured.stderr()).not.toContain(hung);
    expect(await status).toBe(255);
    // Silent past the greeting deadline (2 s), well before the connect timeout.
    expect(captured.stderr()).toContain(
      `rexec: ${hung}: no rexec greeting: if the server uses TLS, add --tls (${hung}: it said nothing)`,
    );
  });

  it('--parallel 1 runs the hosts one after another', async () => {
    const log = join(dir, 'parallel.log');
    const script = `echo start >> ${log}; sleep 0.2; echo end >> ${log}`;
    const result = await rexec(['run', '-H', all(), '--parallel', '1', '--', 'sh', '-c', script]);
    expect(result.status).toBe(0);
    expect(await readFile(log, 'utf8')).toBe('start\nend\n'.repeat(3));
  });

  it('forwards Ctrl-C to every running command', async () => {
    const captured = captureIo();
    const status = main(['-k', keyFile, 'run', '-H', all(), '--', 'sleep', '60'], captured.io);
    await waitUntil(() => servers.every((server) => server.server.runningCount === 1), 'every host to run sleep');
    captured.signals.emit('SIGINT');
    expect(await status).toBe(130);
    expect(captured.stderr()).toContain(`rexec:   killed by SIGINT (130): ${servers.map(address).join(' ')}\n`);
  });

  it('says that a command line too long for one request is too long, for each host', async () => {
    const result = await rexec(['run', '-H', all(), '--json', '--', 'echo', 'x'.repeat(70_000)]);
    expect(result.status).toBe(255);
    const lines = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { host: string; error: { code: string; message: string } });
    expect(lines.map((line) => line.host).sort()).toEqual(servers.map(address).sort());
    for (const line of lines) {
      expect(line.error.code).toBe('FRAME_TOO_LARGE');
      expect(line.error.message).toMatch(
        /^the command \(arguments plus environment\) is too long for one request \(header of \d+ bytes is over 65536\)/,
      );
    }
    expect(result.stderr).toContain(
      `rexec: ${address(servers[0]!)}: the command (arguments plus environment) is too long for one request`,
    );
    expect(result.stderr).not.toContain('protocol error');
  });

  it('refuses -i with several hosts', async () => {
    const result = await rexec(['run', '-H', all(), '-i', '--', 'cat']);
    expect(result.status).toBe(255);
    expect(result.stderr).toContain('-i cannot be used with several hosts');
  });

  it('shows the progress on a terminal, and erases it before the summary', async () => {
    const result = await rexec(['run', '-H', all(), '--', 'true'], { stderrTTY: true });
    expect(result.stderr).toMatch(/rexec: \d\/3 done, \d running/);
    expect(result.stderr).toContain('\r\x1b[2Krexec: 3 hosts: 3 ok, 0 failed\n');
    const plain = await rexec(['run', '-H', all(), '--', 'true']);
    expect(plain.stderr).toBe('rexec: 3 hosts: 3 ok, 0 failed\n');
  });
});

describe('our output failing', () => {
  // A stdout that takes the first write and never finishes it (so it is full and every
  // host's stream is paused), until fail() makes it fail with `code`.
  function stuckOutput(code: string): { io: CliIo; stderr: () => string; firstWrite: Promise<void>; fail: () => void } {
    const captured = captureIo();
    let wrote!: () => void;
    const firstWrite = new Promise<void>((resolve) => (wrote = resolve));
    const stdout = new Writable({ highWaterMark: 1, write: () => wrote() });
    return {
      io: { ...captured.io, stdout },
      stderr: captured.stderr,
      firstWrite,
      fail: () => stdout.destroy(Object.assign(new Error(`write ${code}`), { code })),
    };
  }

  // Every host's output is small enough to be all received (and its exit too) while
  // its stream is paused: only a destroyed stream lets such a command's exit settle.
  async function failWhilePaused(code: string, marker: string): Promise<{ status: number; stderr: string }> {
    const out = stuckOutput(code);
    const status = main(['-k', keyFile, 'run', '-H', all(), '--', 'sh', '-c', `seq 1 1000; touch ${marker}`], out.io);
    await within(out.firstWrite, 'the first line of output');
    await waitUntil(() => servers.every((server) => existsSync(join(server.root, marker))), 'every command to finish');
    out.fail();
    return { status: await within(status, 'rexec to end after its output failed'), stderr: out.stderr() };
  }

  it('a closed stdout (| head): every host given up on, status 141, and the summary on stderr', async () => {
    const result = await failWhilePaused('EPIPE', 'finished-epipe');
    expect(result.status).toBe(141);
    expect(result.stderr).not.toContain('cannot write');
    expect(result.stderr).toContain(
      `rexec: 3 hosts: 0 ok, 3 failed\nrexec:   failed (141): ${servers.map(address).join(' ')}\n`,
    );
  });

  it('any other write error is said once, status 1, with the summary', async () => {
    const result = await failWhilePaused('ENOSPC', 'finished-enospc');
    expect(result.status).toBe(1);
    expect(result.stderr.startsWith('rexec: cannot write the output: no space left on the device\n')).toBe(true);
    expect(result.stderr).toContain(
      `rexec: 3 hosts: 0 ok, 3 failed\nrexec:   failed (1): ${servers.map(address).join(' ')}\n`,
    );
  });
});

describe('--group and --json hold what is not printed yet, not everything', () => {
  it("lets each host's output go once it is printed: 12 hosts x 24 MiB stay within the budget", async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const hosts = 12;
    const size = 24 * 1024 * 1024;
    const config = join(dir, 'many.json');
    const names = Array.from({ length: hosts }, (_, index) => `big${index}`);
    await writeFile(
      config,
      JSON.stringify({
        hosts: Object.fromEntries(names.map((name) => [name, { host: '127.0.0.1', port: servers[0]!.port, keyFile }])),
        groups: { big: names },
      }),
    );
    gc();
    const before = process.memoryUsage().arrayBuffers;
    // Buffers alive (after a collection) while each host's block is being printed.
    let most = 0;
    let printed = 0;
    const stdout = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        if (chunk.length >= size) {
          printed += 1;
          gc();
          most = Math.max(most, process.memoryUsage().arrayBuffers - before);
        }
        callback();
      },
    });
    const captured = captureIo();
    const status = await main(
      ['--config', config, 'run', '--group', '--parallel', '1', 'big', '--', 'head', '-c', String(size), '/dev/zero'],
      { ...captured.io, stdout },
    );
    expect(status).toBe(0);
    expect(printed).toBe(hosts);
    // The budget (64 MiB, output held for all hosts together) plus the block being
    // printed, which copies one host's output. Keeping every host's output to the end
    // would hold hosts x 24 MiB = 288 MiB.
    expect(most).toBeLessThan(2 * JSON_OUTPUT_LIMIT);
  });
});

describe('--group and --json past the 64 MiB budget', () => {
  // Every host writes `size` bytes, then waits until the test lets it exit: all the
  // output is held at once, so the budget is passed whatever the scheduling.
  async function untilGivenUp(args: readonly string[], hosts: string, size: string, release: string) {
    const script = `head -c ${size} /dev/zero | tr '\\0' a; i=0; while [ ! -e ${release} ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done`;
    const captured = captureIo();
    const status = main(['-k', keyFile, 'run', '-H', hosts, ...args, '--', 'sh', '-c', script], captured.io);
    await within(captured.shows('stderr', 'that --group and --json hold'), 'a host to be given up');
    await writeFile(release, '');
    return { status: await status, stdout: captured.stdout(), stderr: captured.stderr() };
  }

  it('gives up only the host whose output passes it: 2 hosts x 40 MiB, one printed whole, one over the limit (125)', async () => {
    const [a, b] = servers.map(address) as [string, string];
    const result = await untilGivenUp(['--group'], `${a},${b}`, '40M', join(dir, 'release-group'));
    expect(result.status).toBe(125);
    const rule = '-'.repeat(16);
    const printed = [a, b].filter((host) => result.stdout.includes(`${rule}\n${host}\n${rule}\n`));
    expect(printed).toHaveLength(1);
    const given = [a, b].find((host) => !printed.includes(host)) as string;
    expect(result.stdout).toBe(`${rule}\n${printed[0]}\n${rule}\n${'a'.repeat(40 * 1024 * 1024)}\n`);
    expect(result.stderr).toContain(`rexec: ${given}: its output would pass the 64 MiB that --group and --json hold`);
    expect(result.stderr).toContain(`rexec: 2 hosts: 1 ok, 1 failed\nrexec:   over the output limit (125): ${given}\n`);
  });

  it('keeps what fits: 3 hosts x 25 MiB with --json, two whole objects and one error object', async () => {
    const result = await untilGivenUp(['--json'], all(), '25M', join(dir, 'release-json'));
    expect(result.status).toBe(125);
    const lines = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toHaveLength(3);
    const whole = lines.filter((line) => line['status'] === 0);
    expect(whole).toHaveLength(2);
    for (const line of whole) expect(line['stdout']).toBe('a'.repeat(25 * 1024 * 1024));
    const over = lines.find((line) => line['status'] !== 0);
    expect(over).toMatchObject({ status: 125, reached: true, error: { code: 'OUTPUT_LIMIT' } });
  });
});

describe('names from the config file', () => {
  let config: string;
  beforeAll(async () => {
    config = join(dir, 'config.json');
    await writeFile(
      config,
      JSON.stringify({
        hosts: Object.fromEntries(
          servers.map((server, index) => [`lab${index}`, { host: '127.0.0.1', port: server.port, keyFile }]),
        ),
        groups: { lab: ['lab0', 'lab1'], everything: ['lab', 'lab2'] },
      }),
    );
  });

  it('runs on a host by its name: `rexec run NAME -- cmd` and -H NAME', async () => {
    const byArgument = await rexec(['--config', config, 'run', 'lab1', '--', 'cat', 'name']);
    expect(byArgument).toEqual({ status: 0, stdout: 'h1', stderr: '' });
    const byFlag = await rexec(['--config', config, 'run', '-H', 'lab2', '--', 'cat', 'name']);
    expect(byFlag).toEqual({ status: 0, stdout: 'h2', stderr: '' });
    const ping = await rexec(['--config', config, '-H', 'lab0', 'ping']);
    expect(ping.stdout).toContain(`at 127.0.0.1:${servers[0]!.port}`);
  });

  it('runs `-- NAME -- ...` and `NAME args` as commands, not hosts', async () => {
    const explicit = await rexec(['--config', config, 'run', '-p', String(servers[0]!.port), '--', 'lab1', '--', 'x']);
    expect(explicit.status).toBe(127);
    expect(explicit.stderr).toContain('lab1');
    const noSeparator = await rexec(['--config', config, 'run', '-p', String(servers[0]!.port), 'echo', 'lab1']);
    expect(noSeparator).toEqual({ status: 0, stdout: 'lab1\n', stderr: '' });
  });

  it('refuses a host name where the command starts (an option after it, a typo), with the right form, status 2, running nothing', async () => {
    const port = String(servers[0]!.port);
    const option = await rexec(['--config', config, 'run', '-p', port, 'lab', '--group', '--', 'touch', 'slipped']);
    expect(option).toEqual({
      status: 2,
      stdout: '',
      stderr:
        'rexec: "lab" looks like a host name: to run on lab, write rexec run --group lab -- touch slipped (or -H lab); ' +
        'to run a command called lab on the default host, write rexec run -- lab --group -- touch slipped\n',
    });
    const typo = await rexec(['--config', config, 'run', '-p', port, 'alb1', '--', 'touch', 'slipped']);
    expect(typo.status).toBe(2);
    expect(typo.stderr).toBe(
      'rexec: "alb1" looks like a host name (did you mean lab1?): to run on lab1, write rexec run lab1 -- touch slipped (or -H lab1); ' +
        'to run a command called alb1 on the default host, write rexec run -- alb1 -- touch slipped\n',
    );
    const bare = await rexec(['--config', config, 'run', '-p', port, 'lab2', 'touch', 'slipped']);
    expect(bare.status).toBe(2);
    expect(bare.stderr).toContain('write rexec run lab2 -- touch slipped (or -H lab2)');
    expect(servers.some((server) => existsSync(join(server.root, 'slipped')))).toBe(false);
    // The forms that say what they mean still run.
    const asCommand = await rexec(['--config', config, 'run', '-p', port, '--', 'lab', '--group']);
    expect(asCommand.status).toBe(127);
    const near = await rexec(['--config', config, 'run', '-p', port, 'echo', 'lab1', '--', 'x']);
    expect(near).toEqual({ status: 0, stdout: 'lab1 -- x\n', stderr: '' });
  });

  it('-x takes names and groups out of a group', async () => {
    const result = await rexec(['--config', config, 'run', '-x', 'lab', 'everything', '--', 'cat', 'name']);
    expect(result.stdout).toBe('lab2: h2\n');
    // Options go before the name: after it they are the command's, and that is refused.
    const after = await rexec(['--config', config, 'run', 'everything', '-x', 'lab', '--', 'cat', 'name']);
    expect(after.status).toBe(2);
    expect(after.stderr).toContain('write rexec run -x lab everything -- cat name');
  });

  it('runs on every host of a group, nested groups included, prefixed by name', async () => {
    const result = await rexec(['--config', config, 'run', 'everything', '--', 'cat', 'name']);
    expect(result.stdout.split('\n').sort()).toEqual(['', 'lab0: h0', 'lab1: h1', 'lab2: h2']);
    const byFlag = await rexec(['--config', config, 'run', '-H', 'lab,lab2', '--', 'cat', 'name']);
    expect(byFlag.stdout.split('\n').sort()).toEqual(['', 'lab0: h0', 'lab1: h1', 'lab2: h2']);
  });

  it('runs on the hosts of a hosts file', async () => {
    const hosts = join(dir, 'hosts.txt');
    await writeFile(hosts, `# two of them\nlab0\n${address(servers[2]!)}\n`);
    const result = await rexec(['--config', config, 'run', '--hosts-file', hosts, '--', 'cat', 'name']);
    expect(result.stdout.split('\n').sort()).toEqual(['', `${address(servers[2]!)}: h2`, 'lab0: h0']);
  });

  it('refuses several hosts for a one-host command, and hosts given twice', async () => {
    const ping = await rexec(['--config', config, '-H', 'lab', 'ping']);
    expect(ping.status).toBe(255);
    expect(ping.stderr).toBe('rexec: -H lab names several hosts: only "rexec run" runs on several hosts at once\n');
    const twice = await rexec(['--config', config, 'run', '-H', 'lab0', 'lab1', '--', 'true']);
    expect(twice.status).toBe(255);
    expect(twice.stderr).toContain('give the hosts once');
  });

  it('-H NAME:PORT is the config entry NAME on that port, with its key file', async () => {
    const moved = join(dir, 'moved.json');
    await writeFile(
      moved,
      JSON.stringify({
        hosts: { lab: { host: '127.0.0.1', port: closedPort, keyFile } },
        groups: { elsewhere: [`lab:${servers[0]!.port}`, `lab:${servers[2]!.port}`] },
      }),
    );
    // No -k: the key comes from the entry (the default key file does not exist).
    const one = captureIo();
    const status = await main(['--config', moved, '-H', `lab:${servers[1]!.port}`, 'run', '--', 'cat', 'name'], one.io);
    expect({ status, stdout: one.stdout(), stderr: one.stderr() }).toEqual({ status: 0, stdout: 'h1', stderr: '' });
    const group = captureIo();
    expect(await main(['--config', moved, 'run', 'elsewhere', '--', 'cat', 'name'], group.io)).toBe(0);
    expect(group.stdout().split('\n').sort()).toEqual(
      ['', `lab:${servers[0]!.port}: h0`, `lab:${servers[2]!.port}: h2`].sort(),
    );
  });

  it('says which field of a bad config file is wrong', async () => {
    const bad = join(dir, 'bad.json');
    await writeFile(bad, JSON.stringify({ hosts: { lab1: { port: 'seven' } } }));
    const result = await rexec(['--config', bad, 'run', '--', 'true']);
    expect(result.status).toBe(255);
    expect(result.stderr).toBe(
      `rexec: config file ${bad}: hosts.lab1.port: Invalid input: expected number, received string\n`,
    );
  });
});
