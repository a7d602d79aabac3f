// What lies below a server directory, for `rexec cp -r :DIR LOCAL`. The protocol moves
// files but does not list directories, so the listing is a command on the server
// (GNU find, under the same policy as any command): if the policy does not allow
// `find`, a recursive download is refused with that reason.
import type { RexecClient } from '../../../client/index.js';
import { RexecError } from '../../../errors.js';

/** One entry below the listed directory. */
export interface RemoteEntry {
  /** "d" directory, "f" regular file, "l" symbolic link (downloaded if the server follows it), or another find type. */
  readonly type: string;
  /** Path below the listed directory, "/" separated ("" for the directory itself). */
  readonly relative: string;
}

/** A listing is refused past this many bytes (a few hundred thousand names). */
const MAX_LISTING = 64 * 1024 * 1024;

/**
 * Why a listed relative path must not be used below a local directory, or undefined when
 * it may: one that is absolute or has an empty, "." or ".." segment could name a file
 * anywhere (only a hostile or broken server lists one).
 */
export function unsafeListedPath(relative: string): string | undefined {
  if (relative.startsWith('/')) return 'is absolute';
  const segments = relative.split('/');
  if (segments.includes('..')) return 'leads out of the directory ("..")';
  if (segments.some((segment) => segment === '' || segment === '.')) return 'has an empty or "." component';
  return undefined;
}

/**
 * Lists `path` on the server (itself first); throws a RexecError with the reason, or
 * `signal`'s reason once it aborts (the listing is then killed).
 */
export async function listRemote(client: RexecClient, path: string, signal?: AbortSignal): Promise<RemoteEntry[]> {
  // "./" keeps a path that starts with "-" from being read as an option by find.
  const start = path.startsWith('/') ? path : `./${path}`;
  let result;
  try {
    result = await client.run(['find', start, '-printf', '%y %P\\0'], {
      maxBuffer: MAX_LISTING,
      encoding: 'buffer',
      signal,
    });
  } catch (error) {
    if (error instanceof RexecError && (error.code === 'DENIED' || error.code === 'NOT_FOUND')) {
      throw new RexecError(error.code, `-r lists the directory with find on the server, which said: ${error.message}`);
    }
    if (error instanceof RexecError && error.code === 'OUTPUT_LIMIT') {
      throw new RexecError('BAD_REQUEST', `${path}: the listing is over ${MAX_LISTING} bytes`);
    }
    throw error;
  }
  if (result.code !== 0) {
    const why =
      result.stderr
        .toString('utf8', 0, 4096)
        .trim()
        .replace(/^find: /, '') || `find exited with ${result.code ?? result.signal}`;
    throw new RexecError('NOT_FOUND', why);
  }
  return result.stdout
    .toString('utf8')
    .split('\0')
    .filter((line) => line !== '')
    .map((line) => ({ type: line.slice(0, 1), relative: line.slice(2) }));
}
