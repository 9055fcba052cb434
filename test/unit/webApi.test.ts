// The live page's API: the snapshot view (names, ranking, headline zones, sums), the history ring
// (merging, the window, its memory bound with workloads coming and going) and the HTTP answers
// (503 before a refresh, 400 for a bad parameter, gzip, never a refresh of its own), over a real
// PowerMonitor driven by fake zones and scripted resource samples.

import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { describe, it, test } from 'node:test';
import type { PlatformState } from '../../src/device/platform/platformSource.js';
import type { ApiHistory, ApiSnapshot } from '../../src/exporter/web/apiTypes.js';
import { PowerHistory, topByEnergy } from '../../src/exporter/web/powerHistory.js';
import { WebApi } from '../../src/exporter/web/webApi.js';
import { assessHealth } from '../../src/monitor/health.js';
import { PowerMonitor } from '../../src/monitor/powerMonitor.js';
import type { ContainerInfo, PodInfo, ProcessInfo, ResourceSample, WorkloadCpu } from '../../src/resource/workloads.js';
import { headlineZoneNames } from '../../src/util/powerZones.js';
import type { IdleOptions } from '../../src/monitor/powerMonitor.js';
import { FakeZone, gpuDevices, sample, ScriptedGpuMeter, silent } from '../support/fakes.js';

const cpu = <I>(info: I, cpuDeltaSec: number, ended = false): WorkloadCpu<I> => ({ info, cpuDeltaSec, cpuTotalSec: cpuDeltaSec, ended });

const proc = (pid: number, comm: string, containerId = ''): ProcessInfo => ({
  key: `${pid}:1`,
  pid,
  comm,
  exe: `/usr/bin/${comm}`,
  type: containerId ? 'container' : 'regular',
  containerId,
  vmId: '',
  kernelThread: false,
});
const pod: PodInfo = { key: 'uid-web', id: 'uid-web', name: 'web-7d9', namespace: 'shop', cpuRequestCores: 0 };
const busy: ContainerInfo = { key: 'a'.repeat(64), id: 'a'.repeat(64), name: 'busy', runtime: 'containerd', podId: 'uid-web', cpuRequestCores: 0 };
const quiet: ContainerInfo = { key: 'b'.repeat(64), id: 'b'.repeat(64), name: '', runtime: 'crio', podId: '', cpuRequestCores: 0 };

/** A monitor over package, core and dram, refreshed by hand; every interval bills `next`. */
function rig(opts: { idle?: IdleOptions; gpu?: ScriptedGpuMeter } = {}) {
  const zones = [new FakeZone('package'), new FakeZone('core'), new FakeZone('dram')];
  const clock = { now: 10_000, wallStepMs: 0 };
  let next: ResourceSample = sample({ baseline: true });
  let refreshes = 0;
  const monitor = new PowerMonitor({
    zones,
    resources: {
      refresh: () => {
        refreshes++;
        return next;
      },
    },
    intervalMs: 0,
    stalenessMs: 500,
    maxTerminated: 100,
    minTerminatedEnergyThresholdJ: 0,
    idle: opts.idle ?? { model: 'usage-ratio', attribution: 'none' },
    ...(opts.gpu ? { gpu: { meter: opts.gpu, idleWatts: 20 } } : {}),
    logger: silent,
    clock: () => clock.now,
    wallClock: () => 1_700_000_000_000 + clock.now + clock.wallStepMs,
  });
  monitor.refresh();
  /** One interval of `ms` in which package draws `packageW`, core 60 % of it and dram `dramW`. */
  const step = (ms: number, s: Partial<ResourceSample>, packageW = 100, dramW = 10) => {
    clock.now += ms;
    zones[0].add(packageW * ms * 1000);
    zones[1].add(packageW * 0.6 * ms * 1000);
    zones[2].add(dramW * ms * 1000);
    next = sample({ nodeActiveCpuSec: 2, nodeTotalCpuSec: 4, usageRatio: 0.5, ...s });
    return monitor.refresh();
  };
  return { monitor, clock, step, refreshes: () => refreshes };
}

