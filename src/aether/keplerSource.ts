// The aether source: one Fetch reads each container's energy in the last INTERVAL from
// Prometheus and hands it to aether as instances. It keeps no state between Fetches but what
// it logs, so a container that is gone is not reported again.

import { formatDuration } from '../config/duration.js';
import type { HclogLogger } from '../goplugin/hclogLogger.js';
import type { AetherSourceConfig } from './config.js';
import { containerEnergies, mergeFamilies, toInstance, usedEnergy, type ContainerEnergy, type FamilySamples, type InstanceRequest } from './instances.js';
import { PrometheusError, type PrometheusClient } from './prometheusClient.js';
import { familyQueries, type MetricsFamily } from './promql.js';

const FAMILY_NAMES: Record<MetricsFamily, string> = { current: 'kepler-ts / Kepler 0.10+', '0.7': 'Kepler 0.7' };

export class KeplerSource {
  private readonly families: MetricsFamily[];
  /** The families the last Fetch found containers in; undefined before the first. */
  private lastSeen: string | undefined;
  private readonly unplaced = new Set<string>();

  constructor(
    private readonly config: AetherSourceConfig,
    private readonly prometheus: PrometheusClient,
    private readonly logger: HclogLogger,
    private readonly now: () => number = Date.now,
  ) {
    this.families = config.metrics === 'auto' ? ['current', '0.7'] : [config.metrics];
  }

  /** Instances of the containers that used energy in the window ending now. `signal`: the host gave up. */
  async fetch(signal?: AbortSignal): Promise<InstanceRequest[]> {
    const started = this.now();
    const time = Math.floor(started / 1000);
    const timeoutMs = this.config.prometheus.timeoutMs;
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new Error(`no answer within ${formatDuration(timeoutMs)} (PROMETHEUS_TIMEOUT)`)), timeoutMs);
    const abort = signal ? AbortSignal.any([signal, deadline.signal]) : deadline.signal;
    let read: FamilySamples[];
    try {
      read = await Promise.all(this.families.map((f) => this.readFamily(f, { time, signal: abort, timeoutMs })));
    } catch (err) {
      if (signal?.aborted) throw new PrometheusError(`Fetch cancelled: ${(signal.reason as Error)?.message ?? 'by the host'}`, 'cancelled');
      throw err;
    } finally {
      clearTimeout(timer);
      // One query failing fails the Fetch: the others stop too, rather than run on unwatched.
      deadline.abort(new Error('the Fetch has ended'));
    }

    const byFamily = new Map(read.map((s) => [s.family, containerEnergies(s)]));
    const containers = mergeFamilies(byFamily.get('current') ?? new Map<string, ContainerEnergy>(), byFamily.get('0.7') ?? new Map<string, ContainerEnergy>());
    this.logFamilies(containers);
    const used = containers.filter(usedEnergy);
    const instances = used.map((c) => toInstance(c, { provider: this.config.provider, updatedAt: time, defaultRegion: this.config.defaultRegion }));
    this.warnUnplaced(instances);

    this.report(used, instances, containers.length - used.length, this.now() - started);
    return instances;
  }

  /** The Fetch's summary at INFO, each instance at DEBUG, and containers scraped twice at WARN. */
  private report(used: ContainerEnergy[], instances: InstanceRequest[], idle: number, ms: number): void {
    const duplicated = used.filter((c) => c.duplicates > 0);
    if (duplicated.length > 0) {
      this.logger.warn('some containers are under several scrape targets (is kepler-ts scraped by two jobs?); the largest of each was counted', {
        containers: duplicated.length,
        example: duplicated[0].id,
      });
    }
    let kwh = 0;
    for (const i of instances) kwh += i.metrics.cpu.energy + i.metrics.memory.energy;
    this.logger.info('fetched container energy', {
      instances: instances.length,
      idle_containers: idle,
      kwh,
      window: formatDuration(this.config.intervalMs),
      ms: Math.round(ms),
    });
    for (const i of instances) {
      this.logger.debug('container energy', { id: i.id, name: i.name, region: i.region, cpu_kwh: i.metrics.cpu.energy, memory_kwh: i.metrics.memory.energy });
    }
  }

  private async readFamily(family: MetricsFamily, opts: { time: number; signal: AbortSignal; timeoutMs: number }): Promise<FamilySamples> {
    const q = familyQueries(family, this.config.intervalMs);
    const [cpu, memory, pods] = await Promise.all([
      this.prometheus.query(q.energy.cpu, opts),
      this.prometheus.query(q.energy.memory, opts),
      q.pods ? this.prometheus.query(q.pods, opts) : Promise.resolve([]),
    ]);
    return { family, energy: { cpu, memory }, pods };
  }

  /** Says which metric names the containers came from, when that changes (and at the first Fetch). */
  private logFamilies(containers: ContainerEnergy[]): void {
    const counts = new Map<MetricsFamily, number>();
    for (const c of containers) counts.set(c.family, (counts.get(c.family) ?? 0) + 1);
    const seen = [...counts.keys()].sort().join(',');
    if (seen === this.lastSeen) return;
    this.lastSeen = seen;
    if (counts.size === 0) {
      this.logger.warn('Prometheus has no Kepler container energy for the window; is it scraping kepler-ts or Kepler?', {
        prometheus: this.prometheus.baseUrl,
        metrics: this.families.map((f) => FAMILY_NAMES[f]).join(' and '),
        window: formatDuration(this.config.intervalMs),
      });
      return;
    }
    for (const [family, n] of counts) this.logger.info(`reading ${FAMILY_NAMES[family]} metrics`, { containers: n });
  }

  /** One warning per node whose containers have no region: aether needs one for emission factors. */
  private warnUnplaced(instances: InstanceRequest[]): void {
    for (const { region, labels } of instances) {
      const node = labels.node_name ?? labels.instance ?? '(unknown node)';
      if (region !== '' || this.unplaced.has(node)) continue;
      this.unplaced.add(node);
      this.logger.warn('no region for the containers of a node: set REGION, or relabel a region label onto the kepler series', { node, instance: labels.instance });
    }
  }
}
