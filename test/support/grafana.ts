// Reads the Grafana dashboards of dashboards/ and turns their PromQL into queries Prometheus can
// run: every panel target, the query variables, and Grafana's variable interpolation for the
// Prometheus datasource. Pure functions; only loadDashboards touches the file system.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Dashboard {
  uid: string;
  title: string;
  panels: unknown[];
  templating?: { list: unknown[] };
  [k: string]: unknown;
}

/** Every *.json file of dir, parsed, sorted by file name. */
export function loadDashboards(dir: string): { file: string; dashboard: Dashboard }[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => {
      const text = readFileSync(join(dir, file), 'utf8');
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (e) {
        throw new Error(`${file}: not JSON: ${(e as Error).message}`);
      }
      if (!isObject(parsed) || !Array.isArray(parsed.panels)) throw new Error(`${file}: not a Grafana dashboard (no panels array)`);
      return { file, dashboard: parsed as Dashboard };
    });
}

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every panel of the dashboard, depth first: rows, then the panels nested in collapsed rows. */
export function allPanels(d: Dashboard): Obj[] {
  const out: Obj[] = [];
  const walk = (panels: unknown): void => {
    if (!Array.isArray(panels)) return;
    for (const p of panels) {
      if (!isObject(p)) continue;
      out.push(p);
      walk(p.panels);
    }
  };
  walk(d.panels);
  return out;
}

export interface PanelQuery {
  /** The panel's title. */
  panel: string;
  refId: string;
  expr: string;
  /** True for an instant query; false for a range query (Grafana's "Both" counts as range). */
  instant: boolean;
}

/** Every target with an expr, of every panel (nested ones included), hidden targets left out. */
export function panelQueries(d: Dashboard): PanelQuery[] {
  const out: PanelQuery[] = [];
  for (const p of allPanels(d)) {
    if (!Array.isArray(p.targets)) continue;
    p.targets.forEach((t: unknown, i: number) => {
      if (!isObject(t) || t.hide === true) return;
      if (typeof t.expr !== 'string' || t.expr.trim() === '') return;
      out.push({
        panel: typeof p.title === 'string' ? p.title : '',
        refId: typeof t.refId === 'string' && t.refId !== '' ? t.refId : String.fromCharCode(65 + i),
        expr: t.expr,
        instant: t.instant === true && t.range !== true,
      });
    });
  }
  return out;
}

export interface QueryVariable {
  name: string;
  query: string;
  includeAll: boolean;
  allValue?: string;
  multi: boolean;
  /** The saved current value; '$__all' for All, the first value of a saved multi-value selection. */
  current?: string;
}

function templatingList(d: Dashboard): Obj[] {
  const list = d.templating?.list;
  return Array.isArray(list) ? list.filter(isObject) : [];
}

/** Names of every templating variable of the dashboard, whatever its type. */
export function variableNames(d: Dashboard): string[] {
  return templatingList(d)
    .map((v) => v.name)
    .filter((n): n is string => typeof n === 'string');
}

/** The templating variables of type "query", in order. */
export function queryVariables(d: Dashboard): QueryVariable[] {
  return templatingList(d)
    .filter((v) => v.type === 'query' && typeof v.name === 'string')
    .map((v) => {
      const q = v.query;
      const query = typeof q === 'string' ? q : isObject(q) && typeof q.query === 'string' ? q.query : typeof v.definition === 'string' ? v.definition : '';
      const out: QueryVariable = { name: v.name as string, query, includeAll: v.includeAll === true, multi: v.multi === true };
      if (typeof v.allValue === 'string' && v.allValue !== '') out.allValue = v.allValue;
      const current = currentValue(v.current);
      if (current !== undefined) out.current = current;
      return out;
    });
}

function currentValue(c: unknown): string | undefined {
  if (!isObject(c)) return undefined;
  const v = c.value;
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && v.length > 0 && typeof v[0] === 'string') return v.includes('$__all') ? '$__all' : v[0];
  return undefined;
}

