// Section 4: the real exporter (node dist/src/cli/main.js) as a child, fake meter, monitor.interval
// 5s, scraped every 5 s like Prometheus would; its CPU time from /proc/<pid>/stat over the window.
// The exporter runs under a watchdog shell that stops it when our pipe to the shell closes, so it
// never outlives the benchmark.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { scrape } from './app.js';
import type { ProcPool } from './pool.js';
import { clockTicksPerSec, cpuTicks, OtherLoad, median, onCleanup, procCount, progress, sleep, statusBytes } from './util.js';

export interface IdleResult {
  spawned: number;
  procs: number;
  windowSec: number;
  cpuPercent: number;
  rssBytes: number;
  hwmBytes: number;
  refreshes: number;
  refreshMeanMs: number;
  scrapes: number;
  scrapeMs: number;
  scrapeBytes: number;
  othersCores: number;
}

const INTERVAL_SEC = 5;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

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

export async function benchIdle(pool: ProcPool, counts: number[], windowSec: number): Promise<IdleResult[]> {
  const main = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'kepler-bench-idle-'));
  const removeDir = onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const results: IdleResult[] = [];
  try {
    for (const n of counts) {
      progress(`idle: ${n} extra idle processes`);
      await pool.ensureIdle(n);
      const port = await freePort();
      const config = join(dir, 'config.yaml');
      writeFileSync(
        config,
        ['log:', '  level: warn', 'monitor:', `  interval: ${INTERVAL_SEC}s`, 'cpu:', '  preferredMeters: [fake]', 'web:', `  listenAddresses: ["127.0.0.1:${port}"]`, ''].join(
          '\n',
        ),
      );
      const watchdog = spawn('sh', ['-c', '"$@" & c=$!; echo $c; read _ || :; kill -TERM $c 2>/dev/null; wait', 'sh', process.execPath, main, `--config.file=${config}`], {
        detached: true,
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      const unregister = onCleanup(() => watchdog.stdin?.destroy());
      let stderr = '';
      watchdog.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
      const exited = new Promise<void>((r) => watchdog.once('exit', () => r()));
      try {
        const pid = await new Promise<number>((resolve, reject) => {
          watchdog.stdout.setEncoding('utf8').once('data', (d: string) => resolve(Number(d.trim())));
          watchdog.once('exit', () => reject(new Error(`exporter did not start: ${stderr}`)));
        });
        // Ready when /metrics answers.
        const deadline = performance.now() + 30_000;
        for (;;) {
          try {
            await scrapeText(port);
            break;
          } catch (err) {
            if (performance.now() > deadline) throw new Error(`exporter not answering on port ${port}: ${(err as Error).message}; stderr: ${stderr}`);
            await sleep(200);
          }
        }
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
        for (let next = t0 + INTERVAL_SEC * 1000; next <= end; next += INTERVAL_SEC * 1000) {
          await sleep(next - performance.now());
          last = await scrapeText(port);
          scrapeMs.push(last.ms);
        }
        await sleep(Math.max(0, end - performance.now()));
        const ticks1 = cpuTicks(pid);
        const elapsedSec = (performance.now() - t0) / 1000;
        const stats1 = refreshStats(last.text);
        const refreshes = stats1.count - stats0.count;
        results.push({
          spawned: n,
          procs,
          windowSec: elapsedSec,
          cpuPercent: ((ticks1 - ticks0) / clockTicksPerSec() / elapsedSec) * 100,
          rssBytes: statusBytes(pid, 'VmRSS'),
          hwmBytes: statusBytes(pid, 'VmHWM'),
          refreshes,
          refreshMeanMs: refreshes > 0 ? ((stats1.sum - stats0.sum) / refreshes) * 1000 : NaN,
          scrapes: scrapeMs.length,
          scrapeMs: median(scrapeMs),
          scrapeBytes: last.bytes,
          othersCores: others.cores(ticks1 - ticks0),
        });
      } finally {
        watchdog.stdin.end();
        await Promise.race([exited, sleep(10_000)]);
        unregister();
      }
    }
  } finally {
    removeDir();
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}
