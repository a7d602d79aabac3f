// `rexec run` as a process: exit statuses (docs/protocol.md section 7), error messages,
// --json (one object, also without an exit), stdin forwarded by default (-n, -i), --shell, --timeout, forwarded signals, a failing stdout (one host and
// several) and a command line too long for one request.
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, open, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { REXEC_BIN, rexec, serverEnv } from '../helpers/rexec-cli.js';
import type { CliRun } from '../helpers/rexec-cli.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { freePort } from '../helpers/free-port.js';
import { memoryOf, startDaemon } from '../helpers/daemon.js';
import type { Daemon } from '../helpers/daemon.js';
import { LAB_RUN_AS } from '../helpers/lab.js';

let server: TestServer;
let env: Record<string, string>;

beforeAll(async () => {
  server = await startServer();
  await mkdir(join(server.root, 'sub'));
  env = serverEnv(server);
});
afterAll(() => server.stop());

/** Resolves once the process's stdout has shown `text`. */
function stdoutShows(run: CliRun, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    run.child.stdout?.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes(text)) resolve();
    });
    run.child.stdout?.once('end', () => reject(new Error(`no "${text}" in ${JSON.stringify(seen)}`)));
  });
}

describe('exit status', () => {
  it('is 0 with the output on stdout and stderr', async () => {
    const result = await rexec(['run', '--', 'sh', '-c', 'echo out; echo err >&2'], env);
    expect(result.exitCode).toBe(0);
    expect(result.stdout.toString()).toBe('out\n');
    expect(result.stderr.toString()).toBe('err\n');
  });

  it('is the remote exit code', async () => {
    expect((await rexec(['run', '--', 'sh', '-c', 'exit 3'], env)).exitCode).toBe(3);
  });

  it('takes the command from the first non-option, without --', async () => {
    const result = await rexec(['run', 'ls', '-a', '-d', '.'], env);
    expect(result.exitCode).toBe(0);
    expect(result.stdout.toString()).toBe('.\n');
  });

  it('is 128 + the signal number when a signal ended the command', async () => {
    expect((await rexec(['run', '--', 'sh', '-c', 'kill -TERM $$'], env)).exitCode).toBe(143);
    expect((await rexec(['run', '--', 'sh', '-c', 'kill -KILL $$'], env)).exitCode).toBe(137);
  });

  it('is 127 for a command the server does not find', async () => {
    const result = await rexec(['run', '--', 'no-such-program-rexec'], env);
    expect(result.exitCode).toBe(127);
    expect(result.stderr.toString()).toMatch(/^rexec: .*no-such-program-rexec.*on the server.*\n$/);
  });

  it('is 126 for a denied cwd and for one that does not exist', async () => {
    const denied = await rexec(['run', '--cwd', '/', '--', 'true'], env);
    expect(denied.exitCode).toBe(126);
    expect(denied.stderr.toString()).toMatch(/^rexec: denied by the server: .*\n$/);
    const missing = await rexec(['run', '--cwd', 'missing', '--', 'true'], env);
    expect(missing.exitCode).toBe(126);
    expect(missing.stderr.toString()).toMatch(/^rexec: the server could not start the command: .*\n$/);
  });

  it('is 255 with what to do when nothing listens', async () => {
    const port = await freePort();
    const result = await rexec(['run', '--', 'true'], { ...env, REXEC_PORT: String(port) });
    expect(result.exitCode).toBe(255);
    expect(result.stderr.toString()).toBe(
      `rexec: cannot connect to 127.0.0.1:${port} (connection refused): is rexecd running? ` +
        'start it with "npx rexecd", or give its address with -H and -p\n',
    );
  });

  it('is 255 with the key file named when the key is wrong', async () => {
    const wrongKey = join(server.root, '..', 'wrong-key');
    await writeFile(wrongKey, 'not the key\n', { mode: 0o600 });
    const result = await rexec(['run', '-k', wrongKey, '--', 'true'], env);
    expect(result.exitCode).toBe(255);
    expect(result.stderr.toString()).toBe(
      `rexec: authentication failed: the key in ${wrongKey} is not the server's key (use -k)\n`,
    );
  });

  it('is 255 with the path when the key file is missing', async () => {
    const result = await rexec(['run', '--', 'true'], { ...env, REXEC_KEY_FILE: '/nonexistent/key' });
    expect(result.exitCode).toBe(255);
    expect(result.stderr.toString()).toBe(
      "rexec: key file /nonexistent/key does not exist: copy the server's key file there, or give its path with -k\n",
    );
  });

  it('is 255 for a usage error', async () => {
    const result = await rexec(['run'], env);
    expect(result.exitCode).toBe(255);
    expect(result.stderr.toString()).toContain("missing required argument 'command'");
  });

  it('notes a timeout on stderr', async () => {
    const result = await rexec(['run', '--timeout', '200', '--', 'sleep', '30'], env);
    expect(result.exitCode).toBe(143);
    expect(result.stderr.toString()).toMatch(/^rexec: command timed out after \d+ ms \(ended by SIGTERM\)\n$/);
  });
});

