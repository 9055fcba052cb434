// Campaign helpers: a cleanup registry (children, cgroups, temp folders, servers), the exporter
// started as a child on a free port, HTTP requests with timings, RSS, and small utilities.
//
// Every cleanup is synchronous on purpose: the same functions run from a scenario's normal end,
// from its time limit, and from a SIGINT/SIGTERM/exit handler, where nothing asynchronous runs.

import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http, { type IncomingHttpHeaders } from 'node:http';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseExposition, type Exposition } from '../support/exposition.js';
import { randomHex, randomUid } from '../../harness/ids.js';
import { cgroupV2Root, freePort } from '../support/processes.js';

export { randomHex, randomUid, freePort };

/**
 * The repository whose build is attacked: this one (dist/test/campaign/lib.js is three levels
 * below its root), or KTS_CAMPAIGN_TARGET (another checkout's root, built there), e.g. to
 * measure the code before a fix with the campaign of after it.
 */
export const ROOT = resolve(process.env.KTS_CAMPAIGN_TARGET || fileURLToPath(new URL('../../..', import.meta.url)));
export const MAIN = join(ROOT, 'dist', 'src', 'cli', 'main.js');
export const AETHER = join(ROOT, 'dist', 'bundle', 'kepler-aether-source');

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Blocks the thread for `ms` (cleanup only: it must work where no event loop turns). */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

// ---------------------------------------------------------------------------------------------
// Cleanup registry

/** Every scope still open, so a signal handler can clean them all up. */
const openScopes = new Set<Scope>();

/**
 * What one scenario started. close() undoes it in reverse order; it is idempotent and
 * synchronous, so it is safe from a signal or exit handler.
 */
export class Scope {
  private cleanups: { what: string; fn: () => void }[] = [];
  closed = false;

  constructor(readonly name: string) {
    openScopes.add(this);
  }

  defer(what: string, fn: () => void): void {
    if (this.closed) {
      // Started after the scenario was abandoned (a timed-out scenario still running): undo at once.
      try {
        fn();
      } catch {
        // best effort
      }
      return;
    }
    this.cleanups.push({ what, fn });
  }

