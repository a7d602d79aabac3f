// The one collector of a command's output (run(), rexec run --json, the fan-out's
// --group and --json): both streams under one budget, passing it told once, and what
// was held given back.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { OutputBudget, OutputCollector } from '../../../src/client/output-collector.js';

function streams(): { stdout: PassThrough; stderr: PassThrough } {
  return { stdout: new PassThrough(), stderr: new PassThrough() };
}

describe('OutputCollector', () => {
  it('collects both streams under one limit and reports passing it once, holding nothing after', () => {
    let overflows = 0;
    const remote = streams();
    const budget = new OutputBudget(10);
    const collector = new OutputCollector(remote, budget, () => (overflows += 1));
    remote.stdout.write('12345');
    remote.stderr.write('678');
    expect(budget.used).toBe(8);
    expect(collector.overflowed).toBe(false);
    remote.stdout.write('abc');
    remote.stderr.write('d');
    expect(collector.overflowed).toBe(true);
    expect(overflows).toBe(1);
    expect(budget.used).toBe(0);
    expect(collector.take()).toEqual({ stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) });
  });

  it('take() hands the output over with its bytes still taken; drop() gives them back', () => {
    const budget = new OutputBudget(100);
    const first = streams();
    const kept = new OutputCollector(first, budget, () => undefined);
    first.stdout.write('out');
    first.stderr.write('err');
    expect(kept.take()).toEqual({ stdout: Buffer.from('out'), stderr: Buffer.from('err') });
    expect(budget.used).toBe(6);
    // Nothing more is gathered once taken.
    first.stdout.write('late');
    expect(budget.used).toBe(6);
    budget.give(6);

    const second = streams();
    const dropped = new OutputCollector(second, budget, () => undefined);
    second.stdout.write('x'.repeat(40));
    expect(budget.used).toBe(40);
    dropped.drop();
    expect(budget.used).toBe(0);
  });

  it('shares one budget between collectors: the one that would pass it is the one told', () => {
    const budget = new OutputBudget(10);
    const [a, b] = [streams(), streams()];
    const told: string[] = [];
    new OutputCollector(a, budget, () => told.push('a'));
    const second = new OutputCollector(b, budget, () => told.push('b'));
    a.stdout.write('123456');
    b.stdout.write('12345');
    expect(told).toEqual(['b']);
    expect(second.overflowed).toBe(true);
    expect(budget.used).toBe(6);
  });

  it('a number is a budget of its own', () => {
    const remote = streams();
    let overflowed = false;
    new OutputCollector(remote, 3, () => (overflowed = true));
    remote.stdout.write('1234');
    expect(overflowed).toBe(true);
  });
});
