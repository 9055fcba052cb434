#!/usr/bin/env node
// kepler-aether-source: aether's Kepler source plugin. aether starts it from its plugins
// directory with hashicorp go-plugin; run by hand, it says so and exits 1.
// Exit codes: 0 stopped by the host or SIGTERM, 1 started without the host, 2 bad environment.

import { format } from 'node:util';
import { loadAetherSourceConfig } from '../aether/config.js';
import { KeplerSource } from '../aether/keplerSource.js';
import { PrometheusClient } from '../aether/prometheusClient.js';
import { AETHER_SOURCE_HANDSHAKE, registerSourceService } from '../aether/sourceService.js';
import { ConfigError } from '../config/config.js';
import { formatDuration } from '../config/duration.js';
import { hasMagicCookie, NOT_A_PROGRAM_MESSAGE } from '../goplugin/handshake.js';
import { createHclogLogger, type HclogLogger } from '../goplugin/hclogLogger.js';
import { PluginServer } from '../goplugin/pluginServer.js';

const MODULE = 'kepler-aether-source';
/** How often we look for our host having died (then we are an orphan nobody will stop). */
const HOST_CHECK_MS = 5000;

async function main(env: NodeJS.ProcessEnv): Promise<number> {
  if (!hasMagicCookie(env, AETHER_SOURCE_HANDSHAKE)) {
    process.stderr.write(NOT_A_PROGRAM_MESSAGE);
    return 1;
  }
  const bootLogger = createHclogLogger({ level: 'info', module: MODULE });
  routeConsoleTo(bootLogger);
  // A crash is logged the way the host can read (a raw stack would be re-logged at debug).
  const crash = (err: unknown) => {
    bootLogger.error(`kepler-aether-source crashed: ${errorText(err)}`);
    process.exit(1);
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
  let config;
  try {
    config = loadAetherSourceConfig(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    bootLogger.error(`kepler-aether-source: ${err.message}`);
    return 2;
  }
  const logger = createHclogLogger({ level: config.logLevel, module: MODULE });
  routeConsoleTo(logger);

  // Signals are ours before the handshake: the host may stop us the moment it has read it.
  // SIGTERM stops us. SIGINT is the terminal's Ctrl-C reaching the whole process group: the host
  // handles it and stops us through the controller, so, as go-plugin plugins do, we ignore it.
  let stopReason: string | undefined;
  let server: PluginServer | undefined;
  const stop = (reason: string) => {
    stopReason ??= reason;
    void server?.stop(reason);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  let interrupts = 0;
  process.on('SIGINT', () => logger.debug('interrupt ignored: the host stops plugins', { count: ++interrupts }));
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) stop('the host process is gone');
  }, HOST_CHECK_MS).unref();

  const prometheus = new PrometheusClient(config.prometheus.baseUrl, config.prometheus.auth);
  const source = new KeplerSource(config, prometheus, logger);
  server = await PluginServer.start({
    handshake: AETHER_SOURCE_HANDSHAKE,
    logger,
    env,
    register: (s) => registerSourceService(s, source, logger),
  });
  logger.info('kepler source plugin serving', {
    prometheus: config.prometheus.baseUrl,
    window: formatDuration(config.intervalMs),
    metrics: config.metrics,
    provider: config.provider,
  });
  if (stopReason) void server.stop(stopReason);

  await server.stopped;
  return 0;
}

function errorText(err: unknown): string {
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}

/** Nothing may reach stdout but the handshake: stray console output goes to the log instead. */
function routeConsoleTo(logger: HclogLogger): void {
  console.log = console.info = (...args: unknown[]) => logger.info(format(...args));
  console.debug = (...args: unknown[]) => logger.debug(format(...args));
  console.warn = (...args: unknown[]) => logger.warn(format(...args));
  console.error = (...args: unknown[]) => logger.error(format(...args));
}

main(process.env).then(
  (code) => process.exit(code),
  (err: unknown) => {
    createHclogLogger({ level: 'error', module: MODULE }).error(`kepler-aether-source: ${errorText(err)}`);
    process.exit(1);
  },
);
