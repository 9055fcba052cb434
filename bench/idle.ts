// Section 4: the real exporter (node dist/src/cli/main.js) as a child, fake meter, monitor.interval
// 5s, scraped every 5 s like Prometheus would; its CPU time from /proc/<pid>/stat over the window.
// The exporter runs under a watchdog shell that stops it when our pipe to the shell closes, so it
// never outlives the benchmark. Also in section 4: the exporter's resident memory with Kubernetes
// pod metadata in kubelet mode (against a fake API server and kubelet over HTTPS, in this process)
// against the same exporter without it.

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { randomHex, randomUid } from '../harness/ids.js';
import { scrape } from './app.js';
import type { CFloor } from './floor.js';
import { intoContainers, type ProcPool } from './pool.js';
import { clockTicksPerSec, cpuTicks, freePort, guarded, OtherLoad, median, onCleanup, procCount, progress, sleep, statusBytes, type Guarded } from './util.js';

export interface IdleResult {
  spawned: number;
  /** Where the spawned processes are: in the benchmark's own cgroup, or spread over container cgroups. */
  placement: string;
  procs: number;
  windowSec: number;
  cpuPercent: number;
  /** Median VmRSS over the second half of the window (sampled every second). */
  rssBytes: number;
  hwmBytes: number;
  /** The C floor run beside it: every /proc/<pid>/stat read once per interval over the window; undefined without a compiler. */
  floor?: { cpuPercent: number; passes: number; files: number };
  refreshes: number;
  refreshMeanMs: number;
  scrapes: number;
  scrapeMs: number;
  scrapeBytes: number;
  othersCores: number;
}

const INTERVAL_SEC = 5;

/** Issue 19's targets for the running exporter at the largest process count. */
export const EXPORTER_RSS_TARGET_MIB = 80;
/** ... and at most this many times a bare Node.js's resident memory. */
export const EXPORTER_RSS_BARE_TARGET = 1.5;
/** Its CPU at most this many times the C floor's reading the same files once per interval. */
export const EXPORTER_CPU_FLOOR_TARGET = 1.5;

/** refresh count and duration sum from an exposition of the exporter's own health metrics. */
function refreshStats(body: string): { count: number; sum: number } {
  const count = /^kepler_exporter_refresh_duration_seconds_count (\S+)$/m.exec(body);
  const sum = /^kepler_exporter_refresh_duration_seconds_sum (\S+)$/m.exec(body);
  return { count: count ? Number(count[1]) : NaN, sum: sum ? Number(sum[1]) : NaN };
}

async function scrapeText(port: number): Promise<{ ms: number; bytes: number; text: string }> {
  const r = await scrape(port);
  if (r.status !== 200) throw new Error(`exporter /metrics answered ${r.status}`);
  return { ms: r.ms, bytes: r.bytes, text: (r.gzip ? gunzipSync(r.body) : r.body).toString('utf8') };
}

/** The exporter of this section: warnings only, 5 s interval, the fake meter, on `port`. */
function exporterConfig(port: number): string[] {
  return ['log:', '  level: warn', 'monitor:', `  interval: ${INTERVAL_SEC}s`, 'cpu:', '  preferredMeters: [fake]', 'web:', `  listenAddresses: ["127.0.0.1:${port}"]`];
}

/** The exporter under its watchdog shell, answering on `port`. */
interface RunningExporter extends Guarded {
  port: number;
}

/** Starts dist/src/cli/main.js with this configuration under a watchdog shell; resolves once /metrics answers. */
async function startExporter(dir: string, configLines: (port: number) => string[]): Promise<RunningExporter> {
  const main = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
  const port = await freePort();
  const config = join(dir, 'config.yaml');
  writeFileSync(config, [...configLines(port), ''].join('\n'));
  const exporter = await guarded(process.execPath, [main, `--config.file=${config}`]);
  try {
    // Ready when /metrics answers.
    const deadline = performance.now() + 30_000;
    for (;;) {
      try {
        await scrapeText(port);
        break;
      } catch (err) {
        if (performance.now() > deadline) throw new Error(`exporter not answering on port ${port}: ${(err as Error).message}; stderr: ${exporter.stderr()}`);
        await sleep(200);
      }
    }
    return { ...exporter, port };
  } catch (err) {
    await exporter.stop();
    throw err;
  }
}

