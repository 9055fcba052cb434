// Test helper: the Prometheus text exposition (and OpenMetrics) read back, the way a scraper reads
// it. Two views:
//   parseExposition(text)                    numeric samples, TYPE and HELP by name; lenient, so it
//                                            also reads other exporters (node_exporter): the reader
//                                            of `kepler-ts top` (src/top/exposition.ts), failing on
//                                            a line it cannot read;
//   parseCheckedExposition(text, openMetrics) the samples as written, grouped in families, and
//                                            strict enough that what it accepts Prometheus accepts:
//                                            families contiguous and declared once, HELP before
//                                            TYPE, valid names, escapes and values.

import assert from 'node:assert/strict';
import { parseExposition as readExposition, type Sample } from '../../src/top/exposition.js';

export type { Sample };

export interface Exposition {
  samples: Sample[];
  types: Map<string, string>;
  /** HELP text as written (escapes kept). */
  help: Map<string, string>;
}

/** A sample with its value as the exporter wrote it, and the family it belongs to. */
export interface TextSample {
  name: string;
  labels: Record<string, string>;
  value: string;
  family: string;
}

export interface Family {
  name: string;
  type: string;
  /** HELP text, unescaped. */
  help: string;
  samples: TextSample[];
}

export interface CheckedExposition {
  families: Map<string, Family>;
  samples: TextSample[];
}

// ---------- the strict reader: one line at a time ----------

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const VALUE = /^(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]Inf|NaN)$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped', 'unknown', 'info', 'stateset']);

type Line =
  | { kind: 'blank' }
  | { kind: 'eof' }
  | { kind: 'help'; name: string; text: string }
  | { kind: 'type'; name: string; type: string }
  | { kind: 'sample'; name: string; labels: Record<string, string>; value: string };

function unescapeHelp(s: string): string {
  return s.replace(/\\(.)/g, (_, c: string) => {
    if (c === 'n') return '\n';
    if (c === '\\' || c === '"') return c;
    throw new Error(`bad escape \\${c} in HELP`);
  });
}

/**
 * Parses `{a="x",b="y"}` starting at `line[i] === '{'`; returns the labels and the index after `}`.
 * Only the escapes \\ \" \n, and no label twice.
 */
function parseLabels(line: string, i: number): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  i++;
  while (line[i] !== '}') {
    const m = LABEL_NAME.exec(line.slice(i));
    if (!m) throw new Error(`bad label name at ${i}: ${line}`);
    const key = m[0];
    i += key.length;
    if (line[i] !== '=' || line[i + 1] !== '"') throw new Error(`expected =" at ${i}: ${line}`);
    i += 2;
    let v = '';
    for (;;) {
      const c = line[i];
      if (c === undefined) throw new Error(`unterminated label value: ${line}`);
      if (c === '"') break;
      if (c === '\\') {
        const e = line[i + 1];
        if (e === 'n') v += '\n';
        else if (e === '\\' || e === '"') v += e;
        else throw new Error(`bad escape \\${e} in label value: ${line}`);
        i += 2;
      } else {
        v += c;
        i++;
      }
    }
    i++;
    if (key in labels) throw new Error(`label ${key} twice: ${line}`);
    labels[key] = v;
    if (line[i] === ',') i++;
    else if (line[i] !== '}') throw new Error(`expected , or } at ${i}: ${line}`);
  }
  return { labels, end: i + 1 };
}

/** One line of an exposition: a sample is `name{labels} value` with exactly one space and a valid value. */
function readLine(line: string): Line {
  if (line === '') return { kind: 'blank' };
  if (line === '# EOF') return { kind: 'eof' };
  if (line.startsWith('# HELP ')) {
    const rest = line.slice(7);
    const sp = rest.indexOf(' ');
    if (sp > 0) return { kind: 'help', name: rest.slice(0, sp), text: rest.slice(sp + 1) };
    assert.fail(`HELP without text: ${line}`);
  }
  const type = /^# TYPE (\S+) (\S+)$/.exec(line);
  if (type) {
    assert.ok(TYPES.has(type[2]), `unknown type in ${line}`);
    return { kind: 'type', name: type[1], type: type[2] };
  }
  if (line.startsWith('#')) assert.fail(`unexpected comment line: ${line}`);
  const m = NAME.exec(line);
  assert.ok(m, `bad sample line: ${JSON.stringify(line)}`);
  const name = m[0];
  let i = name.length;
  let labels: Record<string, string> = {};
  if (line[i] === '{') ({ labels, end: i } = parseLabels(line, i));
  assert.equal(line[i], ' ', `space before value: ${line}`);
  const value = line.slice(i + 1);
  assert.match(value, VALUE, `value of ${line}`);
  return { kind: 'sample', name, labels, value };
}

