// Real processes for the benchmark to observe. They are started in groups: one detached `sh` per
// group starts the group's processes, prints their pids, then blocks reading its stdin (a pipe
// from this process). When that pipe closes, because the benchmark closed it or because the
// benchmark died however it died, the shell SIGKILLs its processes and reaps them, so nothing
// outlives the benchmark and no zombie is left to PID 1 (which does not reap on every machine).
// The `sleep 3600` also bounds the life of anything that escaped regardless.
//
// Two kinds of process:
//   idle  `sleep 3600`: never uses CPU, so the exporter sees it but never exports a series for it.
//   busy  burns CPU until its /proc/<pid>/stat shows one clock tick (10 ms), then execs
//         `sleep 3600` (same pid, same CPU times). Started after the exporter's baseline refresh,
//         it is billed that tick, so it appears in /metrics: the worst case of the exposition.

import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { detectCgroupLayout } from '../src/resource/cgroupCpu.js';
import { onCleanup, sleep } from './util.js';

// No single quotes inside: it is quoted into GROUP_SCRIPT. `$$` is the burner's own pid.
const BURN = 'while :; do read -r _ _ _ _ _ _ _ _ _ _ _ _ _ u s _ < /proc/$$/stat; [ $((u+s)) -gt 0 ] && break; done; exec sleep 3600';

const GROUP_SCRIPT = `
p=""
i=0; while [ "$i" -lt "$1" ]; do sleep 3600 </dev/null >/dev/null 2>&1 & p="$p $!"; i=$((i+1)); done
i=0; while [ "$i" -lt "$2" ]; do sh -c '${BURN}' </dev/null >/dev/null 2>&1 & p="$p $!"; i=$((i+1)); done
echo "$p"
read _ || :
kill -9 $p 2>/dev/null
wait
`;

export class ProcGroup {
  readonly child: ChildProcessByStdio<Writable, Readable, null>;
  pids: number[] = [];
  /** The busy ones (the last `busy` of pids). */
  busyPids: number[] = [];
  /** Resolves once every process of the group is started (busy ones may still be burning). */
  readonly ready: Promise<void>;
  readonly exited: Promise<void>;
  private closed = false;
  private readonly unregister: () => void;

