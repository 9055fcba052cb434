// Kepler 0.7's metric family (metrics.md, "Legacy family"; opt-in with
// exporter.prometheus.legacyMetrics): a real PowerMonitor fed by fake zones and scripted resource
// samples, the legacy collector registered beside the current family's collectors, and the
// exposition parsed back and checked the way a user of 0.7 dashboards would check it. Then the
// wiring through Application, the pure domain arithmetic, and splitOutsideContainers.

import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Application } from '../../src/app/application.js';
import { loadConfig } from '../../src/config/load.js';
import { buildCollectors } from '../../src/exporter/prometheus/collectors.js';
import { LegacyCollector, legacySource, type LegacyLevel } from '../../src/exporter/prometheus/legacyCollector.js';
import { splitOutsideContainers } from '../../src/exporter/prometheus/legacyOutsideContainers.js';
import {
  domainEnergies,
  domainZones,
  exportedDomains,
  LEGACY_DOMAINS,
  legacyTotal,
  measuredDomains,
  NonDecreasing,
  socketDomainEnergies,
  unmappedZones,
} from '../../src/exporter/prometheus/legacyDomains.js';
import { PrometheusExporter } from '../../src/exporter/prometheus/prometheusExporter.js';
import { PowerMonitor, type IdleOptions } from '../../src/monitor/powerMonitor.js';
import type { EnergyZone } from '../../src/device/energyZone.js';
import { RaplMeter } from '../../src/device/raplMeter.js';
import type { Logger } from '../../src/logger/logger.js';
import type { Snapshot } from '../../src/monitor/snapshot.js';
import type { ContainerInfo, PodInfo, ProcessInfo, ResourceSample, VmInfo, WorkloadCpu } from '../../src/resource/workloads.js';
import { parseExposition, select, seriesKey, sum, type Exposition, type Sample } from '../support/exposition.js';
import { FakeZone, gpuDevices, sample, ScriptedGpuMeter, silent } from '../support/fakes.js';
import { captureLogger } from '../support/captureLogger.js';
import { PowercapTree, type PowercapZone } from '../support/powercapTree.js';
import { prng } from '../support/prng.js';

// ---------- builders ----------

const NODE = 'legacy-node';
const LEVELS = ['node', 'process', 'container', 'vm'] as const;
type Level = (typeof LEVELS)[number];
/** Zone each zone-backed domain reads in these tests (RAPL names: the platform domain is psys). */
const ZONE_OF: Record<string, string> = { package: 'package', core: 'core', uncore: 'uncore', dram: 'dram', platform: 'psys' };
const RAPL_PSYS = ['package', 'core', 'uncore', 'dram', 'psys'];

/** The label names of each level's domain series (metrics.md), `mode`, `node_name` and `source` included. */
const LABELS: Record<Level, string[]> = {
  node: ['package', 'instance', 'mode', 'node_name', 'source'],
  container: ['container_id', 'pod_name', 'container_name', 'container_namespace', 'mode', 'node_name', 'source'],
  process: ['pid', 'container_id', 'vm_id', 'command', 'mode', 'node_name', 'source'],
  vm: ['vm_id', 'mode', 'node_name', 'source'],
};

/** Every name the legacy family may use, at any level (pod included, to prove it is absent). */
const LEGACY_NAME = new RegExp(
  `^kepler_(node|process|container|vm|pod)_(${LEGACY_DOMAINS.join('|')})_joules_total$|^kepler_(node|process|container|vm|pod)_joules_total$|^kepler_node_info$`,
);
const domainFamily = (level: string, domain: string) => `kepler_${level}_${domain}_joules_total`;
/** The domains exported without a GPU meter (every one but gpu). */
const CPU_DOMAINS = LEGACY_DOMAINS.filter((d) => d !== 'gpu');

function cpu<I>(info: I, cpuDeltaSec: number, ended = false): WorkloadCpu<I> {
  return { info, cpuDeltaSec, cpuTotalSec: cpuDeltaSec, ended };
}
function proc(pid: number, comm: string, extra: Partial<ProcessInfo> = {}, start = pid * 7): ProcessInfo {
  return { key: `${pid}@${start}`, pid, comm, exe: `/usr/bin/${comm}`, type: 'regular', containerId: '', vmId: '', kernelThread: false, ...extra };
}
function container(id: string, name: string, podId: string): ContainerInfo {
  return { key: id, id, name, runtime: 'containerd', podId, cpuRequestCores: 0 };
}
function pod(id: string, name: string, namespace: string): PodInfo {
  return { key: id, id, name, namespace, cpuRequestCores: 0 };
}

/** Exact µJ of a printed joules value (exact below 2^33 J, far above anything here). */
const uj = (v: number) => Math.round(v * 1e6);
const ujSum = (samples: Sample[]) => samples.reduce((a, s) => a + uj(s.value), 0);

function one(e: Exposition, name: string, match: Record<string, string> = {}): Sample {
  const found = select(e, name, match);
  assert.equal(found.length, 1, `${name}${JSON.stringify(match)}: ${found.length} samples`);
  return found[0];
}
const legacySamples = (e: Exposition) => e.samples.filter((s) => LEGACY_NAME.test(s.name));

interface RigOptions {
  zones?: (string | [string, number])[];
  levels?: readonly LegacyLevel[];
  /** The meter's name (the `source` label is derived from it). */
  meter?: string;
  maxTerminated?: number;
  minTerminatedEnergyThresholdJ?: number;
  /** The meter's zones, read as they are (a RaplMeter's, say), instead of fake zones named by `zones`. */
  meterZones?: EnergyZone[];
  /** A GPU meter: the monitor reads it, and the collectors export its GPUs. */
  gpu?: ScriptedGpuMeter;
  logger?: Logger;
  /**
   * monitor.idle; Kepler's usage-ratio split by default: the worked numbers of these tests are
   * Kepler 0.7's, and with it every zone has the same active fraction (see the `other` domain).
   */
  idle?: IdleOptions;
}

/**
 * A PowerMonitor on fake zones and scripted samples, its snapshots rendered by the current
 * family's collectors and the legacy one, as Application wires them. Starts with a baseline.
 */
function rig(opts: RigOptions = {}) {
  const fakes = (opts.zones ?? RAPL_PSYS).map((z) => (typeof z === 'string' ? new FakeZone(z) : new FakeZone(z[0], z[1])));
  const zones: EnergyZone[] = opts.meterZones ?? fakes;
  const clock = { now: 10_000 };
  let next = sample({ baseline: true });
  const monitor = new PowerMonitor({
    zones,
    resources: { refresh: () => next },
    intervalMs: 0,
    stalenessMs: 500,
    maxTerminated: opts.maxTerminated ?? -1,
    minTerminatedEnergyThresholdJ: opts.minTerminatedEnergyThresholdJ ?? 0,
    idle: opts.idle ?? { model: 'usage-ratio', attribution: 'none' },
    ...(opts.gpu ? { gpu: { meter: opts.gpu, idleWatts: 2 } } : {}),
    logger: silent,
    clock: () => clock.now,
    wallClock: () => 1_700_000_000_000 + clock.now,
  });
  const exporter = new PrometheusExporter(monitor, silent);
  const collectors = buildCollectors({
    nodeName: NODE,
    prometheus: { metricsLevel: [...(opts.levels ?? LEVELS)], legacyMetrics: true, debugCollectors: [] },
    meter: { name: opts.meter ?? 'rapl', zones },
    cpus: [],
    cpuArchitecture: 'skylake',
    build: { version: 'test', revision: 'test', branch: 'test' },
    scrapeStats: () => exporter.scrapeStats(),
    snapshots: monitor,
    logger: opts.logger ?? silent,
    ...(opts.gpu ? { gpus: opts.gpu.devices } : {}),
  });
  exporter.register(...collectors);
  const legacy = collectors.find((c): c is LegacyCollector => c instanceof LegacyCollector);
  assert.ok(legacy, 'the 0.7 collector is built');
  monitor.refresh();
  return {
    monitor,
    /** One interval of 1 s: each fake zone gains deltas[name] µJ and the resources report `s`. */
    step(deltas: Record<string, number>, s: ResourceSample): Snapshot {
      for (const z of fakes) z.counter += deltas[z.name] ?? 0;
      clock.now += 1000;
      next = s;
      return monitor.refresh();
    },
    /** Kepler 0.7's pseudo containers' totals, as the next render shows them. */
    outside: () => legacy.outsideContainers(zones.length),
    /** A scrape of the latest snapshot (no refresh: the fake clock has not moved). */
    scrape(): Exposition {
      return parseExposition(exporter.render(false).body);
    },
  };
}

// ---------- a fixed scenario: every kind of workload, and pid 50 reused in the last interval ----------

const CID_WEB = 'a1'.repeat(32);
const CID_DB = 'b2'.repeat(32);
const POD_WEB = pod('pod-uid-web', 'web-0', 'shop');
const C_WEB = container(CID_WEB, 'web', POD_WEB.id);
const C_DB = container(CID_DB, 'db', 'pod-uid-not-in-any-snapshot');
const VM1: VmInfo = { key: 'vm-uuid-1', id: 'vm-uuid-1', name: 'guest1', hypervisor: 'kvm' };
const P = {
  nginx: proc(10, 'nginx', { containerId: CID_WEB, type: 'container' }),
  postgres: proc(11, 'postgres', { containerId: CID_DB, type: 'container' }),
  sshd: proc(20, 'sshd'),
  kworker: proc(30, 'kworker/0:1', { kernelThread: true, exe: '' }),
  qemu: proc(40, 'qemu-system-x86', { vmId: VM1.id, type: 'vm' }),
  oldJob: proc(50, 'job', {}, 1000),
  newJob: proc(50, 'job', {}, 2000),
};

