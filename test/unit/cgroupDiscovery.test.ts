// The informer's cgroup-only mode (no process level): containers found from the cgroup tree by
// the runtimes' naming, VMs from the hypervisors' cgroups. On fixture trees in the three cgroup
// layouts, two informers (processes on and off) read the same host refresh after refresh, and
// must report the same containers, pods and VMs with the same CPU seconds.

import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { Application } from '../../src/app/application.js';
import { classifyCgroupDir, parseCgroupProcs } from '../../src/resource/cgroupDiscovery.js';
import { PF_KTHREAD } from '../../src/resource/pidStat.js';
import { ResourceInformer } from '../../src/resource/resourceInformer.js';
import type { ResourceSample, WorkloadCpu } from '../../src/resource/workloads.js';
import { captureLogger } from '../support/captureLogger.js';
import { cid } from '../support/ids.js';

const A = cid('a');
const dockerScope = (id: string) => `/system.slice/docker-${id}.scope`;
const podPath = (uid: string, id: string) => `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${uid.replace(/-/g, '_')}.slice/cri-containerd-${id}.scope`;
const POD = '5f6c7d8e-1a2b-4c3d-9e8f-0a1b2c3d4e5f';
const POD2 = '0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b';
const POD3 = 'a1b2c3d4-e5f6-4a5b-8c9d-0e1f2a3b4c5d';
const VM1 = '/machine.slice/machine-qemu\\x2d1\\x2dvm1.scope';
const VM1_UUID = 'c7a5fdbd-cdaf-9455-926a-d65c16db1809';

describe('classifyCgroupDir: the runtimes naming, on directories', () => {
  test('each runtime, its own directory and what lies below it', () => {
    const cases: [string, string, string][] = [
      [dockerScope(A), 'docker', dockerScope(A)],
      [`/docker/${A}`, 'docker', `/docker/${A}`],
      [`/system.slice/containerd-${A}.scope`, 'containerd', `/system.slice/containerd-${A}.scope`],
      [podPath(POD, A), 'containerd', podPath(POD, A)],
      [`/kubepods.slice/kubepods-pod${POD.replace(/-/g, '_')}.slice/crio-${A}.scope`, 'crio', `/kubepods.slice/kubepods-pod${POD.replace(/-/g, '_')}.slice/crio-${A}.scope`],
      [`/machine.slice/libpod-${A}.scope`, 'podman', `/machine.slice/libpod-${A}.scope`],
      [`/kubepods/burstable/pod${POD}/${A}`, 'kubernetes', `/kubepods/burstable/pod${POD}/${A}`],
      // A container running systemd, a runtime's payload group: the directory above holds the id.
      [`${dockerScope(A)}/init.scope`, 'docker', dockerScope(A)],
      [`/machine.slice/libpod-${A}.scope/container`, 'podman', `/machine.slice/libpod-${A}.scope`],
    ];
    for (const [path, runtime, ownDir] of cases) assert.deepEqual(classifyCgroupDir(path), { kind: 'container', id: A, runtime, ownDir }, path);
  });

  test('nested containers (kind): the deepest id wins, as on /proc/<pid>/cgroup', () => {
    const outer = cid('kind-node');
    const inner = `${dockerScope(outer)}/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-pod${POD.replace(/-/g, '_')}.slice/cri-containerd-${A}.scope`;
    assert.deepEqual(classifyCgroupDir(inner), { kind: 'container', id: A, runtime: 'containerd', ownDir: inner });
    assert.deepEqual(classifyCgroupDir(`${dockerScope(outer)}/kubelet.slice`), { kind: 'container', id: outer, runtime: 'docker', ownDir: dockerScope(outer) });
  });

  test("VMs: libvirt's machine.slice and machine/, Proxmox's qemu.slice; a container there is a container", () => {
    for (const p of [VM1, `${VM1}/libvirt/emulator`, '/machine/qemu-2-vm2.libvirt-qemu', '/qemu.slice/100.scope']) assert.deepEqual(classifyCgroupDir(p), { kind: 'vm' }, p);
    assert.equal(classifyCgroupDir(`/machine.slice/libpod-${A}.scope`).kind, 'container');
    for (const p of ['/machine.slice', '/system.slice/ssh.service', '/user.slice/machine.slice/x', '/kubepods.slice', `/kubepods/burstable/pod${POD}`, '/docker/abc']) {
      assert.deepEqual(classifyCgroupDir(p), { kind: 'other' }, p);
    }
  });

  test('parseCgroupProcs', () => {
    assert.deepEqual(parseCgroupProcs('1\n22\n333\n'), [1, 22, 333]);
    assert.deepEqual(parseCgroupProcs('7'), [7]);
    assert.deepEqual(parseCgroupProcs(''), []);
  });
});

