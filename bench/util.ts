// Small helpers shared by the benchmark sections: statistics, tables, /proc readings, options,
// and the clean-up registry that makes sure nothing the benchmark started outlives it.

import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus } from 'node:os';
import type { Logger } from '../src/logger/logger.js';

// ---------------------------------------------------------------- statistics

export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

export const median = (xs: readonly number[]): number => quantile(xs, 0.5);

/** Times `fn` `n` times; returns the milliseconds of each call. */
export function timeEach(n: number, fn: () => void): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    fn();
    out.push(performance.now() - t0);
  }
  return out;
}

// ---------------------------------------------------------------- formatting

export function fmt(v: number | null | undefined, digits = 2): string {
  if (v === undefined || v === null || !Number.isFinite(v)) return 'n/a';
  return v.toFixed(digits);
}

export const mib = (bytes: number): string => fmt(bytes / 1048576, 1);
export const kib = (bytes: number): string => fmt(bytes / 1024, 1);

/** A plain-text table with right-aligned numeric columns. */
export function table(title: string, headers: string[], rows: (string | number)[][]): string {
  const cells = rows.map((r) => r.map(String));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const numeric = headers.map((_, i) => cells.length > 0 && cells.every((r) => /^[-+]?[\d.,]+[x%]?$|^n\/a$/.test(r[i] ?? '')));
  const line = (r: string[]) =>
    r
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [``, `== ${title}`, line(headers), rule, ...cells.map(line)].join('\n') + '\n';
}

export function print(text: string): void {
  process.stdout.write(text);
}

/** Progress lines go to stderr, so that stdout holds only the results. */
export function progress(msg: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

// ---------------------------------------------------------------- options

export function envInt(name: string, def: number): number {
  const v = process.env[name];
  if (v === undefined || v.trim() === '') return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name}: expected a non-negative number, got ${JSON.stringify(v)}`);
  return n;
}

export function envList(name: string, def: number[]): number[] {
  const v = process.env[name];
  if (v === undefined || v.trim() === '') return def;
  const out = v.split(',').map((s) => Number(s.trim()));
  if (out.some((n) => !Number.isInteger(n) || n < 0)) throw new Error(`${name}: expected a comma-separated list of integers, got ${JSON.stringify(v)}`);
  return out;
}

// ---------------------------------------------------------------- /proc

/** Entries of /proc that are processes (what one refresh reads). */
export function procCount(): number {
  let n = 0;
  for (const name of readdirSync('/proc')) {
    const c = name.charCodeAt(0);
    if (c >= 48 && c <= 57) n++;
  }
  return n;
}

/** utime + stime of a process, in clock ticks. */
export function cpuTicks(pid: number): number {
  const text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}

/** A field of /proc/<pid>/status in bytes (VmRSS, VmHWM). */
export function statusBytes(pid: number | 'self', field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
  return m ? Number(m[1]) * 1024 : NaN;
}

/** The 1-minute load average. */
export function loadAverage(): string {
  try {
    return readFileSync('/proc/loadavg', 'latin1').split(' ')[0];
  } catch {
    return 'n/a';
  }
}

/** Busy and total ticks of all CPUs (/proc/stat), and the ticks of this process and its reaped children. */
function cpuClock(): { busy: number; total: number; self: number } {
  const f = readFileSync('/proc/stat', 'latin1').split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0); // user nice system idle iowait irq softirq steal
  const busy = total - f[3] - f[4];
  const st = readFileSync('/proc/self/stat', 'latin1');
  const g = st.slice(st.lastIndexOf(')') + 2).split(' ');
  return { busy, total, self: Number(g[11]) + Number(g[12]) + Number(g[13]) + Number(g[14]) };
}

/**
 * How busy the rest of the machine was during a measurement (this machine may be shared): CPU
 * time of every process but this one (and the children it reaped, e.g. the C floor), in cores.
 */
export class OtherLoad {
  private readonly start = cpuClock();

  /** `alsoOurs`: ticks of our own processes that /proc/self does not include (a grandchild). */
  cores(alsoOurs = 0): number {
    const end = cpuClock();
    const total = end.total - this.start.total;
    if (total <= 0) return NaN;
    const others = end.busy - this.start.busy - (end.self - this.start.self) - alsoOurs;
    return Math.max(0, (others / total) * cpus().length);
  }
}

let clkTck: number | undefined;
export function clockTicksPerSec(): number {
  if (clkTck === undefined) {
    try {
      clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clkTck = 100;
    }
  }
  return clkTck;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- clean-up

const cleanups = new Set<() => void>();

/** Registers a synchronous clean-up run at exit (normal, error or signal); returns its remover. */
export function onCleanup(fn: () => void): () => void {
  cleanups.add(fn);
  return () => cleanups.delete(fn);
}

export function runCleanups(): void {
  for (const fn of [...cleanups]) {
    cleanups.delete(fn);
    try {
      fn();
    } catch {
      // best effort: keep cleaning
    }
  }
}

let installed = false;
/** Runs the clean-ups on exit and turns SIGINT/SIGTERM/SIGHUP into a clean exit. */
export function installCleanupHandlers(): void {
  if (installed) return;
  installed = true;
  process.on('exit', runCleanups);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      progress(`${sig}: stopping, killing the processes the benchmark started`);
      runCleanups();
      process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  }
}

// ---------------------------------------------------------------- kepler-ts glue

export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  with() {
    return silentLogger;
  },
};

// ---------------------------------------------------------------- child processes

/** A child started by guarded(). */
export interface Guarded {
  pid: number;
  stderr(): string;
  /** Stops it (closing the watchdog's pipe) and waits for the watchdog, at most 10 s. */
  stop(): Promise<void>;
}

/**
 * Runs `cmd args` under a watchdog shell that sends it SIGTERM when our pipe to the shell closes
 * (stop(), or this process ending however it ends), so that it never outlives the benchmark.
 */
export async function guarded(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Guarded> {
  const watchdog = spawn('sh', ['-c', '"$@" & c=$!; echo $c; read _ || :; kill -TERM $c 2>/dev/null; wait', 'sh', cmd, ...args], {
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
    env,
  });
  const unregister = onCleanup(() => watchdog.stdin.destroy());
  let stderr = '';
  watchdog.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
  const exited = new Promise<void>((r) => watchdog.once('exit', () => r()));
  const stop = async () => {
    watchdog.stdin.end();
    await Promise.race([exited, sleep(10_000)]);
    unregister();
  };
  try {
    const pid = await new Promise<number>((resolve, reject) => {
      watchdog.stdout.setEncoding('utf8').once('data', (d: string) => resolve(Number(d.trim())));
      watchdog.once('exit', () => reject(new Error(`${cmd} did not start: ${stderr}`)));
    });
    return { pid, stderr: () => stderr, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** A TCP port free on 127.0.0.1 a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}
