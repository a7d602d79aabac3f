// The lab policy file (`rexecd --policy lab.json`) and users file (`--users
// users.json`), validated with zod: a bad file names the field and what is wrong.
// The schemas are built on first use (zod is loaded only when a file is read).
import type { z as Z } from 'zod';
import { zod } from '../../common/lazy-modules.js';
import { RexecError } from '../../errors.js';

// Below this, a command's own shell and sandbox hardly fit: a typo (MiB meant, bytes
// written) would make every command fail rather than be refused at start.
const MIN_MEMORY_BYTES = 16 * 1024 * 1024;

function buildSchemas(z: typeof Z) {
  const positiveInt = z.number().int().positive();
  const nonNegativeInt = z.number().int().nonnegative();
  const envName = z.string().regex(/^[^=\0]+$/, 'an environment variable name (no "=" or NUL)');
  const idOrName = z.union([z.string().min(1), nonNegativeInt]);

  /** Resource limits applied to every process with prlimit(1). */
  const rlimitsSchema = z
    .object({
      /** Processes the user may have (RLIMIT_NPROC): stops fork bombs. */
      nproc: positiveInt.optional(),
      /** Address space per process, bytes (RLIMIT_AS). */
      addressSpaceBytes: positiveInt.optional(),
      /** CPU time per process, seconds (RLIMIT_CPU). */
      cpuSeconds: positiveInt.optional(),
      /** Largest file a process may write, bytes (RLIMIT_FSIZE). */
      fileSizeBytes: nonNegativeInt.optional(),
      /** Open file descriptors per process (RLIMIT_NOFILE). */
      openFiles: positiveInt.optional(),
    })
    .strict();

  /** Limits a policy may set; the per-user ones are counted across connections. */
  const limitsSchema = rlimitsSchema
    .extend({
      timeoutMs: positiveInt.optional(),
      maxOutputBytes: positiveInt.optional(),
      maxStdinBytes: nonNegativeInt.optional(),
      maxConcurrent: positiveInt.optional(),
      maxConcurrentPerUser: positiveInt.optional(),
      maxConnectionsPerUser: positiveInt.optional(),
      /** Largest file a `put` may write, bytes (file transfers). */
      maxFileBytes: nonNegativeInt.optional(),
      /** Memory of all the user's processes together, tmpfs pages included, bytes (cgroup). */
      memoryBytes: z.number().int().min(MIN_MEMORY_BYTES, 'at least 16 MiB (16777216)').optional(),
      /** Processes and threads of all the user's commands together (cgroup pids.max). */
      maxProcesses: positiveInt.optional(),
      /** The user's share of CPU time against other users, 1..10000, 100 is even (cgroup). */
      cpuWeight: z.number().int().min(1).max(10_000).optional(),
      /** Size of each tmpfs in the sandbox (/tmp, /dev/shm), bytes. */
      tmpBytes: positiveInt.optional(),
    })
    .strict();

  /** The rules that a user entry may override. */
  const rulesSchema = z
    .object({
      /** The directory jail; every cwd must resolve inside it. */
      root: z.string().min(1).optional(),
      /** Directories where allowed command names are looked up (in order). */
      path: z.array(z.string().startsWith('/', 'an absolute directory')).min(1).optional(),
      /** Command names (looked up in `path`) or exact absolute paths; "*" allows any. */
      allow: z.union([z.literal('*'), z.array(z.string().min(1))]).optional(),
      /** Whether `command` (sh -c) requests are allowed. */
      shell: z.boolean().optional(),
      env: z
        .object({
          /** Request variables that may pass ("*" for any that the loader denylist allows). */
          allow: z.union([z.literal('*'), z.array(envName)]).optional(),
          /** Fixed values every command gets (they win over the request's). */
          set: z.record(envName, z.string()).optional(),
        })
        .strict()
        .optional(),
      limits: limitsSchema.optional(),
      /** Whom processes run as when rexecd is root. "root" must be said explicitly. */
      runAs: z.object({ user: idOrName, group: idOrName.optional() }).strict().optional(),
      /** "bwrap": every process runs inside bubblewrap. */
      sandbox: z.enum(['none', 'bwrap']).optional(),
      /** Whether file transfers (put/get) are allowed; default true. */
      files: z.boolean().optional(),
      /** Transfers only inside this directory of the root (relative to the root, or absolute inside it). */
      filesDir: z.string().min(1).optional(),
    })
    .strict();

  /** lab.json: the rules, server-wide limits, and per-user overrides. */
  const policyFileSchema = rulesSchema
    .extend({
      /** Connections at once, server-wide. */
      maxConnections: positiveInt.optional(),
      users: z.record(z.string().min(1), rulesSchema).optional(),
    })
    .strict();

  /** users.json: one entry per user with its key (inline or a file) and overrides. */
  const usersFileSchema = z
    .object({
      users: z.record(
        z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'a user name of letters, digits, ".", "_" or "-"'),
        rulesSchema
          .extend({
            key: z.string().min(16, 'a key of at least 16 characters').optional(),
            keyFile: z.string().min(1).optional(),
          })
          .strict()
          .refine((entry) => (entry.key === undefined) !== (entry.keyFile === undefined), {
            message: 'needs exactly one of "key" and "keyFile"',
          }),
      ),
    })
    .strict();

  return { rlimitsSchema, limitsSchema, rulesSchema, policyFileSchema, usersFileSchema };
}

type Schemas = ReturnType<typeof buildSchemas>;
let built: Schemas | undefined;

/** The schemas of the policy and users files (zod is loaded on the first call). */
export function schemas(): Schemas {
  built ??= buildSchemas(zod().z);
  return built;
}

export type Rules = Z.infer<Schemas['rulesSchema']>;
export type PolicyFile = Z.infer<Schemas['policyFileSchema']>;
export type UsersFile = Z.infer<Schemas['usersFileSchema']>;
export type RlimitSettings = Z.infer<Schemas['rlimitsSchema']>;

/**
 * Parses a file's text as JSON and validates it; throws CONFIG naming the file, and
 * for a schema failure each field and what is wrong with it.
 */
export function parseConfigText<T>(path: string, text: string, schema: Z.ZodType<T>): T {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new RexecError('CONFIG', `${path}: not valid JSON (${(error as Error).message})`);
  }
  const result = schema.safeParse(json);
  if (!result.success) {
    const lines = describeIssues(result.error)
      .split('\n')
      .map((line) => `  ${line}`)
      .join('\n');
    throw new RexecError('CONFIG', `${path}:\n${lines}`);
  }
  return result.data;
}

/** zod's issues as lines that name the field: `users.alice.limits.nproc: Too small ...`. */
export function describeIssues(error: Z.ZodError): string {
  return error.issues
    .map((issue) => {
      const field = issue.path.length === 0 ? '(top level)' : issue.path.map(String).join('.');
      return `${field}: ${issue.message}`;
    })
    .join('\n');
}
