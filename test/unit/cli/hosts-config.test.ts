// The client's config file, host addresses, group expansion and the order in which
// flags, config entries, the environment and defaults apply.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAddress } from '../../../src/cli/rexec/hosts/address.js';
import { EMPTY_CONFIG, loadHostsConfig } from '../../../src/cli/rexec/hosts/config-file.js';
import type { HostsConfig } from '../../../src/cli/rexec/hosts/config-file.js';
import { settingsFor } from '../../../src/cli/rexec/hosts/settings.js';
import type { ConnectionFlags } from '../../../src/cli/rexec/hosts/flags.js';
import { expandHosts, readHostsFile } from '../../../src/cli/rexec/hosts/targets.js';
import { checkHostSlip, oneEditApart } from '../../../src/cli/rexec/hosts/host-slip.js';
import { CliError } from '../../../src/cli/shared/cli-error.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rexec-config-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function load(content: unknown): Promise<HostsConfig> {
  const file = join(dir, `config-${Math.random().toString(36).slice(2)}.json`);
  await writeFile(file, typeof content === 'string' ? content : JSON.stringify(content));
  return loadHostsConfig(file, true);
}

async function loadError(content: unknown): Promise<string> {
  try {
    await load(content);
  } catch (error) {
    expect((error as { code?: string }).code).toBe('CONFIG');
    return (error as Error).message;
  }
  throw new Error('the config was accepted');
}

describe('config file', () => {
  it("reads hosts and groups, with paths from the file's directory or the home directory", async () => {
    const config = await load({
      hosts: {
        lab1: { host: '10.0.0.1', port: 7100, user: 'alice', keyFile: 'keys/lab.key', tls: { ca: '/etc/ca.pem' } },
        lab2: { keyFile: '~/lab2.key', tls: true },
      },
      groups: { lab: ['lab1', 'lab2'] },
    });
    expect(config.hosts.get('lab1')).toEqual({
      host: '10.0.0.1',
      port: 7100,
      user: 'alice',
      keyFile: join(dir, 'keys/lab.key'),
      tls: { ca: '/etc/ca.pem' },
    });
    expect(config.hosts.get('lab2')).toEqual({ keyFile: join(homedir(), 'lab2.key'), tls: true });
    expect(config.groups.get('lab')).toEqual(['lab1', 'lab2']);
  });

  it('names the field that is wrong', async () => {
    expect(await loadError({ hosts: { lab1: { port: 'x' } } })).toMatch(/hosts\.lab1\.port: .*expected number/);
    expect(await loadError({ hosts: { lab1: { port: 70000 } } })).toMatch(/hosts\.lab1\.port: /);
    expect(await loadError({ hosts: { lab1: { hots: 'a' } } })).toMatch(/hosts\.lab1: .*"hots"/);
    expect(await loadError({ hosts: { 'bad name': {} } })).toMatch(/hosts\.bad name: not a name of letters/);
    expect(await loadError({ hosts: { a: { tls: { fingerprint: 'sha256:12' } } } })).toMatch(
      /hosts\.a\.tls\.fingerprint: a SHA-256 fingerprint/,
    );
    expect(await loadError({ hosts: { a: { tls: 'yes' } } })).toMatch(/hosts\.a\.tls: true, false, or an object/);
    expect(await loadError({ hosts: { a: { tls: { cert: 'c.pem' } } } })).toMatch(
      /hosts\.a\.tls.*needs both "cert" and "key"/,
    );
    expect(await loadError({ groups: { lab: [] } })).toMatch(/groups\.lab: at least one member/);
    expect(await loadError({ hosts: { lab: {} }, groups: { lab: ['x'] } })).toMatch(
      /groups\.lab: "lab" is also a host's name/,
    );
    expect(await loadError({ servers: {} })).toMatch(/\(top level\): .*"servers"/);
    expect(await loadError('{"hosts": ')).toMatch(/not valid JSON/);
  });

  it('is optional unless named', () => {
    expect(loadHostsConfig(join(dir, 'missing.json'), false)).toBe(EMPTY_CONFIG);
    expect(() => loadHostsConfig(join(dir, 'missing.json'), true)).toThrow(/missing\.json: no such file/);
  });
});

