// The package's version, for `hello.server` and `--version`.
import { readFileSync } from 'node:fs';

/** rexec's version from package.json (two levels up from src/server and dist/server). */
export const VERSION: string = (() => {
  try {
    const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
    const version = (JSON.parse(text) as { version?: unknown }).version;
    return typeof version === 'string' ? version : '0.0.0';
  } catch {
    return '0.0.0';
  }
})();
