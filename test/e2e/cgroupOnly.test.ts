// End to end on this machine: the informer without the process level (cgroup-only mode) against
// the one with it, both reading the real /proc and real cgroups holding real processes, named the
// way Docker, containerd (systemd and cgroupfs drivers) and libvirt name theirs. They must find the
// same containers, pods and VMs, and bill them the same CPU seconds. Then the exporter itself,
// configured without the process level, says so and exports them.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { randomHex, randomUid } from '../../harness/ids.js';
import { ResourceInformer } from '../../src/resource/resourceInformer.js';
import type { ResourceSample, WorkloadCpu } from '../../src/resource/workloads.js';
import { parseExposition, select } from '../support/exposition.js';
import {
  cgroupV2Root,
  CGROUP_ROOT,
  freePort,
  removeCgroups,
  requireCommand,
  runInCgroup,
  startExporter,
  stopInCgroup,
  type CgroupProcess,
  type Exporter,
} from '../support/processes.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Burns `$ARGV[0]` seconds of CPU, then sleeps; with `$ARGV[1]` (a percentage) it keeps a duty cycle instead. */
const BURN_PL = `
use Time::HiRes qw(time sleep);
my ($cpu, $duty) = @ARGV;
if ($duty) { while (1) { my $end = time + $duty / 1000; 1 while time < $end; sleep((100 - $duty) / 1000) } }
my $stop = (times)[0] + $cpu; 1 while (times)[0] < $stop;
sleep 600;
`;

