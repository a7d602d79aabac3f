// When connect() tries again: only on a refusal the server calls momentary, waiting
// longer each time (with jitter), never past the deadline.
import { describe, expect, it } from 'vitest';
import { retryDelay } from '../../../src/client/connect.js';
import { RexecError } from '../../../src/errors.js';

const momentary = (retryMs = 50): RexecError =>
  new RexecError('TOO_MANY_CONNECTIONS', 'too many connections still authenticating', { retryMs });
const low = (): number => 0;
const high = (): number => 1;

describe('retryDelay', () => {
  it('does not try again without the hint, for another code, or for what is not a RexecError', () => {
    expect(retryDelay(new RexecError('TOO_MANY_CONNECTIONS', 'the server is full'), 0, 10_000)).toBeUndefined();
    expect(retryDelay(new RexecError('AUTH_FAILED', 'no', { retryMs: 50 }), 0, 10_000)).toBeUndefined();
    expect(retryDelay(new RexecError('CONNECT_FAILED', 'refused'), 0, 10_000)).toBeUndefined();
    // A TLS server that closed before its handshake: the client's own hint.
    expect(retryDelay(new RexecError('CONNECT_FAILED', 'closed', { retryMs: 50 }), 0, 10_000, () => 1)).toBe(50);
    expect(retryDelay(new Error('x'), 0, 10_000)).toBeUndefined();
    expect(retryDelay({ code: 'TOO_MANY_CONNECTIONS', retryMs: 50 }, 0, 10_000)).toBeUndefined();
  });

  it('waits between half and all of the hint, doubled per try, at most 1 s', () => {
    expect(retryDelay(momentary(), 0, 10_000, low)).toBe(25);
    expect(retryDelay(momentary(), 0, 10_000, high)).toBe(50);
    expect(retryDelay(momentary(), 1, 10_000, high)).toBe(100);
    expect(retryDelay(momentary(), 3, 10_000, high)).toBe(400);
    expect(retryDelay(momentary(), 5, 10_000, high)).toBe(1000);
    expect(retryDelay(momentary(), 5, 10_000, low)).toBe(500);
    expect(retryDelay(momentary(), 60, 10_000, high)).toBe(1000);
    expect(retryDelay(momentary(), 2, 10_000, () => 0.5)).toBe(150);
  });

  it('takes at least 10 ms as the hint (a hint of 0 is no busy loop)', () => {
    expect(retryDelay(momentary(0), 0, 10_000, high)).toBe(10);
    expect(retryDelay(momentary(3), 0, 10_000, high)).toBe(10);
    expect(retryDelay(momentary(11), 0, 10_000, high)).toBe(11);
  });

  it('gives up when the wait and a try of 100 ms no longer fit before the deadline', () => {
    expect(retryDelay(momentary(), 0, 150, high)).toBe(50);
    expect(retryDelay(momentary(), 0, 149, high)).toBeUndefined();
    expect(retryDelay(momentary(), 0, 0, low)).toBeUndefined();
  });
});