// ---------- a host both informers read ----------

type Layout = 'v2' | 'hybrid' | 'v1';

interface Proc {
  comm?: string;
  ticks?: number;
  /** Start time after boot, ticks. */
  start: number;
  cgroup?: string;
  cmdline?: string[];
  environ?: string[];
  kthread?: boolean;
}

const STAT_TAIL = '1000000 100 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0';

/**
 * A procfs and a cgroup tree that agree: a process's /proc/<pid>/cgroup names the directory
 * whose cgroup.procs lists it, in every hierarchy the layout has; every directory has its CPU file.
 */
class Host {
  readonly root = mkdtempSync(join(tmpdir(), 'kepler-cgonly-'));
  readonly procfs = join(this.root, 'proc');
  readonly sysfs = join(this.root, 'sys');
  /** v2 tree (v2, hybrid), then v1 cpuacct tree (hybrid, v1). */
  private readonly trees: { root: string; v1: boolean }[] = [];
  private readonly members = new Map<string, Set<number>>();
  private readonly procs = new Map<number, Proc>();
  private cpu = [50000, 100, 20000, 400000, 1000, 0, 300, 0];

  constructor(
    t: TestContext,
    readonly layout: Layout,
  ) {
    t.after(() => rmSync(this.root, { recursive: true, force: true }));
    const cg = join(this.sysfs, 'fs', 'cgroup');
    mkdirSync(this.procfs, { recursive: true });
    mkdirSync(cg, { recursive: true });
    if (layout === 'v2') this.trees.push({ root: cg, v1: false });
    if (layout === 'hybrid') this.trees.push({ root: join(cg, 'unified'), v1: false });
    if (layout !== 'v2') this.trees.push({ root: join(cg, 'cpu,cpuacct'), v1: true });
    for (const tree of this.trees) {
      mkdirSync(tree.root, { recursive: true });
      writeFileSync(join(tree.root, tree.v1 ? 'cpuacct.usage' : 'cgroup.controllers'), tree.v1 ? '999999999999\n' : 'cpu memory pids\n');
    }
    writeFileSync(join(this.procfs, 'meminfo'), 'MemTotal: 1 kB\n');
    symlinkSync('4242', join(this.procfs, 'self'));
    this.writeStat();
    this.uptime(100);
  }

  informer(processes: boolean): ResourceInformer {
    return new ResourceInformer({ procfs: this.procfs, sysfs: this.sysfs, processes });
  }

  uptime(sec: number): void {
    writeFileSync(join(this.procfs, 'uptime'), `${sec.toFixed(2)} 1.00\n`);
  }

  /** The node used `active` more CPU ticks and `idle` more idle ones. */
  nodeCpu(active: number, idle: number): void {
    this.cpu[0] += active;
    this.cpu[3] += idle;
    this.writeStat();
  }

  private writeStat(): void {
    writeFileSync(join(this.procfs, 'stat'), `cpu  ${this.cpu.join(' ')} 0 0\ncpu0 ${this.cpu.join(' ')} 0 0\nctxt 1\n`);
  }

  private cgroupLines(path: string): string {
    if (this.layout === 'v2') return `0::${path}\n`;
    if (this.layout === 'hybrid') return `12:pids:${path}\n4:cpu,cpuacct:${path}\n1:name=systemd:${path}\n0::${path}\n`;
    return `12:pids:${path}\n4:cpu,cpuacct:${path}\n1:name=systemd:${path}\n0::/\n`;
  }

