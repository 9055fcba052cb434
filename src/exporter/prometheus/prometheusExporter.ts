// The /metrics endpoint: takes a fresh snapshot (refreshing when it is older than
// monitor.staleness), lets each collector write its families, negotiates the text format or
// OpenMetrics from the Accept header, and compresses when the scraper accepts gzip (negotiation.ts).

import type { IncomingMessage, ServerResponse } from 'node:http';
import { gzipSync, constants as zlib } from 'node:zlib';
import type { Logger } from '../../logger/logger.js';
import type { Snapshot } from '../../monitor/snapshot.js';
import type { Collector } from './collector.js';
import { ExpositionWriter, OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE } from './exposition.js';
import { acceptsGzip, negotiateFormat } from './negotiation.js';
import type { ScrapeStats } from './exporterHealthCollector.js';

export interface SnapshotSource {
  freshSnapshot(): Snapshot;
  acknowledgeExport(s: Snapshot): void;
}

export class PrometheusExporter {
  private collectors: Collector[] = [];
  private readonly stats: ScrapeStats = { lastDurationSec: 0, lastBytes: 0, scrapes: 0 };

  constructor(
    private readonly monitor: SnapshotSource,
    private readonly logger: Logger,
  ) {}

  register(...collectors: Collector[]): void {
    this.collectors.push(...collectors);
  }

  scrapeStats(): ScrapeStats {
    return this.stats;
  }

  /** Renders one exposition from the current snapshot. */
  render(openMetrics: boolean): { body: string; snapshot: Snapshot } {
    const snapshot = this.monitor.freshSnapshot();
    const out = new ExpositionWriter(openMetrics);
    for (const c of this.collectors) c.collect(snapshot, out);
    return { body: out.finish(), snapshot };
  }

  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    const started = performance.now();
    const openMetrics = negotiateFormat(req.headers.accept) === 'openmetrics';
    const { body, snapshot } = this.render(openMetrics);
    const headers: Record<string, string> = { 'Content-Type': openMetrics ? OPENMETRICS_CONTENT_TYPE : TEXT_CONTENT_TYPE };
    let payload: Buffer = Buffer.from(body, 'utf8');
    const bytes = payload.length;
    if (acceptsGzip(req.headers['accept-encoding'])) {
      // Fastest level: a scrape is latency-bound, and level 1 already shrinks label-heavy text ~10x.
      payload = gzipSync(payload, { level: zlib.Z_BEST_SPEED });
      headers['Content-Encoding'] = 'gzip';
    }
    headers['Content-Length'] = String(payload.length);
    res.writeHead(200, headers);
    res.end(req.method === 'HEAD' ? undefined : payload);
    // This scrape showed its terminated workloads: their retention starts (a HEAD request showed nothing).
    if (req.method !== 'HEAD') this.monitor.acknowledgeExport(snapshot);
    this.stats.scrapes++;
    this.stats.lastBytes = bytes;
    this.stats.lastDurationSec = (performance.now() - started) / 1000;
    this.logger.debug('scrape served', { bytes, seconds: this.stats.lastDurationSec, snapshot: snapshot.seq });
  };
}
