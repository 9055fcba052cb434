// Section 5: the aether source plugin (dist/bundle/kepler-aether-source): its start-up time and memory, and its Fetch time under the real go-plugin client against a fake Prometheus answering N containers.

import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { containerEnergies, mergeFamilies, toInstance, usedEnergy, type ContainerEnergy, type FamilySamples, type Sample } from '../src/aether/instances.js';
import { familyQueries, type MetricsFamily } from '../src/aether/promql.js';
import { AETHER_SOURCE_HANDSHAKE, sourceServiceDefinition } from '../src/aether/sourceService.js';
import { buildGoHost, type HostEvent } from '../harness/goPluginHost.js';
import { randomHex, randomUid } from '../harness/ids.js';
import { cpuTicks, clockTicksPerSec, median, onCleanup, OtherLoad, progress, statusBytes } from './util.js';

export const PLUGIN = join(process.cwd(), 'dist', 'bundle', 'kepler-aether-source');
const INTERVAL = '5m';
const WINDOW_MS = 5 * 60_000;
/** Containers per node (Kubernetes' default pod limit is 110). */
const PER_NODE = 100;
export const FETCHES = 10;
/** Issue 19's target: the plugin's peak resident memory at this many containers, in MiB. */
export const PEAK_TARGET = { containers: 5000, mib: 150 };

/** What the 0.7 queries (KEPLER_METRICS=auto issues them too) are answered with. */
export type LegacyAnswer = 'populated' | 'empty';

export interface StartupResult {
  runs: number;
  handshakeMs: number[];
  rssBytes: number[];
}

export interface FetchResult {
  containers: number;
  legacy: LegacyAnswer;
  /** Series per current-family energy query (and per 0.7 query when populated), pods in the pods query. */
  pods: number;
  responseBytes: number[];
  /** Per Fetch, as the go-plugin client timed conn.Invoke. */
  fetchMs: number[];
  instances: number;
  promRequests: number;
  /** Plugin CPU (utime + stime) from the handshake to the last Fetch, per Fetch. */
  pluginCpuMsPerFetch: number;
  rssAfterHandshake: number;
  rssAfterFetches: number;
  /** After which Fetch the last reading was taken (the host kills the plugin ~200 ms after the last). */
  rssAfterFetch: number;
  hwmAfterFetches: number;
  protoBytes: number;
  othersCores: number;
}

export function pluginEnv(prometheusUrl: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    [AETHER_SOURCE_HANDSHAKE.magicCookieKey]: AETHER_SOURCE_HANDSHAKE.magicCookieValue,
    INTERVAL,
    PROVIDER: 'gcp',
    PROMETHEUS_URL: prometheusUrl,
    ...extra,
  };
}

// ---------------------------------------------------------------- the fake Prometheus

interface Vectors {
  /** query text -> its JSON answer. */
  bodies: Map<string, Buffer>;
  /** The same samples, for the in-bench encoding of the response. */
  families: FamilySamples[];
  pods: number;
}

/**
 * Vectors of N containers as Prometheus answers the plugin's queries when it scrapes kepler-ts on
 * N / 100 GKE nodes: two containers per pod; the 0.7 family (kepler-ts with it on) holds the
 * same containers under Kepler 0.7's labels.
 */