describe('options', () => {
  it('passes --cwd and -e', async () => {
    const result = await rexec(
      ['run', '--cwd', 'sub', '-e', 'A=1', '-e', 'B=x=y', '--', 'sh', '-c', 'pwd -P; echo "$A $B"'],
      env,
    );
    expect(result.stdout.toString()).toBe(`${join(server.root, 'sub')}\n1 x=y\n`);
  });

  it('merges stderr into stdout in order with --merge', async () => {
    const result = await rexec(['run', '--merge', '--', 'sh', '-c', 'echo 1; echo 2 >&2; echo 3'], env);
    expect(result.stdout.toString()).toBe('1\n2\n3\n');
    expect(result.stderr.length).toBe(0);
  });

  it('takes connection flags before and after the subcommand, over the environment', async () => {
    const wrong = { ...env, REXEC_PORT: '1' };
    expect((await rexec(['-p', String(server.port), 'run', '--', 'true'], wrong)).exitCode).toBe(0);
    expect((await rexec(['run', '-p', String(server.port), '--', 'true'], wrong)).exitCode).toBe(0);
    expect((await rexec(['run', '--', 'true'], wrong)).exitCode).toBe(255);
  });

  it('refuses --shell before sending when the server has no shell', async () => {
    const result = await rexec(['run', '--shell', '--', 'echo $HOME'], env);
    expect(result.exitCode).toBe(126);
    expect(result.stderr.toString()).toContain('start rexecd with --allow-shell');
  });

  it('runs --shell commands on a server with a shell', async () => {
    const shellServer = await startServer({ allowShell: true });
    const result = await rexec(
      ['run', '--shell', '--', 'echo', '$((1 + 2))', '|', 'tr', '3', 'x'],
      serverEnv(shellServer),
    );
    expect(result.stdout.toString()).toBe('x\n');
    await shellServer.stop();
  });
});

describe('--json', () => {
  it('prints UTF-8 output as text', async () => {
    const result = await rexec(
      ['run', '--json', '--', 'sh', '-c', 'printf "h\\303\\251llo \\342\\234\\223"; echo e >&2; exit 2'],
      env,
    );
    expect(result.exitCode).toBe(2);
    expect(result.stderr.length).toBe(0);
    const report = JSON.parse(result.stdout.toString()) as Record<string, unknown>;
    expect(report).toEqual({
      stdout: 'héllo ✓',
      stderr: 'e\n',
      stdoutEncoding: 'utf8',
      stderrEncoding: 'utf8',
      code: 2,
      signal: null,
      timedOut: false,
      truncated: false,
      durationMs: report['durationMs'],
    });
    expect(Number.isInteger(report['durationMs'])).toBe(true);
  });

  it('prints binary output as base64', async () => {
    const blob = randomBytes(100_000);
    await writeFile(join(server.root, 'json.bin'), blob);
    const result = await rexec(['run', '--json', '--', 'cat', 'json.bin'], env);
    expect(result.exitCode).toBe(0);
    const report = JSON.parse(result.stdout.toString()) as {
      stdout: string;
      stdoutEncoding: string;
      stderrEncoding: string;
    };
    expect(report.stdoutEncoding).toBe('base64');
    expect(report.stderrEncoding).toBe('utf8');
    expect(Buffer.from(report.stdout, 'base64').equals(blob)).toBe(true);
  });

  it('prints one object with `error` when there is no exit: not found, denied, unreachable', async () => {
    const missing = await rexec(['run', '--json', '--', 'no-such-program-rexec'], env);
    expect(missing.exitCode).toBe(127);
    expect(JSON.parse(missing.stdout.toString())).toMatchObject({
      status: 127,
      reached: true,
      error: { code: 'NOT_FOUND' },
    });
    expect(missing.stderr.toString()).toContain('no-such-program-rexec');
    const denied = await rexec(['run', '--json', '--cwd', '/', '--', 'true'], env);
    expect(denied.exitCode).toBe(126);
    expect(JSON.parse(denied.stdout.toString())).toMatchObject({
      status: 126,
      reached: true,
      error: { code: 'DENIED' },
    });
    const port = await freePort();
    const down = await rexec(['run', '--json', '--', 'true'], { ...env, REXEC_PORT: String(port) });
    expect(down.exitCode).toBe(255);
    const report = JSON.parse(down.stdout.toString()) as { error: { message: string } };
    expect(report).toMatchObject({ status: 255, reached: false, error: { code: 'CONNECT_FAILED' } });
    expect(report.error.message).toContain('connection refused');
    // Exactly one object, one line.
    expect(down.stdout.toString().trim().split('\n')).toHaveLength(1);
  });
});

