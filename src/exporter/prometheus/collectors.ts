// Which collectors a configuration asks for, in one place: the application and the tests build
// the exporter through this, so that what the tests check is what a deployment serves.

import type { Config, MetricsLevel } from '../../config/config.js';
import type { EstimatorDescription } from '../../device/estimatorMeter.js';
import type { GpuDeviceInfo } from '../../device/gpu/gpuMeter.js';
import type { Logger } from '../../logger/logger.js';
import type { Snapshot } from '../../monitor/snapshot.js';
import type { CpuInfoRecord } from '../../resource/cpuInfo.js';
import type { BuildInfo } from '../../util/buildInfo.js';
import type { Collector } from './collector.js';
import { ContainerCollector } from './containerCollector.js';
import { EstimatorInfoCollector, estimatorInfoLabels } from './estimatorInfoCollector.js';
import { ExporterHealthCollector, type AuthStats, type ScrapeStats } from './exporterHealthCollector.js';
import { BuildInfoCollector, CpuInfoCollector } from './infoCollectors.js';
import { GpuNodeCollector } from './gpuNodeCollector.js';
import { LegacyCollector, legacyGpuEnergy, legacySource, type LegacyLevel } from './legacyCollector.js';
import { domainZones, exportedDomains, measuredDomains, socketDomainEnergies, unmappedZones } from './legacyDomains.js';
import { NodeCollector } from './nodeCollector.js';
import { PlatformCollector } from './platformCollector.js';
import { PodCollector } from './podCollector.js';
import { ProcessCollector } from './processCollector.js';
import { RuntimeCollector } from './runtimeCollector.js';
import { VmCollector } from './vmCollector.js';

export interface CollectorSetup {
  nodeName: string;
  prometheus: Pick<Config['exporter']['prometheus'], 'metricsLevel' | 'legacyMetrics' | 'debugCollectors'>;
  /** The meter in use and its zones, in the order of Snapshot.zones (a summed zone with its sockets). */
  meter: { name: string; zones: readonly { name: string; index: number; parts?: readonly { index: number }[] }[]; status?: () => string | undefined };
  /** The GPU meter's devices; undefined without a GPU meter (no gpu families, and 0.7's gpu names left out). */
  gpus?: readonly GpuDeviceInfo[];
  /** /proc/cpuinfo's records (kepler_node_cpu_info); empty when it could not be read. */
  cpus: readonly CpuInfoRecord[];
  /** The CPU's microarchitecture for kepler_node_info (0.7 family); 'unknown' when not known. */
  cpuArchitecture: string;
  /** What the estimator does, when it is the meter. */
  estimate?: EstimatorDescription;
  build: BuildInfo;
  scrapeStats: () => ScrapeStats;
  /** Basic auth's failures; undefined when basic auth is off. */
  authStats?: () => AuthStats | undefined;
  /** Where collectors that must see every snapshot (not only scraped ones) subscribe. */
  snapshots: { onSnapshot(listener: (s: Snapshot) => void): void };
  logger: Logger;
}

export function buildCollectors(c: CollectorSetup): Collector[] {
  const levels = new Set<MetricsLevel>(c.prometheus.metricsLevel);
  const out: Collector[] = [];
  const workloadLevels = (['process', 'container', 'vm', 'pod'] as const).filter((l) => levels.has(l));
  if (levels.has('node')) out.push(new NodeCollector(c.nodeName, workloadLevels));
  if (levels.has('node') && c.gpus) out.push(new GpuNodeCollector(c.nodeName, workloadLevels));
  if (levels.has('node')) out.push(new PlatformCollector(c.nodeName));
  if (levels.has('process')) out.push(new ProcessCollector(c.nodeName));
  if (levels.has('container')) out.push(new ContainerCollector(c.nodeName));
  if (levels.has('vm')) out.push(new VmCollector(c.nodeName));
  if (levels.has('pod')) out.push(new PodCollector(c.nodeName));
  out.push(new CpuInfoCollector([...c.cpus]));
  if (c.prometheus.legacyMetrics) out.push(legacyCollector(c, levels));
  if (c.estimate) out.push(new EstimatorInfoCollector(estimatorInfoLabels(c.estimate)));
  out.push(new BuildInfoCollector(c.build));
  out.push(new ExporterHealthCollector({ meter: c.meter.name, zones: c.meter.zones.map((z) => z.name), status: c.meter.status }, c.scrapeStats, c.authStats));
  const debug = c.prometheus.debugCollectors;
  if (debug.includes('go') || debug.includes('process') || debug.includes('nodejs')) out.push(new RuntimeCollector());
  return out;
}

/**
 * Kepler 0.7's family, from the same snapshots; says once which of its domains read 0 here, which
 * are left out, and the sockets its node series are labelled with.
 */
function legacyCollector(c: CollectorSetup, levels: Set<MetricsLevel>): LegacyCollector {
  const names = c.meter.zones.map((z) => z.name);
  const source = legacySource(c.meter.name);
  const map = domainZones(names);
  const gpu = c.gpus !== undefined;
  const measured = measuredDomains(map, gpu);
  const unmeasured = exportedDomains(gpu).filter((d) => !measured.includes(d));
  const sockets = socketDomainEnergies(
    c.meter.zones.map((z) => ({ index: z.index, uj: 0n, parts: z.parts?.map((p) => ({ index: p.index, uj: 0n })) })),
    map,
  );
  c.logger.info('Kepler 0.7 metrics enabled', {
    source,
    measured: measured.join(','),
    exported_as_zero: unmeasured.join(',') || 'none',
    left_out: gpu ? 'none' : 'gpu (no GPU meter)',
    node_packages: sockets.map((s) => s.socket).join(','),
    zones_left_out: unmappedZones(names).join(',') || 'none',
  });
  const legacy = new LegacyCollector({
    nodeName: c.nodeName,
    source,
    zones: c.meter.zones,
    levels: [...levels].filter((l): l is LegacyLevel => l !== 'pod'),
    cpuArchitecture: c.cpuArchitecture,
    platformSource: measured.includes('platform') ? source : 'none',
    gpu: gpu ? legacyGpuEnergy : undefined,
  });
  c.snapshots.onSnapshot(legacy.observe);
  return legacy;
}
