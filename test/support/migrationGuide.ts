// Test helper: the README's "Migrating from Kepler" section, read as the tests that check each of
// its rows need it. The README is the source: a row added there without a check fails a test.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The repository's root: the tests run from it (npm test, .ci/run). */
const README = join(process.cwd(), 'README.md');
const SECTION = '## Migrating from Kepler';

/** The rows of the table under `### <subsection>`, header and separator left out, cells trimmed. */
export function migrationTable(subsection: string): string[][] {
  const text = readFileSync(README, 'utf8');
  const start = text.indexOf(`\n${SECTION}\n`);
  if (start < 0) throw new Error(`README.md has no "${SECTION}" section`);
  const end = text.indexOf('\n## ', start + SECTION.length + 1);
  const section = text.slice(start, end < 0 ? undefined : end);
  const sub = section.indexOf(`\n### ${subsection}\n`);
  if (sub < 0) throw new Error(`README.md's "${SECTION}" has no "### ${subsection}"`);
  const next = section.indexOf('\n### ', sub + 5);
  const lines = section
    .slice(sub, next < 0 ? undefined : next)
    .split('\n')
    .filter((l) => l.startsWith('|'));
  if (lines.length < 3) throw new Error(`"### ${subsection}" in README.md has no table rows`);
  return lines.slice(2).map(cells);
}

/** A table line's cells; `\|` inside a cell is a literal bar. */
function cells(line: string): string[] {
  return line
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split(/(?<!\\)\|/)
    .map((c) => c.trim().replace(/\\\|/g, '|'));
}

/** The code spans of a cell, in order: "`a`, `b` (0.7)" gives ["a", "b"]. */
export function codeSpans(cell: string): string[] {
  return [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]);
}

/** Expands `{a,b}` groups: "x_{a,b}_{c,d}" gives x_a_c, x_a_d, x_b_c, x_b_d. */
export function expandBraces(s: string): string[] {
  const m = /\{([^{}]*)\}/.exec(s);
  if (!m) return [s];
  return m[1].split(',').flatMap((alt) => expandBraces(s.slice(0, m.index) + alt + s.slice(m.index + m[0].length)));
}
