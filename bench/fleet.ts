// Section 9: a fleet. N real exporters (node dist/src/cli/main.js), each over a simulated node of
// its own (bench/fleetNode.ts: RAPL zones, /proc with its processes, the containers' cgroups),
// scraped every 5 s by one real Prometheus (Debian package `prometheus`); half of the nodes
// export the Kepler 0.7 family too (exporter.prometheus.legacyMetrics), so both are measured side
// by side in the same Prometheus. Measured: series per node (the exporter's /metrics, and
// Prometheus's head), Prometheus's ingestion and its head memory and CPU over a baseline taken
// with the same Prometheus before it scraped anything; then the aether plugin
// (dist/bundle/kepler-aether-source under the real go-plugin client) querying that Prometheus.
// Every process started here (exporters, Prometheus) runs under a watchdog shell that stops it
// when the benchmark goes away.

import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HostEvent } from '../harness/goPluginHost.js';
import { hostRun, pluginEnv } from './aether.js';
import { FleetNode } from './fleetNode.js';
import { clockTicksPerSec, cpuTicks, envInt, fmt, freePort, guarded, kib, median, mib, onCleanup, OtherLoad, progress, sleep, statusBytes, table, type Guarded } from './util.js';

export interface FleetOptions {
  nodes: number;
  seconds: number;
  procs: number;
  containers: number;
  /** Processes replaced per node per minute. */
  churnPerMin: number;
}

export function fleetOptions(): FleetOptions {
  return {
    nodes: Math.max(1, Math.round(envInt('BENCH_FLEET_NODES', 20))),
    seconds: envInt('BENCH_FLEET_SECONDS', 600),
    procs: Math.max(10, Math.round(envInt('BENCH_FLEET_PROCS', 200))),
    containers: Math.max(3, Math.round(envInt('BENCH_FLEET_CONTAINERS', 20))),
    churnPerMin: envInt('BENCH_FLEET_CHURN', 6),
  };
}

const INTERVAL_SEC = 5;
const CPUS = 16;
/** Prometheus runs this long with no target before the baseline is read. */
const BASELINE_SEC = 30;
const AETHER_FETCHES = 5;
const AETHER_WINDOW = '5m';
/** For the sizing lines: Prometheus's usual on-disk cost after compaction (not measured here). */
const DISK_BYTES_PER_SAMPLE = 1.5;

/** Prometheus's own readings at one moment (its /metrics, read directly: it does not scrape itself). */
interface PromReading {
  t: number;
  headSeries: number;
  appended: number;
  rss: number;
  heapInuse: number;
  cpuSec: number;
  queryRequests: number;
  queryBytes: number;
  queryEvalSec: number;
}

export interface FleetGroup {
  legacy: boolean;
  nodes: number;
  /** Medians over the group's nodes. */
  exporterSeries: number;
  bySection: Record<string, number>;
  scrapeBytes: number;
  /** Series Prometheus holds live for the group (last sample within 5 min), per node. */
  liveSeries: number;
  /** Series Prometheus's head holds for the group at the end, per node (NaN: the TSDB status did not list the group). */
  headSeries: number;
  /** New head series per node per minute over the window: process churn, and processes seen using CPU for the first time. */
  headGrowthPerMin: number;
  samplesPerScrape: number;
  exporterCpuPercent: number;
  exporterRss: number;
  containers: number;
  pods: number;
  processes: number;
}

export interface FleetResult {
  o: FleetOptions;
  groups: FleetGroup[];
  base: PromReading;
  start: PromReading;
  end: PromReading;
  over: PromReading[];
  walBytes: number;
  /** kepler_exporter_refresh_errors_total summed over the fleet, by kind (those above 0). */
  refreshErrors: Record<string, number>;
  scrapeDurationMs: number;
  upTargets: number;
  processesStarted: number;
  othersCores: number;
  tickMs: number;
  aether: AetherFleetResult | string;
  elapsedSec: number;
}

export interface AetherFleetResult {
  fetchMs: number[];
  instances: number;
  expected: number;
  hwm: number;
  rssAfterHandshake: number;
  queries: number;
  queryBytes: number;
  queryEvalSec: number;
}

// ---------------------------------------------------------------- processes under a watchdog

async function getText(url: string, timeoutMs = 30_000): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`${url}: ${res.status}`);
  return res.text();
}

async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>, detail: () => string = () => ''): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    if (performance.now() > deadline) throw new Error(`fleet: ${what} within ${timeoutMs / 1000} s. ${detail()}`);
    await sleep(250);
  }
}

