// What a lab command cannot do: exceed its resource limits, run as anyone but the lab
// account, or (under bubblewrap) write outside the jail, reach the network, or see
// other processes.
import { createServer as createNetServer } from 'node:net';
import type { AddressInfo, Server } from 'node:net';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from '../helpers/raw-client.js';
import { IS_ROOT, startLab } from '../helpers/lab.js';
import type { LabServer } from '../helpers/lab.js';

const HAVE_BWRAP = existsSync('/usr/bin/bwrap');

describe('resource limits (prlimit)', () => {
  let lab: LabServer;
  let client: RawClient;
  beforeAll(async () => {
    lab = await startLab({
      allow: '*',
      limits: {
        nproc: 40,
        openFiles: 32,
        cpuSeconds: 7,
        fileSizeBytes: 10_000,
        addressSpaceBytes: 1_073_741_824,
        timeoutMs: 30_000,
      },
    });
    client = await RawClient.ready(lab.port, lab.keys['alice'] as string, 'alice');
  });
  afterAll(async () => {
    client.close();
    await lab.stop();
  });

  it('applies open files, CPU seconds, file size and address space', async () => {
    const result = await client.run(1, { argv: ['sh', '-c', 'ulimit -n; ulimit -t; ulimit -f; ulimit -v'] });
    // ulimit -f counts 512-byte blocks (10,000 bytes -> 19), -v KiB.
    expect(result.stdout.toString()).toBe('32\n7\n19\n1048576\n');
  });

  it('a write past fileSizeBytes fails', async () => {
    const result = await client.run(2, { argv: ['sh', '-c', 'head -c 20000 /dev/zero > big; echo $?; wc -c < big'] });
    const [status, size] = result.stdout.toString().trim().split('\n');
    expect(Number(status)).not.toBe(0);
    expect(Number(size)).toBeLessThanOrEqual(10_000);
  });

  it.runIf(IS_ROOT)('a fork bomb stops at nproc and the server stays responsive (as the runAs account)', async () => {
    const bomb = 'bomb() { bomb | bomb & }; bomb; sleep 2; echo survived';
    client.send({ type: 'exec', id: 3, argv: ['bash', '-c', bomb], timeoutMs: 3_000 });
    // While it runs, the server answers others.
    const other = await RawClient.ready(lab.port, lab.keys['bob'] as string, 'bob');
    const answer = await other.run(1, { argv: ['echo', 'responsive'] });
    expect(answer.stdout.toString()).toBe('responsive\n');
    const frames = await client.collect(3);
    expect(frames.some((f) => f.header.type === 'exit')).toBe(true);
    other.close();
  });
});

describe.runIf(IS_ROOT)('runAs', () => {
  it('runs commands as the lab account, not as root', async () => {
    const lab = await startLab({ allow: '*' });
    try {
      const client = await RawClient.ready(lab.port, lab.keys['alice'] as string, 'alice');
      const result = await client.run(1, { argv: ['id', '-u'] });
      expect(result.stdout.toString()).toBe('65534\n');
      client.close();
    } finally {
      await lab.stop();
    }
  });

  it('refuses to start under a policy that would run commands as root', async () => {
    await expect(startLab({ allow: '*', runAs: undefined })).rejects.toThrow(/runAs/);
  });
});

describe.runIf(HAVE_BWRAP)('sandbox: bwrap', () => {
  let lab: LabServer;
  let client: RawClient;
  let listener: Server;
  let port: number;
  beforeAll(async () => {
    lab = await startLab({ allow: '*', sandbox: 'bwrap' });
    client = await RawClient.ready(lab.port, lab.keys['alice'] as string, 'alice');
    listener = createNetServer((socket) => socket.end('hello from the host\n'));
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    port = (listener.address() as AddressInfo).port;
  });
  afterAll(async () => {
    client.close();
    listener.close();
    await lab.stop();
  });

  it('writes only inside the jail: the system is read-only, /tmp is private', async () => {
    const marker = `rexec-sandbox-${process.pid}`;
    const result = await client.run(1, {
      argv: [
        'sh',
        '-c',
        `echo in > inside.txt && echo ok; touch /etc/${marker} 2>/dev/null || echo etc-refused; echo t > /tmp/${marker} && echo tmp-private`,
      ],
    });
    expect(result.stdout.toString()).toBe('ok\netc-refused\ntmp-private\n');
    expect(await readdir(lab.root)).toContain('inside.txt');
    expect(existsSync(`/etc/${marker}`)).toBe(false);
    expect(existsSync(`/tmp/${marker}`)).toBe(false);
  });

  it('cannot see the user homes or the rest of the file system', async () => {
    const result = await client.run(2, {
      argv: ['sh', '-c', `ls ${join(lab.dir, 'users.json')} 2>/dev/null || echo hidden`],
    });
    expect(result.stdout.toString()).toBe('hidden\n');
  });

  it('has no network: a listener on the host loopback is unreachable', async () => {
    const script = `exec 3<>/dev/tcp/127.0.0.1/${port} && cat <&3 || echo unreachable; cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' '`;
    const result = await client.run(3, { argv: ['bash', '-c', script] });
    expect(result.stdout.toString()).toBe('unreachable\nlo\n');
  });

  it('sees its own PID namespace', async () => {
    const result = await client.run(4, { argv: ['sh', '-c', 'echo $$; ls /proc | grep -c "^[0-9]"'] });
    const [pid, count] = result.stdout.toString().trim().split('\n').map(Number);
    expect(pid).toBeLessThan(10);
    expect(count).toBeLessThan(10);
  });

  it('a signal still ends the sandboxed process', async () => {
    client.send({ type: 'exec', id: 5, argv: ['sleep', '60'] });
    await client.next('started', 5);
    client.send({ type: 'signal', id: 5, signal: 'SIGTERM' });
    const frames = await client.collect(5);
    expect(frames.at(-1)?.header).toMatchObject({ type: 'exit', code: null });
  });
});
