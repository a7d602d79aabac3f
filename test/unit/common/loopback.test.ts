// Which hosts count as loopback: rexecd allows --no-auth only there, and rexec accepts
// a server without authentication only there.
import { describe, expect, it } from 'vitest';
import { isLoopback } from '../../../src/common/loopback.js';

describe('isLoopback', () => {
  it('accepts localhost in any case, 127.0.0.0/8, ::1 and IPv4-mapped 127.x in any IPv6 spelling', () => {
    for (const host of [
      'localhost',
      'LOCALHOST',
      'LocalHost',
      '127.0.0.1',
      '127.255.0.9',
      '::1',
      '0:0:0:0:0:0:0:1',
      '::ffff:127.0.0.1',
      '::FFFF:127.9.8.7',
      '::ffff:7f00:1',
    ]) {
      expect(isLoopback(host), host).toBe(true);
    }
  });

  it('refuses every other address and name', () => {
    for (const host of [
      '',
      '0.0.0.0',
      '10.0.0.1',
      '128.0.0.1',
      '127.0.0',
      '127.0.0.1.example.org',
      'localhost.example.org',
      'my-localhost',
      '::',
      '::2',
      'fe80::1',
      '::ffff:10.0.0.1',
      '::ffff:128.0.0.1',
      '::1%lo',
      '[::1]',
    ]) {
      expect(isLoopback(host), host).toBe(false);
    }
  });
});
