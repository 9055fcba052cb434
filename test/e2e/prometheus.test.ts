// End to end through the real Prometheus server: kepler-ts (with the Kepler 0.7 family on) reads
// a RAPL sysfs tree whose counters advance with the real CPU work and wrap, and real cgroups
// holding real processes; Prometheus scrapes it every second. Every check is a PromQL query a
// user would write: rates against the watts gauges, resets, the attribution invariant, the top
// consumer, the aether plugin's queries on the 0.7 names, and every panel of the dashboards.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertPanelsReturnData, needsIdleAttribution } from '../support/dashboardQueries.js';
import { randomHex, randomUid } from '../../harness/ids.js';
import {
  CGROUP_ROOT,
  cgroupV2Root,
  freePort,
  killGroup,
  removeCgroups,
  requireCommand,
  runInCgroup,
  startExporter,
  stopInCgroup,
  type CgroupProcess,
  type Exporter,
} from '../support/processes.js';
import { parseExposition, seriesKey } from '../support/exposition.js';
import { PrometheusServer, promtoolCheckMetrics, type PromSample } from '../support/prometheus.js';
import { RaplTree } from '../support/raplTree.js';

const ZONES = ['package', 'core', 'dram', 'psys'];
const RUN_SCRAPES = 30; // seconds of data at one scrape a second
const WINDOW = '10s';
const ONE_SHOTS = 20;

/** |a - b| within a relative tolerance plus an absolute floor (watts near zero are noise). */
function close(a: number, b: number, rel: number, abs: number): boolean {
  return Math.abs(a - b) <= rel * Math.max(Math.abs(a), Math.abs(b)) + abs;
}

function byLabels(samples: PromSample[], key: (m: Record<string, string>) => string): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of samples) {
    const k = key(s.metric);
    assert.ok(!out.has(k), `two samples for ${k}`);
    out.set(k, s.value);
  }
  return out;
}

