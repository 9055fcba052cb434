// Logs for a go-plugin host: hclog's JSON lines on stderr. The host parses each line and
// re-logs it at its level under the plugin's name; a line it cannot parse (a @timestamp in
// another format included) is re-logged raw at debug level, where nobody sees it.
//   {"@level":"info","@message":"fetched","@module":"kepler-aether-source","@timestamp":"2026-11-23T10:00:00.123456Z","instances":3}

import type { LogFields, Logger } from '../logger/logger.js';

export type HclogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';
export const HCLOG_LEVELS: readonly HclogLevel[] = ['trace', 'debug', 'info', 'warn', 'error'];

export interface HclogOptions {
  level: HclogLevel;
  module: string;
  write?: (line: string) => void;
  /** Milliseconds since the epoch, fractional for microseconds. */
  nowMs?: () => number;
}

export interface HclogLogger extends Logger {
  trace(msg: string, fields?: LogFields): void;
  with(fields: LogFields): HclogLogger;
}

export function createHclogLogger(opts: HclogOptions, bound: LogFields = {}): HclogLogger {
  const write = opts.write ?? ((line: string) => process.stderr.write(line));
  const nowMs = opts.nowMs ?? (() => performance.timeOrigin + performance.now());
  const min = HCLOG_LEVELS.indexOf(opts.level);
  const emit = (level: HclogLevel, msg: string, fields?: LogFields): void => {
    if (HCLOG_LEVELS.indexOf(level) < min) return;
    const line: LogFields = {
      '@level': level,
      '@message': msg,
      '@module': opts.module,
      '@timestamp': hclogTimestamp(nowMs()),
    };
    for (const [k, v] of Object.entries({ ...bound, ...fields })) line[k] = v instanceof Error ? v.message : v;
    write(JSON.stringify(line) + '\n');
  };
  return {
    trace: (m, f) => emit('trace', m, f),
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    with: (fields) => createHclogLogger(opts, { ...bound, ...fields }),
  };
}

/** Go's "2006-01-02T15:04:05.000000Z07:00" in UTC: exactly six fractional digits, as hosts parse it. */
export function hclogTimestamp(epochMs: number): string {
  const wholeMs = Math.floor(epochMs);
  const micros = Math.min(999, Math.floor((epochMs - wholeMs) * 1000));
  const iso = new Date(wholeMs).toISOString(); // 2026-11-23T10:00:00.123Z
  return `${iso.slice(0, 23)}${String(micros).padStart(3, '0')}Z`;
}