const workloadsSample = (): Partial<ResourceSample> => ({
  processes: [cpu(proc(101, 'stress-ng', busy.id), 1.5), cpu(proc(202, 'sleep', quiet.id), 0), cpu(proc(303, 'sshd'), 0.25)],
  containers: [cpu(busy, 1.5), cpu(quiet, 0.05)],
  pods: [cpu(pod, 1.5)],
});

test('headline zones: package and dram, never core or uncore; else psys; else the first zone', () => {
  assert.deepEqual(headlineZoneNames(['package', 'core', 'uncore', 'dram']), ['package', 'dram']);
  assert.deepEqual(headlineZoneNames(['core', 'package', 'package']), ['package']);
  assert.deepEqual(headlineZoneNames(['psys', 'core']), ['psys']);
  assert.deepEqual(headlineZoneNames(['core', 'cpu']), ['cpu']);
  assert.deepEqual(headlineZoneNames(['core']), ['core']);
  assert.deepEqual(headlineZoneNames([]), []);
});

test('topByEnergy keeps the k largest, most first, and nothing without energy', () => {
  const e = [5, 0, 9, 1, 7, 7, 3, -1, NaN].map((uj, i) => ({ uj, i }));
  assert.deepEqual(
    topByEnergy(e, 3).map((x) => x.uj),
    [9, 7, 7],
  );
  assert.deepEqual(
    topByEnergy(e, 10).map((x) => x.uj),
    [9, 7, 7, 5, 3, 1],
  );
  assert.deepEqual(topByEnergy(e, 0), []);
});