/** Samples VmRSS of `pid` every second until `untilMs` (performance.now()); the median of the second half. */
async function rssOverSecondHalf(pid: number, fromMs: number, untilMs: number): Promise<number> {
  const half = fromMs + (untilMs - fromMs) / 2;
  const samples: number[] = [];
  for (;;) {
    const now = performance.now();
    if (now >= half) samples.push(statusBytes(pid, 'VmRSS'));
    if (now >= untilMs) break;
    await sleep(Math.min(1000, untilMs - now));
  }
  return median(samples);
}

/**
 * The yardstick of issue 19's memory target: a bare Node.js doing nothing (`node -e
 * 'setInterval(()=>{},1e3)'`), same binary and environment, RSS as the exporter's is taken.
 */
export async function bareNodeRss(windowSec = 10): Promise<number> {
  const child = spawn(process.execPath, ['-e', 'setInterval(()=>{},1e3)'], { stdio: 'ignore' });
  const unregister = onCleanup(() => child.kill('SIGKILL'));
  try {
    if (child.pid === undefined) throw new Error('could not start a bare node');
    const pid = child.pid;
    await sleep(1000);
    const t0 = performance.now();
    return await rssOverSecondHalf(pid, t0 - windowSec * 1000, t0 + windowSec * 1000);
  } finally {
    child.kill('SIGKILL');
    unregister();
  }
}

/** Processes per container when section 4 spreads them over containers, as on a node running pods. */
export const IDLE_PER_CONTAINER = 50;

/**
 * Each count in the benchmark's own cgroup (the root cgroup here: every process's stat file is read
 * at every refresh); the largest also spread over containers of IDLE_PER_CONTAINER processes (two
 * per pod), as on a node, where the exporter reads only the processes of cgroups that ran.
 */
export async function benchIdle(pool: ProcPool, counts: number[], windowSec: number, floor?: CFloor): Promise<IdleResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'kepler-bench-idle-'));
  const removeDir = onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const results: IdleResult[] = [];
  const biggest = Math.max(...counts);
  const runs = counts.flatMap((n) =>
    n === biggest && n > 0
      ? [
          { n, containers: true },
          { n, containers: false },
        ]
      : [{ n, containers: false }],
  );
  try {
    for (const { n, containers } of runs) {
      await pool.ensureIdle(n);
      let placement = 'here';
      let restore = () => {};
      if (containers) {
        const placed = intoContainers(
          pool.groups.flatMap((g) => g.pids),
          Math.max(1, Math.round(n / IDLE_PER_CONTAINER)),
        );
        if (typeof placed === 'string') {
          progress(`idle: containers SKIPPED: ${placed}`);
          continue;
        }
        placement = `in ${placed.containers} containers`;
        restore = placed.restore;
      }
      progress(`idle: ${n} extra idle processes, ${placement}`);
      try {
        results.push(await measureExporter(dir, n, placement, windowSec, floor));
      } finally {
        restore();
      }
    }
  } finally {
    removeDir();
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}

