// The known_hosts file and fingerprints: names, recording (0600), lookups that skip
// comments, a changed certificate refused with file and line, malformed lines.
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkKnownHost, findKnownHost, knownHostName } from '../../../src/client/known-hosts.js';
import { fingerprintOfDer, parseFingerprint } from '../../../src/common/fingerprint.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rexec-known-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const A = fingerprintOfDer(Buffer.from('certificate a'));
const B = fingerprintOfDer(Buffer.from('certificate b'));

describe('fingerprints', () => {
  it('are sha256: and colon-separated upper-case hex, and parse from any usual spelling', () => {
    expect(A).toMatch(/^sha256:([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    const hex = A.slice('sha256:'.length).replaceAll(':', '');
    expect(parseFingerprint(hex.toLowerCase())).toBe(A);
    expect(parseFingerprint(`SHA256:${A.slice(7).toLowerCase()}`)).toBe(A);
    expect(parseFingerprint(`  ${A}  `)).toBe(A);
    expect(parseFingerprint('sha256:abcd')).toBeUndefined();
    expect(parseFingerprint(`${hex}00`)).toBeUndefined();
  });
});

describe('known_hosts', () => {
  it('names hosts host:port, IPv6 in brackets', () => {
    expect(knownHostName('lab1', 7077)).toBe('lab1:7077');
    expect(knownHostName('::1', 7077)).toBe('[::1]:7077');
  });

  it('records DNS names in lower case, as ssh does, and finds a line spelled in capitals', async () => {
    expect(knownHostName('LOCALHOST', 7077)).toBe('localhost:7077');
    expect(knownHostName('Lab1.Example.ORG', 7100)).toBe('lab1.example.org:7100');
    expect(knownHostName('10.0.0.5', 7077)).toBe('10.0.0.5:7077');
    expect(knownHostName('FE80::1', 7077)).toBe('[FE80::1]:7077');
    const file = join(dir, 'case', 'known_hosts');
    expect(await checkKnownHost(file, knownHostName('LAB1', 7077), A)).toEqual({ status: 'recorded' });
    expect(await readFile(file, 'utf8')).toBe(`lab1:7077 ${A}\n`);
    expect(await checkKnownHost(file, knownHostName('lab1', 7077), A)).toEqual({ status: 'known' });
    await writeFile(file, `OLD.Example.org:7077 ${B}\n`);
    expect(await findKnownHost(file, knownHostName('old.example.ORG', 7077))).toEqual({ fingerprint: B, line: 1 });
  });

  it('records a new host (creating the file 0600), then knows it', async () => {
    const file = join(dir, 'new', 'rexec', 'known_hosts');
    expect(await checkKnownHost(file, 'lab1:7077', A)).toEqual({ status: 'recorded' });
    expect(await checkKnownHost(file, 'lab1:7077', A)).toEqual({ status: 'known' });
    expect(await checkKnownHost(file, 'lab2:7077', B)).toEqual({ status: 'recorded' });
    expect(await readFile(file, 'utf8')).toBe(`lab1:7077 ${A}\nlab2:7077 ${B}\n`);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it('refuses a changed certificate, naming the file, the line and both fingerprints', async () => {
    const file = join(dir, 'changed');
    await writeFile(file, `# my hosts\n\nlab0:7077 ${B}\nlab1:7077 ${A}\n`);
    const error = await checkKnownHost(file, 'lab1:7077', B).catch(
      (caught: unknown) => caught as Error & { code: string },
    );
    expect(error).toMatchObject({ code: 'TLS' });
    expect((error as Error).message).toContain('lab1:7077 has CHANGED');
    expect((error as Error).message).toContain(`recorded: ${A} (${file}, line 4)`);
    expect((error as Error).message).toContain(`offered:  ${B}`);
    expect((error as Error).message).toContain(`delete line 4 of ${file}`);
    // The file is left as it was.
    expect(await readFile(file, 'utf8')).toBe(`# my hosts\n\nlab0:7077 ${B}\nlab1:7077 ${A}\n`);
  });

  it('reads fingerprints however they are spelled, and says which line is malformed', async () => {
    const file = join(dir, 'spelled');
    await writeFile(file, `lab1:7077 ${A.slice(7).replaceAll(':', '').toLowerCase()}\nlab2:7077 nonsense\n`);
    expect(await findKnownHost(file, 'lab1:7077')).toEqual({ fingerprint: A, line: 1 });
    await expect(findKnownHost(file, 'lab2:7077')).rejects.toThrow(`${file}, line 2: "lab2:7077 nonsense" is not`);
    expect(await findKnownHost(join(dir, 'absent'), 'lab1:7077')).toBeUndefined();
  });
});