function scenario(opts: RigOptions = {}) {
  const r = rig(opts);
  r.step(
    { package: 40e6, core: 25e6, uncore: 5e6, dram: 8e6, psys: 100e6, platform: 100e6 },
    sample({
      nodeActiveCpuSec: 10,
      nodeTotalCpuSec: 20,
      usageRatio: 0.5,
      processes: [cpu(P.nginx, 2), cpu(P.postgres, 1), cpu(P.sshd, 1), cpu(P.kworker, 0.5), cpu(P.qemu, 1.5), cpu(P.oldJob, 1)],
      containers: [cpu(C_WEB, 2.5), cpu(C_DB, 1)],
      pods: [cpu(POD_WEB, 2.5)],
      vms: [cpu(VM1, 1.5)],
    }),
  );
  const snap = r.step(
    { package: 60e6, core: 30e6, uncore: 6e6, dram: 9e6, psys: 140e6, platform: 140e6 },
    sample({
      nodeActiveCpuSec: 10,
      nodeTotalCpuSec: 16,
      usageRatio: 0.625,
      processes: [cpu(P.nginx, 3), cpu(P.postgres, 1), cpu(P.sshd, 0.5), cpu(P.kworker, 1), cpu(P.qemu, 1), cpu(P.oldJob, 0.5, true), cpu(P.newJob, 2)],
      containers: [cpu(C_WEB, 3.5), cpu(C_DB, 1)],
      pods: [cpu(POD_WEB, 3.5)],
      vms: [cpu(VM1, 1)],
    }),
  );
  return { ...r, snap, e: r.scrape() };
}

// ---------- 1. families ----------

describe('1. legacy families', () => {
  test('every level x domain is a counter with help "Aggregated value in <domain> value from <source>", mode and source on every sample', () => {
    const { e } = scenario();
    for (const level of LEVELS) {
      for (const domain of CPU_DOMAINS) {
        const name = domainFamily(level, domain);
        assert.equal(e.types.get(name), 'counter', `${name} TYPE`);
        assert.equal(e.help.get(name), `Aggregated value in ${domain} value from rapl-sysfs`, `${name} HELP`);
        const samples = select(e, name);
        assert.ok(samples.length > 0, `${name} has samples`);
        for (const s of samples) {
          assert.deepEqual(Object.keys(s.labels).sort(), [...LABELS[level]].sort(), `labels of ${seriesKey(s)}`);
          assert.ok(s.labels.mode === 'dynamic' || s.labels.mode === 'idle', `mode of ${seriesKey(s)}`);
          assert.equal(s.labels.source, 'rapl-sysfs');
        }
        // Each series has both modes.
        const modes = (m: string) =>
          select(e, name, { mode: m })
            .map((s) => seriesKey(s, ['mode']))
            .sort();
        assert.deepEqual(modes('dynamic'), modes('idle'), `${name}: a dynamic and an idle series per label set`);
      }
    }
  });

  test('without a GPU meter no gpu name is exported, at any level', () => {
    const { e } = scenario();
    for (const level of ['node', 'process', 'container', 'vm', 'pod']) assert.ok(!e.types.has(domainFamily(level, 'gpu')), domainFamily(level, 'gpu'));
    assert.deepEqual(
      e.samples.filter((s) => s.name.includes('gpu')).map((s) => s.name),
      [],
    );
  });

  test('kepler_container_joules_total and kepler_process_joules_total are package + dram + other (+ gpu, absent here) per series and mode', () => {
    const { e } = scenario();
    for (const level of ['container', 'process'] as const) {
      const name = `kepler_${level}_joules_total`;
      assert.equal(e.types.get(name), 'counter');
      const totals = select(e, name);
      assert.ok(totals.length > 0);
      assert.equal(totals.length, select(e, domainFamily(level, 'package')).length, `${name}: one per package series`);
      for (const t of totals) {
        const parts = ['package', 'dram', 'other'].map((d) => uj(one(e, domainFamily(level, d), t.labels).value));
        assert.equal(
          uj(t.value),
          parts.reduce((a, b) => a + b, 0),
          seriesKey(t),
        );
      }
    }
    // Only those two levels have a total.
    assert.equal(select(e, 'kepler_node_joules_total').length + select(e, 'kepler_vm_joules_total').length, 0);
  });

  test('kepler_node_info{cpu_architecture, components_power_source, platform_power_source} = 1', () => {
    const { e } = scenario();
    const info = one(e, 'kepler_node_info');
    assert.equal(info.value, 1);
    assert.deepEqual(info.labels, { node_name: NODE, cpu_architecture: 'skylake', components_power_source: 'rapl-sysfs', platform_power_source: 'rapl-sysfs' });
  });

  test('no pod family, and levels not configured are absent', () => {
    const all = scenario().e;
    assert.deepEqual(
      legacySamples(all).filter((s) => s.name.startsWith('kepler_pod_')),
      [],
    );
    for (const name of all.types.keys()) assert.ok(!/^kepler_pod_(?!cpu_)/.test(name), `no legacy pod family (${name})`);

    const { e } = scenario({ levels: ['node', 'container'] });
    const names = new Set(legacySamples(e).map((s) => s.name));
    for (const domain of CPU_DOMAINS) {
      assert.ok(names.has(domainFamily('node', domain)));
      assert.ok(names.has(domainFamily('container', domain)));
      assert.ok(!e.types.has(domainFamily('process', domain)));
      assert.ok(!e.types.has(domainFamily('vm', domain)));
    }
    assert.ok(!e.types.has('kepler_process_joules_total'));

    const noNode = scenario({ levels: ['vm'] }).e;
    assert.ok(!noNode.types.has('kepler_node_info'), 'kepler_node_info goes with the node level');
    assert.ok(!noNode.types.has(domainFamily('node', 'package')));
    assert.ok(noNode.types.has(domainFamily('vm', 'package')));
  });

  test('source: rapl-sysfs for the rapl meter, the meter name for the others', () => {
    assert.equal(legacySource('rapl'), 'rapl-sysfs');
    assert.equal(legacySource('estimator'), 'estimator');
    assert.equal(legacySource('fake'), 'fake');
    assert.equal(legacySource('hwmon'), 'hwmon');
    const { e } = scenario({ zones: ['package', 'dram', 'platform'], meter: 'estimator' });
    assert.equal(e.help.get('kepler_container_dram_joules_total'), 'Aggregated value in dram value from estimator');
    for (const s of legacySamples(e)) if (s.name !== 'kepler_node_info') assert.equal(s.labels.source, 'estimator', seriesKey(s));
    assert.deepEqual(one(e, 'kepler_node_info').labels, { node_name: NODE, cpu_architecture: 'skylake', components_power_source: 'estimator', platform_power_source: 'estimator' });
  });
});

describe('1. wiring in Application (fake meter configuration)', () => {
  const FAKE_YAML = join(process.cwd(), 'examples', 'fake-meter.yaml');
  const XEON_PROCFS = join(process.cwd(), 'test', 'fixtures', 'host', 'intel-xeon-2s', 'proc');

  async function scrapeApp(flags: string[]): Promise<Exposition> {
    const r = loadConfig([`--config.file=${FAKE_YAML}`, `--kube.node-name=${NODE}`, '--web.listen-address=127.0.0.1:0', ...flags], {});
    if (r.kind !== 'run') throw new Error(`loadConfig: ${r.kind}`);
    const app = new Application(r.config, silent);
    app.monitor.refresh();
    await new Promise((res) => setTimeout(res, 30));
    app.monitor.refresh();
    app.monitor.stop();
    return parseExposition(app.prometheus.render(false).body);
  }

  test('off by default: none of the legacy names appear', async () => {
    const e = await scrapeApp([]);
    assert.ok(select(e, 'kepler_node_cpu_joules_total').length > 0, 'the current family is there');
    assert.deepEqual(
      legacySamples(e).map((s) => s.name),
      [],
    );
    for (const name of e.types.keys()) assert.ok(!LEGACY_NAME.test(name), `${name} is a legacy family`);
  });

  test('--exporter.prometheus.legacy-metrics adds every level with source="fake", node info from the host', async () => {
    const e = await scrapeApp(['--exporter.prometheus.legacy-metrics', `--host.procfs=${XEON_PROCFS}`]);
    for (const level of LEVELS) for (const domain of CPU_DOMAINS) assert.equal(e.types.get(domainFamily(level, domain)), 'counter', domainFamily(level, domain));
    for (const level of LEVELS) assert.ok(!e.types.has(domainFamily(level, 'gpu')), `${domainFamily(level, 'gpu')}: no GPU meter`);
    assert.equal(e.help.get('kepler_node_package_joules_total'), 'Aggregated value in package value from fake');
    for (const s of legacySamples(e)) if (s.name !== 'kepler_node_info') assert.equal(s.labels.source, 'fake', seriesKey(s));
    // examples/fake-meter.yaml: package, core, dram; no platform zone. Xeon Gold 6140: Skylake.
    assert.deepEqual(one(e, 'kepler_node_info').labels, { node_name: NODE, cpu_architecture: 'skylake', components_power_source: 'fake', platform_power_source: 'none' });
    const node = one(e, 'kepler_node_package_joules_total', { mode: 'dynamic' });
    assert.equal(node.labels.instance, NODE);
    assert.equal(node.labels.package, '0');
    assert.equal(node.value, one(e, 'kepler_node_cpu_active_joules_total', { zone: 'package' }).value);
    assert.ok(select(e, 'kepler_container_package_joules_total', { container_id: 'system_processes' }).length === 2);
    assert.equal(select(e, 'kepler_pod_package_joules_total').length, 0);
  });

  test('--metrics limits the legacy levels too; pod alone gives none', async () => {
    const e = await scrapeApp(['--exporter.prometheus.legacy-metrics', '--metrics=node', '--metrics=container']);
    assert.ok(e.types.has('kepler_node_dram_joules_total'));
    assert.ok(e.types.has('kepler_container_dram_joules_total'));
    assert.ok(!e.types.has('kepler_process_dram_joules_total'));
    assert.ok(!e.types.has('kepler_vm_dram_joules_total'));
    const podOnly = await scrapeApp(['--exporter.prometheus.legacy-metrics', '--metrics=pod']);
    assert.deepEqual(
      legacySamples(podOnly).map((s) => s.name),
      [],
    );
  });
});

// ---------- 2. labels ----------

