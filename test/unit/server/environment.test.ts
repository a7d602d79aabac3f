// The clean environment of a command (docs/protocol.md section 4): every variable the
// docs list as denied is refused with DENIED, every name the server denies is in the
// docs (read from the doc itself, so the two cannot drift apart), anything else
// passes, and nothing of rexecd's own environment leaks into the base.
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { RexecError } from '../../../src/errors.js';
import {
  DENIED_NAMES,
  DENIED_PREFIXES,
  SEARCH_PATH,
  baseEnvironment,
  commandShell,
  ownAccount,
  commandEnvironment,
  deniedEnvReason,
  deniedEnvValueReason,
} from '../../../src/server/environment.js';

const doc = readFileSync(new URL('../../../docs/protocol.md', import.meta.url), 'utf8');

/** The names in the docs' "Request env names ... are `DENIED`:" bullet; `X*` is a prefix. */
function documentedDenials(): { names: string[]; prefixes: string[] } {
  const start = doc.indexOf('- Request env names that change how programs load or start are `DENIED`:');
  expect(start, 'the denylist bullet in docs/protocol.md').toBeGreaterThan(0);
  const end = doc.indexOf('\n- ', start + 1);
  const bullet = doc.slice(start, end).split('are `DENIED`:')[1] as string;
  const tokens = [...bullet.matchAll(/`([A-Z0-9_]+\*?)`/g)].map((m) => m[1] as string);
  return {
    names: tokens.filter((t) => !t.endsWith('*')),
    prefixes: tokens.filter((t) => t.endsWith('*')).map((t) => t.slice(0, -1)),
  };
}

const documented = documentedDenials();

/** The DENIED error for requesting `name`, or undefined when the request passes. */
function refusal(name: string, id = 41): RexecError | undefined {
  try {
    commandEnvironment({ PATH: '/bin' }, [[name, 'value']], id);
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(RexecError);
    return error as RexecError;
  }
}

describe('the denied variable names and docs/protocol.md', () => {
  it('lists a sensible number of names and prefixes', () => {
    // A broken parse of the doc must not make the comparisons below vacuous.
    expect(documented.names.length).toBeGreaterThan(40);
    expect(documented.names).toContain('NODE_OPTIONS');
    expect(documented.prefixes).toContain('LD_');
  });

  it('the server denies exactly the documented names and prefixes', () => {
    expect([...DENIED_NAMES].sort()).toEqual([...documented.names].sort());
    expect([...DENIED_PREFIXES].sort()).toEqual([...documented.prefixes].sort());
  });

  it.each(documented.names)('refuses %s with DENIED naming it, with the request id', (name) => {
    const error = refusal(name);
    expect(error?.code).toBe('DENIED');
    expect(error?.id).toBe(41);
    expect(error?.message).toBe(`setting ${name} is not allowed (it changes how programs load or are found)`);
    expect(deniedEnvReason(name)).toBe(error?.message);
  });

  it.each(documented.prefixes)('refuses every %s* variable, and the bare prefix', (prefix) => {
    for (const name of [`${prefix}PRELOAD`, `${prefix}X`, prefix]) {
      const error = refusal(name);
      expect(error?.code, name).toBe('DENIED');
      expect(error?.message, name).toBe(`setting ${prefix}* variables is not allowed (they change how programs load)`);
    }
  });
});

describe('variables a request may set', () => {
  // Near misses of denied names: other names, a denied name inside another, other case.
  const allowed = [
    'FOO',
    'TERM',
    'LANG',
    'TZ',
    'HOME',
    'PATHX',
    'MYPATH',
    'XLD_PRELOAD',
    'ld_preload',
    'NODE',
    'GIT',
    'ENVX',
    'PYTHON',
    'A_LD_',
    '__proto__',
    'constructor',
  ];

  it.each(allowed)('lets %s through', (name) => {
    expect(deniedEnvReason(name)).toBeUndefined();
    expect(refusal(name)).toBeUndefined();
  });

  it('keeps the base, adds the request in order (a later value wins), and keeps __proto__ a plain variable', () => {
    const env = commandEnvironment(
      { PATH: '/usr/bin', HOME: '/home/x', LANG: 'C.UTF-8' },
      [
        ['FOO', '1'],
        ['FOO', '2'],
        ['__proto__', 'p'],
        ['TERM', 'xterm'],
      ],
      3,
    );
    expect(Object.entries(env)).toEqual([
      ['PATH', '/usr/bin'],
      ['HOME', '/home/x'],
      ['LANG', 'C.UTF-8'],
      ['FOO', '2'],
      ['__proto__', 'p'],
      ['TERM', 'xterm'],
    ]);
    expect(Object.getPrototypeOf(env)).toBeNull();
  });

  it('refuses the whole request at its first denied name', () => {
    expect(() =>
      commandEnvironment(
        {},
        [
          ['OK', '1'],
          ['BASH_ENV', 'x'],
          ['LD_PRELOAD', 'y'],
        ],
        9,
      ),
    ).toThrow(/^setting BASH_ENV is not allowed/);
  });
});