export function makeVectors(n: number, legacy: LegacyAnswer): Vectors {
  const nodes = Math.max(1, Math.ceil(n / PER_NODE));
  const nodeName = (i: number) => `gke-prod-cluster-default-pool-us-central1-${randomHex(8)}-n${i}`;
  const nodeNames = Array.from({ length: nodes }, (_, i) => nodeName(i));
  const pods = Array.from({ length: Math.ceil(n / 2) }, (_, i) => ({ id: randomUid(), name: `app-${i % 97}-${randomHex(10)}-${randomHex(6)}`, namespace: `team-${i % 13}` }));
  const current: FamilySamples = { family: 'current', energy: { cpu: [], memory: [] }, pods: [] };
  const old: FamilySamples = { family: '0.7', energy: { cpu: [], memory: [] }, pods: [] };
  for (const p of pods) current.pods.push({ labels: { pod_id: p.id, pod_name: p.name, pod_namespace: p.namespace }, value: 1 });
  for (let i = 0; i < n; i++) {
    const node = Math.floor(i / PER_NODE);
    const pod = pods[Math.floor(i / 2)];
    const id = randomHex(64);
    const name = i % 2 === 0 ? `app-${i % 97}` : 'istio-proxy';
    const scrape = { instance: `10.128.${node >> 8}.${node & 255}:28282`, job: 'kepler' };
    const cpuJ = 50 + Math.random() * 3000;
    const dramJ = 5 + Math.random() * 300;
    const labels = { container_id: id, container_name: name, runtime: 'containerd', state: 'running', pod_id: pod.id, node_name: nodeNames[node], ...scrape };
    current.energy.cpu.push({ labels, value: cpuJ });
    current.energy.memory.push({ labels, value: dramJ });
    if (legacy === 'populated') {
      const l = { container_id: id, pod_name: pod.name, container_name: name, container_namespace: pod.namespace, node_name: nodeNames[node], source: 'rapl-sysfs', ...scrape };
      old.energy.cpu.push({ labels: l, value: cpuJ * 0.8 });
      old.energy.memory.push({ labels: l, value: dramJ });
    }
  }
  const body = (samples: Sample[]) => {
    const t = Math.floor(Date.now() / 1000);
    const result = samples.map((s) => ({ metric: s.labels, value: [t, String(s.value)] }));
    return Buffer.from(JSON.stringify({ status: 'success', data: { resultType: 'vector', result } }));
  };
  const bodies = new Map<string, Buffer>();
  for (const f of [current, old]) {
    const q = familyQueries(f.family, WINDOW_MS);
    bodies.set(q.energy.cpu, body(f.energy.cpu));
    bodies.set(q.energy.memory, body(f.energy.memory));
    if (q.pods) bodies.set(q.pods, body(f.pods));
  }
  return { bodies, families: [current, old], pods: pods.length };
}

/** POST /api/v1/query answered from precomputed bodies; a query it does not know is a 400, counted. */
class FakePrometheus {
  vectors: Vectors | undefined;
  requests = 0;
  readonly unknown: string[] = [];
  readonly sizes = new Map<string, number>();
  private readonly sockets = new Set<Socket>();

  private constructor(private readonly server: Server) {}

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  static async start(): Promise<FakePrometheus> {
    let fake: FakePrometheus;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        fake.requests++;
        const query = new URLSearchParams(Buffer.concat(chunks).toString('utf8')).get('query') ?? '';
        const body = req.method === 'POST' && req.url === '/api/v1/query' ? fake.vectors?.bodies.get(query) : undefined;
        if (!body) {
          fake.unknown.push(`${req.method} ${req.url} ${query}`);
          res.writeHead(400, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ status: 'error', errorType: 'bad_data', error: 'the benchmark does not know this query' }));
          return;
        }
        fake.sizes.set(query, body.length);
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
        res.end(body);
      });
    });
    server.on('connection', (s) => {
      fake.sockets.add(s);
      s.on('close', () => fake.sockets.delete(s));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    fake = new FakePrometheus(server);
    return fake;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server.close(r));
  }
}

// ---------------------------------------------------------------- start-up

/** Spawns the bundle as a host would (cookie in the environment), times its handshake line, reads its RSS, stops it. */
async function startOnce(prometheusUrl: string): Promise<{ ms: number; rss: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(PLUGIN, [], { env: pluginEnv(prometheusUrl), stdio: ['ignore', 'pipe', 'pipe'] });
    const unregister = onCleanup(() => child.kill('SIGKILL'));
    let stdout = '';
    let stderr = '';
    let result: { ms: number; rss: number } | undefined;
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stdout.on('data', (d: Buffer) => {
      if (result) return;
      stdout += d.toString();
      if (!stdout.includes('\n')) return;
      const ms = performance.now() - t0;
      if (!/^1\|1\|(unix|tcp)\|[^|]+\|grpc\n$/.test(stdout)) {
        child.kill('SIGKILL');
        return;
      }
      result = { ms, rss: child.pid === undefined ? NaN : statusBytes(child.pid, 'VmRSS') }; // NaN: unreadable, as statusBytes says it
      child.kill('SIGTERM');
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code, sig) => {
      clearTimeout(timer);
      unregister();
      if (result) resolve(result);
      else reject(new Error(`the plugin gave no handshake (exit ${code ?? sig}); stdout ${JSON.stringify(stdout)}\n${stderr}`));
    });
  });
}