describe('stdin', () => {
  it('is forwarded by default, byte for byte, and its end (as ssh does)', async () => {
    const input = randomBytes(1024 * 1024 + 3);
    const result = await rexec(['run', '--', 'cat'], env, { input });
    expect(result.exitCode).toBe(0);
    expect(result.stdout.equals(input)).toBe(true);
    const sorted = await rexec(['run', '--', 'sort'], env, { input: 'pear\napple\nfig\n' });
    expect(sorted.stdout.toString()).toBe('apple\nfig\npear\n');
  });

  it('is forwarded with -i too, as before', async () => {
    const result = await rexec(['run', '-i', '--', 'wc', '-c'], env, { input: Buffer.alloc(12345) });
    expect(result.stdout.toString().trim()).toBe('12345');
  });

  it('-n closes the remote stdin at once, even while ours stays open', async () => {
    const cli = rexec(['run', '-n', '--', 'sh', '-c', 'cat; echo eof'], env);
    cli.child.stdin?.write('never read\n');
    const result = await cli;
    expect(result.stdout.toString()).toBe('eof\n');
    expect(result.exitCode).toBe(0);
  });

  it('a command that does not read it ends rexec at once, while our stdin stays open', async () => {
    // The pipe to rexec's stdin is never closed: rexec must not wait for its end.
    const cli = rexec(['run', '--', 'echo', 'done'], env);
    cli.child.stdin?.write('typed ahead\n');
    const result = await cli;
    expect(result.exitCode).toBe(0);
    expect(result.stdout.toString()).toBe('done\n');
  });

  it('works with stdin at end of file, /dev/null, or closed', async () => {
    const script = `"$0" "$1" run -- sh -c 'wc -c; exit 4' < /dev/null; echo "a=$?"; "$0" "$1" run -- wc -c <&-; echo "b=$?"`;
    const result = await execa('bash', ['--norc', '-c', script, process.execPath, REXEC_BIN], {
      env: { ...env, PATH: process.env['PATH'] ?? '', HOME: '/nonexistent-rexec-home' },
      extendEnv: false,
      reject: false,
      timeout: 60_000,
    });
    expect(result.stdout.replace(/ +/g, '')).toBe('0\na=4\n0\nb=0');
  });

  it('stops reading stdin when the command exits first', async () => {
    const cli = rexec(['run', '--', 'head', '-c', '5'], env);
    cli.child.stdin?.write('hello world, and more that is never read\n');
    const result = await cli;
    expect(result.exitCode).toBe(0);
    expect(result.stdout.toString()).toBe('hello');
  });

  it('streams hundreds of MiB with bounded memory in rexec', async () => {
    const MiB = 1024 * 1024;
    const size = 384 * MiB;
    const file = join(server.root, '..', 'big-stdin.bin');
    const block = randomBytes(MiB);
    const hash = createHash('sha256');
    const handle = await open(file, 'w');
    for (let offset = 0; offset < size; offset += MiB) {
      block.writeUInt32BE(offset / MiB, 0);
      hash.update(block);
      await handle.write(block);
    }
    await handle.close();
    const run = rexec(['run', '--', 'sha256sum'], env, { inputFile: file });
    const pid = run.child.pid as number;
    let peak = 0;
    const timer = setInterval(() => {
      try {
        peak = Math.max(peak, memoryOf(pid).peak);
      } catch {
        // Exited between two samples.
      }
    }, 25);
    const result = await run.finally(() => clearInterval(timer));
    await rm(file);
    expect(result.exitCode).toBe(0);
    expect(result.stdout.toString()).toBe(`${hash.digest('hex')}  -\n`);
    // Seen running, and far below the input: buffering it would come near 384 MiB.
    expect(peak).toBeGreaterThan(10 * MiB);
    expect(peak).toBeLessThan(192 * MiB);
  }, 180_000);
});

