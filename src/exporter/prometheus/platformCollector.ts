// Platform power (Kepler v0.11's kepler_platform_watts, and ours beside it): what the whole
// machine draws at the wall, per reading source of each chassis (a power supply, the chassis'
// environment metrics, a PowerControl, ACPI's power_meter); their sum is the chassis' power. A
// source in an outage has no series until it reads again: a frozen old value would lie. Its
// energy total goes on where it left off (monotonic for the life of the process).

import { formatJoules } from '../formatJoules.js';
import type { PlatformSourceState } from '../../device/platform/platformSource.js';
import type { Snapshot } from '../../monitor/snapshot.js';
import type { Collector } from './collector.js';
import { renderLabels, type ExpositionWriter } from './exposition.js';

export class PlatformCollector implements Collector {
  private readonly nodeName: string;

  constructor(nodeName: string) {
    this.nodeName = nodeName;
  }

  collect(s: Snapshot, out: ExpositionWriter): void {
    if (s.platform.length === 0) return;
    const rows: { labels: string; r: PlatformSourceState }[] = [];
    for (const p of s.platform) {
      for (const r of p.state.readings) {
        const x = r.reading;
        const labels = renderLabels({
          node_name: this.nodeName,
          source: x.source,
          bmc_id: x.bmcId,
          chassis_id: x.chassisId,
          source_id: x.sourceId,
          source_name: x.sourceName,
          source_type: x.sourceType,
        });
        rows.push({ labels, r });
      }
    }
    out.family('kepler_platform_watts', 'gauge', 'Power consumption of the platform (the whole machine, at the wall) per reading source in watts');
    for (const { labels, r } of rows) out.sample('kepler_platform_watts', labels, r.reading.watts);
    out.family('kepler_platform_joules_total', 'counter', 'Energy consumption of the platform per reading source in joules, since the exporter started');
    for (const { labels, r } of rows) out.sample('kepler_platform_joules_total', labels, formatJoules(r.energyUj));
    out.family('kepler_platform_reading_age_seconds', 'gauge', 'Age of the platform reading in seconds, at the refresh that exported it');
    for (const { labels, r } of rows) out.sample('kepler_platform_reading_age_seconds', labels, Math.max(0, (s.monotonicMs - r.readAtMs) / 1000));
    out.family('kepler_exporter_platform_errors_total', 'counter', 'Platform power readings that failed, by source and kind; none stops anything else');
    for (const p of s.platform) {
      for (const kind of p.errorKinds) out.sample('kepler_exporter_platform_errors_total', renderLabels({ source: p.name, kind }), p.state.errors[kind] ?? 0);
    }
  }
}
