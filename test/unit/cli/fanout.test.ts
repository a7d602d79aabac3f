// The fan-out's parts on their own: whole prefixed lines from any chunking, long lines
// in bounded pieces, the pool's limit, the summary and the overall status.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LineSplitter } from '../../../src/cli/rexec/fanout/line-splitter.js';
import { runPool } from '../../../src/cli/rexec/fanout/pool.js';
import { overallStatus, summaryLines } from '../../../src/cli/rexec/fanout/summary.js';
import type { HostResult } from '../../../src/cli/rexec/fanout/host-run.js';

describe('LineSplitter', () => {
  it('gives whole prefixed lines whatever the chunking', () => {
    fc.assert(
      fc.property(fc.array(fc.stringMatching(/^[a-z\n]{0,20}$/), { maxLength: 20 }), (pieces) => {
        const splitter = new LineSplitter('h: ');
        const out = [...pieces.map((piece) => splitter.push(Buffer.from(piece))), splitter.end()];
        const text = Buffer.concat(out).toString();
        const input = pieces.join('');
        const expected = input === '' ? '' : `${input.endsWith('\n') ? input : `${input}\n`}`;
        expect(text).toBe(
          expected
            .split('\n')
            .slice(0, -1)
            .map((line) => `h: ${line}\n`)
            .join(''),
        );
        // Each push returns only whole lines.
        for (const chunk of out) expect(chunk.length === 0 || chunk[chunk.length - 1] === 0x0a).toBe(true);
      }),
    );
  });

  it('lets a long line out in bounded pieces, each prefixed, never splitting a character', () => {
    const splitter = new LineSplitter('h: ', 10);
    const first = splitter.push(Buffer.from('aaaaaaaaaéééééé'));
    // 'é' is two bytes: the piece stops before a character that would not fit.
    expect(first.toString()).toBe('h: aaaaaaaaa\nh: ééééé\n');
    expect(splitter.push(Buffer.from('bb\ncc')).toString()).toBe('h: ébb\n');
    expect(splitter.end().toString()).toBe('h: cc\n');
    expect(splitter.end().length).toBe(0);
  });

  it('cuts a long line into pieces of at most the bound, whether it arrives in one chunk or completes a waiting one', () => {
    // The chunk that completes a line used to be printed with what was waiting, unsplit.
    const waiting = new LineSplitter('h: ', 10);
    expect(waiting.push(Buffer.from('aaaaaaaa')).length).toBe(0);
    expect(waiting.push(Buffer.from('bbbbbbbbbbbbbbbbbbbbbbbbb\nc')).toString()).toBe(
      'h: aaaaaaaabb\nh: bbbbbbbbbb\nh: bbbbbbbbbb\nh: bbb\n',
    );
    const whole = new LineSplitter('', 64 * 1024);
    const pieces = whole
      .push(Buffer.from(`${'a'.repeat(300_000)}\n`))
      .toString()
      .split('\n')
      .slice(0, -1);
    expect(pieces.map((piece) => piece.length)).toEqual([65536, 65536, 65536, 65536, 300_000 - 4 * 65536]);
  });

  it('never prints a piece longer than the bound, and loses or adds no byte, whatever the chunking', () => {
    fc.assert(
      fc.property(fc.array(fc.stringMatching(/^[aé✓\n]{0,40}$/), { maxLength: 12 }), (chunks) => {
        const splitter = new LineSplitter('', 10);
        const out = Buffer.concat([...chunks.map((chunk) => splitter.push(Buffer.from(chunk))), splitter.end()]);
        const lines = out.toString().split('\n').slice(0, -1);
        for (const line of lines) expect(Buffer.byteLength(line)).toBeLessThanOrEqual(10);
        // Joined again, the pieces are the input's lines (pieces of a line have no newline of their own).
        expect(lines.join('')).toBe(chunks.join('').replaceAll('\n', ''));
      }),
    );
  });

  it('keeps lines whole without a prefix too', () => {
    const splitter = new LineSplitter('');
    expect(splitter.push(Buffer.from('one\ntw')).toString()).toBe('one\n');
    expect(splitter.push(Buffer.from('o\n')).toString()).toBe('two\n');
  });
});

describe('runPool', () => {
  it('runs at most `limit` at once, all of them, results in order', async () => {
    let running = 0;
    let highest = 0;
    const items = Array.from({ length: 20 }, (_, index) => index);
    const results = await runPool(
      items,
      3,
      async (item) => {
        running++;
        highest = Math.max(highest, running);
        await new Promise((resolve) => setImmediate(resolve));
        running--;
        return item * 2;
      },
      () => false,
      () => -1,
    );
    expect(highest).toBe(3);
    expect(results).toEqual(items.map((item) => item * 2));
  });

  it('starts nothing new once stopped', async () => {
    let started = 0;
    const results = await runPool(
      [1, 2, 3, 4],
      1,
      (item) => {
        started++;
        return Promise.resolve(item);
      },
      () => started >= 2,
      () => 0,
    );
    expect(results).toEqual([1, 2, 0, 0]);
  });
});

describe('summary', () => {
  const exit = (code: number | null, signal: string | null = null) => ({
    code,
    signal,
    timedOut: false,
    truncated: false,
    stdoutBytes: 0,
    stderrBytes: 0,
    durationMs: 1,
  });
  const host = (label: string, fields: Partial<HostResult>): HostResult => ({
    label,
    address: `${label}:7077`,
    status: 0,
    reached: true,
    ...fields,
  });

  it('is 0 only when every host exited 0, else the highest status, 255 with an unreachable host', () => {
    const ok = [host('a', { exit: exit(0) }), host('b', { exit: exit(0) })];
    expect(overallStatus(ok)).toBe(0);
    expect(
      overallStatus([...ok, host('c', { status: 3, exit: exit(3) }), host('d', { status: 1, exit: exit(1) })]),
    ).toBe(3);
    expect(
      overallStatus([...ok, host('c', { status: 3, exit: exit(3) }), host('e', { status: 255, reached: false })]),
    ).toBe(255);
  });

  it('counts ok and failed hosts, and groups the failed ones by what happened', () => {
    const lines = summaryLines([
      host('a', { exit: exit(0) }),
      host('b', { status: 3, exit: exit(3) }),
      host('c', { status: 3, exit: exit(3) }),
      host('d', { status: 143, exit: exit(null, 'SIGTERM') }),
      host('e', { status: 255, reached: false, error: { code: 'CONNECT_FAILED', message: 'refused' } }),
      host('f', { status: 127, error: { code: 'NOT_FOUND', message: 'x' } }),
    ]);
    expect(lines).toEqual([
      'rexec: 6 hosts: 1 ok, 5 failed',
      'rexec:   command not found (127): f',
      'rexec:   exit 3: b c',
      'rexec:   killed by SIGTERM (143): d',
      'rexec:   unreachable (255): e',
    ]);
  });
});
