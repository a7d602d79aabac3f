// The error code registry against docs/protocol.md section 8, and RexecError.
import { existsSync, readFileSync } from 'node:fs';
import { describe, it, expect } from 'vitest';
import { ERROR_CODES, RexecError, isErrorCode, isWireErrorCode } from '../../src/errors.js';
import type { ErrorCode } from '../../src/errors.js';
import { sectionOf } from '../helpers/doc-sections.js';

// docs/protocol.md section 8, in the order of its table (the contract's codes; the table
// ends with the file transfer extension's, below).
const SECTION_8: ReadonlyArray<readonly [string, boolean]> = [
  ['PROTOCOL', true],
  ['FRAME_TOO_LARGE', true],
  ['AUTH_REQUIRED', true],
  ['AUTH_FAILED', true],
  ['AUTH_TIMEOUT', true],
  ['IDLE_TIMEOUT', true],
  ['TOO_MANY_CONNECTIONS', true],
  ['UNSUPPORTED', false],
  ['BAD_REQUEST', false],
  ['DUPLICATE_ID', false],
  ['UNKNOWN_ID', false],
  ['DENIED', false],
  ['NOT_FOUND', false],
  ['SPAWN_FAILED', false],
  ['BUSY', false],
  ['SHUTTING_DOWN', false],
];

// The file transfer extension (docs/protocol.md section 9) adds one wire code to section 8's.
const FILES_EXTENSION: ReadonlyArray<readonly [string, boolean]> = [['EXISTS', false]];

// Codes of the library and programs, never on the wire: each ends the connection it
// concerns, but a transferred file whose checksum differs is one failed transfer.
const CLIENT_ONLY: ReadonlyArray<readonly [string, boolean]> = [
  ['CONNECT_FAILED', true],
  ['CONNECTION_CLOSED', true],
  ['SERVER_PROOF', true],
  ['UNEXPECTED_FRAME', true],
  ['UNSUPPORTED_VERSION', true],
  ['KEY_FILE', true],
  ['TLS', true],
  ['CONFIG', true],
  ['CHECKSUM_MISMATCH', false],
  ['OUTPUT_LIMIT', false],
];

const codes = Object.keys(ERROR_CODES) as ErrorCode[];
const wireCodes = codes.filter((code) => ERROR_CODES[code].wire);

describe('ERROR_CODES', () => {
  it.each(codes)('%s has wire, fatal and a one-line summary', (code) => {
    const info = ERROR_CODES[code];
    expect(typeof info.wire).toBe('boolean');
    expect(typeof info.fatal).toBe('boolean');
    expect(info.summary.trim().length).toBeGreaterThan(0);
    expect(info.summary).not.toMatch(/\n/);
    expect(code).toMatch(/^[A-Z][A-Z_]*$/);
  });

  it('has exactly the wire codes of docs/protocol.md section 8 and of the file transfer extension', () => {
    expect([...wireCodes].sort()).toStrictEqual([...SECTION_8, ...FILES_EXTENSION].map(([code]) => code).sort());
  });

  it('marks exactly the fatal codes of section 8 as fatal', () => {
    const fatal = wireCodes.filter((code) => ERROR_CODES[code].fatal).sort();
    expect(fatal).toStrictEqual(
      [...SECTION_8, ...FILES_EXTENSION]
        .filter(([, isFatal]) => isFatal)
        .map(([code]) => code)
        .sort(),
    );
    for (const [code, isFatal] of [...SECTION_8, ...FILES_EXTENSION]) {
      expect(isErrorCode(code) && ERROR_CODES[code].fatal).toBe(isFatal);
    }
  });

  it('makes every client-only code fatal but CHECKSUM_MISMATCH and OUTPUT_LIMIT: each ends the connection it concerns', () => {
    const clientOnly = codes.filter((code) => !ERROR_CODES[code].wire);
    expect([...clientOnly].sort()).toStrictEqual(CLIENT_ONLY.map(([code]) => code).sort());
    // A file whose sha256 differs is one failed transfer, and a run() past its maxBuffer
    // one killed command; the connection goes on.
    for (const code of clientOnly)
      expect(ERROR_CODES[code].fatal).toBe(code !== 'CHECKSUM_MISMATCH' && code !== 'OUTPUT_LIMIT');
  });

  // Where ../shared is present, the table itself is the reference (a clone elsewhere has none).
  const protocolFile = new URL('../../../shared/PROTOCOL.md', import.meta.url);
  const withShared = it.runIf(existsSync(protocolFile));
  withShared('matches the section 8 table of ../shared/PROTOCOL.md (only where ../shared exists)', () => {
    const section = sectionOf(readFileSync(protocolFile, 'utf8'), '## 8. Errors');
    const rows = [...section.matchAll(/^\| `([A-Z_]+)` \| (yes|no) \|/gm)].map(
      (match) => [match[1], match[2] === 'yes'] as const,
    );
    expect(rows).toStrictEqual(SECTION_8);
  });
});

describe('isErrorCode / isWireErrorCode', () => {
  it('know the registry codes', () => {
    expect(codes.every(isErrorCode)).toBe(true);
    expect(isWireErrorCode('DENIED')).toBe(true);
    expect(isWireErrorCode('CONNECTION_CLOSED')).toBe(false);
    expect(isErrorCode('CONNECTION_CLOSED')).toBe(true);
  });

  it.each(['NOPE', '', 'protocol', 'toString', 'constructor', '__proto__', 'hasOwnProperty', 5, null, undefined, {}])(
    'refuse %j',
    (value) => {
      expect(isErrorCode(value)).toBe(false);
      expect(isWireErrorCode(value)).toBe(false);
    },
  );
});

describe('RexecError', () => {
  it('carries its code, message, id and cause', () => {
    const cause = new Error('inner');
    const error = new RexecError('BAD_REQUEST', 'argv is empty', { id: 7, cause });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('RexecError');
    expect(error.code).toBe('BAD_REQUEST');
    expect(error.message).toBe('argv is empty');
    expect(error.id).toBe(7);
    expect(error.cause).toBe(cause);
    expect(error.fatal).toBe(false);
  });

  it('has no id and no cause unless given', () => {
    const error = new RexecError('PROTOCOL', 'bad frame');
    expect(error.id).toBeUndefined();
    expect('cause' in error).toBe(false);
    expect(error.fatal).toBe(true);
  });

  // Against section 8's table and the client's own list, not against the registry the
  // getter reads.
  it.each([...SECTION_8, ...FILES_EXTENSION, ...CLIENT_ONLY])('%s: fatal is %s', (code, isFatal) => {
    expect(isErrorCode(code)).toBe(true);
    expect(new RexecError(code as ErrorCode, 'x').fatal).toBe(isFatal);
  });

  it('carries the rule that refused as data, apart from the message', () => {
    const error = new RexecError('BUSY', 'alice already runs 2 requests', {
      id: 4,
      rule: 'limits.maxConcurrentPerUser',
    });
    expect(error.rule).toBe('limits.maxConcurrentPerUser');
    expect(error.message).not.toContain('rule');
    expect(new RexecError('BUSY', 'x').rule).toBeUndefined();
  });
});
