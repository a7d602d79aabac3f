// Section 3: hello first, fresh nonces, the mutual HMAC proof, and the fatal
// refusals of a wrong or missing authentication.
import { decodeNonce, newNonce, verifyProof, keyFromText } from '../../protocol/auth-proof.js';
import type { FrameHeader } from '../../protocol/frame.js';
import { fail, show, skip } from '../check.js';
import type { Check } from '../check.js';
import { expectFatal } from '../replies.js';
import type { ServerContext } from '../server-context.js';

/** The checks of section 3, in run order (failing authentications are kept apart). */
export const HANDSHAKE_CHECKS: ReadonlyArray<Check<ServerContext>> = [
  {
    id: 'hello',
    section: '3.1',
    title: 'the server speaks first, with a complete hello',
    async run(context) {
      const { hello } = await context.open();
      const problems = helloProblems(hello);
      if (problems.length > 0) fail(`${problems.join('; ')} in ${show(hello)}`);
    },
  },
  {
    id: 'hello-fresh-nonce',
    section: '3',
    title: 'every connection gets a fresh server nonce',
    async run(context) {
      const nonces = new Set<unknown>();
      for (let i = 0; i < 3; i += 1) nonces.add((await context.open()).hello['nonce']);
      if (nonces.size !== 3) fail(`three connections got only ${nonces.size} different nonces: ${show([...nonces])}`);
    },
  },
  {
    id: 'auth-mutual-proof',
    section: '3.3',
    title: 'a correct proof gets auth-ok with the user and a server proof that verifies',
    async run(context) {
      requireAuth(context);
      await authenticate(context, context.user, true);
    },
  },
  {
    id: 'auth-wrong-proof',
    section: '3.4',
    title: 'a wrong proof gets AUTH_FAILED and the connection is closed',
    async run(context) {
      requireAuth(context);
      const { probe, snonce } = await context.open();
      const request = context.authRequest(snonce);
      const proof = String(request['proof']);
      // One hex digit changed: as close to right as a proof can be.
      request['proof'] = `${proof.slice(0, -1)}${proof.endsWith('0') ? '1' : '0'}`;
      probe.send(request);
      await expectFatal(probe, 'AUTH_FAILED', context.waitMs + 2_000, ' for a proof with one digit wrong');
    },
  },
  {
    id: 'auth-default-user',
    section: '3.2',
    title: 'an auth without user counts as user "default"',
    async run(context) {
      requireAuth(context);
      if (context.user !== 'default') skip(`checks run as user "${context.user}", whose key may not be "default"'s`);
      await authenticate(context, undefined, false);
    },
  },
  {
    id: 'auth-short-cnonce',
    section: '3.2',
    title: 'a cnonce that is not 32 bytes gets AUTH_FAILED (even with a proof over it)',
    async run(context) {
      requireAuth(context);
      const { probe, snonce } = await context.open();
      probe.send(context.authRequest(snonce, { cnonce: newNonce().subarray(0, 16) }));
      await expectFatal(probe, 'AUTH_FAILED', context.waitMs + 2_000, ' for a 16-byte cnonce');
    },
  },
  {
    id: 'auth-required',
    section: '3.4',
    title: 'a request before auth-ok gets AUTH_REQUIRED and the connection is closed',
    async run(context) {
      requireAuth(context);
      const { probe } = await context.open();
      probe.send({ type: 'exec', id: 1, argv: ['true'] });
      await expectFatal(probe, 'AUTH_REQUIRED', context.waitMs, ' for an exec before auth');
    },
  },
  {
    id: 'auth-timeout',
    section: '3.4',
    title: 'a client that does not authenticate in time gets AUTH_TIMEOUT and is closed',
    async run(context) {
      requireAuth(context);
      const limit = context.authTimeoutMs;
      if (limit === undefined)
        skip("the deadline is not announced: give --auth-timeout MS (the server's setting) to check it");
      const { probe } = await context.open();
      await expectFatal(probe, 'AUTH_TIMEOUT', limit + context.waitMs);
    },
  },
];

function requireAuth(context: ServerContext): void {
  if (!context.authenticates) skip('the server does not authenticate (hello.auth is "none")');
}

/** Authenticates on a new connection (as `user`, or with no user member) and checks auth-ok. */
async function authenticate(context: ServerContext, user: string | undefined, named: boolean): Promise<void> {
  const { probe, snonce } = await context.open();
  const request = context.authRequest(snonce, { user: user ?? 'default' });
  if (!named) delete request['user'];
  probe.send(request);
  const reply = (await probe.next({}, context.waitMs)).header;
  if (reply.type !== 'auth-ok') fail(`expected auth-ok, got ${show(reply)} (is the key right?)`);
  const expectedUser = user ?? 'default';
  if (reply['user'] !== expectedUser) fail(`auth-ok names user ${show(reply['user'])}, expected "${expectedUser}"`);
  const proof = reply['proof'];
  if (typeof proof !== 'string') fail(`auth-ok has no proof: ${show(reply)}; the server must prove it knows the key`);
  if (!/^[0-9a-f]{64}$/.test(proof)) fail(`auth-ok proof ${show(proof)} is not 64 lowercase hex digits`);
  const cnonce = decodeNonce(String(request['cnonce'])) as Buffer;
  if (!verifyProof(proof, keyFromText(context.key ?? ''), 'server', expectedUser, snonce as Buffer, cnonce)) {
    fail(
      'the auth-ok proof is wrong: it is not HMAC(key, "rexec/1 server" 0 user 0 snonce cnonce), so the server does not prove it knows the key',
    );
  }
}

function helloProblems(hello: FrameHeader): string[] {
  const problems: string[] = [];
  const limits = hello['limits'];
  const limit = (name: string): unknown =>
    typeof limits === 'object' && limits !== null ? (limits as Record<string, unknown>)[name] : undefined;
  if (hello['protocol'] !== 1) problems.push(`protocol is ${show(hello['protocol'])}, not 1`);
  if (typeof hello['server'] !== 'string' || hello['server'] === '') problems.push('server is not a non-empty string');
  if (hello['auth'] !== 'hmac-sha256' && hello['auth'] !== 'none') problems.push(`auth is ${show(hello['auth'])}`);
  if (typeof hello['nonce'] !== 'string' || decodeNonce(hello['nonce']) === undefined) {
    problems.push('nonce is not base64 of 32 bytes');
  }
  if (typeof hello['shell'] !== 'boolean') problems.push('shell is not a boolean');
  if (limit('maxHeader') !== 65536) problems.push(`limits.maxHeader is ${show(limit('maxHeader'))}, not 65536`);
  if (limit('maxBody') !== 1048576) problems.push(`limits.maxBody is ${show(limit('maxBody'))}, not 1048576`);
  const maxConcurrent = limit('maxConcurrent');
  if (!Number.isInteger(maxConcurrent) || (maxConcurrent as number) < 1) {
    problems.push(`limits.maxConcurrent is ${show(maxConcurrent)}, not a positive integer`);
  }
  return problems;
}