  /** Creates a cgroup directory (and those above it), each with its CPU file at 0. */
  mkCgroup(path: string): void {
    for (const tree of this.trees) {
      let dir = tree.root;
      for (const part of path.split('/').filter(Boolean)) {
        dir = join(dir, part);
        mkdirSync(dir, { recursive: true });
        const file = join(dir, tree.v1 ? 'cpuacct.usage' : 'cpu.stat');
        try {
          writeFileSync(file, tree.v1 ? '0\n' : 'usage_usec 0\nuser_usec 0\nsystem_usec 0\n', { flag: 'wx' });
        } catch {
          // already there
        }
        try {
          writeFileSync(join(dir, 'cgroup.procs'), '', { flag: 'wx' });
        } catch {
          // already there
        }
      }
    }
  }

  /** Sets a cgroup's CPU counter, in every hierarchy. */
  cgroupCpu(path: string, sec: number): void {
    this.mkCgroup(path);
    for (const tree of this.trees) {
      const dir = join(tree.root, path);
      if (tree.v1) writeFileSync(join(dir, 'cpuacct.usage'), `${Math.round(sec * 1e9)}\n`);
      else writeFileSync(join(dir, 'cpu.stat'), `usage_usec ${Math.round(sec * 1e6)}\nuser_usec 0\nsystem_usec 0\n`);
    }
  }

  removeCgroup(path: string): void {
    for (const tree of this.trees) rmSync(join(tree.root, path), { recursive: true, force: true });
    this.members.delete(path);
  }

  private writeProcs(path: string): void {
    const pids = [...(this.members.get(path) ?? [])].sort((a, b) => a - b);
    for (const tree of this.trees) writeFileSync(join(tree.root, path, 'cgroup.procs'), pids.map((p) => `${p}\n`).join(''));
  }

  proc(pid: number, spec: Proc): void {
    this.procs.set(pid, spec);
    const dir = join(this.procfs, String(pid));
    mkdirSync(dir, { recursive: true });
    this.writePidStat(pid);
    const cgroup = spec.kthread ? '/' : (spec.cgroup ?? '/user.slice/user-0.slice/session-1.scope');
    writeFileSync(join(dir, 'cgroup'), this.cgroupLines(cgroup));
    writeFileSync(join(dir, 'cmdline'), spec.kthread ? '' : (spec.cmdline ?? [`/usr/bin/${spec.comm ?? 'proc'}`]).map((a) => a + '\0').join(''));
    writeFileSync(join(dir, 'environ'), (spec.environ ?? ['PATH=/usr/bin']).map((a) => a + '\0').join(''));
    if (!spec.kthread) symlinkSync(spec.cmdline?.[0] ?? `/usr/bin/${spec.comm ?? 'proc'}`, join(dir, 'exe'));
    if (cgroup !== '/') {
      this.mkCgroup(cgroup);
      let set = this.members.get(cgroup);
      if (!set) this.members.set(cgroup, (set = new Set()));
      set.add(pid);
      this.writeProcs(cgroup);
    }
  }

  ticks(pid: number, ticks: number): void {
    const p = this.procs.get(pid);
    if (!p) throw new Error(`no process ${pid}`);
    p.ticks = ticks;
    this.writePidStat(pid);
  }

  private writePidStat(pid: number): void {
    const s = this.procs.get(pid);
    if (!s) throw new Error(`no process ${pid}`);
    const flags = s.kthread ? PF_KTHREAD | 0x40 : 4194560;
    writeFileSync(
      join(this.procfs, String(pid), 'stat'),
      `${pid} (${s.comm ?? 'proc'}) S 1 ${pid} ${pid} 0 -1 ${flags} 10 0 0 0 ${s.ticks ?? 0} 0 0 0 20 0 1 0 ${s.start} ${STAT_TAIL}\n`,
    );
  }