describe('the informer without the process level, on real cgroups', { timeout: 120_000 }, () => {
  const v2 = cgroupV2Root();
  const tag = `kepler-co-${randomHex(8)}`;
  const top = join(v2, tag);
  const tmp = mkdtempSync(join(tmpdir(), 'kepler-cgonly-e2e-'));
  const burn = join(tmp, 'burn.pl');
  const pod = randomUid();
  const cgfsPod = randomUid();
  const vmUuid = randomUid();
  const id = { docker: randomHex(64), sub: randomHex(64), podA: randomHex(64), podB: randomHex(64), cgfs: randomHex(64), v1: randomHex(64), steady: randomHex(64) };
  const podSlice = join(top, 'kubepods.slice', 'kubepods-burstable.slice', `kubepods-burstable-pod${pod.replace(/-/g, '_')}.slice`);
  const v1Root = join(CGROUP_ROOT, 'cpuacct');
  const hasV1 = existsSync(join(v1Root, 'cpuacct.usage'));
  const machineSlice = join(v2, 'machine.slice');
  const madeMachineSlice = !existsSync(machineSlice);
  const vmScope = join(machineSlice, `machine-qemu\\x2d1\\x2d${tag}.scope`);
  const procs: CgroupProcess[] = [];
  /** Work that stops: its totals must come out exactly the same in both modes. */
  const finite: string[] = [id.docker, id.sub, id.podA, id.podB, id.cgfs, ...(hasV1 ? [id.v1] : [])];
  const full = new ResourceInformer({ procfs: '/proc', sysfs: '/sys' });
  const cgOnly = new ResourceInformer({ procfs: '/proc', sysfs: '/sys', processes: false });
  const samples: { full: ResourceSample; cgOnly: ResourceSample }[] = [];
  let exporter: Exporter | undefined;

  const both = () => {
    const s = { full: full.refresh(), cgOnly: cgOnly.refresh() };
    samples.push(s);
    return s;
  };
  const mine = <T extends { key: string }>(l: readonly WorkloadCpu<T>[], keys: readonly string[]) =>
    l.filter((w) => keys.includes(w.info.key)).sort((a, b) => (a.info.key < b.info.key ? -1 : 1));
  const keys = () => ({ containers: Object.values(id).filter((c) => hasV1 || c !== id.v1), pods: [pod, cgfsPod], vms: [vmUuid] });

  /** Waits until a process has moved into its cgroup and exec'd its program (the process walk reads both once, at first sight). */
  async function settled(p: CgroupProcess, comm: string): Promise<void> {
    const pid = p.child.pid;
    assert.ok(pid !== undefined, 'spawned');
    for (let i = 0; i < 100; i++) {
      try {
        const inCgroup = readFileSync(join(p.dir, 'cgroup.procs'), 'latin1').split('\n').includes(String(pid));
        if (inCgroup && readFileSync(`/proc/${pid}/comm`, 'latin1').trim() === comm) return;
      } catch {
        // not yet
      }
      await sleep(20);
    }
    throw new Error(`process ${pid} did not reach ${p.dir} as ${comm}`);
  }

  before(async () => {
    requireCommand('perl');
    writeFileSync(burn, BURN_PL);
    both(); // the baseline of both: everything started after it is billed from its start
    await sleep(50);
    const run = (dir: string, args: string, env: Record<string, string> = {}) => {
      const p = runInCgroup(dir, `exec perl ${burn} ${args}`, env);
      procs.push(p);
      return p;
    };
    const started = [
      run(join(top, `docker-${id.docker}.scope`), '0.3', { CONTAINER_NAME: 'co-docker' }),
      // A container running systemd: its processes in a group below its own.
      run(join(top, `docker-${id.sub}.scope`, 'init.scope'), '0.2', { HOSTNAME: 'co-sub' }),
      run(join(podSlice, `cri-containerd-${id.podA}.scope`), '0.25'),
      run(join(podSlice, `cri-containerd-${id.podB}.scope`), '0.15'),
      run(join(top, 'kubepods', 'besteffort', `pod${cgfsPod}`, id.cgfs), '0.2'),
      ...(hasV1 ? [run(join(v1Root, tag, 'docker', id.v1), '0.2', { HOSTNAME: 'co-v1' })] : []),
      run(join(top, `docker-${id.steady}.scope`), '0 10', { CONTAINER_NAME: 'co-steady' }),
    ];
    const vm = runInCgroup(join(vmScope, 'libvirt', 'emulator'), `exec bash -c 'exec -a qemu-system-x86_64 perl ${burn} 0.3 0 -name guest=co-vm,debug-threads=on -uuid ${vmUuid}'`);
    procs.push(vm);
    for (const p of started) await settled(p, 'perl');
    await settled(vm, 'perl');
    // A first look while they burn, then once all of it is done.
    both();
    await sleep(300);
    both();
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      await sleep(500);
      const s = both();
      const burnt = mine(s.cgOnly.containers, finite).every((c) => c.cpuDeltaSec === 0 && c.cpuTotalSec > 0) && mine(s.cgOnly.vms, [vmUuid]).every((v) => v.cpuDeltaSec === 0);
      if (burnt && samples.length > 5) break;
    }
    // One container ends: its processes go, its cgroup lingers a moment.
    stopInCgroup(procs[0]);
    await sleep(200);
    both();
    both();
  });

  after(async () => {
    if (exporter && exporter.child.exitCode === null) exporter.child.kill('SIGKILL');
    for (const p of procs) stopInCgroup(p);
    await removeCgroups([
      ...procs.map((p) => p.dir),
      join(top, `docker-${id.sub}.scope`),
      join(top, 'kubepods', 'besteffort', `pod${cgfsPod}`),
      join(top, 'kubepods', 'besteffort'),
      join(top, 'kubepods'),
      podSlice,
      join(top, 'kubepods.slice', 'kubepods-burstable.slice'),
      join(top, 'kubepods.slice'),
      top,
      join(vmScope, 'libvirt'),
      vmScope,
      ...(hasV1 ? [join(v1Root, tag, 'docker'), join(v1Root, tag)] : []),
    ]);
    if (madeMachineSlice) {
      try {
        rmdirSync(machineSlice);
      } catch {
        // someone else's VM moved in meanwhile
      }
    }
    rmSync(tmp, { recursive: true, force: true });
  });

  it('finds the same containers, pods and VMs with the same labels, at every refresh; no process', () => {
    const k = keys();
    for (const [i, s] of samples.entries()) {
      assert.deepEqual(s.cgOnly.processes, [], `refresh ${i}`);
      for (const [what, get, ks] of [
        ['containers', (x: ResourceSample) => x.containers, k.containers],
        ['pods', (x: ResourceSample) => x.pods, k.pods],
        ['vms', (x: ResourceSample) => x.vms, k.vms],
      ] as const) {
        const view = (x: ResourceSample) => mine<{ key: string }>(get(x), ks).map((w) => ({ info: w.info, ended: w.ended }));
        assert.deepEqual(view(s.cgOnly), view(s.full), `refresh ${i}: ${what}`);
      }
    }
    const last = samples[samples.length - 3].cgOnly;
    assert.deepEqual(
      mine(last.containers, k.containers).map((c) => c.info.key),
      [...k.containers].sort(),
      'every test container was found',
    );
    const byKey = (key: string) => last.containers.find((c) => c.info.key === key)?.info;
    assert.equal(byKey(id.docker)?.name, 'co-docker');
    assert.equal(byKey(id.sub)?.name, 'co-sub');
    assert.equal(byKey(id.podA)?.podId, pod);
    assert.equal(byKey(id.cgfs)?.runtime, 'kubernetes');
    assert.equal(byKey(id.cgfs)?.podId, cgfsPod);
    assert.equal(last.vms.find((v) => v.info.key === vmUuid)?.info.name, 'co-vm');
  });

  it('bills the same CPU seconds: exactly, for the work that stopped', () => {
    const last = samples[samples.length - 3];
    const k = keys();
    const totals = (s: ResourceSample) =>
      [...mine(s.containers, finite), ...mine(s.pods, k.pods), ...mine(s.vms, k.vms)].map((w) => [w.info.key, Math.round(w.cpuTotalSec * 1e9) / 1e9]);
    assert.deepEqual(totals(last.cgOnly), totals(last.full));
    for (const [key, sec] of totals(last.cgOnly)) assert.ok(Number(sec) >= 0.1, `${String(key)}: ${String(sec)} s billed`);
    // The busy one is read a moment apart by the two: within the work of that moment.
    const steady = (s: ResourceSample) => mine(s.containers, [id.steady])[0].cpuTotalSec;
    assert.ok(Math.abs(steady(last.cgOnly) - steady(last.full)) < 0.05, `${steady(last.cgOnly)} vs ${steady(last.full)}`);
  });

  it('ends a container whose processes are gone in both, with the same totals', () => {
    const ended = samples[samples.length - 2];
    for (const s of [ended.full, ended.cgOnly]) {
      const c = mine(s.containers, [id.docker]);
      assert.equal(c.length, 1);
      assert.equal(c[0].ended, true);
    }
    assert.equal(mine(ended.cgOnly.containers, [id.docker])[0].cpuTotalSec, mine(ended.full.containers, [id.docker])[0].cpuTotalSec);
    assert.equal(mine(samples[samples.length - 1].cgOnly.containers, [id.docker]).length, 0);
  });

  it('the exporter without the process level says so, and exports containers, pods and VMs but no process', async () => {
    const port = await freePort();
    const yaml = join(tmp, 'kepler.yaml');
    writeFileSync(
      yaml,
      [
        'monitor: {interval: 0s, staleness: 0s, idle: {model: usage-ratio}}',
        'cpu: {preferredMeters: [fake]}',
        'dev: {fake-cpu-meter: {enabled: true, zones: [package], watts: {package: 40}}}',
        'exporter: {prometheus: {metricsLevel: [node, container, pod, vm]}}',
      ].join('\n'),
    );
    exporter = await startExporter([`--config.file=${yaml}`, `--web.listen-address=127.0.0.1:${port}`], port);
    await sleep(1500);
    const e = parseExposition(await (await fetch(`${exporter.url}/metrics`)).text());
    assert.match(exporter.stderr(), /cgroup accounting.*none read: containers, pods and VMs from the cgroup tree/);
    assert.equal(select(e, 'kepler_process_cpu_joules_total').length, 0);
    const steady = select(e, 'kepler_container_cpu_joules_total', { container_id: id.steady, zone: 'package' });
    assert.equal(steady.length, 1, 'the busy container is exported');
    assert.ok(steady[0].value > 0, 'and billed');
    assert.equal(steady[0].labels.container_name, 'co-steady');
    assert.equal(select(e, 'kepler_pod_cpu_joules_total', { pod_id: pod, zone: 'package' }).length, 1);
    assert.equal(select(e, 'kepler_vm_cpu_joules_total', { vm_id: vmUuid, zone: 'package' }).length, 1);
  });
});
