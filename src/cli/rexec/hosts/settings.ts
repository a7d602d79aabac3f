// Where to connect and how, for each host: a flag on the command line wins, then the
// host's entry in the config file, then the REXEC_* environment, then the built-in
// default. This module applies that order to the flags that flags.ts reads.
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { RexecError } from '../../../errors.js';
import type { ConnectionSettings, TlsSettings } from '../connection-options.js';
import { defaultConfigFile, defaultKnownHostsFile, loadHostsConfig } from './config-file.js';
import type { HostTls, HostsConfig } from './config-file.js';
import { readConnectionFlags } from './flags.js';
import type { ConnectionFlags, FlagValue } from './flags.js';
import { checkHostSlip } from './host-slip.js';
import { excludeHosts, expandHosts, isConfiguredName, namesSeveral, readHostsFile } from './targets.js';
import type { NamedTarget } from './targets.js';

/**
 * The settings for a subcommand that talks to one server: a flag given after the
 * subcommand wins, then one given before it (`rexec -H h run ...`), then the host's
 * entry in the config file (-H NAME), then the environment, then the default. Throws
 * CONFIG for a bad config file, or when -H names several hosts.
 */
export function connectionSettings(command: Command): ConnectionSettings {
  return singleTarget(readConnectionFlags(command));
}

/** The config file the flags point at (the default one only if it exists). */
export function loadConfigFor(flags: ConnectionFlags): HostsConfig {
  return flags.config === undefined ? loadHostsConfig(defaultConfigFile(), false) : loadHostsConfig(flags.config, true);
}

/**
 * The one host of a subcommand that talks to one server. Throws CONFIG when -H names
 * several (only `rexec run` runs on several), or for a bad config file.
 */
export function singleTarget(flags: ConnectionFlags): ConnectionSettings {
  const config = loadConfigFor(flags);
  const spec = flags.host.value;
  if (namesSeveral(spec, config)) {
    throw new RexecError('CONFIG', `-H ${spec} names several hosts: only "rexec run" runs on several hosts at once`);
  }
  return settingsFor(expandHosts([spec], config)[0] as NamedTarget, flags);
}

/**
 * The hosts -H names (one, a list or a group), less those of -x, and whether the user
 * asked for several: for `rexec cp`, which runs on several hosts only through -H.
 */
export function hostTargets(flags: ConnectionFlags, exclude: string | undefined): RunTargets {
  const config = loadConfigFor(flags);
  const spec = flags.host.value;
  const targets = excludeHosts(expandHosts([spec], config), exclude, config).map((target) =>
    settingsFor(target, flags),
  );
  return { targets, many: namesSeveral(spec, config), args: [] };
}

/** The hosts of `rexec run`, and whether the user asked for several (a list, a group, a file). */
export interface RunTargets {
  readonly targets: readonly ConnectionSettings[];
  readonly many: boolean;
  /** The command, without the host name in front when `rexec run NAME -- ...` gave one. */
  readonly args: readonly string[];
}

/**
 * The hosts `rexec run` runs on. The host comes from `rexec run NAME -- CMD` (NAME a host
 * or group of the config file, followed directly by `--`), or --hosts-file, or -H.
 * `rawArgs` are the program's arguments as typed, to tell `run NAME -- CMD` from
 * `run -- NAME -- CMD` (which runs NAME). Throws a CliError (USAGE) when the command looks
 * like a mistyped host form (hosts/host-slip.ts). `exclude` (-x) leaves hosts out.
 */
export function runTargets(
  flags: ConnectionFlags,
  args: readonly string[],
  rawArgs: readonly string[],
  hostsFile: string | undefined,
  exclude?: string,
): RunTargets {
  const config = loadConfigFor(flags);
  let command = args;
  let named: string | undefined;
  const first = args[0];
  const explicitStart = rawArgs[rawArgs.length - args.length - 1] === '--';
  if (first !== undefined && args[1] === '--' && !explicitStart && isConfiguredName(first, config)) {
    named = first;
    command = args.slice(2);
    if (command.length === 0) throw new RexecError('CONFIG', `rexec run ${first} --: the command is missing after --`);
  }
  const given = [named !== undefined, hostsFile !== undefined, flags.host.fromCli].filter(Boolean).length;
  // The default host, with a command that starts like a host's name: a slip, not a command.
  if (given === 0 && !explicitStart) checkHostSlip(args, config);
  if (given > 1) {
    throw new RexecError('CONFIG', 'give the hosts once: "rexec run NAME -- ...", --hosts-file or -H');
  }
  const specs = named !== undefined ? [named] : hostsFile !== undefined ? readHostsFile(hostsFile) : [flags.host.value];
  const many = hostsFile !== undefined || specs.some((spec) => namesSeveral(spec, config));
  const targets = excludeHosts(expandHosts(specs, config), exclude, config).map((target) => settingsFor(target, flags));
  return { targets, many, args: command };
}

/** The settings of one host: flags, then its config entry, then environment and defaults. */
export function settingsFor(target: NamedTarget, flags: ConnectionFlags): ConnectionSettings {
  const entry = target.entry;
  const pick = <T>(flag: FlagValue<T>, fromFile: T | undefined): T =>
    flag.fromCli ? flag.value : (fromFile ?? flag.value);
  const tls = tlsSettings(target, flags);
  return {
    host: target.address?.host ?? entry?.host ?? target.label,
    port: pick(flags.port, target.address?.port ?? entry?.port),
    keyFile: pick(flags.keyFile, entry?.keyFile),
    user: pick(flags.user, entry?.user),
    label: target.label,
    ...(tls === undefined ? {} : { tls }),
    ...(flags.connectTimeout === undefined ? {} : { connectTimeoutMs: flags.connectTimeout }),
  };
}

// TLS is on with --tls, with any flag that only makes sense with TLS, or when the host's
// entry has `tls`; --no-tls turns it off. Each TLS flag overrides the entry's field.
function tlsSettings(target: NamedTarget, flags: ConnectionFlags): TlsSettings | undefined {
  const fromFile = target.entry?.tls;
  const file: HostTls | undefined = fromFile === true ? {} : typeof fromFile === 'object' ? fromFile : undefined;
  const impliedByFlags = [flags.ca, flags.fingerprint, flags.tlsCert, flags.tlsKey].some(
    (value) => value !== undefined,
  );
  if (!(flags.tls ?? (impliedByFlags || file !== undefined))) return undefined;
  const fingerprint = flags.fingerprint ?? file?.fingerprint;
  const ca = flags.ca === undefined ? file?.ca : resolve(flags.ca);
  const cert = flags.tlsCert === undefined ? file?.cert : resolve(flags.tlsCert);
  const key = flags.tlsKey === undefined ? file?.key : resolve(flags.tlsKey);
  return {
    ...(ca === undefined ? {} : { ca }),
    ...(fingerprint === undefined ? {} : { fingerprint }),
    ...(cert === undefined ? {} : { cert }),
    ...(key === undefined ? {} : { key }),
    knownHostsFile: defaultKnownHostsFile(),
  };
}
