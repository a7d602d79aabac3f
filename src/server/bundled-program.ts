// rexecd's helper programs (the terminal helper, the file helper) are bundled beside
// rexecd's own bundle in dist/bundle/. From the compiled modules (dist/server/...) or the
// sources (src/server/..., in tests) they are the package's dist/bundle, which
// `npm run build` makes. Found once, then remembered.
import { existsSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const found = new Map<string, string>();

/** The real path of dist/bundle/`name`, or undefined when it has not been built. */
export function bundledProgram(name: string): string | undefined {
  const known = found.get(name);
  if (known !== undefined) return known;
  // Beside the bundle that runs (dist/bundle/*.mjs), else from src/server or dist/server.
  for (const candidate of [
    new URL(`./${name}`, import.meta.url),
    new URL(`../../dist/bundle/${name}`, import.meta.url),
  ]) {
    const path = fileURLToPath(candidate);
    if (existsSync(path)) {
      const real = realpathSync(path);
      found.set(name, real);
      return real;
    }
  }
  return undefined;
}
