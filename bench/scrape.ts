// Section 2: /metrics render time and size at N processes, all levels on. Two cases:
//   idle: N `sleep`s that existed at the exporter's baseline: they use no CPU, so the process
//         collector leaves them out (the usual case of a node's sleeping processes);
//   busy: N processes started after the baseline, each billed one CPU tick: every one of them is
//         exported (the worst case: 9 series per process with the fake meter's 4 zones);
//   busy+legacy: the same with the Kepler 0.7 family on too (16 more series per process).

import { gzipSync, constants as zlib } from 'node:zlib';
import type { Application } from '../src/app/application.js';
import { buildApp, scrape } from './app.js';
import { waitBusyDone, type ProcPool } from './pool.js';
import { median, OtherLoad, procCount, progress, timeEach } from './util.js';

export interface ScrapeCase {
  name: 'idle' | 'busy' | 'busy+legacy';
  procs: number;
  processesTracked: number;
  processesExported: number;
  series: number;
  textMs: number;
  openMetricsMs: number;
  textBytes: number;
  openMetricsBytes: number;
  gzipMs: number;
  gzipBytes: number;
  /** HTTP GET /metrics (OpenMetrics, gzip) of a snapshot already taken: render + gzip + transfer. */
  httpMs: number;
  /** The same with a refresh first (monitor.staleness 0), as a scrape that finds the snapshot stale. */
  httpRefreshMs: number;
  /** PowerMonitor.refresh() alone, of the exporter that refreshes on every scrape. */
  refreshMs: number;
  httpBytes: number;
  othersCores: number;
}

export interface ScrapeResults {
  cases: ScrapeCase[];
  busyStartSec?: number;
  busyDone?: number;
  busyWanted?: number;
}

const PROCESS_SERIES = /^kepler_process_cpu_seconds_total\{/;

async function measure(name: ScrapeCase['name'], render: Application, refreshing: Application, iterations: number): Promise<ScrapeCase> {
  const others = new OtherLoad();
  const snap = render.monitor.refresh();
  timeEach(3, () => render.prometheus.render(false)); // JIT warm-up of both formats
  timeEach(3, () => render.prometheus.render(true));
  const text = timeEach(iterations, () => render.prometheus.render(false));
  const om = timeEach(iterations, () => render.prometheus.render(true));
  const textBody = render.prometheus.render(false).body;
  const omBody = render.prometheus.render(true).body;
  const raw = Buffer.from(omBody, 'utf8');
  let gz = Buffer.alloc(0);
  const gzipTimes = timeEach(iterations, () => {
    gz = gzipSync(raw, { level: zlib.Z_BEST_SPEED });
  });
  const port = render.server.addresses()[0].port;
  const refreshPort = refreshing.server.addresses()[0].port;
  await scrape(port); // connection and first-request warm-up
  const http: number[] = [];
  let httpBytes = 0;
  for (let i = 0; i < iterations; i++) {
    const r = await scrape(port);
    if (r.status !== 200 || !r.gzip) throw new Error(`scrape: status ${r.status}, gzip ${r.gzip}`);
    http.push(r.ms);
    httpBytes = r.bytes;
  }
  await scrape(refreshPort);
  const refresh = timeEach(iterations, () => refreshing.monitor.refresh());
  const httpRefresh: number[] = [];
  for (let i = 0; i < iterations; i++) httpRefresh.push((await scrape(refreshPort)).ms);

  const lines = textBody.split('\n');
  return {
    name,
    procs: procCount(),
    processesTracked: snap.processes.workloads.length,
    processesExported: lines.filter((l) => PROCESS_SERIES.test(l)).length,
    series: lines.filter((l) => l !== '' && !l.startsWith('#')).length,
    textMs: median(text),
    openMetricsMs: median(om),
    textBytes: Buffer.byteLength(textBody, 'utf8'),
    openMetricsBytes: raw.length,
    gzipMs: median(gzipTimes),
    gzipBytes: gz.length,
    httpMs: median(http),
    httpRefreshMs: median(httpRefresh),
    refreshMs: median(refresh),
    httpBytes,
    othersCores: others.cores(),
  };
}

export async function benchScrape(pool: ProcPool, n: number, iterations: number): Promise<ScrapeResults> {
  const out: ScrapeResults = { cases: [] };
  progress(`scrape: ${n} idle processes`);
  await pool.ensureIdle(n);
  // Two exporters: one renders the snapshot it has (staleness: never), one refreshes on every scrape.
  const render = buildApp(Infinity);
  const refreshing = buildApp(0);
  const renderLegacy = buildApp(Infinity, true);
  const refreshingLegacy = buildApp(0, true);
  const apps = [render, refreshing, renderLegacy, refreshingLegacy];
  for (const app of apps) await app.start(); // baseline refresh, then listen
  try {
    progress('scrape: idle case (processes without CPU time are left out)');
    out.cases.push(await measure('idle', render, refreshing, iterations));

    progress(`scrape: replacing them with ${n} busy processes (each burns one CPU tick, then sleeps)`);
    await pool.closeAll();
    for (const app of apps) app.monitor.refresh(); // the idle ones end here, not in the busy snapshot
    const t0 = performance.now();
    const groups = await pool.spawn(n, 250, 250, 2);
    const busy = groups.flatMap((g) => g.busyPids);
    out.busyWanted = busy.length;
    out.busyDone = await waitBusyDone(busy, 600_000);
    out.busyStartSec = (performance.now() - t0) / 1000;
    if (out.busyDone < busy.length) progress(`scrape: only ${out.busyDone} of ${busy.length} burnt their tick in time`);
    progress('scrape: busy case (every process exported)');
    out.cases.push(await measure('busy', render, refreshing, iterations));
    progress('scrape: busy case with the Kepler 0.7 family on');
    out.cases.push(await measure('busy+legacy', renderLegacy, refreshingLegacy, iterations));
  } finally {
    for (const app of apps) await app.stop();
    await pool.closeAll();
  }
  return out;
}
