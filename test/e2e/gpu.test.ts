// NVIDIA GPU power end to end: kepler-ts loads a fake libnvidia-ml.so.1 (C, compiled here, with
// nvml.h's signatures and layouts) through LD_LIBRARY_PATH as it would load NVIDIA's, and bills
// three GPUs to real processes in real container cgroups. GPU 0 is time-sliced between a
// stress-ng container (75 % of the SM samples) and a sleeping one that does GPU work only (25 %,
// no CPU time at all); GPU 1 is held in exclusive mode by a third; GPU 2 runs nothing, and its
// idle power is learned. Prometheus scrapes it, and every GPU panel of the dashboards must
// return data. Then an NVML error on GPU 0 mid-run: the rest of the metrics go on, and GPU 0
// resumes without a lost or backwards counter. Two more exporters: one without the library
// (starts, says why once, exports no GPU family), one whose library lacks the energy counter
// function (integrates power, and says which function it missed).

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { randomHex, randomUid } from '../../harness/ids.js';
import { assertPanelsReturnData, needsGpu } from '../support/dashboardQueries.js';
import { buildFakeNvml, NVML_ERROR, type FakeNvml, type FakeNvmlState } from '../../harness/fakeNvml.js';
import { parseExposition, select, sum, type Exposition } from '../support/exposition.js';
import { PrometheusServer } from '../support/prometheus.js';
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
import { RaplTree } from '../support/raplTree.js';

const NODE = 'node-gpu';
const UUID = ['GPU-0a000000-0000-4000-8000-000000000000', 'GPU-1b000000-0000-4000-8000-000000000001', 'GPU-2c000000-0000-4000-8000-000000000002'];
const WATTS = [300, 120, 60];

/** A sample value as exact µJ: the exporter prints joules as exact decimals of µJ. */
function microjoules(value: number): bigint {
  return BigInt(Math.round(value * 1e6));
}

/** Exact µJ as a number (joules values at this scale stay exact). */
const microjoulesNumber = (value: number): number => Math.round(value * 1e6);

async function scrape(e: Exporter): Promise<Exposition> {
  const r = await fetch(`${e.url}/metrics`, { headers: { Accept: 'text/plain' } });
  assert.equal(r.status, 200);
  return parseExposition(await r.text());
}

const one = (e: Exposition, name: string, match: Record<string, string>) => {
  const s = select(e, name, match);
  assert.equal(s.length, 1, `${name} ${JSON.stringify(match)}: ${s.length} series`);
  return s[0].value;
};

