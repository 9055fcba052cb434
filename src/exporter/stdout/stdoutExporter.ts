// exporter.stdout.enabled: after every refresh, one human-readable summary on stdout (node
// zones, and the top workloads by power), for debugging on a node without Prometheus.

import { watts, type LevelSnapshot, type Snapshot } from '../../monitor/snapshot.js';
import { formatJoules } from '../formatJoules.js';

const TOP = 5;

export function formatSnapshot(s: Snapshot): string {
  const lines = [`--- kepler-ts snapshot ${s.seq} at ${new Date(s.timestampMs).toISOString()} (interval ${s.elapsedSec.toFixed(2)} s, usage ${(s.usageRatio * 100).toFixed(1)} %)`];
  for (const z of s.zones) {
    lines.push(
      `node  ${z.name.padEnd(8)} ${watts(z.deltaUj, s.elapsedSec).toFixed(2).padStart(9)} W  active ${watts(z.activeDeltaUj, s.elapsedSec).toFixed(2).padStart(8)} W  total ${formatJoules(z.totalUj)} J  (${z.path})`,
    );
  }
  const top = <I>(level: string, snap: LevelSnapshot<I>, name: (i: I) => string) => {
    const ranked = [...snap.workloads]
      .filter((w) => w.state === 'running')
      .sort((a, b) => (b.deltaUj[0] ?? 0) - (a.deltaUj[0] ?? 0))
      .slice(0, TOP);
    for (const w of ranked)
      lines.push(
        `${level.padEnd(9)} ${watts(w.deltaUj[0] ?? 0, s.elapsedSec)
          .toFixed(2)
          .padStart(8)} W  ${name(w.info)}`,
      );
  };
  top('process', s.processes, (p) => `${p.pid} ${p.comm}`);
  top('container', s.containers, (c) => `${c.id.slice(0, 12)} ${c.name}`);
  top('vm', s.vms, (v) => `${v.id} ${v.name}`);
  top('pod', s.pods, (p) => `${p.id} ${p.namespace}/${p.name}`);
  return lines.join('\n') + '\n';
}

export class StdoutExporter {
  constructor(private readonly write: (text: string) => void = (t) => process.stdout.write(t)) {}

  readonly onSnapshot = (s: Snapshot): void => {
    this.write(formatSnapshot(s));
  };
}