describe('2. legacy labels', () => {
  test('container: id, name, and the pod name and namespace from the same snapshot (else empty)', () => {
    const { e } = scenario();
    const web = one(e, 'kepler_container_package_joules_total', { container_id: CID_WEB, mode: 'dynamic' });
    assert.deepEqual(web.labels, {
      container_id: CID_WEB,
      pod_name: 'web-0',
      container_name: 'web',
      container_namespace: 'shop',
      mode: 'dynamic',
      node_name: NODE,
      source: 'rapl-sysfs',
    });
    const db = one(e, 'kepler_container_package_joules_total', { container_id: CID_DB, mode: 'idle' });
    assert.deepEqual(db.labels, { container_id: CID_DB, pod_name: '', container_name: 'db', container_namespace: '', mode: 'idle', node_name: NODE, source: 'rapl-sysfs' });
  });

  test('container: the pseudo containers system_processes (namespace system) and kernel_processes (namespace kernel)', () => {
    const { e } = scenario();
    for (const [id, ns] of [
      ['system_processes', 'system'],
      ['kernel_processes', 'kernel'],
    ]) {
      for (const mode of ['dynamic', 'idle']) {
        const s = one(e, 'kepler_container_package_joules_total', { container_id: id, mode });
        assert.deepEqual(s.labels, { container_id: id, pod_name: id, container_name: id, container_namespace: ns, mode, node_name: NODE, source: 'rapl-sysfs' });
      }
    }
    assert.ok(uj(one(e, 'kepler_container_package_joules_total', { container_id: 'kernel_processes', mode: 'dynamic' }).value) > 0);
    assert.ok(uj(one(e, 'kepler_container_package_joules_total', { container_id: 'system_processes', mode: 'dynamic' }).value) > 0);
  });

  test('process: pid, container_id (system_processes / kernel_processes outside containers), vm_id, command = comm', () => {
    const { e } = scenario();
    const labels = (pid: number) => one(e, 'kepler_process_package_joules_total', { pid: String(pid), mode: 'dynamic' }).labels;
    const base = { mode: 'dynamic', node_name: NODE, source: 'rapl-sysfs' };
    assert.deepEqual(labels(10), { pid: '10', container_id: CID_WEB, vm_id: '', command: 'nginx', ...base });
    assert.deepEqual(labels(20), { pid: '20', container_id: 'system_processes', vm_id: '', command: 'sshd', ...base });
    assert.deepEqual(labels(30), { pid: '30', container_id: 'kernel_processes', vm_id: '', command: 'kworker/0:1', ...base });
    assert.deepEqual(labels(40), { pid: '40', container_id: 'system_processes', vm_id: VM1.id, command: 'qemu-system-x86', ...base });
  });

  test('vm: vm_id, mode, source', () => {
    const { e } = scenario();
    assert.deepEqual(one(e, 'kepler_vm_core_joules_total', { mode: 'dynamic' }).labels, { vm_id: VM1.id, mode: 'dynamic', node_name: NODE, source: 'rapl-sysfs' });
  });

  test('node: package is the package zone index, instance the node name', () => {
    const { e } = scenario();
    assert.deepEqual(one(e, 'kepler_node_dram_joules_total', { mode: 'idle' }).labels, { package: '0', instance: NODE, mode: 'idle', node_name: NODE, source: 'rapl-sysfs' });
    const socket1 = scenario({
      zones: [
        ['dram', 1],
        ['package', 1],
      ],
    }).e;
    assert.equal(one(socket1, 'kepler_node_core_joules_total', { mode: 'dynamic' }).labels.package, '1');
  });
});

// ---------- 3. values ----------

describe('3. legacy values agree with the current family of the same snapshot', () => {
  test('node: dynamic = kepler_node_cpu_active_joules_total, idle = kepler_node_cpu_idle_joules_total, per zone-backed domain', () => {
    const { e } = scenario();
    for (const [domain, zone] of Object.entries(ZONE_OF)) {
      assert.equal(one(e, domainFamily('node', domain), { mode: 'dynamic' }).value, one(e, 'kepler_node_cpu_active_joules_total', { zone }).value, `${domain} dynamic`);
      assert.equal(one(e, domainFamily('node', domain), { mode: 'idle' }).value, one(e, 'kepler_node_cpu_idle_joules_total', { zone }).value, `${domain} idle`);
    }
    assert.ok(one(e, 'kepler_node_package_joules_total', { mode: 'idle' }).value > 0, 'the node has idle energy');
  });

  test('workloads: dynamic = their kepler_<level>_cpu_joules_total per zone; idle series read 0', () => {
    const { e } = scenario();
    const current: [Level, string, string, string[]][] = [
      ['container', 'kepler_container_cpu_joules_total', 'container_id', [CID_WEB, CID_DB]],
      ['process', 'kepler_process_cpu_joules_total', 'pid', ['10', '11', '20', '30', '40']],
      ['vm', 'kepler_vm_cpu_joules_total', 'vm_id', [VM1.id]],
    ];
    for (const [level, fam, key, ids] of current) {
      for (const id of ids) {
        for (const [domain, zone] of Object.entries(ZONE_OF)) {
          const want = one(e, fam, { [key]: id, zone, state: 'running' }).value;
          assert.equal(one(e, domainFamily(level, domain), { [key]: id, mode: 'dynamic' }).value, want, `${level} ${id} ${domain}`);
        }
      }
      for (const domain of CPU_DOMAINS) for (const s of select(e, domainFamily(level, domain), { mode: 'idle' })) assert.equal(s.value, 0, seriesKey(s));
    }
    assert.ok(uj(one(e, 'kepler_container_package_joules_total', { container_id: CID_WEB, mode: 'dynamic' }).value) > 0);
  });

  test('other = platform - package - dram with a psys zone', () => {
    const { e } = scenario();
    for (const level of LEVELS) {
      for (const s of select(e, domainFamily(level, 'other'))) {
        const m = s.labels;
        const v = (d: string) => uj(one(e, domainFamily(level, d), m).value);
        assert.equal(uj(s.value), v('platform') - v('package') - v('dram'), seriesKey(s));
      }
    }
    assert.ok(uj(one(e, 'kepler_node_other_joules_total', { mode: 'dynamic' }).value) > 0);
  });

  test("other = platform - package - dram with the estimator's platform zone", () => {
    const { e } = scenario({ zones: ['package', 'dram', 'platform'], meter: 'estimator' });
    const node = (d: string) => uj(one(e, domainFamily('node', d), { mode: 'dynamic' }).value);
    assert.equal(node('platform'), uj(one(e, 'kepler_node_cpu_active_joules_total', { zone: 'platform' }).value));
    assert.equal(node('other'), node('platform') - node('package') - node('dram'));
    assert.ok(node('other') > 0);
  });

  test('without psys/platform, core, uncore: other, core, uncore and platform read 0 everywhere', () => {
    const { e } = scenario({ zones: ['package', 'dram'] });
    for (const level of LEVELS) {
      for (const domain of ['other', 'core', 'uncore', 'platform']) {
        const samples = select(e, domainFamily(level, domain));
        assert.ok(samples.length > 0);
        for (const s of samples) assert.equal(s.value, 0, seriesKey(s));
      }
      assert.ok(uj(sum(select(e, domainFamily(level, 'package'), { mode: 'dynamic' }))) > 0, `${level} package is measured`);
    }
    assert.equal(one(e, 'kepler_node_info').labels.platform_power_source, 'none');
  });
});

// ---------- 4. pseudo containers: the container level adds up to the node ----------

/** Checks of one scrape against the previous one; `prev` maps seriesKey to µJ. */
function checkContainerLevel(e: Exposition, prev: Map<string, number>, msg: string): void {
  // Real + pseudo containers = node dynamic, per domain, to the µJ. `other` is a difference
  // clipped at 0 and held non-decreasing per series, so where the attribution's rounding leaves
  // a few µJ the series can sum above the node's by those µJ (at most a few per interval).
  for (const domain of LEGACY_DOMAINS.filter((d) => e.types.has(domainFamily('node', d)))) {
    const containers = ujSum(select(e, domainFamily('container', domain), { mode: 'dynamic' }));
    const node = uj(one(e, domainFamily('node', domain), { mode: 'dynamic' }).value);
    if (domain === 'other') assert.ok(containers >= node && containers - node <= 1000, `${msg}: sum of legacy containers ${containers} µJ ~ node dynamic ${node} µJ for other`);
    else assert.equal(containers, node, `${msg}: sum of legacy containers = node dynamic for ${domain}`);
  }
  // kernel_processes grows by the kernel threads' process-level energy, capped by what the
  // container level leaves unattributed (per zone: each zone-backed domain reads one zone).
  const delta = (s: Sample) => uj(s.value) - (prev.get(seriesKey(s)) ?? 0);
  for (const [domain, zone] of Object.entries(ZONE_OF)) {
    if (select(e, 'kepler_node_cpu_active_joules_total', { zone }).length === 0) continue; // no such zone on this meter
    const kernel = delta(one(e, domainFamily('container', domain), { container_id: 'kernel_processes', mode: 'dynamic' }));
    const unattributed = delta(one(e, 'kepler_node_cpu_unattributed_joules_total', { level: 'container', zone }));
    const threads = select(e, domainFamily('process', domain), { container_id: 'kernel_processes', mode: 'dynamic' }).reduce((a, s) => a + delta(s), 0);
    assert.equal(kernel, Math.min(unattributed, threads), `${msg}: kernel_processes ${domain} grew by min(unattributed ${unattributed}, kernel threads ${threads})`);
  }
  // Counters never go down.
  for (const s of legacySamples(e)) {
    const before = prev.get(seriesKey(s));
    if (before !== undefined) assert.ok(uj(s.value) >= before, `${msg}: ${seriesKey(s)} went down from ${before} to ${uj(s.value)} µJ`);
  }
}

function remember(e: Exposition): Map<string, number> {
  return new Map(e.samples.map((s) => [seriesKey(s), uj(s.value)]));
}

interface LiveContainer {
  info: ContainerInfo;
  pod: PodInfo;
  procs: ProcessInfo[];
}