export type VariableSource = { kind: 'label_values'; label: string; match?: string } | { kind: 'query_result'; expr: string; regex?: string };

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * Parses a Prometheus variable query: label_values(label), label_values(selector, label) or
 * query_result(expr). The regex (the variable's regex field) is kept for query_result, whose
 * values are taken from the result lines with it. Anything else throws.
 */
export function parseVariableQuery(q: string, regex?: string): VariableSource {
  const unsupported = (why: string) =>
    new Error(`unsupported variable query ${JSON.stringify(q)}: ${why} (expected label_values(label), label_values(selector, label) or query_result(expr))`);
  const m = /^\s*(label_values|query_result)\s*\(([\s\S]*)\)\s*$/.exec(q);
  if (!m) throw unsupported('unknown function');
  const args = m[2].trim();
  if (m[1] === 'query_result') {
    if (args === '') throw unsupported('empty expression');
    return regex ? { kind: 'query_result', expr: args, regex } : { kind: 'query_result', expr: args };
  }
  const comma = lastTopLevelComma(args);
  if (comma < 0) {
    if (!LABEL_NAME.test(args)) throw unsupported(`bad label name ${JSON.stringify(args)}`);
    return { kind: 'label_values', label: args };
  }
  const match = args.slice(0, comma).trim();
  const label = args.slice(comma + 1).trim();
  if (match === '') throw unsupported('empty selector');
  if (!LABEL_NAME.test(label)) throw unsupported(`bad label name ${JSON.stringify(label)}`);
  return { kind: 'label_values', label, match };
}

/** Index of the last comma outside braces, parentheses, brackets and quoted strings, or -1. */
function lastTopLevelComma(s: string): number {
  let depth = 0;
  let last = -1;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '"' || c === "'" || c === '`') {
      i = stringEnd(s, i);
    } else if (c === '{' || c === '(' || c === '[') {
      depth++;
    } else if (c === '}' || c === ')' || c === ']') {
      depth--;
    } else if (c === ',' && depth === 0) {
      last = i;
    }
  }
  return last;
}

/** Index of the quote closing the string opened at `start` (or the last index when unterminated). */
function stringEnd(s: string, start: number): number {
  const quote = s[start];
  for (let i = start + 1; i < s.length; i++) {
    if (s[i] === '\\' && quote !== '`') i++;
    else if (s[i] === quote) return i;
  }
  return s.length - 1;
}

export interface Builtins {
  /** $__rate_interval, e.g. "4s". */
  rateInterval: string;
  /** $__interval, e.g. "1s". */
  interval: string;
  /** The dashboard time range in seconds: $__range is `${rangeSeconds}s`, $__range_s the number. */
  rangeSeconds: number;
}

/** The built-in variables interpolate knows, by name. */
export function builtinValues(b: Builtins): Record<string, string> {
  const rangeS = Math.round(b.rangeSeconds);
  const out: Record<string, string> = {
    __rate_interval: b.rateInterval,
    __interval: b.interval,
    __range: `${rangeS}s`,
    __range_s: String(rangeS),
    __range_ms: String(Math.round(b.rangeSeconds * 1000)),
  };
  const intervalMs = parseDurationMs(b.interval);
  if (intervalMs !== undefined) out.__interval_ms = String(intervalMs);
  const rateMs = parseDurationMs(b.rateInterval);
  if (rateMs !== undefined) out.__rate_interval_ms = String(rateMs);
  return out;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000, y: 31_536_000_000 };

/** A Prometheus duration ("1m30s", "500ms") in milliseconds, or undefined when it is not one. */
export function parseDurationMs(d: string): number | undefined {
  if (!/^(\d+(ms|s|m|h|d|w|y))+$/.test(d)) return undefined;
  let ms = 0;
  for (const m of d.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)) ms += Number(m[1]) * UNIT_MS[m[2]];
  return ms;
}

/** What interpolate needs to know about a variable besides its value: its All value. */
export type VariableInfo = Pick<QueryVariable, 'name' | 'allValue'>;

// $var | [[var]] | [[var:format]] | ${var} | ${var:format}
const REFERENCE = /\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?::([^}]*))?\}/g;
const REGEX_META = /[\\^$.|?*+()[\]{}]/g;

interface StringSpan {
  start: number;
  end: number;
  quote: string;
  /** The string is the operand of =~ or !~. */
  regex: boolean;
}