describe('addresses and groups', () => {
  it('splits HOST[:PORT], [v6]:PORT and bare IPv6', () => {
    expect(parseAddress('lab1')).toEqual({ host: 'lab1' });
    expect(parseAddress('10.0.0.1:7100')).toEqual({ host: '10.0.0.1', port: 7100 });
    expect(parseAddress('[::1]:7100')).toEqual({ host: '::1', port: 7100 });
    expect(parseAddress('::1')).toEqual({ host: '::1' });
    expect(() => parseAddress('lab1:x')).toThrow(/port must be a number/);
    expect(() => parseAddress(':7100')).toThrow(/host is missing/);
  });

  it('expands nested groups once each, in order, and refuses cycles', async () => {
    const config = await load({
      hosts: { a: {}, b: {}, c: {} },
      groups: { ab: ['a', 'b'], all: ['ab', 'c', 'b', '10.0.0.9:7200'], loop: ['a', 'loop2'], loop2: ['loop'] },
    });
    expect(expandHosts(['all'], config).map((target) => target.label)).toEqual(['a', 'b', 'c', '10.0.0.9:7200']);
    expect(expandHosts(['c,ab', 'a'], config).map((target) => target.label)).toEqual(['c', 'a', 'b']);
    expect(expandHosts(['10.0.0.9:7200'], config)[0]).toEqual({
      label: '10.0.0.9:7200',
      address: { host: '10.0.0.9', port: 7200 },
    });
    expect(() => expandHosts(['loop'], config)).toThrow(/groups\.loop contains itself \(loop → loop2 → loop\)/);
    expect(() => expandHosts([','], config)).toThrow(/no hosts/);
  });

  it('reads a hosts file, skipping comments and blank lines', async () => {
    const file = join(dir, 'hosts.txt');
    await writeFile(file, '# lab machines\nlab1\n\n  10.0.0.2:7100  # the new one\n');
    expect(readHostsFile(file)).toEqual(['lab1', '10.0.0.2:7100']);
    await writeFile(file, '# nothing\n');
    expect(() => readHostsFile(file)).toThrow(/names no hosts/);
  });
});

describe('precedence', () => {
  const flags = (overrides: Partial<ConnectionFlags> = {}): ConnectionFlags => ({
    host: { value: '127.0.0.1', fromCli: false },
    port: { value: 7077, fromCli: false },
    keyFile: { value: '/env/key', fromCli: false },
    user: { value: 'default', fromCli: false },
    tls: undefined,
    ca: undefined,
    fingerprint: undefined,
    tlsCert: undefined,
    tlsKey: undefined,
    config: undefined,
    connectTimeout: undefined,
    ...overrides,
  });

  it('flags win over the entry, the entry over the environment and defaults', async () => {
    const config = await load({
      hosts: { lab1: { host: '10.0.0.1', port: 7100, user: 'alice', keyFile: '/lab/key' } },
    });
    const [target] = expandHosts(['lab1'], config);
    expect(settingsFor(target!, flags())).toEqual({
      host: '10.0.0.1',
      port: 7100,
      user: 'alice',
      keyFile: '/lab/key',
      label: 'lab1',
    });
    const typed = flags({
      port: { value: 7200, fromCli: true },
      user: { value: 'bob', fromCli: true },
      connectTimeout: 500,
    });
    expect(settingsFor(target!, typed)).toMatchObject({
      host: '10.0.0.1',
      port: 7200,
      user: 'bob',
      keyFile: '/lab/key',
      connectTimeoutMs: 500,
    });
    // An address's own port wins over the environment's, a typed -p over both.
    const [address] = expandHosts(['10.0.0.5:7300'], EMPTY_CONFIG);
    expect(settingsFor(address!, flags())).toMatchObject({ host: '10.0.0.5', port: 7300, keyFile: '/env/key' });
    expect(settingsFor(address!, typed)).toMatchObject({ port: 7200 });
  });

  it('turns TLS on from the entry or any TLS flag, and off with --no-tls; flags override fields', async () => {
    const config = await load({
      hosts: {
        tofu: { tls: true },
        pinned: { tls: { fingerprint: `sha256:${'ab'.repeat(32)}`, ca: 'ca.pem' } },
        plain: {},
      },
    });
    const settings = (name: string, overrides: Partial<ConnectionFlags> = {}) =>
      settingsFor(expandHosts([name], config)[0]!, flags(overrides));
    expect(settings('plain').tls).toBeUndefined();
    expect(settings('tofu').tls).toEqual({ knownHostsFile: expect.stringMatching(/rexec\/known_hosts$/) });
    expect(settings('pinned').tls).toMatchObject({ ca: join(dir, 'ca.pem'), fingerprint: `sha256:${'ab'.repeat(32)}` });
    expect(settings('pinned', { fingerprint: 'sha256:FF' }).tls).toMatchObject({ fingerprint: 'sha256:FF' });
    expect(settings('plain', { ca: '/x/ca.pem' }).tls).toMatchObject({ ca: '/x/ca.pem' });
    expect(settings('plain', { tls: true }).tls).toBeDefined();
    expect(settings('tofu', { tls: false }).tls).toBeUndefined();
  });

  it('takes NAME:PORT as the config entry NAME on that port, its key, user and TLS included', async () => {
    const pin = `sha256:${'cd'.repeat(32)}`;
    const config = await load({
      hosts: {
        lab1: { host: '10.0.0.1', port: 7100, user: 'alice', keyFile: '/lab/key', tls: { fingerprint: pin } },
        bare: { keyFile: '/bare/key' },
      },
      groups: { moved: ['lab1:7300', 'bare:7400'] },
    });
    const [target] = expandHosts(['lab1:7200'], config);
    expect(settingsFor(target!, flags())).toEqual({
      host: '10.0.0.1',
      port: 7200,
      user: 'alice',
      keyFile: '/lab/key',
      label: 'lab1:7200',
      tls: { fingerprint: pin, knownHostsFile: expect.stringMatching(/rexec\/known_hosts$/) },
    });
    // A typed -p still wins; an entry without `host` is reached under its name; groups too.
    expect(settingsFor(target!, flags({ port: { value: 7500, fromCli: true } })).port).toBe(7500);
    const [lab, bare] = expandHosts(['moved'], config).map((each) => settingsFor(each, flags()));
    expect(lab).toMatchObject({ host: '10.0.0.1', port: 7300, keyFile: '/lab/key', label: 'lab1:7300' });
    expect(bare).toMatchObject({ host: 'bare', port: 7400, keyFile: '/bare/key', label: 'bare:7400' });
    // A name that is not in the file stays an address.
    expect(settingsFor(expandHosts(['other:7200'], config)[0]!, flags())).toMatchObject({
      host: 'other',
      port: 7200,
      keyFile: '/env/key',
    });
  });
});