/**
 * A seeded run: containers, processes and kernel threads come and go; some intervals have
 * accounting skew. With `ack`, each scrape is acknowledged as an HTTP scrape would be, so that
 * ended workloads leave the exposition at the next refresh.
 */
function churn(
  seed: number,
  steps: number,
  each: (e: Exposition, s: Snapshot, step: number, outside: ReturnType<LegacyCollector['outsideContainers']>) => void,
  opts: { rig?: RigOptions; ack?: boolean } = {},
): void {
  const rnd = prng(seed);
  const r2 = (x: number) => Math.round(x * 100) / 100;
  const r = rig(opts.rig);
  let pid = 100;
  let containers: LiveContainer[] = [];
  let system: ProcessInfo[] = [proc(pid++, 'systemd'), proc(pid++, 'sshd')];
  // Two long-lived kernel threads; short-lived ones come and go.
  let kernel: ProcessInfo[] = [proc(pid++, 'ksoftirqd/0', { kernelThread: true }), proc(pid++, 'rcu_sched', { kernelThread: true })];
  for (let step = 1; step <= steps; step++) {
    if (containers.length < 4 && rnd() < 0.5) {
      const n = containers.length + step * 10;
      const id = (seed * 1000 + n).toString(16).padStart(64, '0');
      const p = pod(`pod-${seed}-${n}`, `app-${n}`, `ns-${n % 3}`);
      const procs = Array.from({ length: 1 + Math.floor(rnd() * 2) }, (_, i) => proc(pid++, `worker-${i}`, { containerId: id, type: 'container' }));
      // A CPU request for two containers in three (from n: the random sequence stays as it was).
      containers.push({ info: { ...container(id, `c-${n}`, p.id), cpuRequestCores: (n % 3) * 0.5 }, pod: p, procs });
    }
    if (system.length < 4 && rnd() < 0.4) system.push(proc(pid++, `cron-${step}`));
    if (rnd() < 0.4) kernel.push(proc(pid++, `kworker/${step}:1`, { kernelThread: true }));

    const processes: WorkloadCpu<ProcessInfo>[] = [];
    const conts: WorkloadCpu<ContainerInfo>[] = [];
    const pods: WorkloadCpu<PodInfo>[] = [];
    let inContainers = 0;
    let outside = 0;
    let kernelCpu = 0;
    containers = containers.filter((c) => {
      const ending = rnd() < 0.2;
      let used = 0;
      for (const p of c.procs) {
        const d = r2(rnd());
        used += d;
        processes.push(cpu(p, d, ending));
      }
      const cgroup = r2(used + rnd() * 0.5); // short-lived processes only the cgroup saw
      conts.push(cpu(c.info, cgroup, ending));
      pods.push(cpu(c.pod, cgroup, ending));
      inContainers += cgroup;
      return !ending;
    });
    system = system.filter((p, i) => {
      const ending = i > 0 && rnd() < 0.15;
      const d = r2(rnd() * 0.8);
      outside += d;
      processes.push(cpu(p, d, ending));
      return !ending;
    });
    kernel = kernel.filter((p, i) => {
      const ending = i >= 2 && rnd() < 0.4;
      const d = r2(rnd() * 0.6);
      kernelCpu += d;
      processes.push(cpu(p, d, ending));
      return !ending;
    });
    // Skew: the node's CPU time below the workloads' (then kernel threads may exceed what the
    // containers leave unattributed, and kernel_processes is capped).
    const skew = rnd() < 0.3;
    const nodeActive = skew ? r2(Math.max(inContainers + 0.5, (inContainers + outside + kernelCpu) * 0.7)) : r2(inContainers + outside + kernelCpu + 0.2 + rnd());
    const pkg = Math.round(20e6 + rnd() * 40e6);
    const dram = Math.round(4e6 + rnd() * 6e6);
    const snap = r.step(
      { package: pkg, core: Math.round(pkg * 0.6), uncore: Math.round(pkg * 0.1), dram, psys: Math.round((pkg + dram) * (1.3 + rnd())) },
      sample({ nodeActiveCpuSec: nodeActive, nodeTotalCpuSec: nodeActive * 2, usageRatio: r2(0.3 + rnd() * 0.6), processes, containers: conts, pods }),
    );
    each(r.scrape(), snap, step, r.outside());
    if (opts.ack) r.monitor.acknowledgeExport(snap);
  }
}

describe('4. pseudo containers system_processes and kernel_processes', () => {
  for (const seed of [1, 2, 3, 4]) {
    test(`seed ${seed}: at every refresh, all legacy containers add up to the node per domain, kernel_processes grows by the kernel threads' energy (capped), nothing goes down`, () => {
      let prev = new Map<string, number>();
      let capped = 0;
      let kernelGrew = 0;
      let ended = 0;
      churn(seed, 30, (e, s, step) => {
        checkContainerLevel(e, prev, `seed ${seed} step ${step}`);
        const grew = (id: string) => {
          const x = one(e, 'kepler_container_package_joules_total', { container_id: id, mode: 'dynamic' });
          return uj(x.value) > (prev.get(seriesKey(x)) ?? 0);
        };
        if (grew('kernel_processes')) kernelGrew++;
        if (s.containers.unattributedDeltaUj[0] > 0 && !grew('system_processes')) capped++;
        ended += s.containers.workloads.filter((w) => w.state === 'terminated').length > 0 ? 1 : 0;
        prev = remember(e);
      });
      assert.ok(kernelGrew > 10, `kernel threads billed in most intervals (${kernelGrew})`);
      assert.ok(capped > 0, 'the run has intervals where kernel threads take all the unattributed energy');
      assert.ok(ended > 0, 'containers ended during the run');
    });
  }

  test("a fully loaded node (the containers' CPU time above the node's): the containers still add up to the node, `other` included", () => {
    // Accounting skew (attribution.md section 3): nearly all active energy goes to the containers,
    // and what is left unattributed is rounding, a few µJ per zone and interval.
    const r = rig({ zones: ['package', 'dram', 'psys'] });
    const cs = [2.37, 3.11, 2.93].map((c, i) => ({ info: container(String(i + 1).repeat(64), `busy-${i}`, ''), c }));
    const kt = proc(9, 'ksoftirqd/1', { kernelThread: true });
    let prev = new Map<string, number>();
    for (let step = 1; step <= 20; step++) {
      r.step(
        { package: 33_333_333 + step * 13, dram: 7_777_777 + step * 7, psys: 55_555_557 + step * 11 },
        sample({
          nodeActiveCpuSec: 8,
          nodeTotalCpuSec: 10,
          usageRatio: 0.8,
          processes: [cpu(kt, 0.3)],
          containers: cs.map(({ info, c }) => cpu(info, c)),
        }),
      );
      const e = r.scrape();
      checkContainerLevel(e, prev, `step ${step}`);
      prev = remember(e);
    }
  });

  test('pseudo containers: kernelUj + systemUj = containers.unattributedUj exactly, and what a render read keeps its totals', () => {
    const seen: { s: Snapshot; totals: ReturnType<LegacyCollector['outsideContainers']>; kernel: bigint[]; system: bigint[] }[] = [];
    churn(7, 20, (_e, s, _step, outside) => {
      s.zones.forEach((_z, i) => assert.equal(outside.kernelUj[i] + outside.systemUj[i], s.containers.unattributedUj[i], `refresh ${s.seq} zone ${i}`));
      for (const z of outside.kernelUj) assert.ok(z >= 0n);
      seen.push({ s, totals: outside, kernel: [...outside.kernelUj], system: [...outside.systemUj] });
    });
    for (const { s, totals, kernel, system } of seen) {
      assert.deepEqual([...totals.kernelUj], kernel, `snapshot ${s.seq} kernel unchanged`);
      assert.deepEqual([...totals.systemUj], system, `snapshot ${s.seq} system unchanged`);
    }
  });

  test("kernel_processes: exactly the kernel threads' share when it fits, all of the unattributed energy when it does not", () => {
    const r = rig({ zones: ['package'] });
    const kt = proc(2, 'kthreadd', { kernelThread: true });
    const c = container('c'.repeat(64), 'app', '');
    const inside = proc(3, 'app', { containerId: c.id, type: 'container' });
    // 8 CPU-s active of 80 J active: the container 4 s, the kernel thread 1 s, 3 s unexplained.
    r.step({ package: 160e6 }, sample({ nodeActiveCpuSec: 8, nodeTotalCpuSec: 16, usageRatio: 0.5, processes: [cpu(kt, 1), cpu(inside, 4)], containers: [cpu(c, 4)] }));
    assert.deepEqual(r.outside().kernelUj, [10_000_000n]);
    assert.deepEqual(r.outside().systemUj, [30_000_000n]);
    // Skew: the container 7 s of a node's 8 s, the kernel thread 3 s: 10 J unattributed, 30 J billed to the thread.
    r.step({ package: 160e6 }, sample({ nodeActiveCpuSec: 8, nodeTotalCpuSec: 16, usageRatio: 0.5, processes: [cpu(kt, 3), cpu(inside, 5)], containers: [cpu(c, 7)] }));
    assert.deepEqual(r.outside().kernelUj, [20_000_000n]);
    assert.deepEqual(r.outside().systemUj, [30_000_000n]);
    const e = r.scrape();
    assert.equal(one(e, 'kepler_container_package_joules_total', { container_id: 'kernel_processes', mode: 'dynamic' }).value, 20);
    assert.equal(one(e, 'kepler_container_package_joules_total', { container_id: 'system_processes', mode: 'dynamic' }).value, 30);
    assert.equal(one(e, 'kepler_process_package_joules_total', { pid: '2', mode: 'dynamic' }).value, 40);
  });

  test('kernel_processes: a kernel thread that ends is counted for its last interval even when it is too small to be kept as terminated', () => {
    // Default monitor settings: terminated workloads under 10 J are not kept for export.
    const r = rig({ zones: ['package'], maxTerminated: 500, minTerminatedEnergyThresholdJ: 10 });
    const kt = proc(77, 'kworker/u8:2', { kernelThread: true });
    const other = proc(78, 'rcu_sched', { kernelThread: true });
    // Each interval: 16 J, half of it active, over 8 active CPU-s: 1 J per CPU-s.
    r.step({ package: 16e6 }, sample({ nodeActiveCpuSec: 8, nodeTotalCpuSec: 16, usageRatio: 0.5, processes: [cpu(kt, 1), cpu(other, 1)] }));
    r.step({ package: 16e6 }, sample({ nodeActiveCpuSec: 8, nodeTotalCpuSec: 16, usageRatio: 0.5, processes: [cpu(kt, 2, true), cpu(other, 1)] }));
    // Both threads' process-level energy: 1 + 1 J, then 2 + 1 J; nothing is in a container.
    assert.deepEqual(r.outside().kernelUj, [5_000_000n], 'kernel threads billed 5 J at process level');
    assert.deepEqual(r.outside().systemUj, [11_000_000n]);
  });
});

