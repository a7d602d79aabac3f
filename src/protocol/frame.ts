// The decoded form of one frame (docs/protocol.md section 2).

/** A decoded header: a JSON object with a string `type`. Other members are unchecked. */
export interface FrameHeader {
  readonly type: string;
  readonly [member: string]: unknown;
}

/** One frame: its JSON header and its raw body (never decoded as text). */
export interface Frame {
  readonly header: FrameHeader;
  readonly body: Buffer;
}

/** Size limits a decoder enforces; the protocol's maxima unless a peer says less. */
export interface FrameLimits {
  readonly maxHeader: number;
  readonly maxBody: number;
}