// ---------------------------------------------------------------- expositions

/** Value of every sample line of an exposition whose series starts with `prefix` (name, or name{labels...), summed. */
function sumOf(text: string, name: string, labelsInclude: string[] = []): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== ' ' && line[name.length] !== '{')) continue;
    if (!labelsInclude.every((l) => line.includes(l))) continue;
    const v = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(v)) sum += v;
  }
  return sum;
}

/** The section of the exposition a series belongs to. */
function sectionOf(line: string): string {
  const name = line.slice(0, line.search(/[ {]/));
  if (name === 'kepler_node_info' || /[{,]mode="(dynamic|idle)"/.test(line)) return '0.7';
  const m = /^kepler_(node|process|container|pod|vm)_/.exec(name);
  if (m) return m[1];
  return 'other';
}

function seriesOf(text: string): { total: number; bySection: Record<string, number>; containers: Set<string>; pods: Set<string> } {
  const bySection: Record<string, number> = {};
  const containers = new Set<string>();
  const pods = new Set<string>();
  let total = 0;
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    total++;
    const s = sectionOf(line);
    bySection[s] = (bySection[s] ?? 0) + 1;
    if (line.startsWith('kepler_container_cpu_joules_total{') && line.includes('state="running"')) {
      const id = /container_id="([^"]*)"/.exec(line)?.[1];
      if (id) containers.add(id);
    }
    if (line.startsWith('kepler_pod_cpu_joules_total{') && line.includes('state="running"')) {
      const id = /pod_id="([^"]*)"/.exec(line)?.[1];
      if (id) pods.add(id);
    }
  }
  return { total, bySection, containers, pods };
}

// ---------------------------------------------------------------- Prometheus

class Prometheus {
  private constructor(
    readonly url: string,
    private readonly proc: Guarded,
    readonly dir: string,
  ) {}

  static async start(dir: string): Promise<Prometheus> {
    const port = await freePort();
    mkdirSync(join(dir, 'data'), { recursive: true });
    writeFileSync(join(dir, 'prometheus.yml'), 'global: {scrape_interval: 5s, evaluation_interval: 1m}\nscrape_configs: []\n');
    const proc = await guarded('prometheus', [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.enable-lifecycle',
      '--log.level=warn',
    ]);
    const p = new Prometheus(`http://127.0.0.1:${port}`, proc, dir);
    await waitFor(
      'Prometheus was not ready',
      30_000,
      async () => (await fetch(`${p.url}/-/ready`)).ok,
      () => proc.stderr(),
    );
    return p;
  }

  get pid(): number {
    return this.proc.pid;
  }

  /** Replaces the scrape configuration (POST /-/reload). */
  async configure(yaml: string): Promise<void> {
    writeFileSync(join(this.dir, 'prometheus.yml'), yaml);
    const res = await fetch(`${this.url}/-/reload`, { method: 'POST' });
    if (!res.ok) throw new Error(`fleet: Prometheus refused the new configuration: ${res.status} ${await res.text()}\n${this.proc.stderr()}`);
  }

  async reading(): Promise<PromReading> {
    const text = await getText(`${this.url}/metrics`);
    const q = ['handler="/api/v1/query"'];
    return {
      t: performance.now() / 1000,
      headSeries: sumOf(text, 'prometheus_tsdb_head_series'),
      appended: sumOf(text, 'prometheus_tsdb_head_samples_appended_total'),
      rss: sumOf(text, 'process_resident_memory_bytes'),
      heapInuse: sumOf(text, 'go_memstats_heap_inuse_bytes'),
      cpuSec: sumOf(text, 'process_cpu_seconds_total'),
      queryRequests: sumOf(text, 'prometheus_http_requests_total', q),
      queryBytes: sumOf(text, 'prometheus_http_response_size_bytes_sum', q),
      queryEvalSec: sumOf(text, 'prometheus_engine_query_duration_seconds_sum', ['slice="inner_eval"']),
    };
  }

  async query(expr: string): Promise<{ metric: Record<string, string>; value: number }[]> {
    const res = await fetch(`${this.url}/api/v1/query`, { method: 'POST', body: new URLSearchParams({ query: expr }) });
    const json = (await res.json()) as { status: string; error?: string; data?: { result: { metric: Record<string, string>; value: [number, string] }[] } };
    if (json.status !== 'success' || !json.data) throw new Error(`fleet: query ${expr}: ${json.error}`);
    return json.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  }