describe('4b. idle attribution in the 0.7 family (monitor.idle.attribution)', () => {
  test('workloads: mode="idle" = their kepler_<level>_cpu_idle_joules_total per zone; the node\'s idle is unchanged', () => {
    const { e } = scenario({ idle: { model: 'usage-ratio', attribution: 'cpu' } });
    const current: [Level, string, string, string[]][] = [
      ['container', 'kepler_container_cpu_idle_joules_total', 'container_id', [CID_WEB, CID_DB]],
      ['process', 'kepler_process_cpu_idle_joules_total', 'pid', ['10', '11', '20', '30', '40']],
      ['vm', 'kepler_vm_cpu_idle_joules_total', 'vm_id', [VM1.id]],
    ];
    for (const [level, fam, key, ids] of current) {
      for (const id of ids) {
        for (const [domain, zone] of Object.entries(ZONE_OF)) {
          const want = one(e, fam, { [key]: id, zone, state: 'running' }).value;
          assert.ok(want > 0, `${level} ${id} ${zone} has idle`);
          assert.equal(one(e, domainFamily(level, domain), { [key]: id, mode: 'idle' }).value, want, `${level} ${id} ${domain}`);
        }
      }
    }
    for (const [domain, zone] of Object.entries(ZONE_OF)) {
      assert.equal(one(e, domainFamily('node', domain), { mode: 'idle' }).value, one(e, 'kepler_node_cpu_idle_joules_total', { zone }).value, `${domain} node idle`);
    }
  });

  test('none: every workload idle series reads 0, the pseudo containers too', () => {
    const { e } = scenario({ idle: { model: 'baseline', attribution: 'none', pinnedWatts: { package: 5 } } });
    for (const level of ['container', 'process', 'vm'] as const) {
      for (const domain of CPU_DOMAINS) for (const x of select(e, domainFamily(level, domain), { mode: 'idle' })) assert.equal(x.value, 0, seriesKey(x));
    }
  });

  for (const [seed, attribution] of [
    [1, 'cpu'],
    [2, 'even'],
    [3, 'request'],
    [4, 'cpu'],
  ] as const) {
    test(`seed ${seed}, ${attribution}: real + pseudo containers' idle = node idle per domain at every refresh, also once ended containers leave; kernel_processes takes the kernel threads' idle (capped); nothing goes down`, () => {
      let prev = new Map<string, number>();
      const seen = { kernel: 0, left: 0, systemGrewByFold: 0 };
      const idle: IdleOptions = { model: 'baseline', attribution, pinnedWatts: { package: 10, dram: 2, psys: 30 } };
      churn(
        seed,
        40,
        (e, s, step, outside) => {
          const msg = `seed ${seed} step ${step}`;
          for (const domain of LEGACY_DOMAINS.filter((d) => e.types.has(domainFamily('node', d)))) {
            const containers = ujSum(select(e, domainFamily('container', domain), { mode: 'idle' }));
            const node = uj(one(e, domainFamily('node', domain), { mode: 'idle' }).value);
            // `other` is a difference clipped at 0 per series: the attribution's rounding can leave a few µJ.
            if (domain === 'other') assert.ok(Math.abs(containers - node) <= 1000, `${msg}: containers' idle ${containers} µJ ~ node idle ${node} µJ for other`);
            else assert.equal(containers, node, `${msg}: real + pseudo containers' idle = node idle for ${domain}`);
          }
          // The pseudo containers hold exactly the container level's unattributed idle.
          s.zones.forEach((_z, i) =>
            assert.equal((outside.kernelIdleUj?.[i] ?? -1n) + (outside.systemIdleUj?.[i] ?? 0n), s.containers.idle?.unattributedUj[i], `${msg} zone ${i}`),
          );
          // kernel_processes grows by the kernel threads' idle, capped by this interval's unattributed idle.
          const delta = (x: Sample) => uj(x.value) - (prev.get(seriesKey(x)) ?? 0);
          const kernel = delta(one(e, 'kepler_container_package_joules_total', { container_id: 'kernel_processes', mode: 'idle' }));
          const threads = select(e, 'kepler_process_package_joules_total', { container_id: 'kernel_processes', mode: 'idle' }).reduce((a, x) => a + delta(x), 0);
          const pkg = s.zones.findIndex((z) => z.name === 'package');
          const unattributed = s.containers.idle?.unattributedDeltaUj[pkg] ?? 0;
          if (attribution !== 'request') assert.equal(kernel, Math.min(unattributed, threads), `${msg}: kernel_processes idle`);
          else assert.equal(kernel, 0, `${msg}: kernel threads have no request`);
          if (kernel > 0) seen.kernel++;
          const system = delta(one(e, 'kepler_container_package_joules_total', { container_id: 'system_processes', mode: 'idle' }));
          if (system > unattributed - kernel) seen.systemGrewByFold++;
          for (const x of legacySamples(e)) {
            const before = prev.get(seriesKey(x));
            if (before !== undefined) assert.ok(uj(x.value) >= before, `${msg}: ${seriesKey(x)} went down`);
          }
          const live = new Set(select(e, 'kepler_container_package_joules_total', { mode: 'idle' }).map((x) => x.labels.container_id));
          for (const k of prev.keys())
            if (k.startsWith('kepler_container_package_joules_total') && k.includes('mode="idle"') && ![...live].some((id) => k.includes(id))) seen.left++;
          prev = remember(e);
        },
        { rig: { idle }, ack: true },
      );
      if (attribution !== 'request') assert.ok(seen.kernel > 5, `kernel threads' idle reached kernel_processes (${seen.kernel})`);
      assert.ok(seen.left > 0, 'containers left the exposition');
      assert.ok(seen.systemGrewByFold > 0, "their idle moved to system_processes with the container level's unattributed idle");
    });
  }
});

// ---------- 5. counters never go down ----------

describe('5. legacy counters never go down', () => {
  test('not even `other` when the platform zone gains less than package + dram in an interval, nor the pseudo containers', () => {
    const r = rig({ zones: ['package', 'dram', 'psys'] });
    const c = container('d'.repeat(64), 'app', '');
    const inside = proc(5, 'app', { containerId: c.id, type: 'container' });
    const sys = proc(6, 'sshd');
    const kt = proc(7, 'kswapd0', { kernelThread: true });
    const interval = () => sample({ nodeActiveCpuSec: 8, nodeTotalCpuSec: 16, usageRatio: 0.5, processes: [cpu(inside, 3), cpu(sys, 1), cpu(kt, 1)], containers: [cpu(c, 3)] });
    const rawOther = (s: Snapshot) => s.zones[2].activeUj - s.zones[0].activeUj - s.zones[1].activeUj;
    const deltas = [
      { package: 10e6, dram: 2e6, psys: 30e6 },
      { package: 10e6, dram: 2e6, psys: 5e6 }, // the platform gains 5 J, package + dram 12 J
      { package: 10e6, dram: 2e6, psys: 4e6 },
      { package: 10e6, dram: 2e6, psys: 60e6 },
    ];
    let prev = new Map<string, number>();
    const raws: bigint[] = [];
    let e: Exposition | undefined;
    deltas.forEach((d, i) => {
      const s = r.step(d, interval());
      raws.push(rawOther(s));
      e = r.scrape();
      for (const x of legacySamples(e)) {
        const before = prev.get(seriesKey(x));
        if (before !== undefined) assert.ok(uj(x.value) >= before, `interval ${i + 1}: ${seriesKey(x)} went down from ${before} to ${uj(x.value)} µJ`);
      }
      prev = remember(e);
    });
    assert.ok(raws[1] < raws[0] && raws[2] < raws[1], 'precondition: platform - package - dram went down');
    // Once the platform has caught up, `other` is platform - package - dram again.
    const last = e;
    assert.ok(last);
    assert.equal(BigInt(uj(one(last, 'kepler_node_other_joules_total', { mode: 'dynamic' }).value)), raws[3]);
    const node = (d: string) => uj(one(last, domainFamily('node', d), { mode: 'dynamic' }).value);
    assert.equal(node('other'), node('platform') - node('package') - node('dram'));
  });
});

// ---------- 6. no duplicate series ----------

describe('6. one series per label set', () => {
  test('a terminated process and a running one with the same pid give one series per family; the running one wins', () => {
    const { e } = scenario();
    const seen = new Set<string>();
    for (const s of legacySamples(e)) {
      const k = seriesKey(s);
      assert.ok(!seen.has(k), `duplicate series ${k}`);
      seen.add(k);
    }
    // The current family shows both (with state); the legacy one only the running process.
    assert.equal(select(e, 'kepler_process_cpu_joules_total', { pid: '50', zone: 'package' }).length, 2);
    for (const domain of CPU_DOMAINS) for (const mode of ['dynamic', 'idle']) one(e, domainFamily('process', domain), { pid: '50', mode });
    one(e, 'kepler_process_joules_total', { pid: '50', mode: 'dynamic' });
    const running = one(e, 'kepler_process_cpu_joules_total', { pid: '50', zone: 'package', state: 'running' }).value;
    const terminated = one(e, 'kepler_process_cpu_joules_total', { pid: '50', zone: 'package', state: 'terminated' }).value;
    assert.notEqual(running, terminated);
    assert.equal(one(e, 'kepler_process_package_joules_total', { pid: '50', mode: 'dynamic' }).value, running);
  });

  test('a terminated process whose pid no running process has is still exported once', () => {
    const r = rig({ zones: ['package'] });
    const job = proc(60, 'job');
    r.step({ package: 16e6 }, sample({ nodeActiveCpuSec: 8, nodeTotalCpuSec: 16, usageRatio: 0.5, processes: [cpu(job, 2)] }));
    r.step({ package: 16e6 }, sample({ nodeActiveCpuSec: 8, nodeTotalCpuSec: 16, usageRatio: 0.5, processes: [cpu(job, 2, true)] }));
    const e = r.scrape();
    assert.equal(
      one(e, 'kepler_process_package_joules_total', { pid: '60', mode: 'dynamic' }).value,
      one(e, 'kepler_process_cpu_joules_total', { pid: '60', state: 'terminated' }).value,
    );
  });
});

