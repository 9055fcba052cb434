// End to end on this machine: kepler-ts reads a RAPL sysfs tree whose counters advance with the
// real CPU work (and wrap), the real /proc, and real cgroups holding real processes named the way
// containerd, CRI-O and Docker name theirs. Prometheus node_exporter reads the same tree, as a
// cross-check of the node joules.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { lastOf } from '../support/assertions.js';
import { parseExposition, select, seriesKey, sum, type Exposition } from '../support/exposition.js';
import { randomHex, randomUid } from '../../harness/ids.js';
import {
  cgroupCpuSeconds,
  cgroupV2Root,
  CGROUP_ROOT,
  freePort,
  killGroup,
  nodeActiveCpuSeconds,
  removeCgroups,
  requireCommand,
  runInCgroup,
  startExporter,
  stopInCgroup,
  type CgroupProcess,
  type Exporter,
} from '../support/processes.js';
import { RaplTree } from '../support/raplTree.js';

const ZONES = ['package', 'core', 'dram'];
const LEVELS = ['process', 'container', 'vm', 'pod'];
const J = 1e-3; // tolerance in joules for sums of printed values

interface Observation {
  exp: Exposition;
  /** cgroup CPU seconds of each test container, read right after the scrape. */
  cgroupCpu: Map<string, number>;
  nodeActiveCpu: number;
  nodeExporter: Exposition;
  /** When the exporter refreshed for this scrape (wall clock, ms). */
  atMs: number;
}

