// The process that reads the exporter's configuration (started by loadConfigInChild, in
// loadInChild.ts): loadConfig() with the exporter's arguments, its result written to stdout in
// V8's serialization (the structured clone of a worker's message). Its modules (zod, yaml, the
// schema) are loaded in this process only, and go with it.

import { writeSync } from 'node:fs';
import { serialize } from 'node:v8';
import type { ChildReply } from './loadInChild.js';

// A stop or hangup sent to the exporter's process group is the exporter's to handle (it logs it
// and kills this process if it must): set before the loader's modules load, which takes most of
// this process's short life.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => undefined);

const { ConfigError } = await import('./config.js');
const { loadConfig } = await import('./load.js');

let reply: ChildReply;
try {
  reply = { result: loadConfig(process.argv.slice(2)) };
} catch (err) {
  reply = err instanceof ConfigError ? { configError: err.message } : { error: err instanceof Error ? (err.stack ?? err.message) : String(err) };
}
const out = serialize(reply);
for (let done = 0; done < out.length;) done += writeSync(1, out, done);
