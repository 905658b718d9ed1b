/** Markdown pieces of results.md. */

/** A whole number with thousands separators. */
export const int = (n: number) => Math.round(n).toLocaleString('en');

/** A table: the first column and "build" and "notes" left-aligned, numbers right-aligned. */
export function table(head: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  const align = head.map((name, i) => (i === 0 || name === 'build' || name === 'notes' ? '---' : '--:'));
  return [line(head), line(align), ...rows.map(line), ''];
}
