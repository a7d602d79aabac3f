#!/usr/bin/env node
// The `rexec` command: everything happens in dist/bundle/rexec.mjs (`npm run build` makes it).
import { main } from '../dist/bundle/rexec.mjs';

process.exitCode = await main(process.argv.slice(2));