// ---------- the two views ----------

/** Reads an exposition leniently (any exporter's): samples with numeric values, TYPE and HELP by name. Fails on a line it cannot read. */
export function parseExposition(text: string): Exposition {
  const { samples, types, help, malformed } = readExposition(text);
  const bad = malformed[0];
  if (bad) assert.fail(`bad sample line ${bad.line} (${bad.reason}): ${JSON.stringify(bad.text)}`);
  return { samples, types, help };
}

function sampleSuffixes(type: string, openMetrics: boolean): string[] {
  if (type === 'histogram') return ['_bucket', '_sum', '_count'];
  if (type === 'counter' && openMetrics) return ['_total'];
  return [''];
}

/**
 * Reads kepler-ts's exposition strictly enough that what it accepts Prometheus accepts: families
 * contiguous and declared once, HELP right before TYPE, every sample in its family (with the
 * format's suffixes), `# EOF` last in OpenMetrics and nowhere else. Fails on the first problem.
 */
export function parseCheckedExposition(text: string, openMetrics: boolean): CheckedExposition {
  const families = new Map<string, Family>();
  const samples: TextSample[] = [];
  let current: Family | undefined;
  let pendingHelp: { name: string; help: string } | undefined;
  assert.ok(text.endsWith('\n'), 'exposition ends with a newline');
  const lines = text.slice(0, -1).split('\n');
  lines.forEach((raw, n) => {
    const line = readLine(raw);
    switch (line.kind) {
      case 'eof':
        assert.ok(openMetrics, '# EOF only in OpenMetrics');
        assert.equal(n, lines.length - 1, '# EOF is the last line');
        return;
      case 'help':
        pendingHelp = { name: line.name, help: unescapeHelp(line.text) };
        return;
      case 'type': {
        assert.ok(!families.has(line.name), `family ${line.name} declared twice`);
        assert.equal(pendingHelp?.name, line.name, `HELP before TYPE for ${line.name}`);
        current = { name: line.name, type: line.type, help: pendingHelp.help, samples: [] };
        families.set(line.name, current);
        pendingHelp = undefined;
        return;
      }
      case 'sample': {
        assert.ok(current, `sample before any TYPE: ${raw}`);
        const family = current;
        assert.ok(
          sampleSuffixes(family.type, openMetrics).some((s) => line.name === family.name + s),
          `sample ${line.name} does not belong to family ${family.name} (${family.type})`,
        );
        const s: TextSample = { name: line.name, labels: line.labels, value: line.value, family: family.name };
        family.samples.push(s);
        samples.push(s);
        return;
      }
      default:
        assert.fail(`bad sample line: ${JSON.stringify(raw)}`);
    }
  });
  if (openMetrics) assert.ok(text.endsWith('# EOF\n'), 'OpenMetrics ends with # EOF');
  return { families, samples };
}

// ---------- queries ----------

/** A stable key for a series: its name and labels, optionally leaving some labels out. */
export function seriesKey(s: { name: string; labels: Record<string, string> }, omit: string[] = []): string {
  const keys = Object.keys(s.labels)
    .filter((k) => !omit.includes(k))
    .sort();
  return `${s.name}{${keys.map((k) => `${k}=${JSON.stringify(s.labels[k])}`).join(',')}}`;
}

export function select(e: Exposition, name: string, match: Record<string, string> = {}): Sample[] {
  return e.samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v));
}

export function sum(samples: Sample[]): number {
  return samples.reduce((a, s) => a + s.value, 0);
}
