// `npm install -g rexec` as a new user would do it: the packed tarball installed into a
// fresh prefix with an empty HOME (no npm config, no compiler cache), then the programs
// from that prefix: --version, --help, and a real rexecd serving a real `rexec run`.
// Dependencies come from npm's cache when it has them (CI has just filled it), so the
// test does not depend on the registry's speed; nothing may be compiled.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readdir, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyText } from '../../src/common/key-file.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
// Installing takes a while on a loaded 2-core machine.
const INSTALL_MS = 240_000;

describe('the packed tarball, installed globally into a fresh prefix', () => {
  let dir: string;
  let prefix: string;
  let home: string;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    dir = await realpath(await mkdtemp(join(tmpdir(), 'rexec-pack-')));
    prefix = join(dir, 'prefix');
    home = join(dir, 'home');
    await mkdir(home);
    const cache = execFileSync('npm', ['config', 'get', 'cache'], { encoding: 'utf8' }).trim();
    // No headers for node-gyp to build against: a hidden compile step fails here.
    const noHeaders = join(dir, 'no-node-headers');
    await mkdir(noHeaders);
    // The rest of the environment stays (a proxy's certificates, say): only npm's
    // per-user state is taken away.
    // the npm_* variables that `npm test` sets for its scripts go too.
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name)));
    env = {
      ...inherited,
      HOME: home,
      npm_config_cache: cache,
      npm_config_nodedir: noHeaders,
      npm_config_update_notifier: 'false',
    };
    // dist/ is already built (npm test builds first); packing must not rebuild it under
    // the other tests' feet.
    execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], { cwd: REPO, env, stdio: 'ignore' });
    const tarball = (await readdir(dir)).find((name) => /^rexec-.*\.tgz$/.test(name));
    if (tarball === undefined) throw new Error('npm pack made no tarball');
    execFileSync(
      'npm',
      ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', join(dir, tarball)],
      { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'], timeout: INSTALL_MS },
    );
  }, INSTALL_MS + 60_000);
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const program = (name: string): string => join(prefix, 'bin', name);

  it('rexec --version prints the version of package.json', async () => {
    const { version } = (await import('../../package.json', { with: { type: 'json' } })).default;
    expect(execFileSync(program('rexec'), ['--version'], { env, encoding: 'utf8' }).trim()).toBe(version);
  });

  it('rexecd --help describes the server', () => {
    expect(execFileSync(program('rexecd'), ['--help'], { env, encoding: 'utf8' })).toContain('--root');
  });

  it('installed no compiled code: nothing under build/ in any installed package', () => {
    const built = execFileSync('find', [join(prefix, 'lib', 'node_modules'), '-name', '*.node', '-path', '*/build/*'], {
      encoding: 'utf8',
    });
    expect(built).toBe('');
  });

  it('rexecd from the prefix serves rexec run -- true from the prefix, with terminals', async () => {
    const root = join(dir, 'root');
    await mkdir(root);
    const keyFile = join(dir, 'key');
    await writeFile(keyFile, `${generateKeyText()}\n`, { mode: 0o600 });
    const daemon = spawn(program('rexecd'), ['--port', '0', '--key-file', keyFile, '--root', root], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const port = await listeningPort(daemon);
      const client = ['-p', String(port), '-k', keyFile];
      expect(execFileSync(program('rexec'), [...client, 'run', '--', 'true'], { env, encoding: 'utf8' })).toBe('');
      const ping = execFileSync(program('rexec'), [...client, 'ping'], { env, encoding: 'utf8' });
      // The prebuilt terminal package came with the install.
      expect(ping).toContain('terminal (-t) yes');
    } finally {
      daemon.kill('SIGTERM');
      await new Promise((resolve) => daemon.once('exit', resolve));
    }
  });

  it('without the optional terminal package: hello says no terminal, -t says why, everything else works', async () => {
    // A platform without a prebuilt binary, or an install with --omit=optional: the same
    // package without @lydell/node-pty.
    const bare = join(dir, 'bare');
    execFileSync('cp', ['-a', prefix, bare]);
    await rm(join(bare, 'lib', 'node_modules', 'rexec', 'node_modules', '@lydell'), { recursive: true, force: true });
    const root = join(dir, 'bare-root');
    await mkdir(root);
    const keyFile = join(dir, 'bare-key');
    await writeFile(keyFile, `${generateKeyText()}\n`, { mode: 0o600 });
    const daemon = spawn(join(bare, 'bin', 'rexecd'), ['--port', '0', '--key-file', keyFile, '--root', root], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const port = await listeningPort(daemon);
      const client = (args: string[]) =>
        spawnSync(join(bare, 'bin', 'rexec'), ['-p', String(port), '-k', keyFile, ...args], { env, encoding: 'utf8' });
      expect(client(['ping']).stdout).toContain('terminal (-t) no');
      const plain = client(['run', '-n', '--', 'echo', 'plain works']);
      expect(plain.stdout).toBe('plain works\n');
      expect(plain.status).toBe(0);
      const terminal = client(['run', '-t', '--', 'true']);
      expect(terminal.status).toBe(126);
      expect(terminal.stderr).toContain('has no terminal support');
      expect(terminal.stderr).toContain('run the command without -t');
    } finally {
      daemon.kill('SIGTERM');
      await new Promise((resolve) => daemon.once('exit', resolve));
    }
  });
});

// The port rexecd prints once it listens.
function listeningPort(daemon: ChildProcess): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let out = '';
    daemon.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
      if (match) resolve(Number(match[1]));
    });
    daemon.once('exit', (code) => reject(new Error(`rexecd exited with ${code}`)));
  });
}