describe('kepler-ts on real processes, cgroups and a RAPL tree', { timeout: 180_000 }, () => {
  const v2 = cgroupV2Root();
  const tmp = mkdtempSync(join(tmpdir(), 'kepler-e2e-'));
  const sysfs = join(tmp, 'sys');
  const podA = randomUid();
  const podB = randomUid();
  const ids = { busy: randomHex(64), sidecar: randomHex(64), crio: randomHex(64), shortJobs: randomHex(64), v1: randomHex(64), oneShot: randomHex(64) };
  const containers: Record<keyof typeof ids, CgroupProcess> = {} as never;
  let tree: RaplTree;
  let exporter: Exporter;
  let nodeExporter: ChildProcess;
  let nodeExporterUrl: string;
  let oneShotProcess: ChildProcess;
  let vmProcess: ChildProcess;
  const vmUuid = randomUid();
  const observations: Observation[] = [];

  async function scrapeBoth(): Promise<Observation> {
    tree.pause(); // both readers see the same counter values
    const ne = parseExposition(await (await fetch(`${nodeExporterUrl}/metrics`)).text());
    const res = await fetch(`${exporter.url}/metrics`);
    assert.equal(res.status, 200);
    const exp = parseExposition(await res.text());
    const cgroupCpu = new Map(Object.entries(containers).map(([k, c]) => [k, cgroupCpuSeconds(c.dir)]));
    const nodeActiveCpu = nodeActiveCpuSeconds();
    tree.resume();
    const atMs = select(exp, 'kepler_exporter_last_refresh_timestamp_seconds')[0].value * 1000;
    return { exp, cgroupCpu, nodeActiveCpu, nodeExporter: ne, atMs };
  }

  before(async () => {
    requireCommand('stress-ng');
    requireCommand('prometheus-node-exporter');
    // The RAPL tree: two sockets, small ranges so the counters wrap several times during the run,
    // and an intel-rapl-mmio copy of package-0 that must not be counted twice. A range must exceed
    // the energy of one scrape interval, as on real hardware (about 60 s at full power), or no
    // reader can tell how many times it wrapped.
    mkdirSync(join(sysfs, 'fs'), { recursive: true });
    symlinkSync(CGROUP_ROOT, join(sysfs, 'fs', 'cgroup'));
    tree = new RaplTree(sysfs, [
      { dir: 'intel-rapl:0', name: 'package-0', zone: 'package', idleWatts: 8, maxWatts: 40, maxRangeUj: 60_000_000 },
      { dir: 'intel-rapl:0:0', name: 'core', zone: 'core', idleWatts: 2, maxWatts: 30, maxRangeUj: 50_000_000 },
      { dir: 'intel-rapl:0:2', name: 'dram', zone: 'dram', idleWatts: 3, maxWatts: 6, maxRangeUj: 65_000_000 },
      { dir: 'intel-rapl:1', name: 'package-1', zone: 'package', idleWatts: 8, maxWatts: 40, maxRangeUj: 60_000_000 },
      { dir: 'intel-rapl-mmio:0', name: 'package-0', zone: 'package', idleWatts: 50, maxWatts: 90, maxRangeUj: 60_000_000, duplicate: true },
    ]);

    // Containers. Pod A (cgroupfs driver, kubelet naming): a busy container and a light sidecar.
    // Pod B (systemd driver, CRI-O naming). A Docker container running hundreds of short processes
    // a second. A Docker container on the cgroup v1 cpuacct hierarchy.
    containers.busy = runInCgroup(join(v2, 'kubepods', 'besteffort', `pod${podA}`, ids.busy), 'exec stress-ng --cpu 1 --cpu-method int64 --timeout 300 -q');
    containers.sidecar = runInCgroup(join(v2, 'kubepods', 'besteffort', `pod${podA}`, ids.sidecar), 'exec stress-ng --cpu 1 --cpu-load 10 --timeout 300 -q');
    const slice = `kubepods-burstable-pod${podB.replace(/-/g, '_')}.slice`;
    containers.crio = runInCgroup(join(v2, 'kubepods.slice', 'kubepods-burstable.slice', slice, `crio-${ids.crio}.scope`), 'exec stress-ng --cpu 1 --cpu-load 10 --timeout 300 -q');
    containers.shortJobs = runInCgroup(join(v2, 'system.slice', `docker-${ids.shortJobs}.scope`), 'while :; do awk "BEGIN{for(i=0;i<30000;i++)s+=i}"; done', {
      CONTAINER_NAME: 'short-jobs',
    });
    containers.v1 = runInCgroup(join(CGROUP_ROOT, 'cpuacct', 'docker', ids.v1), 'exec stress-ng --cpu 1 --cpu-load 10 --timeout 300 -q', {
      HOSTNAME: 'legacy-v1',
    });

    // Work that ends during the run: a container and a plain process, each busy for 6 s.
    containers.oneShot = runInCgroup(join(v2, 'system.slice', `docker-${ids.oneShot}.scope`), 'exec stress-ng --cpu 1 --cpu-load 40 --timeout 6 -q');
    oneShotProcess = spawn('sh', ['-c', 'while :; do :; done'], { stdio: 'ignore', detached: true });
    setTimeout(() => killGroup(oneShotProcess), 6000).unref();

    // A virtual machine as the exporter sees one: a process whose command line is qemu's (here a
    // perl busy loop started under the name qemu-system-x86_64, with qemu's -name and -uuid).
    vmProcess = spawn(
      'bash',
      ['-c', `exec -a qemu-system-x86_64 perl -e 'while(1){ for(1..20000){} select(undef,undef,undef,0.01) }' -- -name guest=e2e-vm,debug-threads=on -uuid ${vmUuid}`],
      { stdio: 'ignore', detached: true },
    );

    const port = await freePort();
    const nePort = await freePort();
    writeFileSync(
      join(tmp, 'kepler.yaml'),
      [
        'monitor:',
        '  interval: 0s            # refresh exactly when scraped, so the test controls the intervals',
        '  staleness: 0s',
        '  maxTerminated: -1',
        '  minTerminatedEnergyThreshold: 0',
        '  terminatedRetention: 3s  # terminated series stay 3 s after the first scrape that shows them',
        "  idle: {watts: {package: 16, core: 2, dram: 3}}  # the tree's zero-load power: active energy is then exactly proportional to CPU time",
        'cpu: {preferredMeters: [rapl]}',
        'log: {level: debug}',
      ].join('\n'),
    );
    exporter = await startExporter([`--config.file=${join(tmp, 'kepler.yaml')}`, `--host.sysfs=${sysfs}`, `--web.listen-address=127.0.0.1:${port}`], port);
    nodeExporter = spawn('prometheus-node-exporter', [`--path.sysfs=${sysfs}`, '--collector.disable-defaults', '--collector.rapl', `--web.listen-address=127.0.0.1:${nePort}`], {
      stdio: 'ignore',
    });
    nodeExporterUrl = `http://127.0.0.1:${nePort}`;
    // node_exporter can take seconds to listen on a busy machine: wait up to 30 s, then say so.
    for (let i = 0; ; i++) {
      try {
        if ((await fetch(`${nodeExporterUrl}/metrics`)).ok) break;
      } catch {
        if (i >= 300) throw new Error(`prometheus-node-exporter did not answer on ${nodeExporterUrl} within 30 s`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    tree.start(100);
    observations.push(await scrapeBoth()); // the first billed interval starts here
    tree.resume();
    for (let i = 0; i < 14; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      observations.push(await scrapeBoth());
    }
  });

  after(async () => {
    tree?.stop();
    for (const c of Object.values(containers)) stopInCgroup(c);
    if (oneShotProcess) killGroup(oneShotProcess);
    if (vmProcess) killGroup(vmProcess);
    nodeExporter?.kill('SIGKILL');
    if (exporter && exporter.child.exitCode === null) exporter.child.kill('SIGKILL');
    await removeCgroups([
      ...Object.values(containers).map((c) => c.dir),
      join(v2, 'kubepods', 'besteffort', `pod${podA}`),
      join(v2, 'kubepods', 'besteffort'),
      join(v2, 'kubepods'),
      join(v2, 'kubepods.slice', 'kubepods-burstable.slice', `kubepods-burstable-pod${podB.replace(/-/g, '_')}.slice`),
      join(v2, 'kubepods.slice', 'kubepods-burstable.slice'),
      join(v2, 'kubepods.slice'),
      join(CGROUP_ROOT, 'cpuacct', 'docker'),
    ]);
    rmSync(tmp, { recursive: true, force: true });
  });

  it('logs the meter it chose and why', () => {
    assert.match(exporter.stderr(), /meter chosen: rapl/);
  });

  it('reads the RAPL zones de-duplicated and aggregated over sockets', () => {
    const last = lastOf(observations, 'scrape').exp;
    const zones = select(last, 'kepler_node_cpu_joules_total')
      .map((s) => `${s.labels.zone}@${s.labels.path}`)
      .sort();
    assert.deepEqual(zones, ['core@' + join(sysfs, 'class/powercap/intel-rapl:0:0'), 'dram@' + join(sysfs, 'class/powercap/intel-rapl:0:2'), 'package@aggregated-package']);
  });

  it('counts exactly the energy added to the counters, across wraps, with no resets', () => {
    const last = lastOf(observations, 'scrape').exp;
    for (const zone of ZONES) {
      const got = select(last, 'kepler_node_cpu_joules_total', { zone })[0].value;
      // Billing starts at the first scrape (the start-up refresh is the baseline and the advancer was paused until then).
      assert.ok(Math.abs(got - tree.addedUj(zone) / 1e6) < J, `${zone}: exporter ${got} J, counters advanced ${tree.addedUj(zone) / 1e6} J`);
    }
    // The package counters wrapped (60 J range per socket at 8-40 W over ~14 s) and still no series went down.
    assert.ok(tree.addedUj('package') / 2 > 60e6, 'the run was long enough for the package counters to wrap');
    for (let i = 1; i < observations.length; i++) {
      const prev = new Map(observations[i - 1].exp.samples.map((s) => [seriesKey(s), s.value]));
      for (const s of observations[i].exp.samples) {
        if (!s.name.endsWith('_total')) continue;
        const before = prev.get(seriesKey(s));
        if (before !== undefined) assert.ok(s.value >= before - 1e-9, `${seriesKey(s)} went down: ${before} -> ${s.value}`);
      }
    }
  });

  it('agrees with node_exporter on the node joules', () => {
    // node_exporter shows the raw counters; undo the wraps of each socket between scrapes.
    const neTotal = (name: string) => {
      let total = 0;
      for (let i = 1; i < observations.length; i++) {
        for (const cur of select(observations[i].nodeExporter, name)) {
          if (cur.labels.path.includes('intel-rapl-mmio')) continue; // the duplicate kepler-ts must ignore
          const prev = select(observations[i - 1].nodeExporter, name, { path: cur.labels.path })[0];
          const range = cur.labels.path.endsWith(':0:0') ? 50 : cur.labels.path.endsWith(':0:2') ? 65 : 60;
          total += cur.value >= prev.value ? cur.value - prev.value : range - prev.value + cur.value;
        }
      }
      return total;
    };
    const first = observations[0].exp;
    const last = lastOf(observations, 'scrape').exp;
    for (const zone of ZONES) {
      const kepler = select(last, 'kepler_node_cpu_joules_total', { zone })[0].value - select(first, 'kepler_node_cpu_joules_total', { zone })[0].value;
      const ne = neTotal(`node_rapl_${zone}_joules_total`);
      assert.ok(ne > 10, `${zone}: node_exporter saw energy`);
      assert.ok(Math.abs(kepler - ne) < J, `${zone}: kepler-ts ${kepler} J, node_exporter ${ne} J`);
    }
  });

  it('keeps every invariant of attribution.md at every scrape', () => {
    for (let i = 1; i < observations.length; i++) {
      const prev = observations[i - 1].exp;
      const cur = observations[i].exp;
      const ratio = select(cur, 'kepler_node_cpu_usage_ratio')[0].value;
      assert.ok(ratio >= 0 && ratio <= 1, `usage ratio ${ratio}`);
      const interval = select(cur, 'kepler_exporter_last_refresh_interval_seconds')[0].value;
      for (const zone of ZONES) {
        const node = (n: string, e: Exposition) => select(e, n, { zone })[0].value;
        // node: joules = active + idle
        assert.ok(Math.abs(node('kepler_node_cpu_joules_total', cur) - node('kepler_node_cpu_active_joules_total', cur) - node('kepler_node_cpu_idle_joules_total', cur)) < J);
        const dActive = node('kepler_node_cpu_active_joules_total', cur) - node('kepler_node_cpu_active_joules_total', prev);
        // power x interval = energy delta
        const dTotal = node('kepler_node_cpu_joules_total', cur) - node('kepler_node_cpu_joules_total', prev);
        assert.ok(Math.abs(node('kepler_node_cpu_watts', cur) * interval - dTotal) < J, `${zone} watts x interval`);
        assert.ok(Math.abs(node('kepler_node_cpu_active_watts', cur) * interval - dActive) < J, `${zone} active watts x interval`);
        for (const level of LEVELS) {
          // each level: its series + unattributed + dropped = node active energy, at every scrape
          // (a workload's series leaves the exposition when its totals move into dropped)
          const name = `kepler_${level}_cpu_joules_total`;
          const u = (e: Exposition) => select(e, 'kepler_node_cpu_unattributed_joules_total', { zone, level })[0].value;
          const dropped = (e: Exposition) => select(e, 'kepler_node_cpu_dropped_joules_total', { zone, level })[0].value;
          assert.ok(u(cur) >= u(prev) - J, `${level}/${zone}: unattributed went down`);
          assert.ok(dropped(cur) >= dropped(prev) - J, `${level}/${zone}: dropped went down`);
          const workloads = sum(select(cur, name, { zone }));
          const active = node('kepler_node_cpu_active_joules_total', cur);
          assert.ok(
            Math.abs(workloads + u(cur) + dropped(cur) - active) < J,
            `${level}/${zone} at scrape ${i}: workloads ${workloads} + unattributed ${u(cur)} + dropped ${dropped(cur)} != node active ${active}`,
          );
        }
        // pod = sum of its containers
        for (const pod of select(cur, 'kepler_pod_cpu_joules_total', { zone })) {
          const members = select(cur, 'kepler_container_cpu_joules_total', { zone, pod_id: pod.labels.pod_id });
          assert.ok(Math.abs(sum(members) - pod.value) < J, `pod ${pod.labels.pod_id}/${zone}`);
        }
      }
    }
  });

  it('labels containers with their runtime, pod and name, and their processes with the container', () => {
    const last = lastOf(observations, 'scrape').exp;
    const c = (id: string) => select(last, 'kepler_container_cpu_joules_total', { container_id: id, zone: 'package' })[0]?.labels;
    assert.deepEqual({ runtime: c(ids.busy)?.runtime, pod: c(ids.busy)?.pod_id, state: c(ids.busy)?.state }, { runtime: 'kubernetes', pod: podA, state: 'running' });
    assert.equal(c(ids.sidecar)?.pod_id, podA);
    assert.deepEqual({ runtime: c(ids.crio)?.runtime, pod: c(ids.crio)?.pod_id }, { runtime: 'crio', pod: podB });
    assert.deepEqual({ runtime: c(ids.shortJobs)?.runtime, name: c(ids.shortJobs)?.container_name }, { runtime: 'docker', name: 'short-jobs' });
    assert.deepEqual({ runtime: c(ids.v1)?.runtime, name: c(ids.v1)?.container_name }, { runtime: 'docker', name: 'legacy-v1' });
    const stress = select(last, 'kepler_process_cpu_joules_total', { container_id: ids.busy, zone: 'package' });
    assert.ok(stress.length >= 1 && stress.every((s) => s.labels.type === 'container' && s.labels.comm.startsWith('stress-ng')));
    // pods exist for both UIDs and nowhere else from this test
    assert.ok(select(last, 'kepler_pod_cpu_joules_total', { pod_id: podA, zone: 'package' }).length === 1);
  });

  it('finds the virtual machine from its command line and bills it', () => {
    const first = observations[0].exp;
    const last = lastOf(observations, 'scrape').exp;
    const vm = select(last, 'kepler_vm_cpu_joules_total', { vm_id: vmUuid, zone: 'package' })[0];
    assert.ok(vm, 'the VM is exported');
    assert.deepEqual({ name: vm.labels.vm_name, hypervisor: vm.labels.hypervisor, state: vm.labels.state }, { name: 'e2e-vm', hypervisor: 'kvm', state: 'running' });
    const before = select(first, 'kepler_vm_cpu_joules_total', { vm_id: vmUuid, zone: 'package' })[0]?.value ?? 0;
    assert.ok(vm.value - before > 0.5, `the VM was billed ${vm.value - before} J`);
    const proc = select(last, 'kepler_process_cpu_joules_total', { pid: String(vmProcess.pid), zone: 'package' })[0];
    assert.deepEqual({ type: proc?.labels.type, vm: proc?.labels.vm_id }, { type: 'vm', vm: vmUuid });
  });

  it('gives each container its real share of the active energy, short-lived processes included', () => {
    const first = observations[0];
    const last = lastOf(observations, 'scrape');
    const nodeActive = (o: Observation) => select(o.exp, 'kepler_node_cpu_active_joules_total', { zone: 'package' })[0].value;
    const dNode = nodeActive(last) - nodeActive(first);
    const dCpu = last.nodeActiveCpu - first.nodeActiveCpu;
    const share = (key: keyof typeof ids) => {
      const e = (o: Observation) => select(o.exp, 'kepler_container_cpu_joules_total', { container_id: ids[key], zone: 'package' })[0]?.value ?? 0;
      const cpu = (o: Observation) => {
        const seconds = o.cgroupCpu.get(key);
        assert.ok(seconds !== undefined, `${key}: no cgroup CPU reading`);
        return seconds;
      };
      return { got: (e(last) - e(first)) / dNode, want: (cpu(last) - cpu(first)) / dCpu };
    };
    for (const key of ['busy', 'sidecar', 'crio', 'shortJobs', 'v1'] as const) {
      const { got, want } = share(key);
      assert.ok(Math.abs(got - want) < 0.03, `${key}: got ${(got * 100).toFixed(1)} % of active energy, its cgroup used ${(want * 100).toFixed(1)} % of active CPU`);
    }
    assert.ok(share('busy').want > 0.1, `the busy container used a real share of the CPU (${share('busy').want})`);
    // The short-jobs container's CPU is nearly all in processes that start and end between two
    // scrapes: a sum over its live processes (Kepler's method) would miss most of it.
    const procs = (o: Observation) => sum(select(o.exp, 'kepler_process_cpu_joules_total', { container_id: ids.shortJobs, zone: 'package' }));
    const container = (o: Observation) => select(o.exp, 'kepler_container_cpu_joules_total', { container_id: ids.shortJobs, zone: 'package' })[0].value;
    const dContainer = container(last) - container(first);
    assert.ok(share('shortJobs').want > 0.05, `the short-jobs container did real work (${share('shortJobs').want})`);
    assert.ok(dContainer > 2 * (procs(last) - procs(first)), `short jobs: container ${dContainer} J vs its seen processes ${procs(last) - procs(first)} J`);
  });

  it('exports a workload that ended as terminated, with its final total, for the retention, then drops it', () => {
    const check = (name: string, match: Record<string, string>) => {
      const states = observations.map((o) => select(o.exp, name, { ...match, zone: 'package' }).map((s) => ({ state: s.labels.state, value: s.value })));
      const running = states.findLastIndex((l) => l.some((s) => s.state === 'running'));
      const terminated = states.findIndex((l) => l.some((s) => s.state === 'terminated'));
      assert.ok(running >= 0, `${name} ${JSON.stringify(match)} was seen running`);
      assert.equal(terminated, running + 1, `${name} ${JSON.stringify(match)}: terminated right after its last running scrape`);
      const lastRunning = states[running].find((s) => s.state === 'running');
      const firstTerminated = states[terminated].find((s) => s.state === 'terminated');
      assert.ok(lastRunning && firstTerminated); // found above by the same tests
      const last = lastRunning.value;
      const final = firstTerminated.value;
      assert.ok(final > 0 && final >= last, `final total ${final} J >= last running total ${last} J`);
      // Kept for 3 s after the first scrape that showed it (scrapes are ~1 s apart), so a second
      // scraper sees it too; unchanged all along; then gone for good.
      const shownAt = observations[terminated].atMs;
      const gone = states.findIndex((l, i) => i > terminated && l.length === 0);
      assert.ok(gone > terminated + 1, `${name}: shown by more than one scrape (gone at scrape ${gone}, first shown at ${terminated})`);
      for (let i = terminated; i < gone; i++) assert.deepEqual(states[i], [{ state: 'terminated', value: final }], `${name} scrape ${i}`);
      // (100 ms of slack: the retention starts when the scrape is answered, a moment after its refresh.)
      const keptFor = observations[gone - 1].atMs - shownAt;
      const goneAfter = observations[gone].atMs - shownAt;
      assert.ok(keptFor < 3000 + 100 && goneAfter >= 3000 - 100, `${name}: still there ${keptFor} ms after first shown, gone ${goneAfter} ms after`);
      assert.ok(
        states.slice(gone).every((l) => l.length === 0),
        'dropped for good',
      );
    };
    check('kepler_container_cpu_joules_total', { container_id: ids.oneShot });
    check('kepler_process_cpu_joules_total', { pid: String(oneShotProcess.pid) });
  });

  it('stops cleanly within 5 s on SIGTERM', async () => {
    const t0 = Date.now();
    exporter.child.kill('SIGTERM');
    const code = await exporter.exited;
    assert.equal(code, 0);
    assert.ok(Date.now() - t0 < 5000, `stopped in ${Date.now() - t0} ms`);
  });
});