  kill(pid: number): void {
    const spec = this.procs.get(pid);
    this.procs.delete(pid);
    rmSync(join(this.procfs, String(pid)), { recursive: true, force: true });
    const cgroup = spec?.cgroup;
    if (cgroup && this.members.get(cgroup)?.delete(pid)) this.writeProcs(cgroup);
  }
}

const r9 = (x: number) => Math.round(x * 1e9) / 1e9;

/** A level as comparable data: sorted by key, CPU rounded to the nanosecond (sums in another order). */
function level(list: readonly WorkloadCpu<{ key: string }>[]): unknown[] {
  return [...list]
    .sort((a, b) => (a.info.key < b.info.key ? -1 : a.info.key > b.info.key ? 1 : Number(a.ended) - Number(b.ended)))
    .map((w) => ({ info: w.info, delta: r9(w.cpuDeltaSec), total: r9(w.cpuTotalSec), ended: w.ended }));
}

/** Both modes' samples of one refresh: the same node, containers, pods and VMs; no process without the process level. */
function assertSame(withProcs: ResourceSample, without: ResourceSample, what: string): void {
  assert.deepEqual(without.processes, [], `${what}: no process level`);
  assert.deepEqual(without.errors, {}, `${what}: errors`);
  assert.deepEqual(withProcs.errors, {}, `${what}: errors with processes`);
  const view = (s: ResourceSample) => ({
    node: [s.baseline, s.nodeActiveCpuSec, s.nodeTotalCpuSec, s.usageRatio],
    containers: level(s.containers),
    pods: level(s.pods),
    vms: level(s.vms),
  });
  assert.deepEqual(view(without), view(withProcs), what);
}

const ids = {
  a: cid('docker-a'),
  b: cid('pod-b'),
  c: cid('pod-c'),
  d: cid('cgroupfs-d'),
  e: cid('podman-e'),
  x: cid('kind-x'),
  y: cid('kind-y'),
  f: cid('new-f'),
  g: cid('old-g'),
  k: cid('kubevirt'),
};

