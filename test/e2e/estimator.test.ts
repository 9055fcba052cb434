// End to end on this machine, which has no power meter (no RAPL, no hwmon): kepler-ts started the
// way the README starts it falls back to the estimator, says so once, labels its zones as
// estimates, serves non-zero watts that follow a real stress-ng load, and still attributes the
// energy to the container and processes doing the work.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { lastOf } from '../support/assertions.js';
import { parseExposition, select, sum, type Exposition } from '../support/exposition.js';
import { randomHex } from '../../harness/ids.js';
import {
  cgroupCpuSeconds,
  cgroupV2Root,
  freePort,
  killGroup,
  nodeActiveCpuSeconds,
  removeCgroups,
  requireCommand,
  runInCgroup,
  startExporter,
  type CgroupProcess,
  type Exporter,
} from '../support/processes.js';

interface Observation {
  exp: Exposition;
  atMs: number;
  cgroupCpu: number;
  nodeActiveCpu: number;
  /** The aggregate /proc/stat line, read by the test itself right after the scrape. */
  stat: { busy: number; all: number };
}

function procStat(): { busy: number; all: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, idle, iowait = 0, irq = 0, softirq = 0, steal = 0] = f;
  const busy = user + nice + system + irq + softirq + steal;
  return { busy, all: busy + idle + iowait };
}

const PATH = 'estimator:kts-specpower';
const ZONES = ['dram', 'package', 'platform'];

