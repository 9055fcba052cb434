// The process that reads the exporter's configuration (started by loadConfigInChild, in
// loadInChild.ts): loadConfig() with the exporter's arguments, its result written to stdout in
// V8's serialization (the structured clone of a worker's message). Its modules (zod, yaml, the
// schema) are loaded in this process only, and go with it.

import { writeSync } from 'node:fs';
import { serialize } from 'node:v8';
import { ConfigError } from './config.js';
import { loadConfig } from './load.js';
import type { ChildReply } from './loadInChild.js';

let reply: ChildReply;
try {
  reply = { result: loadConfig(process.argv.slice(2)) };
} catch (err) {
  reply = err instanceof ConfigError ? { configError: err.message } : { error: err instanceof Error ? (err.stack ?? err.message) : String(err) };
}
const out = serialize(reply);
for (let done = 0; done < out.length;) done += writeSync(1, out, done);