  constructor(
    readonly idle: number,
    readonly busy: number,
  ) {
    this.child = spawn('sh', ['-c', GROUP_SCRIPT, 'sh', String(idle), String(busy)], {
      detached: true, // own session: a Ctrl-C on the terminal reaches the benchmark, which closes the pipe
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    this.unregister = onCleanup(() => this.child.stdin?.destroy());
    this.exited = new Promise((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.once('error', () => resolve()); // never started: nothing to wait for
    });
    this.ready = new Promise((resolve, reject) => {
      let out = '';
      this.child.once('error', reject);
      this.child.once('exit', (code, sig) => reject(new Error(`process group shell exited early (${code ?? sig})`)));
      this.child.stdout.setEncoding('utf8');
      this.child.stdout.on('data', (d: string) => {
        out += d;
        const nl = out.indexOf('\n');
        if (nl < 0) return;
        this.pids = out.slice(0, nl).trim().split(/\s+/).filter(Boolean).map(Number);
        this.busyPids = busy > 0 ? this.pids.slice(-busy) : [];
        this.child.stdout.removeAllListeners('data');
        this.child.stdout.resume();
        if (this.pids.length !== idle + busy) reject(new Error(`process group started ${this.pids.length} of ${idle + busy} processes`));
        else resolve();
      });
    });
    this.ready.catch(() => {}); // observed by the awaiting caller; never an unhandled rejection
  }

  get size(): number {
    return this.idle + this.busy;
  }

  /** Kills the group's processes and waits until they are reaped. */
  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.child.stdin?.end();
    }
    const timeout = sleep(15_000).then(() => 'timeout' as const);
    if ((await Promise.race([this.exited.then(() => 'done' as const), timeout])) === 'timeout') {
      try {
        if (this.child.pid !== undefined) process.kill(-this.child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
      await Promise.race([this.exited, sleep(5_000)]);
    }
    this.unregister();
  }
}

export class ProcPool {
  groups: ProcGroup[] = [];

  /** Processes started by this pool (not counting the group shells). */
  count(): number {
    let n = 0;
    for (const g of this.groups) n += g.size;
    return n;
  }

  /** Starts `total` processes in groups of `groupSize` (`busyPerGroup` of each busy), `parallel` groups at a time. */
  async spawn(total: number, groupSize: number, busyPerGroup = 0, parallel = 4): Promise<ProcGroup[]> {
    const specs: [number, number][] = [];
    for (let left = total; left > 0; left -= groupSize) {
      const n = Math.min(groupSize, left);
      const busy = Math.min(busyPerGroup, n);
      specs.push([n - busy, busy]);
    }
    const started: ProcGroup[] = [];
    for (let i = 0; i < specs.length; i += parallel) {
      const batch = specs.slice(i, i + parallel).map(([idle, busy]) => new ProcGroup(idle, busy));
      this.groups.push(...batch);
      started.push(...batch);
      await Promise.all(batch.map((g) => g.ready));
    }
    return started;
  }

  /** Starts one group without waiting for it (the soak's churn). */
  spawnGroup(idle: number, busy: number): ProcGroup {
    const g = new ProcGroup(idle, busy);
    this.groups.push(g);
    return g;
  }

  /** Closes the `n` oldest groups; resolves once their processes are reaped. */
  closeOldest(n: number): Promise<void> {
    const gone = this.groups.splice(0, n);
    return Promise.all(gone.map((g) => g.close())).then(() => undefined);
  }

  async closeAll(): Promise<void> {
    await this.closeOldest(this.groups.length);
  }

  /** Idle processes up to exactly `n` (whole groups of `groupSize` are closed when there are too many). */
  async ensureIdle(n: number, groupSize = 250): Promise<void> {
    while (this.count() > n) {
      const g = this.groups.pop();
      if (!g) break; // never: count() is the sum of the groups
      await g.close();
    }
    if (this.count() < n) await this.spawn(n - this.count(), groupSize);
  }
}

/** Waits until every busy process has burnt its tick and exec'd sleep; returns how many did. */
export async function waitBusyDone(pids: number[], timeoutMs: number): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  let pending = pids;
  while (pending.length > 0 && performance.now() < deadline) {
    pending = pending.filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/comm`, 'latin1') !== 'sleep\n';
      } catch {
        return false; // gone: nothing to wait for
      }
    });
    if (pending.length > 0) await sleep(250);
  }
  return pids.length - pending.length;
}

/**
 * Moves `pids` into `count` container cgroups (rounded up to whole pods of two) under a cgroup of
 * the benchmark's own in the v2 hierarchy. Returns how to put them back, or why it cannot.
 */
export function intoContainers(pids: number[], count: number): { containers: number; restore: () => void } | string {
  const v2 = detectCgroupLayout('/sys').v2Root;
  if (!v2) return 'no cgroup v2 hierarchy';
  const pods = Math.ceil(count / 2);
  const top = join(v2, `kepler-bench-${randomBytes(4).toString('hex')}`);
  const dirs: string[] = [];
  const home = new Map<number, string>();
  const restore = () => {
    for (const [pid, dir] of home) {
      try {
        writeFileSync(join(dir, 'cgroup.procs'), String(pid));
      } catch {
        // gone
      }
    }
    home.clear();
    for (const d of [...dirs].reverse()) {
      try {
        rmdirSync(d);
      } catch {
        // still busy (a process not yet reaped) or gone
      }
    }
  };
  const unregister = onCleanup(restore);
  try {
    const slice = join(top, 'kubepods.slice', 'kubepods-burstable.slice');
    for (const d of [top, join(top, 'kubepods.slice'), slice]) {
      mkdirSync(d);
      dirs.push(d);
    }
    for (let i = 0; i < pods * 2; i++) {
      if (i % 2 === 0) {
        const pod = join(slice, `kubepods-burstable-pod${randomUUID().replace(/-/g, '_')}.slice`);
        mkdirSync(pod);
        dirs.push(pod);
      }
      const dir = join(dirs[dirs.length - 1 - (i % 2)], `cri-containerd-${randomBytes(32).toString('hex')}.scope`);
      mkdirSync(dir);
      dirs.push(dir);
      const share = pids.slice(Math.floor((i * pids.length) / (pods * 2)), Math.floor(((i + 1) * pids.length) / (pods * 2)));
      for (const pid of share) {
        const line = /^0::(.*)$/m.exec(readFileSync(`/proc/${pid}/cgroup`, 'latin1'));
        home.set(pid, join(v2, line?.[1] ?? '/'));
        writeFileSync(join(dir, 'cgroup.procs'), String(pid));
      }
    }
  } catch (err) {
    restore();
    unregister();
    return `processes could not be moved into cgroups under ${v2}: ${err instanceof Error ? err.message : String(err)}`;
  }
  return {
    containers: pods * 2,
    restore: () => {
      restore();
      unregister();
    },
  };
}
