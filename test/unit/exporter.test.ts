// The Prometheus exporter: a PowerMonitor fed by fake zones and scripted workloads, its collectors
// registered as src/app/application.ts does, the exposition parsed back (text format and
// OpenMetrics) and checked against the metric contract of metrics.md; then a real HTTP scrape
// with content negotiation and gzip, and the stdout exporter.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { gunzipSync } from 'node:zlib';
import type { MetricsLevel } from '../../src/config/config.js';
import type { Collector } from '../../src/exporter/prometheus/collector.js';
import { buildCollectors } from '../../src/exporter/prometheus/collectors.js';
import { OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE } from '../../src/exporter/prometheus/exposition.js';
import { acceptsGzip, negotiateFormat } from '../../src/exporter/prometheus/negotiation.js';
import { PrometheusExporter } from '../../src/exporter/prometheus/prometheusExporter.js';
import { formatSnapshot, StdoutExporter } from '../../src/exporter/stdout/stdoutExporter.js';
import { formatJoules } from '../../src/exporter/formatJoules.js';
import { PowerMonitor, type IdleOptions } from '../../src/monitor/powerMonitor.js';
import { watts, type Snapshot } from '../../src/monitor/snapshot.js';
import type { ContainerInfo, PodInfo, ProcessInfo, VmInfo, WorkloadCpu } from '../../src/resource/workloads.js';
import { WebServer } from '../../src/server/webServer.js';
import { parseCheckedExposition, seriesKey, type CheckedExposition, type Family, type TextSample } from '../support/exposition.js';
import { FakeZone, sample, silent } from '../support/fakes.js';
import { endianness } from 'node:os';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Application } from '../../src/app/application.js';
import { ConfigError } from '../../src/config/config.js';
import { loadConfig } from '../../src/config/load.js';
import { EstimatorMeter } from '../../src/device/estimatorMeter.js';
import { captureLogger } from '../support/captureLogger.js';
import { buildInfoLabels } from '../../src/exporter/prometheus/infoCollectors.js';
import { goArch } from '../../src/util/buildInfo.js';

// ---------- fakes: zones, workloads, monitor, collectors as the application wires them ----------

const NODE = 'node-1';

function cpu<I>(info: I, cpuDeltaSec: number, cpuTotalSec: number, ended = false): WorkloadCpu<I> {
  return { info, cpuDeltaSec, cpuTotalSec, ended };
}

const CID = 'ab'.repeat(32);
const WEIRD_COMM = 'a"b\\c\nd'; // a"b\c<newline>d
const WEIRD_EXE = '/opt/we"ird\\bin';
const info = {
  nginx: { key: '1@10', pid: 1, comm: 'nginx', exe: '/usr/sbin/nginx', type: 'container', containerId: CID, vmId: '', kernelThread: false } as ProcessInfo,
  weird: { key: '2@20', pid: 2, comm: WEIRD_COMM, exe: WEIRD_EXE, type: 'regular', containerId: '', vmId: '', kernelThread: false } as ProcessInfo,
  idle: { key: '3@30', pid: 3, comm: 'sleepy', exe: '/usr/bin/sleepy', type: 'regular', containerId: '', vmId: '', kernelThread: false } as ProcessInfo,
  qemu: { key: '4@40', pid: 4, comm: 'qemu-system-x86', exe: '/usr/bin/qemu-system-x86_64', type: 'vm', containerId: '', vmId: 'vm-uuid-1', kernelThread: false } as ProcessInfo,
  oldJob: { key: '42@50', pid: 42, comm: 'job', exe: '/usr/bin/job', type: 'regular', containerId: '', vmId: '', kernelThread: false } as ProcessInfo,
  newJob: { key: '42@60', pid: 42, comm: 'job', exe: '/usr/bin/job', type: 'regular', containerId: '', vmId: '', kernelThread: false } as ProcessInfo,
  container: { key: CID, id: CID, name: 'web "front"', runtime: 'containerd', podId: 'pod-uid-1', cpuRequestCores: 0.5 } as ContainerInfo,
  pod: { key: 'pod-uid-1', id: 'pod-uid-1', name: 'web-0', namespace: 'default', cpuRequestCores: 0.5 } as PodInfo,
  vm: { key: 'vm-uuid-1', id: 'vm-uuid-1', name: 'guest1', hypervisor: 'kvm' } as VmInfo,
};

const CPUS = [
  { processor: '0', vendorId: 'GenuineIntel', modelName: 'Intel(R) Xeon(R) "Gold"', physicalId: '0', coreId: '0' },
  { processor: '1', vendorId: 'GenuineIntel', modelName: 'Intel(R) Xeon(R) "Gold"', physicalId: '0', coreId: '1' },
];
const BUILD = { version: '0.1.0', revision: 'abc1234', branch: 'main' };

/** The collectors as Application builds them (buildCollectors), on the meter of these tests. */
function collectors(levelList: MetricsLevel[], exporter: () => PrometheusExporter, debug = ['go']): Collector[] {
  return buildCollectors({
    nodeName: NODE,
    prometheus: { metricsLevel: levelList, legacyMetrics: false, debugCollectors: debug },
    meter: {
      name: 'rapl',
      zones: [
        { name: 'package', index: 0 },
        { name: 'dram', index: 0 },
      ],
    },
    cpus: CPUS,
    cpuArchitecture: 'skylake',
    build: BUILD,
    scrapeStats: () => exporter().scrapeStats(),
    snapshots: { onSnapshot: () => undefined }, // only the 0.7 family follows snapshots
    logger: silent,
  });
}

/**
 * A monitor after three refreshes: baseline, one interval of everything running, and one in
 * which the old pid-42 job ends and a new process reuses pid 42. `sleepy` never uses CPU.
 */
function setup(levels: MetricsLevel[] = ['node', 'process', 'container', 'vm', 'pod'], idle: IdleOptions = { model: 'usage-ratio', attribution: 'none' }) {
  const zones = [new FakeZone('package', 0, '/sys/class/powercap/intel-rapl:0'), new FakeZone('dram', 0, '/sys/class/powercap/intel-rapl:0/intel-rapl:0:0')];
  const clock = { now: 5_000 };
  let next = sample({ baseline: true });
  const monitor = new PowerMonitor({
    zones,
    resources: { refresh: () => next },
    intervalMs: 0,
    stalenessMs: 500,
    maxTerminated: 500,
    minTerminatedEnergyThresholdJ: 0,
    // Kepler's split unless a test says otherwise: the worked numbers below are Kepler's.
    idle,
    logger: silent,
    clock: () => clock.now,
    wallClock: () => 1_700_000_000_000 + clock.now,
  });
  const exporter: PrometheusExporter = new PrometheusExporter(monitor, silent);
  exporter.register(...collectors(levels, () => exporter));

  const all = (d: number, t: number, oldEnded: boolean | 'gone', withNew: boolean) => {
    const procs = [cpu(info.nginx, d, t), cpu(info.weird, d / 2, t / 2), cpu(info.idle, 0, 0), cpu(info.qemu, d, t)];
    if (oldEnded !== 'gone') procs.push(cpu(info.oldJob, d, t, oldEnded));
    if (withNew) procs.push(cpu(info.newJob, d, d));
    return sample({
      nodeActiveCpuSec: 8,
      nodeTotalCpuSec: 16,
      usageRatio: 0.5,
      processes: procs,
      containers: [cpu(info.container, d, t)],
      pods: [cpu(info.pod, d, t)],
      vms: [cpu(info.vm, d, t)],
      errors: { process_vanished: 2 },
    });
  };
  next = all(0, 0, false, false);
  next = { ...next, baseline: true, errors: {} };
  monitor.refresh();
  const advance = (uj: number, ms: number) => {
    for (const z of zones) z.counter += uj;
    clock.now += ms;
  };
  advance(40_000_000, 2000);
  next = all(1, 1, false, false);
  monitor.refresh();
  advance(60_000_000, 3000);
  next = all(1.5, 2.5, true, true);
  const snap = monitor.refresh();
  return {
    monitor,
    exporter,
    snap,
    clock,
    /** One more interval without the old job. */
    step: () => {
      advance(10_000_000, 1000);
      next = all(0.5, 3, 'gone', true);
    },
  };
}

