// A real rexecd under a lab policy: temporary policy and users files, a jail that the
// lab account can write, and per-user keys.
import { chmod, mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyText } from '../../src/common/key-file.js';
import { createServer } from '../../src/server/index.js';
import type { AuditLog, RexecServer, ServerOptions } from '../../src/server/index.js';

/** Root must not run lab commands as itself; everyone else runs them as themselves. */
export const IS_ROOT = process.getuid?.() === 0;
export const LAB_RUN_AS: Record<string, unknown> = IS_ROOT ? { runAs: { user: 'nobody' } } : {};

export interface LabServer {
  readonly port: number;
  readonly root: string;
  readonly dir: string;
  readonly keys: Readonly<Record<string, string>>;
  readonly server: RexecServer;
  readonly events: Array<Record<string, unknown>>;
  stop(): Promise<void>;
}

/**
 * Starts a server with `policy` (lab.json, `root` filled in unless given) and one users
 * file entry per name in `users` (each its own key, plus the given overrides).
 */
export async function startLab(
  policy: Record<string, unknown>,
  users: Record<string, Record<string, unknown>> = { alice: {}, bob: {} },
  options: Partial<ServerOptions> = {},
): Promise<LabServer> {
  const dir = await realpath(await mkdtemp(join(tmpdir(), 'rexec-lab-')));
  // The lab account must reach the jail through its parent.
  await chmod(dir, 0o755);
  const root = join(dir, 'root');
  await mkdir(root);
  await chmod(root, 0o777);
  const keys: Record<string, string> = {};
  const entries: Record<string, unknown> = {};
  for (const [name, overrides] of Object.entries(users)) {
    keys[name] = generateKeyText();
    entries[name] = { ...overrides, key: keys[name] };
  }
  const policyFile = join(dir, 'lab.json');
  const usersFile = join(dir, 'users.json');
  await writeFile(policyFile, JSON.stringify({ root, ...LAB_RUN_AS, ...policy }));
  await writeFile(usersFile, JSON.stringify({ users: entries }), { mode: 0o600 });
  const events: Array<Record<string, unknown>> = [];
  const audit: AuditLog = {
    record: (event) => {
      events.push({ ...event });
    },
    flush: () => Promise.resolve(),
  };
  let server: RexecServer;
  try {
    server = createServer({
      auth: { mode: 'hmac-sha256', keys: new Map() },
      host: '127.0.0.1',
      port: 0,
      graceMs: 300,
      policyFile,
      usersFile,
      audit,
      ...options,
    });
  } catch (error) {
    // A policy rexecd refuses (the tests of start-up checks) leaves nothing behind.
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const { port } = await server.listen();
  return {
    port,
    root,
    dir,
    keys,
    server,
    events,
    async stop() {
      await server.shutdown();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
