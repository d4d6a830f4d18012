/**
 * A generated section inside a hand-written doc: `doc` with everything from `start` through `end`
 * (both markers included) replaced by `section`, which carries the markers itself.
 */
export function replaceSection(
  doc: string,
  start: string,
  end: string,
  section: string,
  name: string,
): string {
  const from = doc.indexOf(start);
  const to = doc.indexOf(end);
  if (from < 0 || to < from) throw new Error(`${name} has no ${start} … ${end} markers`);
  return doc.slice(0, from) + section + doc.slice(to + end.length);
}
