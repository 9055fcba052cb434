// Wires the exporter together from a validated Config. Data flows one way: the meter's zones
// and the resource informer feed the PowerMonitor; its snapshots feed the exporters; the web
// server only routes requests to them.

import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ConfigError, type Config } from '../config/config.js';
import { EstimatorMeter, type EstimatorDescription } from '../device/estimatorMeter.js';
import { DcgmActivity } from '../device/gpu/dcgmActivity.js';
import type { GpuMeter } from '../device/gpu/gpuMeter.js';
import { openNvml } from '../device/gpu/nvml/nvmlLibrary.js';
import { ACPI_ERROR_KINDS, AcpiReader, findAcpiSensors } from '../device/platform/acpiPlatform.js';
import type { PlatformReading, PlatformSource } from '../device/platform/platformSource.js';
import { PolledPlatform, type PowerReader } from '../device/platform/polledPlatform.js';
import { REDFISH_ERROR_KINDS, RedfishClient, RedfishError } from '../device/platform/redfish/redfishClient.js';
import { bmcForNode, loadBmcFile, type BmcTargetConfig } from '../config/redfishBmcs.js';
import { selectMeter, type MeterChoice } from '../device/meterSelection.js';
import type { Collector } from '../exporter/prometheus/collector.js';
import { buildCollectors } from '../exporter/prometheus/collectors.js';
import { KubeInformerCollector } from '../exporter/prometheus/kubeInformerCollector.js';
import { PrometheusExporter } from '../exporter/prometheus/prometheusExporter.js';
import { VmPowercapWriter } from '../exporter/passthrough/vmPowercapWriter.js';
import { StdoutExporter } from '../exporter/stdout/stdoutExporter.js';
import type { ApiMeter } from '../exporter/web/apiTypes.js';
import { PowerHistory } from '../exporter/web/powerHistory.js';
import { WebApi } from '../exporter/web/webApi.js';
import type { PodInformer } from '../k8s/podInformer.js';
import type { Logger } from '../logger/logger.js';
import { assessHealth, probeAnswer, type Health } from '../monitor/health.js';
import { knownIdleWatts, PowerMonitor, type IdleOptions } from '../monitor/powerMonitor.js';
import type { Snapshot } from '../monitor/snapshot.js';
import { architectureOf } from '../estimation/hostProfile.js';
import { parseCpuInfo } from '../resource/cpuInfo.js';
import { parseHostCpuInfo } from '../resource/hostCpu.js';
import { ResourceInformer } from '../resource/resourceInformer.js';
import { landingPageHandler } from '../server/landingPage.js';
import { loadPageAssets } from '../server/pageAssets.js';
import { WebServer, type Handler } from '../server/webServer.js';
import { readBuildInfo } from '../util/buildInfo.js';

export class Application {
  readonly nodeName: string;
  readonly meter: MeterChoice;
  /** The GPU meter (experimental.gpu.enabled with a readable NVML), and the MIG activity poller it reads. */
  readonly gpu: { meter: GpuMeter; dcgm?: DcgmActivity } | undefined;
  /** vm.passthrough: the VMs' powercap trees, written at every snapshot. */
  private vmPowercap: VmPowercapWriter | undefined;
  /** Platform power: the BMC (experimental.platform.redfish) and ACPI's power_meter. */
  readonly platform: readonly PlatformSource[];
  readonly monitor: PowerMonitor;
  readonly server: WebServer;
  readonly prometheus: PrometheusExporter;
  /** The live page's last 15 minutes (/api/v1/history). */
  readonly history = new PowerHistory();
  podInformer: PodInformer | undefined;
  /** Set by stop(), which may come while start() is still waiting for Kubernetes. */
  private stopped = false;
  /** Monotonic ms of construction: how long /probe/livez waits for a first refresh. */
  private readonly startedMs = performance.now();

