// What `kepler-ts [flags]`, `kepler-ts model ...` and `kepler-ts top ...` do, once main.ts has
// installed the signal handlers: load the configuration, start the exporter, and return the exit
// code when it stops.

import type { Application } from '../app/application.js';
import { readBuildInfo } from '../util/buildInfo.js';
import { ConfigError } from '../config/config.js';
import { loadConfigInChild } from '../config/loadInChild.js';
import { createLogger } from '../logger/logger.js';
import { applyAgentHeapPolicy, collectStartupGarbage } from './heapPolicy.js';
import type { StopSignals } from './stopSignals.js';
// Node's modules that the exporter uses, loaded before the heap policy sets V8 flags: V8 refuses
// the code cache Node ships for its own modules once a flag differs from those it was made with
// (the flags' hash is part of the cache's check), and Node then compiles each module from source
// and keeps a new cache of it (~14 KiB each; 76 modules, 1.1 MiB, and ~15 ms of CPU). The exporter's
// own imports of these come later (application.js, below) or load them lazily: cluster and dns
// when the web server listens, perf_hooks with the first performance.now(). Imported here as ES
// modules, net and module also load what their lazy exports need (BlockList, SourceMap), as the
// exporter's imports of them will; negotiator, the first CommonJS package imported, Node's
// CommonJS export lexer. cluster and dns are required instead: as ES modules, their lazy exports
// would load modules that are never used (dns/promises).
import { createRequire } from 'node:module';
import 'node:fs/promises';
import 'node:http';
import 'node:net';
import 'node:os';
import 'node:perf_hooks';
import 'node:zlib';
import 'negotiator';
for (const builtin of ['node:cluster', 'node:dns']) createRequire(import.meta.url)(builtin);

export async function runCommand(argv: string[], signals: StopSignals): Promise<number> {
  if (argv[0] === 'model') {
    // A batch command: Ctrl-C stops it the usual way.
    signals.uninstall();
    // Loaded only when asked for, as top below: the exporter does not carry their modules.
    const { runModelCommand } = await import('./modelCommand.js');
    return runModelCommand(argv.slice(1));
  }
  if (argv[0] === 'top') {
    // A terminal view: q, Ctrl-C and SIGTERM end it, and it gives the terminal back first.
    signals.uninstall();
    const { runTopCommand } = await import('./topCommand.js');
    return runTopCommand(argv.slice(1));
  }
  let loaded;
  try {
    // In a child process: the modules that read the configuration are not kept (loadInChild.ts).
    loaded = await loadConfigInChild(argv, signals.requested);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`kepler-ts: ${err.message}\n`);
      return 2;
    }
    if (signals.received) {
      // Stopped while the configuration was read, and it did not finish in time: logged with the
      // default settings, since the configured ones were not read.
      signals.attachLogger(createLogger({ level: 'info', format: 'text' }));
      return 0;
    }
    throw err;
  }
  if (loaded.kind === 'help') {
    process.stdout.write(loaded.text);
    return 0;
  }
  if (loaded.kind === 'version') {
    const b = readBuildInfo();
    process.stdout.write(`kepler-ts ${b.version} (revision ${b.revision}, branch ${b.branch}, node ${process.version})\n`);
    return 0;
  }
  const { config, warnings } = loaded;
  // After the configuration is read and before the exporter's modules load, so that their
  // start-up allocations meet the policy (heapPolicy.ts).
  applyAgentHeapPolicy();
  // The exporter's modules, only now: see above and heapPolicy.ts.
  const [{ Application }, { NoMeterError }] = await Promise.all([import('../app/application.js'), import('../device/meterSelection.js')]);
  const logger = createLogger({ level: config.log.level, format: config.log.format });
  for (const w of warnings) logger.warn(w);
  signals.attachLogger(logger);
  if (signals.received) return 0; // stopped while loading: nothing was started

  let app: Application;
  try {
    app = new Application(config, logger);
    signals.onStop(() => app.stop());
    const starting = app.start();
    starting.catch(() => undefined); // once a stop signal has won the race, a failed start no longer matters
    await Promise.race([starting, signals.requested]);
    if (!signals.received) collectStartupGarbage();
  } catch (err) {
    if (err instanceof ConfigError) {
      logger.error(err.message);
      return 2;
    }
    if (err instanceof NoMeterError) {
      logger.error(err.message);
      return 1;
    }
    logger.error('cannot start', { err });
    return 1;
  }
  return signals.stopped;
}
