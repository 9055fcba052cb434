// The README's "Migrating from Kepler", metrics and behaviour: every row, against the real
// exporter and the real Prometheus. Two exporters read one RAPL tree (two sockets whose counters
// wrap) and this machine's real processes: one with the defaults, scraped by Prometheus, and one
// with the Kepler 0.7 family on. A metric row's status says where its names must appear: "same"
// in the default exposition, "same with legacyMetrics" only in the 0.7 one, "not exported" in
// neither, and "replaced" in neither while its query answers in Prometheus. Each behaviour row has
// a check below; a row without one, or a check without a row, fails.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import { randomHex, randomUid } from '../../harness/ids.js';
import { parseExposition, select, type Exposition } from '../support/exposition.js';
import { codeSpans, expandBraces, migrationTable } from '../support/migrationGuide.js';
import { buildFakeNvml, type FakeNvml } from '../../harness/fakeNvml.js';
import { PrometheusServer } from '../support/prometheus.js';
import {
  CGROUP_ROOT,
  cgroupV2Root,
  freePort,
  killGroup,
  MAIN,
  removeCgroups,
  requireCommand,
  runInCgroup,
  startExporter,
  stopInCgroup,
  type CgroupProcess,
  type Exporter,
} from '../support/processes.js';
import { RaplTree } from '../support/raplTree.js';

/** A package counter range a few seconds long at these watts, so that it wraps during the run. */
const PACKAGE_RANGE_UJ = 30_000_000;
const SCRAPES = 12;

/** Go's GOARCH for Node's process.arch, the values Kepler's kepler_build_info{arch} takes. */
const GO_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', ia32: '386', arm: 'arm', s390x: 's390x', ppc64: 'ppc64le', riscv64: 'riscv64', loong64: 'loong64' };

/** Runs kepler-ts to its end (or for `ms`), with both output streams. */
function runMain(args: string[], ms: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGTERM'), ms);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

async function exposition(e: Exporter, path = '/metrics'): Promise<{ text: string; parsed: Exposition }> {
  const text = await (await fetch(`${e.url}${path}`, { headers: { Accept: 'text/plain' } })).text();
  return { text, parsed: parseExposition(text) };
}

/** Metric families of an exposition, name to type, from its TYPE lines. */
function families(text: string): Map<string, string> {
  return new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]));
}

/**
 * Kepler's label names per metric (its docs/user/metrics.md; the 0.7 family from Kepler 0.7's
 * exporter), the first pattern that matches. A "same" row's series must carry exactly these,
 * plus the label names its status cell names in code (`nodeversion`).
 */
const KEPLER_LABELS: [RegExp, string[]][] = [
  [/^kepler_platform_watts$/, ['node_name', 'source', 'bmc_id', 'chassis_id', 'source_id', 'source_name', 'source_type']],
  [/^kepler_node_gpu_/, ['node_name', 'gpu', 'gpu_uuid', 'gpu_name', 'vendor']],
  [/^kepler_process_gpu_/, ['node_name', 'pid', 'comm', 'exe', 'type', 'state', 'container_id', 'vm_id', 'gpu', 'gpu_uuid']],
  [/^kepler_container_gpu_/, ['node_name', 'container_id', 'container_name', 'runtime', 'state', 'pod_id', 'gpu', 'gpu_uuid']],
  [/^kepler_vm_gpu_/, ['node_name', 'vm_id', 'vm_name', 'hypervisor', 'state', 'gpu', 'gpu_uuid']],
  [/^kepler_pod_gpu_/, ['node_name', 'pod_id', 'pod_name', 'pod_namespace', 'state', 'gpu', 'gpu_uuid']],
  [/^kepler_node_cpu_usage_ratio$/, ['node_name']],
  [/^kepler_node_cpu_info$/, ['processor', 'vendor_id', 'model_name', 'physical_id', 'core_id']],
  [/^kepler_node_cpu_/, ['node_name', 'zone', 'path']],
  [/^kepler_process_cpu_seconds_total$/, ['node_name', 'pid', 'comm', 'exe', 'type', 'container_id', 'vm_id']],
  [/^kepler_process_cpu_/, ['node_name', 'pid', 'comm', 'exe', 'type', 'state', 'container_id', 'vm_id', 'zone']],
  [/^kepler_container_cpu_seconds_total$/, ['node_name', 'container_id', 'container_name', 'runtime', 'state', 'pod_id']],
  [/^kepler_container_cpu_/, ['node_name', 'container_id', 'container_name', 'runtime', 'state', 'zone', 'pod_id']],
  [/^kepler_vm_cpu_/, ['node_name', 'vm_id', 'vm_name', 'hypervisor', 'state', 'zone']],
  [/^kepler_pod_cpu_/, ['node_name', 'pod_id', 'pod_name', 'pod_namespace', 'state', 'zone']],
  [/^kepler_build_info$/, ['arch', 'branch', 'revision', 'version', 'goversion']],
  [/^kepler_node_info$/, ['cpu_architecture', 'components_power_source', 'platform_power_source']],
];

