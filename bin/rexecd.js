#!/usr/bin/env node
// rexecd: the rexec server. The code lives in dist/ (npm run build).
import { main } from '../dist/bundle/rexecd.mjs';

main(process.argv).then(
  (status) => {
    process.exitCode = status;
  },
  (error) => {
    process.stderr.write(`rexecd: ${error?.stack ?? error}\n`);
    process.exitCode = 1;
  },
);
