#!/usr/bin/env node
// rexecd: the rexec server. The code lives in dist/ (npm run build); main() returns the
// exit status.
import { main } from '../dist/bundle/rexecd.mjs';

process.exitCode = await main(process.argv.slice(2));
