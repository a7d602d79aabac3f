// Libraries loaded only when they are needed, synchronously. zod costs ~15 MB of RSS
// and tens of milliseconds when imported, and pino a few MB; most runs of rexec and
// rexecd use neither (no config, policy or audit file), so importing them at start
// would make every cold start and every server heavier (BENCHMARKS.md).
import { createRequire } from 'node:module';
import type * as Zod from 'zod';
import type Pino from 'pino';

const load = createRequire(import.meta.url);

/** zod, loaded on first use. */
export function zod(): typeof Zod {
  return load('zod') as typeof Zod;
}

/** pino, loaded on first use. */
export function pino(): typeof Pino {
  return load('pino') as typeof Pino;
}

/** node-pty (a native module), loaded on the first pseudo-terminal request. */
export function nodePty(): typeof import('node-pty') {
  return load('node-pty') as typeof import('node-pty');
}

/** True when node-pty can be found (without loading it). */
export function nodePtyInstalled(): boolean {
  try {
    load.resolve('node-pty');
    return true;
  } catch {
    return false;
  }
}

/** node:tls, loaded when a TLS connection is made (most runs use plain TCP). */
export function nodeTls(): typeof import('node:tls') {
  return load('node:tls') as typeof import('node:tls');
}

/** node:readline, loaded when `rexec shell` reads lines. */
export function nodeReadline(): typeof import('node:readline') {
  return load('node:readline') as typeof import('node:readline');
}
