// One simulated node of the fleet section: a sysfs (RAPL powercap zones on two sockets, a cgroup v2
// hierarchy with the containers' cpu.stat) and a procfs (stat, uptime, cpuinfo, meminfo, and a
// folder per process with stat, cgroup, cmdline, environ, comm and an exe link) in a folder of its
// own, for one real exporter to read with host.sysfs / host.procfs. advance() moves the node's
// clock: CPU ticks to /proc/stat and to the busy processes (and their containers' cgroups),
// energy to the RAPL counters as the node's usage says; churn() replaces processes.

import { mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomHex, randomUid } from '../harness/ids.js';

export interface FleetNodeOptions {
  /** The node's folder (sys/ and proc/ go under it). */
  dir: string;
  index: number;
  /** Processes, kernel threads and host daemons included. */
  procs: number;
  containers: number;
  /** Logical CPUs (cpuinfo records, /proc/stat ticks). */
  cpus: number;
}

type Kind = 'kube' | 'podman' | 'docker';

interface Container {
  id: string;
  kind: Kind;
  /** Path in the cgroup v2 hierarchy, from its root ("/kubepods.slice/..."). */
  cgroup: string;
  name: string;
  usageUsec: number;
  written: number;
  pids: Set<number>;
}

interface Proc {
  pid: number;
  comm: string;
  exe: string;
  cmdline: string;
  environ: string;
  kthread: boolean;
  /** Share of the node's busy CPU time it takes (0: it sleeps). */
  weight: number;
  ticks: number;
  written: number;
  startTicks: number;
  container?: Container;
  cgroup: string;
}

interface Zone {
  dir: string;
  name: string;
  idleW: number;
  maxW: number;
  range: number;
  uj: number;
}

const PF_KTHREAD = 0x00200000;
const HOST_DAEMONS = ['systemd', 'systemd-journal', 'systemd-udevd', 'dbus-daemon', 'sshd', 'chronyd', 'containerd', 'kubelet', 'dockerd', 'conmon', 'rsyslogd', 'cron'];
const APPS = ['nginx', 'java', 'python3', 'node', 'postgres', 'redis-server', 'envoy', 'gunicorn'];

/** A random weight: most processes sleep, a few do most of the work (heavy tail). */
function weight(active: number): number {
  return Math.random() < active ? Math.random() ** 3 : 0;
}

export class FleetNode {
  readonly sysfs: string;
  readonly procfs: string;
  readonly name: string;
  private readonly cgroupRoot: string;
  private readonly powercap: string;
  private readonly procs = new Map<number, Proc>();
  private readonly containers: Container[] = [];
  private readonly zones: Zone[];
  private nextPid: number;
  private uptimeSec: number;
  /** /proc/stat's aggregate ticks (user, system, idle), as floats. */
  private readonly stat = { user: 0, system: 0, idle: 0 };
  /** The node's CPU usage ratio; wanders a little around its base at each advance. */
  private readonly baseUsage: number;
  usage: number;
  processesStarted = 0;

