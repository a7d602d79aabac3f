// Admission counts: per-address and total caps on connections still authenticating,
// below the server-wide cap, and slots that are given back exactly once.
import { describe, expect, it } from 'vitest';
import { Admission, defaultMaxUnauthenticated, defaultMaxUnauthenticatedPerAddress, isRefusal, normalizeAddress } from '../../../src/server/admission.js';
import type { AdmissionRefusal, AdmissionTicket } from '../../../src/server/admission.js';

function ticket(result: AdmissionTicket | AdmissionRefusal): AdmissionTicket {
  if (isRefusal(result)) throw new Error(`refused: ${result.message}`);
  return result;
}

describe('admission', () => {
  it('caps unauthenticated connections per address, then in total', () => {
    const admission = new Admission({ maxConnections: 10, maxUnauthenticated: 3, maxUnauthenticatedPerAddress: 2 });
    ticket(admission.admit('10.0.0.1'));
    ticket(admission.admit('10.0.0.1'));
    expect(admission.admit('10.0.0.1')).toMatchObject({ rule: 'maxUnauthenticatedPerAddress' });
    ticket(admission.admit('10.0.0.2'));
    const full = admission.admit('10.0.0.3');
    expect(full).toMatchObject({ rule: 'maxUnauthenticated' });
    expect((full as AdmissionRefusal).message).toContain('(3; rule: maxUnauthenticated)');
    expect(admission.unauthenticated).toBe(3);
  });

  it('an authenticated connection frees its unauthenticated slot but keeps its connection slot', () => {
    const admission = new Admission({ maxConnections: 2, maxUnauthenticated: 1, maxUnauthenticatedPerAddress: 1 });
    const first = ticket(admission.admit('10.0.0.1'));
    expect(first.open()).toBeUndefined();
    expect(admission.admit('10.0.0.1')).toMatchObject({ rule: 'maxUnauthenticatedPerAddress' });
    first.authenticated();
    first.authenticated();
    expect(admission.unauthenticated).toBe(0);
    expect(admission.open).toBe(1);
    const second = ticket(admission.admit('10.0.0.1'));
    expect(second.open()).toBeUndefined();
    second.authenticated();
    // The server is full: a third connection passes the unauthenticated caps but gets no slot.
    const third = ticket(admission.admit('10.0.0.2'));
    expect(third.open()).toMatchObject({ rule: 'maxConnections' });
    // A refused open gives its unauthenticated slot back.
    expect(admission.unauthenticated).toBe(0);
    first.release();
    first.release();
    second.release();
    expect(admission.open).toBe(0);
    expect(admission.unauthenticated).toBe(0);
  });

  it('defaults the unauthenticated cap to half of the connections, at least one', () => {
    expect(defaultMaxUnauthenticated(256)).toBe(128);
    expect(defaultMaxUnauthenticated(1)).toBe(1);
    // One address never holds all of them by default.
    expect(defaultMaxUnauthenticatedPerAddress(128)).toBe(8);
    expect(defaultMaxUnauthenticatedPerAddress(8)).toBe(2);
    expect(defaultMaxUnauthenticatedPerAddress(1)).toBe(1);
  });

  it('counts IPv4-mapped IPv6 addresses as the IPv4 address', () => {
    expect(normalizeAddress('::ffff:10.1.2.3')).toBe('10.1.2.3');
    expect(normalizeAddress('::FFFF:10.1.2.3')).toBe('10.1.2.3');
    expect(normalizeAddress('2001:db8::1')).toBe('2001:db8::1');
    expect(normalizeAddress('10.1.2.3')).toBe('10.1.2.3');
    expect(normalizeAddress(undefined)).toBe('unknown');
  });
});