/** The fixture's workloads: every kind of container the runtimes make, VMs, and processes that are neither. */
function populate(h: Host): Record<string, string> {
  const kindPod = `${dockerScope(ids.x)}/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-pod${POD3.replace(/-/g, '_')}.slice/cri-containerd-${ids.y}.scope`;
  const paths: Record<string, string> = {
    a: dockerScope(ids.a),
    b: podPath(POD, ids.b),
    c: podPath(POD, ids.c),
    d: `/kubepods/burstable/pod${POD2}/${ids.d}`,
    e: `/machine.slice/libpod-${ids.e}.scope`,
    eSub: `/machine.slice/libpod-${ids.e}.scope/container`,
    xInit: `${dockerScope(ids.x)}/init.scope`,
    xContainerd: `${dockerScope(ids.x)}/system.slice/containerd.service`,
    y: kindPod,
    k: podPath(POD2, ids.k),
    vm1: `${VM1}/libvirt/emulator`,
    vm1Helper: `${VM1}/libvirt`,
    vm2: '/machine/qemu-2-vm2.libvirt-qemu/emulator',
  };
  h.proc(1, { comm: 'systemd', start: 1, ticks: 500, cgroup: '/init.scope' });
  h.proc(2, { comm: 'kthreadd', start: 1, kthread: true });
  h.proc(90, { comm: 'sshd', start: 300, ticks: 40, cgroup: '/system.slice/ssh.service' });
  // /proc is listed in the order of its names as strings: 1000 before 99.
  h.proc(99, { comm: 'nginx', start: 2000, ticks: 700, cgroup: paths.a, environ: ['HOSTNAME=a-99'] });
  h.proc(1000, { comm: 'nginx', start: 2100, ticks: 70, cgroup: paths.a, environ: ['HOSTNAME=a-1000'] });
  h.proc(110, { comm: 'app', start: 3000, cgroup: paths.b });
  h.proc(120, { comm: 'side', start: 3000, cgroup: paths.c, environ: ['CONTAINER_NAME=side'] });
  h.proc(121, { comm: 'side', start: 3001, cgroup: paths.c });
  h.proc(130, { comm: 'redis', start: 3100, cgroup: paths.d });
  // podman: the payload in container/ has the first pid /proc lists; conmon's sibling in the scope itself.
  h.proc(1401, { comm: 'catatonit', start: 3200, cgroup: paths.e, environ: ['HOSTNAME=e-own'] });
  h.proc(140, { comm: 'postgres', start: 3200, cgroup: paths.eSub, environ: ['HOSTNAME=e-sub'] });
  // kind: a node container running systemd and containerd, and a pod's container inside it.
  h.proc(150, { comm: 'systemd', start: 3300, cgroup: paths.xInit, environ: ['container=docker'], cmdline: ['/sbin/init'] });
  h.proc(151, { comm: 'containerd', start: 3301, cgroup: paths.xContainerd });
  h.proc(152, { comm: 'pause', start: 3400, cgroup: paths.y });
  // KubeVirt: qemu inside a pod counts as the container's.
  h.proc(180, { comm: 'qemu-kvm', start: 3500, cgroup: paths.k, cmdline: ['/usr/libexec/qemu-kvm', '-name', 'guest=kv,debug-threads=on', '-uuid', POD3] });
  // libvirt: qemu in its scope's emulator group, a helper beside it; a cgroupfs libvirt VM.
  const q1 = ['/usr/bin/qemu-system-x86_64', '-name', 'guest=vm1,debug-threads=on', '-uuid', VM1_UUID];
  h.proc(160, { comm: 'qemu-system-x86', start: 3600, ticks: 1500, cgroup: paths.vm1, cmdline: q1 });
  h.proc(161, { comm: 'swtpm', start: 3600, ticks: 20, cgroup: paths.vm1Helper, cmdline: ['/usr/bin/swtpm', 'socket'] });
  h.proc(170, { comm: 'qemu-kvm', start: 3700, ticks: 10, cgroup: paths.vm2, cmdline: ['/usr/libexec/qemu-kvm', '-name', 'vm2'] });
  h.cgroupCpu(paths.a, 40);
  h.cgroupCpu(paths.b, 10);
  h.cgroupCpu(paths.c, 20);
  h.cgroupCpu(paths.d, 5);
  h.cgroupCpu(paths.e, 7);
  h.cgroupCpu(paths.eSub, 3);
  h.cgroupCpu(dockerScope(ids.x), 100);
  h.cgroupCpu(paths.xInit, 2);
  h.cgroupCpu(paths.xContainerd, 30);
  h.cgroupCpu(paths.y, 1);
  h.cgroupCpu(paths.k, 50);
  return paths;
}

