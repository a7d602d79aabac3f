// The start of every connection (docs/protocol.md section 3): the `hello` frame, and the
// check of a client's `auth`: its proof, and first the lockout of names and addresses
// that keep failing (auth-guard.ts).
import { RexecError } from '../errors.js';
import { computeProof, decodeNonce, keyFromText, verifyProof } from '../protocol/auth-proof.js';
import {
  DEFAULT_USER,
  MAX_BODY_LENGTH,
  MAX_HEADER_LENGTH,
  PROTOCOL_VERSION,
  STDIN_WINDOW,
} from '../protocol/constants.js';
import { lockoutMessage } from '../protocol/lockout.js';
import type { AuthRequest } from '../protocol/requests.js';
import type { HelloMessage } from '../protocol/server-messages.js';
import type { AuthGuard } from './auth-guard.js';
import type { AuthSetting } from './options.js';

export { DEFAULT_USER } from '../protocol/constants.js';

/** The `hello` a server sends first on every connection. */
export function buildHello(
  auth: AuthSetting,
  snonce: Buffer,
  serverVersion: string,
  allowShell: boolean,
  maxConcurrent: number,
  pty = false,
): HelloMessage {
  return {
    type: 'hello',
    protocol: PROTOCOL_VERSION,
    server: `rexecd/${serverVersion}`,
    auth: auth.mode,
    nonce: snonce.toString('base64'),
    shell: allowShell,
    // The file transfer extension is always implemented; a policy that forbids
    // transfers answers them with DENIED naming its rule.
    files: true,
    // rexec extension: `exec.pty` and `resize` (docs/protocol.md section 10).
    pty,
    // rexec extension: stdin acknowledged on request (docs/protocol.md section 5).
    stdinWindow: STDIN_WINDOW,
    limits: { maxHeader: MAX_HEADER_LENGTH, maxBody: MAX_BODY_LENGTH, maxConcurrent },
  };
}

/** A verified client: its user name and the server's own proof for `auth-ok`. */
export interface AuthSuccess {
  readonly user: string;
  readonly proof: string;
}

/**
 * Checks an `auth` request against the server's keys. Throws AUTH_FAILED for an
 * unknown user, a bad cnonce or a wrong proof, without saying which (one attempt).
 */
export function checkAuth(request: AuthRequest, keys: ReadonlyMap<string, string>, snonce: Buffer): AuthSuccess {
  const user = request.user ?? DEFAULT_USER;
  // Exactly the names that have a key: a server with one shared key knows only
  // `default`, so that no log ever shows a name nobody proved (section 3).
  const keyText = user.includes('\0') ? undefined : keys.get(user);
  const cnonce = request.cnonce === undefined ? undefined : decodeNonce(request.cnonce);
  // Compute the HMAC even when the user is unknown, so timing does not tell.
  const key = keyFromText(keyText ?? '\0no such user\0');
  const proofOk = verifyProof(request.proof ?? '', key, 'client', user, snonce, cnonce ?? snonce);
  if (keyText === undefined || cnonce === undefined || !proofOk) {
    throw new RexecError('AUTH_FAILED', 'authentication failed: wrong key or unknown user');
  }
  return { user, proof: computeProof(key, 'server', user, snonce, cnonce) };
}

/** What an `auth` gets: refused unchecked during a lockout, failed (answered after `delayMs`), or in. */
export type AuthVerdict =
  | { readonly kind: 'locked-out'; readonly message: string }
  | { readonly kind: 'failed'; readonly delayMs: number }
  | { readonly kind: 'ok'; readonly success: AuthSuccess };

/**
 * Judges an `auth` from `address`: a locked-out name or address is refused without a
 * check, and says so; otherwise the proof is checked and the guard counts the outcome.
 */
export function judgeAuth(
  request: AuthRequest,
  keys: ReadonlyMap<string, string>,
  snonce: Buffer,
  guard: AuthGuard,
  address: string,
): AuthVerdict {
  const name = request.user ?? DEFAULT_USER;
  const lockout = guard.lockedOut(address, name);
  if (lockout !== undefined) return { kind: 'locked-out', message: lockoutMessage(lockout.ms / 1000, lockout.scope) };
  let success: AuthSuccess;
  try {
    success = checkAuth(request, keys, snonce);
  } catch {
    return { kind: 'failed', delayMs: guard.failed(address, name) };
  }
  guard.succeeded(address, success.user);
  return { kind: 'ok', success };
}
