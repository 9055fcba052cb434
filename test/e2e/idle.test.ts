// Idle power end to end: a RAPL tree whose power follows the machine's real CPU usage (a known
// zero-load power per zone) read by three exporters, one per idle attribution policy (cpu, even,
// request), with two pods in real cgroups whose CPU requests a fake API server reports. The CPU
// load steps from light to medium to stress-ng --cpu 2 --cpu-load 90; under the heavy load the
// node's idle watts must stay within 15 % of the tree's zero-load power, where Kepler's split
// (total x (1 - usage)) would fall to a fraction of it. At every scrape of every exporter, per
// zone and level, the workloads' idle + the unattributed idle = the node's idle, to the µJ.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { randomHex, randomUid } from '../../harness/ids.js';
import { assertPanelsReturnData, needsIdleAttribution } from '../support/dashboardQueries.js';
import { FakeApiServer, makeCertificate, writeKubeconfig, type TestPod } from '../support/fakeKube.js';
import { PrometheusServer } from '../support/prometheus.js';
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
import { RaplTree } from '../support/raplTree.js';

const NODE = 'node-idle';
const POLICIES = ['cpu', 'even', 'request'] as const;
type Policy = (typeof POLICIES)[number];
/** The tree's zero-load power per exported zone (package sums two sockets). */
const TRUE_IDLE_W: Record<string, number> = { package: 2 * 10, dram: 3 };
const LEVELS = ['process', 'container', 'vm', 'pod'] as const;

/** A sample line's value as exact µJ: the exporter prints joules as exact decimals of µJ. */
function microjoules(value: string): bigint {
  const [whole, frac = ''] = value.split('.');
  assert.ok(/^\d+$/.test(whole) && /^\d{0,6}$/.test(frac), `not an exact joules value: ${value}`);
  return BigInt(whole) * 1_000_000n + BigInt(frac.padEnd(6, '0'));
}

interface Line {
  name: string;
  labels: Record<string, string>;
  value: string;
}

/** The exposition's sample lines with their values as written (no float parsing). */
function lines(text: string): Line[] {
  const out: Line[] = [];
  for (const l of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(l);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const p of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[p[1]] = p[2];
    out.push({ name: m[1], labels, value: m[3] });
  }
  return out;
}

const pick = (ls: Line[], name: string, match: Record<string, string> = {}) => ls.filter((l) => l.name === name && Object.entries(match).every(([k, v]) => l.labels[k] === v));
const sumUj = (ls: Line[]) => ls.reduce((a, l) => a + microjoules(l.value), 0n);

