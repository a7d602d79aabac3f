#!/usr/bin/env node
// The `rexec` command: everything happens in dist/bundle/rexec.mjs (`npm run build` makes it).
import module from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';

// Node 22.1 and later keep V8's compiled code between runs: a cold start then skips most
// of compiling the bundle. In a directory of this user's own, never the shared default
// under /tmp, where another user could plant code for us to run. Node 20 has no such
// cache (module.enableCompileCache is undefined there).
if (typeof module.enableCompileCache === 'function') {
  const cache = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  module.enableCompileCache(join(cache, 'rexec', 'compile-cache'));
}

const { main } = await import('../dist/bundle/rexec.mjs');
process.exitCode = await main(process.argv.slice(2));
