// Two connected in-memory streams, as a socket's two ends: what one writes the other
// reads, end() on one is end of input on the other, and destroying one closes both (as
// a reset does; node's duplexPair alone leaves the other end open).
import { duplexPair } from 'node:stream';
import type { Duplex } from 'node:stream';

/** [server's end, client's end]. */
export function memoryPair(): [Duplex, Duplex] {
  const [one, other] = duplexPair();
  one.once('close', () => other.destroy());
  other.once('close', () => one.destroy());
  return [one, other];
}
