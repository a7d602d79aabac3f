// The recommended policy in docs/ is valid as documented.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { schemas } from '../../../src/server/policy/schema.js';

describe('docs/lab.example.json', () => {
  it('passes the policy schema', () => {
    const json: unknown = JSON.parse(readFileSync(new URL('../../../docs/lab.example.json', import.meta.url), 'utf8'));
    const result = schemas().policyFileSchema.safeParse(json);
    expect(result.success ? [] : result.error.issues).toEqual([]);
  });
});