  tmpdir(prefix = 'kts-campaign-'): string {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    this.defer(`rm -rf ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
    return dir;
  }

  /** Spawns in its own process group; cleanup SIGKILLs the whole group. */
  spawn(cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
    const child = spawn(cmd, args, { stdio: 'ignore', ...opts, detached: true });
    child.on('error', () => undefined); // reported through exit/close
    if (child.pid !== undefined) {
      const pid = child.pid;
      this.defer(`kill -9 -${pid}`, () => killGroup(pid));
    }
    return child;
  }

  /** Creates a cgroup directory (and parents); cleanup kills what is in it and removes it. */
  cgroup(dir: string): string {
    const created: string[] = [];
    let d = dir;
    while (!existsSync(d)) {
      created.unshift(d);
      d = resolve(d, '..');
    }
    mkdirSync(dir, { recursive: true });
    // Parents first in the list, so LIFO cleanup removes children before their parents.
    for (const c of created) this.defer(`rmdir cgroup ${c}`, () => removeCgroupTree(c));
    return dir;
  }

  server(s: Server, what = 'server'): void {
    this.defer(`close ${what}`, () => {
      s.close();
      (s as Server & { closeAllConnections?: () => void }).closeAllConnections?.();
    });
  }

  close(): string[] {
    if (this.closed) return [];
    this.closed = true;
    openScopes.delete(this);
    const problems: string[] = [];
    for (const c of this.cleanups.reverse()) {
      try {
        c.fn();
      } catch (err) {
        problems.push(`${c.what}: ${(err as Error).message}`);
      }
    }
    this.cleanups = [];
    return problems;
  }
}

/** Closes every open scope (signal and exit handlers). */
export function closeAllScopes(): void {
  for (const s of [...openScopes]) s.close();
}

export function killGroup(pid: number, signal: NodeJS.Signals = 'SIGKILL'): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // gone already
  }
  try {
    process.kill(pid, signal);
  } catch {
    // gone already
  }
}

/** Kills every process in a cgroup subtree and removes its directories, deepest first. */
export function removeCgroupTree(dir: string): void {
  if (!existsSync(dir)) return;
  const dirs: string[] = [];
  const walk = (d: string) => {
    dirs.push(d);
    let entries: string[] = [];
    try {
      entries = readdirSync(d, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => e.name);
    } catch {
      // vanished
    }
    for (const e of entries) walk(join(d, e));
  };
  walk(dir);
  dirs.sort((a, b) => b.length - a.length);
  for (const d of dirs) killCgroup(d);
  for (const d of dirs) {
    for (let i = 0; i < 100 && existsSync(d); i++) {
      try {
        rmdirSync(d);
      } catch {
        killCgroup(d);
        sleepSync(20);
      }
    }
  }
}

export function killCgroup(dir: string): void {
  try {
    if (existsSync(join(dir, 'cgroup.kill'))) {
      writeFileSync(join(dir, 'cgroup.kill'), '1');
      return;
    }
  } catch {
    // fall back to the pids
  }
  try {
    for (const pid of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // gone
      }
    }
  } catch {
    // gone
  }
}

/** PIDs in one cgroup (not its children). */
export function cgroupPids(dir: string): number[] {
  try {
    return readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * A parent cgroup for one scenario's containers, on the v2 hierarchy. Container ids are found
 * anywhere in the path (`/docker-<id>.scope`, `/kubepods/<qos>/pod<uid>/<id>`), so everything
 * a scenario creates lives under `kts-campaign-<pid>-<name>` and goes with it.
 */
export function scenarioCgroupParent(scope: Scope): string {
  const dir = join(cgroupV2Root(), `kts-campaign-${process.pid}-${scope.name.replace(/[^A-Za-z0-9]/g, '')}`);
  return scope.cgroup(dir);
}

/** Runs `script` (sh) inside the cgroup `dir` (created), moving the shell in before it runs. */
export function runInCgroup(scope: Scope, dir: string, script: string, env: Record<string, string> = {}): ChildProcess {
  scope.cgroup(dir);
  return scope.spawn('sh', ['-c', `echo $$ > '${join(dir, 'cgroup.procs')}' && ${script}`], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
  });
}

export function dockerCgroup(parent: string, id = randomHex(64)): { id: string; dir: string } {
  return { id, dir: join(parent, `docker-${id}.scope`) };
}

export function podCgroup(parent: string, pod = randomUid(), id = randomHex(64)): { id: string; pod: string; dir: string } {
  return { id, pod, dir: join(parent, 'kubepods', 'burstable', `pod${pod}`, id) };
}

// ---------------------------------------------------------------------------------------------
// The exporter as a child process

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** performance.now() at exit. */
  at: number;
}

export class ExporterProc {
  readonly url: string;
  private err = '';
  private out = '';
  readonly exited: Promise<ExitInfo>;
  exit: ExitInfo | undefined;
  readonly spawnedAt = performance.now();
  /** performance.now() of the first byte on stderr. */
  firstStderrAt: number | undefined;

  constructor(
    readonly child: ChildProcess,
    readonly port: number,
  ) {
    this.url = `http://127.0.0.1:${port}`;
    child.stderr?.on('data', (d: Buffer) => {
      this.firstStderrAt ??= performance.now();
      this.err += d.toString('utf8');
    });
    child.stdout?.on('data', (d: Buffer) => (this.out += d.toString('utf8')));
    this.exited = new Promise((r) =>
      child.on('exit', (code, signal) => {
        this.exit = { code, signal, at: performance.now() };
        r(this.exit);
      }),
    );
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  alive(): boolean {
    return this.exit === undefined;
  }

  stderr(): string {
    return this.err;
  }

  stdout(): string {
    return this.out;
  }

  /** Non-empty stderr lines, optionally from a character offset (see stderr().length). */
  lines(from = 0): string[] {
    return this.err
      .slice(from)
      .split('\n')
      .filter((l) => l.trim() !== '');
  }

  /** Resident memory in MiB from /proc/<pid>/status, undefined once gone. */
  rssMiB(): number | undefined {
    return rssMiB(this.pid);
  }

  signal(sig: NodeJS.Signals): boolean {
    try {
      return this.child.kill(sig);
    } catch {
      return false;
    }
  }

  /** Waits for the exit, at most `ms`; undefined when still running. */
  async waitExit(ms: number): Promise<ExitInfo | undefined> {
    if (this.exit) return this.exit;
    let t: NodeJS.Timeout | undefined;
    const r = await Promise.race([this.exited, new Promise<undefined>((res) => (t = setTimeout(() => res(undefined), ms)))]);
    clearTimeout(t);
    return r;
  }

  describeExit(): string {
    if (!this.exit) return 'running';
    return this.exit.signal ? `killed by ${this.exit.signal}` : `exit ${this.exit.code}`;
  }

  lastLine(): string {
    return this.lines().at(-1) ?? '';
  }
}

export function rssMiB(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

export interface StartOptions {
  args: string[];
  env?: Record<string, string>;
  /** Wait until the exporter answers HTTP (any status); default true. */
  waitReady?: boolean;
  readyTimeoutMs?: number;
  /** Listen address given by the caller (no --web.listen-address added). */
  noListenFlag?: boolean;
  port?: number;
}

/** Starts kepler-ts on 127.0.0.1:<free port>; by default waits until it answers HTTP. */
export async function startExporter(scope: Scope, o: StartOptions): Promise<ExporterProc> {
  const port = o.port ?? (await freePort());
  const args = o.noListenFlag ? o.args : [...o.args, `--web.listen-address=127.0.0.1:${port}`];
  const child = scope.spawn(process.execPath, [MAIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...(o.env ?? {}) },
    cwd: ROOT,
  });
  const exp = new ExporterProc(child, port);
  if (o.waitReady === false) return exp;
  const deadline = performance.now() + (o.readyTimeoutMs ?? 20_000);
  while (performance.now() < deadline) {
    if (!exp.alive()) throw new Error(`kepler-ts ${exp.describeExit()} before answering: ${exp.lastLine().slice(0, 300)}`);
    const r = await request(`${exp.url}/healthz`, { timeoutMs: 1000 });
    if (r.status > 0) return exp;
    await sleep(100);
  }
  throw new Error(`kepler-ts did not answer on ${exp.url} within ${o.readyTimeoutMs ?? 20_000} ms: ${exp.lastLine().slice(0, 300)}`);
}

/** Runs the exporter expecting it to exit by itself (config errors); kills it after `limitMs`. */
export async function runToExit(
  scope: Scope,
  args: string[],
  limitMs: number,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number; lines: string[]; timedOut: boolean; stdout: string }> {
  const exp = await startExporter(scope, { args, waitReady: false, noListenFlag: args.some((a) => a.startsWith('--web.listen-address')) });
  const ex = await exp.waitExit(limitMs);
  if (!ex) {
    exp.signal('SIGKILL');
    await exp.waitExit(2000);
    return { code: null, signal: null, ms: performance.now() - exp.spawnedAt, lines: exp.lines(), timedOut: true, stdout: exp.stdout() };
  }
  return { code: ex.code, signal: ex.signal, ms: ex.at - exp.spawnedAt, lines: exp.lines(), timedOut: false, stdout: exp.stdout() };
}

// ---------------------------------------------------------------------------------------------
// HTTP

export interface Reply {
  /** 0 when no HTTP answer came (error or timeout). */
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  ms: number;
  error?: string;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  agent?: http.Agent;
  timeoutMs?: number;
  auth?: { user: string; password: string };
}

/** One HTTP request; never rejects (status 0 and `error` instead). */
export function request(url: string, o: RequestOptions = {}): Promise<Reply> {
  const started = performance.now();
  return new Promise((resolvePromise) => {
    let done = false;
    const finish = (r: Omit<Reply, 'ms'>) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolvePromise({ ...r, ms: performance.now() - started });
    };
    const headers: Record<string, string> = { ...(o.headers ?? {}) };
    if (o.auth) headers.Authorization = `Basic ${Buffer.from(`${o.auth.user}:${o.auth.password}`).toString('base64')}`;
    const req = http.request(url, { method: o.method ?? 'GET', headers, agent: o.agent ?? false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => finish({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', (err) => finish({ status: 0, headers: {}, body: Buffer.alloc(0), error: err.message }));
    });
    const timer = setTimeout(() => {
      req.destroy(new Error(`no answer within ${o.timeoutMs ?? 10_000} ms`));
    }, o.timeoutMs ?? 10_000);
    req.on('error', (err) => finish({ status: 0, headers: {}, body: Buffer.alloc(0), error: err.message }));
    req.end();
  });
}

export interface Scrape {
  reply: Reply;
  exp?: Exposition;
  text: string;
}

/** GET /metrics and parse it (text format unless headers say otherwise). */
export async function scrape(base: string, o: RequestOptions = {}): Promise<Scrape> {
  const reply = await request(`${base}/metrics`, { timeoutMs: 15_000, ...o });
  const text = reply.body.toString('utf8');
  return { reply, text, exp: reply.status === 200 ? parseExposition(text) : undefined };
}

// ---------------------------------------------------------------------------------------------
// Small utilities

export const MiB = (n: number | undefined) => (n === undefined ? 'n/a' : `${n.toFixed(1)} MiB`);

export function quantile(values: number[], q: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}

export const median = (v: number[]) => quantile(v, 0.5);
export const max = (v: number[]) => (v.length ? Math.max(...v) : NaN);
export const ms = (n: number) => (Number.isFinite(n) ? `${n.toFixed(0)} ms` : 'n/a');

/** Counts of each value: "200×12, 401×3". */
export function histogram(values: (number | string)[]): string {
  const m = new Map<string, number>();
  for (const v of values) m.set(String(v), (m.get(String(v)) ?? 0) + 1);
  return [...m.entries()].map(([k, n]) => `${k}×${n}`).join(', ') || 'none';
}

/** The soft limit of open files for this process. */
export function openFileLimit(): number {
  try {
    const m = /Max open files\s+(\d+|unlimited)/.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m && m[1] !== 'unlimited' ? Number(m[1]) : 1_000_000;
  } catch {
    return 1024;
  }
}

/** Escapes a string for a RegExp. */
export function reEscape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A line that is a JavaScript stack frame. */
export const STACK_LINE = /^\s+at .+/;

/** Short, single-line form of a log line for the report. */
export function shorten(s: string, n = 120): string {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length > n ? `${one.slice(0, n - 1)}…` : one;
}

/** Writes a file atomically (write + rename), creating the folder. */
export function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  // rename(2) cannot replace a directory with a file: remove it first (only then).
  try {
    if (statSync(file).isDirectory()) rmSync(file, { recursive: true, force: true });
  } catch {
    // nothing there
  }
  renameSync(tmp, file);
}
