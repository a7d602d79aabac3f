// Admission counts: per-address and total caps on connections still authenticating,
// below the server-wide cap, and slots that are given back exactly once.
import { describe, expect, it } from 'vitest';
import {
  Admission,
  defaultMaxUnauthenticated,
  defaultMaxUnauthenticatedPerAddress,
  isRefusal,
  normalizeAddress,
} from '../../../src/server/admission.js';
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

  it('forgets an address once none of its connections is authenticating: many addresses cost nothing', () => {
    const admission = new Admission({ maxConnections: 10, maxUnauthenticated: 10, maxUnauthenticatedPerAddress: 2 });
    for (let i = 0; i < 1000; i += 1) {
      const first = ticket(admission.admit(`10.0.${i >> 8}.${i & 255}`));
      const second = ticket(admission.admit(`10.0.${i >> 8}.${i & 255}`));
      first.authenticated();
      expect(admission.addresses).toBe(1);
      second.release();
    }
    expect(admission.addresses).toBe(0);
    expect(admission.unauthenticated).toBe(0);
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

  it('names the rule and its limit in each refusal', () => {
    const admission = new Admission({ maxConnections: 1, maxUnauthenticated: 5, maxUnauthenticatedPerAddress: 1 });
    const first = ticket(admission.admit('10.0.0.1'));
    expect(admission.admit('10.0.0.1')).toStrictEqual({
      rule: 'maxUnauthenticatedPerAddress',
      message: 'too many connections from 10.0.0.1 still authenticating (1; rule: maxUnauthenticatedPerAddress)',
    });
    expect(first.open()).toBeUndefined();
    expect(ticket(admission.admit('10.0.0.2')).open()).toStrictEqual({
      rule: 'maxConnections',
      message: 'the server is full (1 connections; rule: maxConnections)',
    });
  });

  it('an address gets back one slot per connection that authenticates or closes, not all of them', () => {
    const admission = new Admission({ maxConnections: 10, maxUnauthenticated: 10, maxUnauthenticatedPerAddress: 3 });
    const a = ticket(admission.admit('10.0.0.1'));
    const b = ticket(admission.admit('10.0.0.1'));
    ticket(admission.admit('10.0.0.1'));
    a.authenticated();
    // Two of the three are still authenticating: one more fits, then none.
    ticket(admission.admit('10.0.0.1'));
    expect(admission.admit('10.0.0.1')).toMatchObject({ rule: 'maxUnauthenticatedPerAddress' });
    b.release();
    ticket(admission.admit('10.0.0.1'));
    expect(admission.admit('10.0.0.1')).toMatchObject({ rule: 'maxUnauthenticatedPerAddress' });
    expect(admission.unauthenticated).toBe(3);
  });

  it('a ticket takes one connection slot however often it opens, and none after its release', () => {
    const admission = new Admission({ maxConnections: 2, maxUnauthenticated: 5, maxUnauthenticatedPerAddress: 5 });
    const first = ticket(admission.admit('10.0.0.1'));
    expect(first.open()).toBeUndefined();
    expect(first.open()).toBeUndefined();
    expect(admission.open).toBe(1);
    const closed = ticket(admission.admit('10.0.0.1'));
    closed.release();
    expect(closed.open()).toBeUndefined();
    expect(admission.open).toBe(1);
    // The second slot is still free for someone else.
    expect(ticket(admission.admit('10.0.0.2')).open()).toBeUndefined();
    expect(admission.open).toBe(2);
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
    expect(normalizeAddress('::ffff:192.168.100.255')).toBe('192.168.100.255');
    expect(normalizeAddress(undefined)).toBe('unknown');
    expect(normalizeAddress('')).toBe('unknown');
  });

  it('maps nothing else: IPv6 addresses that merely hold an IPv4 address stay apart', () => {
    expect(normalizeAddress('1::ffff:10.1.2.3')).toBe('1::ffff:10.1.2.3');
    expect(normalizeAddress('64:ff9b::10.1.2.3')).toBe('64:ff9b::10.1.2.3');
    expect(normalizeAddress('::ffff:10.1.2.3.4')).toBe('::ffff:10.1.2.3.4');
  });
});
