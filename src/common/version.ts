// The package's version, for `hello.server` and `--version`.
import { readFileSync } from 'node:fs';

// Set by scripts/bundle.mjs in the bundled programs, where package.json is elsewhere.
declare const REXEC_BUNDLED_VERSION: string | undefined;

/** rexec's version from package.json (two levels up from src/common and dist/common). */
export const VERSION: string = typeof REXEC_BUNDLED_VERSION === 'string' ? REXEC_BUNDLED_VERSION : readPackageVersion();

function readPackageVersion(): string {
  try {
    const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
    const version = (JSON.parse(text) as { version?: unknown }).version;
    return typeof version === 'string' ? version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}
