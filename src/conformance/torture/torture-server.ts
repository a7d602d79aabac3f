// A server on 127.0.0.1 that speaks the protocol correctly but as awkwardly as TCP
// allows: hello, auth-ok and every reply cut into writes by the scenario's style,
// with pauses; the frames of requests that arrive together interleaved. It checks
// the client too (its frames, its proof) and keeps what it saw for the report.
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { RexecError } from '../../errors.js';
import { computeProof, decodeNonce, keyFromText, newNonce, verifyProof } from '../../protocol/auth-proof.js';
import { FrameDecoder } from '../../protocol/frame-decoder.js';
import type { Frame } from '../../protocol/frame.js';
import { parseRequest } from '../../protocol/messages.js';
import { delay } from '../deadline.js';
import { encodeReply } from './reply-frames.js';
import type { ReplyFrame } from './reply-frames.js';
import type { Scenario } from './scenarios.js';
import { cutFrames } from './write-plan.js';
import type { CutStyle } from './write-plan.js';

/** What clients did, for the report. */
export interface ClientObservations {
  connections: number;
  authenticated: number;
  /** The command of each exec: argv joined by spaces, or the shell command. */
  readonly requests: string[];
  /** Where the client broke the contract. */
  readonly violations: string[];
}

/** The torture server. */
export class TortureServer {
  readonly #server: Server;
  readonly #key: Buffer;
  readonly #scenarios: ReadonlyMap<string, Scenario>;
  readonly #sockets = new Set<Socket>();
  #current: Scenario | undefined;
  #seen: ClientObservations = emptyObservations();

  private constructor(key: string, scenarios: readonly Scenario[]) {
    this.#key = keyFromText(key);
    this.#scenarios = new Map(scenarios.map((scenario) => [scenario.name, scenario]));
    this.#server = createServer({ noDelay: true }, (socket) => this.#serve(socket));
  }