describe('the API over HTTP', () => {
  async function serve(api: WebApi) {
    const server = http.createServer((req, res) => (req.url?.startsWith('/api/v1/history') ? api.history(req, res) : api.snapshot(req, res)));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return { base, close: () => new Promise<void>((r) => server.close(() => r())) };
  }

  function apiFor(r: ReturnType<typeof rig>, history = new PowerHistory()) {
    r.monitor.onSnapshot(history.onSnapshot);
    return new WebApi({
      latest: () => r.monitor.latest(),
      history,
      nodeName: 'node-a',
      version: '9.9.9',
      meter: () => ({ name: 'rapl', estimated: false }),
      refreshIntervalSec: 5,
      health: (s) => assessHealth(s, r.clock.now, 5000),
      monotonicNowMs: () => r.clock.now,
    });
  }

  it('ranks the busy container first with its pod, sums the headline zones only, and adds up to the node', async () => {
    const r = rig();
    const srv = await serve(apiFor(r));
    try {
      r.step(2000, workloadsSample());
      const s = (await (await fetch(`${srv.base}/api/v1/snapshot`)).json()) as ApiSnapshot;
      assert.deepEqual(s.headlineZones, ['package', 'dram']);
      assert.equal(s.nodeName, 'node-a');
      assert.ok(Math.abs(s.watts - 110) < 1e-6, `node watts ${s.watts}: package + dram, not core`);
      const c = s.levels.container;
      assert.equal(c.count, 2);
      assert.equal(c.top[0].name, 'busy');
      assert.equal(c.top[0].detail.split(' · ')[0], 'shop/web-7d9', 'the container is shown with its pod');
      assert.equal(c.top[1].name, 'b'.repeat(12), 'a container without a name shows its short id');
      assert.ok(c.top[0].watts > c.top[1].watts);
      assert.ok(Math.abs(c.top[0].cpuCores - 0.75) < 1e-9, 'CPU cores: 1.5 s over 2 s');
      // usage-ratio idle: active = total x 0.5 per zone; the level's watts and unattributed add up to it.
      const activeHeadline = s.zones.filter((z) => z.name !== 'core').reduce((a, z) => a + z.activeWatts, 0);
      assert.ok(Math.abs(c.watts + c.unattributedWatts - activeHeadline) < 1e-3, `${c.watts} + ${c.unattributedWatts} vs ${activeHeadline}`);
      const row = c.top[0];
      assert.ok(Math.abs(row.watts - (row.zoneWatts[0] + row.zoneWatts[2])) < 1e-9, 'a workload is package + dram');
      assert.equal(s.levels.process.top[0].name, 'stress-ng (101)');
      assert.equal(s.levels.pod.top[0].name, 'shop/web-7d9');
      const top1 = (await (await fetch(`${srv.base}/api/v1/snapshot?top=1`)).json()) as ApiSnapshot;
      assert.equal(top1.levels.process.top.length, 1);
      assert.equal(top1.levels.process.count, 3, 'count is every running workload, not the top');
    } finally {
      await srv.close();
    }
  });

  it('with idle attribution and GPUs, a level and what it leaves unattributed add up to the node', async () => {
    const gpu = new ScriptedGpuMeter(gpuDevices(1));
    const r = rig({ idle: { model: 'usage-ratio', attribution: 'cpu' }, gpu });
    const srv = await serve(apiFor(r));
    try {
      // GPU 0: 120 W over 2 s (20 W idle), all of it by the busy container's process.
      gpu.step(0, 240e6, { processes: [{ pid: 101 }], utilization: [{ pid: 101, smUtil: 90 }] });
      r.step(2000, workloadsSample());
      const s = (await (await fetch(`${srv.base}/api/v1/snapshot`)).json()) as ApiSnapshot;
      assert.equal(s.gpus.length, 1);
      assert.ok(Math.abs(s.gpus[0].watts - 120) < 1e-6, `GPU ${s.gpus[0].watts} W`);
      assert.ok(Math.abs(s.watts - 230) < 1e-6, `node ${s.watts} W: package + dram + GPU`);
      const gpuIdle = s.gpus[0].idleWatts;
      for (const level of ['process', 'container', 'pod'] as const) {
        const l = s.levels[level];
        // Every CPU watt (active and idle) and the GPU's active watts are carried by a workload or unattributed.
        assert.ok(Math.abs(l.watts + l.unattributedWatts - (s.watts - gpuIdle)) < 1e-3, `${level}: ${l.watts} + ${l.unattributedWatts} vs ${s.watts - gpuIdle}`);
      }
      const busyRow = s.levels.container.top[0];
      assert.equal(busyRow.name, 'busy');
      assert.ok(Math.abs(busyRow.gpuWatts - 100) < 1e-6, `the busy container's GPU watts ${busyRow.gpuWatts}: 120 W less 20 W idle`);
      assert.ok(busyRow.watts > busyRow.zoneWatts[0] + busyRow.zoneWatts[2], 'its watts include its GPU watts');
      const p = s.levels.process.top.find((w) => w.name === 'stress-ng (101)');
      assert.ok(p, 'the busy process is listed');
      assert.equal(p.id, '101:1', "a process's id is its pid and start time: pids are reused");
    } finally {
      await srv.close();
    }
  });

  it('a platform source is failing only once its polls have failed', async () => {
    const r = rig();
    let state: PlatformState = { readings: [], errors: { timeout: 0 } };
    const history = new PowerHistory();
    r.monitor.onSnapshot(history.onSnapshot);
    const api = new WebApi({
      latest: () => {
        const s = r.monitor.latest();
        return s && { ...s, platform: [{ name: 'redfish', errorKinds: ['timeout'], state }] };
      },
      history,
      nodeName: 'n',
      version: 'v',
      meter: () => ({ name: 'rapl', estimated: false }),
      refreshIntervalSec: 5,
      health: (s) => assessHealth(s, r.clock.now, 5000),
      monotonicNowMs: () => r.clock.now,
    });
    const srv = await serve(api);
    try {
      r.step(1000, workloadsSample());
      const first = (await (await fetch(`${srv.base}/api/v1/snapshot`)).json()) as ApiSnapshot;
      assert.deepEqual(first.health.failingPlatform, [], 'not polled yet: not failing');
      state = { readings: [], errors: { timeout: 2 } };
      const later = (await (await fetch(`${srv.base}/api/v1/snapshot`)).json()) as ApiSnapshot;
      assert.deepEqual(later.health.failingPlatform, ['redfish']);
    } finally {
      await srv.close();
    }
  });

  it('serves any top from one pass per refresh: a request for 100 does not change what a request for 1 gets', async () => {
    const r = rig();
    const srv = await serve(apiFor(r));
    try {
      r.step(2000, workloadsSample());
      const one = (await (await fetch(`${srv.base}/api/v1/snapshot?top=1`)).json()) as ApiSnapshot;
      const all = (await (await fetch(`${srv.base}/api/v1/snapshot?top=100`)).json()) as ApiSnapshot;
      const oneAgain = (await (await fetch(`${srv.base}/api/v1/snapshot?top=1`)).json()) as ApiSnapshot;
      assert.deepEqual(
        all.levels.process.top.map((w) => w.name),
        ['stress-ng (101)', 'sshd (303)', 'sleep (202)'],
        'most watts first; a process with none last',
      );
      assert.deepEqual(one.levels.process.top, all.levels.process.top.slice(0, 1));
      assert.deepEqual(oneAgain, one);
    } finally {
      await srv.close();
    }
  });

  it('answers 503 before the first refresh and 400 naming a bad parameter; gzips when asked; never refreshes', async () => {
    const r = rig();
    const api = new WebApi({
      latest: () => undefined,
      history: new PowerHistory(),
      nodeName: 'n',
      version: 'v',
      meter: () => ({ name: 'rapl', estimated: false }),
      refreshIntervalSec: 5,
      health: (s) => assessHealth(s, 0, 5000),
    });
    const early = await serve(api);
    try {
      const res = await fetch(`${early.base}/api/v1/snapshot`);
      assert.equal(res.status, 503);
      assert.equal(res.headers.get('retry-after'), '1');
    } finally {
      await early.close();
    }
    const srv = await serve(apiFor(r));
    try {
      r.step(1000, workloadsSample());
      const before = r.refreshes();
      for (const q of ['top=0', 'top=101', 'top=2.5', 'top=x']) {
        const res = await fetch(`${srv.base}/api/v1/snapshot?${q}`);
        assert.equal(res.status, 400, q);
        assert.match(((await res.json()) as { error: string }).error, /^query parameter top=.*expected a whole number from 1 to 100$/);
      }
      const bad = await fetch(`${srv.base}/api/v1/history?since=soon`);
      assert.equal(bad.status, 400);
      // A raw request, so that the body can be seen as sent.
      const raw = await new Promise<{ headers: http.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
        http
          .get(`${srv.base}/api/v1/snapshot?top=100`, { headers: { 'accept-encoding': 'gzip' } }, (res) => {
            const parts: Buffer[] = [];
            res.on('data', (d: Buffer) => parts.push(d));
            res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(parts) }));
          })
          .on('error', reject);
      });
      assert.equal(raw.headers['content-encoding'], 'gzip');
      assert.equal(raw.headers['cache-control'], 'no-store');
      assert.equal((JSON.parse(gunzipSync(raw.body).toString()) as ApiSnapshot).levels.container.top[0].name, 'busy');
      assert.equal(r.refreshes(), before, 'the API only reads what the monitor published');
    } finally {
      await srv.close();
    }
  });

  it('serves the history, and with ?since only the newer points', async () => {
    const r = rig();
    const srv = await serve(apiFor(r));
    try {
      for (let i = 0; i < 4; i++) r.step(5000, workloadsSample());
      const h = (await (await fetch(`${srv.base}/api/v1/history`)).json()) as ApiHistory;
      assert.equal(h.points.length, 4);
      assert.deepEqual(
        h.zones.map((z) => z.name),
        ['package', 'core', 'dram'],
      );
      const [id, w] = h.points[3].top.container[0];
      assert.equal(h.workloads[id].name, 'busy');
      assert.ok(w > 0);
      const newer = (await (await fetch(`${srv.base}/api/v1/history?since=${h.points[1].t}`)).json()) as ApiHistory;
      assert.deepEqual(
        newer.points.map((p) => p.t),
        [h.points[2].t, h.points[3].t],
      );
      assert.ok(newer.workloads[id], 'the workloads of the newer points are named');
    } finally {
      await srv.close();
    }
  });
});

