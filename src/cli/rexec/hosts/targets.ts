// From what the user typed (-H a,b,c, a group's name, a hosts file, `rexec run NAME --`)
// to the list of hosts to reach: comma lists split, groups expanded (groups may name
// groups; a cycle is an error), names of the config file looked up, repeats dropped.
import { readFileSync } from 'node:fs';
import { RexecError } from '../../../errors.js';
import { parseAddress } from './address.js';
import type { Address } from './address.js';
import type { HostEntry, HostsConfig } from './config-file.js';

/** One host to reach, before flags and defaults are applied. */
export interface NamedTarget {
  /** What the user called it: a config entry's name, or HOST[:PORT] as typed. */
  readonly label: string;
  /** The config file's entry, when the label names one. */
  readonly entry?: HostEntry;
  /** The address typed, when the label is not a config entry. */
  readonly address?: Address;
}

/** True when `spec` asks for several hosts: a comma list or a group's name. */
export function namesSeveral(spec: string, config: HostsConfig): boolean {
  return spec.includes(',') || config.groups.has(spec.trim());
}

/** True when `name` is a host or a group of the config file. */
export function isConfiguredName(name: string, config: HostsConfig): boolean {
  return config.hosts.has(name) || config.groups.has(name);
}

/** Every host that `specs` name, in order, each once. Throws CONFIG when there is none. */
export function expandHosts(specs: readonly string[], config: HostsConfig): NamedTarget[] {
  const targets = new Map<string, NamedTarget>();
  const visit = (item: string, path: readonly string[]): void => {
    const group = config.groups.get(item);
    if (group !== undefined) {
      if (path.includes(item)) {
        throw new RexecError(
          'CONFIG',
          `config file ${config.file ?? ''}: groups.${item} contains itself (${[...path, item].join(' → ')})`,
        );
      }
      for (const member of group) visit(member.trim(), [...path, item]);
      return;
    }
    if (targets.has(item)) return;
    targets.set(item, lookUp(item, config));
  };
  for (const spec of specs) {
    for (const item of spec.split(',')) {
      if (item.trim() !== '') visit(item.trim(), []);
    }
  }
  if (targets.size === 0) throw new RexecError('CONFIG', `no hosts in "${specs.join(',')}"`);
  return [...targets.values()];
}

// A name of the config file, NAME:PORT for one with another port (its key, user and TLS
// settings still apply), or an address.
function lookUp(item: string, config: HostsConfig): NamedTarget {
  const entry = config.hosts.get(item);
  if (entry !== undefined) return { label: item, entry };
  const address = parseAddress(item);
  const named = address.port === undefined ? undefined : config.hosts.get(address.host);
  if (named !== undefined)
    return { label: item, entry: { ...named, host: named.host ?? address.host, port: address.port } };
  return { label: item, address };
}

/**
 * `targets` without the hosts that `exclude` names (-x: a comma list of hosts, groups or
 * addresses, matched by name as given). Throws CONFIG when none is left.
 */
export function excludeHosts(
  targets: readonly NamedTarget[],
  exclude: string | undefined,
  config: HostsConfig,
): NamedTarget[] {
  if (exclude === undefined) return [...targets];
  const out = new Set(expandHosts([exclude], config).map((target) => target.label));
  const left = targets.filter((target) => !out.has(target.label));
  if (left.length === 0) throw new RexecError('CONFIG', `-x ${exclude} leaves no host to run on`);
  return left;
}

/** The entries of a hosts file: one host or group per line, `#` comments, blank lines skipped. */
export function readHostsFile(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new RexecError('CONFIG', `--hosts-file ${file}: ${reason}`);
  }
  const hosts = text
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim())
    .filter((line) => line !== '');
  if (hosts.length === 0) throw new RexecError('CONFIG', `--hosts-file ${file} names no hosts`);
  return hosts;
}
