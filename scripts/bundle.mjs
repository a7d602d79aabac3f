// Bundles each program (dist/cli/*/main.js, from tsc) under dist/bundle/, so that
// starting `rexec` reads and compiles a few files instead of dozens of modules: a cold
// `rexec run -- true` is dominated by start-up (see BENCHMARKS.md). `rexec` is split into
// chunks (ESM code splitting): its flags and the core that `run` needs load at start
// (dist/bundle/rexec.mjs and one shared chunk, see src/cli/rexec/core.ts); cp, the
// fan-out, the shell, TLS and the test kit are chunks it imports when they run. Chunks
// sit beside the entry files (dist/bundle/rexec-*.mjs). rexecd, and the helpers it
// starts, are one file each: each helper is the one file made visible inside a sandbox.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

const common = {
  outdir: 'dist/bundle',
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
  // commander is CommonJS: give its require() of built-ins a real require.
  banner: {
    js: "import { createRequire as __rexecRequire } from 'node:module'; const require = __rexecRequire(import.meta.url);",
  },
  define: { REXEC_BUNDLED_VERSION: JSON.stringify(version) },
};

// Chunks are named by content hash: last build's would pile up.
rmSync('dist/bundle', { recursive: true, force: true });

// commander requires node:child_process when it loads, for subcommands that are separate
// executables (rexec has none): loading it cost ~5 ms of every start. Its require gets an
// object that loads the module on first use instead.
const lazyChildProcess = {
  name: 'lazy-child-process',
  setup(build) {
    build.onResolve({ filter: /^(node:)?child_process$/ }, (args) =>
      /[\\/]node_modules[\\/]commander[\\/]/.test(args.importer)
        ? { path: 'child_process', namespace: 'lazy-builtin' }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, () => ({
      contents: "module.exports = new Proxy({}, { get: (_, key) => require('node:child_process')[key] });",
      loader: 'js',
    }));
  },
};

// Each program on its own, so that its chunks follow its own subcommands only.
for (const [name, entry] of [
  ['rexec', 'dist/cli/rexec/main.js'],
  ['rexecd', 'dist/cli/rexecd/main.js'],
]) {
  await build({
    ...common,
    entryPoints: { [name]: entry },
    splitting: true,
    chunkNames: `${name}-[hash]`,
    plugins: [lazyChildProcess],
    metafile: process.env.REXEC_BUNDLE_META !== undefined,
  }).then((result) => {
    if (result.metafile !== undefined)
      writeFileSync(`${process.env.REXEC_BUNDLE_META}.${name}.json`, JSON.stringify(result.metafile));
  });
}

await build({
  ...common,
  // file-helper: the program rexecd starts to read and write files as a policy's runAs
  // user inside its sandbox (src/server/files/file-helper.ts); one file to make visible.
  // pty-helper: the program that holds one terminal for rexecd (src/server/pty/pty-helper.ts).
  entryPoints: { 'file-helper': 'dist/server/files/file-helper.js', 'pty-helper': 'dist/server/pty/pty-helper.js' },
});