/** The quoted strings of a PromQL text, and whether each is a regex matcher's operand. */
function stringSpans(text: string): StringSpan[] {
  const spans: StringSpan[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '#') {
      // A comment runs to the end of the line; quotes inside it open nothing.
      const nl = text.indexOf('\n', i);
      i = nl < 0 ? text.length : nl;
    } else if (c === '"' || c === "'" || c === '`') {
      const end = stringEnd(text, i);
      const before = text.slice(0, i).trimEnd();
      spans.push({ start: i, end, quote: c, regex: before.endsWith('=~') || before.endsWith('!~') });
      i = end;
    }
  }
  return spans;
}

/**
 * Replaces the dashboard variables of a PromQL text as Grafana's Prometheus datasource does:
 * - `$var`, `${var}`, `[[var]]`, and with a format `${var:raw}`, `${var:regex}` (also `pipe`,
 *   `csv`, `text`); names are matched whole, so `$namespace` never reads `$name` and
 *   `$__range_s` never reads `$__range`; `$1` style references are left alone;
 * - a value list (multi-value or All resolved to its values) becomes `(a|b)`, each value with its
 *   regex metacharacters escaped; a single value inside a `=~`/`!~` matcher is escaped the same way;
 *   escapes are doubled inside quoted PromQL strings, so the text still parses;
 * - the value `$__all` becomes the variable's allValue verbatim (from `variables`);
 * - elsewhere a value is inserted as it is (inside a quoted string, backslashes and the quote are
 *   escaped);
 * - builtins: `$__rate_interval`, `$__interval`, `$__interval_ms`, `$__range` ("40s"), `$__range_s`,
 *   `$__range_ms`.
 * Throws an Error naming any variable that is neither a builtin nor in `values`.
 */
export function interpolate(text: string, values: Record<string, string | string[]>, builtins: Builtins, variables: readonly VariableInfo[] = []): string {
  const builtin = builtinValues(builtins);
  const spans = stringSpans(text);
  const unknown = new Set<string>();
  const result = text.replace(REFERENCE, (whole: string, plain?: string, bracket?: string, bracketFmt?: string, braced?: string, bracedFmt?: string, offset?: number) => {
    const name = (plain ?? bracket ?? braced) as string;
    const format = bracketFmt ?? bracedFmt;
    if (plain !== undefined && /^\d+$/.test(name)) return whole;
    if (Object.hasOwn(builtin, name)) {
      if (format !== undefined && format !== 'raw' && format !== 'text') throw new Error(`builtin $${name} takes no format ${JSON.stringify(format)}`);
      return builtin[name];
    }
    if (!Object.hasOwn(values, name)) {
      unknown.add(name);
      return whole;
    }
    const span = spans.find((s) => (offset as number) > s.start && (offset as number) < s.end);
    return formatValue(name, values[name], format, span, variables);
  });
  if (unknown.size > 0) {
    throw new Error(`unknown variable${unknown.size > 1 ? 's' : ''} ${[...unknown].map((n) => '$' + n).join(', ')} in ${JSON.stringify(text)}`);
  }
  return result;
}

function formatValue(name: string, raw: string | string[], format: string | undefined, span: StringSpan | undefined, variables: readonly VariableInfo[]): string {
  const list = typeof raw === 'string' ? [raw] : raw;
  if (list.includes('$__all')) {
    const allValue = variables.find((v) => v.name === name)?.allValue;
    if (allValue === undefined) throw new Error(`variable $${name} is All but has no allValue; pass its values instead`);
    return allValue;
  }
  // Inside a quoted PromQL string (not a raw `...` one), a backslash is written twice.
  const slash = span && span.quote !== '`' ? '\\\\' : '\\';
  const regexEscape = (v: string) => v.replace(REGEX_META, (c) => slash + c);
  const stringEscape = (v: string) =>
    span && span.quote !== '`'
      ? v
          .replace(/\\/g, '\\\\')
          .split(span.quote)
          .join('\\' + span.quote)
      : v;
  switch (format) {
    case undefined:
      if (list.length !== 1) return `(${list.map(regexEscape).join('|')})`;
      return span?.regex ? regexEscape(list[0]) : stringEscape(list[0]);
    case 'regex':
      return list.length === 1 ? regexEscape(list[0]) : `(${list.map(regexEscape).join('|')})`;
    case 'raw':
    case 'text':
    case 'csv':
      return list.join(',');
    case 'pipe':
      return list.join('|');
    default:
      throw new Error(`variable $${name}: unsupported format ${JSON.stringify(format)}`);
  }
}