/** Kepler 0.7's label names: its gpu names are also Kepler 0.11's, in one family (the series with `mode` are 0.7's). */
const KEPLER_07_LABELS: [RegExp, string[]][] = [
  [/^kepler_node_[a-z]+_joules_total$/, ['package', 'instance', 'mode', 'source']],
  [/^kepler_container_([a-z]+_)?joules_total$/, ['container_id', 'pod_name', 'container_name', 'container_namespace', 'mode', 'source']],
  [/^kepler_process_([a-z]+_)?joules_total$/, ['pid', 'container_id', 'vm_id', 'command', 'mode', 'source']],
  [/^kepler_vm_[a-z]+_joules_total$/, ['vm_id', 'mode', 'source']],
];

/** A "same" row's metric as exported: Kepler's type (counters end in _total) and labels, plus `extra`. */
function assertSame(metric: string, text: string, extra: string[], kepler07 = false): void {
  assert.equal(families(text).get(metric), metric.endsWith('_total') ? 'counter' : 'gauge', `${metric}: type`);
  const labels = kepler07 ? [...KEPLER_07_LABELS, ...KEPLER_LABELS] : [...KEPLER_LABELS, ...KEPLER_07_LABELS];
  const kepler = labels.find(([re]) => re.test(metric))?.[1];
  assert.ok(kepler, `${metric}: Kepler's labels are not known to this test`);
  // A 0.7 row's gpu names also have Kepler 0.11's series (with `gpu`) in the family: not the row's.
  const samples = select(parseExposition(text), metric).filter((s) => !kepler07 || s.labels.gpu === undefined);
  assert.ok(samples.length > 0, `${metric}: no series`);
  for (const s of samples) assert.deepEqual(Object.keys(s.labels).sort(), [...kepler, ...extra].sort(), `${metric}: labels of ${JSON.stringify(s.labels)}`);
}

