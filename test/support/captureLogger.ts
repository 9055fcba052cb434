// Test helper: a Logger that records its lines, to assert on what an operator would see.

import type { LogFields, Logger } from '../../src/logger/logger.js';

export interface LogLine {
  level: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  msg: string;
  fields: LogFields;
}

export function captureLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const make = (bound: LogFields): Logger => ({
    debug: (msg, f) => lines.push({ level: 'DEBUG', msg, fields: { ...bound, ...f } }),
    info: (msg, f) => lines.push({ level: 'INFO', msg, fields: { ...bound, ...f } }),
    warn: (msg, f) => lines.push({ level: 'WARN', msg, fields: { ...bound, ...f } }),
    error: (msg, f) => lines.push({ level: 'ERROR', msg, fields: { ...bound, ...f } }),
    with: (f) => make({ ...bound, ...f }),
  });
  return { logger: make({}), lines };
}