// ---------- 7. splitOutsideContainers ----------

describe('7. splitOutsideContainers', () => {
  test('kernel + system = unattributed exactly; 0 <= kernel <= unattributed', () => {
    const rnd = prng(42);
    for (let i = 0; i < 2000; i++) {
      const n = 1 + Math.floor(rnd() * 4);
      const unattributed = Array.from({ length: n }, () => Math.floor(rnd() * 1e9));
      const kernel = Array.from({ length: n }, () => (rnd() < 0.1 ? -Math.floor(rnd() * 10) : Math.floor(rnd() * 1.5e9)));
      const out = splitOutsideContainers(unattributed, kernel);
      for (let z = 0; z < n; z++) {
        assert.equal(out.kernelUj[z] + out.systemUj[z], unattributed[z]);
        assert.ok(out.kernelUj[z] >= 0 && out.kernelUj[z] <= unattributed[z], `kernel ${out.kernelUj[z]} of ${unattributed[z]}`);
        assert.equal(out.kernelUj[z], Math.min(unattributed[z], Math.max(kernel[z], 0)));
      }
    }
  });

  test('edge cases: the cap, no kernel threads, missing zones, a negative remainder', () => {
    assert.deepEqual(splitOutsideContainers([100, 50], [30, 80]), { kernelUj: [30, 50], systemUj: [70, 0] });
    assert.deepEqual(splitOutsideContainers([100, 50], [0, 0]), { kernelUj: [0, 0], systemUj: [100, 50] });
    assert.deepEqual(splitOutsideContainers([100, 50], [20]), { kernelUj: [20, 0], systemUj: [80, 50] });
    const neg = splitOutsideContainers([-3], [5]);
    assert.equal(neg.kernelUj[0], 0);
    assert.equal(neg.kernelUj[0] + neg.systemUj[0], -3);
  });
});

// ---------- 8. the node series per socket ----------

/** A two-socket Xeon's powercap with a psys zone; socket 1's package counter has a small range, so it wraps. */
const TWO_SOCKETS: PowercapZone[] = [
  { dir: 'intel-rapl:0', name: 'package-0', maxRangeUj: 262_143_328_850 },
  { dir: 'intel-rapl:0:0', name: 'core', maxRangeUj: 262_143_328_850 },
  { dir: 'intel-rapl:0:1', name: 'dram', maxRangeUj: 65_712_999_613 },
  { dir: 'intel-rapl:1', name: 'package-1', maxRangeUj: 90_000_000 },
  { dir: 'intel-rapl:1:0', name: 'core', maxRangeUj: 262_143_328_850 },
  { dir: 'intel-rapl:1:1', name: 'dram', maxRangeUj: 65_712_999_613 },
  { dir: 'intel-rapl:2', name: 'psys', maxRangeUj: 262_143_328_850 },
];
/** Each powercap entry's exported zone, legacy domain and socket (`package` label). */
const SOCKET_DIRS: { dir: string; zone: string; domain: string; socket: string }[] = [
  { dir: 'intel-rapl:0', zone: 'package', domain: 'package', socket: '0' },
  { dir: 'intel-rapl:1', zone: 'package', domain: 'package', socket: '1' },
  { dir: 'intel-rapl:0:0', zone: 'core', domain: 'core', socket: '0' },
  { dir: 'intel-rapl:1:0', zone: 'core', domain: 'core', socket: '1' },
  { dir: 'intel-rapl:0:1', zone: 'dram', domain: 'dram', socket: '0' },
  { dir: 'intel-rapl:1:1', zone: 'dram', domain: 'dram', socket: '1' },
  { dir: 'intel-rapl:2', zone: 'psys', domain: 'platform', socket: '0' },
];

describe('8. node series per socket (a two-socket powercap tree read by the real RaplMeter)', () => {
  function twoSocketRig(t: TestContext, opts: RigOptions = {}) {
    const tree = new PowercapTree(TWO_SOCKETS);
    t.after(() => tree.remove());
    const zones = new RaplMeter({ sysfs: tree.sysfs, zoneFilter: [] }).zones();
    assert.deepEqual(
      zones.map((z) => `${z.name}:${z.path.replace(/.*\//, '')}`),
      ['package:aggregated-package', 'core:aggregated-core', 'dram:aggregated-dram', 'psys:intel-rapl:2'],
      'precondition: the sockets are summed into one zone per name',
    );
    return { tree, r: rig({ meterZones: zones, levels: ['node', 'container'], ...opts }) };
  }

  test('package="0" and package="1": each socket its own energy, through a wrap and an unreadable read; the sockets add up to the current family exactly', (t) => {
    const { tree, r } = twoSocketRig(t);
    const rnd = prng(11);
    // What the monitor has taken of each counter (an unreadable zone's energy waits for its next read), split by the usage ratio.
    const taken = new Map(SOCKET_DIRS.map((d) => [d.dir, 0]));
    const pending = new Map(SOCKET_DIRS.map((d) => [d.dir, 0]));
    const activeExpected = new Map(SOCKET_DIRS.map((d) => [d.dir, 0]));
    let wraps = 0;
    let prev = new Map<string, number>();
    const STEPS = 14;
    for (let step = 1; step <= STEPS; step++) {
      const pkg = [30e6 + Math.round(rnd() * 20e6), 10e6 + Math.round(rnd() * 15e6)];
      const add: Record<string, number> = {
        'intel-rapl:0': pkg[0],
        'intel-rapl:1': pkg[1],
        'intel-rapl:0:0': Math.round(pkg[0] * 0.6),
        'intel-rapl:1:0': Math.round(pkg[1] * 0.55),
        'intel-rapl:0:1': 5e6 + Math.round(rnd() * 4e6),
        'intel-rapl:1:1': 3e6 + Math.round(rnd() * 4e6),
      };
      add['intel-rapl:2'] = pkg[0] + pkg[1] + add['intel-rapl:0:1'] + add['intel-rapl:1:1'] + 20e6;
      for (const [dir, uj] of Object.entries(add)) {
        if (tree.add(dir, uj) && dir === 'intel-rapl:1') wraps++;
        pending.set(dir, (pending.get(dir) ?? 0) + uj);
      }
      // Step 6: socket 1's dram counter is unreadable, so the whole dram zone is; step 7 reads both intervals.
      const unreadable = step === 6 ? 'intel-rapl:1:1' : undefined;
      tree.hide('intel-rapl:1:1', unreadable !== undefined);
      const usageRatio = Math.round((0.2 + rnd() * 0.7) * 100) / 100;
      const snap = r.step({}, sample({ nodeActiveCpuSec: 8, nodeTotalCpuSec: 16, usageRatio }));
      assert.equal(snap.health.errors.zone_read, step >= 6 ? 1 : 0, 'precondition: the unreadable read is the only error');
      for (const d of SOCKET_DIRS) {
        if (unreadable && d.zone === 'dram') continue;
        const p = pending.get(d.dir) ?? 0;
        taken.set(d.dir, (taken.get(d.dir) ?? 0) + p);
        activeExpected.set(d.dir, (activeExpected.get(d.dir) ?? 0) + p * usageRatio);
        pending.set(d.dir, 0);
      }

      const e = r.scrape();
      const msg = `step ${step}`;
      const node = (domain: string, mode: string, socket: string) => uj(one(e, domainFamily('node', domain), { mode, package: socket }).value);
      for (const zone of ['package', 'core', 'dram', 'psys']) {
        const domain = zone === 'psys' ? 'platform' : zone;
        const dirs = SOCKET_DIRS.filter((d) => d.zone === zone);
        // Every socket has every domain, as in 0.7: 0 on a socket the zone is not on.
        const allSockets = [...new Set(SOCKET_DIRS.map((d) => d.socket))].sort();
        for (const mode of ['dynamic', 'idle']) {
          assert.deepEqual(
            select(e, domainFamily('node', domain), { mode })
              .map((s) => s.labels.package)
              .sort(),
            allSockets,
            `${msg} ${domain} ${mode}: sockets`,
          );
          for (const socket of allSockets.filter((k) => !dirs.some((d) => d.socket === k)))
            assert.equal(node(domain, mode, socket), 0, `${msg} ${domain} ${mode} on socket ${socket}`);
        }
        // The sockets add up to the current family's (aggregated) zone exactly.
        const current = (fam: string) => uj(one(e, fam, { zone }).value);
        assert.equal(ujSum(select(e, domainFamily('node', domain), { mode: 'dynamic' })), current('kepler_node_cpu_active_joules_total'), `${msg} ${domain} dynamic`);
        assert.equal(ujSum(select(e, domainFamily('node', domain), { mode: 'idle' })), current('kepler_node_cpu_idle_joules_total'), `${msg} ${domain} idle`);
        for (const d of dirs) {
          // Each socket: exactly its own counter's energy, split within 1 µJ per interval of usage x energy.
          const dyn = node(domain, 'dynamic', d.socket);
          assert.equal(dyn + node(domain, 'idle', d.socket), taken.get(d.dir), `${msg} ${d.dir}: dynamic + idle = its energy`);
          assert.ok(Math.abs(dyn - (activeExpected.get(d.dir) ?? 0)) <= step, `${msg} ${d.dir}: dynamic ${dyn} vs ${activeExpected.get(d.dir)}`);
        }
      }
      // The current family keeps one series per zone, the sockets summed.
      assert.deepEqual(
        select(e, 'kepler_node_cpu_joules_total').map((s) => `${s.labels.zone}:${s.labels.path.replace(/.*\//, '')}`),
        ['package:aggregated-package', 'core:aggregated-core', 'dram:aggregated-dram', 'psys:intel-rapl:2'],
      );
      // Node-wide domains on the first socket, 0 on the others: other (platform - package - dram), uncore (no zone: 0).
      for (const domain of ['other', 'uncore']) {
        assert.deepEqual(
          select(e, domainFamily('node', domain))
            .map((s) => s.labels.package)
            .sort(),
          ['0', '0', '1', '1'],
          `${msg} ${domain}`,
        );
        for (const mode of ['dynamic', 'idle']) assert.equal(node(domain, mode, '1'), 0, `${msg} ${domain} ${mode} on socket 1`);
      }
      const sumOf = (domain: string) => ujSum(select(e, domainFamily('node', domain), { mode: 'dynamic' }));
      assert.equal(node('other', 'dynamic', '0'), sumOf('platform') - sumOf('package') - sumOf('dram'), `${msg} other`);
      assert.equal(node('uncore', 'dynamic', '0'), 0);
      // The container level still adds up to the node, per domain, sockets summed.
      for (const domain of CPU_DOMAINS) {
        if (domain === 'other') continue;
        assert.equal(ujSum(select(e, domainFamily('container', domain), { mode: 'dynamic' })), sumOf(domain), `${msg} containers = node for ${domain}`);
      }
      for (const s of legacySamples(e)) {
        const before = prev.get(seriesKey(s));
        if (before !== undefined) assert.ok(uj(s.value) >= before, `${msg}: ${seriesKey(s)} went down`);
      }
      prev = remember(e);
    }
    assert.ok(wraps >= 2, `socket 1's package counter wrapped (${wraps})`);
  });

  test('every node series has the 0.7 labels; one socket alone is package="0" as before', (t) => {
    const { tree, r } = twoSocketRig(t);
    for (const d of SOCKET_DIRS) tree.add(d.dir, 1e6);
    r.step({}, sample({ nodeActiveCpuSec: 1, nodeTotalCpuSec: 2, usageRatio: 0.5 }));
    const e = r.scrape();
    for (const domain of CPU_DOMAINS) {
      for (const s of select(e, domainFamily('node', domain))) assert.deepEqual(Object.keys(s.labels).sort(), [...LABELS.node].sort(), seriesKey(s));
    }
    assert.equal(one(e, 'kepler_node_package_joules_total', { package: '1', mode: 'idle' }).labels.instance, NODE);
    // A fake meter's zones (no parts): one series per domain, on the package zone's index.
    const single = scenario().e;
    for (const domain of CPU_DOMAINS)
      assert.deepEqual(
        select(single, domainFamily('node', domain)).map((s) => s.labels.package),
        ['0', '0'],
        domain,
      );
  });

  test('the start-up line: measured domains, those exported as 0, gpu left out without a GPU meter, the sockets of the node series', (t) => {
    const log = captureLogger();
    twoSocketRig(t, { logger: log.logger });
    const line = log.lines.find((l) => l.msg === 'Kepler 0.7 metrics enabled');
    assert.ok(line, 'logged');
    assert.deepEqual(line.fields, {
      source: 'rapl-sysfs',
      measured: 'package,core,dram,other,platform',
      exported_as_zero: 'uncore',
      left_out: 'gpu (no GPU meter)',
      node_packages: '0,1',
      zones_left_out: 'none',
    });
    const withGpu = captureLogger();
    rig({ zones: ['package', 'dram'], logger: withGpu.logger, gpu: new ScriptedGpuMeter(gpuDevices(1)) });
    const l2 = withGpu.lines.find((l) => l.msg === 'Kepler 0.7 metrics enabled');
    assert.ok(l2);
    assert.equal(l2.fields.measured, 'package,dram,gpu');
    assert.equal(l2.fields.exported_as_zero, 'core,uncore,other,platform');
    assert.equal(l2.fields.left_out, 'none');
    assert.equal(l2.fields.node_packages, '0');
  });
});