describe('README, Migrating from Kepler: metrics and behaviour, on the real exporter and Prometheus', { timeout: 240_000 }, () => {
  const v2 = cgroupV2Root();
  const tmp = mkdtempSync(join(tmpdir(), 'kepler-migration-'));
  const sysfs = join(tmp, 'sys');
  const podUid = randomUid();
  const ids = { pod: randomHex(64), docker: randomHex(64) };
  const cgroups: CgroupProcess[] = [];
  let idle: ChildProcess;
  let vm: ChildProcess;
  let tree: RaplTree;
  let current: Exporter; // the defaults
  let legacy: Exporter; // the Kepler 0.7 family and --debug.pprof on
  let prom: PrometheusServer;
  let nvml: FakeNvml;
  let defaultText = '';
  let legacyText = '';

  before(async () => {
    requireCommand('stress-ng');
    requireCommand('prometheus');
    mkdirSync(join(sysfs, 'fs'), { recursive: true });
    symlinkSync(CGROUP_ROOT, join(sysfs, 'fs', 'cgroup'));
    tree = new RaplTree(sysfs, [
      { dir: 'intel-rapl:0', name: 'package-0', zone: 'package', idleWatts: 10, maxWatts: 40, maxRangeUj: PACKAGE_RANGE_UJ },
      { dir: 'intel-rapl:0:0', name: 'core', zone: 'core', idleWatts: 2, maxWatts: 30, maxRangeUj: 50_000_000 },
      { dir: 'intel-rapl:0:2', name: 'dram', zone: 'dram', idleWatts: 3, maxWatts: 6, maxRangeUj: 65_000_000 },
      { dir: 'intel-rapl:1', name: 'package-1', zone: 'package', idleWatts: 10, maxWatts: 40, maxRangeUj: PACKAGE_RANGE_UJ },
      { dir: 'intel-rapl:2', name: 'psys', zone: 'psys', idleWatts: 30, maxWatts: 120, maxRangeUj: 200_000_000 },
    ]);
    // An idle process that exists before the exporters start; a pod's container and a Docker
    // container doing light work; a VM as the exporter sees one (a loop under qemu's name).
    idle = spawn('sleep', ['600'], { stdio: 'ignore', detached: true });
    cgroups.push(runInCgroup(join(v2, 'kubepods', 'besteffort', `pod${podUid}`, ids.pod), 'exec stress-ng --cpu 1 --cpu-load 30 --timeout 600 -q'));
    cgroups.push(runInCgroup(join(v2, 'system.slice', `docker-${ids.docker}.scope`), 'exec stress-ng --cpu 1 --cpu-load 10 --timeout 600 -q'));
    vm = spawn('bash', ['-c', `exec -a qemu-system-x86_64 perl -e 'while(1){ for(1..20000){} select(undef,undef,undef,0.01) }' -- -name guest=migration-vm -uuid ${randomUid()}`], {
      stdio: 'ignore',
      detached: true,
    });
    tree.start(100);
    tree.resume();
    // The platform firmware's whole-machine power (ACPI power_meter), read as platform power.
    const acpi = join(sysfs, 'class', 'hwmon', 'hwmon0', 'device');
    mkdirSync(acpi, { recursive: true });
    writeFileSync(join(acpi, 'name'), 'power_meter\n');
    writeFileSync(join(acpi, 'power1_average'), '180000000\n');
    // A GPU (a fake libnvidia-ml.so.1) shared by the pod's container and the VM.
    nvml = buildFakeNvml();
    nvml.write({
      gpus: [{ uuid: 'GPU-6d000000-0000-4000-8000-000000000000', name: 'NVIDIA A100-SXM4-40GB', energyMj: 0, powerMw: 250_000, advanceFromMs: Date.now() }],
      processes: [
        { gpu: 0, pid: cgroups[0].child.pid ?? 0, smUtil: 60 },
        { gpu: 0, pid: vm.pid ?? 0, smUtil: 40 },
      ],
    });
    const common = [`--host.sysfs=${sysfs}`, '--monitor.interval=1s', '--experimental.gpu.enabled'];
    const [p1, p2] = [await freePort(), await freePort()];
    current = await startExporter([...common, `--web.listen-address=127.0.0.1:${p1}`], p1, nvml.env);
    legacy = await startExporter([...common, '--exporter.prometheus.legacy-metrics', '--debug.pprof', `--web.listen-address=127.0.0.1:${p2}`], p2, nvml.env);
    prom = await PrometheusServer.start(join(tmp, 'prometheus'), [{ job: 'kepler', address: `127.0.0.1:${p1}`, interval: '1s' }]);
    await prom.waitForScrapes('kepler', SCRAPES, 90_000);
    defaultText = (await exposition(current)).text;
    legacyText = (await exposition(legacy)).text;
  });

  after(async () => {
    tree?.stop();
    await prom?.stop();
    for (const e of [current, legacy]) if (e && e.child.exitCode === null) e.child.kill('SIGKILL');
    for (const c of cgroups) stopInCgroup(c);
    for (const p of [idle, vm]) if (p) killGroup(p);
    await removeCgroups([...cgroups.map((c) => c.dir), join(v2, 'kubepods', 'besteffort', `pod${podUid}`), join(v2, 'kubepods', 'besteffort'), join(v2, 'kubepods')]);
    nvml?.cleanup();
    rmSync(tmp, { recursive: true, force: true });
  });

  describe('Metrics', () => {
    const rows = migrationTable('Metrics');
    for (const [names, status, query] of rows) {
      const metrics = codeSpans(names).flatMap(expandBraces);
      it(`${names}: ${status}`, async () => {
        assert.ok(metrics.length > 0, 'a row without a metric name');
        const inDefault = families(defaultText);
        const inLegacy = families(legacyText);
        const where = (m: string) => `${m}: default ${inDefault.has(m)}, with legacyMetrics ${inLegacy.has(m)}`;
        // Label names the status adds to Kepler's: its code spans that are label names.
        const extra = codeSpans(status).filter((c) => /^[a-z_]+$/.test(c));
        if (/^same with `legacyMetrics: true`/.test(status)) {
          // Kepler 0.7's gpu names are Kepler 0.11's too: the 0.7 series join that family.
          const shared = /in one family with Kepler 0\.11's/.test(status);
          for (const m of metrics) assert.ok((shared || !inDefault.has(m)) && inLegacy.has(m), where(m));
          for (const m of metrics) assertSame(m, legacyText, extra, /\(0\.7\)/.test(names));
        } else if (/^same\b/.test(status)) {
          for (const m of metrics) assert.ok(inDefault.has(m) && inLegacy.has(m), where(m));
          for (const m of metrics) assertSame(m, defaultText, extra);
        } else if (/^not exported\b/.test(status)) {
          for (const m of metrics) assert.ok(!inDefault.has(m) && !inLegacy.has(m), where(m));
        } else if (/^replaced\b/.test(status)) {
          for (const m of metrics) assert.ok(!inDefault.has(m) && !inLegacy.has(m), where(m));
          const [expr] = codeSpans(query);
          assert.ok(expr, 'a replaced metric names the query that replaces it');
          const result = await prom.query(expr);
          assert.ok(result.length > 0, `${expr}: no samples`);
          for (const s of result) assert.ok(Number.isFinite(s.value) && s.value >= 0, `${expr}: ${JSON.stringify(s)}`);
        } else {
          assert.fail(`status "${status}" is none of: same, same with \`legacyMetrics: true\`, not exported, replaced`);
        }
      });
    }
  });

  describe('Behaviour that differs by design', () => {
    const checks: Record<string, () => void | Promise<void>> = {
      'energy counters': async () => {
        // The package zone sums two sockets whose counters wrap every few seconds: the total
        // grows past what either counter can hold, and Prometheus sees no reset.
        assert.ok(tree.addedUj('package') / 2 > 2 * PACKAGE_RANGE_UJ, 'the counters wrapped during the run');
        const window = `${SCRAPES}s`;
        assert.equal(await prom.queryOne(`resets(kepler_node_cpu_joules_total{zone="package"}[${window}])`), 0);
        assert.ok((await prom.queryOne('kepler_node_cpu_joules_total{zone="package"}')) > (2 * PACKAGE_RANGE_UJ) / 1e6);
        // From 0 at start: the first value Prometheus saw is at most the energy of the first interval or two.
        const first = await prom.queryOne(`min_over_time(kepler_node_cpu_joules_total{zone="package"}[1h])`);
        assert.ok(first < 2 * 2 * 40 * 3, `first scraped total ${first} J`);
      },
      'idle power': () => {
        // The default exporter: the baseline model, per zone, with its source; idle watts are the
        // baseline capped at the zone's power.
        const e = parseExposition(defaultText);
        for (const w of select(e, 'kepler_node_cpu_watts')) {
          const [b] = select(e, 'kepler_node_cpu_idle_baseline_watts', { zone: w.labels.zone });
          assert.ok(b, `${w.labels.zone}: a baseline`);
          assert.ok(['usage-ratio', 'lowest', 'fitted'].includes(b.labels.source), `${w.labels.zone}: source ${b.labels.source}`);
          const [idle] = select(e, 'kepler_node_cpu_idle_watts', { zone: w.labels.zone });
          if (b.labels.source !== 'usage-ratio')
            assert.ok(Math.abs(idle.value - Math.min(b.value, w.value)) < 1e-3, `${w.labels.zone}: idle ${idle.value} W, baseline ${b.value} W, power ${w.value} W`);
        }
      },
      'energy no workload explains': () => {
        const e = parseExposition(defaultText);
        const levels = select(e, 'kepler_node_cpu_unattributed_joules_total', { zone: 'package' }).map((s) => s.labels.level);
        assert.deepEqual(levels.sort(), ['container', 'pod', 'process', 'vm']);
      },
      'processes that never used CPU': () => {
        const e = parseExposition(defaultText);
        const pids = new Set(select(e, 'kepler_process_cpu_joules_total').map((s) => s.labels.pid));
        assert.ok(!pids.has(String(idle.pid)), `the idle sleep (pid ${idle.pid}) is not exported`);
        const busy = select(e, 'kepler_process_cpu_joules_total', { container_id: ids.pod });
        assert.ok(busy.length > 0, 'the busy container process is');
      },
      'no power meter (cloud VMs, pods that may not read powercap)': async () => {
        const empty = join(tmp, 'empty-sys');
        mkdirSync(empty, { recursive: true });
        const port = await freePort();
        const e = await startExporter([`--host.sysfs=${empty}`, `--web.listen-address=127.0.0.1:${port}`], port);
        try {
          const x = (await exposition(e)).parsed;
          assert.equal(select(x, 'kepler_exporter_meter_info')[0]?.labels.meter, 'estimator');
          assert.ok(select(x, 'kepler_node_cpu_watts').length > 0);
          assert.match(e.stderr(), /level=WARN.*power is estimated/);
        } finally {
          e.child.kill('SIGTERM');
          await e.exited;
        }
      },
      'start-up errors': async () => {
        const bad = await runMain(['--monitor.interval=banana'], 10_000);
        assert.equal(bad.code, 2);
        assert.match(bad.stderr, /--monitor\.interval/);
        assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
        // The address of the running exporter is taken.
        const taken = await runMain([`--host.sysfs=${sysfs}`, `--web.listen-address=${current.url.replace('http://', '')}`], 20_000);
        assert.equal(taken.code, 1, taken.stderr);
      },
      logs: async () => {
        const port = await freePort();
        const run = await runMain([`--host.sysfs=${sysfs}`, `--web.listen-address=127.0.0.1:${port}`], 2_000);
        assert.equal(run.stdout, '', 'nothing on standard output');
        assert.match(run.stderr, /meter chosen: rapl/);
        assert.equal(run.code, 0);
      },
      '`/debug/pprof/`': async () => {
        const r = await fetch(`${legacy.url}/debug/pprof/`);
        assert.equal(r.status, 501);
        assert.match(await r.text(), /node --cpu-prof/);
      },
      probes: async () => {
        // Under basic auth, as a kubelet probes: no credentials.
        const webConfig = join(tmp, 'web-auth.yml');
        writeFileSync(webConfig, `basic_auth_users:\n  prom: ${bcrypt.hashSync('right-password', 4)}\n`);
        const port = await freePort();
        const e = await startExporter([`--host.sysfs=${sysfs}`, '--monitor.interval=1s', `--web.config-file=${webConfig}`, `--web.listen-address=127.0.0.1:${port}`], port);
        try {
          for (const path of ['/probe/livez', '/probe/readyz', '/healthz']) {
            const r = await fetch(`${e.url}${path}`);
            assert.equal(r.status, 200, path);
            assert.equal(((await r.json()) as { status: string }).status, 'ok', path);
          }
          assert.equal((await fetch(`${e.url}/metrics`)).status, 401);
        } finally {
          e.child.kill('SIGTERM');
          await e.exited;
        }
      },
      'pod metrics without Kubernetes': () => {
        const pod = select(parseExposition(defaultText), 'kepler_pod_cpu_joules_total', { pod_id: podUid, zone: 'package' });
        assert.equal(pod.length, 1, `the pod ${podUid} is exported`);
        assert.equal(pod[0].labels.pod_name ?? '', '');
        assert.equal(pod[0].labels.pod_namespace ?? '', '');
      },
      '`kepler_build_info`': () => {
        const [info] = select(parseExposition(defaultText), 'kepler_build_info');
        assert.deepEqual(Object.keys(info.labels).sort(), ['arch', 'branch', 'goversion', 'nodeversion', 'revision', 'version']);
        assert.equal(info.labels.arch, GO_ARCH[process.arch]);
        assert.equal(info.labels.nodeversion, process.version);
        assert.equal(info.labels.goversion, process.version);
      },
      'Kepler 0.7 node series (`legacyMetrics: true`)': () => {
        const e = parseExposition(legacyText);
        // Every domain on every socket, as 0.7 exported them (dram and core are on socket 0 only here).
        for (const domain of ['package', 'core', 'uncore', 'dram', 'other', 'platform']) {
          const sockets = select(e, `kepler_node_${domain}_joules_total`, { mode: 'dynamic' }).map((s) => s.labels.package);
          assert.deepEqual(sockets.sort(), ['0', '1'], domain);
        }
      },
    };

    const rows = migrationTable('Behaviour that differs by design');
    for (const [behaviour, kepler, here] of rows) {
      it(`${behaviour}: Kepler ${kepler}; kepler-ts ${here}`, async () => {
        const check = checks[behaviour];
        assert.ok(check, `no check for the row "${behaviour}"`);
        await check();
      });
    }

    it('every check has a row', () => {
      const behaviours = rows.map((r) => r[0]);
      assert.deepEqual(
        Object.keys(checks).filter((k) => !behaviours.includes(k)),
        [],
      );
    });
  });
});
