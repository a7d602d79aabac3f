#!/usr/bin/env node
// The `rexec` command: everything happens in dist/cli/rexec.js (`npm run build` makes it).
import { main } from '../dist/cli/rexec.js';

process.exitCode = await main(process.argv.slice(2));