  constructor(private readonly opts: FleetNodeOptions) {
    this.name = `fleet-node-${String(opts.index).padStart(4, '0')}`;
    this.sysfs = join(opts.dir, 'sys');
    this.procfs = join(opts.dir, 'proc');
    this.cgroupRoot = join(this.sysfs, 'fs', 'cgroup');
    this.powercap = join(this.sysfs, 'class', 'powercap');
    this.baseUsage = 0.15 + (0.5 * ((opts.index * 7) % 11)) / 10;
    this.usage = this.baseUsage;
    this.uptimeSec = 86_400 * 3 + opts.index * 977;
    this.nextPid = 1000;
    mkdirSync(this.cgroupRoot, { recursive: true });
    writeFileSync(join(this.cgroupRoot, 'cgroup.controllers'), 'cpuset cpu io memory hugetlb pids rdma misc\n');
    mkdirSync(this.procfs, { recursive: true });
    writeFileSync(join(this.procfs, 'cpuinfo'), cpuinfo(opts.cpus));
    writeFileSync(join(this.procfs, 'meminfo'), `MemTotal:       ${64 * 1024 * 1024} kB\nMemFree:        ${32 * 1024 * 1024} kB\n`);
    const totalTicks = this.uptimeSec * 100 * opts.cpus;
    this.stat.user = totalTicks * this.baseUsage * 0.8;
    this.stat.system = totalTicks * this.baseUsage * 0.2;
    this.stat.idle = totalTicks - this.stat.user - this.stat.system;

    // RAPL: two sockets, package and dram each (aggregated by name: zones "package" and "dram").
    mkdirSync(join(this.powercap, 'intel-rapl'), { recursive: true });
    writeFileSync(join(this.powercap, 'intel-rapl', 'enabled'), '1\n');
    this.zones = [0, 1].flatMap((s) => [
      { dir: `intel-rapl:${s}`, name: `package-${s}`, idleW: 35, maxW: 150, range: 262_143_328_850, uj: 1_000_000 * (s + 1) },
      { dir: `intel-rapl:${s}:0`, name: 'dram', idleW: 6, maxW: 18, range: 65_712_999_613, uj: 3_000_000 * (s + 1) },
    ]);
    for (const z of this.zones) {
      mkdirSync(join(this.powercap, z.dir), { recursive: true });
      writeFileSync(join(this.powercap, z.dir, 'name'), `${z.name}\n`);
      writeFileSync(join(this.powercap, z.dir, 'max_energy_range_uj'), `${z.range}\n`);
    }

    // Containers: a third podman, a third docker, the rest Kubernetes pods of two containers each.
    const podmans = Math.floor(opts.containers / 3);
    const dockers = Math.floor(opts.containers / 3);
    let podUid = '';
    for (let i = 0; i < opts.containers; i++) {
      const id = randomHex(64);
      let kind: Kind;
      let cgroup: string;
      let name: string;
      if (i < podmans) {
        kind = 'podman';
        cgroup = `/machine.slice/libpod-${id}.scope/container`;
        name = `${APPS[i % APPS.length]}-${i}`;
      } else if (i < podmans + dockers) {
        kind = 'docker';
        cgroup = `/system.slice/docker-${id}.scope`;
        name = id.slice(0, 12);
      } else {
        kind = 'kube';
        const k = i - podmans - dockers;
        if (k % 2 === 0) podUid = randomUid();
        cgroup = `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${podUid.replace(/-/g, '_')}.slice/cri-containerd-${id}.scope`;
        name = `${APPS[Math.floor(k / 2) % APPS.length]}-${randomHex(10)}-${randomHex(5)}`;
      }
      const c: Container = { id, kind, cgroup, name, usageUsec: 0, written: -1, pids: new Set() };
      mkdirSync(join(this.cgroupRoot, cgroup), { recursive: true });
      this.containers.push(c);
    }

    // Processes: a tenth kernel threads, a tenth host daemons, the rest spread over the containers.
    const kthreads = Math.max(1, Math.round(opts.procs / 10));
    const daemons = Math.max(1, Math.round(opts.procs / 10));
    const boot = 0;
    for (let i = 0; i < kthreads; i++) this.addProc({ kthread: true, comm: `kworker/${i}:1`, startTicks: boot, pid: i + 2 });
    for (let i = 0; i < daemons; i++) this.addProc({ comm: HOST_DAEMONS[i % HOST_DAEMONS.length], startTicks: boot + 500 + i, pid: i === 0 ? 1 : undefined });
    const inContainers = Math.max(0, opts.procs - kthreads - daemons);
    for (let i = 0; i < inContainers; i++) {
      const c = this.containers[i % this.containers.length];
      if (c) this.addProc({ container: c, startTicks: Math.floor(this.uptimeSec * 50) + i });
      else this.addProc({ comm: 'bash', startTicks: Math.floor(this.uptimeSec * 50) + i });
    }
    this.writeAll();
  }

  /** Pids in the node (kernel threads, daemons, container processes). */
  get processCount(): number {
    return this.procs.size;
  }