describe('NVIDIA GPUs: measured through NVML and billed to real processes', { timeout: 240_000 }, () => {
  const v2 = cgroupV2Root();
  const tmp = mkdtempSync(join(tmpdir(), 'kepler-gpu-'));
  const sysfs = join(tmp, 'sys');
  const pod = randomUid();
  const ids = { trainer: randomHex(64), feeder: randomHex(64), holder: randomHex(64) };
  const cgroups: Record<keyof typeof ids, CgroupProcess> = {} as never;
  let nvml: FakeNvml;
  let tree: RaplTree;
  let exporter: Exporter;
  let prom: PrometheusServer;
  let startedMs = 0;
  let state: FakeNvmlState;

  before(async () => {
    requireCommand('stress-ng');
    requireCommand('prometheus');
    requireCommand('gcc');
    mkdirSync(join(sysfs, 'fs'), { recursive: true });
    symlinkSync(CGROUP_ROOT, join(sysfs, 'fs', 'cgroup'));
    tree = new RaplTree(sysfs, [{ dir: 'intel-rapl:0', name: 'package-0', zone: 'package', idleWatts: 10, maxWatts: 45, maxRangeUj: 262_143_328_850 }]);
    tree.start(50);
    tree.resume();
    // Containers of one pod, as the kubelet's containerd names their cgroups.
    const dir = (id: string) => join(v2, 'kubepods', 'besteffort', `pod${pod}`, id);
    cgroups.trainer = runInCgroup(dir(ids.trainer), 'exec stress-ng --cpu 1 --cpu-load 30 --timeout 600 -q');
    cgroups.feeder = runInCgroup(dir(ids.feeder), 'exec sleep 600');
    cgroups.holder = runInCgroup(dir(ids.holder), 'exec sleep 600');
    const pid = (c: CgroupProcess) => c.child.pid ?? assert.fail('no pid');
    const now = Date.now();
    state = {
      gpus: [0, 1, 2].map((i) => ({
        uuid: UUID[i],
        name: 'NVIDIA H100 80GB HBM3',
        energyMj: 1_000_000 * (i + 1),
        powerMw: WATTS[i] * 1000,
        advanceFromMs: now,
        computeMode: i === 1 ? 'exclusive' : 'default',
      })),
      processes: [
        { gpu: 0, pid: pid(cgroups.trainer), smUtil: 75 },
        { gpu: 0, pid: pid(cgroups.feeder), smUtil: 25 },
        { gpu: 1, pid: pid(cgroups.holder), smUtil: 40 },
      ],
    };
    nvml = buildFakeNvml();
    nvml.write(state);
    const port = await freePort();
    exporter = await startExporter(
      [
        `--host.sysfs=${sysfs}`,
        `--web.listen-address=127.0.0.1:${port}`,
        `--kube.node-name=${NODE}`,
        '--monitor.interval=1s',
        '--monitor.staleness=500ms',
        '--experimental.gpu.enabled',
        // Kepler 0.7's gpu names share families with these: the dashboards must not count them twice.
        '--exporter.prometheus.legacy-metrics',
        '--log.level=debug',
      ],
      port,
      nvml.env,
    );
    startedMs = Date.now();
    prom = await PrometheusServer.start(join(tmp, 'prom'), [{ job: 'kepler-ts', address: `127.0.0.1:${port}`, interval: '1s' }]);
    await new Promise((r) => setTimeout(r, 12_000));
  });

  after(async () => {
    exporter?.child.kill('SIGKILL');
    prom?.child.kill('SIGKILL');
    tree?.stop();
    for (const c of Object.values(cgroups)) stopInCgroup(c);
    await removeCgroups([...Object.values(cgroups).map((c) => c.dir), join(v2, 'kubepods', 'besteffort', `pod${pod}`)]);
    nvml?.cleanup();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('says what it found once: the library, the GPUs, and how idle power is known', () => {
    const log = exporter.stderr();
    assert.match(log, /GPU power/);
    for (const u of UUID) assert.ok(log.includes(u), `${u} in the start-up lines`);
    assert.match(log, /GPU idle power learned.*gpu=2/);
  });

  it("node GPU power is NVML's, per GPU with Kepler's labels, and idle + active = total", async () => {
    const e = await scrape(exporter);
    for (let g = 0; g < 3; g++) {
      const gpu = String(g);
      assert.equal(one(e, 'kepler_node_gpu_info', { gpu, gpu_uuid: UUID[g], gpu_name: 'NVIDIA H100 80GB HBM3', vendor: 'nvidia', node_name: NODE }), 1);
      const total = microjoules(one(e, 'kepler_node_gpu_joules_total', { gpu }));
      assert.equal(total, microjoules(one(e, 'kepler_node_gpu_active_joules_total', { gpu })) + microjoules(one(e, 'kepler_node_gpu_idle_joules_total', { gpu })), `GPU ${g}`);
    }
    // Kepler 0.7's series of the same name carry the same energy, per GPU (package = GPU index).
    for (let g = 0; g < 3; g++) {
      const legacy = select(e, 'kepler_node_gpu_joules_total', { package: String(g) });
      assert.equal(legacy.length, 2, 'dynamic and idle');
      assert.equal(
        sum(legacy.map((x) => ({ ...x, value: microjoulesNumber(x.value) }))),
        microjoulesNumber(one(e, 'kepler_node_gpu_joules_total', { gpu: String(g) })),
        `GPU ${g}: 0.7 = 0.11`,
      );
    }
    // Through Prometheus, as a dashboard reads it.
    const t = Date.now() / 1000;
    for (let g = 0; g < 3; g++) {
      const r = await prom.query(`avg_over_time(kepler_node_gpu_watts{gpu="${g}"}[5s])`, t);
      assert.equal(r.length, 1);
      const w = r[0].value;
      assert.ok(Math.abs(w - WATTS[g]) <= WATTS[g] * 0.05, `GPU ${g}: ${w} W, NVML says ${WATTS[g]} W`);
    }
  });

  it('idle: GPU 2 runs nothing, and its lowest power is its idle; GPU 0 and 1 use that rule too', async () => {
    const e = await scrape(exporter);
    const learned = one(e, 'kepler_node_gpu_idle_baseline_watts', { gpu: '2', source: 'lowest' });
    assert.ok(Math.abs(learned - WATTS[2]) <= WATTS[2] * 0.05, `learned ${learned} W`);
    // GPUs 0 and 1 were busy from the start: nothing learned, all their energy active.
    for (const gpu of ['0', '1']) assert.equal(one(e, 'kepler_node_gpu_idle_baseline_watts', { gpu, source: 'unknown' }), 0);
    assert.equal(one(e, 'kepler_node_gpu_active_joules_total', { gpu: '2' }) < one(e, 'kepler_node_gpu_idle_joules_total', { gpu: '2' }), true);
  });

  it('time-slicing: GPU 0 split by SM utilization within 5 %, the GPU-only process billed, exclusive GPU 1 all to its holder', async () => {
    const e = await scrape(exporter);
    const pidOf = (c: CgroupProcess) => String(c.child.pid);
    const gpuJ = (c: CgroupProcess, gpu: string) => one(e, 'kepler_process_gpu_joules_total', { pid: pidOf(c), gpu });
    const trainer = gpuJ(cgroups.trainer, '0');
    const feeder = gpuJ(cgroups.feeder, '0');
    const share = trainer / (trainer + feeder);
    assert.ok(Math.abs(share - 0.75) <= 0.75 * 0.05, `trainer's share ${share}, SM utilization 75 %`);
    // The feeder sleeps: it never ran on a CPU, and still pays for its GPU work.
    assert.equal(select(e, 'kepler_process_cpu_seconds_total', { pid: pidOf(cgroups.feeder) }).length, 0, 'no CPU time');
    assert.ok(feeder > 0);
    const labels = select(e, 'kepler_process_gpu_joules_total', { pid: pidOf(cgroups.feeder) })[0].labels;
    assert.deepEqual(
      { container_id: labels.container_id, type: labels.type, state: labels.state, gpu_uuid: labels.gpu_uuid },
      { container_id: ids.feeder, type: 'container', state: 'running', gpu_uuid: UUID[0] },
    );
    // Exclusive: the holder has all of GPU 1's active energy; nobody else has a series on GPU 1.
    assert.equal(select(e, 'kepler_process_gpu_joules_total', { gpu: '1' }).length, 1);
    assert.equal(gpuJ(cgroups.holder, '1'), one(e, 'kepler_node_gpu_active_joules_total', { gpu: '1' }));
    // Roll-up: the containers carry their processes', the pod its containers'.
    assert.equal(one(e, 'kepler_container_gpu_joules_total', { container_id: ids.trainer, gpu: '0' }), trainer);
    const podGpu = sum(select(e, 'kepler_pod_gpu_joules_total', { pod_id: pod }));
    assert.ok(Math.abs(podGpu - sum(select(e, 'kepler_container_gpu_joules_total', { pod_id: pod }))) < 1e-6);
  });

  it('per GPU and level: the workloads + kepler_node_gpu_unattributed_joules_total = active, to the µJ', async () => {
    const e = await scrape(exporter);
    for (const level of ['process', 'container', 'pod']) {
      for (const gpu of ['0', '1', '2']) {
        const workloads = select(e, `kepler_${level}_gpu_joules_total`, { gpu }).reduce((a, s) => a + microjoules(s.value), 0n);
        const unattributed = microjoules(one(e, 'kepler_node_gpu_unattributed_joules_total', { gpu, level }));
        assert.equal(workloads + unattributed, microjoules(one(e, 'kepler_node_gpu_active_joules_total', { gpu })), `${level} GPU ${gpu}`);
      }
    }
  });

  it('every GPU panel of the dashboards returns data through Prometheus', async () => {
    const n = await assertPanelsReturnData(prom, Date.now() / 1000, Math.round((Date.now() - startedMs) / 1000), needsGpu, { gpu: true });
    assert.ok(n >= 6, `${n} GPU queries ran`);
  });

  it('an NVML error on GPU 0 mid-run: the other GPUs and the CPU go on, GPU 0 stays flat, then resumes with nothing lost', async () => {
    const before = await scrape(exporter);
    nvml.write({ ...state, failures: [{ fn: 'nvmlDeviceGetTotalEnergyConsumption', gpu: 0, code: NVML_ERROR.GPU_IS_LOST }] });
    await new Promise((r) => setTimeout(r, 3000));
    const during = await scrape(exporter);
    const gpu0 = (e: Exposition) => one(e, 'kepler_node_gpu_joules_total', { gpu: '0' });
    assert.ok(gpu0(during) - gpu0(before) < WATTS[0] * 1.5, 'GPU 0 flat but for the refresh before the error');
    assert.ok(one(during, 'kepler_node_gpu_joules_total', { gpu: '1' }) > one(before, 'kepler_node_gpu_joules_total', { gpu: '1' }) + WATTS[1] * 2, 'GPU 1 goes on');
    assert.ok(one(during, 'kepler_node_cpu_joules_total', { zone: 'package' }) > one(before, 'kepler_node_cpu_joules_total', { zone: 'package' }), 'the CPU goes on');
    assert.ok(one(during, 'kepler_exporter_refresh_errors_total', { kind: 'gpu_read' }) >= 2);
    assert.match(exporter.stderr(), /GPU reading unusable.*gpu=0.*nvmlDeviceGetTotalEnergyConsumption/);
    nvml.write(state);
    await new Promise((r) => setTimeout(r, 2500));
    const afterward = await scrape(exporter);
    // The counter kept running while unreadable: all of that energy is billed once it reads again.
    const gained = gpu0(afterward) - gpu0(before);
    assert.ok(gained > WATTS[0] * 4.5, `GPU 0 gained ${gained} J over ~5.5 s at ${WATTS[0]} W`);
    assert.match(exporter.stderr(), /GPU reading again.*gpu=0/);
  });

  it('a driver reload: NVML is opened again, the energy since the reload is billed, and no counter goes down', async () => {
    const before = await scrape(exporter);
    const reloadedAt = Date.now();
    // The new driver's counters start near 0, and the exporter's NVML session is gone.
    nvml.write({ ...state, gpus: state.gpus.map((g) => ({ ...g, energyMj: 10, advanceFromMs: reloadedAt })), driverGeneration: 1 });
    await new Promise((r) => setTimeout(r, 4000));
    const afterward = await scrape(exporter);
    const seconds = (Date.now() - reloadedAt) / 1000;
    for (let g = 0; g < 3; g++) {
      const gained = one(afterward, 'kepler_node_gpu_joules_total', { gpu: String(g) }) - one(before, 'kepler_node_gpu_joules_total', { gpu: String(g) });
      assert.ok(gained > 0 && gained <= WATTS[g] * (seconds + 1.5), `GPU ${g} gained ${gained} J in ${seconds} s at ${WATTS[g]} W`);
    }
    assert.ok(one(afterward, 'kepler_exporter_refresh_errors_total', { kind: 'gpu_counter_reset' }) >= 3, 'each GPU counted its restart');
    assert.match(exporter.stderr(), /NVML opened again after the driver was lost/);
    assert.match(exporter.stderr(), /GPU energy counter restarted/);
  });

  it('without libnvidia-ml.so.1 the exporter runs, says once why GPU power is off, and exports no GPU family', async () => {
    const port = await freePort();
    const empty = mkdtempSync(join(tmp, 'nolib-'));
    const e2 = await startExporter([`--host.sysfs=${sysfs}`, `--web.listen-address=127.0.0.1:${port}`, '--experimental.gpu.enabled'], port, { LD_LIBRARY_PATH: empty });
    try {
      const e = await scrape(e2);
      assert.equal(e.samples.filter((s) => s.name.includes('_gpu_')).length, 0);
      assert.ok(select(e, 'kepler_node_cpu_joules_total').length > 0);
      const lines = e2
        .stderr()
        .split('\n')
        .filter((l) => /libnvidia-ml\.so\.1/.test(l));
      assert.equal(lines.length, 1, e2.stderr());
      assert.match(lines[0], /level=WARN.*GPU power is off/);
    } finally {
      e2.child.kill('SIGKILL');
    }
  });

  it('a library without nvmlDeviceGetTotalEnergyConsumption: power is integrated, and the log names the function', async () => {
    const old = buildFakeNvml({ omit: ['nvmlDeviceGetTotalEnergyConsumption'] });
    old.write({ gpus: [{ uuid: UUID[0], name: 'Tesla P100-PCIE-16GB', energyMj: 0, powerMw: 150_000 }], processes: [] });
    const port = await freePort();
    const e2 = await startExporter([`--host.sysfs=${sysfs}`, `--web.listen-address=127.0.0.1:${port}`, '--experimental.gpu.enabled', '--monitor.interval=500ms'], port, old.env);
    try {
      await new Promise((r) => setTimeout(r, 3000));
      const e = await scrape(e2);
      const w = one(e, 'kepler_node_gpu_watts', { gpu: '0', gpu_name: 'Tesla P100-PCIE-16GB' });
      assert.ok(Math.abs(w - 150) < 1, `${w} W integrated from 150 W readings`);
      assert.match(e2.stderr(), /level=WARN.*nvmlDeviceGetTotalEnergyConsumption/);
    } finally {
      e2.child.kill('SIGKILL');
      old.cleanup();
    }
  });
});