// ---------- 9. gpu: only with a GPU meter ----------

describe("9. gpu names: absent without a GPU meter, the GPU levels' energy with one", () => {
  test("with a GPU meter: one node series per GPU, every level carries the current family's GPU energy, the totals include it, the containers add up to the node", () => {
    const meter = new ScriptedGpuMeter(gpuDevices(2));
    // Each interval is 1 s with 2 W of configured idle: GPU 0 shared by nginx and sshd 84:16, GPU 1 the VM's alone.
    const onGpus = () => {
      meter.step(0, 17e6, {
        processes: [{ pid: 10 }, { pid: 20 }],
        utilization: [
          { pid: 10, smUtil: 84 },
          { pid: 20, smUtil: 16 },
        ],
      });
      meter.step(1, 4.75e6, { processes: [{ pid: 40 }], utilization: [] });
    };
    // Two intervals: the zones' energy and the resources' CPU times of each.
    const intervals: [Record<string, number>, ResourceSample][] = [
      [
        { package: 40e6, dram: 8e6 },
        sample({
          nodeActiveCpuSec: 10,
          nodeTotalCpuSec: 20,
          usageRatio: 0.5,
          processes: [cpu(P.nginx, 2), cpu(P.postgres, 1), cpu(P.sshd, 1), cpu(P.kworker, 0.5), cpu(P.qemu, 1.5)],
          containers: [cpu(C_WEB, 2.5), cpu(C_DB, 1)],
          pods: [cpu(POD_WEB, 2.5)],
          vms: [cpu(VM1, 1.5)],
        }),
      ],
      [
        { package: 60e6, dram: 9e6 },
        sample({
          nodeActiveCpuSec: 10,
          nodeTotalCpuSec: 16,
          usageRatio: 0.625,
          processes: [cpu(P.nginx, 3), cpu(P.postgres, 1), cpu(P.sshd, 0.5), cpu(P.kworker, 1), cpu(P.qemu, 1)],
          containers: [cpu(C_WEB, 3.5), cpu(C_DB, 1)],
          pods: [cpu(POD_WEB, 3.5)],
          vms: [cpu(VM1, 1)],
        }),
      ],
    ];
    const run = (gpu?: ScriptedGpuMeter) => {
      const r = rig(gpu ? { gpu } : {});
      let snap: Snapshot | undefined;
      for (const [zones, s] of intervals) {
        if (gpu) onGpus();
        snap = r.step(zones, s);
      }
      assert.ok(snap);
      return { snap, e: r.scrape() };
    };
    const { snap, e } = run(meter);
    assert.ok(snap.gpu);
    const legacy = (name: string, match: Record<string, string> = {}) => select(e, name, match).filter((x) => x.labels.mode !== undefined);
    for (const level of LEVELS) {
      const name = domainFamily(level, 'gpu');
      assert.equal(e.types.get(name), 'counter', name);
      // One family with the current family's series of that name (Kepler 0.11's), under its help.
      assert.equal(e.help.get(name), `Energy consumption of gpu at ${level} level in joules`, name);
      for (const x of legacy(name)) assert.deepEqual(Object.keys(x.labels).sort(), [...LABELS[level]].sort(), seriesKey(x));
    }
    // Node: one series per GPU, labelled with its index as 0.7 did, with the current family's active and idle; the CPU series keep their socket.
    const current = (name: string, match: Record<string, string>) => one(e, name, match).value;
    assert.equal(legacy('kepler_node_gpu_joules_total').length, 4);
    for (const id of ['0', '1']) {
      assert.equal(one(e, 'kepler_node_gpu_joules_total', { mode: 'dynamic', package: id }).value, current('kepler_node_gpu_active_joules_total', { gpu: id }));
      assert.equal(one(e, 'kepler_node_gpu_joules_total', { mode: 'idle', package: id }).value, current('kepler_node_gpu_idle_joules_total', { gpu: id }));
    }
    assert.deepEqual([current('kepler_node_gpu_active_joules_total', { gpu: '0' }), current('kepler_node_gpu_idle_joules_total', { gpu: '1' })], [30, 4]);
    for (const domain of CPU_DOMAINS)
      assert.deepEqual(
        select(e, domainFamily('node', domain)).map((x) => x.labels.package),
        ['0', '0'],
        domain,
      );
    // Workloads: the current family's energy summed over the GPUs (dynamic), 0 where they used none; idle 0.
    const dyn = (level: string, match: Record<string, string>) => one(e, domainFamily(level, 'gpu'), { ...match, mode: 'dynamic' }).value;
    const gpuSum = (level: string, match: Record<string, string>) => sum(select(e, `kepler_${level}_gpu_joules_total`, match).filter((x) => x.labels.gpu !== undefined));
    assert.equal(dyn('container', { container_id: CID_WEB }), gpuSum('container', { container_id: CID_WEB }));
    assert.equal(dyn('container', { container_id: CID_WEB }), 25.2);
    assert.equal(dyn('container', { container_id: CID_DB }), 0);
    assert.equal(dyn('container', { container_id: 'kernel_processes' }), 0);
    assert.deepEqual(
      ['10', '11', '20', '40'].map((pid) => dyn('process', { pid })),
      ['10', '11', '20', '40'].map((pid) => gpuSum('process', { pid })),
    );
    assert.deepEqual(
      ['10', '11', '20', '40'].map((pid) => dyn('process', { pid })),
      [25.2, 0, 4.8, 5.5],
    );
    assert.equal(dyn('vm', { vm_id: VM1.id }), 5.5);
    for (const level of LEVELS) for (const x of legacy(domainFamily(level, 'gpu'), { mode: 'idle' })) if (level !== 'node') assert.equal(x.value, 0, seriesKey(x));
    // Real + pseudo containers = the node's GPU active energy.
    assert.equal(ujSum(legacy('kepler_container_gpu_joules_total', { mode: 'dynamic' })), ujSum(legacy('kepler_node_gpu_joules_total', { mode: 'dynamic' })));
    // kepler_<level>_joules_total = package + dram + other + gpu.
    for (const level of ['container', 'process'] as const) {
      for (const t of select(e, `kepler_${level}_joules_total`)) {
        const parts = ['package', 'dram', 'other', 'gpu'].map((d) => uj(one(e, domainFamily(level, d), t.labels).value));
        assert.equal(
          uj(t.value),
          parts.reduce((a, b) => a + b, 0),
          seriesKey(t),
        );
      }
    }
    assert.ok(uj(one(e, 'kepler_container_joules_total', { container_id: CID_WEB, mode: 'dynamic' }).value) > 21e6);
    // The CPU domains are what they are without a GPU.
    const cpuOnly = run().e;
    for (const s of legacySamples(cpuOnly)) {
      if (/_joules_total$/.test(s.name) && !/^kepler_(container|process)_joules_total$/.test(s.name)) assert.equal(one(e, s.name, s.labels).value, s.value, seriesKey(s));
    }
  });
});

