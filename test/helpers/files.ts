// File transfers over a RawClient, frame by frame, for server tests of
// docs/protocol.md section 9: what the server sends for one id, in order, up to `done` or `error`.
import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import type { Frame, FrameHeader } from '../../src/protocol/frame.js';
import type { RawClient } from './raw-client.js';

/** Lowercase hex SHA-256. */
export function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The frames of request `id` from now on, until one for which `last` is true. */
export async function framesUntil(client: RawClient, id: number, last: (frame: Frame) => boolean): Promise<Frame[]> {
  const frames: Frame[] = [];
  for (;;) {
    const frame = await client.next(undefined, id);
    frames.push(frame);
    if (last(frame)) return frames;
  }
}

const isEnd = (frame: Frame): boolean => frame.header.type === 'done' || frame.header.type === 'error';

/** Sends `put` and returns the server's first answer for it (`ready` or `error`). */
export async function startPut(
  client: RawClient,
  id: number,
  path: string,
  size: number,
  extra: Record<string, unknown> = {},
): Promise<FrameHeader> {
  client.send({ type: 'put', id, path, size, ...extra });
  return (await client.next(undefined, id)).header;
}

/** Sends `content` as data frames of at most `chunk` bytes, the last with eof. */
export function sendData(client: RawClient, id: number, content: Buffer, chunk = 1024 * 1024): void {
  if (content.length === 0) {
    client.send({ type: 'data', id, eof: true });
    return;
  }
  for (let offset = 0; offset < content.length; offset += chunk) {
    const part = content.subarray(offset, offset + chunk);
    const eof = offset + chunk >= content.length;
    client.send(eof ? { type: 'data', id, eof: true } : { type: 'data', id }, part);
  }
}

/** A whole put: `ready` (else the error), the data, then `done` or `error`. */
export async function put(
  client: RawClient,
  id: number,
  path: string,
  content: Buffer,
  extra: Record<string, unknown> = {},
): Promise<FrameHeader> {
  const first = await startPut(client, id, path, content.length, extra);
  if (first.type !== 'ready') return first;
  sendData(client, id, content);
  const frames = await framesUntil(client, id, isEnd);
  return (frames[frames.length - 1] as Frame).header;
}

/** A whole get: the frames, the content, and how it ended. */
export async function get(
  client: RawClient,
  id: number,
  path: string,
): Promise<{ frames: Frame[]; file: FrameHeader | undefined; content: Buffer; end: FrameHeader }> {
  client.send({ type: 'get', id, path });
  const frames = await framesUntil(client, id, isEnd);
  return {
    frames,
    file: frames.find((f) => f.header.type === 'file')?.header,
    content: Buffer.concat(frames.filter((f) => f.header.type === 'data').map((f) => f.body)),
    end: (frames[frames.length - 1] as Frame).header,
  };
}

/** Temporary files of puts left in `dir` (there must never be any once a put has ended). */
export async function leftovers(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.startsWith('.rexec-'));
}
