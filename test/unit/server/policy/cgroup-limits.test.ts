// The policy fields of the per-user cgroup limits and the sandbox's tmpfs size.
import { describe, expect, it } from 'vitest';
import { DEFAULT_TMP_BYTES } from '../../../../src/server/launch.js';
import { describeIssues, schemas } from '../../../../src/server/policy/schema.js';
import { applyRules, basePolicy } from '../../../../src/server/policy/user-policy.js';

const base = basePolicy({ root: '/', allowShell: false, timeoutMs: 1000, maxConcurrent: 1, maxOutputBytes: undefined });
const MiB = 1024 * 1024;

function problems(limits: Record<string, unknown>): string {
  const result = schemas().rulesSchema.safeParse({ limits });
  return result.success ? '' : describeIssues(result.error);
}

describe('limits: memoryBytes, maxProcesses, cpuWeight, tmpBytes', () => {
  it('accepts sensible values', () => {
    expect(problems({ memoryBytes: 16 * MiB, maxProcesses: 1, cpuWeight: 1, tmpBytes: 1 })).toBe('');
    expect(problems({ cpuWeight: 10_000 })).toBe('');
  });

  it('refuses what would make every command fail or mean "no limit", naming the field', () => {
    expect(problems({ memoryBytes: 16 * MiB - 1 })).toMatch(/^limits\.memoryBytes: at least 16 MiB/);
    expect(problems({ maxProcesses: 0 })).toMatch(/^limits\.maxProcesses: /);
    expect(problems({ cpuWeight: 0 })).toMatch(/^limits\.cpuWeight: /);
    expect(problems({ cpuWeight: 10_001 })).toMatch(/^limits\.cpuWeight: /);
    // A tmpfs of size 0 has no limit at all.
    expect(problems({ tmpBytes: 0 })).toMatch(/^limits\.tmpBytes: /);
    expect(problems({ memoryBytes: 1.5 * 16 * MiB + 0.5 })).toMatch(/^limits\.memoryBytes: /);
  });

  it('has no cgroup limits and the default tmpfs size unless a policy says', () => {
    expect(base.cgroupLimits).toStrictEqual({});
    expect(base.tmpBytes).toBe(DEFAULT_TMP_BYTES);
    expect(DEFAULT_TMP_BYTES).toBe(128 * MiB);
  });

  it("takes a user's overrides field by field on top of the lab's, and keeps them out of the rlimits", () => {
    const lab = applyRules(
      base,
      { limits: { memoryBytes: 64 * MiB, maxProcesses: 50, tmpBytes: 8 * MiB, nproc: 9 } },
      'lab.json',
      '/',
    );
    const alice = applyRules(lab, { limits: { memoryBytes: 32 * MiB, cpuWeight: 300 } }, 'users.json alice', '/');
    expect(alice.cgroupLimits).toStrictEqual({ memoryBytes: 32 * MiB, maxProcesses: 50, cpuWeight: 300 });
    expect(alice.tmpBytes).toBe(8 * MiB);
    expect(alice.rlimits).toStrictEqual({ nproc: 9 });
    expect(lab.cgroupLimits).toStrictEqual({ memoryBytes: 64 * MiB, maxProcesses: 50 });
  });
});
