// HMAC-SHA256 proofs and nonces (docs/protocol.md section 3), against the shared example.
import { describe, it, expect } from 'vitest';
import {
  computeProof,
  decodeNonce,
  keyFromText,
  newNonce,
  proofInput,
  verifyProof,
} from '../../../src/protocol/auth-proof.js';
import { loadShared } from './harness.js';

const { auth } = loadShared();
const key = keyFromText(auth.key_text);
const snonce = Buffer.from(auth.snonce_b64, 'base64');
const cnonce = Buffer.from(auth.cnonce_b64, 'base64');
const verifyClient = (proof: string): boolean => verifyProof(proof, key, 'client', auth.user, snonce, cnonce);
const verifyServer = (proof: string): boolean => verifyProof(proof, key, 'server', auth.user, snonce, cnonce);

/** The proof with one bit flipped (bit 0..255). */
function flipBit(proof: string, bit: number): string {
  const bytes = Buffer.from(proof, 'hex');
  bytes[bit >> 3] = (bytes[bit >> 3] as number) ^ (1 << (bit & 7));
  return bytes.toString('hex');
}

describe('the shared HMAC example', () => {
  it('has 32-byte nonces', () => {
    expect(snonce.length).toBe(32);
    expect(cnonce.length).toBe(32);
  });

  it('proofInput(client) is client_mac_input_hex', () => {
    expect(proofInput('client', auth.user, snonce, cnonce).toString('hex')).toBe(auth.client_mac_input_hex);
  });

  it('proofInput(server) differs from the client input only in its label', () => {
    const server = proofInput('server', auth.user, snonce, cnonce);
    const client = proofInput('client', auth.user, snonce, cnonce);
    expect(server.subarray(0, 14).toString()).toBe('rexec/1 server');
    expect(server.subarray(14).equals(client.subarray(14))).toBe(true);
  });

  it('computeProof gives client_proof and server_proof, as lowercase hex', () => {
    expect(computeProof(key, 'client', auth.user, snonce, cnonce)).toBe(auth.client_proof);
    expect(computeProof(key, 'server', auth.user, snonce, cnonce)).toBe(auth.server_proof);
  });

  it('keyFromText removes surrounding whitespace only', () => {
    expect(keyFromText(`  ${auth.key_text}\r\n`).equals(key)).toBe(true);
    expect(key.toString('utf8')).toBe(auth.key_text);
    expect(keyFromText(' a b\n').toString()).toBe('a b');
    const padded = keyFromText(`\t${auth.key_text}\n`);
    expect(computeProof(padded, 'client', auth.user, snonce, cnonce)).toBe(auth.client_proof);
  });

  it('keys a non-ASCII secret by its UTF-8 bytes', () => {
    expect(keyFromText('clé').toString('hex')).toBe('636cc3a9');
  });
});

describe('verifyProof', () => {
  it('accepts the client proof as a client proof and the server proof as a server proof', () => {
    expect(verifyClient(auth.client_proof)).toBe(true);
    expect(verifyServer(auth.server_proof)).toBe(true);
  });

  // The protocol sends lowercase hex and compares decoded bytes: uppercase decodes the same.
  it('accepts the same proof in uppercase hex', () => {
    expect(verifyClient(auth.client_proof.toUpperCase())).toBe(true);
    expect(verifyServer(auth.server_proof.toUpperCase())).toBe(true);
  });

  it('refuses one side proof as the other side proof', () => {
    expect(verifyClient(auth.server_proof)).toBe(false);
    expect(verifyServer(auth.client_proof)).toBe(false);
  });

  it('refuses the proof with any single bit flipped', () => {
    for (let bit = 0; bit < 256; bit += 1) {
      expect(verifyClient(flipBit(auth.client_proof, bit))).toBe(false);
    }
  });

  it.each([
    ['empty', ''],
    ['31 bytes', auth.client_proof.slice(0, 62)],
    ['63 hex digits', auth.client_proof.slice(0, 63)],
    ['65 hex digits', `${auth.client_proof}0`],
    ['33 bytes', `${auth.client_proof}00`],
    ['the proof twice', auth.client_proof.repeat(2)],
    ['a non-hex digit', `${auth.client_proof.slice(0, 63)}g`],
    ['a trailing newline', `${auth.client_proof}\n`],
    ['a leading space', ` ${auth.client_proof.slice(1)}`],
    ['a 0x prefix', `0x${auth.client_proof.slice(2)}`],
    ['base64 of the right bytes', Buffer.from(auth.client_proof, 'hex').toString('base64')],
    ['64 zeros', '0'.repeat(64)],
  ])('refuses %s', (_what, proof) => {
    expect(verifyClient(proof)).toBe(false);
  });

  it('refuses the right proof under another user, key or nonce order', () => {
    const proof = auth.client_proof;
    expect(verifyProof(proof, key, 'client', 'bob', snonce, cnonce)).toBe(false);
    expect(verifyProof(proof, keyFromText('other'), 'client', auth.user, snonce, cnonce)).toBe(false);
    expect(verifyProof(proof, key, 'client', auth.user, cnonce, snonce)).toBe(false);
  });
});

describe('decodeNonce', () => {
  it('decodes the 32-byte nonces of the example, padded or not', () => {
    expect(decodeNonce(auth.snonce_b64)?.equals(snonce)).toBe(true);
    expect(decodeNonce(auth.cnonce_b64.replace(/=$/, ''))?.equals(cnonce)).toBe(true);
  });

  it('round-trips a fresh nonce', () => {
    const nonce = newNonce();
    expect(nonce.length).toBe(32);
    expect(newNonce().equals(nonce)).toBe(false);
    expect(decodeNonce(nonce.toString('base64'))?.equals(nonce)).toBe(true);
  });

  it.each([
    ['31 bytes', Buffer.alloc(31, 1).toString('base64')],
    ['33 bytes', Buffer.alloc(33, 1).toString('base64')],
    ['64 bytes', Buffer.alloc(64, 1).toString('base64')],
    ['empty', ''],
    ['hex of 32 bytes', Buffer.alloc(32, 0xab).toString('hex')],
  ])('refuses %s', (_what, text) => {
    expect(decodeNonce(text)).toBeUndefined();
  });

  const good = auth.snonce_b64;
  it.each([
    ['a leading space', ` ${good}`],
    ['a newline inside', `${good.slice(0, 20)}\n${good.slice(20)}`],
    ['a "*" inside', `${good.slice(0, 20)}*${good.slice(20)}`],
    ['base64url characters', Buffer.alloc(32, 0xfb).toString('base64url')],
    ['non-zero padding bits in the last character', `${good.slice(0, 42)}9=`],
    ['padding in the middle', `${good.slice(0, 20)}=${good.slice(20)}`],
    ['extra padding', `${good}==`],
  ])('refuses junk: %s', (_what, text) => {
    expect(Buffer.from(text, 'base64').length).toBeGreaterThan(0);
    expect(decodeNonce(text)).toBeUndefined();
  });
});
