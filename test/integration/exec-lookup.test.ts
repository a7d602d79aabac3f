// argv[0] by name, through a real server (docs/protocol.md section 4): looked up in the
// policy's path only, where a file that is not executable or a directory does not
// count: the search goes on to the next directory, and a name found only as such is
// SPAWN_FAILED. (The lookup itself: test/unit/server/paths.test.ts.)
import { chmod, mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLab } from '../helpers/lab.js';
import type { LabServer } from '../helpers/lab.js';
import { RawClient } from '../helpers/raw-client.js';

describe('argv[0] lookup in the policy path', () => {
  let dir: string;
  let lab: LabServer;
  let client: RawClient;
  let next = 1;

  beforeAll(async () => {
    dir = await realpath(await mkdtemp(join(tmpdir(), 'rexec-lookup-')));
    await chmod(dir, 0o755);
    const program = async (path: string, text: string, mode: number): Promise<void> => {
      await writeFile(path, `#!/bin/sh\necho ${text}\n`);
      await chmod(path, mode);
    };
    await mkdir(join(dir, 'a'));
    await mkdir(join(dir, 'b'));
    await program(join(dir, 'a', 'tool'), 'from-a', 0o644);
    await program(join(dir, 'b', 'tool'), 'from-b', 0o755);
    await program(join(dir, 'a', 'plain'), 'plain', 0o644);
    await mkdir(join(dir, 'b', 'folder'));
    lab = await startLab({ allow: '*', path: [join(dir, 'a'), join(dir, 'b'), '/usr/bin', '/bin'] });
    client = await RawClient.ready(lab.port, lab.keys['alice'] as string, 'alice');
  });

  afterAll(async () => {
    client?.close();
    await lab?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('runs the first executable file of that name, past one that is not executable', async () => {
    const result = await client.run(next++, { argv: ['tool'] });
    expect(result.stdout.toString()).toBe('from-b\n');
    expect(result.exit).toMatchObject({ code: 0 });
  });

  it('a name found only as a file that is not executable, or a directory, is SPAWN_FAILED', async () => {
    const plain = await client.run(next++, { argv: ['plain'] });
    expect(plain.types).toEqual(['error']);
    expect(plain.error).toMatchObject({ code: 'SPAWN_FAILED', message: 'plain: permission denied (not executable)' });
    const folder = await client.run(next++, { argv: ['folder'] });
    expect(folder.types).toEqual(['error']);
    expect(folder.error).toMatchObject({ code: 'SPAWN_FAILED', message: 'folder: not a regular file' });
  });
});
