// HMAC-SHA256 mutual proofs (docs/protocol.md section 3). Pure computation: no I/O.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { NONCE_LENGTH } from './constants.js';

/** Which side a proof comes from; the labels keep one side's proof from being the other's. */
export type ProofSide = 'client' | 'server';

// Stryker disable next-line StringLiteral: 'utf8' is Buffer.from's default, written out because the protocol says UTF-8.
const utf8 = (text: string): Buffer => Buffer.from(text, 'utf8');

const LABELS: Record<ProofSide, Buffer> = {
  client: utf8('rexec/1 client'),
  server: utf8('rexec/1 server'),
};
const ZERO = Buffer.from([0]);
const PROOF_HEX = /^[0-9a-fA-F]{64}$/;

/** The HMAC key: the UTF-8 bytes of the secret's text, surrounding whitespace removed. */
export function keyFromText(text: string): Buffer {
  return utf8(text.trim());
}

/** The bytes a proof is computed over: label ‖ 0 ‖ user ‖ 0 ‖ snonce ‖ cnonce. */
export function proofInput(side: ProofSide, user: string, snonce: Buffer, cnonce: Buffer): Buffer {
  return Buffer.concat([LABELS[side], ZERO, utf8(user), ZERO, snonce, cnonce]);
}

/** A proof as lowercase hex. */
export function computeProof(key: Buffer, side: ProofSide, user: string, snonce: Buffer, cnonce: Buffer): string {
  return createHmac('sha256', key)
    .update(proofInput(side, user, snonce, cnonce))
    .digest('hex');
}

/** Checks a received hex proof in constant time; a proof of another length is simply wrong. */
export function verifyProof(
  proof: string,
  key: Buffer,
  side: ProofSide,
  user: string,
  snonce: Buffer,
  cnonce: Buffer,
): boolean {
  const expected = createHmac('sha256', key)
    .update(proofInput(side, user, snonce, cnonce))
    .digest();
  const received = PROOF_HEX.test(proof) ? Buffer.from(proof, 'hex') : Buffer.alloc(32);
  // Compare even when the shape is wrong, so that timing says nothing about the key.
  return timingSafeEqual(expected, received) && PROOF_HEX.test(proof);
}

/** A fresh nonce: 32 random bytes. */
export function newNonce(): Buffer {
  return randomBytes(NONCE_LENGTH);
}

/**
 * Decodes a base64 nonce; undefined unless it is base64 (padded or not) of exactly 32
 * bytes. Node's decoder skips junk characters, so the text is checked by re-encoding.
 */
export function decodeNonce(text: string): Buffer | undefined {
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length !== NONCE_LENGTH) return undefined;
  const canonical = bytes.toString('base64');
  // Stryker disable next-line Regex: the base64 of 32 bytes ends in exactly one "=", so /=/, /=$/ and /=+$/ agree.
  return text === canonical || text === canonical.replace(/=+$/, '') ? bytes : undefined;
}
