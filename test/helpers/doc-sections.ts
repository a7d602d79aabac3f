// Sections of a Markdown document, for tests that compare code with its docs.

/** The text of the section under `heading` ("## 8. Errors"), up to the next `## ` section. */
export function sectionOf(text: string, heading: string): string {
  const start = text.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`no section "${heading}"`);
  const end = text.indexOf('\n## ', start + heading.length + 1);
  return text.slice(start, end < 0 ? undefined : end);
}
