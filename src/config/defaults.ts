import type { Config } from './config.js';
import { configSchema } from './schema.js';

/**
 * Kepler's built-in defaults (shared/spec/config.md): what the schema makes of an empty
 * configuration, each key's `key(schema, default)` declaration. Returns a fresh object on each call.
 */
export function defaultConfig(): Config {
  return configSchema.parse({});
}