describe('the base environment', () => {
  const saved = { LANG: process.env['LANG'], SECRET: process.env['REXEC_TEST_SECRET'] };
  afterEach(() => {
    for (const [key, value] of [
      ['LANG', saved.LANG],
      ['REXEC_TEST_SECRET', saved.SECRET],
    ] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });

  it('is PATH, HOME, LANG, USER, LOGNAME and SHELL only: nothing else of rexecd environment', () => {
    process.env['REXEC_TEST_SECRET'] = 'token';
    process.env['LANG'] = 'de_DE.UTF-8';
    expect(baseEnvironment(['/opt/bin', '/bin'], '/home/lab', { user: 'lab', shell: '/bin/bash' })).toEqual({
      PATH: '/opt/bin:/bin',
      HOME: '/home/lab',
      LANG: 'de_DE.UTF-8',
      USER: 'lab',
      LOGNAME: 'lab',
      SHELL: '/bin/bash',
    });
  });

  it("names rexecd's own account by default", () => {
    const own = userInfo();
    const env = baseEnvironment();
    expect(env.USER).toBe(own.username);
    expect(env.LOGNAME).toBe(own.username);
    expect(env.SHELL).toBe(commandShell(own.shell ?? ''));
    expect(ownAccount()).toEqual({ user: own.username, shell: own.shell ?? '' });
  });

  it('SHELL is the account shell, or /bin/sh for an account without one that runs commands', () => {
    expect(commandShell('/bin/bash')).toBe('/bin/bash');
    expect(commandShell('/usr/bin/zsh')).toBe('/usr/bin/zsh');
    for (const shell of ['', '/usr/sbin/nologin', '/sbin/nologin', '/bin/false', '/usr/bin/false', 'nologin']) {
      expect(commandShell(shell)).toBe('/bin/sh');
    }
    // Only the program's own name counts, not a substring of it.
    expect(commandShell('/opt/falsehood/bin/sh')).toBe('/opt/falsehood/bin/sh');
    expect(commandShell('/usr/bin/nologin-wrapper')).toBe('/usr/bin/nologin-wrapper');
    expect(commandShell('/usr/local/bin/notfalse')).toBe('/usr/local/bin/notfalse');
  });

  it('uses the fixed search path by default', () => {
    expect(baseEnvironment().PATH).toBe('/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
    expect(SEARCH_PATH).toBe(baseEnvironment().PATH);
  });

  it('gives LANG=C.UTF-8 when rexecd has no LANG, or an empty one', () => {
    delete process.env['LANG'];
    expect(baseEnvironment([], '/').LANG).toBe('C.UTF-8');
    process.env['LANG'] = '';
    expect(baseEnvironment([], '/').LANG).toBe('C.UTF-8');
  });
});

describe('locale values (a name with a slash is a path to locale files)', () => {
  it.each([
    'LANG',
    'LANGUAGE',
    'LC_ALL',
    'LC_CTYPE',
    'LC_NUMERIC',
    'LC_TIME',
    'LC_COLLATE',
    'LC_MONETARY',
    'LC_MESSAGES',
    'LC_PAPER',
    'LC_NAME',
    'LC_ADDRESS',
    'LC_TELEPHONE',
    'LC_MEASUREMENT',
    'LC_IDENTIFICATION',
  ])('refuses %s with a "/" in its value, with the request id', (name) => {
    for (const value of ['/tmp/evil', '../../tmp/x', 'en_US/x']) {
      let thrown: unknown;
      try {
        commandEnvironment({}, [[name, value]], 12);
      } catch (error) {
        thrown = error;
      }
      expect(thrown, `${name}=${value}`).toBeInstanceOf(RexecError);
      expect(thrown).toMatchObject({ code: 'DENIED', id: 12 });
      expect((thrown as RexecError).message).toBe(
        `${name} may not contain "/" (a locale name with a slash is a path to locale files)`,
      );
    }
  });

  it('lets locale names without a slash through, and slashes in other variables', () => {
    const env = commandEnvironment(
      {},
      [
        ['LANG', 'en_US.UTF-8'],
        ['LC_ALL', 'C'],
        ['LANGUAGE', 'de:en'],
        ['TZ', 'Europe/Paris'],
        ['XLANG', '/x'],
        ['LANGX', '/x'],
        ['LC_', '/x'],
        ['lang', '/x'],
        ['MY_LC_ALL', '/x'],
        ['LC_MY_DIR', '/home/x'],
        ['LC_ALLX', '/x'],
        ['LC_TERMINAL', 'iTerm2/x'],
      ],
      1,
    );
    expect(env['LANG']).toBe('en_US.UTF-8');
    expect(env['TZ']).toBe('Europe/Paris');
    expect(env['LC_']).toBe('/x');
    expect(deniedEnvValueReason('LANG', 'C.UTF-8')).toBeUndefined();
    expect(deniedEnvValueReason('LC_ALL', '/x')).toMatch(/^LC_ALL may not contain/);
  });
});