  /** Ids of the containers that hold a process. */
  containerIds(): string[] {
    return this.containers.filter((c) => c.pids.size > 0).map((c) => c.id);
  }

  podCount(): number {
    return new Set(this.containers.filter((c) => c.kind === 'kube' && c.pids.size > 0).map((c) => /pod([0-9a-f_]{36})/.exec(c.cgroup)?.[1])).size;
  }

  private addProc(o: { kthread?: boolean; comm?: string; container?: Container; startTicks: number; pid?: number }): Proc {
    const pid = o.pid ?? this.nextPid;
    if (o.pid === undefined) this.nextPid += 1 + Math.floor(Math.random() * 7);
    const c = o.container;
    const comm = o.comm ?? APPS[Math.floor(Math.random() * APPS.length)];
    const exe = o.kthread ? '' : c ? `/usr/local/bin/${comm}` : `/usr/bin/${comm}`;
    const cgroup = o.kthread ? '/' : c ? c.cgroup : `/system.slice/${comm}.service`;
    const env = c ? (c.kind === 'podman' ? `container=podman\0HOSTNAME=${c.name}\0` : `HOSTNAME=${c.name}\0`) : '';
    const p: Proc = {
      pid,
      comm: comm.slice(0, 15),
      exe,
      cmdline: o.kthread ? '' : `${exe}\0--config\0/etc/${comm}/config.yaml\0`,
      environ: `PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin\0${env}`,
      kthread: o.kthread ?? false,
      weight: o.kthread ? weight(0.2) * 0.05 : weight(c ? 0.7 : 0.5),
      ticks: 0,
      written: -1,
      startTicks: o.startTicks,
      container: c,
      cgroup,
    };
    this.procs.set(pid, p);
    c?.pids.add(pid);
    const d = join(this.procfs, String(pid));
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'cgroup'), `0::${cgroup}\n`);
    writeFileSync(join(d, 'cmdline'), p.cmdline);
    writeFileSync(join(d, 'environ'), p.environ);
    writeFileSync(join(d, 'comm'), `${p.comm}\n`);
    if (exe) symlinkSync(exe, join(d, 'exe'));
    this.writeStat(p);
    if (c) this.writeProcs(c);
    return p;
  }

  /** Advances the node by `dtSec`: /proc/stat, uptime, the busy processes, their containers, RAPL. */
  advance(dtSec: number): void {
    this.uptimeSec += dtSec;
    this.usage = Math.min(0.95, Math.max(0.02, this.baseUsage + (Math.random() - 0.5) * 0.1));
    const total = this.opts.cpus * 100 * dtSec;
    const active = total * this.usage;
    this.stat.user += active * 0.8;
    this.stat.system += active * 0.2;
    this.stat.idle += total - active;
    // Seven tenths of the busy time is the processes' (the rest: interrupts, short-lived commands).
    let sum = 0;
    for (const p of this.procs.values()) sum += p.weight;
    if (sum > 0) {
      const perWeight = (active * 0.7) / sum;
      for (const p of this.procs.values()) {
        if (p.weight === 0) continue;
        const add = p.weight * perWeight;
        p.ticks += add;
        if (p.container) p.container.usageUsec += add * 10_000;
        if (Math.floor(p.ticks) !== p.written) this.writeStat(p);
      }
    }
    for (const c of this.containers) if (Math.floor(c.usageUsec) !== c.written) this.writeCpuStat(c);
    for (const z of this.zones) {
      z.uj = (z.uj + Math.round((z.idleW + (z.maxW - z.idleW) * this.usage) * dtSec * 1e6)) % z.range;
      atomic(join(this.powercap, z.dir, 'energy_uj'), `${z.uj}\n`);
    }
    this.writeClock();
  }

  /** Replaces `n` random processes (not kernel threads, not pid 1) by new ones in the same place. */
  churn(n: number): void {
    const candidates = [...this.procs.values()].filter((p) => !p.kthread && p.pid !== 1);
    for (let i = 0; i < n && candidates.length > 0; i++) {
      const [p] = candidates.splice(Math.floor(Math.random() * candidates.length), 1);
      this.procs.delete(p.pid);
      rmSync(join(this.procfs, String(p.pid)), { recursive: true, force: true });
      if (p.container) {
        p.container.pids.delete(p.pid);
        this.writeProcs(p.container);
      }
      this.addProc({ container: p.container, comm: p.container ? undefined : p.comm, startTicks: Math.floor(this.uptimeSec * 100) });
      this.processesStarted++;
    }
  }

  remove(): void {
    rmSync(this.opts.dir, { recursive: true, force: true });
  }

  private writeAll(): void {
    for (const c of this.containers) this.writeCpuStat(c);
    for (const z of this.zones) atomic(join(this.powercap, z.dir, 'energy_uj'), `${z.uj}\n`);
    this.writeClock();
  }

  private writeClock(): void {
    const s = this.stat;
    const line = `cpu  ${Math.floor(s.user)} 0 ${Math.floor(s.system)} ${Math.floor(s.idle)} 0 0 0 0 0 0\n`;
    atomic(join(this.procfs, 'stat'), `${line}intr 0\nctxt 0\nbtime 1700000000\nprocesses ${this.nextPid}\nprocs_running 1\nprocs_blocked 0\n`);
    atomic(join(this.procfs, 'uptime'), `${this.uptimeSec.toFixed(2)} ${(this.uptimeSec * this.opts.cpus * (1 - this.baseUsage)).toFixed(2)}\n`);
  }

  private writeStat(p: Proc): void {
    const t = Math.floor(p.ticks);
    p.written = t;
    const utime = Math.floor(t * 0.8);
    const flags = p.kthread ? PF_KTHREAD | 0x40 : 0x400100;
    const ppid = p.kthread ? 2 : 1;
    // pid (comm) state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime priority nice num_threads itrealvalue starttime vsize rss ...
    atomic(
      join(this.procfs, String(p.pid), 'stat'),
      `${p.pid} (${p.comm}) S ${ppid} ${p.pid} ${p.pid} 0 -1 ${flags} 100 0 0 0 ${utime} ${t - utime} 0 0 20 0 1 0 ${p.startTicks} 10000000 1000 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n`,
    );
  }

  private writeCpuStat(c: Container): void {
    const u = Math.floor(c.usageUsec);
    c.written = u;
    atomic(
      join(this.cgroupRoot, c.cgroup, 'cpu.stat'),
      `usage_usec ${u}\nuser_usec ${Math.floor(u * 0.8)}\nsystem_usec ${u - Math.floor(u * 0.8)}\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\n`,
    );
  }

  private writeProcs(c: Container): void {
    atomic(join(this.cgroupRoot, c.cgroup, 'cgroup.procs'), [...c.pids].map((p) => `${p}\n`).join(''));
  }
}