describe('kepler-ts without a power meter: the estimator', { timeout: 120_000 }, () => {
  const v2 = cgroupV2Root();
  const tmp = mkdtempSync(join(tmpdir(), 'kepler-estimator-'));
  const id = randomHex(64);
  const dir = join(v2, 'system.slice', `docker-${id}.scope`);
  let exporter: Exporter;
  let load: CgroupProcess | undefined;
  const idle: Observation[] = [];
  const busy: Observation[] = [];

  async function scrape(): Promise<Observation> {
    const res = await fetch(`${exporter.url}/metrics`);
    assert.equal(res.status, 200);
    const exp = parseExposition(await res.text());
    return { exp, atMs: Date.now(), cgroupCpu: existsSync(dir) ? cgroupCpuSeconds(dir) : 0, nodeActiveCpu: nodeActiveCpuSeconds(), stat: procStat() };
  }
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const gauge = (o: Observation, name: string, labels: Record<string, string> = {}) => {
    const s = select(o.exp, name, labels);
    assert.equal(s.length, 1, `${name} ${JSON.stringify(labels)}: ${s.length} series`);
    return s[0].value;
  };
  const delta = (a: Observation, b: Observation, name: string, labels: Record<string, string>) => sum(select(b.exp, name, labels)) - sum(select(a.exp, name, labels));

  before(async () => {
    requireCommand('stress-ng');
    // This machine has no meter; should a CI machine have one, an empty sysfs keeps the test about
    // the fallback (the DMI strings are then unknown, which detection must tolerate too).
    const hasMeter = existsSync('/sys/class/powercap/intel-rapl') || existsSync('/sys/class/powercap/intel-rapl:0');
    const sysfs = hasMeter ? join(tmp, 'sys') : '/sys';
    mkdirSync(join(tmp, 'sys'), { recursive: true });
    const port = await freePort();
    exporter = await startExporter([`--host.sysfs=${sysfs}`, `--web.listen-address=127.0.0.1:${port}`, '--monitor.interval=0s', '--monitor.staleness=0s'], port);
    idle.push(await scrape()); // the first billed interval starts here
    for (let i = 0; i < 3; i++) {
      await sleep(1000);
      idle.push(await scrape());
    }
    // Every CPU fully busy, in a Docker-named cgroup.
    load = runInCgroup(dir, `exec stress-ng --cpu ${cpus().length} --cpu-method int64 --timeout 60 -q`);
    await sleep(1000); // stress-ng is running on every CPU before the first busy interval starts
    busy.push(await scrape());
    for (let i = 0; i < 4; i++) {
      await sleep(1000);
      busy.push(await scrape());
    }
  });

  after(async () => {
    if (load) killGroup(load.child);
    if (exporter && exporter.child.exitCode === null) exporter.child.kill('SIGKILL');
    await removeCgroups([dir]);
    rmSync(tmp, { recursive: true, force: true });
  });

  it('falls back to the estimator and says so once in the log', () => {
    const log = exporter.stderr();
    assert.equal(log.match(/no power meter is readable; power is estimated/g)?.length, 1, log);
    assert.match(log, /rapl: /, 'the log says why RAPL was not used');
    const last = lastOf(busy, 'scrape under load');
    assert.equal(select(last.exp, 'kepler_exporter_meter_info')[0]?.labels.meter, 'estimator');
  });

  it('labels every zone as an estimate and names the model in an info metric', () => {
    const last = lastOf(busy, 'scrape under load');
    const zones = select(last.exp, 'kepler_node_cpu_joules_total')
      .map((s) => `${s.labels.zone}@${s.labels.path}`)
      .sort();
    assert.deepEqual(
      zones,
      ZONES.map((z) => `${z}@${PATH}`),
    );
    const [info] = select(last.exp, 'kepler_node_power_estimator_info');
    assert.ok(info, 'kepler_node_power_estimator_info is exported');
    assert.equal(info.labels.model, 'kts-specpower');
    assert.equal(info.labels.source, 'estimator');
    const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
    // Detection agrees with what the test reads itself.
    assert.equal(info.labels.virtual_machine, String(/^flags\s*:.*\bhypervisor\b/m.test(cpuinfo)));
    assert.equal(info.labels.logical_cpus, String(cpus().length));
    assert.ok(Number(info.labels.machine_max_watts) > Number(info.labels.machine_idle_watts), JSON.stringify(info.labels));
    assert.ok(Number(info.labels.machine_idle_watts) > 0, JSON.stringify(info.labels));
  });

  it('the landing page says power is estimated', async () => {
    const page = await (await fetch(`${exporter.url}/`)).text();
    assert.match(page, /Power is estimated, not measured/);
    assert.match(page, /kts-specpower/);
  });

  it('serves non-zero watts within the model range, rising with the real load', (t) => {
    const [info] = select(lastOf(busy, 'scrape under load').exp, 'kepler_node_power_estimator_info');
    const idleW = Number(info.labels.machine_idle_watts);
    const maxW = Number(info.labels.machine_max_watts);
    for (const o of [...idle.slice(1), ...busy.slice(1)]) {
      const w = gauge(o, 'kepler_node_cpu_watts', { zone: 'platform' });
      assert.ok(w >= idleW * 0.99 && w <= maxW * 1.01, `platform ${w} W outside [${idleW}, ${maxW}]`);
      for (const zone of ZONES) assert.ok(gauge(o, 'kepler_node_cpu_watts', { zone }) > 0, `${zone} watts > 0`);
    }
    // The usage ratio follows the machine's real load, as the test reads it from /proc/stat over
    // the same intervals (whatever else this machine runs), and stress-ng on every CPU fills it.
    const all = [...idle, ...busy];
    const intervals: { i: number; own: number; watts: number }[] = [];
    for (let i = 1; i < all.length; i++) {
      if (i === idle.length) continue; // the interval in which stress-ng started
      const own = (all[i].stat.busy - all[i - 1].stat.busy) / (all[i].stat.all - all[i - 1].stat.all);
      const got = gauge(all[i], 'kepler_node_cpu_usage_ratio');
      assert.ok(Math.abs(got - own) < 0.15, `interval ${i}: usage ratio ${got}, /proc/stat says ${own}`);
      intervals.push({ i, own, watts: gauge(all[i], 'kepler_node_cpu_watts', { zone: 'platform' }) });
    }
    const busyUsage = Math.min(...busy.slice(1).map((o) => gauge(o, 'kepler_node_cpu_usage_ratio')));
    assert.ok(busyUsage > 0.85, `usage ratio under stress-ng on every CPU: ${busyUsage}`);
    const busyPlatform = Math.min(...busy.slice(1).map((o) => gauge(o, 'kepler_node_cpu_watts', { zone: 'platform' })));
    // At > 85 % load the model is well up its curve: at least 60 % of the way from idle to max.
    assert.ok(busyPlatform > idleW + 0.6 * (maxW - idleW), `busy ${busyPlatform} W; idle ${idleW}, max ${maxW}`);
    // The watts rise with the load the test measured itself: an interval busier than another by
    // 0.3 of the machine drew more. On a quiet machine that compares the idle intervals with the
    // stress-ng ones; a machine that other work already keeps busy leaves fewer such pairs.
    let pairs = 0;
    for (const p of intervals) {
      for (const q of intervals) {
        if (p.own <= q.own + 0.3) continue;
        pairs++;
        assert.ok(p.watts > q.watts, `interval ${p.i} (${p.own} busy): ${p.watts} W; interval ${q.i} (${q.own} busy): ${q.watts} W`);
      }
    }
    t.diagnostic(
      `usage by interval (/proc/stat): ${intervals.map((x) => x.own.toFixed(2)).join(' ')}; platform W: ${intervals.map((x) => x.watts.toFixed(1)).join(' ')}; ${pairs} pairs compared`,
    );
  });

  it('joules are the integral of the watts, and never go down', () => {
    const all = [...idle, ...busy];
    for (let i = 1; i < all.length; i++) {
      for (const zone of ZONES) {
        const d = delta(all[i - 1], all[i], 'kepler_node_cpu_joules_total', { zone });
        assert.ok(d > 0, `${zone} joules advanced between scrapes ${i - 1} and ${i}`);
        // The watts gauge is the last interval's energy over its duration (measured by the exporter).
        const w = gauge(all[i], 'kepler_node_cpu_watts', { zone });
        const seconds = (all[i].atMs - all[i - 1].atMs) / 1000;
        assert.ok(Math.abs(d / seconds - w) <= 0.15 * w, `${zone}: ${d} J over ~${seconds} s vs ${w} W`);
      }
    }
  });

  it('attributes the active energy to the busy container and its processes, in proportion to their CPU', (t) => {
    const a = busy[0];
    const b = lastOf(busy, 'scrape under load');
    const nodeActive = delta(a, b, 'kepler_node_cpu_active_joules_total', { zone: 'package' });
    const container = delta(a, b, 'kepler_container_cpu_joules_total', { container_id: id, zone: 'package' });
    const containerCpu = b.cgroupCpu - a.cgroupCpu;
    const seconds = (b.atMs - a.atMs) / 1000;
    const cpuShare = containerCpu / (b.nodeActiveCpu - a.nodeActiveCpu);
    const share = container / nodeActive;
    t.diagnostic(
      `stress-ng container: ${containerCpu.toFixed(2)} CPU s in ${seconds.toFixed(1)} s, ${cpuShare.toFixed(3)} of the active CPU, ${share.toFixed(3)} of the active energy`,
    );
    assert.ok(nodeActive > 0);
    // What the test controls: its container did real work (stress-ng on every CPU gets at least a
    // fifth of one, however busy the machine is with other work)...
    assert.ok(containerCpu > 0.2 * seconds, `the stress-ng container used ${containerCpu} CPU s in ${seconds} s`);
    // ...and got the active energy in proportion to the CPU its cgroup used, read by the test from
    // the cgroup's own files, whatever share of the machine that is.
    assert.ok(Math.abs(share - cpuShare) < 0.05, `container ${share} of active energy, ${cpuShare} of CPU`);
    assert.ok(Math.abs(share / cpuShare - 1) < 0.1, `the stress-ng container got ${share} of the active energy for ${cpuShare} of the active CPU`);
    const stress = select(b.exp, 'kepler_process_cpu_joules_total', { zone: 'package' }).filter((s) => s.labels.comm.startsWith('stress-ng'));
    const before = new Map(select(a.exp, 'kepler_process_cpu_joules_total', { zone: 'package' }).map((s) => [s.labels.pid, s.value]));
    const processes = stress.reduce((t, s) => t + s.value - (before.get(s.labels.pid) ?? 0), 0);
    assert.ok(processes / nodeActive > cpuShare - 0.1, `stress-ng processes got ${processes / nodeActive} of the active energy, their cgroup ${cpuShare} of the CPU`);
  });
});
