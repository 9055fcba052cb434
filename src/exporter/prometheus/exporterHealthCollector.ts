// The exporter's own health (ours): refresh time and count, problems by kind, the meter in use,
// how many workloads it tracks, and how long the previous scrape took to render.

import { REFRESH_ERROR_KINDS, type Snapshot } from '../../monitor/snapshot.js';
import type { Collector } from './collector.js';
import { renderLabels, type ExpositionWriter } from './exposition.js';

export interface MeterInUse {
  meter: string;
  zones: string[];
  /** What the meter is doing now (EnergyMeter.status: passthrough, passthrough-stale); absent: no `state` label. */
  status?: () => string | undefined;
}

/** Basic auth's refusals since start: wrong or missing credentials, and checks refused unchecked (429). */
export interface AuthStats {
  denied: number;
  busy: number;
}

export interface ScrapeStats {
  lastDurationSec: number;
  lastBytes: number;
  scrapes: number;
}

export class ExporterHealthCollector implements Collector {
  private readonly meterLabels: string;

  constructor(
    private readonly meter: MeterInUse,
    private readonly scrapeStats: () => ScrapeStats,
    /** Only with basic auth on. */
    private readonly authStats?: () => AuthStats | undefined,
  ) {
    this.meterLabels = renderLabels({ meter: meter.meter, zones: meter.zones.join(',') });
  }

  collect(s: Snapshot, out: ExpositionWriter): void {
    const h = s.health;
    out.family('kepler_exporter_meter_info', 'gauge', 'The power meter the exporter reads, with its zones');
    // The state can change while running, so it is read at each scrape; a meter without one keeps the labels it always had.
    const state = this.meter.status?.();
    out.sample('kepler_exporter_meter_info', state === undefined ? this.meterLabels : `${this.meterLabels},${renderLabels({ state })}`, 1);

    out.family('kepler_exporter_refresh_duration_seconds', 'histogram', 'Time taken by each refresh of meters and resources, in seconds');
    for (const b of h.durationBuckets) out.sample('kepler_exporter_refresh_duration_seconds_bucket', renderLabels({ le: String(b.le) }), b.count);
    out.sample('kepler_exporter_refresh_duration_seconds_bucket', 'le="+Inf"', h.refreshes);
    out.sample('kepler_exporter_refresh_duration_seconds_sum', '', h.durationSumSec);
    out.sample('kepler_exporter_refresh_duration_seconds_count', '', h.refreshes);

    out.family('kepler_exporter_refresh_errors_total', 'counter', 'Problems met while refreshing, by kind; none of them stops a refresh');
    for (const kind of REFRESH_ERROR_KINDS) out.sample('kepler_exporter_refresh_errors_total', renderLabels({ kind }), h.errors[kind]);

    out.family('kepler_exporter_last_refresh_timestamp_seconds', 'gauge', 'Time of the refresh this scrape shows, seconds since the epoch');
    out.sample('kepler_exporter_last_refresh_timestamp_seconds', '', s.timestampMs / 1000);
    out.family('kepler_exporter_last_refresh_interval_seconds', 'gauge', 'Length of the interval the watts of this scrape are measured over, in seconds');
    out.sample('kepler_exporter_last_refresh_interval_seconds', '', s.elapsedSec);

    out.family('kepler_exporter_workloads', 'gauge', 'Workloads in the current snapshot, by level and state');
    for (const [level, snap] of [
      ['process', s.processes],
      ['container', s.containers],
      ['vm', s.vms],
      ['pod', s.pods],
    ] as const) {
      let running = 0;
      for (const w of snap.workloads) if (w.state === 'running') running++;
      out.sample('kepler_exporter_workloads', renderLabels({ level, state: 'running' }), running);
      out.sample('kepler_exporter_workloads', renderLabels({ level, state: 'terminated' }), snap.workloads.length - running);
    }

    const sc = this.scrapeStats();
    out.family('kepler_exporter_scrape_duration_seconds', 'gauge', 'Time taken to render the previous /metrics response, in seconds');
    out.sample('kepler_exporter_scrape_duration_seconds', '', sc.lastDurationSec);
    out.family('kepler_exporter_scrape_size_bytes', 'gauge', 'Size of the previous /metrics response before compression, in bytes');
    out.sample('kepler_exporter_scrape_size_bytes', '', sc.lastBytes);
    out.family('kepler_exporter_scrapes_total', 'counter', 'Scrapes of /metrics served');
    out.sample('kepler_exporter_scrapes_total', '', sc.scrapes);

    const auth = this.authStats?.();
    if (auth) {
      out.family(
        'kepler_exporter_auth_failures_total',
        'counter',
        'Requests refused by basic auth: denied (wrong or missing credentials) or busy (429, too many checks under way)',
      );
      out.sample('kepler_exporter_auth_failures_total', renderLabels({ reason: 'denied' }), auth.denied);
      out.sample('kepler_exporter_auth_failures_total', renderLabels({ reason: 'busy' }), auth.busy);
    }
  }
}