/** One run of the exporter over the window, with the C floor beside it. */
async function measureExporter(dir: string, n: number, placement: string, windowSec: number, floor?: CFloor): Promise<IdleResult> {
  const exporter = await startExporter(dir, exporterConfig);
  const { pid, port } = exporter;
  try {
    progress(`idle: exporter pid ${pid} on port ${port}; measuring ${windowSec} s, scraping every ${INTERVAL_SEC} s`);
    const procs = procCount();
    await sleep(1000); // let the start-up and first scrape settle
    const first = await scrapeText(port);
    const others = new OtherLoad();
    const ticks0 = cpuTicks(pid);
    const t0 = performance.now();
    const stats0 = refreshStats(first.text);
    const scrapeMs: number[] = [];
    let last = first;
    const end = t0 + windowSec * 1000;
    // Beside it, over the same window: the floor reading the same files once per interval, and RSS samples.
    // Settled, not awaited, meanwhile: a failure is reported after the loop, not as an unhandled rejection.
    const floorRun = floor ? Promise.allSettled([floor.every(INTERVAL_SEC * 1000, windowSec)]) : undefined;
    const rss = Promise.allSettled([rssOverSecondHalf(pid, t0, end)]);
    for (let next = t0 + INTERVAL_SEC * 1000; next <= end; next += INTERVAL_SEC * 1000) {
      await sleep(next - performance.now());
      last = await scrapeText(port);
      scrapeMs.push(last.ms);
    }
    await sleep(Math.max(0, end - performance.now()));
    const ticks1 = cpuTicks(pid);
    const elapsedSec = (performance.now() - t0) / 1000;
    const [rssRun] = await rss;
    if (rssRun.status === 'rejected') throw rssRun.reason;
    const rssBytes = rssRun.value;
    const floorDone = floorRun && (await floorRun)[0];
    if (floorDone?.status === 'rejected') throw floorDone.reason;
    const f = floorDone?.value;
    const stats1 = refreshStats(last.text);
    const refreshes = stats1.count - stats0.count;
    return {
      spawned: n,
      placement,
      procs,
      windowSec: elapsedSec,
      cpuPercent: ((ticks1 - ticks0) / clockTicksPerSec() / elapsedSec) * 100,
      rssBytes,
      ...(f ? { floor: { cpuPercent: (f.cpuMs / 1000 / elapsedSec) * 100, passes: f.passes, files: f.files } } : {}),
      hwmBytes: statusBytes(pid, 'VmHWM'),
      refreshes,
      refreshMeanMs: refreshes > 0 ? ((stats1.sum - stats0.sum) / refreshes) * 1000 : NaN,
      scrapes: scrapeMs.length,
      scrapeMs: median(scrapeMs),
      scrapeBytes: last.bytes,
      othersCores: others.cores(ticks1 - ticks0),
    };
  } finally {
    await exporter.stop();
  }
}

// ---------------------------------------------------------------- Kubernetes, kubelet mode

/** Issue 19's target: kube.enabled in kubelet mode costs at most this much resident memory. */
export const KUBE_RSS_TARGET_MIB = 10;
/** Each exporter runs this long (scraped every 5 s); RSS is sampled over its second half. */
export const KUBE_WINDOW_SEC = 30;
/** Runs per mode, alternating (without, kubelet, without, kubelet): V8 sizes its heap differently from run to run. */
export const KUBE_RUNS = 2;
/** Pods the fake kubelet lists, two containers each. */
export const KUBE_PODS = 50;

export interface KubeFootprintRun {
  mode: 'none' | 'kubelet';
  /** Median VmRSS over the second half of the window. */
  rssBytes: number;
  hwmBytes: number;
  heapUsedBytes: number;
  /** kepler_exporter_kube_pods{mode="kubelet"} at the end (the exporter did read the kubelet). */
  podsKnown: number;
}

export interface KubeFootprintResult {
  runs: KubeFootprintRun[];
  /** Median RSS with kube kubelet mode minus median RSS without, in bytes. */
  deltaBytes: number;
  kubeletPolls: number;
}

/** A gauge's value in an exposition (no labels, or the exact label set given). */
function gaugeValue(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1).split(' ')[0]) : NaN;
}

/**
 * One HTTPS server answering as this node's API server (the Node object, pointing the kubelet
 * port at itself) and as its kubelet (/pods: `pods` pods shaped as a real kubelet lists them),
 * with a bearer token. The exporter's real code reads both with its real credentials code.
 */
