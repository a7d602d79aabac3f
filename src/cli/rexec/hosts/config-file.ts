// The client's config file (~/.config/rexec/config.json, or --config FILE): named hosts
// with their address, port, user, key file and TLS settings, and groups of hosts.
// Validated with zod; a bad file names the field and what is wrong with it.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { z as Z } from 'zod';
import { zod } from '../../../common/lazy-modules.js';
import { parseFingerprint } from '../../../common/fingerprint.js';
import { RexecError } from '../../../errors.js';

/** Where rexec keeps its files: $XDG_CONFIG_HOME/rexec, else ~/.config/rexec. */
export function configDir(): string {
  return join(process.env['XDG_CONFIG_HOME'] || join(homedir(), '.config'), 'rexec');
}

/** The config file read when --config is not given (it need not exist). */
export function defaultConfigFile(): string {
  return join(configDir(), 'config.json');
}

/** The file of certificates trusted on first use. */
export function defaultKnownHostsFile(): string {
  return join(configDir(), 'known_hosts');
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

// Built on first use: zod is loaded only when a config file exists (cold start).
function buildConfigSchema(z: typeof Z) {
  const name = z.string().regex(NAME, 'a name of letters, digits, ".", "_" or "-"');
  const path = z.string().min(1, 'a file path');

  const tlsSchema = z.union(
    [
      z.boolean(),
      z
        .object({
          /** CA certificates (PEM file) to verify the server with. */
          ca: path.optional(),
          /** The server certificate's SHA-256 fingerprint, pinned. */
          fingerprint: z
            .string()
            .refine(
              (text) => parseFingerprint(text) !== undefined,
              'a SHA-256 fingerprint: "sha256:" and 64 hex digits',
            )
            .optional(),
          /** Client certificate and key (PEM files), for servers that require one. */
          cert: path.optional(),
          key: path.optional(),
        })
        .strict()
        .refine(
          (tls) => (tls.cert === undefined) === (tls.key === undefined),
          'needs both "cert" and "key", or neither',
        ),
    ],
    { error: 'true, false, or an object with "ca", "fingerprint", "cert" and "key"' },
  );

  const hostSchema = z
    .object({
      /** Address or DNS name; default: the entry's name. */
      host: z.string().min(1).optional(),
      port: z.number().int().min(1).max(65535).optional(),
      user: z.string().min(1).optional(),
      keyFile: path.optional(),
      /** true (trust on first use), or how to check the server. */
      tls: tlsSchema.optional(),
    })
    .strict();

  /** config.json. */
  const configFileSchema = z
    .object({
      hosts: z.record(name, hostSchema).optional(),
      /** Group name → members: host names of this file, other groups, or HOST[:PORT] addresses. */
      groups: z.record(name, z.array(z.string().min(1)).min(1, 'at least one member')).optional(),
    })
    .strict()
    .superRefine((config, context) => {
      for (const group of Object.keys(config.groups ?? {})) {
        if (Object.hasOwn(config.hosts ?? {}, group)) {
          context.addIssue({ code: 'custom', path: ['groups', group], message: `"${group}" is also a host's name` });
        }
      }
    });
  return configFileSchema;
}

let configSchema: ReturnType<typeof buildConfigSchema> | undefined;

function configFileSchema(): ReturnType<typeof buildConfigSchema> {
  configSchema ??= buildConfigSchema(zod().z);
  return configSchema;
}

export type ConfigFile = Z.infer<ReturnType<typeof buildConfigSchema>>;

/** A host entry with its file paths made absolute. */
export interface HostEntry {
  readonly host?: string;
  readonly port?: number;
  readonly user?: string;
  readonly keyFile?: string;
  readonly tls?: boolean | HostTls;
}

/** A host entry's TLS settings, paths absolute. */
export interface HostTls {
  readonly ca?: string;
  readonly fingerprint?: string;
  readonly cert?: string;
  readonly key?: string;
}

/** The file's hosts and groups. */
export interface HostsConfig {
  /** The file they came from; undefined when there is none. */
  readonly file: string | undefined;
  readonly hosts: ReadonlyMap<string, HostEntry>;
  readonly groups: ReadonlyMap<string, readonly string[]>;
}

/** No file: no names. */
export const EMPTY_CONFIG: HostsConfig = { file: undefined, hosts: new Map(), groups: new Map() };

/**
 * Reads a config file. A missing file is no config unless `required` (it was named
 * with --config). Throws CONFIG with the file and field for anything wrong.
 */
export function loadHostsConfig(file: string, required: boolean): HostsConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if (!required && (error as NodeJS.ErrnoException).code === 'ENOENT') return EMPTY_CONFIG;
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new RexecError('CONFIG', `config file ${file}: ${reason}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new RexecError('CONFIG', `config file ${file}: not valid JSON (${(error as Error).message})`);
  }
  const result = configFileSchema().safeParse(json);
  if (!result.success) {
    throw new RexecError('CONFIG', `config file ${file}: ${describeIssues(result.error)}`);
  }
  const base = dirname(resolve(file));
  const hosts = new Map<string, HostEntry>();
  for (const [hostName, entry] of Object.entries(result.data.hosts ?? {})) {
    hosts.set(hostName, {
      ...entry,
      ...(entry.keyFile === undefined ? {} : { keyFile: filePath(base, entry.keyFile) }),
      ...(typeof entry.tls === 'object' ? { tls: tlsPaths(base, entry.tls) } : {}),
    });
  }
  return { file, hosts, groups: new Map(Object.entries(result.data.groups ?? {})) };
}

/** zod's issues as `field: message`, separated by "; " (a bad key says what a key must be). */
function describeIssues(error: Z.ZodError): string {
  return error.issues
    .map((issue) => {
      const field = issue.path.length === 0 ? '(top level)' : issue.path.map(String).join('.');
      const message =
        issue.code === 'invalid_key' ? `not ${issue.issues.map((inner) => inner.message).join(', ')}` : issue.message;
      return `${field}: ${message}`;
    })
    .join('; ');
}

function tlsPaths(base: string, tls: HostTls): HostTls {
  return {
    ...tls,
    ...(tls.ca === undefined ? {} : { ca: filePath(base, tls.ca) }),
    ...(tls.cert === undefined ? {} : { cert: filePath(base, tls.cert) }),
    ...(tls.key === undefined ? {} : { key: filePath(base, tls.key) }),
  };
}

// `~/x` is in the home directory; a relative path is taken from the config file's directory.
function filePath(base: string, file: string): string {
  if (file === '~' || file.startsWith('~/')) return join(homedir(), file.slice(1));
  return resolve(base, file);
}
