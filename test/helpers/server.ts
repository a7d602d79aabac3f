// Starts a real in-process rexecd on 127.0.0.1:0 for a test, with a fresh key file and
// a temporary root directory; stop() drains it and removes the files.
import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyText } from '../../src/common/key-file.js';
import { createServer } from '../../src/server/index.js';
import type { RexecServer, ServerOptions } from '../../src/server/index.js';

export interface TestServer {
  readonly host: string;
  readonly port: number;
  /** The key's text (the server ignores it when started with noAuth). */
  readonly key: string;
  readonly keyFile: string;
  /** The server's root (a fresh temporary directory unless `root` was given). */
  readonly root: string;
  readonly server: RexecServer;
  stop(): Promise<void>;
}

/** `user`: the name the key belongs to (default "default", the one user of a single-key server). */
export type TestServerOptions = Partial<Omit<ServerOptions, 'auth'>> & { noAuth?: boolean; user?: string };

/** Starts a server; every option of ServerOptions may be overridden. */
export async function startServer(options: TestServerOptions = {}): Promise<TestServer> {
  const dir = await realpath(await mkdtemp(join(tmpdir(), 'rexec-test-')));
  const key = generateKeyText();
  const keyFile = join(dir, 'key');
  await writeFile(keyFile, `${key}\n`, { mode: 0o600 });
  const root = options.root ?? join(dir, 'root');
  if (options.root === undefined) await mkdir(root);
  const { noAuth, user = 'default', ...rest } = options;
  const server = createServer({
    graceMs: 500,
    ...rest,
    root,
    host: '127.0.0.1',
    port: 0,
    auth: noAuth ? { mode: 'none' } : { mode: 'hmac-sha256', keys: new Map([[user, key]]) },
  });
  const address = await server.listen();
  let stopped: Promise<void> | undefined;
  return {
    host: address.host,
    port: address.port,
    key,
    keyFile,
    root,
    server,
    stop() {
      stopped ??= server.shutdown().then(() => rm(dir, { recursive: true, force: true }));
      return stopped;
    },
  };
}