/** Written whole (a reader never sees half a file), as the kernel hands over a procfs or sysfs file. */
function atomic(file: string, text: string): void {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}

/** A /proc/cpuinfo of `n` logical CPUs on two sockets, from this machine's first record. */
function cpuinfo(n: number): string {
  let first: string;
  try {
    first = readFileSync('/proc/cpuinfo', 'utf8').split(/\n\s*\n/)[0];
  } catch {
    first = 'processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R)\nphysical id\t: 0\ncore id\t\t: 0';
  }
  const perSocket = Math.max(1, Math.ceil(n / 2));
  const records: string[] = [];
  for (let i = 0; i < n; i++) {
    const socket = Math.floor(i / perSocket);
    const core = Math.floor((i % perSocket) / 2);
    records.push(
      first
        .replace(/^processor\s*:.*$/m, `processor\t: ${i}`)
        .replace(/^physical id\s*:.*$/m, `physical id\t: ${socket}`)
        .replace(/^core id\s*:.*$/m, `core id\t\t: ${core}`)
        .replace(/^siblings\s*:.*$/m, `siblings\t: ${perSocket}`)
        .replace(/^cpu cores\s*:.*$/m, `cpu cores\t: ${Math.ceil(perSocket / 2)}`),
    );
  }
  return records.join('\n\n') + '\n\n';
}
