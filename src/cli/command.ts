// What `kepler-ts [flags]`, `kepler-ts model ...` and `kepler-ts top ...` do, once main.ts has
// installed the signal handlers: load the configuration, start the exporter, and return the exit
// code when it stops.

import { Application } from '../app/application.js';
import { readBuildInfo } from '../util/buildInfo.js';
import { ConfigError } from '../config/config.js';
import { loadConfig } from '../config/load.js';
import { NoMeterError } from '../device/meterSelection.js';
import { createLogger } from '../logger/logger.js';
import { collectStartupGarbage } from './heapPolicy.js';
import type { StopSignals } from './stopSignals.js';

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
    loaded = loadConfig(argv);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`kepler-ts: ${err.message}\n`);
      return 2;
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