  /** Builds every part; throws NoMeterError or ConfigError before anything starts. */
  constructor(
    private readonly config: Config,
    private readonly logger: Logger,
  ) {
    this.nodeName = config.kube.nodeName || hostname();
    this.meter = selectMeter(config, undefined, undefined, logger.with({ component: 'meter' }));
    this.logMeterChoice();
    this.warnUnsupported();
    const idle = this.idleOptions();
    this.gpu = this.openGpu();
    this.platform = this.platformSources();

    // The pod informer is created in start(): its module loads the Kubernetes client.
    const pods = config.kube.enabled ? { lookup: (id: string) => this.podInformer?.lookup(id) } : undefined;
    // Processes are read only where something shows them: the process metrics, the 0.7 family (its pseudo
    // containers need the kernel threads), GPU power (NVML reports pids), the stdout exporter. Without them
    // the informer finds containers, pods and VMs from the cgroup tree, at a fraction of the cost.
    const processes =
      config.exporter.prometheus.metricsLevel.includes('process') || config.exporter.prometheus.legacyMetrics || this.gpu !== undefined || config.exporter.stdout.enabled;
    const informer = new ResourceInformer({ procfs: config.host.procfs, sysfs: config.host.sysfs, pods, processes });
    const layout = informer.cgroupLayout();
    const mode = processes ? 'every process read at each refresh' : 'none read: containers, pods and VMs from the cgroup tree (no process level)';
    logger.info('cgroup accounting', { v2: layout.v2Root ?? 'none', v1_cpuacct: layout.v1CpuacctRoot ?? 'none', processes: mode });
    this.monitor = new PowerMonitor({
      zones: this.meter.zones,
      resources: informer,
      intervalMs: config.monitor.intervalMs,
      stalenessMs: config.monitor.stalenessMs,
      maxTerminated: config.monitor.maxTerminated,
      minTerminatedEnergyThresholdJ: config.monitor.minTerminatedEnergyThreshold,
      terminatedRetentionMs: config.monitor.terminatedRetentionMs,
      maxZoneWatts: config.monitor.maxZoneWatts,
      idle,
      ...(this.gpu ? { gpu: { meter: this.gpu.meter, idleWatts: config.experimental.gpu.idlePower } } : {}),
      platform: this.platform,
      logger: logger.with({ component: 'monitor' }),
    });

    this.prometheus = new PrometheusExporter(this.monitor, logger.with({ component: 'prometheus' }));
    this.prometheus.register(...this.collectors());
    if (config.exporter.stdout.enabled) this.monitor.onSnapshot(new StdoutExporter().onSnapshot);
    this.monitor.onSnapshot(this.history.onSnapshot);
    const vmTrees = config.vm.passthrough;
    if (vmTrees.enabled) {
      // On a hypervisor: each VM's energy as a powercap tree its guest reads (the guest's passthrough meter).
      this.vmPowercap = new VmPowercapWriter({
        dir: vmTrees.dir,
        keepMs: vmTrees.keepMs,
        zoneNames: this.meter.zones.map((z) => z.name),
        logger: logger.with({ component: 'vm-passthrough' }),
      });
      this.monitor.onSnapshot(this.vmPowercap.onSnapshot);
      logger.info('VM energy passed through to the guests', { dir: vmTrees.dir, keep: `${vmTrees.keepMs}ms` });
    }

    this.server = new WebServer({ listenAddresses: config.web.listenAddresses, webConfigFile: config.web.configFile, logger: logger.with({ component: 'web' }) });
    this.registerRoutes();
  }

