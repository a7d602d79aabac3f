// What the client prints of a server's words cannot drive our terminal.
import { describe, expect, it } from 'vitest';
import { printable, printableLine } from '../../../src/cli/shared/printable.js';

describe('printable', () => {
  it('escapes terminal controls: ESC, BEL, CR, backspace, C1, DEL, direction and zero-width marks', () => {
    expect(printable('\u001b]0;title\u0007')).toBe('\\u001b]0;title\\u0007');
    expect(printable('a\rb\bc\u007f\u009b\u202e\u200b\u2066\u2028')).toBe(
      'a\\u000db\\u0008c\\u007f\\u009b\\u202e\\u200b\\u2066\\u2028',
    );
  });

  it('keeps tab, newline and every printable character as it is', () => {
    const text = 'tab\there\nline 2: é ü 漢字 ~ \u00a0 \u2030';
    expect(printable(text)).toBe(text);
  });
});

describe('printableLine', () => {
  it('escapes a newline too, so that quoted text stays on its one line', () => {
    expect(printableLine('refused\nrexec: all good\u001b[8m')).toBe('refused\\nrexec: all good\\u001b[8m');
    expect(printableLine('tab\tand é')).toBe('tab\tand é');
  });
});
