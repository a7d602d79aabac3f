// File transfers seen from the client (docs/protocol.md section 9): what a put (put-call.ts) and
// a get (get-call.ts) share with the client that routes their frames.
import type { FrameConnection } from './connection.js';
import type { TrackedRequest } from './request-table.js';

/** The part of a connection a transfer needs. */
export type TransferChannel = Pick<FrameConnection, 'send' | 'onDrain' | 'block' | 'unblock'>;

/** How a transfer gives its id back: `free` when the server is done with it, `cancel` to abort it. */
export interface TransferHooks {
  /** The server sends nothing more for the id: it may be used again. */
  free(): void;
  /**
   * Gives up on the transfer: one still waiting for a slot is never sent; a sent one
   * gets SIGINT for its id, which stays reserved until the server has handled that.
   */
  cancel(): void;
}

/** What the client routes to a request: its frames, its refusal, the connection's end. */
export type RoutedRequest = TrackedRequest;
