// Whether a host names this machine's loopback interface, where rexecd may run without
// authentication and a client may accept a server that has none: nothing off the
// machine can reach or pose as such an address.
import { isIP } from 'node:net';

/**
 * True for "localhost" (any case), an IPv4 address in 127.0.0.0/8, and the IPv6
 * loopback ::1 or an IPv4-mapped 127.x address (::ffff:127.0.0.1), in any spelling of
 * IPv6 ("0:0::1", "::FFFF:7f00:1").
 */
export function isLoopback(host: string): boolean {
  if (host.toLowerCase() === 'localhost') return true;
  const version = isIP(host);
  if (version === 4) return host.startsWith('127.');
  if (version !== 6) return false;
  // The URL parser writes an IPv6 address in its one canonical form (RFC 5952); it
  // refuses a zone ("::1%lo"), which no loopback address needs.
  let canonical: string;
  try {
    canonical = new URL(`http://[${host}]/`).hostname;
  } catch {
    return false;
  }
  return canonical === '[::1]' || /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(canonical);
}