  /** Head series per `kepler07` group, from the TSDB status page (its top label pairs); empty when they are not among them. */
  async headByGroup(): Promise<Map<string, number>> {
    const json = (await (await fetch(`${this.url}/api/v1/status/tsdb`)).json()) as { data?: { seriesCountByLabelValuePair?: { name: string; value: number }[] } };
    const out = new Map<string, number>();
    for (const p of json.data?.seriesCountByLabelValuePair ?? []) if (p.name.startsWith('kepler07=')) out.set(p.name.slice('kepler07='.length), p.value);
    return out;
  }

  stderr(): string {
    return this.proc.stderr();
  }

  stop(): Promise<void> {
    return this.proc.stop();
  }
}

function dirBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) n += dirBytes(p);
    else if (e.isFile()) n += statSync(p).size;
  }
  return n;
}

// ---------------------------------------------------------------- the aether plugin over the fleet

/** The go-plugin host runs the bundle against the fleet's Prometheus; the plugin's memory is read as each Fetch returns. */
async function aetherOverFleet(prom: Prometheus, expected: number): Promise<AetherFleetResult> {
  const before = await prom.reading();
  const host = await hostRun(['-fetches', String(AETHER_FETCHES), '-stdio'], pluginEnv(prom.url, { KEPLER_METRICS: 'auto' }), 600_000);
  const run = {
    ...host,
    hwm: Math.max(...host.samples.map((s) => s.hwm)),
    rssAfterHandshake: host.samples.find((s) => s.after === 0)?.rss ?? NaN,
  };
  const after = await prom.reading();
  if (run.code !== 0) throw new Error(`aether-host exit ${run.code}: ${run.stderr.slice(-2000)}`);
  const fetches = run.events.filter((e): e is Extract<HostEvent, { event: 'fetch' }> => e.event === 'fetch');
  if (fetches.length !== AETHER_FETCHES) throw new Error(`${fetches.length} Fetch events, expected ${AETHER_FETCHES}`);
  let instances = 0;
  for (const f of fetches) {
    if (!('instances' in f)) throw new Error(`Fetch ${f.n} failed: ${f.code}: ${f.error}`);
    instances = f.instances.length;
  }
  return {
    fetchMs: fetches.map((f) => f.ms),
    instances,
    expected,
    hwm: run.hwm,
    rssAfterHandshake: run.rssAfterHandshake,
    queries: (after.queryRequests - before.queryRequests) / AETHER_FETCHES,
    queryBytes: (after.queryBytes - before.queryBytes) / AETHER_FETCHES,
    queryEvalSec: (after.queryEvalSec - before.queryEvalSec) / AETHER_FETCHES,
  };
}

// ---------------------------------------------------------------- the section

interface Exporter {
  node: FleetNode;
  legacy: boolean;
  port: number;
  proc: Guarded;
}