describe('signals', () => {
  it('forwards SIGINT to the command', async () => {
    const cli = rexec(
      ['run', '--', 'sh', '-c', 'trap "echo got INT; exit 7" INT; echo ready; while :; do sleep 0.05; done'],
      env,
    );
    await stdoutShows(cli, 'ready');
    cli.child.kill('SIGINT');
    const result = await cli;
    expect(result.exitCode).toBe(7);
    expect(result.stdout.toString()).toBe('ready\ngot INT\n');
  });

  it('forwards the first SIGINT even behind a large stdin the command never reads', async () => {
    // Once, the signal waited in TCP behind stdin the server had stopped reading, and
    // only a second Ctrl-C (a disconnect) ended the command. The stdin window keeps the
    // server reading.
    const big = join(server.root, '..', 'unread-stdin');
    await writeFile(big, Buffer.alloc(64 * 1024 * 1024, 0x61));
    const cli = rexec(
      ['run', '--', 'sh', '-c', 'trap "echo got INT; exit 7" INT; echo ready; while :; do sleep 0.05; done'],
      env,
      {
        inputFile: big,
      },
    );
    await stdoutShows(cli, 'ready');
    cli.child.kill('SIGINT');
    const result = await cli;
    expect(result.exitCode).toBe(7);
    expect(result.stdout.toString()).toBe('ready\ngot INT\n');
  });

  it('forwards SIGTERM to the command', async () => {
    const cli = rexec(
      ['run', '--', 'sh', '-c', 'trap "echo got TERM; exit 9" TERM; echo ready; while :; do sleep 0.05; done'],
      env,
    );
    await stdoutShows(cli, 'ready');
    cli.child.kill('SIGTERM');
    const result = await cli;
    expect(result.exitCode).toBe(9);
    expect(result.stdout.toString()).toBe('ready\ngot TERM\n');
  });

  it('ends the client with 130 on a second SIGINT', async () => {
    const cli = rexec(
      ['run', '--', 'sh', '-c', 'trap "echo got INT" INT; echo ready; while :; do sleep 0.05; done'],
      env,
    );
    await stdoutShows(cli, 'ready');
    cli.child.kill('SIGINT');
    await stdoutShows(cli, 'got INT');
    cli.child.kill('SIGINT');
    const result = await cli;
    expect(result.exitCode).toBe(130);
    expect(result.stderr.toString()).toContain('rexec: interrupted');
  });

  it('ends with 141 (SIGPIPE) when its stdout is closed, and does not hang', async () => {
    const result = await execa(
      'bash',
      ['-c', `"${process.execPath}" "${REXEC_BIN}" run -- yes | head -n 1; echo "status=\${PIPESTATUS[0]}"`],
      { env: { ...env, PATH: process.env['PATH'] ?? '' }, extendEnv: false, reject: false, timeout: 60_000 },
    );
    expect(result.stdout).toBe('y\nstatus=141');
  });
});

