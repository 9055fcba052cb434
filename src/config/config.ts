// The validated, fully-defaulted configuration. Every key of Kepler's YAML (see
// shared/spec/config.md) has a field here; durations are already converted to milliseconds.
// Produced by loadConfig() (load.ts): defaults, then the YAML file, then command-line flags.
// The type is derived from the declarations in schema.ts: a new key is declared there, once.

import type { z } from 'zod';
import type { configSchema } from './schema.js';

export type Config = z.output<typeof configSchema>;

export type LogLevel = Config['log']['level'];
export type LogFormat = Config['log']['format'];
export type MeterName = Config['cpu']['preferredMeters'][number];
export type MetricsLevel = Config['exporter']['prometheus']['metricsLevel'][number];

/** A configuration problem that stops start-up (exit code 2). `message` is the whole line. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}