export async function benchFleet(o: FleetOptions): Promise<FleetResult> {
  const t0 = performance.now();
  // Prometheus's data on the disk, as usual; the nodes' trees in memory where there is a tmpfs (as
  // /proc and /sys are), so that advancing them every second costs little.
  const dir = mkdtempSync(join(tmpdir(), 'kepler-bench-fleet-'));
  const nodesDir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'kepler-bench-fleet-nodes-'));
  const removeDir = onCleanup(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(nodesDir, { recursive: true, force: true });
  });
  const main = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
  const nodes: FleetNode[] = [];
  const exporters: Exporter[] = [];
  let prom: Prometheus | undefined;
  const timers: NodeJS.Timeout[] = [];
  /** Time of one node's advance, ms. */
  const tickMs: number[] = [];
  try {
    progress(`fleet: ${o.nodes} simulated nodes of ${o.procs} processes in ${o.containers} containers`);
    for (let i = 0; i < o.nodes; i++) nodes.push(new FleetNode({ dir: join(nodesDir, `node-${i}`), index: i, procs: o.procs, containers: o.containers, cpus: CPUS }));
    // Every node's clock advances each second, the nodes spread over the second; each node replaces
    // a process every 60/churn s.
    const churnEveryMs = o.churnPerMin > 0 ? 60_000 / o.churnPerMin : Infinity;
    for (const [i, n] of nodes.entries()) {
      let last = performance.now();
      let nextChurn = last + churnEveryMs * ((i + 1) / nodes.length);
      const advance = () => {
        const now = performance.now();
        n.advance((now - last) / 1000);
        last = now;
        if (now >= nextChurn) {
          n.churn(1);
          nextChurn += churnEveryMs;
        }
        tickMs.push(performance.now() - now);
      };
      timers.push(
        setTimeout(
          () => {
            advance();
            timers.push(setInterval(advance, 1000));
          },
          (i * 1000) / nodes.length,
        ),
      );
    }

    prom = await Prometheus.start(join(dir, 'prometheus'));
    const promRef = prom;
    progress(`fleet: Prometheus pid ${prom.pid} at ${prom.url}, no target yet`);

    for (const [i, node] of nodes.entries()) {
      const legacy = i % 2 === 0;
      const port = await freePort();
      const config = join(nodesDir, `node-${i}`, 'config.yaml');
      writeFileSync(
        config,
        [
          'log: {level: warn}',
          `host: {sysfs: "${node.sysfs}", procfs: "${node.procfs}"}`,
          `monitor: {interval: ${INTERVAL_SEC}s}`,
          'cpu: {preferredMeters: [rapl]}',
          `exporter: {prometheus: {legacyMetrics: ${legacy}}}`,
          `web: {listenAddresses: ["127.0.0.1:${port}"]}`,
          `kube: {nodeName: ${node.name}}`,
          '',
        ].join('\n'),
      );
      const proc = await guarded(process.execPath, [main, `--config.file=${config}`]);
      exporters.push({ node, legacy, port, proc });
      await waitFor(
        `exporter ${i} did not answer on port ${port}`,
        60_000,
        async () => (await getText(`http://127.0.0.1:${port}/metrics`)).length > 0,
        () => proc.stderr(),
      );
    }
    progress(`fleet: ${exporters.length} exporters up (even nodes with the Kepler 0.7 family); Prometheus baseline over ${BASELINE_SEC} s with no target`);
    await sleep(BASELINE_SEC * 1000);
    const base = await prom.reading();

    const targets = (legacy: boolean) => exporters.filter((e) => e.legacy === legacy).map((e) => `'127.0.0.1:${e.port}'`);
    await prom.configure(
      [
        `global: {scrape_interval: ${INTERVAL_SEC}s, scrape_timeout: ${INTERVAL_SEC}s, evaluation_interval: 1m}`,
        'scrape_configs:',
        '  - job_name: kepler',
        '    static_configs:',
        `      - {targets: [${targets(true).join(', ')}], labels: {kepler07: "on"}}`,
        ...(targets(false).length ? [`      - {targets: [${targets(false).join(', ')}], labels: {kepler07: "off"}}`] : []),
        '',
      ].join('\n'),
    );
    await waitFor(
      'Prometheus did not scrape every exporter',
      60_000,
      async () => (await promRef.query('count(up{job="kepler"} == 1)'))[0]?.value === exporters.length,
      () => promRef.stderr(),
    );
    const start = await prom.reading();
    const headStart = await prom.headByGroup();
    const others = new OtherLoad();
    const ticks0 = exporters.map((e) => cpuTicks(e.proc.pid));
    const procTicks0 = cpuTicks(prom.pid);
    progress(`fleet: every exporter scraped; measuring ${o.seconds} s`);
    const over: PromReading[] = [start];
    const end0 = performance.now() + o.seconds * 1000;
    const every = Math.max(10, Math.min(60, o.seconds / 10)) * 1000;
    for (let next = performance.now() + every; next <= end0 + 1; next += every) {
      await sleep(next - performance.now());
      const r = await prom.reading();
      const prev = over[over.length - 1];
      over.push(r);
      progress(
        `fleet: ${fmt(r.t - start.t, 0)} s: head series ${r.headSeries}, ${fmt((r.appended - prev.appended) / (r.t - prev.t), 0)} samples/s, heap in use ${mib(r.heapInuse)} MiB, RSS ${mib(r.rss)} MiB`,
      );
    }
    await sleep(Math.max(0, end0 - performance.now()));
    const end = await prom.reading();
    if (end.t - over[over.length - 1].t > 1) over.push(end);
    const windowSec = end.t - start.t;
    const exporterCpu = exporters.map((e, i) => ((cpuTicks(e.proc.pid) - ticks0[i]) / clockTicksPerSec() / windowSec) * 100);
    const promTicks = cpuTicks(prom.pid) - procTicks0;
    const othersCores = others.cores(promTicks + ticks0.reduce((a, t, i) => a + (cpuTicks(exporters[i].proc.pid) - t), 0));

    // What each exporter exposes now, and what Prometheus holds of each group.
    const perNode = await Promise.all(
      exporters.map(async (e, i) => {
        const text = await getText(`http://127.0.0.1:${e.port}/metrics`);
        return { e, text, s: seriesOf(text), bytes: Buffer.byteLength(text), cpu: exporterCpu[i], rss: statusBytes(e.proc.pid, 'VmRSS') };
      }),
    );
    const refreshErrors: Record<string, number> = {};
    for (const p of perNode) {
      if (!/^kepler_exporter_meter_info\{[^\n]*rapl/m.test(p.text))
        throw new Error(`fleet: ${p.e.node.name} does not read its RAPL tree: ${/^kepler_exporter_meter_info.*$/m.exec(p.text)?.[0]}`);
      for (const m of p.text.matchAll(/^kepler_exporter_refresh_errors_total\{kind="([^"]+)"\} (\S+)$/gm))
        if (Number(m[2]) > 0) refreshErrors[m[1]] = (refreshErrors[m[1]] ?? 0) + Number(m[2]);
      if (p.s.containers.size < p.e.node.containerIds().length)
        throw new Error(`fleet: ${p.e.node.name} exports ${p.s.containers.size} running containers of its ${p.e.node.containerIds().length}: it does not read its own tree`);
      const foreign = [...p.s.containers].filter((id) => !p.e.node.containerIds().includes(id));
      if (foreign.length > 0) throw new Error(`fleet: ${p.e.node.name} exports containers that are not its own: ${foreign.slice(0, 3).join(', ')}`);
    }
    const headEnd = await prom.headByGroup();
    const live = new Map((await prom.query('count by (kepler07) ({job="kepler"})')).map((r) => [r.metric.kepler07, r.value]));
    const perScrape = new Map((await prom.query('sum by (kepler07) (scrape_samples_scraped{job="kepler"})')).map((r) => [r.metric.kepler07, r.value]));
    const scrapeDurationMs = median((await prom.query('scrape_duration_seconds{job="kepler"}')).map((r) => r.value * 1000));
    const upTargets = (await prom.query('count(up{job="kepler"} == 1)'))[0]?.value ?? 0;
    const groups: FleetGroup[] = [];
    for (const legacy of [false, true]) {
      const g = perNode.filter((p) => p.e.legacy === legacy);
      if (g.length === 0) continue;
      const key = legacy ? 'on' : 'off';
      const sections = new Set(g.flatMap((p) => Object.keys(p.s.bySection)));
      groups.push({
        legacy,
        nodes: g.length,
        exporterSeries: median(g.map((p) => p.s.total)),
        bySection: Object.fromEntries([...sections].map((s) => [s, median(g.map((p) => p.s.bySection[s] ?? 0))])),
        scrapeBytes: median(g.map((p) => p.bytes)),
        liveSeries: (live.get(key) ?? NaN) / g.length,
        headSeries: (headEnd.get(key) ?? NaN) / g.length,
        headGrowthPerMin: ((headEnd.get(key) ?? NaN) - (headStart.get(key) ?? NaN)) / g.length / (windowSec / 60),
        samplesPerScrape: (perScrape.get(key) ?? NaN) / g.length,
        exporterCpuPercent: median(g.map((p) => p.cpu)),
        exporterRss: median(g.map((p) => p.rss)),
        containers: median(g.map((p) => p.s.containers.size)),
        pods: median(g.map((p) => p.s.pods.size)),
        processes: median(g.map((p) => p.e.node.processCount)),
      });
    }
    const walBytes = dirBytes(join(prom.dir, 'data'));

    // The aether plugin over the fleet: Prometheus still scraping, as in production.
    let aether: AetherFleetResult | string;
    try {
      progress(`fleet: the aether plugin, ${AETHER_FETCHES} Fetches over the fleet (window ${AETHER_WINDOW})`);
      aether = await aetherOverFleet(
        prom,
        nodes.reduce((a, n) => a + n.containerIds().length, 0),
      );
      progress(`fleet: aether: Fetch median ${fmt(median(aether.fetchMs), 1)} ms, ${aether.instances} instances, peak RSS ${mib(aether.hwm)} MiB`);
    } catch (err) {
      aether = (err as Error).message.split('\n')[0];
      progress(`fleet: aether SKIPPED: ${aether}`);
    }

    return {
      o,
      groups,
      base,
      start,
      end,
      over,
      walBytes,
      refreshErrors,
      scrapeDurationMs,
      upTargets,
      processesStarted: nodes.reduce((a, n) => a + n.processesStarted, 0),
      othersCores,
      tickMs: median(tickMs),
      aether,
      elapsedSec: (performance.now() - t0) / 1000,
    };
  } finally {
    for (const t of timers) clearTimeout(t);
    await Promise.all(exporters.map((e) => e.proc.stop()));
    await prom?.stop();
    removeDir();
    rmSync(dir, { recursive: true, force: true });
    rmSync(nodesDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- report

const perSec = (a: PromReading, b: PromReading) => (b.appended - a.appended) / (b.t - a.t);
const si = (n: number) => (n >= 1e6 ? `${fmt(n / 1e6, 2)} M` : n >= 1e3 ? `${fmt(n / 1e3, 1)} k` : fmt(n, 0));
const gib = (bytes: number) => (bytes >= 2 ** 30 ? `${fmt(bytes / 2 ** 30, 1)} GiB` : `${mib(bytes)} MiB`);

/** Per-node figures of the whole fleet, and of each group by its share of the series. */
/**
 * Per-node figures of the whole fleet. Go's heap in use swings by a tenth between collections, so
 * memory per head series is the mean over the last three readings (the end included), each over
 * the baseline; memory per node is that times the head series at the end.
 */
function perNodeFigures(r: FleetResult): { samplesPerSec: number; headSeries: number; heap: number; rss: number; cores: number; heapPerSeries: number; rssPerSeries: number } {
  const n = r.o.nodes;
  const headSeries = (r.end.headSeries - r.base.headSeries) / n;
  const last = r.over.slice(-3).filter((x) => x.headSeries > r.base.headSeries);
  const perSeries = (bytes: (x: PromReading) => number) => last.reduce((a, x) => a + (bytes(x) - bytes(r.base)) / (x.headSeries - r.base.headSeries), 0) / last.length;
  const heapPerSeries = perSeries((x) => x.heapInuse);
  const rssPerSeries = perSeries((x) => x.rss);
  return {
    samplesPerSec: perSec(r.start, r.end) / n,
    headSeries,
    heap: heapPerSeries * headSeries,
    rss: rssPerSeries * headSeries,
    cores: (r.end.cpuSec - r.start.cpuSec) / (r.end.t - r.start.t) / n,
    heapPerSeries,
    rssPerSeries,
  };
}

export function fleetTables(r: FleetResult): string {
  const { o } = r;
  const f = perNodeFigures(r);
  const windowSec = r.end.t - r.start.t;
  const sections = ['process', 'container', 'pod', 'node', 'vm', '0.7', 'other'];
  let out = table(
    `9. Fleet: ${o.nodes} exporters scraped every ${INTERVAL_SEC} s by one Prometheus for ${fmt(windowSec, 0)} s; per node: ${o.procs} processes (a tenth kernel threads), ` +
      `${o.containers} containers (podman, docker, Kubernetes pods of two), ${CPUS} CPUs, RAPL package + dram on 2 sockets; ${o.churnPerMin} processes replaced per minute; ` +
      `Kepler 0.7 family on half of the nodes (even ones), medians per node`,
    [
      '0.7 family',
      'nodes',
      'procs',
      'containers',
      'pods',
      '/metrics series',
      ...sections.map((s) => `of ${s}`),
      'KiB',
      'live in Prom',
      'head',
      'head +/min',
      'samples/scrape',
      'exporter CPU %',
      'RSS MiB',
    ],
    r.groups.map((g) => [
      g.legacy ? 'on' : 'off',
      g.nodes,
      g.processes,
      g.containers,
      g.pods,
      g.exporterSeries,
      ...sections.map((s) => g.bySection[s] ?? 0),
      kib(g.scrapeBytes),
      fmt(g.liveSeries, 0),
      fmt(g.headSeries, 0),
      fmt(g.headGrowthPerMin, 1),
      fmt(g.samplesPerScrape, 0),
      fmt(g.exporterCpuPercent, 2),
      mib(g.exporterRss),
    ]),
  );
  out +=
    `   "of process" etc.: the exporter's series by level ("other": the exporter's own and Node.js runtime metrics); "live in Prom": series of the group with a sample in the last 5 min, per node;\n` +
    `   head: series in Prometheus's head at the end (live, and those of processes gone or idle since), per node; head +/min: new head series per node per minute over the window;\n` +
    `   samples/scrape: scrape_samples_scraped. Processes started by churn over the fleet: ${r.processesStarted}; advancing the simulated nodes: ${fmt(r.tickMs * o.nodes, 1)} ms per second (in this process).\n` +
    `   Refresh errors counted by the exporters (kepler_exporter_refresh_errors_total, whole fleet): ${JSON.stringify(r.refreshErrors)}.\n`;

  out += table(
    `9b. Fleet: Prometheus over the ${fmt(windowSec, 0)} s (baseline: the same Prometheus after ${BASELINE_SEC} s with no target)`,
    ['measure', 'baseline', 'start', 'end', 'per node'],
    [
      ['head series (prometheus_tsdb_head_series)', r.base.headSeries, r.start.headSeries, r.end.headSeries, fmt(f.headSeries, 0)],
      [
        'head series added per minute (churn)',
        'n/a',
        'n/a',
        fmt((r.end.headSeries - r.start.headSeries) / (windowSec / 60), 0),
        fmt((r.end.headSeries - r.start.headSeries) / (windowSec / 60) / o.nodes, 1),
      ],
      ['samples appended /s (whole window)', 'n/a', 'n/a', fmt(perSec(r.start, r.end), 0), fmt(f.samplesPerSec, 1)],
      ['heap in use MiB (go_memstats_heap_inuse_bytes; per node: see below)', mib(r.base.heapInuse), mib(r.start.heapInuse), mib(r.end.heapInuse), mib(f.heap)],
      ['resident MiB (process_resident_memory_bytes; per node: see below)', mib(r.base.rss), mib(r.start.rss), mib(r.end.rss), mib(f.rss)],
      ['CPU cores (process_cpu_seconds_total)', 'n/a', 'n/a', fmt((r.end.cpuSec - r.start.cpuSec) / windowSec, 3), fmt(f.cores, 4)],
      ['heap in use per head series, bytes (mean of the last 3 readings)', 'n/a', 'n/a', fmt(f.heapPerSeries, 0), 'n/a'],
      ['resident per head series, bytes (mean of the last 3 readings)', 'n/a', 'n/a', fmt(f.rssPerSeries, 0), 'n/a'],
      ['TSDB folder (WAL, no block yet) MiB', 'n/a', 'n/a', mib(r.walBytes), mib(r.walBytes / o.nodes)],
      ['WAL bytes per sample appended', 'n/a', 'n/a', fmt(r.walBytes / (r.end.appended - r.base.appended), 2), 'n/a'],
      ['scrape duration median ms', 'n/a', 'n/a', fmt(r.scrapeDurationMs, 1), 'n/a'],
      ['targets up', 'n/a', 'n/a', r.upTargets, 'n/a'],
    ],
  );
  out += `   others cores meanwhile (the machine besides the exporters, Prometheus and this process): ${fmt(r.othersCores)}\n`;

  out += table(
    `9c. Fleet: Prometheus over time (every ${fmt((r.over[1]?.t ?? r.end.t) - r.start.t, 0)} s)`,
    ['at s', 'head series', 'samples/s', 'heap in use MiB', 'RSS MiB', 'CPU cores'],
    r.over.map((x, i) => {
      const prev = r.over[i - 1];
      return [
        fmt(x.t - r.start.t, 0),
        x.headSeries,
        prev ? fmt(perSec(prev, x), 0) : 'n/a',
        mib(x.heapInuse),
        mib(x.rss),
        prev ? fmt((x.cpuSec - prev.cpuSec) / (x.t - prev.t), 3) : 'n/a',
      ];
    }),
  );

  const a = r.aether;
  if (typeof a === 'string') out += `\n== 9d. Fleet: the aether plugin: SKIPPED: ${a}\n`;
  else
    out += table(
      `9d. Fleet: the aether plugin (dist/bundle/kepler-aether-source under the go-plugin client, KEPLER_METRICS=auto, window ${AETHER_WINDOW}) querying the fleet's Prometheus, ${AETHER_FETCHES} Fetches`,
      [
        'containers in the fleet',
        'instances',
        'Fetch median ms',
        'max ms',
        'peak RSS MiB',
        'RSS after handshake',
        'queries / Fetch',
        'response KiB / Fetch',
        'Prometheus eval ms / Fetch',
      ],
      [
        [
          a.expected,
          a.instances,
          fmt(median(a.fetchMs), 1),
          fmt(Math.max(...a.fetchMs), 1),
          mib(a.hwm),
          mib(a.rssAfterHandshake),
          fmt(a.queries, 1),
          kib(a.queryBytes),
          fmt(a.queryEvalSec * 1000, 1),
        ],
      ],
    );

  const sizing = sizingRows(r);
  out += table(
    `9e. Fleet: sizing for 1,000 nodes like these (the per-node figures above x 1,000; memory as measured per head series; ` +
      `"after 2 h": Prometheus's head holds 1-3 h, so the series churn adds up for about 2 h; disk at ${DISK_BYTES_PER_SAMPLE} bytes/sample, not measured)`,
    ['0.7 family', 'series live', 'head series after 2 h', 'samples/s', 'head heap now', 'head heap after 2 h', 'resident after 2 h', 'Prometheus cores', 'disk / day'],
    sizing.map((s) => [s.label, si(s.live), si(s.head2h), si(s.samplesPerSec), gib(s.heapNow), gib(s.heap2h), gib(s.rss2h), fmt(s.cores, 2), gib(s.diskPerDay)]),
  );
  const a2 = r.aether;
  if (typeof a2 !== 'string') {
    const scale = 1000 / r.o.nodes;
    out +=
      `   aether at 1,000 nodes (${si(a2.instances * scale)} containers), linear in the series from the fleet's ${a2.instances}: per Fetch, ~${fmt(a2.queryEvalSec * scale, 1)} s of ` +
      `Prometheus evaluation and ~${gib(a2.queryBytes * scale)} of answers; the plugin's own Fetch time and memory at that size: section 5 (measured up to 5,000 containers).\n`;
  }
  out += `   Section time: ${fmt(r.elapsedSec, 0)} s.\n`;
  return out;
}

interface SizingRow {
  label: string;
  live: number;
  head2h: number;
  samplesPerSec: number;
  heapNow: number;
  heap2h: number;
  rss2h: number;
  cores: number;
  diskPerDay: number;
}

/**
 * 1,000 nodes of each kind: series and samples from the group's own figures; memory per head
 * series and CPU per sample as the whole fleet measured them.
 */
function sizingRows(r: FleetResult): SizingRow[] {
  const f = perNodeFigures(r);
  const meanSamples = r.groups.reduce((a, g) => a + g.samplesPerScrape * g.nodes, 0) / r.o.nodes;
  return r.groups.map((g) => {
    const share = g.samplesPerScrape / meanSamples;
    // Where the TSDB status did not list the group: the fleet's head series, by the group's share of samples.
    const headNow = Number.isFinite(g.headSeries) ? g.headSeries : f.headSeries * share;
    const growth = Number.isFinite(g.headGrowthPerMin) ? g.headGrowthPerMin : (f.headSeries * share - g.liveSeries) / ((r.end.t - r.start.t) / 60);
    const head2h = g.liveSeries + growth * 120;
    // + up, scrape_duration_seconds, scrape_samples_scraped, scrape_samples_post_metric_relabeling, scrape_series_added
    const samplesPerSec = ((g.samplesPerScrape + 5) / INTERVAL_SEC) * 1000;
    return {
      label: g.legacy ? 'on' : 'off',
      live: g.liveSeries * 1000,
      head2h: head2h * 1000,
      samplesPerSec,
      heapNow: f.heapPerSeries * headNow * 1000,
      heap2h: f.heapPerSeries * head2h * 1000,
      rss2h: f.rssPerSeries * head2h * 1000,
      cores: f.cores * share * 1000,
      diskPerDay: samplesPerSec * 86_400 * DISK_BYTES_PER_SAMPLE,
    };
  });
}

export function fleetSummary(r: FleetResult): (string | number)[][] {
  const f = perNodeFigures(r);
  const rows: (string | number)[][] = [];
  for (const g of r.groups)
    rows.push([`fleet x${r.o.nodes}, 0.7 family ${g.legacy ? 'on' : 'off'}: series / node (exporter; live in Prometheus)`, `${g.exporterSeries}; ${fmt(g.liveSeries, 0)}`]);
  rows.push([
    `fleet x${r.o.nodes}: head series / samples per s / head heap / CPU, per node`,
    `${fmt(f.headSeries, 0)} / ${fmt(f.samplesPerSec, 1)} / ${mib(f.heap)} MiB / ${fmt(f.cores, 4)}`,
  ]);
  if (typeof r.aether !== 'string')
    rows.push([`fleet x${r.o.nodes}: aether Fetch median ms / peak RSS MiB (${r.aether.instances} instances)`, `${fmt(median(r.aether.fetchMs), 1)} / ${mib(r.aether.hwm)}`]);
  for (const s of sizingRows(r))
    rows.push([
      `sizing 1,000 nodes, 0.7 family ${s.label}: series live / after 2 h of churn / samples/s / head heap after 2 h`,
      `${si(s.live)} / ${si(s.head2h)} / ${si(s.samplesPerSec)} / ${gib(s.heap2h)}`,
    ]);
  return rows;
}
