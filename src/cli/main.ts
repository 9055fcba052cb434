#!/usr/bin/env node
// kepler-ts: start with Kepler's flags, e.g.
//   kepler-ts --config.file=c.yaml --host.sysfs=/host/sys --host.procfs=/host/proc --web.listen-address=:28282
// Exit codes: 0 clean stop, 1 no power meter or cannot listen, 2 configuration error.

import { Application } from '../app/application.js';
import { readBuildInfo } from '../app/buildInfo.js';
import { ConfigError } from '../config/config.js';
import { loadConfig } from '../config/load.js';
import { NoMeterError } from '../device/meterSelection.js';
import { createLogger, type Logger } from '../logger/logger.js';
import { runModelCommand } from './modelCommand.js';

const STOP_DEADLINE_MS = 4500;

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'model') return runModelCommand(argv.slice(1));
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

  let app: Application;
  try {
    app = new Application(config, logger);
    await app.start();
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
  return waitForSignal(app, logger);
}

function waitForSignal(app: Application, logger: Logger): Promise<number> {
  return new Promise((resolve) => {
    const stop = (signal: string) => {
      logger.info('stopping', { signal });
      // Whatever happens, the process is gone within the deadline.
      setTimeout(() => {
        logger.warn('stop deadline reached, exiting');
        resolve(0);
      }, STOP_DEADLINE_MS).unref();
      app.stop().then(
        () => resolve(0),
        (err: unknown) => {
          logger.error('error while stopping', { err });
          resolve(1);
        },
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`kepler-ts: unexpected error: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