describe('kepler-ts scraped by the real Prometheus', { timeout: 240_000 }, () => {
  const v2 = cgroupV2Root();
  const tmp = mkdtempSync(join(tmpdir(), 'kepler-prom-'));
  const sysfs = join(tmp, 'sys');
  const pod = randomUid();
  const ids = { busy: randomHex(64), sidecar: randomHex(64), web: randomHex(64) };
  const containers: CgroupProcess[] = [];
  const oneShots: CgroupProcess[] = [];
  const vmUuid = randomUid();
  let vm: ChildProcess;
  let tree: RaplTree;
  let exporter: Exporter;
  let prom: PrometheusServer;
  /** Time of the last scrape the checks look at: every query is evaluated there. */
  let t: number;
  let runSec: number;
  let rangeVector: string;

  before(async () => {
    requireCommand('stress-ng');
    requireCommand('prometheus');
    requireCommand('promtool');
    mkdirSync(join(sysfs, 'fs'), { recursive: true });
    symlinkSync(CGROUP_ROOT, join(sysfs, 'fs', 'cgroup'));
    // Two sockets (summed into one package zone), core, dram and the platform (psys) zone that
    // the 0.7 family's `platform` and `other` come from. Ranges small enough to wrap several
    // times in the run, larger than one second of energy (as on real hardware).
    tree = new RaplTree(sysfs, [
      { dir: 'intel-rapl:0', name: 'package-0', zone: 'package', idleWatts: 8, maxWatts: 40, maxRangeUj: 60_000_000 },
      { dir: 'intel-rapl:0:0', name: 'core', zone: 'core', idleWatts: 2, maxWatts: 30, maxRangeUj: 50_000_000 },
      { dir: 'intel-rapl:0:2', name: 'dram', zone: 'dram', idleWatts: 3, maxWatts: 6, maxRangeUj: 65_000_000 },
      { dir: 'intel-rapl:1', name: 'package-1', zone: 'package', idleWatts: 8, maxWatts: 40, maxRangeUj: 60_000_000 },
      { dir: 'intel-rapl:2', name: 'psys', zone: 'psys', idleWatts: 30, maxWatts: 120, maxRangeUj: 200_000_000 },
    ]);

    // A pod (kubelet cgroupfs naming) with a busy container and a light sidecar; a Docker
    // container; a virtual machine as the exporter sees one (a busy loop under qemu's name).
    containers.push(runInCgroup(join(v2, 'kubepods', 'besteffort', `pod${pod}`, ids.busy), 'exec stress-ng --cpu 1 --cpu-method int64 --timeout 600 -q'));
    containers.push(runInCgroup(join(v2, 'kubepods', 'besteffort', `pod${pod}`, ids.sidecar), 'exec stress-ng --cpu 1 --cpu-load 10 --timeout 600 -q'));
    containers.push(runInCgroup(join(v2, 'system.slice', `docker-${ids.web}.scope`), 'exec stress-ng --cpu 1 --cpu-load 20 --timeout 600 -q', { CONTAINER_NAME: 'web' }));
    vm = spawn('bash', ['-c', `exec -a qemu-system-x86_64 perl -e 'while(1){ for(1..20000){} select(undef,undef,undef,0.01) }' -- -name guest=prom-vm -uuid ${vmUuid}`], {
      stdio: 'ignore',
      detached: true,
    });

    // The user's defaults (5 s refresh, 500 ms staleness: each 1 s scrape gets a fresh reading),
    // with the Kepler 0.7 family turned on by its flag.
    const port = await freePort();
    // The tree's zero-load power pinned (a 30 s run is too short to learn it): the active energy
    // is then the power above it, exactly proportional to CPU time.
    const pinned = ['package=16', 'core=2', 'dram=3', 'psys=30'].map((w) => `--monitor.idle.watts=${w}`);
    exporter = await startExporter([`--host.sysfs=${sysfs}`, `--web.listen-address=127.0.0.1:${port}`, '--exporter.prometheus.legacy-metrics', ...pinned], port);
    tree.start(100);
    tree.resume();
    prom = await PrometheusServer.start(join(tmp, 'prometheus'), [{ job: 'kepler', address: `127.0.0.1:${port}`, interval: '1s' }]);
    // One-shot containers: a fifth of a second of work each, a few joules, under the default
    // 10 J threshold, so their terminated series are not kept and their energy goes to dropped.
    void (async () => {
      for (let i = 0; i < ONE_SHOTS; i++) {
        const id = randomHex(64);
        oneShots.push(runInCgroup(join(v2, 'system.slice', `docker-${id}.scope`), 'exec timeout 0.2 sh -c "while :; do :; done"'));
        await new Promise((r) => setTimeout(r, 450));
      }
    })();
    const started = Date.now();
    await prom.waitForScrapes('kepler', RUN_SCRAPES, 120_000);
    t = await prom.queryOne('timestamp(up{job="kepler"})');
    runSec = Math.ceil((Date.now() - started) / 1000) + 5;
    rangeVector = `${runSec}s`;
  });

  after(async () => {
    tree?.stop();
    await prom?.stop();
    for (const c of containers) stopInCgroup(c);
    if (vm) killGroup(vm);
    if (exporter && exporter.child.exitCode === null) exporter.child.kill('SIGKILL');
    for (const c of oneShots) stopInCgroup(c);
    await removeCgroups([
      ...containers.map((c) => c.dir),
      ...oneShots.map((c) => c.dir),
      join(v2, 'kubepods', 'besteffort', `pod${pod}`),
      join(v2, 'kubepods', 'besteffort'),
      join(v2, 'kubepods'),
    ]);
    rmSync(tmp, { recursive: true, force: true });
  });

  it('scrapes every second without a failure, in the format Prometheus negotiates', async () => {
    assert.equal(await prom.queryOne(`min_over_time(up{job="kepler"}[${rangeVector}])`, t), 1, prom.stderr());
    assert.ok((await prom.queryOne(`count_over_time(up{job="kepler"}[${rangeVector}])`, t)) >= RUN_SCRAPES);
    // The exporter served them all (its counter shows the scrapes before the one reading it).
    assert.ok((await prom.queryOne('kepler_exporter_scrapes_total', t)) >= RUN_SCRAPES - 1);
  });

  it('passes promtool check metrics', async () => {
    const text = await (await fetch(`${exporter.url}/metrics`, { headers: { Accept: 'text/plain' } })).text();
    assert.match(text, /^kepler_container_core_joules_total\{/m, 'the exposition checked includes the Kepler 0.7 family');
    const lint = promtoolCheckMetrics(text);
    assert.deepEqual(lint, { status: 0, output: '' });
    // promtool 2.42 does not look for duplicate series (Prometheus would drop them with a log line).
    const keys = parseExposition(text).samples.map((s) => seriesKey(s));
    assert.deepEqual(
      keys.filter((k, i) => keys.indexOf(k) !== i),
      [],
      'series that appear twice',
    );
  });

  it('rate() of the node, container and process joules agrees with the watts gauges', async () => {
    // Each 1 s scrape shows the watts of the interval since the previous one. Evaluated half a
    // second after a scrape, rate(j[10s]) spans the last 9 intervals (10 samples, extrapolated
    // by exactly the missing half seconds) and avg_over_time(w[9s]) averages those same 9.
    // Only series present at all 10 scrapes: a workload that started or ended in the window
    // (something else on the machine) is extrapolated by rate() and not by the average.
    const at = t + 0.5;
    const pairs: [string, string, string, number][] = [
      ['node', 'kepler_node_cpu_joules_total', 'kepler_node_cpu_watts', 0.1],
      ['container', 'kepler_container_cpu_joules_total', 'kepler_container_cpu_watts', 0.1],
      ['process', `kepler_process_cpu_joules_total{container_id="${ids.busy}"}`, `kepler_process_cpu_watts{container_id="${ids.busy}"}`, 0.1],
    ];
    for (const [level, joules, watts, abs] of pairs) {
      const key = (m: Record<string, string>) => JSON.stringify({ ...m, __name__: undefined });
      const rates = byLabels(await prom.query(`rate(${joules}[10s]) and count_over_time(${joules}[10s]) >= 10`, at), key);
      const avg = byLabels(await prom.query(`avg_over_time(${watts}[9s])`, at), key);
      assert.ok(rates.size > 0, `${level}: no series`);
      let compared = 0;
      for (const [k, r] of rates) {
        const w = avg.get(k);
        assert.ok(w !== undefined, `${level}: a watts gauge for ${k}`);
        assert.ok(close(r, w, 0.02, abs), `${level} ${k}: rate ${r.toFixed(3)} W, watts ${w.toFixed(3)} W`);
        if (r > 1) compared++;
      }
      assert.ok(compared >= 1, `${level}: at least one series drew over 1 W`);
    }
    // Each zone of the node was compared (the loop above covers them; make sure all exist).
    const zones = (await prom.query('kepler_node_cpu_watts', t)).map((s) => s.metric.zone).sort();
    assert.deepEqual(zones, [...ZONES].sort());
  });

  it('shows no counter reset over the run, across the RAPL counter wraps', async () => {
    const names = await prom.labelValues('__name__', '{__name__=~"kepler_.+_joules_total", job="kepler"}');
    assert.ok(names.length >= 15, `joules counters: ${names.join(', ')}`);
    const reset: string[] = [];
    let series = 0;
    for (const name of names) {
      const r = await prom.query(`resets(${name}{job="kepler"}[${rangeVector}])`, t);
      series += r.length;
      for (const s of r) if (s.value !== 0) reset.push(`${name}${JSON.stringify(s.metric)}: ${s.value}`);
    }
    assert.ok(series > 100, `resets() looked at ${series} series`);
    assert.deepEqual(reset, [], 'series with a reset');
    // The counters the exporter read wrapped during the run (60 J range per socket).
    assert.ok(tree.addedUj('package') / 2 > 2 * 60e6, `each package counter wrapped at least twice (${tree.addedUj('package') / 2e6} J each)`);
    assert.ok(tree.addedUj('psys') > 200e6, 'the psys counter wrapped');
    // And the node's joules over the run are what the counters gained, not a wrapped remainder.
    const gained = await prom.queryOne(
      `max_over_time(kepler_node_cpu_joules_total{zone="package"}[${rangeVector}]) - min_over_time(kepler_node_cpu_joules_total{zone="package"}[${rangeVector}])`,
      t,
    );
    assert.ok(gained > 2 * 120, `package gained ${gained} J over the run`);
  });

  it('per zone, containers + unattributed = node active energy within 1 %, and pods and VMs likewise', async () => {
    // Every workload the exporter billed since it started, at its last total: a workload that
    // ended is shown once as terminated with its final total (hence max over the state label),
    // then its series ends.
    for (const [level, id] of [
      ['container', 'container_id'],
      ['pod', 'pod_id'],
      ['vm', 'vm_id'],
    ]) {
      const billed = `sum by (zone) (max by (${id}, zone) (last_over_time(kepler_${level}_cpu_joules_total[${rangeVector}])))`;
      const expr =
        `abs(1 - (${billed} + on (zone) sum by (zone) (kepler_node_cpu_unattributed_joules_total{level="${level}"}))` +
        ` / on (zone) sum by (zone) (kepler_node_cpu_active_joules_total))`;
      const err = byLabels(await prom.query(expr, t), (m) => m.zone);
      assert.deepEqual([...err.keys()].sort(), [...ZONES].sort(), `${level}: every zone compared`);
      for (const [zone, e] of err) assert.ok(e < 0.01, `${level}/${zone}: relative difference ${e}`);
    }
    // A check that can fail: the containers explain a real part of the active energy.
    const share = await prom.queryOne(`sum(kepler_container_cpu_joules_total{zone="package"}) / sum(kepler_node_cpu_active_joules_total{zone="package"})`, t);
    assert.ok(share > 0.3, `containers hold ${(share * 100).toFixed(1)} % of the active energy`);
  });

  it('with the default threshold and one-shot containers, the series + unattributed + dropped = node active', async () => {
    assert.equal(oneShots.length, ONE_SHOTS, 'every one-shot container ran during the scrapes');
    // At the last scrape, per zone and level: the series of the level (a workload is either
    // running or terminated: never both), plus what no workload explains, plus the totals of
    // the workloads whose series ended (not kept under the threshold, or past their retention).
    for (const level of ['container', 'pod', 'vm', 'process']) {
      const series = `sum by (zone) (kepler_${level}_cpu_joules_total)`;
      const unattributed = `sum by (zone) (kepler_node_cpu_unattributed_joules_total{level="${level}"})`;
      const dropped = `sum by (zone) (kepler_node_cpu_dropped_joules_total{level="${level}"})`;
      const active = 'sum by (zone) (kepler_node_cpu_active_joules_total)';
      const gap = byLabels(await prom.query(`(${series} + on (zone) ${unattributed} + on (zone) ${dropped}) - on (zone) ${active}`, t), (m) => m.zone);
      assert.deepEqual([...gap.keys()].sort(), [...ZONES].sort(), `${level}: every zone compared`);
      const activeJ = byLabels(await prom.query(active, t), (m) => m.zone);
      for (const [zone, g] of gap) assert.ok(Math.abs(g) <= 1e-9 * (activeJ.get(zone) ?? NaN) + 1e-3, `${level}/${zone}: off by ${g} J of ${activeJ.get(zone)} J`);
    }
    // The check can fail: the one-shot containers' energy is really in dropped, and without it
    // the sum falls short.
    const droppedJ = await prom.queryOne('kepler_node_cpu_dropped_joules_total{level="container", zone="package"}', t);
    assert.ok(droppedJ > 0.05, `dropped ${droppedJ} J`);
    const kept = await prom.query(`count(kepler_container_cpu_joules_total{zone="package", state="terminated"})`, t);
    assert.ok((kept[0]?.value ?? 0) < ONE_SHOTS, 'most one-shot containers were under the threshold and not kept');
  });

  it("puts the busy container, its pod and its process at the top of the test's workloads", async (tc) => {
    // Among the workloads this test runs (one CPU, a tenth, a fifth and a light VM): the machine
    // may run busier ones of its own, which say nothing about the exporter.
    const own = `container_id=~"${[ids.busy, ids.sidecar, ids.web].join('|')}"`;
    const rates = await prom.query(`sum by (container_id) (rate(kepler_container_cpu_joules_total{zone="package", ${own}}[${WINDOW}]))`, t);
    const name = (id: string | undefined) => Object.entries(ids).find(([, v]) => v === id)?.[0] ?? id;
    tc.diagnostic(`containers (W): ${rates.map((r) => `${name(r.metric.container_id)} ${r.value.toFixed(2)}`).join(', ')}`);
    const top = await prom.query(`topk(1, sum by (container_id) (rate(kepler_container_cpu_joules_total{zone="package", ${own}}[${WINDOW}])))`, t);
    assert.equal(top[0]?.metric.container_id, ids.busy);
    // The pod (the busy container and the sidecar) draws more than the test's other workloads.
    const podWatts = await prom.queryOne(`kepler_pod_cpu_watts{zone="package", pod_id="${pod}"}`, t);
    const webWatts = await prom.queryOne(`kepler_container_cpu_watts{zone="package", container_id="${ids.web}"}`, t);
    const vmWatts = await prom.queryOne(`kepler_vm_cpu_watts{zone="package", vm_id="${vmUuid}"}`, t);
    tc.diagnostic(`pod ${podWatts.toFixed(2)} W, Docker container ${webWatts.toFixed(2)} W, VM ${vmWatts.toFixed(2)} W`);
    assert.ok(podWatts > webWatts && podWatts > vmWatts, `pod ${podWatts} W, Docker container ${webWatts} W, VM ${vmWatts} W`);
    const topProcess = await prom.query(`topk(1, kepler_process_cpu_watts{zone="package", ${own}} or kepler_process_cpu_watts{zone="package", vm_id="${vmUuid}"})`, t);
    const machineTop = await prom.query('topk(1, kepler_process_cpu_watts{zone="package"})', t);
    tc.diagnostic(
      `top process of the test: ${topProcess[0]?.metric.comm} (${name(topProcess[0]?.metric.container_id)}) ${topProcess[0]?.value.toFixed(2)} W; ` +
        `of the machine: ${machineTop[0]?.metric.comm} (${name(machineTop[0]?.metric.container_id) || 'no container'}) ${machineTop[0]?.value.toFixed(2)} W`,
    );
    assert.equal(topProcess[0]?.metric.container_id, ids.busy);
    assert.ok(vmWatts > 0, 'the VM draws power');
  });

  describe('the Kepler 0.7 family', () => {
    it("answers the aether plugin's queries with one series per container, mode summed away", async () => {
      for (const domain of ['core', 'dram']) {
        const r = await prom.query(`sum without (mode) (sum_over_time(kepler_container_${domain}_joules_total[5m]))`, t);
        const idsSeen = r.map((s) => s.metric.container_id);
        assert.equal(new Set(idsSeen).size, idsSeen.length, `${domain}: one series per container`);
        assert.ok(
          r.every((s) => !('mode' in s.metric)),
          `${domain}: mode summed away`,
        );
        // ... from two series per container, dynamic and idle.
        const modes = await prom.query(`count by (container_id) (kepler_container_${domain}_joules_total{container_id="${ids.busy}"})`, t);
        assert.equal(modes[0]?.value, 2, `${domain}: dynamic and idle series`);
        for (const id of [ids.busy, ids.sidecar, ids.web, 'system_processes', 'kernel_processes']) assert.ok(idsSeen.includes(id), `${domain}: ${id} present`);
        const busy = r.find((s) => s.metric.container_id === ids.busy);
        assert.ok(busy, `${domain}: the busy container is there`);
        assert.ok(busy.value > 0, `${domain}: the busy container has energy`);
        assert.equal(busy.metric.source, 'rapl-sysfs');
      }
      // The energy of a window, the way the TypeScript plugin reads it, equals the current
      // family's for the same container: both families come from the same snapshots.
      const legacy = await prom.queryOne(`sum without (mode) (increase(kepler_container_package_joules_total{container_id="${ids.busy}"}[30s]))`, t);
      const current = await prom.queryOne(`increase(kepler_container_cpu_joules_total{zone="package", container_id="${ids.busy}"}[30s])`, t);
      assert.ok(current > 1 && close(legacy, current, 1e-6, 1e-6), `0.7 family ${legacy} J, current family ${current} J`);
    });

    it('agrees with the current family, series by series', async () => {
      for (const [domain, zone] of [
        ['package', 'package'],
        ['core', 'core'],
        ['dram', 'dram'],
        ['platform', 'psys'],
      ]) {
        const legacy = byLabels(await prom.query(`kepler_container_${domain}_joules_total{mode="dynamic"}`, t), (m) => m.container_id);
        const current = byLabels(await prom.query(`kepler_container_cpu_joules_total{zone="${zone}"}`, t), (m) => m.container_id);
        for (const [id, v] of current) assert.ok(close(legacy.get(id) ?? NaN, v, 1e-9, 1e-6), `${domain} ${id}: ${legacy.get(id)} vs ${v}`);
        // Real and pseudo containers together hold the node's dynamic energy: every container
        // billed since the start at its last total (one that ended has no series at t).
        const all = await prom.queryOne(`sum(max by (container_id) (last_over_time(kepler_container_${domain}_joules_total{mode="dynamic"}[${rangeVector}])))`, t);
        // The 0.7 node series are per socket (package="0", "1"), as in Kepler 0.7: their sum is the node's.
        const node = await prom.queryOne(`sum(kepler_node_${domain}_joules_total{mode="dynamic"})`, t);
        assert.ok(close(all, node, 0.01, 1e-3), `${domain}: containers ${all} J, node dynamic ${node} J`);
        const nodeActive = await prom.queryOne(`kepler_node_cpu_active_joules_total{zone="${zone}"}`, t);
        assert.ok(close(node, nodeActive, 1e-9, 1e-6), `${domain}: node dynamic = current active`);
        const idle = await prom.queryOne(`sum(kepler_node_${domain}_joules_total{mode="idle"})`, t);
        assert.ok(close(idle, await prom.queryOne(`kepler_node_cpu_idle_joules_total{zone="${zone}"}`, t), 1e-9, 1e-6), `${domain}: node idle`);
      }
      // other = platform - package - dram, here where the meter has a platform zone.
      const other = await prom.queryOne('sum(kepler_node_other_joules_total)', t);
      const parts = await prom.queryOne('sum(kepler_node_platform_joules_total) - sum(kepler_node_package_joules_total) - sum(kepler_node_dram_joules_total)', t);
      assert.ok(other > 0 && close(other, parts, 1e-6, 1e-3), `other ${other} J, platform - package - dram ${parts} J`);
      const total = await prom.queryOne(`sum without (mode) (kepler_container_joules_total{container_id="${ids.busy}"})`, t);
      const sumParts = await prom.queryOne(
        `sum(kepler_container_package_joules_total{container_id="${ids.busy}"}) + sum(kepler_container_dram_joules_total{container_id="${ids.busy}"}) + sum(kepler_container_other_joules_total{container_id="${ids.busy}"})`,
        t,
      );
      assert.ok(total > 0 && close(total, sumParts, 1e-9, 1e-6), 'container total = package + dram + other + gpu');
      const info = await prom.query('kepler_node_info', t);
      assert.deepEqual(
        { components: info[0]?.metric.components_power_source, platform: info[0]?.metric.platform_power_source },
        { components: 'rapl-sysfs', platform: 'rapl-sysfs' },
      );
    });
  });

  it('returns data for every query of every dashboard panel, with the variables filled in', async () => {
    // Queries of the idle shares need monitor.idle.attribution: test/e2e/idle.test.ts runs them.
    const queries = await assertPanelsReturnData(prom, t, runSec, (q) => !needsIdleAttribution(q));
    assert.ok(queries >= 40, `${queries} panel queries run`);
  });
});