// ---------------------------------------------------------------- Fetch under the go-plugin host

export interface PluginSample {
  after: number;
  rss: number;
  hwm: number;
  ticks: number;
}

/**
 * Runs aether-host (harness/aether-host: the real go-plugin client) against the bundle, reading
 * the plugin's /proc/<pid>/status as the host reports its handshake and each Fetch. The host is
 * spawned here rather than through runGoHost so that those readings happen while it runs; with
 * -stdio it waits ~200 ms after the last Fetch before Kill, which leaves time for the last one.
 */
export async function hostRun(
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<{ code: number | null; events: HostEvent[]; stderr: string; samples: PluginSample[] }> {
  const host = await buildGoHost();
  return new Promise((resolve, reject) => {
    const child = spawn(host, [...args, PLUGIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const unregister = onCleanup(() => child.kill('SIGKILL'));
    const lines: string[] = [];
    let partial: Buffer[] = [];
    let stderr = '';
    let pid: number | undefined;
    const samples: PluginSample[] = [];
    const sample = (after: number) => {
      if (pid === undefined) return;
      try {
        samples.push({ after, rss: statusBytes(pid, 'VmRSS'), hwm: statusBytes(pid, 'VmHWM'), ticks: cpuTicks(pid) });
      } catch {
        // already gone (the host kills it after the last Fetch)
      }
    };
    // Lines are read whole only once the host is done, except the short `started` line: a Fetch
    // line holds every instance (megabytes), and parsing it meanwhile would take CPU from the plugin.
    child.stdout.on('data', (d: Buffer) => {
      let from = 0;
      for (let nl = d.indexOf(10); nl !== -1; nl = d.indexOf(10, from)) {
        partial.push(d.subarray(from, nl));
        const line = Buffer.concat(partial).toString('utf8');
        partial = [];
        from = nl + 1;
        lines.push(line);
        if (line.startsWith('{"event":"started"')) {
          pid = (JSON.parse(line) as { pid: number }).pid;
          sample(0);
        } else if (line.startsWith('{"event":"fetch"')) {
          sample(samples.length);
        }
      }
      if (from < d.length) partial.push(d.subarray(from));
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`aether-host did not finish within ${timeoutMs} ms\n${stderr.slice(-4000)}`));
    }, timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      unregister();
      try {
        resolve({ code, events: lines.filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as HostEvent), stderr, samples });
      } catch (err) {
        reject(err);
      }
    });
  });
}

/** The ListInstanceResponse the plugin sends for these samples, encoded by the plugin's own Fetch serializer. */
function encodedResponseBytes(families: FamilySamples[], legacy: LegacyAnswer): { bytes: number; instances: number } {
  const byFamily = new Map<MetricsFamily, ReturnType<typeof containerEnergies>>();
  for (const f of families) if (f.family === 'current' || legacy === 'populated') byFamily.set(f.family, containerEnergies(f));
  const containers = mergeFamilies(byFamily.get('current') ?? new Map<string, ContainerEnergy>(), byFamily.get('0.7') ?? new Map<string, ContainerEnergy>());
  const time = Math.floor(Date.now() / 1000);
  const instances = containers.filter(usedEnergy).map((c) => toInstance(c, { provider: 'gcp', updatedAt: time }));
  const fetch = sourceServiceDefinition().Fetch;
  return { bytes: fetch.responseSerialize({ instances }).length, instances: instances.length };
}

