// A host as typed in -H, a group or a hosts file: `name`, `name:port`, an IPv4 address
// with or without a port, `[v6]:port`, or a bare IPv6 address (more than one colon).
import { RexecError } from '../../../errors.js';

/** A host and, when the text gave one, its port. */
export interface Address {
  readonly host: string;
  readonly port?: number;
}

/** Splits HOST[:PORT]; throws CONFIG for an empty host or a port that is not 1..65535. */
export function parseAddress(text: string): Address {
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(text);
  if (bracketed !== null) return withPort(text, bracketed[1] as string, bracketed[2]);
  const colons = text.split(':').length - 1;
  if (colons === 1) {
    const at = text.indexOf(':');
    return withPort(text, text.slice(0, at), text.slice(at + 1));
  }
  if (text === '') throw new RexecError('CONFIG', 'an empty host name');
  return { host: text };
}

function withPort(text: string, host: string, port: string | undefined): Address {
  if (host === '') throw new RexecError('CONFIG', `"${text}": the host is missing`);
  if (port === undefined) return { host };
  const number = Number(port);
  if (!/^\d+$/.test(port) || number < 1 || number > 65535) {
    throw new RexecError('CONFIG', `"${text}": the port must be a number 1..65535`);
  }
  return { host, port: number };
}