describe('host-name slips', () => {
  it('oneEditApart: one insertion, deletion, replacement or swap of neighbours, or case only', () => {
    for (const [a, b] of [
      ['lab1', 'lab'],
      ['lab', 'lab1'],
      ['lab1', 'lab2'],
      ['alb1', 'lab1'],
      ['lab1', 'lba1'],
      ['LAB1', 'lab1'],
      ['xlab1', 'lab1'],
    ]) {
      expect(oneEditApart(a as string, b as string), `${a} ${b}`).toBe(true);
    }
    for (const [a, b] of [
      ['lab1', 'lab1'],
      ['lab12', 'lab'],
      ['bla1', 'lab1'],
      ['make', 'lab1'],
      ['', 'ab'],
    ]) {
      expect(oneEditApart(a as string, b as string), `${a} ${b}`).toBe(false);
    }
  });

  it('refuses a configured name not followed by --, and a near name with a -- later; lets real commands through', () => {
    const config: HostsConfig = {
      file: 'c.json',
      hosts: new Map([
        ['lab1', {}],
        ['db', {}],
      ]),
      groups: new Map([['lab', ['lab1']]]),
    };
    const slip = (args: string[]): string | undefined => {
      try {
        checkHostSlip(args, config);
        return undefined;
      } catch (error) {
        expect(error).toBeInstanceOf(CliError);
        expect(error).toMatchObject({ status: 2, code: 'USAGE' });
        return (error as Error).message;
      }
    };
    expect(slip(['lab', '--json', '--', 'uptime'])).toContain('write rexec run --json lab -- uptime (or -H lab)');
    expect(slip(['lab1', 'uptime'])).toContain('write rexec run lab1 -- uptime');
    expect(slip(['lab'])).toContain('write rexec run lab -- CMD');
    expect(slip(['lab2', '--', 'make', 'a b'])).toContain(
      "(did you mean lab1?): to run on lab1, write rexec run lab1 -- make 'a b'",
    );
    // Not slips: a near name without a -- (a command of its own), short names, other words.
    expect(slip(['lab2', 'x'])).toBeUndefined();
    expect(slip(['dd', '--', 'x'])).toBeUndefined();
    expect(slip(['echo', 'lab1', '--'])).toBeUndefined();
  });
});
