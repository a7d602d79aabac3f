// What real tools need from the environment, as ssh gives it (section 4, revision
// 2026-12): USER, LOGNAME and SHELL of the account the command runs as, TERM on a
// terminal only, and a search path the operator sets with --path (a policy's wins).
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IS_ROOT, startLab } from '../helpers/lab.js';
import type { LabServer } from '../helpers/lab.js';
import { RawClient } from '../helpers/raw-client.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

function variables(output: Buffer): Map<string, string> {
  const lines = output.toString().replace(/\r/g, '').trim().split('\n');
  return new Map(lines.map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
}

describe('the account and the terminal', () => {
  let server: TestServer;
  let client: RawClient;
  beforeAll(async () => {
    server = await startServer();
    client = await RawClient.ready(server.port, server.key);
  });
  afterAll(async () => {
    client.close();
    await server.stop();
  });

  it('a locale path (LANG or LC_* with a "/") is DENIED and starts nothing; locale names pass', async () => {
    const refused = await client.run(7, { argv: ['sh', '-c', 'echo ran'], env: { LC_ALL: '/tmp/locale' } });
    expect(refused.types).toEqual(['error']);
    expect(refused.error).toMatchObject({ code: 'DENIED', id: 7 });
    const named = await client.run(8, { argv: ['sh', '-c', 'echo "$LANG"'], env: { LANG: 'C.UTF-8' } });
    expect(named.stdout.toString()).toBe('C.UTF-8\n');
  });

  it('TERM on a terminal (the requested type), and not without one', async () => {
    const onTerminal = await client.run(1, { argv: ['env'], pty: { cols: 80, rows: 24, term: 'vt100' } });
    expect(variables(onTerminal.stdout).get('TERM')).toBe('vt100');
    const plain = await client.run(2, { argv: ['env'] });
    expect(variables(plain.stdout).has('TERM')).toBe(false);
  });
});

describe.runIf(IS_ROOT)('runAs: the environment names the account commands run as', () => {
  let lab: LabServer;
  beforeAll(async () => {
    lab = await startLab({ allow: '*', runAs: { user: 'nobody' } });
  });
  afterAll(() => lab.stop());

  it('USER and LOGNAME are the account, SHELL a shell that runs commands', async () => {
    const client = await RawClient.ready(lab.port, lab.keys['alice'] as string, 'alice');
    try {
      const seen = variables((await client.run(1, { argv: ['env'] })).stdout);
      expect(seen.get('USER')).toBe('nobody');
      expect(seen.get('LOGNAME')).toBe('nobody');
      // nobody's login shell is nologin: a program that starts $SHELL gets /bin/sh instead.
      expect(seen.get('SHELL')).toBe('/bin/sh');
      const escape = await client.run(2, { argv: ['sh', '-c', '"$SHELL" -c "echo from \\$0"'] });
      expect(escape.stdout.toString()).toBe('from /bin/sh\n');
    } finally {
      client.close();
    }
  });
});

describe('--path: the operator sets the search path', () => {
  let server: TestServer;
  let tools: string;
  beforeAll(async () => {
    server = await startServer();
    tools = join(server.root, '..', 'tools');
    await mkdir(tools);
    await writeFile(join(tools, 'only-here'), '#!/bin/sh\necho found in tools\n');
    await chmod(join(tools, 'only-here'), 0o755);
  });
  afterAll(() => server.stop());

  it('without it, a program outside the default path is NOT_FOUND', async () => {
    const client = await RawClient.ready(server.port, server.key);
    const result = await client.run(1, { argv: ['only-here'] });
    client.close();
    expect(result.error).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('with it, argv[0] is looked up there and PATH says so', async () => {
    const custom = await startServer({ searchPath: [tools, '/usr/bin', '/bin'] });
    try {
      const client = await RawClient.ready(custom.port, custom.key);
      expect((await client.run(1, { argv: ['only-here'] })).stdout.toString()).toBe('found in tools\n');
      expect(variables((await client.run(2, { argv: ['env'] })).stdout).get('PATH')).toBe(`${tools}:/usr/bin:/bin`);
      // A request still cannot set PATH.
      expect((await client.run(3, { argv: ['true'], env: { PATH: '/tmp' } })).error).toMatchObject({ code: 'DENIED' });
      client.close();
    } finally {
      await custom.stop();
    }
  });

  it('refuses a relative directory', async () => {
    await expect(startServer({ searchPath: ['bin', '/usr/bin'] })).rejects.toThrow(/not an absolute directory/);
  });
});
