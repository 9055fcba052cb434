// Test helper: real processes in real cgroups, named the way container runtimes name theirs, and
// a kepler-ts child process.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

export const CGROUP_ROOT = '/sys/fs/cgroup';

/** The cgroup v2 mount: the root on unified hosts, unified/ on hybrid ones like the test machine. */
export function cgroupV2Root(): string {
  if (existsSync(join(CGROUP_ROOT, 'cgroup.controllers'))) return CGROUP_ROOT;
  if (existsSync(join(CGROUP_ROOT, 'unified', 'cgroup.controllers'))) return join(CGROUP_ROOT, 'unified');
  throw new Error(`no cgroup v2 hierarchy at ${CGROUP_ROOT} or ${CGROUP_ROOT}/unified`);
}

export interface CgroupProcess {
  /** The cgroup directory (absolute). */
  dir: string;
  child: ChildProcess;
}

/** Runs `script` (sh) inside a new cgroup `dir`, moving the shell in before it execs the work. */
export function runInCgroup(dir: string, script: string, env: Record<string, string> = {}): CgroupProcess {
  mkdirSync(dir, { recursive: true });
  const child = spawn('sh', ['-c', `echo $$ > '${join(dir, 'cgroup.procs')}' && ${script}`], {
    detached: true,
    stdio: 'ignore',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
  });
  return { dir, child };
}

export function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/**
 * Kills everything in a container's cgroup: its process group, and every process in the cgroup
 * (stress-ng workers outlive a SIGKILLed parent and would run on into later tests).
 */
export function stopInCgroup(c: CgroupProcess): void {
  killGroup(c.child);
  try {
    if (existsSync(join(c.dir, 'cgroup.kill'))) {
      writeFileSync(join(c.dir, 'cgroup.kill'), '1');
      return;
    }
    for (const pid of readFileSync(join(c.dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
  } catch {
    // the cgroup is already gone
  }
}

/** Removes cgroup directories, deepest first, once their processes are gone. */
export async function removeCgroups(dirs: string[]): Promise<void> {
  for (const dir of [...dirs].sort((a, b) => b.length - a.length)) {
    for (let i = 0; i < 50 && existsSync(dir); i++) {
      try {
        rmdirSync(dir);
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }
}

/** CPU seconds a cgroup has used: cpu.stat usage_usec (v2) or cpuacct.usage (v1). */
export function cgroupCpuSeconds(dir: string): number {
  if (existsSync(join(dir, 'cpu.stat'))) {
    const m = /usage_usec (\d+)/.exec(readFileSync(join(dir, 'cpu.stat'), 'utf8'));
    if (!m) throw new Error(`${dir}/cpu.stat has no usage_usec`);
    return Number(m[1]) / 1e6;
  }
  return Number(readFileSync(join(dir, 'cpuacct.usage'), 'utf8').trim()) / 1e9;
}

/** Waits until a cgroup's CPU counter has not moved for `quietMs` (its processes are all asleep). */
export async function cgroupSettled(dir: string, quietMs = 300): Promise<void> {
  const deadline = performance.now() + 20_000;
  let last = cgroupCpuSeconds(dir);
  let since = performance.now();
  while (performance.now() - since < quietMs) {
    if (performance.now() > deadline) throw new Error(`${dir} never went quiet`);
    await new Promise((r) => setTimeout(r, 50));
    const now = cgroupCpuSeconds(dir);
    if (now !== last) [last, since] = [now, performance.now()];
  }
}

/**
 * A worker in cgroup `dir` that burns CPU once per line written to `fifo` and appends the line to
 * `done` when its burst is over; between bursts nothing in its cgroup runs.
 */
export class FifoBursts {
  private wakes = 0;

  constructor(
    readonly fifo: string,
    readonly done: string,
    readonly dir: string,
  ) {}

  /** One burst: resolves once it is over and the cgroup's counter is still again. */
  async burst(): Promise<void> {
    appendFileSync(this.fifo, `${++this.wakes}\n`);
    const until = performance.now() + 30_000;
    while (!existsSync(this.done) || readFileSync(this.done, 'utf8').trim().split('\n').length < this.wakes) {
      if (performance.now() > until) throw new Error(`the worker in ${this.dir} did not burn`);
      await new Promise((r) => setTimeout(r, 20));
    }
    await cgroupSettled(this.dir);
  }
}

/** Active CPU seconds of the node from /proc/stat, as kepler-ts computes them. */
export function nodeActiveCpuSeconds(): number {
  const f = readFileSync('/proc/stat', 'latin1').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
  return (f.reduce((a, b) => a + b, 0) - f[3] - f[4]) / 100;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => (a && typeof a === 'object' ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

export function requireCommand(cmd: string): void {
  if (spawnSync('sh', ['-c', `command -v ${cmd}`]).status !== 0) {
    throw new Error(`${cmd} is not installed: run .ci/run (or apt-get install it) before the end-to-end tests`);
  }
}

export const MAIN = join(process.cwd(), 'dist', 'src', 'cli', 'main.js');

export interface Exporter {
  child: ChildProcess;
  url: string;
  stderr: () => string;
  /** Resolves with the exit code once it exits. */
  exited: Promise<number | null>;
}

/** Starts kepler-ts (with `env` added to this process's environment) and waits until /healthz answers. */
export async function startExporter(args: string[], port: number, env: Record<string, string> = {}): Promise<Exporter> {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout.resume();
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`kepler-ts exited with ${child.exitCode}: ${err}`);
    try {
      const r = await fetch(`${url}/healthz`);
      if (r.ok) return { child, url, stderr: () => err, exited };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`kepler-ts did not answer on ${url}: ${err}`);
}