describe('idle power: a learned baseline, and who pays for it', { timeout: 300_000 }, () => {
  const v2 = cgroupV2Root();
  const tmp = mkdtempSync(join(tmpdir(), 'kepler-idle-'));
  const sysfs = join(tmp, 'sys');
  const tokenFile = join(tmp, 'token');
  const pods: TestPod[] = [
    { uid: randomUid(), name: 'big-0', namespace: 'shop', nodeName: NODE, containers: { app: randomHex(64) }, cpuRequests: { app: '1' } },
    { uid: randomUid(), name: 'small-0', namespace: 'ops', nodeName: NODE, containers: { job: randomHex(64) }, cpuRequests: { job: '250m' } },
  ];
  const cgroups: CgroupProcess[] = [];
  let load: ChildProcess | undefined;
  let tree: RaplTree;
  let api: FakeApiServer;
  /** Scrapes a fourth exporter (request policy: its pods have namespaces) for the dashboards' idle panels. */
  let prom: PrometheusServer;
  let dashboards: Exporter;
  let runStartedMs = 0;
  const exporters = new Map<Policy, Exporter>();
  /** Every scrape of every exporter, as text, in the order taken. */
  const scrapes: { policy: Policy; phase: string; text: string }[] = [];
  let scraping = true;
  let phase = 'light';

  async function scrapeAll(): Promise<void> {
    for (const [policy, e] of exporters) {
      const r = await fetch(`${e.url}/metrics`, { headers: { Accept: 'text/plain' } });
      assert.equal(r.status, 200);
      scrapes.push({ policy, phase, text: await r.text() });
    }
  }

  before(async () => {
    requireCommand('stress-ng');
    requireCommand('openssl');
    requireCommand('prometheus');
    mkdirSync(join(sysfs, 'fs'), { recursive: true });
    symlinkSync(CGROUP_ROOT, join(sysfs, 'fs', 'cgroup'));
    tree = new RaplTree(sysfs, [
      { dir: 'intel-rapl:0', name: 'package-0', zone: 'package', idleWatts: 10, maxWatts: 45, maxRangeUj: 262_143_328_850 },
      { dir: 'intel-rapl:0:2', name: 'dram', zone: 'dram', idleWatts: 3, maxWatts: 6, maxRangeUj: 65_712_999_613 },
      { dir: 'intel-rapl:1', name: 'package-1', zone: 'package', idleWatts: 10, maxWatts: 45, maxRangeUj: 262_143_328_850 },
    ]);
    tree.start(20); // fine ticks: a second's interval holds 50
    tree.resume();
    writeFileSync(tokenFile, 'token-1');
    api = new FakeApiServer(makeCertificate(tmp, 'apiserver'), tokenFile, NODE);
    await api.start();
    for (const p of pods) api.setPod(p);
    const kubeconfig = join(tmp, 'kubeconfig');
    writeKubeconfig(kubeconfig, api.port, join(tmp, 'apiserver.crt'), tokenFile);
    // The pods' containers, light work each, started before the exporters so that every policy
    // sees both for the whole run.
    for (const [p, cpuLoad] of [
      [pods[0], 20],
      [pods[1], 10],
    ] as const) {
      const [id] = Object.values(p.containers);
      cgroups.push(runInCgroup(join(v2, 'kubepods', 'burstable', `pod${p.uid}`, id), `exec stress-ng --cpu 1 --cpu-load ${cpuLoad} --timeout 600 -q`));
    }
    const start = async (name: string, policy: Policy): Promise<Exporter> => {
      const config = join(tmp, `${name}.yaml`);
      writeFileSync(
        config,
        [
          // Refreshed by each scrape, once a second: intervals of a second, over many ticks of the tree.
          `monitor: {interval: 0s, staleness: 0s, idle: {model: baseline, attribution: ${policy}}}`,
          'cpu: {preferredMeters: [rapl]}',
          `kube: {enabled: true, config: ${kubeconfig}, podInformer: {mode: apiserver}}`,
        ].join('\n'),
      );
      const port = await freePort();
      return startExporter([`--config.file=${config}`, `--host.sysfs=${sysfs}`, `--kube.node-name=${NODE}`, `--web.listen-address=127.0.0.1:${port}`], port);
    };
    for (const policy of POLICIES) exporters.set(policy, await start(policy, policy));
    // One more, with the request policy, that only Prometheus scrapes: its intervals are
    // Prometheus's, and the others' stay the test's own.
    dashboards = await start('dashboards', 'request');
    prom = await PrometheusServer.start(join(tmp, 'prometheus'), [{ job: 'kepler', address: new URL(dashboards.url).host, interval: '1s' }]);
    runStartedMs = Date.now();
    // One scrape a second through the phases: light (the pods' own work and whatever else runs
    // here), medium, then heavy. The learner needs the spread of usage the first two give.
    const loop = (async () => {
      while (scraping) {
        await scrapeAll();
        await new Promise((r) => setTimeout(r, 1000));
      }
    })();
    await new Promise((r) => setTimeout(r, 30_000));
    phase = 'medium';
    load = spawn('stress-ng', ['--cpu', '2', '--cpu-load', '50', '--timeout', '600', '-q'], { stdio: 'ignore', detached: true });
    await new Promise((r) => setTimeout(r, 25_000));
    killGroup(load);
    phase = 'heavy';
    load = spawn('stress-ng', ['--cpu', '2', '--cpu-load', '90', '--timeout', '600', '-q'], { stdio: 'ignore', detached: true });
    // The learner fits once three usage bins hold 10 s each: the heavy load's bin is the third,
    // after the ramp. Judged from 18 s into the heavy load, for 12 s.
    await new Promise((r) => setTimeout(r, 18_000));
    phase = 'heavy-judged';
    await new Promise((r) => setTimeout(r, 12_000));
    scraping = false;
    await loop;
  });

  after(async () => {
    scraping = false;
    if (load) killGroup(load);
    tree?.stop();
    await prom?.stop();
    for (const e of [...exporters.values(), dashboards]) if (e && e.child.exitCode === null) e.child.kill('SIGKILL');
    for (const c of cgroups) stopInCgroup(c);
    await api?.stop();
    await removeCgroups([
      ...cgroups.map((c) => c.dir),
      ...pods.map((p) => join(v2, 'kubepods', 'burstable', `pod${p.uid}`)),
      join(v2, 'kubepods', 'burstable'),
      join(v2, 'kubepods'),
    ]);
    rmSync(tmp, { recursive: true, force: true });
  });

  it("under stress-ng --cpu 2 --cpu-load 90 the node's idle watts stay within 15 % of the zones' zero-load power", (t) => {
    // Intervals of at least half a second (all of them, unless the machine stalls the loop): the
    // tree's counters advance in ticks, and over a much shorter interval a zone's power, idle
    // included, would mostly be the ticks' timing.
    const interval = (s: { text: string }) => Number(pick(lines(s.text), 'kepler_exporter_last_refresh_interval_seconds')[0]?.value);
    const heavy = scrapes.filter((s) => s.phase === 'heavy-judged' && interval(s) >= 0.5);
    const usageByPhase = scrapes
      .filter((s) => s.policy === 'cpu')
      .map((s) => `${s.phase[0]}${Number(pick(lines(s.text), 'kepler_node_cpu_usage_ratio')[0]?.value).toFixed(2)}`)
      .join(' ');
    t.diagnostic(`usage at each scrape (l light, m medium, h heavy): ${usageByPhase}`);
    assert.ok(heavy.length >= 2 * 8, `heavy-phase scrapes of 0.5 s or more: ${heavy.length}`);
    const usage: number[] = [];
    for (const s of heavy) {
      const ls = lines(s.text);
      usage.push(Number(pick(ls, 'kepler_node_cpu_usage_ratio')[0].value));
      for (const [zone, trueW] of Object.entries(TRUE_IDLE_W)) {
        const idle = Number(pick(ls, 'kepler_node_cpu_idle_watts', { zone })[0]?.value);
        const [baseline] = pick(ls, 'kepler_node_cpu_idle_baseline_watts', { zone });
        const seen = `${s.policy} ${zone}: idle ${idle.toFixed(2)} W (baseline ${baseline.value} W, ${baseline.labels.source}), zero-load power ${trueW} W`;
        assert.ok(Math.abs(idle - trueW) <= 0.15 * trueW, seen);
        assert.equal(baseline.labels.source, 'fitted', `${seen}: the baseline is fitted, not a fallback`);
      }
    }
    for (const zone of Object.keys(TRUE_IDLE_W)) {
      const seen = heavy.map((s) => Number(pick(lines(s.text), 'kepler_node_cpu_idle_watts', { zone })[0]?.value)).sort((a, b) => a - b);
      t.diagnostic(`${zone}: idle watts under load ${seen[0].toFixed(2)} to ${seen[seen.length - 1].toFixed(2)} W (zero-load power ${TRUE_IDLE_W[zone]} W)`);
    }
    // The load was heavy: Kepler's split would have called at most a fifth of the total idle.
    usage.sort((a, b) => a - b);
    assert.ok(usage[Math.floor(usage.length / 2)] > 0.8, `median usage under load ${usage[Math.floor(usage.length / 2)]}`);
  });

  it('at every scrape, per zone and level: workloads idle + unattributed idle = node idle, to the µJ; and joules = active + idle', () => {
    let checked = 0;
    for (const s of scrapes) {
      const ls = lines(s.text);
      for (const zone of Object.keys(TRUE_IDLE_W)) {
        const node = (name: string) => microjoules(pick(ls, name, { zone })[0].value);
        const idle = node('kepler_node_cpu_idle_joules_total');
        assert.equal(node('kepler_node_cpu_joules_total'), node('kepler_node_cpu_active_joules_total') + idle, `${s.policy} ${zone}`);
        for (const level of LEVELS) {
          const workloads = sumUj(pick(ls, `kepler_${level}_cpu_idle_joules_total`, { zone }));
          const unattributed = sumUj(pick(ls, 'kepler_node_cpu_unattributed_idle_joules_total', { zone, level }));
          assert.equal(workloads + unattributed, idle, `${s.policy} ${s.phase} ${zone} ${level}: ${workloads} + ${unattributed} µJ`);
          checked++;
        }
      }
    }
    assert.ok(checked >= 3 * 50 * 2 * 4, `identities checked: ${checked}`);
  });

  it("returns data for the dashboards' queries of the idle shares (per namespace), through the real Prometheus", async () => {
    const t = await prom.queryOne('timestamp(up{job="kepler"})');
    const queries = await assertPanelsReturnData(prom, t, Math.ceil((Date.now() - runStartedMs) / 1000) + 5, needsIdleAttribution);
    assert.ok(queries >= 4, `${queries} idle panel queries run`);
    const namespaces = (await prom.query('sum by (pod_namespace) (kepler_pod_cpu_idle_joules_total{zone="package"})', t)).map((s) => s.metric.pod_namespace).sort();
    assert.deepEqual(namespaces, ['ops', 'shop']);
  });

  it("each policy bills the pods' idle as it says: cpu by CPU time, even equally, request by CPU request", () => {
    const last = (policy: Policy) => lines(scrapes.filter((s) => s.policy === policy).at(-1)?.text ?? '');
    const idleOf = (ls: Line[], p: TestPod) => Number(pick(ls, 'kepler_pod_cpu_idle_joules_total', { pod_id: p.uid, zone: 'package' })[0]?.value);
    const [big, small] = pods;
    // request: 1 core against 250m, every interval both ran: 4 to 1.
    const req = last('request');
    const ratioRequest = idleOf(req, big) / idleOf(req, small);
    assert.ok(Math.abs(ratioRequest - 4) < 0.04, `request: big/small idle ${ratioRequest.toFixed(3)}`);
    assert.equal(pick(req, 'kepler_pod_cpu_idle_joules_total', { pod_name: big.name })[0]?.labels.pod_namespace, 'shop');
    // even: the same share each interval.
    const even = last('even');
    const ratioEven = idleOf(even, big) / idleOf(even, small);
    assert.ok(Math.abs(ratioEven - 1) < 0.02, `even: big/small idle ${ratioEven.toFixed(3)}`);
    // cpu: in proportion to CPU time, which the same scrape reports.
    const cpu = last('cpu');
    const seconds = (p: TestPod) => pick(cpu, 'kepler_container_cpu_seconds_total', { pod_id: p.uid }).reduce((a, l) => a + Number(l.value), 0);
    const ratioCpu = idleOf(cpu, big) / idleOf(cpu, small);
    const ratioSeconds = seconds(big) / seconds(small);
    assert.ok(ratioSeconds > 1.3, `the big pod worked more: ${ratioSeconds.toFixed(2)}`);
    assert.ok(Math.abs(ratioCpu / ratioSeconds - 1) < 0.1, `cpu: idle ratio ${ratioCpu.toFixed(3)}, CPU time ratio ${ratioSeconds.toFixed(3)}`);
  });
});
