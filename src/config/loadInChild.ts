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

/** How long a stop asked for while the configuration is read waits for it (a FIFO as the file can block it). */
export const CHILD_STOP_GRACE_MS = 2000;

/**
 * loadConfig(argv) with this process's environment, working directory, stdin (a configuration
 * piped through --config.file=/dev/stdin) and Node.js, in a child process; rejects with ConfigError
 * as loadConfig throws it. The child's stderr is this one's. It ignores the stop and hangup signals
 * (configChild.ts) that a signal to the whole process group (Ctrl-C, a terminal closing, a service
 * manager stopping the group) sends it too: this process's stop handling decides and logs. Once
 * `stop` resolves the child gets CHILD_STOP_GRACE_MS to finish, then is killed, and the promise
 * rejects.
 */
export function loadConfigInChild(argv: string[], stop?: Promise<void>): Promise<LoadResult> {
  // '../config/': the same file from dist/src/config/ and from the bundled image's chunks (scripts/image/bundle.mjs).
  const script = fileURLToPath(new URL('../config/configChild.js', import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...argv], { stdio: ['inherit', 'pipe', 'inherit'], env: childEnv(process.env) });
    let killer: NodeJS.Timeout | undefined;
    void stop?.then(() => {
      if (child.exitCode === null && child.signalCode === null) killer = setTimeout(() => child.kill('SIGKILL'), CHILD_STOP_GRACE_MS);
    });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(killer);
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

/** This environment for the child, less an inspector in NODE_OPTIONS: the child would take the same port. */
function childEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const options = env.NODE_OPTIONS;
  if (!options || !/--inspect/.test(options)) return env;
  return {
    ...env,
    NODE_OPTIONS: options
      .split(/\s+/)
      .filter((o) => !o.startsWith('--inspect'))
      .join(' '),
  };
}