// ---------- the contract ----------

type Spec = { type: string; help: string | RegExp; labels: string[]; nodeName?: boolean };
const energy = (level: string) => `Energy consumption of cpu at ${level} level in joules`;
const power = (level: string) => `Power consumption of cpu at ${level} level in watts`;
const PROC = ['pid', 'comm', 'exe', 'type', 'state', 'container_id', 'vm_id', 'zone'];
const CONT = ['container_id', 'container_name', 'runtime', 'state', 'zone', 'pod_id'];
const VM = ['vm_id', 'vm_name', 'hypervisor', 'state', 'zone'];
const POD = ['pod_id', 'pod_name', 'pod_namespace', 'state', 'zone'];

const NODE_FAMILIES: Record<string, Spec> = {
  kepler_node_cpu_joules_total: { type: 'counter', help: energy('node'), labels: ['zone', 'path'] },
  kepler_node_cpu_watts: { type: 'gauge', help: power('node'), labels: ['zone', 'path'] },
  kepler_node_cpu_active_joules_total: { type: 'counter', help: 'Energy consumption of cpu in active state at node level in joules', labels: ['zone', 'path'] },
  kepler_node_cpu_active_watts: { type: 'gauge', help: 'Power consumption of cpu in active state at node level in watts', labels: ['zone', 'path'] },
  kepler_node_cpu_idle_joules_total: { type: 'counter', help: 'Energy consumption of cpu in idle state at node level in joules', labels: ['zone', 'path'] },
  kepler_node_cpu_idle_watts: { type: 'gauge', help: 'Power consumption of cpu in idle state at node level in watts', labels: ['zone', 'path'] },
  kepler_node_cpu_usage_ratio: { type: 'gauge', help: /usage ratio.*0\.0 and 1\.0/i, labels: [] },
};
const LEVEL_FAMILIES: Record<'process' | 'container' | 'vm' | 'pod', Record<string, Spec>> = {
  process: {
    kepler_process_cpu_joules_total: { type: 'counter', help: energy('process'), labels: PROC },
    kepler_process_cpu_watts: { type: 'gauge', help: power('process'), labels: PROC },
    kepler_process_cpu_seconds_total: {
      type: 'counter',
      help: 'Total user and system time of cpu at process level in seconds',
      labels: ['pid', 'comm', 'exe', 'type', 'container_id', 'vm_id'],
    },
  },
  container: {
    kepler_container_cpu_joules_total: { type: 'counter', help: energy('container'), labels: CONT },
    kepler_container_cpu_watts: { type: 'gauge', help: power('container'), labels: CONT },
    kepler_container_cpu_seconds_total: {
      type: 'counter',
      help: 'Total user and system time of cpu at container level in seconds',
      labels: ['container_id', 'container_name', 'runtime', 'state', 'pod_id'],
    },
  },
  vm: {
    kepler_vm_cpu_joules_total: { type: 'counter', help: energy('vm'), labels: VM },
    kepler_vm_cpu_watts: { type: 'gauge', help: power('vm'), labels: VM },
  },
  pod: {
    kepler_pod_cpu_joules_total: { type: 'counter', help: energy('pod'), labels: POD },
    kepler_pod_cpu_watts: { type: 'gauge', help: power('pod'), labels: POD },
  },
};
const STATIC_FAMILIES: Record<string, Spec> = {
  kepler_node_cpu_info: { type: 'gauge', help: /\S/, labels: ['processor', 'vendor_id', 'model_name', 'physical_id', 'core_id'], nodeName: false },
  // Kepler's five labels and help, and (ours) nodeversion.
  kepler_build_info: {
    type: 'gauge',
    help: "A metric with a constant '1' value labeled with version information",
    labels: ['arch', 'branch', 'revision', 'version', 'goversion', 'nodeversion'],
    nodeName: false,
  },
};
const UNATTRIBUTED: Spec = { type: 'counter', help: /unattributed|no running workload/i, labels: ['zone', 'level'] };
const DROPPED: Spec = { type: 'counter', help: /ended workloads .* no scrape showed/i, labels: ['zone', 'level'] };
const HEALTH_FAMILIES: Record<string, Spec> = {
  kepler_exporter_meter_info: { type: 'gauge', help: /meter/, labels: ['meter', 'zones'], nodeName: false },
  kepler_exporter_refresh_duration_seconds: { type: 'histogram', help: /refresh/, labels: [], nodeName: false },
  kepler_exporter_refresh_errors_total: { type: 'counter', help: /refresh/i, labels: ['kind'], nodeName: false },
  kepler_exporter_last_refresh_timestamp_seconds: { type: 'gauge', help: /refresh/, labels: [], nodeName: false },
  kepler_exporter_last_refresh_interval_seconds: { type: 'gauge', help: /interval/, labels: [], nodeName: false },
  kepler_exporter_workloads: { type: 'gauge', help: /[Ww]orkloads/, labels: ['level', 'state'], nodeName: false },
  kepler_exporter_scrape_duration_seconds: { type: 'gauge', help: /metrics/, labels: [], nodeName: false },
  kepler_exporter_scrape_size_bytes: { type: 'gauge', help: /bytes/, labels: [], nodeName: false },
  kepler_exporter_scrapes_total: { type: 'counter', help: /[Ss]crapes/, labels: [], nodeName: false },
};

/** The family's name in this format: OpenMetrics names counters without `_total`. */
function famName(name: string, type: string, openMetrics: boolean): string {
  return openMetrics && type === 'counter' ? name.replace(/_total$/, '') : name;
}

