// Test helper: the real Prometheus server (Debian package `prometheus`) on loopback, scraping
// given targets, with a small client for its HTTP API, and promtool's metrics linter.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './processes.js';

export interface ScrapeTarget {
  job: string;
  /** host:port */
  address: string;
  interval: string; // 1s
  /** Target labels, as service discovery and relabelling would attach them (e.g. a node's region). */
  labels?: Record<string, string>;
}

export interface PromSample {
  metric: Record<string, string>;
  value: number;
}

export class PrometheusServer {
  private constructor(
    readonly url: string,
    readonly child: ChildProcess,
    private readonly log: () => string,
  ) {}

  /** Starts Prometheus with its data under `dir` and waits until it is ready. */
  static async start(dir: string, targets: ScrapeTarget[]): Promise<PrometheusServer> {
    mkdirSync(dir, { recursive: true });
    const config = join(dir, 'prometheus.yml');
    const jobs = targets.map((t) =>
      [
        `  - job_name: ${t.job}`,
        `    scrape_interval: ${t.interval}`,
        `    scrape_timeout: ${t.interval}`,
        `    static_configs: [{targets: ['${t.address}'], labels: ${JSON.stringify(t.labels ?? {})}}]`,
      ].join('\n'),
    );
    writeFileSync(config, ['global: {evaluation_interval: 1s}', 'scrape_configs:', ...jobs, ''].join('\n'));
    const port = await freePort();
    const child = spawn('prometheus', [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    child.stderr.on('data', (d: Buffer) => (log += d.toString()));
    const server = new PrometheusServer(`http://127.0.0.1:${port}`, child, () => log);
    for (let i = 0; i < 150; i++) {
      if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}: ${log}`);
      try {
        if ((await fetch(`${server.url}/-/ready`)).ok) return server;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill('SIGKILL');
    throw new Error(`prometheus did not become ready: ${log}`);
  }

  stderr(): string {
    return this.log();
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }

  private async api(path: string, params: Record<string, string | string[]>, method: 'GET' | 'POST' = 'POST'): Promise<unknown> {
    const body = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) for (const one of Array.isArray(v) ? v : [v]) body.append(k, one);
    const res = method === 'POST' ? await fetch(`${this.url}${path}`, { method, body }) : await fetch(`${this.url}${path}?${body.toString()}`);
    const json = (await res.json()) as { status: string; data?: unknown; error?: string; errorType?: string };
    if (json.status !== 'success') throw new Error(`prometheus ${path} ${JSON.stringify(params)}: ${json.errorType}: ${json.error}`);
    return json.data;
  }

  /** An instant query; a scalar result comes back as one sample with no labels. */
  async query(expr: string, timeSec?: number): Promise<PromSample[]> {
    const data = (await this.api('/api/v1/query', { query: expr, ...(timeSec !== undefined ? { time: String(timeSec) } : {}) })) as {
      resultType: string;
      result: unknown;
    };
    if (data.resultType === 'scalar') return [{ metric: {}, value: Number((data.result as [number, string])[1]) }];
    if (data.resultType !== 'vector') throw new Error(`${expr}: expected an instant vector, got a ${data.resultType}`);
    return (data.result as { metric: Record<string, string>; value: [number, string] }[]).map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  }

  /** One value per label set, for queries the caller expects to return exactly one sample. */
  async queryOne(expr: string, timeSec?: number): Promise<number> {
    const r = await this.query(expr, timeSec);
    if (r.length !== 1) throw new Error(`${expr}: expected 1 sample, got ${r.length}: ${JSON.stringify(r.slice(0, 5))}`);
    return r[0].value;
  }

  /** Values of a label over the series matching `match` (what Grafana's label_values() asks). */
  async labelValues(label: string, match?: string): Promise<string[]> {
    return (await this.api(`/api/v1/label/${encodeURIComponent(label)}/values`, match ? { 'match[]': match } : {}, 'GET')) as string[];
  }

  /** Waits until `job` has been scraped successfully at least `n` times. */
  async waitForScrapes(job: string, n: number, timeoutMs = 60_000): Promise<void> {
    const t0 = Date.now();
    for (;;) {
      const r = await this.query(`sum_over_time(up{job="${job}"}[10m])`);
      if (r.length > 0 && r[0].value >= n) return;
      if (Date.now() - t0 > timeoutMs) throw new Error(`${job} was scraped successfully ${r[0]?.value ?? 0} times in ${timeoutMs} ms, wanted ${n}: ${this.log()}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** Runs `promtool check metrics` on an exposition; returns its exit code and what it reported. */
export function promtoolCheckMetrics(exposition: string): { status: number | null; output: string } {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout}${r.stderr}`.trim() };
}
