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

// Terminals use @lydell/node-pty: node-pty's API with prebuilt binaries delivered as
// per-platform packages, so installing rexec never compiles anything. It is an optional
// dependency: without it rexecd runs everything but terminals (hello.pty is false).
const NODE_PTY = '@lydell/node-pty';

/** node-pty (a native module), loaded on the first pseudo-terminal request. */
export function nodePty(): typeof import('@lydell/node-pty') {
  return load(NODE_PTY) as typeof import('@lydell/node-pty');
}

/**
 * True when node-pty and its binary for this platform can be found (without loading
 * them): the binary is a separate optional package that may be missing on its own.
 */
export function nodePtyInstalled(): boolean {
  try {
    load.resolve(NODE_PTY);
    load.resolve(`${NODE_PTY}-${process.platform}-${process.arch}/package.json`);
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