  /** Starts listening on 127.0.0.1 (port 0: any free one). */
  static async start(key: string, scenarios: readonly Scenario[], port = 0): Promise<TortureServer> {
    const server = new TortureServer(key, scenarios);
    await new Promise<void>((resolve, reject) => {
      server.#server.once('error', reject);
      server.#server.listen(port, '127.0.0.1', () => resolve());
    });
    return server;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  /** The scenario the next client runs: its cut style applies to the handshake too. */
  expect(scenario: Scenario | undefined): void {
    this.#current = scenario;
    this.#seen = emptyObservations();
  }

  /** What clients did since the last expect(). */
  get observations(): ClientObservations {
    return this.#seen;
  }

  /** Stops listening and drops every connection. */
  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #serve(socket: Socket): void {
    this.#sockets.add(socket);
    socket.on('close', () => this.#sockets.delete(socket));
    socket.on('error', () => undefined);
    const seen = this.#seen;
    seen.connections += 1;
    const handshake = this.#current;
    const snonce = newNonce();
    let authenticated = false;
    let writing = Promise.resolve();
    let pending: Array<{ id: number; scenario: Scenario }> = [];
    const send = (frames: readonly ReplyFrame[], cut: CutStyle, pauseMs: number): void => {
      writing = writing
        .then(() => writePieces(socket, frames, cut, pauseMs))
        .catch(() => {
          socket.destroy();
        });
    };
    const refuse = (violation: string, code: string): void => {
      seen.violations.push(violation);
      send([{ header: { type: 'error', code, message: `torture server: ${violation}` } }], 'whole', 0);
      void writing.then(() => socket.end());
    };
    const flush = (): void => {
      const batch = pending;
      pending = [];
      const one = batch.length === 1 ? batch[0]?.scenario : undefined;
      send(interleave(batch.map(({ id, scenario }) => scenario.reply(id))), one?.cut ?? 'random', one?.pauseMs ?? 0);
    };
    const onFrame = (frame: Frame): void => {
      const { header } = frame;
      if (!authenticated) {
        if (header.type !== 'auth')
          return refuse(`the client sent "${header.type}" before authenticating`, 'AUTH_REQUIRED');
        const user = typeof header['user'] === 'string' ? header['user'] : 'default';
        const cnonce = typeof header['cnonce'] === 'string' ? decodeNonce(header['cnonce']) : undefined;
        const proof = typeof header['proof'] === 'string' ? header['proof'] : '';
        if (cnonce === undefined) return refuse("the client's cnonce is not base64 of 32 bytes", 'AUTH_FAILED');
        if (!verifyProof(proof, this.#key, 'client', user, snonce, cnonce)) {
          return refuse(
            `the client's proof for user "${user}" is wrong (not HMAC of the key over the section 3 input)`,
            'AUTH_FAILED',
          );
        }
        authenticated = true;
        seen.authenticated += 1;
        const serverProof = computeProof(this.#key, 'server', user, snonce, cnonce);
        const authOk = handshake?.handshake?.authOk(user, serverProof) ?? {
          header: { type: 'auth-ok', user, proof: serverProof },
        };
        return send([authOk], handshake?.cut ?? 'straddle', handshake?.pauseMs ?? 1);
      }
      let request;
      try {
        request = parseRequest(header);
      } catch (error) {
        seen.violations.push(`the client sent an invalid "${header.type}": ${(error as Error).message}`);
        return undefined;
      }
      if (request.type === 'ping') {
        return send(
          [{ header: request.ts === undefined ? { type: 'pong' } : { type: 'pong', ts: request.ts } }],
          'whole',
          0,
        );
      }
      if (request.type !== 'exec') return undefined;
      const name = request.argv?.join(' ') ?? request.command ?? '';
      seen.requests.push(name);
      const scenario = this.#scenarios.get(name.trim());
      if (scenario === undefined) {
        seen.violations.push(`the client asked to run "${name}", which is no scenario`);
        return send(
          [{ header: { type: 'error', code: 'NOT_FOUND', message: `no scenario "${name}"`, id: request.id } }],
          'whole',
          0,
        );
      }
      pending.push({ id: request.id, scenario });
      if (pending.length === 1) setImmediate(flush);
      return undefined;
    };
    const decoder = new FrameDecoder(onFrame);
    socket.on('data', (chunk: Buffer) => {
      try {
        decoder.push(chunk);
      } catch (error) {
        const code = error instanceof RexecError ? error.code : 'PROTOCOL';
        refuse(`the client's bytes are not a valid frame stream: ${(error as Error).message}`, code);
      }
    });
    const hello = handshake?.handshake?.hello(snonce.toString('base64')) ?? { header: helloHeader(snonce) };
    send([hello], handshake?.cut ?? 'straddle', handshake?.pauseMs ?? 1);
  }
}

function emptyObservations(): ClientObservations {
  return { connections: 0, authenticated: 0, requests: [], violations: [] };
}

function helloHeader(snonce: Buffer): Record<string, unknown> {
  return {
    type: 'hello',
    protocol: 1,
    server: 'rexec-torture/1',
    auth: 'hmac-sha256',
    nonce: snonce.toString('base64'),
    shell: true,
    limits: { maxHeader: 65536, maxBody: 1048576, maxConcurrent: 16 },
    'x-torture': { note: 'members a client does not know are ignored' },
  };
}

/** Frames of several requests, one from each in turn, each request's order kept. */
function interleave(lists: ReadonlyArray<readonly ReplyFrame[]>): ReplyFrame[] {
  const frames: ReplyFrame[] = [];
  for (let i = 0; lists.some((list) => i < list.length); i += 1) {
    for (const list of lists) {
      const frame = list[i];
      if (frame !== undefined) frames.push(frame);
    }
  }
  return frames;
}

/** Writes the frames as cut, waiting for each write to be taken and for the pauses. */
async function writePieces(
  socket: Socket,
  frames: readonly ReplyFrame[],
  cut: CutStyle,
  pauseMs: number,
): Promise<void> {
  for (const piece of cutFrames(frames.map(encodeReply), cut, pauseMs)) {
    if (socket.destroyed || !socket.writable) return;
    await new Promise<void>((resolve) => socket.write(piece.bytes, () => resolve()));
    if (piece.pauseAfterMs > 0) await delay(piece.pauseAfterMs);
  }
}