async function startFakeKube(dir: string, nodeName: string, pods: number): Promise<{ kubeconfig: string; polls: () => number; close: () => Promise<void> }> {
  const certFile = join(dir, 'kube.crt');
  const keyFile = join(dir, 'kube.key');
  const r = spawnSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`openssl could not make a certificate: ${r.error?.message ?? r.stderr}`);
  const token = randomHex(32);
  const podList = JSON.stringify({
    kind: 'PodList',
    apiVersion: 'v1',
    metadata: {},
    items: Array.from({ length: pods }, (_, i) => {
      const name = `web-${i}`;
      const containers = ['app', 'sidecar'];
      return {
        metadata: {
          name,
          namespace: 'bench',
          uid: randomUid(),
          labels: { app: 'web', 'pod-template-hash': randomHex(10) },
          annotations: { 'kubernetes.io/config.seen': new Date().toISOString() },
        },
        spec: {
          nodeName,
          containers: containers.map((c) => ({ name: c, image: `registry.example/${c}:1.0`, resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '1' } } })),
        },
        status: {
          phase: 'Running',
          podIP: `10.0.${i >> 8}.${i & 255}`,
          containerStatuses: containers.map((c) => ({ name: c, containerID: `containerd://${randomHex(64)}`, ready: true, restartCount: 0, image: `registry.example/${c}:1.0` })),
        },
      };
    }),
  });
  let port = 0;
  let polls = 0;
  const server = https.createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, (req, res) => {
    if (req.headers.authorization !== `Bearer ${token}`) {
      res.writeHead(401).end();
      return;
    }
    if (req.url === `/api/v1/nodes/${nodeName}`) {
      const node = {
        kind: 'Node',
        apiVersion: 'v1',
        metadata: { name: nodeName },
        status: { addresses: [{ type: 'InternalIP', address: '127.0.0.1' }], daemonEndpoints: { kubeletEndpoint: { Port: port } } },
      };
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(node));
    } else if (req.url === '/pods') {
      polls++;
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(podList);
    } else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      `clusters: [{name: bench, cluster: {server: "https://127.0.0.1:${port}", certificate-authority: "${certFile}"}}]`,
      `users: [{name: exporter, user: {token: "${token}"}}]`,
      'contexts: [{name: bench, context: {cluster: bench, user: exporter}}]',
      'current-context: bench',
    ].join('\n'),
  );
  return {
    kubeconfig,
    polls: () => polls,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * The exporter's resident memory with kube.enabled in kubelet mode (default poll interval) and
 * without, alternating, each for KUBE_WINDOW_SEC with a scrape every 5 s.
 */
export async function benchKubeFootprint(): Promise<KubeFootprintResult> {
  const dir = mkdtempSync(join(tmpdir(), 'kepler-bench-kube-'));
  const removeDir = onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const nodeName = 'bench-node';
  const kube = await startFakeKube(dir, nodeName, KUBE_PODS);
  const runs: KubeFootprintRun[] = [];
  try {
    for (let i = 0; i < KUBE_RUNS; i++) {
      for (const mode of ['none', 'kubelet'] as const) {
        const exporter = await startExporter(dir, (port) => [
          ...exporterConfig(port),
          ...(mode === 'kubelet' ? ['kube:', '  enabled: true', `  config: ${kube.kubeconfig}`, `  nodeName: ${nodeName}`, '  podInformer: {mode: kubelet}'] : []),
        ]);
        try {
          progress(`idle: kube footprint, run ${i + 1}/${KUBE_RUNS}, ${mode === 'none' ? 'without kube' : 'kube kubelet mode'}: pid ${exporter.pid}, ${KUBE_WINDOW_SEC} s`);
          const rss: number[] = [];
          let last = '';
          const t0 = performance.now();
          for (let t = INTERVAL_SEC; t <= KUBE_WINDOW_SEC; t += INTERVAL_SEC) {
            await sleep(t0 + t * 1000 - performance.now());
            last = (await scrapeText(exporter.port)).text;
            if (t > KUBE_WINDOW_SEC / 2) rss.push(statusBytes(exporter.pid, 'VmRSS'));
          }
          const podsKnown = gaugeValue(last, 'kepler_exporter_kube_pods{mode="kubelet"}');
          if (mode === 'kubelet' && podsKnown !== KUBE_PODS)
            throw new Error(`the exporter knows ${podsKnown} pods of the fake kubelet's ${KUBE_PODS}; stderr: ${exporter.stderr()}`);
          runs.push({
            mode,
            rssBytes: median(rss),
            hwmBytes: statusBytes(exporter.pid, 'VmHWM'),
            heapUsedBytes: gaugeValue(last, 'nodejs_heap_size_used_bytes'),
            podsKnown: mode === 'kubelet' ? podsKnown : 0,
          });
        } finally {
          await exporter.stop();
        }
      }
    }
  } finally {
    await kube.close();
    removeDir();
    rmSync(dir, { recursive: true, force: true });
  }
  const rssOf = (mode: KubeFootprintRun['mode']) => median(runs.filter((r) => r.mode === mode).map((r) => r.rssBytes));
  return { runs, deltaBytes: rssOf('kubelet') - rssOf('none'), kubeletPolls: kube.polls() };
}