async function fetchCase(prom: FakePrometheus, n: number, legacy: LegacyAnswer): Promise<FetchResult> {
  prom.vectors = makeVectors(n, legacy);
  prom.requests = 0;
  prom.sizes.clear();
  const others = new OtherLoad();
  // BENCH_AETHER_NODE_OPTIONS (e.g. `--require ./profiler.cjs`; node 20 refuses --cpu-prof there) reaches the plugin's node through the host.
  const nodeOptions = process.env.BENCH_AETHER_NODE_OPTIONS;
  const env = pluginEnv(prom.url, { KEPLER_METRICS: 'auto', ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}) });
  const run = await hostRun(['-fetches', String(FETCHES), '-stdio'], env, 600_000);
  const othersCores = others.cores();
  if (prom.unknown.length > 0) throw new Error(`aether: the plugin asked the fake Prometheus queries it does not know:\n${prom.unknown.join('\n')}`);
  if (run.code !== 0) throw new Error(`aether: aether-host exit ${run.code}\n${run.stderr.slice(-4000)}`);
  const fetches = run.events.filter((e): e is Extract<HostEvent, { event: 'fetch' }> => e.event === 'fetch');
  if (fetches.length !== FETCHES) throw new Error(`aether: ${fetches.length} Fetch events, expected ${FETCHES}`);
  for (const f of fetches) {
    if (!('instances' in f)) throw new Error(`aether: Fetch ${f.n} at ${n} containers failed: ${f.code}: ${f.error}`);
    if (f.instances.length !== n) throw new Error(`aether: Fetch ${f.n} returned ${f.instances.length} instances for ${n} containers`);
    if (new Set(f.instances.map((i) => i.id)).size !== n) throw new Error(`aether: Fetch ${f.n} returned duplicate instance ids`);
  }
  const encoded = encodedResponseBytes(prom.vectors.families, legacy);
  if (encoded.instances !== n) throw new Error(`aether: the in-bench encoding made ${encoded.instances} instances of ${n} containers`);
  const first = run.samples.find((s) => s.after === 0);
  const last = run.samples[run.samples.length - 1];
  if (!first || !last || last.after === 0) throw new Error('aether: no reading of the plugin after its handshake and a Fetch');
  const cpuMs = ((last.ticks - first.ticks) / clockTicksPerSec()) * 1000;
  return {
    containers: n,
    legacy,
    pods: prom.vectors.pods,
    responseBytes: [...prom.sizes.values()],
    fetchMs: fetches.map((f) => f.ms),
    instances: n,
    promRequests: prom.requests,
    pluginCpuMsPerFetch: cpuMs / last.after,
    rssAfterHandshake: first.rss,
    rssAfterFetches: last.rss,
    rssAfterFetch: last.after,
    hwmAfterFetches: last.hwm,
    protoBytes: encoded.bytes,
    othersCores,
  };
}

export async function benchAether(counts: number[], startRuns: number, legacyAnswers: LegacyAnswer[]): Promise<{ startup: StartupResult; fetches: FetchResult[] }> {
  const prom = await FakePrometheus.start();
  try {
    progress('aether: building the go-plugin host (harness/aether-host)');
    await buildGoHost();
    progress(`aether: plugin start-up x ${startRuns}`);
    const startup: StartupResult = { runs: startRuns, handshakeMs: [], rssBytes: [] };
    for (let i = 0; i < startRuns; i++) {
      const r = await startOnce(prom.url);
      startup.handshakeMs.push(r.ms);
      startup.rssBytes.push(r.rss);
    }
    const fetches: FetchResult[] = [];
    for (const n of counts) {
      for (const legacy of legacyAnswers) {
        progress(`aether: ${FETCHES} Fetches at ${n} containers, 0.7 queries ${legacy}`);
        const r = await fetchCase(prom, n, legacy);
        progress(`aether: ${n} containers: Fetch median ${median(r.fetchMs).toFixed(1)} ms, max ${Math.max(...r.fetchMs).toFixed(1)} ms`);
        fetches.push(r);
      }
    }
    return { startup, fetches };
  } finally {
    await prom.stop();
  }
}
