// The Prometheus text format (0.0.4) and OpenMetrics, read leniently into numeric samples: what
// `kepler-ts top` needs from any exporter that may answer, Kepler's, ours, or something else the
// URL points at by mistake. A line that cannot be read is set aside with its reason instead of
// failing the whole page, so that the caller can tell "not an exposition at all" (an HTML page)
// from "one odd line". Timestamps and OpenMetrics exemplars after the value are ignored; so is
// anything after OpenMetrics' `# EOF`. A label may be named `__proto__`: labels are set as own
// properties, never through the prototype's setter. (Plain objects rather than prototype-less
// ones: the tests' exposition reader is this one, and compares label sets with plain literals.)
// Pure.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface MalformedLine {
  /** 1-based. */
  line: number;
  text: string;
  reason: string;
}

export interface Exposition {
  samples: Sample[];
  /** TYPE by family name. */
  types: Map<string, string>;
  /** HELP text as written (escapes kept). */
  help: Map<string, string>;
  /** Lines that are neither blank, a comment, nor a readable sample. */
  malformed: MalformedLine[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;

/** `{a="x",b="y"}` from `line[start] === '{'`: the labels and the index after `}`; a reason when it is not one. */
function readLabels(line: string, start: number): { labels: Record<string, string>; end: number } | string {
  const labels: Record<string, string> = {};
  let i = start + 1;
  const skipSpaces = () => {
    while (line[i] === ' ' || line[i] === '\t') i++;
  };
  for (;;) {
    skipSpaces();
    if (line[i] === '}') return { labels, end: i + 1 };
    const m = LABEL_NAME.exec(line.slice(i));
    if (!m) return `bad label name at column ${i + 1}`;
    i += m[0].length;
    skipSpaces();
    if (line[i] !== '=') return `expected = after label ${m[0]}`;
    i++;
    skipSpaces();
    if (line[i] !== '"') return `expected " after ${m[0]}=`;
    i++;
    let value = '';
    for (;;) {
      const c = line[i];
      if (c === undefined) return `unterminated value of label ${m[0]}`;
      if (c === '"') break;
      if (c === '\\' && line[i + 1] !== undefined) {
        // \n is a newline; any other escaped character stands for itself (\\ and \" by the format).
        value += line[i + 1] === 'n' ? '\n' : line[i + 1];
        i += 2;
      } else {
        value += c;
        i++;
      }
    }
    i++;
    Object.defineProperty(labels, m[0], { value, enumerable: true, writable: true, configurable: true });
    skipSpaces();
    if (line[i] === ',') i++;
    else if (line[i] !== '}') return `expected , or } after label ${m[0]}`;
  }
}

/** A sample value as Go's ParseFloat reads one: decimal, exponent, Inf and Infinity with or without a sign, NaN, in any case. undefined when it is not a number. */
function readValue(word: string): number | undefined {
  const special = /^([+-]?)inf(?:inity)?$/i.exec(word);
  if (special) return special[1] === '-' ? -Infinity : Infinity;
  if (/^nan$/i.test(word)) return NaN;
  if (!/^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(word)) return undefined;
  return Number(word);
}

/** Reads an exposition in either format. Never throws: lines it cannot read are listed in `malformed`. */
export function parseExposition(text: string): Exposition {
  const out: Exposition = { samples: [], types: new Map(), help: new Map(), malformed: [] };
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n].replace(/^[ \t]+/, '').replace(/\r$/, '');
    if (line.trim() === '') continue;
    const bad = (reason: string) => out.malformed.push({ line: n + 1, text: line, reason });
    if (/^#\s*EOF\s*$/.test(line)) break; // OpenMetrics: the end of the exposition
    if (line.startsWith('#')) {
      const help = /^#\s*HELP\s+(\S+)(?:\s(.*))?$/.exec(line);
      const type = /^#\s*TYPE\s+(\S+)\s+(\S+)\s*$/.exec(line);
      if (help) out.help.set(help[1], help[2] ?? '');
      else if (type) out.types.set(type[1], type[2]);
      continue; // # UNIT and any other comment
    }
    const name = NAME.exec(line);
    if (!name) {
      bad('not a metric name');
      continue;
    }
    let labels: Record<string, string> = {};
    let i = name[0].length;
    if (line[i] === '{') {
      const read = readLabels(line, i);
      if (typeof read === 'string') {
        bad(read);
        continue;
      }
      ({ labels, end: i } = read);
    }
    if (line[i] !== ' ' && line[i] !== '\t') {
      bad('expected a space before the value');
      continue;
    }
    const word = line.slice(i).trim().split(/\s+/)[0];
    const value = readValue(word);
    if (value === undefined) bad(`value ${JSON.stringify(word)} is not a number`);
    else out.samples.push({ name: name[0], labels, value });
  }
  return out;
}

const SUFFIXES = ['_total', '_created', '_bucket', '_sum', '_count', '_info', '_gsum', '_gcount'];

/**
 * The metric families of an exposition: each TYPE, and each sample name that no TYPE covers
 * (an OpenMetrics counter `x` has samples `x_total`; a histogram `h` has `h_bucket`, `h_sum`...).
 */
export function familyNames(e: Exposition): Set<string> {
  const out = new Set(e.types.keys());
  for (const s of e.samples) {
    if (out.has(s.name)) continue;
    const suffix = SUFFIXES.find((x) => s.name.endsWith(x) && e.types.has(s.name.slice(0, -x.length)));
    if (suffix === undefined) out.add(s.name);
  }
  return out;
}
