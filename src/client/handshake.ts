// The start of a connection from the client's side (docs/protocol.md section 3): read
// `hello`, check the version, prove we know the key, and check that the server does too.
import { RexecError } from '../errors.js';
import { computeProof, decodeNonce, keyFromText, newNonce, verifyProof } from '../protocol/auth-proof.js';
import { PROTOCOL_VERSION } from '../protocol/constants.js';
import type { HelloMessage, ServerMessage } from '../protocol/messages.js';
import type { ConnectionHandler, FrameConnection } from './connection.js';
import { errorFromFrame } from './server-error.js';

/** What the handshake needs to know. */
export interface HandshakeOptions {
  /** The shared secret's text; undefined is accepted only by a server without auth. */
  readonly key: string | undefined;
  /** The user name the key belongs to. */
  readonly user: string;
  /** Accept a server that says `auth: "none"` although a key was given. */
  readonly allowNoAuth: boolean;
}

/** The outcome of a successful handshake. */
export interface HandshakeResult {
  readonly hello: HelloMessage;
  /** True when both sides proved they know the key; false for a server without auth. */
  readonly authenticated: boolean;
}

/** Settles once: with the result, or with the error that ended the handshake. */
export type HandshakeCallback = (outcome: { error: RexecError } | { result: HandshakeResult }) => void;

/**
 * Runs the handshake as the connection's handler. The callback is called synchronously
 * with the last handshake frame, so that its receiver can take over the connection
 * before any later frame of the same read is handled.
 */
export class Handshake implements ConnectionHandler {
  readonly #connection: FrameConnection;
  readonly #options: HandshakeOptions;
  readonly #callback: HandshakeCallback;
  #hello: HelloMessage | undefined;
  #snonce: Buffer | undefined;
  #cnonce: Buffer | undefined;
  #settled = false;

  constructor(connection: FrameConnection, options: HandshakeOptions, callback: HandshakeCallback) {
    this.#connection = connection;
    this.#options = options;
    this.#callback = callback;
  }

  /** True once the server's `hello` has arrived. */
  get helloReceived(): boolean {
    return this.#hello !== undefined;
  }

  onMessage(message: ServerMessage): void {
    if (this.#settled) return;
    try {
      if (message.type === 'error') throw errorFromFrame(message);
      if (this.#hello === undefined) this.#onHello(message);
      else this.#onAuthOk(message);
    } catch (error) {
      const failure =
        error instanceof RexecError ? error : new RexecError('UNEXPECTED_FRAME', String(error), { cause: error });
      this.#settle({ error: failure });
      this.#connection.fail(failure);
    }
  }

  onClose(error: RexecError | undefined): void {
    this.#settle({
      error: error ?? new RexecError('CONNECTION_CLOSED', 'the server closed the connection during the handshake'),
    });
  }

  #onHello(message: ServerMessage): void {
    if (message.type !== 'hello') {
      throw new RexecError('UNEXPECTED_FRAME', `server sent "${message.type}" before "hello"`);
    }
    if (message.protocol !== PROTOCOL_VERSION) {
      throw new RexecError(
        'UNSUPPORTED_VERSION',
        `the server speaks protocol ${message.protocol}; this client speaks ${PROTOCOL_VERSION}`,
      );
    }
    this.#hello = message;
    const { key, user, allowNoAuth } = this.#options;
    if (message.auth === 'none') {
      if (key !== undefined && !allowNoAuth) {
        throw new RexecError(
          'SERVER_PROOF',
          'the server does not authenticate (auth "none"), so it cannot prove it knows the key',
        );
      }
      this.#settle({ result: { hello: message, authenticated: false } });
      return;
    }
    if (key === undefined) {
      throw new RexecError('KEY_FILE', 'the server requires a key (auth "hmac-sha256") and none was given');
    }
    const snonce = decodeNonce(message.nonce);
    if (snonce === undefined) {
      throw new RexecError('UNEXPECTED_FRAME', 'hello "nonce" is not base64 of 32 bytes');
    }
    this.#snonce = snonce;
    this.#cnonce = newNonce();
    const proof = computeProof(keyFromText(key), 'client', user, snonce, this.#cnonce);
    this.#connection.send({ type: 'auth', user, cnonce: this.#cnonce.toString('base64'), proof });
  }

  #onAuthOk(message: ServerMessage): void {
    const hello = this.#hello as HelloMessage;
    if (message.type !== 'auth-ok') {
      throw new RexecError('UNEXPECTED_FRAME', `server sent "${message.type}" before "auth-ok"`);
    }
    const key = keyFromText(this.#options.key as string);
    const valid = verifyProof(
      message.proof,
      key,
      'server',
      this.#options.user,
      this.#snonce as Buffer,
      this.#cnonce as Buffer,
    );
    if (!valid) {
      throw new RexecError(
        'SERVER_PROOF',
        "the server's proof is wrong: it does not know the key (is it the server you meant?)",
      );
    }
    this.#settle({ result: { hello, authenticated: true } });
  }

  #settle(outcome: { error: RexecError } | { result: HandshakeResult }): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#callback(outcome);
  }
}
