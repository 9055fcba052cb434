// zod and yaml for the files the exporter may read after its configuration, synchronously: the web
// config (server/webConfig.ts) and the BMC file (redfishBmcs.ts). Loaded on the first call, that
// is only where such a file is configured, and not with the modules: imported as ES modules they
// stayed in memory for the exporter's life (zod alone ~3.5 MiB of V8 heap, yaml ~1) while most
// exporters read neither file. The configuration itself is read in a child process (loadInChild.ts).
//
// Their CommonJS builds, through require: an ES module cannot be imported synchronously, and the
// readers are synchronous (they throw ConfigError from constructors). The image's bundle replaces
// this module with one whose require() calls esbuild bundles (scripts/image/bundle.mjs).

import { createRequire } from 'node:module';

export type Zod = typeof import('zod');
export type Yaml = typeof import('yaml');

const requireHere = createRequire(import.meta.url);

/** The zod package (`.z`, and its functions by name), loaded on first use. */
export function zodLibrary(): Zod {
  return requireHere('zod') as Zod;
}

/** The yaml package, loaded on first use. */
export function yamlLibrary(): Yaml {
  return requireHere('yaml') as Yaml;
}
