// Structured logger with Go slog's two output shapes, so log pipelines built for Kepler parse ours:
//   text: time=2026-11-23T02:48:52.123Z level=INFO msg="meter chosen" meter=rapl zones=3
//   json: {"time":"...","level":"INFO","msg":"meter chosen","meter":"rapl","zones":3}
// Hand-written rather than pino: four levels and two formats are ~80 lines, and pino has no logfmt.

import type { LogFormat, LogLevel } from '../config/config.js';

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line (e.g. {component: 'monitor'}). */
  with(fields: LogFields): Logger;
}

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export interface LoggerOptions {
  level: LogLevel;
  format: LogFormat;
  /** Where lines go; stderr by default so stdout stays free for the stdout exporter. */
  write?: (line: string) => void;
  now?: () => Date;
}

export function createLogger(opts: LoggerOptions, bound: LogFields = {}): Logger {
  const write = opts.write ?? ((line: string) => process.stderr.write(line));
  const now = opts.now ?? (() => new Date());
  const min = RANK[opts.level];
  const line = (time: string, level: string, msg: string, fields: LogFields) => (opts.format === 'json' ? jsonLine(time, level, msg, fields) : textLine(time, level, msg, fields));
  const emit = (level: LogLevel, msg: string, fields?: LogFields): void => {
    if (RANK[level] < min) return;
    const all = { ...bound, ...fields };
    const time = now().toISOString();
    write(line(time, level.toUpperCase(), msg, all));
    // At debug level, each error's stack (and its causes') follows on a DEBUG line of its own:
    // the line above stays one line that log pipelines and alerts match on.
    if (min === RANK.debug) {
      for (const [k, v] of Object.entries(all)) if (v instanceof Error) write(line(time, 'DEBUG', `stack of ${k}`, { ...bound, stack: errorStack(v) }));
    }
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    with: (fields) => createLogger(opts, { ...bound, ...fields }),
  };
}

function jsonLine(time: string, level: string, msg: string, fields: LogFields): string {
  const out: LogFields = { time, level, msg };
  for (const [k, v] of Object.entries(fields)) out[k] = v instanceof Error ? errorMessage(v) : v;
  return JSON.stringify(out, jsonSafe) + '\n';
}

function textLine(time: string, level: string, msg: string, fields: LogFields): string {
  let line = `time=${time} level=${level} msg=${quote(msg)}`;
  for (const [k, v] of Object.entries(fields)) line += ` ${k}=${quote(formatValue(v))}`;
  return line + '\n';
}

function formatValue(v: unknown): string {
  if (v instanceof Error) return errorMessage(v);
  if (typeof v === 'string') return v;
  if (v === undefined) return '';
  if (typeof v === 'object' && v !== null) return JSON.stringify(v, jsonSafe);
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- objects were written above: a primitive, null or a function is left
  return String(v);
}

/** JSON.stringify throws on a bigint (µJ totals are bigints): write it as its decimal digits. */
function jsonSafe(_key: string, v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v;
}

/** The message, with each cause's appended: "cannot read x: EACCES: permission denied". */
function errorMessage(e: Error): string {
  let text = e.message;
  for (let c = e.cause, depth = 0; c instanceof Error && depth < 5; c = c.cause, depth++) {
    if (!text.includes(c.message)) text += `: ${c.message}`;
  }
  return text;
}

/** The stack, then each cause's stack: for debugging, where the time is spent reading it. */
function errorStack(e: Error): string {
  let text = e.stack ?? errorMessage(e);
  for (let c = e.cause, depth = 0; c instanceof Error && depth < 5; c = c.cause, depth++) text += `\ncaused by: ${c.stack ?? c.message}`;
  return text;
}

/** logfmt quoting: bare when the value has no space, quote, equals sign or control character. */
function quote(s: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what must be quoted
  return s !== '' && !/[\s"=\\\x00-\x1f]/.test(s) ? s : JSON.stringify(s);
}
