// vectors/rexec-v1.json, the vectors the package publishes for other implementations:
// it holds every shared and extra vector, and every entry is true of the protocol
// layer (encodes, decodes, is refused, proves) exactly as it states.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { computeProof, keyFromText, proofInput, verifyProof } from '../../src/protocol/auth-proof.js';
import { encodeFrameBuffer } from '../../src/protocol/frame-encoder.js';
import {
  bytesOf,
  codeOf,
  decodeAll,
  decodeChunks,
  hex,
  loadExtra,
  loadShared,
  oneByteAtATime,
} from './protocol/harness.js';
import type { DecodeVector, FrameVector, MalformedVector } from './protocol/harness.js';

interface AuthExample {
  readonly name: string;
  readonly key_text: string;
  readonly user: string;
  readonly snonce_b64: string;
  readonly cnonce_b64: string;
  readonly client_mac_input_hex: string;
  readonly server_mac_input_hex: string;
  readonly client_proof: string;
  readonly server_proof: string;
}

interface StreamVector {
  readonly name: string;
  readonly bytes_hex: string;
  readonly frames: ReadonlyArray<{ readonly header: Record<string, unknown>; readonly body_hex: string }>;
}

interface PublishedVectors {
  readonly protocol: number;
  readonly frames: readonly FrameVector[];
  readonly stream_of_first_four_hex: string;
  readonly streams: readonly StreamVector[];
  readonly decodes: readonly DecodeVector[];
  readonly malformed: readonly MalformedVector[];
  readonly auth: Omit<AuthExample, 'name' | 'server_mac_input_hex'>;
  readonly auth_examples: readonly AuthExample[];
}

const ROOT = new URL('../../', import.meta.url);
const published = JSON.parse(readFileSync(new URL('vectors/rexec-v1.json', ROOT), 'utf8')) as PublishedVectors;
const shared = loadShared();
const extra = loadExtra();

describe('vectors/rexec-v1.json contains', () => {
  it('every shared vector, unchanged: frames, the stream, the malformed inputs and the HMAC example', () => {
    for (const vector of shared.frames) expect(published.frames, vector.name).toContainEqual(vector);
    for (const vector of shared.malformed) expect(published.malformed, vector.name).toContainEqual(vector);
    expect(published.stream_of_first_four_hex).toBe(shared.stream_of_first_four_hex);
    expect(published.auth).toEqual(shared.auth);
    expect(published.auth_examples).toContainEqual(expect.objectContaining(shared.auth));
  });

  it("every vector of the project's extra file", () => {
    for (const vector of extra.frames) expect(published.frames, vector.name).toContainEqual(vector);
    for (const vector of extra.decodes) expect(published.decodes, vector.name).toContainEqual(vector);
    for (const vector of extra.malformed) expect(published.malformed, vector.name).toContainEqual(vector);
  });

  it('unique names in each list, and is part of the package, documented', () => {
    for (const list of [
      published.frames,
      published.decodes,
      published.malformed,
      published.streams,
      published.auth_examples,
    ]) {
      const names = list.map((entry) => entry.name);
      expect(new Set(names).size).toBe(names.length);
    }
    const pkg = JSON.parse(readFileSync(new URL('package.json', ROOT), 'utf8')) as { files: string[] };
    expect(pkg.files).toContain('vectors');
    const doc = readFileSync(new URL('docs/vectors.md', ROOT), 'utf8');
    for (const key of Object.keys(published)) expect(doc, key).toContain(`\`${key}\``);
  });
});

describe('every published vector holds', () => {
  it.each(published.frames.map((vector) => [vector.name, vector] as const))(
    'frame %s encodes to frame_hex and decodes back',
    (_, vector) => {
      expect(encodeFrameBuffer(vector.header, hex(vector.body_hex)).toString('hex')).toBe(vector.frame_hex);
      for (const frames of [decodeAll([hex(vector.frame_hex)]), decodeAll(oneByteAtATime(hex(vector.frame_hex)))]) {
        expect(frames).toHaveLength(1);
        expect(frames[0]?.header).toStrictEqual(vector.header);
        expect(frames[0]?.body.toString('hex')).toBe(vector.body_hex);
      }
    },
  );

  it.each(published.streams.map((vector) => [vector.name, vector] as const))(
    'stream %s decodes to its frames',
    (_, vector) => {
      const frames = decodeAll(oneByteAtATime(hex(vector.bytes_hex)));
      expect(frames.map((frame) => ({ header: frame.header, body_hex: frame.body.toString('hex') }))).toStrictEqual(
        vector.frames,
      );
    },
  );

  it.each(published.decodes.map((vector) => [vector.name, vector] as const))(
    'decode %s gives its frame',
    (_, vector) => {
      const frames = decodeAll([bytesOf(vector)]);
      expect(frames).toHaveLength(1);
      if (vector.header !== undefined) expect(frames[0]?.header).toStrictEqual(vector.header);
      if (vector.header_type !== undefined) expect(frames[0]?.header.type).toBe(vector.header_type);
      if (vector.body_hex !== undefined) expect(frames[0]?.body.toString('hex')).toBe(vector.body_hex);
      if (vector.body_length !== undefined) expect(frames[0]?.body.length).toBe(vector.body_length);
    },
  );

  it.each(published.malformed.map((vector) => [vector.name, vector] as const))(
    'malformed %s is refused with its code',
    (_, vector) => {
      for (const outcome of [decodeChunks([bytesOf(vector)]), decodeChunks(oneByteAtATime(bytesOf(vector)))]) {
        expect(codeOf(outcome.error)).toBe(vector.expect);
        expect(outcome.frames).toHaveLength(vector.frames_before ?? 0);
      }
    },
  );

  it.each(published.auth_examples.map((vector) => [vector.name, vector] as const))(
    'HMAC example %s proves both ways',
    (_, vector) => {
      const key = keyFromText(vector.key_text);
      const snonce = Buffer.from(vector.snonce_b64, 'base64');
      const cnonce = Buffer.from(vector.cnonce_b64, 'base64');
      expect([snonce.length, cnonce.length]).toEqual([32, 32]);
      expect(proofInput('client', vector.user, snonce, cnonce).toString('hex')).toBe(vector.client_mac_input_hex);
      expect(proofInput('server', vector.user, snonce, cnonce).toString('hex')).toBe(vector.server_mac_input_hex);
      expect(computeProof(key, 'client', vector.user, snonce, cnonce)).toBe(vector.client_proof);
      expect(verifyProof(vector.server_proof, key, 'server', vector.user, snonce, cnonce)).toBe(true);
      expect(vector.client_proof).not.toBe(vector.server_proof);
    },
  );
});