function checkFamily(e: CheckedExposition, name: string, spec: Spec, openMetrics: boolean): Family {
  const fam = e.families.get(famName(name, spec.type, openMetrics));
  assert.ok(fam, `family ${name} missing (${openMetrics ? 'OpenMetrics' : 'text'})`);
  assert.equal(fam.type, spec.type, `${name} TYPE`);
  if (typeof spec.help === 'string') assert.equal(fam.help, spec.help, `${name} HELP`);
  else assert.match(fam.help, spec.help, `${name} HELP`);
  const want = [...spec.labels, ...(spec.nodeName === false ? [] : ['node_name'])].sort();
  for (const s of fam.samples) {
    const labels = Object.keys(s.labels).filter((k) => !(spec.type === 'histogram' && s.name.endsWith('_bucket') && k === 'le'));
    assert.deepEqual(labels.sort(), want, `labels of ${s.name}`);
    if (spec.nodeName !== false) assert.equal(s.labels.node_name, NODE);
  }
  return fam;
}

function byName(e: CheckedExposition, name: string, match: Record<string, string> = {}): TextSample[] {
  return e.samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v));
}
function one(e: CheckedExposition, name: string, match: Record<string, string> = {}): TextSample {
  const found = byName(e, name, match);
  assert.equal(found.length, 1, `${name}${JSON.stringify(match)}: ${found.length} samples`);
  return found[0];
}

// ---------- tests ----------

