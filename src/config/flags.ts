// Kepler's kingpin-style command line, parsed with node:util parseArgs. One table (FLAGS) drives
// parsing, validation (through the YAML schema, at the flag's YAML key) and the help text. The
// flags of configuration keys are declared next to their keys in schema.ts; only the three flags
// that are not configuration values are listed here.

import { parseArgs } from 'node:util';
import { ConfigError } from './config.js';
import { defaultConfig } from './defaults.js';
import { formatDuration } from './duration.js';
import { hideUrlCredentials } from './hideCredentials.js';
import { checkValues, configPath, KEY_DECLARATIONS, type ValueFlagType } from './schema.js';

/** `switch`: a plain boolean without value (--help); `bool`: true/false, also as --no-<flag>. */
export type FlagType = ValueFlagType | 'switch';

export interface FlagDef {
  name: string;
  type: FlagType;
  /** Dotted YAML key the flag sets; absent for flags that are not configuration values. */
  key?: string;
  repeatable?: boolean;
  short?: string;
  help: string;
  /** Shown in the help instead of the default taken from defaultConfig(). */
  defaultText?: string;
}

export const FLAGS: readonly FlagDef[] = [
  { name: 'help', short: 'h', type: 'switch', help: 'Show this help and exit' },
  { name: 'version', type: 'switch', help: 'Print the version and exit' },
  { name: 'config.file', type: 'string', help: 'Path to the YAML configuration file', defaultText: 'none' },
  ...KEY_DECLARATIONS.flatMap(({ yamlKey, flag }): FlagDef[] =>
    flag
      ? [
          {
            name: flag.name,
            type: flag.type,
            key: yamlKey,
            help: flag.help,
            ...(flag.repeatable ? { repeatable: true } : {}),
            ...(flag.defaultText !== undefined ? { defaultText: flag.defaultText } : {}),
          },
        ]
      : [],
  ),
];

const BY_NAME = new Map(FLAGS.map((f) => [f.name, f]));
// strconv.ParseBool's words, as kingpin accepts them.
const BOOL_WORDS: Record<string, boolean> = { true: true, t: true, '1': true, false: false, f: false, '0': false };

export interface ParsedFlags {
  help: boolean;
  version: boolean;
  configFile?: string;
  /** Validated values of the flags given, YAML-shaped (durations in ms), for merging over the file. */
  values: Record<string, unknown>;
}

/** Parses and validates the command line. Throws ConfigError with a one-line message. */
export function parseFlags(argv: string[]): ParsedFlags {
  const options = Object.fromEntries(
    FLAGS.map((f) => {
      const type = f.type === 'switch' ? ('boolean' as const) : ('string' as const);
      return [f.name, { type, multiple: !!f.repeatable, ...(f.short ? { short: f.short } : {}) }];
    }),
  );
  let parsed: Record<string, unknown>;
  try {
    parsed = parseArgs({ args: normalizeArgs(argv), options, strict: true, allowPositionals: false }).values;
  } catch (e) {
    throw parseArgsError(e as Error & { code?: string });
  }
  const raw: Record<string, unknown> = {};
  for (const f of FLAGS) {
    const v = parsed[f.name];
    if (f.key === undefined || v === undefined) continue;
    if (f.type === 'mapping') setAt(raw, f.key, mappingOf(f, v as string[]));
    else setAt(raw, f.key, Array.isArray(v) ? (v as string[]).map((x) => convert(f, x)) : convert(f, v as string));
  }
  const { data, problems } = checkValues(raw);
  if (problems.length > 0) {
    const p = problems[0];
    const flag = FLAGS.find((f) => f.key === p.key) ?? FLAGS.find((f) => f.type === 'mapping' && f.key !== undefined && p.key.startsWith(`${f.key}.`));
    // A mapping flag's entry is shown as it was given: NAME=VALUE.
    const given = flag?.type === 'mapping' && flag.key !== undefined ? `${p.key.slice(flag.key.length + 1)}=${String(p.value)}` : String(p.value);
    throw new ConfigError(`flag --${flag?.name ?? p.key}: invalid value ${hideUrlCredentials(JSON.stringify(given))}: ${p.expected}`);
  }
  const configFile = parsed['config.file'] as string | undefined;
  return { help: !!parsed.help, version: !!parsed.version, ...(configFile ? { configFile } : {}), values: data };
}

