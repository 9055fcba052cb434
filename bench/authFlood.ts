// Section 6 (auth): a flood of wrong basic-auth passwords against a real WebServer (web config
// with one user, a bcrypt hash of cost 10 as `htpasswd -nBC 10` makes), and meanwhile the latency
// of a scraper whose credentials were verified once (a cache hit) and of an { auth: false } route
// (/healthz). The flood comes from a child process, as it would from another host: N connections,
// each sending its next request as soon as the last one is answered, for BENCH_AUTH_SECONDS.
// Target: the verified scrape under 100 ms throughout.

import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import bcrypt from 'bcryptjs';
import { defaultPoolSize } from '../src/server/bcryptPool.js';
import { WebServer } from '../src/server/webServer.js';
import { onCleanup, OtherLoad, progress, silentLogger, sleep } from './util.js';

export const AUTH_TARGET_MS = 100;
const COST = 10;
const USER = 'prometheus';
const PASSWORD = 'correct horse battery staple';
/** One verified scrape and one /healthz every this many ms during the flood. */
const PROBE_EVERY_MS = 100;

export interface AuthFloodResult {
  seconds: number;
  concurrency: number;
  poolSize: number;
  /** One wrong-password check of cost 10 on this machine, on the event loop (what the flood costs a worker). */
  compareMs: number;
  /** Answers the flood got, by status. */
  floodStatuses: Record<string, number>;
  floodErrors: number;
  /** Verified scrape before the flood (keep-alive, cache hit). */
  quietMs: number[];
  /** Verified scrape during the flood. */
  scrapeMs: number[];
  scrapeNotOk: number;
  healthzMs: number[];
  healthzNotOk: number;
  othersCores: number;
}

interface FloodChildResult {
  statuses: Record<string, number>;
  errors: number;
}

/** A /metrics-sized answer: a few hundred series of text. */
function metricsBody(): string {
  let out = '# HELP kepler_process_cpu_watts Power of a process\n# TYPE kepler_process_cpu_watts gauge\n';
  for (let i = 0; i < 500; i++) out += `kepler_process_cpu_watts{pid="${1000 + i}",comm="worker${i}",zone="package"} ${(i % 17) / 3}\n`;
  return out;
}

function get(port: number, path: string, agent: http.Agent, auth?: string): Promise<{ ms: number; status: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const headers = auth ? { Authorization: auth } : {};
    const req = http.get({ host: '127.0.0.1', port, path, agent, headers, timeout: 30_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve({ ms: performance.now() - t0, status: res.statusCode ?? 0 }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on('error', reject);
  });
}

const basic = (user: string, password: string): string => 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');

export async function benchAuthFlood(seconds: number, concurrency: number): Promise<AuthFloodResult> {
  const dir = mkdtempSync(join(tmpdir(), 'kepler-ts-bench-auth-'));
  const unregisterDir = onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const hash = bcrypt.hashSync(PASSWORD, COST);
  const t0 = performance.now();
  bcrypt.compareSync('wrong', hash);
  const compareMs = performance.now() - t0;
  const configFile = join(dir, 'web-config.yml');
  writeFileSync(configFile, `basic_auth_users:\n  ${USER}: ${hash}\n`);

  const server = new WebServer({ listenAddresses: ['127.0.0.1:0'], webConfigFile: configFile, logger: silentLogger });
  const body = metricsBody();
  server.route('/metrics', (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' });
    res.end(body);
  });
  server.route(
    '/healthz',
    (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{"status":"ok"}\n');
    },
    { auth: false },
  );
  await server.start();
  const port = server.addresses()[0].port;
  const scraper = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const prober = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const auth = basic(USER, PASSWORD);
  try {
    // The first scrape pays the bcrypt check (in a worker) and fills the cache.
    const first = await get(port, '/metrics', scraper, auth);
    if (first.status !== 200) throw new Error(`auth bench: first scrape answered ${first.status}`);
    const quietMs: number[] = [];
    for (let i = 0; i < 20; i++) quietMs.push((await get(port, '/metrics', scraper, auth)).ms);

    progress(`auth: ${concurrency} connections sending wrong passwords for ${seconds} s; a verified scrape and /healthz every ${PROBE_EVERY_MS} ms`);
    const others = new OtherLoad();
    const child = fork(fileURLToPath(import.meta.url), ['--auth-flood-child'], {
      env: { ...process.env, AUTH_FLOOD: JSON.stringify({ port, seconds, concurrency }) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const unregister = onCleanup(() => child.kill('SIGTERM'));
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    const done = new Promise<FloodChildResult>((resolve, reject) => {
      let result: FloodChildResult | undefined;
      child.on('message', (m: { type: string; result?: FloodChildResult }) => {
        if (m.type === 'started') started();
        if (m.type === 'result') result = m.result;
      });
      child.once('error', reject);
      child.once('exit', (code, sig) => {
        unregister();
        if (result) resolve(result);
        else reject(new Error(`auth flood child exited (${code ?? sig}) without a result`));
      });
    });
    await Promise.race([running, done]);
    // Let the flood fill the queue before the first probe.
    await sleep(200);

    const scrapeMs: number[] = [];
    const healthzMs: number[] = [];
    let scrapeNotOk = 0;
    let healthzNotOk = 0;
    let finished = false;
    void done.finally(() => (finished = true)).catch(() => {});
    const until = performance.now() + (seconds - 0.5) * 1000;
    while (!finished && performance.now() < until) {
      const next = performance.now() + PROBE_EVERY_MS;
      const [s, h] = await Promise.all([get(port, '/metrics', scraper, auth), get(port, '/healthz', prober)]);
      scrapeMs.push(s.ms);
      healthzMs.push(h.ms);
      if (s.status !== 200) scrapeNotOk++;
      if (h.status !== 200) healthzNotOk++;
      await sleep(Math.max(0, next - performance.now()));
    }
    const flood = await done;
    return {
      seconds,
      concurrency,
      poolSize: defaultPoolSize(),
      compareMs,
      floodStatuses: flood.statuses,
      floodErrors: flood.errors,
      quietMs,
      scrapeMs,
      scrapeNotOk,
      healthzMs,
      healthzNotOk,
      othersCores: others.cores(),
    };
  } finally {
    scraper.destroy();
    prober.destroy();
    await server.close(2000);
    unregisterDir();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The flood: `concurrency` keep-alive connections, each sending a wrong password back to back. */
async function floodChild(): Promise<void> {
  process.on('disconnect', () => process.exit(1)); // the bench is gone: stop too
  const { port, seconds, concurrency } = JSON.parse(process.env.AUTH_FLOOD ?? '{}') as { port: number; seconds: number; concurrency: number };
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const wrong = basic(USER, 'wrong password');
  const statuses: Record<string, number> = {};
  let errors = 0;
  const until = performance.now() + seconds * 1000;
  const send = process.send?.bind(process);
  if (!send) throw new Error('the auth flood runs as a forked child: no IPC channel to the parent');
  send({ type: 'started' });
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        try {
          const r = await get(port, '/metrics', agent, wrong);
          statuses[r.status] = (statuses[r.status] ?? 0) + 1;
        } catch {
          errors++;
        }
      }
    }),
  );
  agent.destroy();
  await new Promise<void>((resolve) => send({ type: 'result', result: { statuses, errors } }, undefined, {}, () => resolve()));
}

if (process.argv[2] === '--auth-flood-child' && process.argv[1] === fileURLToPath(import.meta.url)) {
  floodChild().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`bench auth flood: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    },
  );
}