  /** Starts everything; throws ConfigError when kube.enabled has no credentials to use. */
  async start(): Promise<void> {
    if (this.config.kube.enabled) {
      // Imported only when used: the Kubernetes client alone adds about 40 MiB of memory.
      const { createPodInformer } = await import('../k8s/createPodInformer.js');
      this.podInformer = createPodInformer(this.config.kube, this.logger.with({ component: 'kube' }));
      await this.podInformer.verifyCredentials?.();
      this.prometheus.register(new KubeInformerCollector(this.podInformer));
      this.podInformer.start();
      // The first refresh labels every container: give Kubernetes a moment to answer first, so
      // that a restart does not export one interval of unnamed series.
      if (!(await this.podInformer.whenSynced(5000))) this.logger.warn('no pod metadata yet; containers are labelled once Kubernetes answers');
      if (this.stopped) return;
    }
    this.gpu?.dcgm?.start();
    for (const p of this.platform) p.start();
    this.monitor.start();
    await this.server.start();
    if (this.stopped) {
      await this.server.close(0);
      return;
    }
    this.logger.info('kepler-ts started', {
      listen: this.server
        .addresses()
        .map((a) => `${a.address}:${a.port}`)
        .join(','),
      node_name: this.nodeName,
      interval: `${this.config.monitor.intervalMs}ms`,
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.monitor.stop();
    this.gpu?.dcgm?.stop();
    this.podInformer?.stop();
    await Promise.all(this.platform.map((p) => p.stop()));
    await this.server.close(4000);
    // After the server: a scrape still in flight may refresh, and reads the GPUs.
    this.gpu?.meter.close();
    this.vmPowercap?.close();
  }

  private collectors(): Collector[] {
    const cpuinfo = readCpuInfo(this.config.host.procfs);
    return buildCollectors({
      nodeName: this.nodeName,
      prometheus: this.config.exporter.prometheus,
      meter: { name: this.meter.meter.name, zones: this.meter.zones, status: () => this.meter.meter.status?.() },
      ...(this.gpu ? { gpus: this.gpu.meter.devices } : {}),
      cpus: cpuinfo ? parseCpuInfo(cpuinfo) : [],
      cpuArchitecture: (cpuinfo && architectureOf(parseHostCpuInfo(cpuinfo))) || 'unknown',
      estimate: this.estimatorDescription(),
      build: readBuildInfo(),
      scrapeStats: () => this.prometheus.scrapeStats(),
      authStats: () => this.server.authStats(),
      snapshots: this.monitor,
      logger: this.logger,
    });
  }

  private registerRoutes(): void {
    const endpoints: { path: string; description: string }[] = [];
    if (this.config.exporter.prometheus.enabled) {
      this.server.route('/metrics', this.prometheus.handle);
      endpoints.push({ path: '/metrics', description: 'Prometheus metrics (OpenMetrics when asked for)' });
    }
    // Without basic auth: kubelet probes carry no credentials, and the answer reveals no workload.
    // /healthz is ours; /probe/livez and /probe/readyz are Kepler's, which its Helm chart probes.
    const health =
      (answer: (s: Snapshot | undefined, h: Health, nowMs: number) => boolean): Handler =>
      (_req, res) => {
        const s = this.monitor.latest();
        // Monotonic time: a clock step (NTP) must not read as a stalled loop.
        const nowMs = performance.now();
        const h = assessHealth(s, nowMs, this.config.monitor.intervalMs);
        res.writeHead(answer(s, h, nowMs) ? 200 : 503, { 'Content-Type': 'application/json' });
        const body = { status: h.status, meter: this.meter.meter.name, lastRefresh: s ? new Date(s.timestampMs).toISOString() : null };
        res.end(JSON.stringify(h.failingZones.length ? { ...body, failingZones: h.failingZones } : body) + '\n');
      };
    const interval = this.config.monitor.intervalMs;
    this.server.route(
      '/healthz',
      health((_s, h) => h.healthy),
      { auth: false },
    );
    this.server.route(
      '/probe/livez',
      health((s, h, nowMs) => probeAnswer('live', h, s, nowMs - this.startedMs, interval)),
      { auth: false },
    );
    this.server.route(
      '/probe/readyz',
      health((s, h, nowMs) => probeAnswer('ready', h, s, nowMs - this.startedMs, interval)),
      { auth: false },
    );
    endpoints.push({ path: '/healthz', description: 'health: 200 while refreshes run (status degraded when a zone fails), 503 when they stall or no zone reads' });
    endpoints.push({ path: '/probe/livez', description: "Kepler's liveness probe: 200 while starting or healthy" });
    endpoints.push({ path: '/probe/readyz', description: "Kepler's readiness probe: 200 once the first refresh is done and while healthy" });
    if (this.config.debug.pprof.enabled) {
      this.server.route('/debug/pprof/', (_req, res) => {
        res.writeHead(501, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end('Go pprof profiles do not exist in kepler-ts. Profile Node.js with `node --cpu-prof` or `node --heap-prof` instead.\n');
      });
      endpoints.push({ path: '/debug/pprof/', description: 'profiling: not available in kepler-ts (explains why)' });
    }
    const api = new WebApi({
      latest: () => this.monitor.latest(),
      history: this.history,
      nodeName: this.nodeName,
      version: readBuildInfo().version,
      meter: () => this.apiMeter(),
      refreshIntervalSec: interval / 1000,
      health: (s) => assessHealth(s, performance.now(), interval),
    });
    this.server.route('/api/v1/snapshot', api.snapshot);
    this.server.route('/api/v1/history', api.history);
    endpoints.push({ path: '/api/v1/snapshot', description: 'the latest refresh as JSON: node power per zone, the top workloads per level (?top=N), health' });
    endpoints.push({ path: '/api/v1/history', description: "the last 15 minutes of node and top workloads' power as JSON (?since=ms)" });
    // The live page: its script and stylesheet behind the same TLS and basic auth as /metrics.
    const assets = loadPageAssets();
    if (!assets.available) this.logger.warn(assets.problem ?? 'the live page is not built');
    for (const r of assets.routes) this.server.route(r.path, r.handler);
    const estimate = this.estimatorDescription();
    this.server.route(
      '/',
      landingPageHandler({
        version: readBuildInfo().version,
        nodeName: this.nodeName,
        meter: this.meter.meter.name,
        zones: this.meter.zones.map((z) => ({ name: z.name, path: z.path })),
        ...(estimate ? { estimateNotice: estimateSummary(estimate, this.meter.rejected) } : {}),
        endpoints,
        liveView: assets.available,
      }),
    );
  }

  /** The meter as the live page shows it: what it is, what it is doing, and whether it estimates. */
  private apiMeter(): ApiMeter {
    const state = this.meter.meter.status?.();
    const estimate = this.estimatorDescription();
    return {
      name: this.meter.meter.name,
      ...(state ? { state } : {}),
      estimated: estimate !== undefined,
      ...(estimate ? { model: estimate.model, notice: estimateSummary(estimate, this.meter.rejected) } : {}),
    };
  }

  private logMeterChoice(): void {
    const { meter, zones, rejected, fellBack } = this.meter;
    const fields = {
      meter: meter.name,
      zones: zones.map((z) => `${z.name}(${z.path})`).join(','),
      not_chosen: rejected.map((r) => `${r.meter}: ${r.reason}`).join('; ') || 'none',
    };
    const estimate = this.estimatorDescription();
    // Said once, at start-up: every later number comes from this choice.
    if (fellBack && estimate) this.logger.warn(`no power meter is readable; power is estimated: ${estimateSummary(estimate, [])}`, fields);
    else this.logger.info(`meter chosen: ${meter.name}`, fields);
    for (const w of estimate?.warnings ?? []) this.logger.warn(w);
    if (estimate) this.logger.info('power estimator', { model: estimate.model, ...estimate.parameters, detection: estimate.host.notes.join('; ') || 'complete' });
  }

  /**
   * monitor.idle for the monitor, with the estimator's own idle watts when it is the meter; says
   * once where each zone's idle power comes from. Throws ConfigError (exit 2) for a zone in
   * monitor.idle.watts that the chosen meter does not have: a typo would otherwise pin nothing.
   */
  private idleOptions(): IdleOptions {
    const { model, watts, attribution } = this.config.monitor.idle;
    const names = [...new Set(this.meter.zones.map((z) => z.name))];
    for (const zone of Object.keys(watts)) {
      if (!names.includes(zone)) {
        throw new ConfigError(`config: monitor.idle.watts.${zone}: unknown zone: expected one of the ${this.meter.meter.name} meter's zones: ${names.join(', ') || 'none'}`);
      }
    }
    const meterWatts = this.meter.meter instanceof EstimatorMeter ? this.meter.meter.idleWatts() : undefined;
    const opts: IdleOptions = { model, attribution, pinnedWatts: watts, ...(meterWatts ? { meterWatts } : {}) };
    const known = knownIdleWatts(
      this.meter.zones.map((z) => z.name),
      watts,
      meterWatts,
    );
    const sources = this.meter.zones.map((z, i) => {
      if (model === 'usage-ratio') return `${z.name}: total x (1 - usage)`;
      const k = known[i];
      return k
        ? `${z.name}: ${k.source} ${Math.round(k.watts * 100) / 100} W`
        : `${z.name}: learned from the meter (Kepler's split until a first interval, the lowest power seen until usage varies)`;
    });
    if (model === 'usage-ratio' && Object.keys(watts).length > 0) this.logger.warn('monitor.idle.watts is ignored with monitor.idle.model usage-ratio');
    this.logger.info('idle power', { model, attribution, zones: sources.join('; ') });
    return opts;
  }

  /**
   * With experimental.gpu.enabled: NVML, and dcgm-exporter for MIG when an endpoint is set. Without
   * a readable NVML the exporter runs without GPU power, and says why once.
   */
  private openGpu(): Application['gpu'] {
    const g = this.config.experimental.gpu;
    if (!g.enabled) return undefined;
    const log = this.logger.with({ component: 'gpu' });
    const dcgm = g.dcgmEndpoint !== '' ? new DcgmActivity({ endpoint: g.dcgmEndpoint, logger: log }) : undefined;
    const opened = openNvml({ logger: log, ...(dcgm ? { dcgm } : {}) });
    if ('reason' in opened) {
      log.warn(opened.reason);
      return undefined;
    }
    log.info('GPU power', {
      gpus: opened.meter.devices.length,
      idle: g.idlePower > 0 ? `experimental.gpu.idlePower ${g.idlePower} W per GPU` : 'the lowest power seen with no compute process (0 W until then)',
      mig_activity: dcgm ? g.dcgmEndpoint : 'none (MIG instances share equally)',
    });
    return { meter: opened.meter, ...(dcgm ? { dcgm } : {}) };
  }

  /**
   * The platform power sources: the BMC over Redfish with experimental.platform.redfish.enabled
   * (its node from redfish.nodeName, else the node name; a BMC file that names no BMC for it
   * stops start-up, exit 2), and ACPI's power_meter where hwmon has one that no CPU zone reads.
   */
  private platformSources(): PlatformSource[] {
    const out: PlatformSource[] = [];
    const r = this.config.experimental.platform.redfish;
    const log = this.logger.with({ component: 'platform' });
    if (r.enabled) {
      const node = r.nodeName || this.nodeName;
      const file = loadBmcFile(r.configFile);
      for (const w of file.warnings) log.warn(w);
      const target = bmcForNode(file, node, r.configFile);
      // After a refusal the whole file is read again: a rotated Secret updates it in place.
      const lookup = () => bmcForNode(loadBmcFile(r.configFile), node, r.configFile);
      const reader = new CredentialReloadingReader(lookup, (t) => new RedfishClient({ ...t, timeoutMs: r.httpTimeoutMs }), target);
      const describe = { bmc_id: target.id, endpoint: target.endpoint };
      out.push(new PolledPlatform({ name: 'redfish', reader, errorKinds: REDFISH_ERROR_KINDS, pollIntervalMs: r.pollIntervalMs, describe, logger: log }));
      log.info('platform power from the BMC (Redfish)', { node, ...describe, poll_interval: `${r.pollIntervalMs}ms`, http_timeout: `${r.httpTimeoutMs}ms` });
    }
    const inUse = new Set(this.meter.zones.map((z) => z.path));
    const acpi = findAcpiSensors(this.config.host.sysfs).filter((s) => !inUse.has(s.file));
    if (acpi.length > 0) {
      // Read as often as the node is refreshed (the firmware averages over about a second), at least every 10 s.
      const pollIntervalMs = Math.min(Math.max(this.config.monitor.intervalMs, 1000), 10_000);
      const describe = { sensors: acpi.map((s) => s.file).join(',') };
      out.push(new PolledPlatform({ name: 'acpi', reader: new AcpiReader(acpi), errorKinds: ACPI_ERROR_KINDS, pollIntervalMs, describe, logger: log }));
      log.info('platform power from ACPI power_meter', { ...describe, poll_interval: `${pollIntervalMs}ms` });
    }
    return out;
  }

  private estimatorDescription(): EstimatorDescription | undefined {
    return this.meter.meter instanceof EstimatorMeter ? this.meter.meter.description() : undefined;
  }

  private warnUnsupported(): void {
    const c = this.config;
    const unsupported: [boolean, string][] = [[c.debug.pprof.enabled, 'debug.pprof.enabled: Go pprof does not exist in kepler-ts; /debug/pprof/ explains how to profile Node.js']];
    for (const [on, msg] of unsupported) if (on) this.logger.warn(msg);
    for (const n of this.meter.notices) this.logger[n.level](n.message);
    if (c.experimental.gpu.dcgmEndpoint !== '' && !c.experimental.gpu.enabled) {
      this.logger.info('experimental.gpu.dcgmEndpoint: not used: GPU power is off (experimental.gpu.enabled)', { dcgm_endpoint: c.experimental.gpu.dcgmEndpoint });
    }
  }
}

/**
 * The Redfish client, made again with the credentials read anew (the BMC file, usernameFile,
 * passwordFile, caFile: a rotated Kubernetes Secret) after the BMC refused them: a new password
 * reaches the exporter without a restart. A file that cannot be read keeps the client as it was.
 */
class CredentialReloadingReader implements PowerReader {
  private client: RedfishClient;

  constructor(
    private readonly lookup: () => BmcTargetConfig,
    private readonly make: (t: BmcTargetConfig) => RedfishClient,
    target: BmcTargetConfig,
  ) {
    this.client = make(target);
  }

  async readPower(): Promise<PlatformReading[]> {
    try {
      return await this.client.readPower();
    } catch (err) {
      if (err instanceof RedfishError && err.kind === 'auth') {
        let target: BmcTargetConfig | undefined;
        try {
          target = this.lookup();
        } catch {
          // the files could not be read: the next poll tries again
        }
        if (target) {
          await this.client.close().catch(() => undefined);
          this.client = this.make(target);
        }
      }
      throw err;
    }
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

function readCpuInfo(procfs: string): string | undefined {
  try {
    return readFileSync(join(procfs, 'cpuinfo'), 'utf8');
  } catch {
    return undefined;
  }
}

/** One sentence on what is estimated and how, for the log and the landing page. */
function estimateSummary(d: EstimatorDescription, rejected: { meter: string; reason: string }[]): string {
  const p = d.parameters;
  const what = d.virtualMachine
    ? `a virtual machine (${d.host.virtualization.hypervisor}) estimated as ${(d.share * 100).toFixed(1)} % of a host with ${d.host.spec.cpuName}`
    : `${d.host.spec.chips} x ${d.host.spec.cpuName}, ${Math.round(d.host.spec.memGb)} GB`;
  const why = rejected.length ? ` No meter was readable (${rejected.map((r) => `${r.meter}: ${r.reason}`).join('; ')}).` : '';
  return `Model ${d.model} for ${what}: ${p.machine_idle_watts} W idle to ${p.machine_max_watts} W at full load${d.calibrated ? ', calibrated from configuration' : ''}.${why} Zones read estimator:${d.model}; the estimator settings (README) correct it.`;
}
