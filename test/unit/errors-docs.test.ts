// Every error code is documented, and every documented code exists (the registry in
// src/errors.ts is the one source of truth).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/errors.js';
import { sectionOf } from '../helpers/doc-sections.js';

const doc = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8');

const section8 = sectionOf(doc, '## 8. Errors');

describe('error codes and docs/protocol.md', () => {
  const table = [...section8.matchAll(/^\| `([A-Z_]+)` \| (yes|no) \|/gm)].map((m) => ({
    code: m[1] as string,
    fatal: m[2] === 'yes',
  }));

  it('reads section 8 alone: its table, and nothing of section 9', () => {
    expect(table.length).toBeGreaterThanOrEqual(16);
    expect(section8).not.toContain('## 9.');
  });

  it('documents every wire code in section 8 with its fatality', () => {
    const wire = Object.entries(ERROR_CODES).filter(([, info]) => info.wire);
    expect(table.map((row) => row.code).sort()).toEqual(wire.map(([code]) => code).sort());
    for (const row of table) {
      expect(ERROR_CODES[row.code as keyof typeof ERROR_CODES].fatal, row.code).toBe(row.fatal);
    }
  });

  it('names every client-only code', () => {
    for (const [code, info] of Object.entries(ERROR_CODES)) {
      if (!info.wire) expect(section8, code).toContain(`\`${code}\``);
    }
  });
});