describe('the history ring', () => {
  it('merges refreshes shorter than a step into one point, energy over the time they cover', () => {
    const r = rig();
    const history = new PowerHistory({ minStepMs: 3000 });
    r.monitor.onSnapshot(history.onSnapshot);
    r.step(1000, workloadsSample(), 100);
    r.step(1000, workloadsSample(), 200);
    assert.equal(history.size().points, 0, 'two seconds: no point yet');
    r.step(1000, workloadsSample(), 300);
    const h = history.view();
    assert.equal(h.points.length, 1);
    const p = h.points[0];
    assert.ok(Math.abs(p.sec - 3) < 1e-9);
    assert.ok(Math.abs(p.active[0] + p.idle[0] - 200) < 1e-6, `package ${p.active[0] + p.idle[0]} W: the mean of 100, 200, 300`);
    assert.equal(h.workloads[p.top.container[0][0]].name, 'busy');
  });

  it('keeps points in order, and ?since finding the new ones, when the wall clock steps back', () => {
    const r = rig();
    const history = new PowerHistory({ minStepMs: 1000 });
    r.monitor.onSnapshot(history.onSnapshot);
    r.step(5000, workloadsSample());
    r.step(5000, workloadsSample());
    const before = history.view();
    r.clock.wallStepMs = -600_000; // NTP steps the clock back ten minutes
    r.step(5000, workloadsSample());
    const after = history.view(before.points[1].t);
    assert.equal(after.points.length, 1, 'the point after the step is newer than the last one seen');
    assert.equal(after.points[0].t - before.points[1].t, 5000);
  });

  it('keeps the window, and no name that no point uses', () => {
    const r = rig();
    const history = new PowerHistory({ windowMs: 60_000, minStepMs: 5000, topPerLevel: 2 });
    r.monitor.onSnapshot(history.onSnapshot);
    for (let i = 0; i < 30; i++) {
      const c: ContainerInfo = { ...busy, key: `c${i}`, id: `c${i}`, name: `job-${i}` };
      r.step(5000, { containers: [cpu(c, 1)], processes: [cpu(proc(1000 + i, `job${i}`), 1)] });
    }
    const h = history.view();
    assert.ok(h.points.length <= 13, `${h.points.length} points in a 60 s window of 5 s steps`);
    assert.ok(h.points[h.points.length - 1].t - h.points[0].t < 60_000);
    const named = new Set(h.points.flatMap((p) => [...p.top.container, ...p.top.process].map(([id]) => id)));
    assert.equal(history.size().workloads, named.size, 'names live only while a point refers to them');
    assert.equal(h.workloads[h.points[h.points.length - 1].top.container[0][0]].name, 'job-29');
  });

  it('stays within its bound with 5,000 workloads coming and going', () => {
    const r = rig();
    const history = new PowerHistory({ windowMs: 60_000, minStepMs: 1000, topPerLevel: 10 });
    r.monitor.onSnapshot(history.onSnapshot);
    for (let round = 0; round < 100; round++) {
      // 50 new containers each second, each living one second: 5,000 in all.
      const containers = Array.from({ length: 50 }, (_, i): WorkloadCpu<ContainerInfo> => {
        const id = `r${round}-${i}`;
        return cpu({ ...busy, key: id, id, name: id }, 0.01 * (i + 1));
      });
      r.step(1000, { containers });
    }
    const { points, workloads } = history.size();
    assert.ok(points <= history.maxPoints, `${points} points <= ${history.maxPoints}`);
    assert.ok(workloads <= points * 10, `${workloads} names <= ${points} points x 10`);
    assert.ok(workloads >= 10, 'the last points still name their top containers');
  });
});
