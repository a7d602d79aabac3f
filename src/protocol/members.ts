// Reading members of a decoded header safely: own properties only (a JSON key such as
// "__proto__" or "constructor" is data, never behaviour), JSON null counts as absent
// (docs/protocol.md section 2), and a member of the wrong JSON type is a PROTOCOL error.
import { RexecError } from '../errors.js';
import { MAX_ID } from './constants.js';
import type { FrameHeader } from './frame.js';

/** Characters of client text quoted in an error message; longer text is cut. */
export const MAX_QUOTED = 64;

/** Client text as quoted in an error message: its first MAX_QUOTED characters. */
export function clipQuoted(text: string): string {
  return text.length > MAX_QUOTED ? `${text.slice(0, MAX_QUOTED)}...` : text;
}

/** The member's value, or undefined when it is absent or null. */
export function member(header: FrameHeader, name: string): unknown {
  if (!Object.hasOwn(header, name)) return undefined;
  const value = header[name];
  return value === null ? undefined : value;
}

function wrongType(header: FrameHeader, name: string, expected: string): RexecError {
  return new RexecError(
    'PROTOCOL',
    `"${header.type}" member "${name}" must be ${expected}, not ${describe(header[name])}`,
  );
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** An optional string member. */
export function optionalString(header: FrameHeader, name: string): string | undefined {
  const value = member(header, name);
  if (value === undefined || typeof value === 'string') return value;
  throw wrongType(header, name, 'a string');
}

/** An optional boolean member. */
export function optionalBoolean(header: FrameHeader, name: string): boolean | undefined {
  const value = member(header, name);
  if (value === undefined || typeof value === 'boolean') return value;
  throw wrongType(header, name, 'a boolean');
}

/** An optional number member (its value is checked by the caller). */
export function optionalNumber(header: FrameHeader, name: string): number | undefined {
  const value = member(header, name);
  if (value === undefined || typeof value === 'number') return value;
  throw wrongType(header, name, 'a number');
}

/** An optional JSON object member (not an array), as a header to read members from. */
export function optionalObject(header: FrameHeader, name: string): FrameHeader | undefined {
  const value = member(header, name);
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw wrongType(header, name, 'an object');
  return value as FrameHeader;
}

/** An optional array of strings. */
export function optionalStringArray(header: FrameHeader, name: string): string[] | undefined {
  const value = member(header, name);
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    throw wrongType(header, name, 'an array of strings');
  }
  return value;
}

/** An optional object of string values, as [name, value] pairs in order. */
export function optionalStringRecord(header: FrameHeader, name: string): Array<[string, string]> | undefined {
  const value = member(header, name);
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw wrongType(header, name, 'an object of strings');
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (!entries.every(([, item]) => typeof item === 'string')) {
    throw wrongType(header, name, 'an object of strings');
  }
  return entries as Array<[string, string]>;
}

/** True for a valid request id: an integer 1 ... 2^31-1. */
export function isValidId(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_ID;
}

/**
 * A request's id: wrong JSON type is PROTOCOL; missing or out of range is BAD_REQUEST
 * without an id (section 8).
 */
export function requiredId(header: FrameHeader): number {
  const value = optionalNumber(header, 'id');
  if (value === undefined) {
    throw new RexecError('BAD_REQUEST', `"${header.type}" needs an "id"`);
  }
  if (!isValidId(value)) {
    throw new RexecError('BAD_REQUEST', `"id" must be an integer 1..${MAX_ID}, not ${String(value)}`);
  }
  return value;
}