describe('9b. gpu names while containers end', () => {
  test("a container under the CPU threshold ends: its GPU energy moves to system_processes, and the containers' gpu series add up to the node's at every refresh", () => {
    const meter = new ScriptedGpuMeter(gpuDevices(1));
    const r = rig({ zones: ['package'], gpu: meter, maxTerminated: 500, minTerminatedEnergyThresholdJ: 10 });
    const small = container('d'.repeat(64), 'short', '');
    const big = container('e'.repeat(64), 'long', '');
    const ps = proc(60, 'short', { containerId: small.id, type: 'container' });
    const pl = proc(61, 'long', { containerId: big.id, type: 'container' });
    const check = (msg: string) => {
      const e = r.scrape();
      const legacy = (name: string) => select(e, name, { mode: 'dynamic' }).filter((x) => x.labels.gpu === undefined);
      assert.equal(ujSum(legacy('kepler_container_gpu_joules_total')), ujSum(legacy('kepler_node_gpu_joules_total')), msg);
      return e;
    };
    for (let step = 0; step < 4; step++) {
      const ending = step === 2;
      const after = step > 2;
      meter.step(0, 50e6, {
        processes: after ? [{ pid: 61 }] : [{ pid: 60 }, { pid: 61 }],
        utilization: after
          ? []
          : [
              { pid: 60, smUtil: 50 },
              { pid: 61, smUtil: 50 },
            ],
      });
      r.step(
        { package: 10e6 },
        sample({
          nodeActiveCpuSec: 2,
          nodeTotalCpuSec: 4,
          usageRatio: 0.5,
          // The short one barely uses a CPU: a few µJ of CPU energy, under the 10 J threshold.
          processes: [...(after ? [] : [cpu(ps, 0.0001, ending)]), cpu(pl, 1)],
          containers: [...(after ? [] : [cpu(small, 0.0001, ending)]), cpu(big, 1)],
        }),
      );
      const e = check(`step ${step}`);
      if (after) {
        assert.equal(select(e, 'kepler_container_gpu_joules_total', { container_id: small.id, mode: 'dynamic' }).length, 0, 'the short container left the 0.7 family');
        assert.ok(one(e, 'kepler_container_gpu_joules_total', { container_id: 'system_processes', mode: 'dynamic' }).value >= 50, 'its GPU energy is in system_processes');
      }
    }
  });
});

// ---------- the pure domain arithmetic ----------

describe('legacy domain arithmetic', () => {
  test('domainZones / measuredDomains / unmappedZones', () => {
    const names = ['package', 'core', 'uncore', 'dram', 'psys', 'temp1'];
    assert.deepEqual(domainZones(names), { package: [0], core: [1], uncore: [2], dram: [3], platform: [4] });
    assert.deepEqual(measuredDomains(domainZones(names)), ['package', 'core', 'uncore', 'dram', 'other', 'platform']);
    assert.deepEqual(measuredDomains(domainZones(['package', 'dram'])), ['package', 'dram']);
    assert.deepEqual(measuredDomains(domainZones(['package', 'dram', 'platform'])), ['package', 'dram', 'other', 'platform']);
    assert.deepEqual(unmappedZones(names), ['temp1']);
    assert.deepEqual(unmappedZones(['package', 'platform']), []);
    // gpu: exported and measured only with a GPU meter.
    assert.deepEqual(exportedDomains(false), ['package', 'core', 'uncore', 'dram', 'other', 'platform']);
    assert.deepEqual(exportedDomains(true), [...LEGACY_DOMAINS]);
    assert.deepEqual(measuredDomains(domainZones(['package', 'dram']), true), ['package', 'dram', 'gpu']);
  });

  test('socketDomainEnergies: zone-backed domains on their sockets, node-wide ones once on the first socket, gpu on none', () => {
    const map = domainZones(['package', 'dram', 'psys']);
    const zones = [
      {
        index: 0,
        uj: 30n,
        parts: [
          { index: 0, uj: 10n },
          { index: 1, uj: 20n },
        ],
      },
      {
        index: 0,
        uj: 7n,
        parts: [
          { index: 0, uj: 3n },
          { index: 1, uj: 4n },
        ],
      },
      { index: 0, uj: 50n },
    ];
    const [s0, s1, ...more] = socketDomainEnergies(zones, map);
    assert.equal(more.length, 0);
    const named = (e: { domainsUj: bigint[]; has: boolean[] }) => Object.fromEntries(LEGACY_DOMAINS.flatMap((d, i) => (e.has[i] ? [[d, e.domainsUj[i]]] : [])));
    assert.equal(s0.socket, 0);
    assert.deepEqual(named(s0), { package: 10n, core: 0n, uncore: 0n, dram: 3n, other: 13n, platform: 50n });
    assert.equal(s1.socket, 1);
    assert.deepEqual(named(s1), { package: 20n, dram: 4n });
    // Without parts, the zone's index; the node-wide domains go with the package's first socket.
    const lone = socketDomainEnergies(
      [
        { index: 1, uj: 5n },
        { index: 1, uj: 2n },
      ],
      domainZones(['package', 'dram']),
    );
    assert.deepEqual(
      lone.map((e) => [e.socket, named(e)]),
      [[1, { package: 5n, core: 0n, uncore: 0n, dram: 2n, other: 0n, platform: 0n }]],
    );
    assert.deepEqual(
      socketDomainEnergies([], domainZones([])).map((e) => e.socket),
      [0],
      'no zones: one group on socket 0, all 0',
    );
  });

  test('socketDomainEnergies: for every domain, the sockets add up to domainEnergies of the zone totals (random layouts)', () => {
    const rnd = prng(5);
    const names = ['package', 'core', 'uncore', 'dram', 'psys', 'platform', 'temp1'];
    for (let i = 0; i < 500; i++) {
      const zoneNames = names.filter(() => rnd() < 0.6);
      const zones = zoneNames.map(() => {
        const sockets = Math.floor(rnd() * 4); // 0: a single counter
        const parts = Array.from({ length: sockets }, (_, k) => ({ index: k + (rnd() < 0.2 ? 2 : 0), uj: BigInt(Math.floor(rnd() * 1e12)) }));
        const uj = sockets ? parts.reduce((a, p) => a + p.uj, 0n) : BigInt(Math.floor(rnd() * 1e12));
        return { index: Math.floor(rnd() * 2), uj, ...(sockets ? { parts } : {}) };
      });
      const map = domainZones(zoneNames);
      const node = domainEnergies(
        zones.map((z) => z.uj),
        map,
      );
      const sockets = socketDomainEnergies(zones, map);
      assert.deepEqual(
        sockets.map((e) => e.socket),
        [...new Set(sockets.map((e) => e.socket))].sort((a, b) => a - b),
        'ascending, each once',
      );
      LEGACY_DOMAINS.forEach((d, k) => {
        const holders = sockets.filter((e) => e.has[k]);
        if (d === 'gpu') {
          assert.equal(holders.length, 0);
          return;
        }
        assert.ok(holders.length > 0, `${d} has a series`);
        assert.equal(
          holders.reduce((a, e) => a + e.domainsUj[k], 0n),
          node[k],
          `${zoneNames.join(',')}: ${d}`,
        );
        for (const e of sockets) if (!e.has[k]) assert.equal(e.domainsUj[k], 0n);
      });
    }
  });

  test('domainEnergies: the seven domains in order, other = platform - package - dram never below 0', () => {
    const map = domainZones(['package', 'core', 'uncore', 'dram', 'psys']);
    assert.deepEqual(domainEnergies([40n, 25n, 5n, 8n, 100n], map), [40n, 25n, 5n, 8n, 52n, 0n, 100n]);
    assert.deepEqual(domainEnergies([40n, 25n, 5n, 8n, 30n], map), [40n, 25n, 5n, 8n, 0n, 0n, 30n]);
    assert.deepEqual(domainEnergies([40n, 8n], domainZones(['package', 'dram'])), [40n, 0n, 0n, 8n, 0n, 0n, 0n]);
    // Two sockets' zones of a name add up.
    assert.deepEqual(domainEnergies([1n, 2n, 3n, 4n], domainZones(['package', 'package', 'dram', 'dram'])), [3n, 0n, 0n, 7n, 0n, 0n, 0n]);
    assert.equal(legacyTotal([40n, 25n, 5n, 8n, 52n, 3n, 100n]), 40n + 8n + 52n + 3n);
  });

  test('NonDecreasing: per key, each value held at its maximum', () => {
    const g = new NonDecreasing<object>();
    const a = {};
    const b = {};
    assert.deepEqual(g.apply(a, [5n, 1n]), [5n, 1n]);
    assert.deepEqual(g.apply(a, [4n, 2n]), [5n, 2n]);
    assert.deepEqual(g.apply(b, [1n, 0n]), [1n, 0n], 'keys are independent');
    assert.deepEqual(g.apply(a, [6n, 0n]), [6n, 2n]);
  });
});