describe('our output failing', () => {
  /** `rexec args... REDIRECTION` run by bash: rexec's own status, and its stderr. */
  async function rexecInto(args: readonly string[], redirection: string): Promise<{ status: number; stderr: string }> {
    const script = `"$0" "$1" ${args.map((arg) => `'${arg}'`).join(' ')} ${redirection}; exit \${PIPESTATUS[0]}`;
    const result = await execa('bash', ['--norc', '-c', script, process.execPath, REXEC_BIN], {
      env: { ...env, PATH: process.env['PATH'] ?? '', HOME: '/nonexistent-rexec-home' },
      extendEnv: false,
      reject: false,
      stripFinalNewline: false,
      timeout: 60_000,
    });
    return { status: result.exitCode ?? -1, stderr: String(result.stderr) };
  }

  it('a write error other than a closed pipe says so, with status 1', async () => {
    const message = 'rexec: cannot write the output: no space left on the device\n';
    expect(await rexecInto(['run', '--', 'echo', 'hi'], '> /dev/full')).toEqual({ status: 1, stderr: message });
    expect(await rexecInto(['run', '--json', '--', 'echo', 'hi'], '> /dev/full')).toEqual({
      status: 1,
      stderr: message,
    });
    expect(await rexecInto(['run', '--json', '--', 'seq', '1', '200000'], '| head -c 5 > /dev/null')).toEqual({
      status: 141,
      stderr: '',
    });
  });

  it('several hosts with a closed stdout: status 141, the summary, no hang', async () => {
    const hosts = `127.0.0.1:${server.port},localhost:${server.port}`;
    const result = await rexecInto(['run', '-H', hosts, '--', 'seq', '1', '100000'], '| head -2 > /dev/null');
    expect(result.status).toBe(141);
    expect(result.stderr).toContain(
      `rexec: 2 hosts: 0 ok, 2 failed\nrexec:   failed (141): 127.0.0.1:${server.port} localhost:${server.port}\n`,
    );
  });

  it('several hosts writing to /dev/full: said once, status 1, the summary', async () => {
    const hosts = `127.0.0.1:${server.port},localhost:${server.port}`;
    const result = await rexecInto(['run', '-H', hosts, '--', 'seq', '1', '100000'], '> /dev/full');
    expect(result.status).toBe(1);
    expect(result.stderr.match(/cannot write the output/g)).toHaveLength(1);
    expect(result.stderr).toContain('rexec: 2 hosts: 0 ok, 2 failed\n');
  });
});

describe('a command line too long for one request', () => {
  it('is refused before sending, saying so (status 255)', async () => {
    const result = await rexec(['run', '-e', `BIG=${'v'.repeat(40_000)}`, '--', 'echo', 'a'.repeat(30_000)], env);
    expect(result.exitCode).toBe(255);
    expect(result.stderr.toString()).toMatch(
      /^rexec: the command \(arguments plus environment\) is too long for one request \(header of \d+ bytes is over 65536\): shorten it, or pass the data on stdin or in a file \(rexec cp\)\n$/,
    );
  });
});

describe("standard input past the server's limit (limits.maxStdinBytes)", () => {
  let daemon: Daemon;
  let dir: string;
  beforeAll(async () => {
    // A root the lab account can enter (as root, the policy runs commands as nobody).
    dir = await realpath(await mkdtemp(join(tmpdir(), 'rexec-stdin-cap-')));
    await chmod(dir, 0o755);
    const policyFile = join(dir, 'lab.json');
    await writeFile(policyFile, JSON.stringify({ root: dir, limits: { maxStdinBytes: 1_000_000 }, ...LAB_RUN_AS }));
    daemon = await startDaemon(['--policy', policyFile]);
  });
  afterAll(async () => {
    await daemon?.stop();
    await rm(dir, { recursive: true, force: true });
  });
  const daemonEnv = (): Record<string, string> => ({ REXEC_PORT: String(daemon.port), REXEC_KEY_FILE: daemon.keyFile });

  it("is cut at exactly the limit, and rexec says so on stderr; the status stays the command's", async () => {
    const result = await rexec(['run', '-i', '--', 'wc', '-c'], daemonEnv(), { input: Buffer.alloc(3_000_000) });
    expect(result.stdout.toString().trim()).toBe('1000000');
    expect(result.stderr.toString()).toBe(
      'rexec: warning: the server kept only the first 1000000 bytes of standard input (limit: maxStdinBytes)\n',
    );
    expect(result.exitCode).toBe(0);
  });

  it('says nothing when the input fits', async () => {
    const result = await rexec(['run', '-i', '--', 'wc', '-c'], daemonEnv(), { input: Buffer.alloc(1_000_000) });
    expect(result.stdout.toString().trim()).toBe('1000000');
    expect(result.stderr.toString()).toBe('');
    expect(result.exitCode).toBe(0);
  });

  it('--json says it too: on stderr, and as stdinTruncated in the report', async () => {
    const result = await rexec(['run', '--json', '-i', '--', 'wc', '-c'], daemonEnv(), {
      input: Buffer.alloc(2_000_000),
    });
    expect(result.stderr.toString()).toContain(
      'rexec: warning: the server kept only the first 1000000 bytes of standard input',
    );
    expect(JSON.parse(result.stdout.toString())).toMatchObject({ code: 0, stdout: '1000000\n', stdinTruncated: true });
  });
});
