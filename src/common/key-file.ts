// The shared-secret key file used by both rexecd and rexec: 64 random hex characters,
// mode 0600. Its text, trimmed, is the HMAC key (docs/protocol.md section 3).
import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { RexecError } from '../errors.js';

/** Where both programs look for the key unless told otherwise. */
export function defaultKeyFile(): string {
  const config = process.env['XDG_CONFIG_HOME'] || join(homedir(), '.config');
  return join(config, 'rexec', 'key');
}

/** A new key's text: 32 random bytes as 64 hex characters. */
export function generateKeyText(): string {
  return randomBytes(32).toString('hex');
}

/**
 * Why a file that holds a secret is open to others (any permission bit for group or
 * other, as ssh refuses such keys), with the fix; undefined when it is private.
 */
export function secretFileProblem(path: string, mode: number, what = 'key file'): string | undefined {
  if ((mode & 0o077) === 0) return undefined;
  const octal = (mode & 0o777).toString(8).padStart(4, '0');
  return `${what} ${path} is open to others (mode ${octal}): anyone who can read it can log in; run: chmod 600 ${path}`;
}

/**
 * Reads a key file; it must be private (no access for group or others) and its trimmed
 * text not empty. Synchronous inside: one small local file read before anything else
 * happens, without four round trips through the thread pool, which on a loaded machine
 * cost a cold `rexec run` milliseconds each.
 */
// eslint-disable-next-line @typescript-eslint/require-await -- async on purpose: failures arrive as rejections
export async function readKeyFile(path: string): Promise<string> {
  let text: string;
  try {
    const fd = openSync(path, 'r');
    try {
      // Only regular files: a pipe (`-k <(pass show rexec)`) is private to its reader.
      const stats = fstatSync(fd);
      const problem = stats.isFile() ? secretFileProblem(path, stats.mode) : undefined;
      if (problem !== undefined) throw new RexecError('KEY_FILE', problem);
      text = readFileSync(fd, 'utf8');
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    if (error instanceof RexecError) throw error;
    const reason =
      (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : String((error as Error).message);
    throw new RexecError('KEY_FILE', `key file ${path} ${reason}`, { cause: error });
  }
  const key = text.trim();
  if (key === '') throw new RexecError('KEY_FILE', `key file ${path} is empty`);
  return key;
}

/**
 * Writes a new key file with mode 0600 (its directory 0700). Refuses to replace an
 * existing file unless `overwrite` is set. Returns the key's text.
 */
export async function writeKeyFile(path: string, options?: { overwrite?: boolean }): Promise<string> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const key = generateKeyText();
  let handle;
  try {
    handle = await open(path, options?.overwrite ? 'w' : 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new RexecError('KEY_FILE', `key file ${path} already exists`, { cause: error });
    }
    throw new RexecError('KEY_FILE', `cannot write key file ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  try {
    await handle.chmod(0o600);
    await handle.writeFile(`${key}\n`, 'utf8');
  } finally {
    await handle.close();
  }
  return key;
}

/** Reads the key file, creating it first (0600) when it does not exist. */
export async function ensureKeyFile(path: string): Promise<{ key: string; created: boolean }> {
  try {
    return { key: await readKeyFile(path), created: false };
  } catch (error) {
    if (
      !(error instanceof RexecError) ||
      !(error.cause as NodeJS.ErrnoException | undefined)?.code?.startsWith('ENOENT')
    ) {
      throw error;
    }
  }
  try {
    return { key: await writeKeyFile(path), created: true };
  } catch (error) {
    // Another process created it first: use theirs.
    if (error instanceof RexecError && (error.cause as NodeJS.ErrnoException | undefined)?.code === 'EEXIST') {
      return { key: await readKeyFile(path), created: false };
    }
    throw error;
  }
}
