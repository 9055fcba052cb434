// Section 3: resident memory over a soak. A population of idle processes in groups; every tick the
// oldest groups are replaced by new ones (a few of whose processes are busy, so that new series
// keep appearing in /metrics and terminated ones keep leaving), then the exporter refreshes and
// renders a gzipped OpenMetrics scrape as /metrics would. Memory is read after a full GC, which
// needs node --expose-gc: run.ts runs this section in a child started with that flag.

import { gzipSync, constants as zlib } from 'node:zlib';
import { buildApp } from './app.js';
import { ProcPool } from './pool.js';
import { median, OtherLoad, procCount, progress, sleep } from './util.js';

export interface SoakOptions {
  population: number;
  durationSec: number;
  intervalMs: number;
  /** Fraction of the population replaced every tick. */
  churn: number;
  groupSize: number;
  busyPerGroup: number;
  sampleSec: number;
}

export interface SoakSample {
  label: string;
  tSec: number;
  refreshes: number;
  procs: number;
  tracked: number;
  exported: number;
  refreshMs: number;
  refreshMaxMs: number;
  renderMs: number;
  bytesRaw: number;
  bytesGz: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  /** CPU of the rest of the machine since the previous sample, in cores. */
  othersCores: number;
}

export interface SoakResult {
  options: SoakOptions;
  gc: boolean;
  samples: SoakSample[];
  refreshes: number;
  replacedProcesses: number;
  /** Ticks whose churn was skipped because earlier replacement groups were still starting. */
  churnSkipped: number;
  /** Ticks that took longer than the interval. */
  lateTicks: number;
  errors: Record<string, number>;
}

export async function runSoak(o: SoakOptions, onSample: (s: SoakSample) => void): Promise<SoakResult> {
  const gc = (globalThis as { gc?: () => void }).gc;
  const pool = new ProcPool();
  const churnGroups = Math.max(1, Math.round((o.population / o.groupSize) * o.churn));
  progress(`soak: starting ${o.population} idle processes in groups of ${o.groupSize}`);
  await pool.spawn(o.population, o.groupSize, 0, 4);

  const app = buildApp(Infinity);
  const result: SoakResult = { options: o, gc: gc !== undefined, samples: [], refreshes: 0, replacedProcesses: 0, churnSkipped: 0, lateTicks: 0, errors: {} };
  let refreshMs: number[] = [];
  let renderMs: number[] = [];
  let lastRaw = 0;
  let lastGz = 0;
  let tracked = 0;
  let exported = 0;
  let starting = 0;
  let others = new OtherLoad();

  const sample = (label: string, tSec: number): void => {
    gc?.();
    const m = process.memoryUsage();
    const s: SoakSample = {
      label,
      tSec,
      refreshes: result.refreshes,
      procs: procCount(),
      tracked,
      exported,
      refreshMs: median(refreshMs),
      refreshMaxMs: refreshMs.length ? Math.max(...refreshMs) : NaN,
      renderMs: median(renderMs),
      bytesRaw: lastRaw,
      bytesGz: lastGz,
      rss: m.rss,
      heapUsed: m.heapUsed,
      heapTotal: m.heapTotal,
      external: m.external,
      othersCores: others.cores(),
    };
    refreshMs = [];
    renderMs = [];
    others = new OtherLoad();
    result.samples.push(s);
    onSample(s);
  };

  const tick = (): void => {
    const t0 = performance.now();
    const snap = app.monitor.refresh();
    const t1 = performance.now();
    const { body, snapshot } = app.prometheus.render(true);
    const gz = gzipSync(Buffer.from(body, 'utf8'), { level: zlib.Z_BEST_SPEED });
    app.monitor.acknowledgeExport(snapshot);
    const t2 = performance.now();
    result.refreshes++;
    refreshMs.push(t1 - t0);
    renderMs.push(t2 - t1);
    lastRaw = Buffer.byteLength(body, 'utf8');
    lastGz = gz.length;
    tracked = snap.processes.workloads.length;
    exported = 0;
    for (const line of body.split('\n', 1_000_000)) if (line.startsWith('kepler_process_cpu_seconds_total{')) exported++;
    result.errors = snap.health.errors;
  };

  try {
    sample('before first refresh', 0);
    tick(); // baseline: reads every process's labels
    tick();
    tick();
    const start = performance.now();
    sample('start', 0);
    const end = start + o.durationSec * 1000;
    let nextSample = start + o.sampleSec * 1000;
    while (performance.now() < end) {
      const tickStart = performance.now();
      // Churn: the oldest groups go, new ones come (not awaited: they start while we refresh).
      if (starting <= 2 * churnGroups) {
        void pool.closeOldest(churnGroups).catch((err: unknown) => progress(`soak: closing a group failed: ${String(err)}`));
        for (let i = 0; i < churnGroups; i++) {
          const busy = Math.min(o.busyPerGroup, o.groupSize);
          const g = pool.spawnGroup(o.groupSize - busy, busy);
          starting++;
          g.ready.then(
            () => starting--,
            (err: unknown) => {
              starting--;
              progress(`soak: a replacement group failed to start: ${String(err)}`);
            },
          );
          result.replacedProcesses += g.size;
        }
      } else result.churnSkipped++;
      tick();
      const now = performance.now();
      if (now >= nextSample && now < end) {
        sample('', (now - start) / 1000);
        nextSample += o.sampleSec * 1000;
      }
      const spent = performance.now() - tickStart;
      if (spent > o.intervalMs) result.lateTicks++;
      await sleep(Math.max(0, o.intervalMs - spent));
    }
    sample('end', (performance.now() - start) / 1000);
  } finally {
    await pool.closeAll();
  }
  return result;
}