/**
 * Rewrites kingpin forms that parseArgs lacks: --x and --no-x become --x=true and --x=false for
 * boolean flags, and "--x -1" becomes "--x=-1" for number flags (parseArgs takes "-1" for a flag).
 */
function normalizeArgs(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') return [...out, ...argv.slice(i)];
    const m = /^--(no-)?([^=]+)$/.exec(arg);
    const f = m ? BY_NAME.get(m[2]) : undefined;
    if (f?.type === 'bool') out.push(`--${f.name}=${m?.[1] ? 'false' : 'true'}`);
    else if (f?.type === 'number' && !m?.[1] && /^-[\d.]/.test(argv[i + 1] ?? '')) out.push(`${arg}=${argv[++i]}`);
    else out.push(arg);
  }
  return out;
}

/** Turns a flag's text into the YAML value type; text that does not convert is kept for the error. */
function convert(f: FlagDef, text: string): unknown {
  if (f.type === 'bool') return BOOL_WORDS[text.toLowerCase()] ?? text;
  if (f.type === 'number' || f.type === 'mapping') return text.trim() !== '' && Number.isFinite(Number(text)) ? Number(text) : text;
  return text;
}

/** The NAME=NUMBER entries of a mapping flag as one mapping; a later entry for a name replaces an earlier one. */
function mappingOf(f: FlagDef, entries: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    const name = eq > 0 ? entry.slice(0, eq).trim() : '';
    if (name === '') throw new ConfigError(`flag --${f.name}: invalid value ${JSON.stringify(entry)}: expected NAME=NUMBER, e.g. --${f.name}=package=35`);
    out[name] = convert(f, entry.slice(eq + 1));
  }
  return out;
}

function parseArgsError(e: Error & { code?: string }): Error {
  const cause = { cause: e };
  const quoted = /'([^']*)'/.exec(e.message)?.[1] ?? '';
  const flag = quoted.replace(/ <value>$/, '').replace(/^-\w, /, '');
  switch (e.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return new ConfigError(`flag ${flag}: unknown flag (see --help)`, cause);
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return new ConfigError(`unexpected argument ${JSON.stringify(quoted)}: this command takes only flags (see --help)`, cause);
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return e.message.includes('does not take an argument')
        ? new ConfigError(`flag ${flag}: takes no value`, cause)
        : new ConfigError(`flag ${flag}: missing value (write ${flag}=VALUE for a value starting with "-")`, cause);
    default:
      return e; // not a command-line problem: a bug here
  }
}

/** The --help text: every flag with a one-line description and its default. */
export function helpText(): string {
  const defaults = defaultConfig();
  const rows = FLAGS.map((f) => {
    const placeholder = { string: '=VALUE', number: '=NUMBER', duration: '=DURATION', mapping: '=NAME=NUMBER', bool: '', switch: '' }[f.type];
    const value = f.repeatable ? `${placeholder}...` : placeholder;
    const left = `${f.short ? `-${f.short}, ` : '    '}--${f.name}${value}`;
    const dflt = f.defaultText ?? (f.key === undefined ? undefined : formatDefault(f, valueAt(defaults, configPath(f.key))));
    return [left, dflt === undefined ? f.help : `${f.help} (default: ${dflt})`];
  });
  const width = Math.max(...rows.map(([left]) => left.length)) + 2;
  return [
    'usage: kepler-ts [<flags>]',
    '',
    'Power exporter for Prometheus, a drop-in replacement for Kepler.',
    'Flags override the configuration file. Boolean flags also take --no-<flag> and --<flag>=false.',
    '',
    'Flags:',
    ...rows.map(([left, right]) => `  ${left.padEnd(width)}${right}`),
    '',
  ].join('\n');
}

function formatDefault(f: FlagDef, v: unknown): string {
  if (f.type === 'duration') return formatDuration(v as number);
  if (Array.isArray(v)) return v.length ? v.join(', ') : 'none';
  if (f.type === 'mapping') {
    const entries = Object.entries(v as Record<string, unknown>);
    return entries.length ? entries.map(([k, x]) => `${k}=${String(x)}`).join(', ') : 'none';
  }
  return v === '' ? 'none' : String(v);
}

function valueAt(obj: unknown, dotted: string): unknown {
  return dotted.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)?.[k], obj);
}

function setAt(obj: Record<string, unknown>, dotted: string, value: unknown): void {
  const keys = dotted.split('.');
  const last = keys.pop() as string;
  let o = obj;
  for (const k of keys) o = (o[k] ??= {}) as Record<string, unknown>;
  o[last] = value;
}