describe('exposition of the current metric family', () => {
  for (const openMetrics of [false, true]) {
    const fmt = openMetrics ? 'OpenMetrics' : 'text';

    test(`${fmt}: every family of metrics.md with its type, help and labels`, () => {
      const { exporter } = setup();
      const e = parseCheckedExposition(exporter.render(openMetrics).body, openMetrics);
      for (const [name, spec] of Object.entries({ ...NODE_FAMILIES, ...STATIC_FAMILIES, ...HEALTH_FAMILIES })) checkFamily(e, name, spec, openMetrics);
      for (const fams of Object.values(LEVEL_FAMILIES)) for (const [name, spec] of Object.entries(fams)) checkFamily(e, name, spec, openMetrics);
      checkFamily(e, 'kepler_node_cpu_unattributed_joules_total', UNATTRIBUTED, openMetrics);
      checkFamily(e, 'kepler_node_cpu_dropped_joules_total', DROPPED, openMetrics);
      // Every family has samples (the scenario has a workload at each level).
      for (const fam of e.families.values()) assert.ok(fam.samples.length > 0, `${fam.name} has no samples`);
    });

    test(`${fmt}: no duplicate series, even with a terminated and a running process on pid 42`, () => {
      const { exporter } = setup();
      const e = parseCheckedExposition(exporter.render(openMetrics).body, openMetrics);
      const seen = new Set<string>();
      for (const s of e.samples) {
        const k = seriesKey(s);
        assert.ok(!seen.has(k), `duplicate series ${k}`);
        seen.add(k);
      }
      // Samples keep _total in both formats.
      assert.deepEqual(
        byName(e, 'kepler_process_cpu_joules_total', { pid: '42', zone: 'package' })
          .map((s) => s.labels.state)
          .sort(),
        ['running', 'terminated'],
      );
      assert.equal(byName(e, 'kepler_process_cpu_watts', { pid: '42', zone: 'dram' }).length, 2);
      // The seconds family has no state label: only the running one.
      assert.equal(byName(e, 'kepler_process_cpu_seconds_total', { pid: '42' }).length, 1);
    });
  }

  test('values match the snapshot', () => {
    const { exporter, snap } = setup();
    const e = parseCheckedExposition(exporter.render(false).body, false);
    for (const z of snap.zones) {
      const l = { zone: z.name, path: z.path };
      assert.equal(one(e, 'kepler_node_cpu_joules_total', l).value, formatJoules(z.totalUj));
      assert.equal(one(e, 'kepler_node_cpu_active_joules_total', l).value, formatJoules(z.activeUj));
      assert.equal(one(e, 'kepler_node_cpu_idle_joules_total', l).value, formatJoules(z.idleUj));
      assert.equal(Number(one(e, 'kepler_node_cpu_watts', l).value), watts(z.deltaUj, snap.elapsedSec));
      assert.equal(Number(one(e, 'kepler_node_cpu_active_watts', l).value), watts(z.activeDeltaUj, snap.elapsedSec));
    }
    // 100 J in all per zone; the last interval: 60 J over 3 s, half active.
    assert.equal(one(e, 'kepler_node_cpu_joules_total', { zone: 'package' }).value, '100');
    assert.equal(one(e, 'kepler_node_cpu_watts', { zone: 'package' }).value, '20');
    assert.equal(one(e, 'kepler_node_cpu_active_watts', { zone: 'package' }).value, '10');
    assert.equal(one(e, 'kepler_node_cpu_usage_ratio').value, '0.5');
    // nginx: 1 of 8 CPU-s of 20 J active, then 1.5 of 8 of 30 J: 2.5 + 5.625 J.
    const nginx = one(e, 'kepler_process_cpu_joules_total', { pid: '1', zone: 'package' });
    assert.equal(nginx.value, '8.125');
    assert.equal(nginx.labels.container_id, CID);
    assert.equal(nginx.labels.type, 'container');
    assert.equal(one(e, 'kepler_process_cpu_watts', { pid: '1', zone: 'package' }).value, '1.875');
    assert.equal(one(e, 'kepler_process_cpu_seconds_total', { pid: '1' }).value, '2.5');
    const old = one(e, 'kepler_process_cpu_joules_total', { pid: '42', state: 'terminated', zone: 'package' });
    assert.equal(old.value, '8.125');
    assert.equal(one(e, 'kepler_container_cpu_joules_total', { container_id: CID, zone: 'dram' }).value, '8.125');
    assert.equal(one(e, 'kepler_pod_cpu_joules_total', { pod_id: 'pod-uid-1', zone: 'dram' }).value, '8.125');
    assert.equal(one(e, 'kepler_vm_cpu_joules_total', { vm_id: 'vm-uuid-1', zone: 'dram' }).labels.hypervisor, 'kvm');
    // Per level, workloads + unattributed = node active.
    for (const [level, fam] of [
      ['process', 'kepler_process_cpu_joules_total'],
      ['container', 'kepler_container_cpu_joules_total'],
      ['pod', 'kepler_pod_cpu_joules_total'],
      ['vm', 'kepler_vm_cpu_joules_total'],
    ]) {
      const sum = byName(e, fam, { zone: 'package' }).reduce((a, s) => a + Number(s.value), 0);
      const un = Number(one(e, 'kepler_node_cpu_unattributed_joules_total', { zone: 'package', level }).value);
      assert.ok(Math.abs(sum + un - Number(one(e, 'kepler_node_cpu_active_joules_total', { zone: 'package' }).value)) < 1e-9, level);
    }
    // Health: what the snapshot says.
    assert.equal(one(e, 'kepler_exporter_refresh_errors_total', { kind: 'process_vanished' }).value, '4');
    assert.equal(one(e, 'kepler_exporter_workloads', { level: 'process', state: 'running' }).value, '5');
    assert.equal(one(e, 'kepler_exporter_workloads', { level: 'process', state: 'terminated' }).value, '1');
    assert.equal(one(e, 'kepler_exporter_last_refresh_interval_seconds').value, '3');
    assert.equal(Number(one(e, 'kepler_exporter_last_refresh_timestamp_seconds').value), snap.timestampMs / 1000);
    assert.equal(one(e, 'kepler_exporter_refresh_duration_seconds_count').value, '3');
    assert.equal(one(e, 'kepler_exporter_refresh_duration_seconds_bucket', { le: '+Inf' }).value, '3');
    assert.deepEqual(one(e, 'kepler_exporter_meter_info').labels, { meter: 'rapl', zones: 'package,dram' });
    // Build and CPU info.
    assert.deepEqual(one(e, 'kepler_build_info').labels, {
      arch: goArch(process.arch, endianness()),
      branch: 'main',
      revision: 'abc1234',
      version: '0.1.0',
      goversion: process.version,
      nodeversion: process.version,
    });
    assert.match(one(e, 'kepler_build_info').labels.goversion, /^v\d+\.\d+\.\d+/);
    assert.equal(one(e, 'kepler_build_info').value, '1');
    assert.deepEqual(
      byName(e, 'kepler_node_cpu_info').map((s) => [s.labels.processor, s.labels.core_id, s.labels.model_name, s.value]),
      [
        ['0', '0', 'Intel(R) Xeon(R) "Gold"', '1'],
        ['1', '1', 'Intel(R) Xeon(R) "Gold"', '1'],
      ],
    );
  });

  test('label values with quotes, backslashes and newlines are escaped', () => {
    const { exporter } = setup();
    const body = exporter.render(false).body;
    const e = parseCheckedExposition(body, false);
    const weird = byName(e, 'kepler_process_cpu_joules_total', { pid: '2' });
    assert.equal(weird.length, 2);
    for (const s of weird) {
      assert.equal(s.labels.comm, WEIRD_COMM);
      assert.equal(s.labels.exe, WEIRD_EXE);
    }
    assert.ok(body.includes(String.raw`comm="a\"b\\c\nd",exe="/opt/we\"ird\\bin"`), 'escaped as the format requires');
    assert.equal(one(e, 'kepler_container_cpu_seconds_total').labels.container_name, 'web "front"');
    // Nothing broke a line: every line parsed, and no raw newline inside a label value.
    assert.ok(!body.includes('a"b'));
  });

  test('OpenMetrics: counter families are named without _total, samples keep it, and it ends with # EOF', () => {
    const { exporter } = setup();
    const om = exporter.render(true).body;
    const text = exporter.render(false).body;
    assert.match(om, /^# HELP kepler_node_cpu_joules Energy consumption of cpu at node level in joules\n# TYPE kepler_node_cpu_joules counter\n/m);
    assert.match(om, /^kepler_node_cpu_joules_total\{/m);
    assert.match(om, /^# TYPE kepler_process_cpu_seconds counter$/m);
    assert.match(om, /^# TYPE kepler_node_cpu_watts gauge$/m);
    assert.ok(om.endsWith('\n# EOF\n'));
    assert.equal(om.split('# EOF').length, 2);
    const e = parseCheckedExposition(om, true);
    for (const fam of e.families.values()) if (fam.type === 'counter') assert.ok(!fam.name.endsWith('_total'), fam.name);
    // The text format names counters with _total, has no # EOF, and carries the same series.
    assert.match(text, /^# TYPE kepler_node_cpu_joules_total counter$/m);
    assert.ok(!text.includes('# EOF'));
    const t = parseCheckedExposition(text, false);
    const withoutVolatile = (x: CheckedExposition) =>
      x.samples
        .filter((s) => !/^(process_|nodejs_|kepler_exporter_scrape)/.test(s.name))
        .map((s) => `${seriesKey(s)} ${s.value}`)
        .sort();
    assert.deepEqual(withoutVolatile(e), withoutVolatile(t));
  });

  test('processes that never used CPU are omitted', () => {
    const { exporter, snap } = setup();
    assert.ok(
      snap.processes.workloads.some((w) => w.info.pid === 3),
      'the monitor tracks it',
    );
    const e = parseCheckedExposition(exporter.render(false).body, false);
    assert.equal(e.samples.filter((s) => s.name.startsWith('kepler_process_') && s.labels.pid === '3').length, 0);
    assert.ok(e.samples.some((s) => s.name === 'kepler_process_cpu_joules_total' && s.labels.pid === '2'));
  });

  test('metricsLevel subsets export only those levels', () => {
    const kepler = (e: CheckedExposition) => [...e.families.keys()].filter((n) => n.startsWith('kepler_') && !n.startsWith('kepler_exporter_')).sort();
    {
      const e = parseCheckedExposition(setup(['node', 'pod']).exporter.render(false).body, false);
      assert.deepEqual(
        kepler(e),
        [
          ...Object.keys(NODE_FAMILIES),
          ...Object.keys(LEVEL_FAMILIES.pod),
          ...Object.keys(STATIC_FAMILIES),
          'kepler_node_cpu_unattributed_joules_total',
          'kepler_node_cpu_dropped_joules_total',
        ].sort(),
      );
      assert.deepEqual(
        byName(e, 'kepler_node_cpu_unattributed_joules_total').map((s) => s.labels.level),
        ['pod', 'pod'],
      );
      assert.deepEqual(
        byName(e, 'kepler_node_cpu_dropped_joules_total').map((s) => s.labels.level),
        ['pod', 'pod'],
      );
    }
    {
      const e = parseCheckedExposition(setup(['pod']).exporter.render(true).body, true);
      assert.deepEqual(kepler(e), ['kepler_build_info', 'kepler_node_cpu_info', 'kepler_pod_cpu_joules', 'kepler_pod_cpu_watts']);
    }
    {
      const e = parseCheckedExposition(setup(['node']).exporter.render(false).body, false);
      assert.deepEqual(kepler(e), [...Object.keys(NODE_FAMILIES), ...Object.keys(STATIC_FAMILIES)].sort());
    }
  });

  test('an empty node (no workloads) still renders valid expositions', () => {
    const zones = [new FakeZone('package', 0, 'p')];
    const monitor = new PowerMonitor({
      zones,
      resources: { refresh: () => sample({ baseline: true }) },
      intervalMs: 0,
      stalenessMs: 500,
      maxTerminated: 500,
      minTerminatedEnergyThresholdJ: 10,
      logger: silent,
    });
    const exporter: PrometheusExporter = new PrometheusExporter(monitor, silent);
    exporter.register(...collectors(['node', 'process', 'container', 'vm', 'pod'], () => exporter, []));
    for (const om of [false, true]) {
      const e = parseCheckedExposition(exporter.render(om).body, om);
      assert.equal(one(e, 'kepler_node_cpu_joules_total').value, '0');
      assert.equal(byName(e, 'kepler_process_cpu_joules_total').length, 0);
    }
  });
});

describe('idle power in the exposition (monitor.idle)', () => {
  const IDLE_FAMILIES: Record<string, Spec> = {
    kepler_process_cpu_idle_joules_total: { type: 'counter', help: 'Energy consumption of cpu in idle state at process level in joules', labels: PROC },
    kepler_container_cpu_idle_joules_total: { type: 'counter', help: 'Energy consumption of cpu in idle state at container level in joules', labels: CONT },
    kepler_vm_cpu_idle_joules_total: { type: 'counter', help: 'Energy consumption of cpu in idle state at vm level in joules', labels: VM },
    kepler_pod_cpu_idle_joules_total: { type: 'counter', help: 'Energy consumption of cpu in idle state at pod level in joules', labels: POD },
  };
  const UNATTRIBUTED_IDLE: Spec = { type: 'counter', help: /^Idle energy of cpu at node level that no workload series of the level carries/, labels: ['zone', 'level'] };
  const BASELINE: Spec = { type: 'gauge', help: /^Power of cpu at zero load at node level in watts/, labels: ['zone', 'path', 'source'] };
  const LEVEL_NAMES = ['process', 'container', 'vm', 'pod'] as const;
  const uj = (v: string) => Math.round(Number(v) * 1e6);

  /** Per zone and level: the workload series' idle + the unattributed idle = the node's idle, to the µJ. */
  function assertIdleAddsUp(e: CheckedExposition, msg: string) {
    for (const zone of ['package', 'dram']) {
      const nodeIdle = uj(one(e, 'kepler_node_cpu_idle_joules_total', { zone }).value);
      for (const level of LEVEL_NAMES) {
        const series = byName(e, `kepler_${level}_cpu_idle_joules_total`, { zone }).reduce((a, x) => a + uj(x.value), 0);
        const un = uj(one(e, 'kepler_node_cpu_unattributed_idle_joules_total', { zone, level }).value);
        assert.equal(series + un, nodeIdle, `${msg}: ${level}/${zone}`);
      }
    }
  }

  test('none (the default): no idle family of workloads, no unattributed idle', () => {
    for (const model of ['usage-ratio', 'baseline'] as const) {
      const e = parseCheckedExposition(setup(undefined, { model, attribution: 'none' }).exporter.render(false).body, false);
      for (const name of [...Object.keys(IDLE_FAMILIES), 'kepler_node_cpu_unattributed_idle_joules_total']) assert.ok(!e.families.has(name), `${model}: ${name}`);
    }
  });

  for (const openMetrics of [false, true]) {
    test(`${openMetrics ? 'OpenMetrics' : 'text'}: cpu: the idle families with the level's labels and help in Kepler's pattern, and the unattributed idle per zone and level`, () => {
      const { exporter } = setup(undefined, { model: 'usage-ratio', attribution: 'cpu' });
      const e = parseCheckedExposition(exporter.render(openMetrics).body, openMetrics);
      for (const [name, spec] of Object.entries(IDLE_FAMILIES)) assert.ok(checkFamily(e, name, spec, openMetrics).samples.length > 0, name);
      const un = checkFamily(e, 'kepler_node_cpu_unattributed_idle_joules_total', UNATTRIBUTED_IDLE, openMetrics);
      assert.deepEqual(un.samples.map((x) => `${x.labels.level}/${x.labels.zone}`).sort(), LEVEL_NAMES.flatMap((l) => [`${l}/dram`, `${l}/package`]).sort());
    });
  }

  test("cpu: each workload's idle in proportion to its CPU time (with Kepler's split, the same as its active energy at 50 % usage); everything adds up to the node's idle", () => {
    const { exporter, monitor, snap, step } = setup(undefined, { model: 'usage-ratio', attribution: 'cpu' });
    const e = parseCheckedExposition(exporter.render(false).body, false);
    // nginx: 1 of 8 CPU-s of 20 J idle, then 1.5 of 8 of 30 J: 2.5 + 5.625 J.
    assert.equal(one(e, 'kepler_process_cpu_idle_joules_total', { pid: '1', zone: 'package' }).value, '8.125');
    assert.equal(one(e, 'kepler_process_cpu_idle_joules_total', { pid: '42', state: 'terminated', zone: 'package' }).value, '8.125');
    assert.equal(one(e, 'kepler_container_cpu_idle_joules_total', { container_id: CID, zone: 'dram' }).value, '8.125');
    assert.equal(byName(e, 'kepler_process_cpu_idle_joules_total', { pid: '3' }).length, 0, 'a process that never ran has no series');
    assertIdleAddsUp(e, 'after three refreshes');
    // Once a scrape has shown it, the terminated pid 42 leaves the exposition: its idle joins the
    // unattributed idle, and the sums still hold.
    monitor.acknowledgeExport(snap);
    step();
    monitor.refresh();
    const e2 = parseCheckedExposition(exporter.render(false).body, false);
    assert.equal(byName(e2, 'kepler_process_cpu_idle_joules_total', { pid: '42', state: 'terminated' }).length, 0);
    assertIdleAddsUp(e2, 'after pid 42 left');
  });

  test("request: the container's request pays for all of it, and its pod; processes and VMs have none, so their level's idle is all unattributed", () => {
    const { exporter, snap } = setup(undefined, { model: 'usage-ratio', attribution: 'request' });
    const e = parseCheckedExposition(exporter.render(false).body, false);
    const idle = formatJoules(snap.zones[0].idleUj);
    assert.equal(idle, '50');
    assert.equal(one(e, 'kepler_container_cpu_idle_joules_total', { container_id: CID, zone: 'package' }).value, idle);
    assert.equal(one(e, 'kepler_pod_cpu_idle_joules_total', { pod_id: 'pod-uid-1', zone: 'package' }).value, idle);
    assert.equal(one(e, 'kepler_node_cpu_unattributed_idle_joules_total', { zone: 'package', level: 'process' }).value, idle);
    assert.equal(one(e, 'kepler_node_cpu_unattributed_idle_joules_total', { zone: 'package', level: 'vm' }).value, idle);
    assert.equal(one(e, 'kepler_node_cpu_unattributed_idle_joules_total', { zone: 'package', level: 'container' }).value, '0');
    assertIdleAddsUp(e, 'request');
  });

  test('even: every workload that has used CPU gets the same idle', () => {
    const { exporter } = setup(undefined, { model: 'baseline', attribution: 'even', pinnedWatts: { package: 4, dram: 1 } });
    const e = parseCheckedExposition(exporter.render(false).body, false);
    // Interval 1: 4 processes ran (nginx, weird, qemu, the old job): 8 J / 4 each; interval 2: 5 (the new job too): 12 J / 5.
    assert.equal(one(e, 'kepler_process_cpu_idle_joules_total', { pid: '1', zone: 'package' }).value, '4.4');
    assert.equal(one(e, 'kepler_process_cpu_idle_joules_total', { pid: '42', state: 'running', zone: 'package' }).value, '2.4');
    assertIdleAddsUp(e, 'even');
  });

  test('baseline model: kepler_node_cpu_idle_baseline_watts per zone with its source; idle watts are the baseline, active the rest', () => {
    const { exporter } = setup(['node'], { model: 'baseline', attribution: 'none', pinnedWatts: { package: 5 } });
    const e = parseCheckedExposition(exporter.render(false).body, false);
    const fam = checkFamily(e, 'kepler_node_cpu_idle_baseline_watts', BASELINE, false);
    assert.deepEqual(
      fam.samples.map((x) => [x.labels.zone, x.labels.source, x.value]),
      [
        ['package', 'pinned', '5'],
        // dram is learned: the first interval (40 J over 2 s) is the lowest power seen so far.
        ['dram', 'lowest', '20'],
      ],
    );
    assert.equal(one(e, 'kepler_node_cpu_idle_watts', { zone: 'package' }).value, '5');
    assert.equal(one(e, 'kepler_node_cpu_active_watts', { zone: 'package' }).value, '15');
    assert.equal(one(e, 'kepler_node_cpu_idle_joules_total', { zone: 'package' }).value, '25', '5 W over 2 s, then over 3 s');
    assert.equal(one(e, 'kepler_node_cpu_idle_watts', { zone: 'dram' }).value, '20');
    assert.equal(one(e, 'kepler_node_cpu_active_watts', { zone: 'dram' }).value, '0');
    // With Kepler's split there is no baseline to show.
    assert.ok(!parseCheckedExposition(setup(['node']).exporter.render(false).body, false).families.has('kepler_node_cpu_idle_baseline_watts'));
  });
});

describe('monitor.idle wiring in Application', () => {
  const FAKE_YAML = join(process.cwd(), 'examples', 'fake-meter.yaml'); // zones package, core, dram
  const XEON = join(process.cwd(), 'test', 'fixtures', 'host', 'intel-xeon-2s');
  const config = (flags: string[], file: string[] = [`--config.file=${FAKE_YAML}`]) => {
    const r = loadConfig([...file, `--kube.node-name=${NODE}`, '--web.listen-address=127.0.0.1:0', ...flags], {});
    if (r.kind !== 'run') throw new Error(`loadConfig: ${r.kind}`);
    return r.config;
  };

  test("a zone in monitor.idle.watts that the meter does not have: one line naming the key, the zone and the meter's zones; exit 2", () => {
    assert.throws(
      () => new Application(config(['--monitor.idle.watts=package=35', '--monitor.idle.watts=gpu=3']), silent),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError, String(err));
        assert.equal(err.message, "config: monitor.idle.watts.gpu: unknown zone: expected one of the fake meter's zones: package, core, dram");
        return true;
      },
    );
    const r = spawnSync(
      process.execPath,
      [join(process.cwd(), 'dist', 'src', 'cli', 'main.js'), `--config.file=${FAKE_YAML}`, '--monitor.idle.watts=gpu=3', '--web.listen-address=127.0.0.1:0'],
      {
        encoding: 'utf8',
        timeout: 20_000,
      },
    );
    assert.equal(r.status, 2, r.stderr);
    const errors = `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.includes('monitor.idle.watts'));
    assert.equal(errors.length, 1, `${r.stdout}${r.stderr}`);
    assert.match(errors[0], /level=ERROR msg="config: monitor\.idle\.watts\.gpu: unknown zone: expected one of the fake meter's zones: package, core, dram"$/);
  });

  test('says once where each zone idle power comes from; pinned watts reach the monitor', () => {
    const { logger, lines } = captureLogger();
    const app = new Application(config(['--monitor.idle.watts=package=35', '--monitor.idle.attribution=cpu']), logger);
    const said = lines.filter((l) => l.msg === 'idle power');
    assert.equal(said.length, 1);
    assert.deepEqual(said[0].fields.model, 'baseline');
    assert.deepEqual(said[0].fields.attribution, 'cpu');
    assert.match(String(said[0].fields.zones), /^package: pinned 35 W; core: learned .*; dram: learned /);
    const s = app.monitor.refresh();
    app.monitor.stop();
    assert.deepEqual(
      s.zones.map((z) => [z.name, z.idleBaseline?.source, z.idleBaseline?.watts]),
      [
        ['package', 'pinned', 35],
        ['core', 'usage-ratio', 0],
        ['dram', 'usage-ratio', 0],
      ],
    );
    assert.equal(s.idleAttribution, 'cpu');
    assert.ok(s.containers.idle, 'the levels carry idle');
  });

  test("the estimator's zones take the model's own zero-load watts", () => {
    const { logger, lines } = captureLogger();
    const app = new Application(config(['--cpu.preferred-meters=estimator', `--host.procfs=${join(XEON, 'proc')}`, `--host.sysfs=${join(XEON, 'sys')}`], []), logger);
    const s = app.monitor.refresh();
    app.monitor.stop();
    assert.ok(app.meter.meter instanceof EstimatorMeter);
    const idle = app.meter.meter.idleWatts();
    assert.deepEqual(Object.keys(idle), ['package', 'dram', 'platform']);
    assert.ok(idle.platform > idle.package && idle.package > 0 && idle.dram > 0, JSON.stringify(idle));
    assert.deepEqual(
      s.zones.map((z) => [z.name, z.idleBaseline?.source, z.idleBaseline?.watts]),
      Object.entries(idle).map(([name, w]) => [name, 'estimator', w]),
    );
    assert.match(String(lines.find((l) => l.msg === 'idle power')?.fields.zones), /^package: estimator [\d.]+ W; dram: estimator [\d.]+ W; platform: estimator [\d.]+ W$/);
  });

  test('usage-ratio: Kepler split, no baseline; pinned watts are ignored, and the log says so', () => {
    const { logger, lines } = captureLogger();
    const app = new Application(config(['--monitor.idle.model=usage-ratio', '--monitor.idle.watts=dram=4']), logger);
    const s = app.monitor.refresh();
    app.monitor.stop();
    assert.deepEqual(
      s.zones.map((z) => z.idleBaseline),
      [undefined, undefined, undefined],
    );
    assert.ok(lines.some((l) => l.level === 'WARN' && /monitor\.idle\.watts is ignored/.test(l.msg)));
  });
});

describe('kepler_build_info', () => {
  test("goArch: Node's process.arch in Go's GOARCH names, ppc64 by byte order (pure)", () => {
    const cases: [string, 'LE' | 'BE', string][] = [
      ['x64', 'LE', 'amd64'],
      ['arm64', 'LE', 'arm64'],
      ['ia32', 'LE', '386'],
      ['arm', 'LE', 'arm'],
      ['ppc64', 'LE', 'ppc64le'],
      ['ppc64', 'BE', 'ppc64'],
      ['s390x', 'BE', 's390x'],
      ['riscv64', 'LE', 'riscv64'],
      ['loong64', 'LE', 'loong64'],
      ['mips', 'BE', 'mips'],
      ['mipsel', 'LE', 'mipsle'],
      ['mips64el', 'LE', 'mips64le'],
      ['wasm32', 'LE', 'wasm32'], // no Go name: Node's kept
    ];
    for (const [arch, order, want] of cases) assert.equal(goArch(arch, order), want, `${arch} ${order}`);
  });

  test("labels: Kepler's arch, branch, revision, version, goversion (the Node.js runtime version), then nodeversion (ours)", () => {
    const labels = buildInfoLabels({ version: '0.2.0', revision: '0123456789ab', branch: 'main' }, { arch: 'x64', endianness: 'LE', version: 'v20.11.1' });
    assert.deepEqual(Object.entries(labels), [
      ['arch', 'amd64'],
      ['branch', 'main'],
      ['revision', '0123456789ab'],
      ['version', '0.2.0'],
      ['goversion', 'v20.11.1'],
      ['nodeversion', 'v20.11.1'],
    ]);
    assert.equal(buildInfoLabels({ version: 'x', revision: 'y', branch: 'z' }, { arch: 'ppc64', endianness: 'LE', version: 'v22.1.0' }).arch, 'ppc64le');
  });
});

describe('pods without Kubernetes metadata', () => {
  test('a pod known only by the UID in its cgroup path: series with pod_id, and pod_name, pod_namespace written as "" (the same label set as with Kubernetes)', () => {
    const zones = [new FakeZone('package', 0, 'p')];
    const clock = { now: 1_000 };
    let next = sample({ baseline: true });
    const monitor = new PowerMonitor({
      zones,
      resources: { refresh: () => next },
      intervalMs: 0,
      stalenessMs: 500,
      maxTerminated: 500,
      minTerminatedEnergyThresholdJ: 0,
      logger: silent,
      clock: () => clock.now,
    });
    const exporter: PrometheusExporter = new PrometheusExporter(monitor, silent);
    exporter.register(...collectors(['pod'], () => exporter, []));
    const bare: PodInfo = { key: 'uid-7', id: 'uid-7', name: '', namespace: '', cpuRequestCores: 0 };
    monitor.refresh();
    zones[0].counter += 10_000_000;
    clock.now += 1000;
    next = sample({ nodeActiveCpuSec: 2, nodeTotalCpuSec: 4, usageRatio: 0.5, pods: [cpu(bare, 1, 1)] });
    monitor.refresh();
    const text = exporter.render(false).body;
    assert.match(text, /^kepler_pod_cpu_joules_total\{node_name="node-1",pod_id="uid-7",pod_name="",pod_namespace="",state="running",zone="package"\} 2\.5$/m);
    const e = parseCheckedExposition(text, false);
    checkFamily(e, 'kepler_pod_cpu_watts', LEVEL_FAMILIES.pod.kepler_pod_cpu_watts, false);
  });
});

// ---------- over HTTP ----------

function request(port: number, method: string, headers: Record<string, string>): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/metrics', method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('scrape over HTTP', () => {
  let server: WebServer;
  let port = 0;
  let ctx: ReturnType<typeof setup>;

  before(async () => {
    ctx = setup();
    server = new WebServer({ listenAddresses: ['127.0.0.1:0'], webConfigFile: '', logger: silent });
    server.route('/metrics', ctx.exporter.handle);
    await server.start();
    port = server.addresses()[0].port;
  });
  after(() => server.close(1000));

  const get = (headers: Record<string, string>) => request(port, 'GET', headers);

  test('OpenMetrics with gzip, then text; a terminated process is shown by one scrape only', async () => {
    const r = await get({ Accept: 'application/openmetrics-text;version=1.0.0', 'Accept-Encoding': 'gzip' });
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], OPENMETRICS_CONTENT_TYPE);
    assert.equal(r.headers['content-type'], 'application/openmetrics-text; version=1.0.0; charset=utf-8');
    assert.equal(r.headers['content-encoding'], 'gzip');
    assert.equal(Number(r.headers['content-length']), r.body.length);
    assert.deepEqual([...r.body.subarray(0, 2)], [0x1f, 0x8b]);
    const om = gunzipSync(r.body).toString('utf8');
    const e = parseCheckedExposition(om, true);
    assert.ok(e.families.has('kepler_node_cpu_joules'));
    assert.equal(one(e, 'kepler_exporter_scrapes_total').value, '0');
    assert.equal(byName(e, 'kepler_process_cpu_joules_total', { pid: '42', state: 'terminated' }).length, 2);

    // Next refresh, then a plain scrape (what curl sends).
    ctx.step();
    const t = await get({});
    assert.equal(t.status, 200);
    assert.equal(t.headers['content-type'], TEXT_CONTENT_TYPE);
    assert.equal(t.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    assert.equal(t.headers['content-encoding'], undefined);
    const text = t.body.toString('utf8');
    const te = parseCheckedExposition(text, false);
    assert.equal(one(te, 'kepler_exporter_scrapes_total').value, '1');
    assert.equal(one(te, 'kepler_exporter_scrape_size_bytes').value, String(Buffer.byteLength(om)));
    assert.equal(byName(te, 'kepler_process_cpu_joules_total', { pid: '42', state: 'terminated' }).length, 0, 'shown once, then dropped');
    assert.equal(byName(te, 'kepler_process_cpu_joules_total', { pid: '42', state: 'running' }).length, 2);
    assert.equal(one(te, 'kepler_exporter_last_refresh_interval_seconds').value, '1');
    assert.equal(Number(one(te, 'kepler_node_cpu_joules_total', { zone: 'package' }).value), 110);
  });

  test("Prometheus's own Accept header gets OpenMetrics, a text-only one gets text", async () => {
    const prom = await get({ Accept: 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1' });
    assert.equal(prom.headers['content-type'], OPENMETRICS_CONTENT_TYPE);
    assert.ok(prom.body.toString('utf8').endsWith('# EOF\n'));
    const txt = await get({ Accept: 'text/plain;version=0.0.4', 'Accept-Encoding': 'gzip' });
    assert.equal(txt.headers['content-type'], TEXT_CONTENT_TYPE);
    parseCheckedExposition(gunzipSync(txt.body).toString('utf8'), false);
  });

  test('q-values count: q=0 refuses OpenMetrics or gzip; Prometheus 3 still gets OpenMetrics with gzip', async () => {
    const prom3 = await get({ Accept: PROMETHEUS_3_ACCEPT, 'Accept-Encoding': 'gzip' });
    assert.equal(prom3.headers['content-type'], OPENMETRICS_CONTENT_TYPE);
    assert.equal(prom3.headers['content-encoding'], 'gzip');
    assert.ok(gunzipSync(prom3.body).toString('utf8').endsWith('# EOF\n'));
    const noOm = await get({ Accept: 'application/openmetrics-text;q=0, text/plain' });
    assert.equal(noOm.headers['content-type'], TEXT_CONTENT_TYPE);
    const noGzip = await get({ 'Accept-Encoding': 'gzip;q=0' });
    assert.equal(noGzip.headers['content-encoding'], undefined);
    assert.equal(Number(noGzip.headers['content-length']), noGzip.body.length);
    parseCheckedExposition(noGzip.body.toString('utf8'), false);
    const browser = await get({ 'Accept-Encoding': 'gzip, deflate, br' });
    assert.equal(browser.headers['content-encoding'], 'gzip');
  });
});

// Prometheus 3's scrape Accept header (scrape_protocols default order).
const PROMETHEUS_3_ACCEPT =
  'application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,' +
  'text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2';

describe('content negotiation', () => {
  test('negotiateFormat: the q-values decide; text when nothing we offer is asked for', () => {
    const cases: [string | undefined, 'text' | 'openmetrics'][] = [
      [undefined, 'text'], // curl
      ['', 'text'],
      ['*/*', 'text'],
      ['application/json', 'text'], // nothing we offer: text, as client_golang does
      ['text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', 'text'], // a browser
      [PROMETHEUS_3_ACCEPT, 'openmetrics'],
      ['application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1', 'openmetrics'],
      ['application/openmetrics-text', 'openmetrics'],
      ['APPLICATION/OpenMetrics-Text; Version=1.0.0', 'openmetrics'],
      ['application/*', 'openmetrics'],
      ['application/openmetrics-text;q=0, text/plain', 'text'],
      ['application/openmetrics-text;q=0', 'text'],
      ['application/openmetrics-text;q=0, */*', 'text'], // the specific q=0 wins over the wildcard
      ['text/plain;q=0.5, application/openmetrics-text;q=0.6', 'openmetrics'],
      ['text/plain;q=0.6, application/openmetrics-text;q=0.5', 'text'],
      ['text/plain, application/openmetrics-text', 'text'], // a tie: ours first
      ['application/openmetrics-text;foo="a,b;q=0";q=0.9, text/plain;q=0.1', 'openmetrics'], // quoted , and ;
      ['application/openmetrics-text;foo="x\\";q=0";q=0.9, text/plain;q=0.1', 'openmetrics'], // an escaped quote
      ['text/plain ; version=0.0.4 ; q=0.2 , application/openmetrics-text ; q=0.1', 'text'], // spaces around ;
      ['text/plain;q=0, */*;q=0.1', 'openmetrics'],
    ];
    for (const [accept, want] of cases) assert.equal(negotiateFormat(accept), want, String(accept));
  });

  test("acceptsGzip: only when its q is above 0 and at least identity's", () => {
    const cases: [string | undefined, boolean][] = [
      [undefined, false],
      ['', false],
      ['gzip', true],
      ['GZIP', true],
      ['gzip, deflate, br', true],
      ['br;q=1.0, gzip;q=0.8, *;q=0.1', true],
      ['*', true],
      ['gzip;q=0', false],
      ['gzip;q=0.0, deflate', false],
      ['deflate, br', false],
      ['gzip;q=0.5, identity', false],
      ['identity, gzip', true], // a tie: gzip
      ['identity;q=0.5, gzip;q=0.5', true],
      ['*;q=0', false],
      ['*, gzip;q=0', false],
      ['identity;q=0, gzip;q=0.1', true],
    ];
    for (const [enc, want] of cases) assert.equal(acceptsGzip(enc), want, String(enc));
  });
});

describe('HEAD /metrics', () => {
  test('shows no body and does not use up the one showing of terminated workloads', async () => {
    const { exporter, step } = setup();
    const server = new WebServer({ listenAddresses: ['127.0.0.1:0'], webConfigFile: '', logger: silent });
    server.route('/metrics', exporter.handle);
    await server.start();
    try {
      const port = server.addresses()[0].port;
      const head = await request(port, 'HEAD', {});
      assert.equal(head.status, 200);
      assert.equal(head.body.length, 0);
      assert.ok(Number(head.headers['content-length']) > 0);
      step(); // the next GET gets a new snapshot, in which the old job is kept only if not yet shown
      const e = parseCheckedExposition((await request(port, 'GET', {})).body.toString('utf8'), false);
      assert.equal(byName(e, 'kepler_process_cpu_joules_total', { pid: '42', state: 'terminated' }).length, 2);
    } finally {
      await server.close(1000);
    }
  });
});

// ---------- stdout ----------

describe('StdoutExporter', () => {
  function snapWithProcesses(): Snapshot {
    const zones = [new FakeZone('package', 0, '/sys/class/powercap/intel-rapl:0'), new FakeZone('dram', 0, '/sys/class/powercap/intel-rapl:0/intel-rapl:0:0')];
    const clock = { now: 0 };
    const procs = Array.from({ length: 7 }, (_, i) => ({
      key: `${100 + i}@1`,
      pid: 100 + i,
      comm: `worker${i}`,
      exe: '/bin/w',
      type: 'regular',
      containerId: '',
      vmId: '',
      kernelThread: false,
    })) as ProcessInfo[];
    const ended = { ...procs[0], key: '999@1', pid: 999, comm: 'gone' };
    let next = sample({ baseline: true, processes: procs.map((p) => cpu(p, 0, 0)) });
    const monitor = new PowerMonitor({
      zones,
      resources: { refresh: () => next },
      intervalMs: 0,
      stalenessMs: 500,
      maxTerminated: 500,
      minTerminatedEnergyThresholdJ: 0,
      logger: silent,
      clock: () => clock.now,
      wallClock: () => Date.UTC(2026, 0, 2, 3, 4, 5),
    });
    monitor.refresh();
    zones[0].counter += 28_000_000;
    zones[1].counter += 7_000_000;
    clock.now += 2000;
    // worker i uses i+1 CPU-s; the ended one used the most.
    next = sample({
      nodeActiveCpuSec: 40,
      usageRatio: 1,
      processes: [...procs.map((p, i) => cpu(p, i + 1, i + 1)), cpu(ended, 12, 12, true)],
    });
    const lines: string[] = [];
    monitor.onSnapshot(new StdoutExporter((t) => lines.push(t)).onSnapshot);
    const s = monitor.refresh();
    assert.equal(lines.length, 1);
    assert.equal(lines[0], formatSnapshot(s));
    return s;
  }

  test('lists the zones and the top five running workloads by power', () => {
    const out = formatSnapshot(snapWithProcesses());
    const lines = out.trimEnd().split('\n');
    assert.match(lines[0], /snapshot 2 at 2026-01-02T03:04:05\.000Z \(interval 2\.00 s, usage 100\.0 %\)/);
    assert.match(lines[1], /^node\s+package\s+14\.00 W\s+active\s+14\.00 W\s+total 28 J\s+\(\/sys\/class\/powercap\/intel-rapl:0\)$/);
    assert.match(lines[2], /^node\s+dram\s+3\.50 W\s+active\s+3\.50 W\s+total 7 J\s+\(\/sys\/class\/powercap\/intel-rapl:0\/intel-rapl:0:0\)$/);
    const procLines = lines.filter((l) => l.startsWith('process'));
    // 28 J over 40 CPU-s in 2 s: worker i gets (i+1) x 0.35 W.
    assert.deepEqual(
      procLines.map((l) => l.replace(/\s+/g, ' ')),
      ['process 2.45 W 106 worker6', 'process 2.10 W 105 worker5', 'process 1.75 W 104 worker4', 'process 1.40 W 103 worker3', 'process 1.05 W 102 worker2'],
    );
    assert.ok(!out.includes('gone'), 'terminated workloads are not listed');
  });
});
