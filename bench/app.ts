// Builds the exporter the way the CLI does (Application: every collector of the configured
// levels, all levels on by default), on the fake meter, with an HTTP client for its /metrics.

import http from 'node:http';
import { Application } from '../src/app/application.js';
import { defaultConfig } from '../src/config/defaults.js';
import { silentLogger } from './util.js';

/**
 * An Application with all metric levels, the fake meter, no refresh timer, listening (once
 * started) on a free loopback port. `stalenessMs`: a scrape refreshes first when the snapshot is
 * older (0: every scrape refreshes; Infinity: none does, render only). `legacy`: the Kepler 0.7
 * family on as well.
 */
export function buildApp(stalenessMs: number, legacy = false): Application {
  const cfg = defaultConfig();
  cfg.cpu.preferredMeters = ['fake'];
  cfg.monitor.intervalMs = 0;
  cfg.monitor.stalenessMs = stalenessMs;
  cfg.web.listenAddresses = ['127.0.0.1:0'];
  cfg.exporter.prometheus.legacyMetrics = legacy;
  return new Application(cfg, silentLogger);
}

/** What Prometheus 2.x sends. */
export const PROMETHEUS_ACCEPT = 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

export interface ScrapeResult {
  ms: number;
  status: number;
  /** Bytes on the wire (gzipped when the server compressed). */
  bytes: number;
  gzip: boolean;
  body: Buffer;
}

/** GET /metrics as Prometheus does (OpenMetrics first, gzip); times the whole response. */
export function scrape(port: number, host = '127.0.0.1', timeoutMs = 30_000): Promise<ScrapeResult> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = http.get({ host, port, path: '/metrics', agent, headers: { Accept: PROMETHEUS_ACCEPT, 'Accept-Encoding': 'gzip' }, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ ms: performance.now() - t0, status: res.statusCode ?? 0, bytes: body.length, gzip: res.headers['content-encoding'] === 'gzip', body });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`scrape timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

export function closeScrapeAgent(): void {
  agent.destroy();
}