describe('cgroup-only mode: the same containers, pods and VMs as the process walk', () => {
  for (const layout of ['v2', 'hybrid', 'v1'] as const) {
    test(`${layout}: refresh after refresh, through starts, ends, removed cgroups and a reused pid`, (t) => {
      const h = new Host(t, layout);
      const p = populate(h);
      const full = h.informer(true);
      const cgOnly = h.informer(false);
      const both = (what: string) => {
        const s = full.refresh();
        const c = cgOnly.refresh();
        assertSame(s, c, what);
        return c;
      };

      const s1 = both('baseline');
      assert.deepEqual(
        s1.containers.map((c) => c.info.id).sort(),
        Object.values(ids)
          .filter((id) => id !== ids.f && id !== ids.g)
          .sort(),
      );
      const byId = (s: ResourceSample, id: string) => s.containers.find((c) => c.info.id === id);
      // Labels as the process walk gives them: the first pid /proc lists names the container.
      assert.equal(byId(s1, ids.a)?.info.name, 'a-1000');
      assert.equal(byId(s1, ids.c)?.info.name, 'side');
      assert.equal(byId(s1, ids.e)?.info.name, 'e-sub');
      assert.equal(byId(s1, ids.e)?.info.runtime, 'podman');
      assert.equal(byId(s1, ids.y)?.info.podId, POD3);
      assert.equal(byId(s1, ids.d)?.info.podId, POD2);
      assert.deepEqual(s1.vms.map((v) => v.info.id).sort(), [VM1_UUID, 'vm2']);

      // Everything advances; a container that just started, one first seen now that did not, a new VM.
      h.uptime(110);
      h.nodeCpu(500, 1500);
      h.cgroupCpu(p.a, 42.5);
      h.cgroupCpu(p.b, 11);
      h.cgroupCpu(p.c, 20.25);
      h.cgroupCpu(p.d, 6);
      h.cgroupCpu(p.eSub, 3.5);
      h.cgroupCpu(p.e, 7.75);
      h.cgroupCpu(p.xInit, 2.1);
      h.cgroupCpu(p.xContainerd, 31);
      h.cgroupCpu(p.y, 1.5);
      h.ticks(160, 1800);
      h.ticks(161, 25);
      h.ticks(170, 40);
      h.proc(200, { comm: 'sh', start: 10500, ticks: 80, cgroup: dockerScope(ids.f), environ: ['HOSTNAME=f'] });
      h.proc(201, { comm: 'make', start: 10600, ticks: 20, cgroup: dockerScope(ids.f) });
      h.cgroupCpu(dockerScope(ids.f), 3);
      h.proc(210, { comm: 'old', start: 5000, ticks: 300, cgroup: dockerScope(ids.g) });
      h.proc(211, { comm: 'exec', start: 10800, ticks: 5, cgroup: dockerScope(ids.g) });
      h.cgroupCpu(dockerScope(ids.g), 300);
      h.proc(220, { comm: 'qemu-system-x86', start: 10700, ticks: 50, cgroup: '/machine.slice/machine-qemu\\x2d3\\x2dvm3.scope', cmdline: ['qemu-system-x86_64', '-name', 'vm3'] });
      const s2 = both('second');
      assert.equal(byId(s2, ids.f)?.cpuDeltaSec, 3, 'a new container is billed its whole counter');
      assert.equal(byId(s2, ids.g)?.cpuDeltaSec, 0, 'an older one first seen now is a baseline');
      assert.equal(r9(byId(s2, ids.x)?.cpuDeltaSec ?? -1), 0.1, "kind's node container: its first process's cgroup, as the process walk reads it");
      assert.equal(r9(byId(s2, ids.e)?.cpuDeltaSec ?? -1), 0.5, 'podman: the payload group holds its first process');
      assert.equal(s2.vms.find((v) => v.info.id === VM1_UUID)?.cpuDeltaSec, 3, 'a VM: its qemu process, not its helper');
      assert.equal(s2.vms.find((v) => v.info.id === 'vm3')?.cpuDeltaSec, 0.5, 'a VM started in the interval');

      // Ends: A's processes are gone (its cgroup lingers with a last count), B's cgroup is removed
      // with them, vm1's qemu exits, vm2's pid is reused by a new qemu of the same VM.
      h.uptime(120);
      h.nodeCpu(300, 1700);
      h.kill(99);
      h.kill(1000);
      h.cgroupCpu(p.a, 43);
      h.kill(110);
      h.removeCgroup(p.b);
      h.kill(160);
      h.kill(170);
      h.proc(170, { comm: 'qemu-kvm', start: 11500, ticks: 30, cgroup: p.vm2, cmdline: ['/usr/libexec/qemu-kvm', '-name', 'vm2'] });
      h.cgroupCpu(p.c, 21);
      const s3 = both('ends');
      assert.equal(byId(s3, ids.a)?.ended, true);
      assert.equal(byId(s3, ids.a)?.cpuDeltaSec, 0.5, "a container's last interval, from its lingering cgroup");
      assert.equal(byId(s3, ids.b)?.ended, true);
      assert.equal(s3.pods.find((x) => x.info.id === POD)?.ended, false, 'the pod lives on in C');
      assert.equal(s3.vms.find((v) => v.info.id === VM1_UUID)?.ended, true);

      h.uptime(130);
      h.kill(120);
      h.kill(121);
      h.removeCgroup(p.c);
      const s4 = both('after the ends');
      assert.equal(byId(s4, ids.a), undefined);
      assert.equal(s4.pods.find((x) => x.info.id === POD)?.ended, true);
      h.uptime(140);
      both('settled');
    });
  }

  test('after first sight, no process file of a container is read', (t) => {
    const h = new Host(t, 'v2');
    h.proc(100, { comm: 'nginx', start: 2000, cgroup: dockerScope(A) });
    h.cgroupCpu(dockerScope(A), 10);
    const inf = h.informer(false);
    inf.refresh();
    // Its /proc files turn to garbage: the process walk would count them; this mode never reads them.
    writeFileSync(join(h.procfs, '100', 'stat'), 'garbage\n');
    writeFileSync(join(h.procfs, '100', 'environ'), '');
    h.uptime(110);
    h.cgroupCpu(dockerScope(A), 12);
    const s = inf.refresh();
    assert.deepEqual(s.errors, {});
    assert.equal(s.containers[0].cpuDeltaSec, 2);
    assert.equal(s.containers[0].ended, false);
  });

  test('an unreadable cgroup counter: counted, billed nothing for now, and the next good read bills the whole span', (t) => {
    const h = new Host(t, 'v2');
    h.proc(100, { comm: 'nginx', start: 2000, cgroup: dockerScope(A) });
    h.cgroupCpu(dockerScope(A), 10);
    const inf = h.informer(false);
    inf.refresh();
    h.uptime(110);
    writeFileSync(join(h.sysfs, 'fs', 'cgroup', dockerScope(A), 'cpu.stat'), 'garbage\n');
    const s2 = inf.refresh();
    assert.deepEqual(s2.errors, { cgroup_read: 1 });
    assert.equal(s2.containers[0].cpuDeltaSec, 0);
    h.uptime(120);
    h.cgroupCpu(dockerScope(A), 13);
    const s3 = inf.refresh();
    assert.deepEqual(s3.errors, {});
    assert.equal(s3.containers[0].cpuDeltaSec, 3);
  });

  test("a qemu outside the hypervisors' cgroups (started by hand) is a VM only with the process level", (t) => {
    const h = new Host(t, 'v2');
    h.proc(300, { comm: 'qemu-system-x86', start: 100, cmdline: ['qemu-system-x86_64', '-name', 'byhand'] });
    assert.deepEqual(
      h
        .informer(true)
        .refresh()
        .vms.map((v) => v.info.id),
      ['byhand'],
    );
    assert.deepEqual(h.informer(false).refresh().vms, []);
  });
});

