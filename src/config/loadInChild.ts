// loadConfig() (load.ts) run in a child process (configChild.ts) for the exporter's start. What
// reads and checks the configuration is needed once, and an ES module stays in memory once loaded:
// zod (about a hundred modules, 64 locales) and yaml kept ~4.5 MiB of V8 heap, and more of native
// memory, in the exporter for its whole life (at 5,000 processes ~7% of its resident size). A
// worker thread frees its heap when it exits but not all the rest: the exporter stayed 1.5-3 MiB
// larger after one (its thread's malloc arena and stack, the pages of Node it read). A process
// leaves nothing. The result is plain data (V8's serialization, as a worker's message); a
// ConfigError comes back as the same message. Costs one short-lived `node` at start (~0.3 s of
// CPU there, ~0.1 s longer to start). `kepler-ts model` and `top`, and the tests, call loadConfig.

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { deserialize } from 'node:v8';
import { ConfigError } from './config.js';
import type { LoadResult } from './load.js';

/** What configChild.ts writes: the result, a ConfigError's message, or another error's stack. */
export type ChildReply = { result: LoadResult } | { configError: string } | { error: string };

/**
 * loadConfig(argv) with this process's environment, working directory and Node.js, in a child
 * process; rejects with ConfigError as loadConfig throws it. The child's stderr is this one's.
 */
export function loadConfigInChild(argv: string[]): Promise<LoadResult> {
  // '../config/': the same file from dist/src/config/ and from the bundled image's chunks (scripts/image/bundle.mjs).
  const script = fileURLToPath(new URL('../config/configChild.js', import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...argv], { stdio: ['ignore', 'pipe', 'inherit'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      let reply: ChildReply | undefined;
      try {
        if (code === 0) reply = deserialize(Buffer.concat(chunks)) as ChildReply;
      } catch {
        // reported below
      }
      if (reply === undefined)
        reject(new Error(`reading the configuration: ${process.execPath} ${script} ${signal ? `was killed (${signal})` : `exited with code ${code}`} without a result`));
      else if ('result' in reply) resolve(reply.result);
      else if ('configError' in reply) reject(new ConfigError(reply.configError));
      else reject(new Error(`reading the configuration: ${reply.error}`));
    });
  });
}
