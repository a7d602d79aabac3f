// Choosing checks by name for --only: a full id, or a prefix that ends at a dash
// ("malformed" selects every malformed-* check).
import { RexecError } from '../errors.js';

/** The items whose id matches one of `names` (all of them when `names` is empty). */
export function selectById<T extends { readonly id: string }>(items: readonly T[], names: readonly string[]): T[] {
  if (names.length === 0) return [...items];
  const unknown = names.filter((name) => !items.some((item) => matches(item.id, name)));
  if (unknown.length > 0) {
    throw new RexecError(
      'CONFIG',
      `no check named ${unknown.map((name) => `"${name}"`).join(', ')} (--list shows them)`,
    );
  }
  return items.filter((item) => names.some((name) => matches(item.id, name)));
}

function matches(id: string, name: string): boolean {
  return id === name || id.startsWith(`${name}-`);
}
