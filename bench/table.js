// Results as rows, printed as a plain-text table on stdout.
//
// A row: { bench, measure, unit, value: summary, ref?: { label, value: summary },
//          target?: { text, achieved, ok } , note? }

/** Formats a number with about 3 significant digits. */
export function fmt(value) {
  if (value === undefined || value === null || Number.isNaN(value)) return '-';
  if (Number.isInteger(value)) return value.toLocaleString('en-US');
  const abs = Math.abs(value);
  if (abs >= 1000) return Math.round(value).toLocaleString('en-US');
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  return value.toFixed(3);
}

/** "median (min–max)" of a summary. */
export function fmtSummary(s) {
  if (s === undefined) return '';
  if (s.n <= 1 || s.min === s.max) return fmt(s.median);
  return `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})`;
}

const COLUMNS = [
  ['Benchmark', (r) => r.bench],
  ['Measure', (r) => r.measure],
  ['Unit', (r) => r.unit ?? ''],
  ['rexec: median (min–max)', (r) => fmtSummary(r.value)],
  ['Reference', (r) => r.ref?.label ?? ''],
  ['ref: median (min–max)', (r) => (r.ref ? fmtSummary(r.ref.value) : '')],
  ['Target', (r) => r.target?.text ?? ''],
  ['Achieved', (r) => r.target?.achieved ?? ''],
  ['Met', (r) => met(r.target)],
];

function met(target) {
  if (target === undefined) return '';
  if (target.ok === undefined) return 'n/a';
  if (target.stretch) return target.ok ? 'yes (stretch)' : 'no (stretch)';
  return target.ok ? 'yes' : 'NO';
}

/** The table as text (one line per row, columns padded). */
export function renderTable(rows) {
  const cells = [COLUMNS.map(([title]) => title), ...rows.map((row) => COLUMNS.map(([, get]) => String(get(row))))];
  const widths = COLUMNS.map((_, i) => Math.max(...cells.map((line) => line[i].length)));
  const line = (values) =>
    values
      .map((v, i) => v.padEnd(widths[i]))
      .join(' | ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('-|-');
  return [line(cells[0]), rule, ...cells.slice(1).map(line)].join('\n');
}

/** The same rows as a Markdown table (for BENCHMARKS.md). */
export function renderMarkdown(rows) {
  const head = `| ${COLUMNS.map(([title]) => title).join(' | ')} |`;
  const rule = `|${COLUMNS.map(() => '---').join('|')}|`;
  const body = rows.map(
    (row) => `| ${COLUMNS.map(([, get]) => String(get(row)).replaceAll('|', '\\|')).join(' | ')} |`,
  );
  return [head, rule, ...body].join('\n');
}

/** A target comparison: ratio = rexec / reference against a limit. */
export function ratioTarget(text, rexec, reference, { atLeast, atMost }) {
  const ratio = rexec / reference;
  if (!Number.isFinite(ratio)) return { text, achieved: '-', ok: undefined, ratio };
  const ok = atLeast !== undefined ? ratio >= atLeast : ratio <= atMost;
  return { text, achieved: `${ratio.toFixed(2)}×`, ok, ratio };
}