describe('Application: the informer reads processes only for what shows them', () => {
  const FAKE_YAML = join(process.cwd(), 'examples', 'fake-meter.yaml');
  const build = (flags: string[]) => {
    const r = loadConfig([`--config.file=${FAKE_YAML}`, '--kube.node-name=n1', '--web.listen-address=127.0.0.1:0', ...flags], {});
    if (r.kind !== 'run') throw new Error(`loadConfig: ${r.kind}`);
    const { logger, lines } = captureLogger();
    const app = new Application(r.config, logger);
    const said = lines.filter((l) => l.msg === 'cgroup accounting');
    assert.equal(said.length, 1, 'said once');
    const s = app.monitor.refresh();
    app.monitor.stop();
    return { mode: String(said[0].fields.processes), processes: s.processes.workloads.length };
  };

  test('metricsLevel without process: none read, the snapshot has no process', () => {
    const r = build(['--metrics=node', '--metrics=container', '--metrics=pod', '--metrics=vm']);
    assert.match(r.mode, /^none read: containers, pods and VMs from the cgroup tree/);
    assert.equal(r.processes, 0);
  });

  test('the process level, the 0.7 family or the stdout exporter: every process read', () => {
    for (const flags of [[], ['--metrics=node', '--exporter.prometheus.legacy-metrics'], ['--metrics=container', '--exporter.stdout']]) {
      const r = build(flags);
      assert.equal(r.mode, 'every process read at each refresh', flags.join(' '));
      assert.ok(r.processes > 0, flags.join(' '));
    }
  });
});
