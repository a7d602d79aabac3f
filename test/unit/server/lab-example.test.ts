// The recommended policy in docs/ is valid as documented.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { policyFileSchema } from '../../../src/server/policy/schema.js';

describe('docs/lab.example.json', () => {
  it('passes the policy schema', () => {
    const json: unknown = JSON.parse(readFileSync(new URL('../../../docs/lab.example.json', import.meta.url), 'utf8'));
    const result = policyFileSchema.safeParse(json);
    expect(result.success ? [] : result.error.issues).toEqual([]);
  });
});
