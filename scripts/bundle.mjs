// Bundles each program (dist/cli/*/main.js, from tsc) into one file under dist/bundle/, so
// that starting `rexec` reads and compiles one module instead of dozens: a cold
// `rexec run -- true` is dominated by start-up (see BENCHMARKS.md).
import { readFileSync } from 'node:fs';
import { build } from 'esbuild';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

await build({
  // file-helper: the program rexecd starts to read and write files as a policy's runAs
  // user inside its sandbox (src/server/files/file-helper.ts); one file to make visible.
  // pty-helper: the program that holds one terminal for rexecd (src/server/pty/pty-helper.ts).
  entryPoints: {
    rexec: 'dist/cli/rexec/main.js',
    rexecd: 'dist/cli/rexecd/main.js',
    'file-helper': 'dist/server/files/file-helper.js',
    'pty-helper': 'dist/server/pty/pty-helper.js',
  },
  outdir: 'dist/bundle',
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
  // commander is CommonJS: give its require() of built-ins a real require.
  banner: { js: "import { createRequire as __rexecRequire } from 'node:module'; const require = __rexecRequire(import.meta.url);" },
  define: { REXEC_BUNDLED_VERSION: JSON.stringify(version) },
});
