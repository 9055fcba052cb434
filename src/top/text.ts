// Text as a terminal shows it, for `kepler-ts top`: what may reach the terminal at all (label
// values and server answers are someone else's text), and how many columns it takes. Widths are
// terminal columns, not UTF-16 units: an East Asian wide or fullwidth character (CJK, most emoji)
// takes two, a combining mark or a zero-width character none (Unicode's East Asian Width table,
// from get-east-asian-width; ambiguous characters narrow, as a terminal outside a CJK locale draws
// them). Text is cut by code point, never inside a surrogate pair. Pure.

import { eastAsianWidth } from 'get-east-asian-width';

/** C0 and C1 controls and DEL: shown as "?", so that an escape sequence cannot reach the terminal. */
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\u0000-\u001f\u007f-\u009f]/g;
/**
 * Dropped: line and paragraph separators (U+2028, U+2029), bidi embeddings, overrides and
 * isolates (U+202A-U+202E, U+2066-U+2069: they reorder what follows on the line) and zero-width
 * characters (U+200B-U+200F, U+FEFF).
 */
const INVISIBLE = /[\u2028\u2029\u202a-\u202e\u2066-\u2069\u200b-\u200f\ufeff]/g;

/** Text from outside (label values, an HTTP reason phrase, an error page) made safe to print on a terminal. */
export function printable(s: string): string {
  return s.replace(CONTROLS, '?').replace(INVISIBLE, '');
}

const COMBINING = /^\p{M}$/u;

/** The columns a code point takes on a terminal: 0 (combining marks, zero-width), 1 or 2. */
export function codePointWidth(cp: number): number {
  if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) return 0;
  if (cp < 0x300) return 1; // Latin-1 and the rest below the combining diacritics: the common case, fast
  if ((cp >= 0x200b && cp <= 0x200f) || (cp >= 0x2060 && cp <= 0x2064) || cp === 0xfeff) return 0;
  if (cp >= 0x1160 && cp <= 0x11ff) return 0; // Hangul jungseong and jongseong: they join the syllable before them
  if (COMBINING.test(String.fromCodePoint(cp))) return 0;
  return eastAsianWidth(cp);
}

/** The columns `s` takes on a terminal. */
export function textWidth(s: string): number {
  let w = 0;
  for (const c of s) w += codePointWidth(c.codePointAt(0) ?? 0);
  return w;
}

/** The longest start of `s` that takes at most `width` columns (marks that follow a kept character are kept with it). */
function take(s: string, width: number): string {
  let w = 0;
  let end = 0;
  for (const c of s) {
    const cw = codePointWidth(c.codePointAt(0) ?? 0);
    if (w + cw > width) break;
    w += cw;
    end += c.length;
  }
  return s.slice(0, end);
}

/** `s` cut to `width` columns, the cut marked with `ellipsis`. */
export function fit(s: string, width: number, ellipsis: string): string {
  if (textWidth(s) <= width) return s;
  const mark = textWidth(ellipsis);
  if (width <= mark) return take(s, width);
  return take(s, width - mark) + ellipsis;
}

/** `s` and spaces after it, to `width` columns. */
export function padEnd(s: string, width: number): string {
  return s + ' '.repeat(Math.max(0, width - textWidth(s)));
}

/** Spaces and `s` after them, to `width` columns. */
export function padStart(s: string, width: number): string {
  return ' '.repeat(Math.max(0, width - textWidth(s))) + s;
}

/** `s` split at `width` columns: the start that fits, and the rest. */
export function splitAt(s: string, width: number): [string, string] {
  const head = take(s, width);
  return [head, s.slice(head.length)];
}
