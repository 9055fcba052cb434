// The aether source: one Fetch reads each container's energy in the last INTERVAL from
// Prometheus and hands it to aether as instances. It keeps no state between Fetches but what
// it logs, so a container that is gone is not reported again.

import { formatDuration } from '../config/duration.js';
import type { HclogLogger } from '../goplugin/hclogLogger.js';
import type { AetherSourceConfig } from './config.js';
import { FamilyEnergies, mergeFamilies, toInstance, usedEnergy, type ContainerEnergy, type InstanceRequest } from './instances.js';
import { PrometheusError, type PrometheusClient, type QueryOptions } from './prometheusClient.js';
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
    let read: FamilyEnergies[];
    try {
      read = await this.readFamilies({ time, signal: abort, timeoutMs });
    } catch (err) {
      if (signal?.aborted) throw new PrometheusError(`Fetch cancelled: ${(signal.reason as Error)?.message ?? 'by the host'}`, 'cancelled');
      throw err;
    } finally {
      clearTimeout(timer);
      // One query failing fails the Fetch: the others stop too, rather than run on unwatched.
      deadline.abort(new Error('the Fetch has ended'));
    }

    const byFamily = new Map(read.map((e) => [e.family, e]));
    const containers = mergeFamilies(
      byFamily.get('current')?.containers() ?? new Map<string, ContainerEnergy>(),
      byFamily.get('0.7')?.containers() ?? new Map<string, ContainerEnergy>(),
    );
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

  /**
   * Every query is sent at once (Prometheus evaluates them side by side), and the answers are read
   * one after the other, each folded into its family's containers as it arrives, so that no answer
   * is held whole and none waits in memory for another: the current family's cpu, then its memory
   * (containerEnergies()'s order), its pods meanwhile, then the 0.7 family's cpu and memory, which
   * skip the containers that the current family has (mergeFamilies() would drop them). An answer
   * not yet read waits in its socket.
   */
  private async readFamilies(opts: QueryOptions): Promise<FamilyEnergies[]> {
    const families: FamilyEnergies[] = [];
    const reads: Promise<void>[] = [];
    let previous: Promise<void> | undefined;
    for (const family of this.families) {
      const q = familyQueries(family, this.config.intervalMs);
      const first = families[0];
      const energies = new FamilyEnergies(family, first ? (id) => first.has(id) : undefined);
      families.push(energies);
      const cpu = this.prometheus.stream(q.energy.cpu, opts, (s) => energies.add('cpu', s), previous);
      const memory = this.prometheus.stream(q.energy.memory, opts, (s) => energies.add('memory', s), cpu);
      reads.push(cpu, memory);
      if (q.pods) reads.push(this.prometheus.stream(q.pods, opts, (s) => energies.addPod(s)));
      previous = memory;
    }
    await Promise.all(reads);
    return families;
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
