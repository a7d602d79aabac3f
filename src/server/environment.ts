// The clean environment a command runs in (docs/protocol.md section 4): a fixed PATH, HOME,
// LANG, USER, LOGNAME, SHELL, and the request's variables unless they change how
// programs load.
import { homedir, userInfo } from 'node:os';
import { RexecError } from '../errors.js';

/** The server's fixed search path: the only one used to find argv[0]. */
export const SEARCH_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

// Names that make a program load or run code other than what was asked for: dynamic
// loader settings, interpreters' start-up hooks, shell start-up files and tracing, and
// the hooks through which build tools, pagers and git run commands of their own.
export const DENIED_NAMES: ReadonlySet<string> = new Set([
  'PATH',
  'NODE_OPTIONS',
  'NODE_PATH',
  'NODE_REPL_EXTERNAL_MODULE',
  'BASH_ENV',
  'ENV',
  'SHELLOPTS',
  'BASHOPTS',
  'PS4',
  'PROMPT_COMMAND',
  'IFS',
  'CDPATH',
  'GLOBIGNORE',
  'PYTHONSTARTUP',
  'PYTHONPATH',
  'PYTHONHOME',
  'PYTHONINSPECT',
  'PYTHONUSERBASE',
  'PERL5OPT',
  'PERL5LIB',
  'PERLLIB',
  'PERL5DB',
  'RUBYOPT',
  'RUBYLIB',
  'GCONV_PATH',
  'LOCPATH',
  'NLSPATH',
  'HOSTALIASES',
  'RESOLV_HOST_CONF',
  'MAKEFLAGS',
  'MAKEFILES',
  'GCC_EXEC_PREFIX',
  'COMPILER_PATH',
  'LESSOPEN',
  'LESSCLOSE',
  'OPENSSL_CONF',
  'OPENSSL_ENGINES',
  'ZDOTDIR',
  'PYTHONWARNINGS',
  'BROWSER',
  'GIT_SSH',
  'GIT_SSH_COMMAND',
  'GIT_EXEC_PATH',
  'GIT_ASKPASS',
  'GIT_EDITOR',
  'GIT_PAGER',
  'GIT_EXTERNAL_DIFF',
  'GIT_PROXY_COMMAND',
  'GIT_TEMPLATE_DIR',
  'JAVA_TOOL_OPTIONS',
  '_JAVA_OPTIONS',
  'JDK_JAVA_OPTIONS',
]);
// GIT_CONFIG* as the docs say: GIT_CONFIG, _GLOBAL, _SYSTEM, _PARAMETERS, _COUNT,
// _KEY_<n>, _VALUE_<n> and any that git adds later can each run commands.
export const DENIED_PREFIXES: readonly string[] = ['LD_', 'DYLD_', 'BASH_FUNC_', 'GLIBC_', 'GIT_CONFIG'];

/** Why a request may not set `name`, or undefined when it may. */
export function deniedEnvReason(name: string): string | undefined {
  if (DENIED_NAMES.has(name)) return `setting ${name} is not allowed (it changes how programs load or are found)`;
  const prefix = DENIED_PREFIXES.find((p) => name.startsWith(p));
  if (prefix !== undefined) return `setting ${prefix}* variables is not allowed (they change how programs load)`;
  return undefined;
}

// A locale name with a '/' in it is a path: glibc then loads locale data from that file,
// what LOCPATH (denied above) would do, and so does the root preamble's setpriv. Only
// the names glibc reads: other LC_* variables (sshd's AcceptEnv LC_* passes people's
// own) may hold paths.
const LOCALE_VARIABLE =
  /^(?:LANG|LANGUAGE|LC_(?:ALL|CTYPE|NUMERIC|TIME|COLLATE|MONETARY|MESSAGES|PAPER|NAME|ADDRESS|TELEPHONE|MEASUREMENT|IDENTIFICATION))$/;

/** Why a request may not give `name` this value, or undefined when it may. */
export function deniedEnvValueReason(name: string, value: string): string | undefined {
  if (LOCALE_VARIABLE.test(name) && value.includes('/')) {
    return `${name} may not contain "/" (a locale name with a slash is a path to locale files)`;
  }
  return undefined;
}

/** The account a command runs as, as its environment names it. */
export interface CommandAccount {
  readonly user: string;
  /** Its login shell from the passwd database ('' when it has none). */
  readonly shell: string;
}

// Login shells that refuse to run anything: a program that starts $SHELL (an editor's
// shell escape, `script`) would only get "This account is currently not available".
const NO_LOGIN_SHELL = /(^|\/)(nologin|false)$/;

/** The SHELL a command sees: the account's own, or /bin/sh when it has none that runs commands. */
export function commandShell(shell: string): string {
  return shell === '' || NO_LOGIN_SHELL.test(shell) ? '/bin/sh' : shell;
}

/** rexecd's own account (when commands run as rexecd's user). */
export function ownAccount(): CommandAccount {
  const info = userInfo();
  return { user: info.username, shell: info.shell ?? '' };
}

/**
 * The base every command gets, nothing else of rexecd's own: PATH (the policy's search
 * path), HOME (the runAs user's, or the sandbox's), LANG, and USER, LOGNAME and SHELL of
 * the account the command runs as, as ssh sets them (section 4, revision 2026-12).
 */
export function baseEnvironment(
  path: readonly string[] = SEARCH_PATH.split(':'),
  home = homedir(),
  account: CommandAccount = ownAccount(),
): Record<string, string> {
  return {
    PATH: path.join(':'),
    HOME: home,
    LANG: process.env['LANG'] || 'C.UTF-8',
    USER: account.user,
    LOGNAME: account.user,
    SHELL: commandShell(account.shell),
  };
}

/**
 * The environment of one command: the base plus the request's variables. Throws
 * DENIED naming the first variable that is not allowed.
 */
export function commandEnvironment(
  base: Readonly<Record<string, string>>,
  requested: ReadonlyArray<readonly [string, string]>,
  id: number,
): Record<string, string> {
  // A null-prototype object: a name such as "__proto__" stays a plain variable.
  const env: Record<string, string> = Object.assign(Object.create(null) as Record<string, string>, base);
  for (const [name, value] of requested) {
    const reason = deniedEnvReason(name) ?? deniedEnvValueReason(name, value);
    if (reason !== undefined) throw new RexecError('DENIED', reason, { id });
    env[name] = value;
  }
  return env;
}
