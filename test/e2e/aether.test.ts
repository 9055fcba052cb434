// The aether plugin as aether runs it: the bundle (dist/bundle/kepler-aether-source) started by the
// real hashicorp/go-plugin client in harness/aether-host (Debian's Go packages), with aether's
// handshake settings. First the protocol on its own, then end to end: kepler-ts measuring real
// work in real cgroups over a RAPL tree, the real Prometheus scraping it, and the plugin's kWh
// compared with what Prometheus says the container's counters rose by.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { eventsOf, pluginLogLines, runGoHost, type HostRun, type Instance } from '../../harness/goPluginHost.js';
import { randomHex, randomUid } from '../../harness/ids.js';
import {
  CGROUP_ROOT,
  cgroupV2Root,
  freePort,
  removeCgroups,
  requireCommand,
  runInCgroup,
  startExporter,
  stopInCgroup,
  type CgroupProcess,
  type Exporter,
} from '../support/processes.js';
import { PrometheusServer } from '../support/prometheus.js';
import { RaplTree } from '../support/raplTree.js';
import { containerEnergies, toInstance, usedEnergy, type InstanceRequest, type Sample } from '../../src/aether/instances.js';
import { familyQueries } from '../../src/aether/promql.js';

const PLUGIN = join(process.cwd(), 'dist', 'bundle', 'kepler-aether-source');
const MODULE = 'kepler-aether-source';
/** The plugins' sockets go here, so that one killed mid-test leaves nothing in /tmp. */
const SOCKETS = mkdtempSync(join(tmpdir(), 'kepler-aether-sockets-'));
after(() => rmSync(SOCKETS, { recursive: true, force: true }));

/** What aether's container would have in its environment for the plugin. */
function pluginEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, INTERVAL: '20s', PROVIDER: 'gcp', PLUGIN_UNIX_SOCKET_DIR: SOCKETS, ...extra };
}

/** A Prometheus URL where nothing listens. */
async function nowhere(): Promise<string> {
  return `http://127.0.0.1:${await freePort()}`;
}

function relDiff(a: number, b: number): number {
  return Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b));
}

/** The one fetch of a run that must have succeeded. */
function fetched(run: HostRun, n = 1): Instance[] {
  const f = eventsOf(run, 'fetch').find((e) => e.n === n);
  assert.ok(f && 'instances' in f, `fetch ${n} failed: ${JSON.stringify(f)}\n${run.stderr}`);
  return f.instances;
}

/** Kill went through go-plugin's controller Shutdown, not its SIGKILL after 2 s. */
function assertCleanKill(run: HostRun): void {
  const [kill] = eventsOf(run, 'kill');
  assert.ok(kill, run.stdout);
  assert.equal(kill.exitCode, 0, `plugin exit: ${JSON.stringify(kill)}`);
  assert.ok(kill.ms < 1500, `Kill took ${kill.ms} ms`);
}

describe('go-plugin conformance', { timeout: 120_000 }, () => {
  it('serves health, broker, stdio, controller and Fetch to the real go-plugin client, and logs as hclog', async () => {
    // No Prometheus behind it: Fetch must fail cleanly and the plugin stay up for Stop and Kill.
    const run = await runGoHost({
      plugin: PLUGIN,
      args: ['-fetches', '2', '-stdio', '-stop'],
      env: pluginEnv({ PROMETHEUS_URL: await nowhere(), PROMETHEUS_TIMEOUT: '2s' }),
    });
    assert.equal(run.code, 0, run.stderr);
    const [started] = eventsOf(run, 'started');
    assert.equal(started.protocol, 'grpc');
    assert.equal(started.network, 'unix', 'listens on a unix socket, as go-plugin plugins do on Linux');
    assert.deepEqual(eventsOf(run, 'ping'), [{ event: 'ping', ok: true }]);
    const health = eventsOf(run, 'health');
    assert.deepEqual(
      health.map((h) => [h.service, 'status' in h ? h.status : h.code]),
      [
        ['plugin', 'SERVING'],
        ['', 'SERVING'],
        ['nope', 'NotFound'],
      ],
    );
    for (const f of eventsOf(run, 'fetch')) {
      assert.ok('code' in f, JSON.stringify(f));
      assert.equal(f.code, 'Unavailable');
      assert.match(f.error, /Prometheus at http:\/\/127\.0\.0\.1:\d+ cannot be reached: .*ECONNREFUSED/);
    }
    assert.deepEqual(eventsOf(run, 'stop'), [{ event: 'stop', ok: true }]);
    const [stdio] = eventsOf(run, 'stdio');
    assert.deepEqual([stdio.opened, stdio.error, stdio.closedBeforeKill], [true, '', false]);
    assertCleanKill(run);
    assert.ok(!existsSync(started.address), 'the socket is removed');

    // The host parsed our stderr lines as hclog (a line it cannot parse comes back raw at debug).
    const ours = pluginLogLines(run.stderr).filter((l) => l['@module'] === MODULE);
    const levels = ours.map((l) => `${l['@level']} ${l['@message']}`);
    assert.ok(levels.includes('info kepler source plugin serving'), levels.join('\n'));
    assert.equal(ours.filter((l) => l['@level'] === 'error' && l['@message'] === 'fetch failed').length, 2, levels.join('\n'));
    assert.ok(!pluginLogLines(run.stderr).some((l) => (l['@message'] ?? '').startsWith('{')), 'no plugin line was re-logged raw');
  });

  it('falls back to loopback TCP in the host port range when it cannot make a socket', async () => {
    const run = await runGoHost({
      plugin: PLUGIN,
      env: pluginEnv({ PROMETHEUS_URL: await nowhere(), PLUGIN_UNIX_SOCKET_DIR: '/nonexistent/dir' }),
      args: ['-fetches', '0'],
    });
    const [started] = eventsOf(run, 'started');
    assert.ok(started, run.stderr);
    assert.equal(started.network, 'tcp');
    const port = Number(started.address.split(':')[1]);
    assert.ok(started.address.startsWith('127.0.0.1:') && port >= 10000 && port <= 25000, started.address);
    assert.deepEqual(eventsOf(run, 'ping'), [{ event: 'ping', ok: true }]);
    assertCleanKill(run);
  });

  it("refuses to start without aether's cookie, with go-plugin's message", async () => {
    const run = await runGoHost({ plugin: PLUGIN, args: ['-cookie', 'not-the-cookie'], env: pluginEnv({ PROMETHEUS_URL: 'http://prom' }) });
    assert.equal(run.code, 3);
    assert.equal(eventsOf(run, 'error')[0]?.stage, 'start');
    assert.match(run.stderr, /This binary is a plugin\. These are not meant to be executed directly\./);

    // Run by hand: the message on stderr, nothing on stdout, exit 1.
    const direct = await runPlugin({}, 5000);
    assert.equal(direct.code, 1);
    assert.equal(direct.stdout, '');
    assert.match(direct.stderr, /^This binary is a plugin\. These are not meant to be executed directly\.\nPlease execute the program that consumes these plugins/);
  });

  it('exits before the handshake on a bad environment, naming each variable at error level', async () => {
    const run = await runGoHost({
      plugin: PLUGIN,
      env: pluginEnv({ INTERVAL: '5', PROVIDER: 'on-prem', PROMETHEUS_URL: 'prometheus:9090' }),
    });
    assert.equal(run.code, 3, 'the host could not start it');
    const errors = pluginLogLines(run.stderr).filter((l) => l['@module'] === MODULE && l['@level'] === 'error');
    assert.equal(errors.length, 1, run.stderr);
    const message = errors[0]['@message'];
    assert.match(message, /INTERVAL="5" is not a Go duration/);
    assert.match(message, /PROVIDER="on-prem" is not a provider aether knows; expected one of aws, azure, gcp, prometheus, custom/);
    assert.match(message, /PROMETHEUS_URL="prometheus:9090" is not an http\(s\) URL/);

    const direct = await runPlugin({ AETHER_SOURCE_PLUGIN: '9cf50efe-f360-4c46-997f-e1ce7317adaf', PROVIDER: 'gcp' }, 5000);
    assert.equal(direct.code, 2);
    assert.equal(direct.stdout, '', 'nothing on stdout: the host would read it as the handshake');
    assert.match(direct.stderr, /INTERVAL is required/);
  });

  it('prints only the handshake on stdout and stops cleanly on SIGTERM', async () => {
    const env = { AETHER_SOURCE_PLUGIN: '9cf50efe-f360-4c46-997f-e1ce7317adaf', ...pluginEnv({ PROMETHEUS_URL: await nowhere() }) };
    const result = await runPlugin(env, 10_000, (child, stdout) => {
      if (/\n/.test(stdout())) child.kill('SIGTERM');
    });
    assert.equal(result.code, 0, result.stderr);
    const m = /^1\|1\|unix\|([^|]+)\|grpc\n$/.exec(result.stdout);
    assert.ok(m, `stdout: ${JSON.stringify(result.stdout)}`);
    assert.ok(!existsSync(m[1]), 'the socket is removed');
    assert.match(result.stderr, /"@message":"stopping".*"reason":"SIGTERM"/);
  });

  it('answers a Fetch of many containers that the go-plugin client decodes whole: what aether reads, and the labels on each instance and metric', async () => {
    // A Prometheus of our own, answering the current family's queries (gzipped, as Prometheus
    // answers a client that accepts it), with labels beyond ASCII.
    const containers = 400;
    const node = (i: number) => `gke-prod-europe-west4-pool-${randomHex(8)}-n${i % 4}`;
    const pods = Array.from({ length: containers / 2 }, (_, i) => ({ pod_id: randomUid(), pod_name: `café-${i}-${randomHex(5)}`, pod_namespace: i % 2 ? 'équipe' : 'shop' }));
    const series = Array.from({ length: containers }, (_, i) => ({
      container_id: randomHex(64),
      container_name: i % 2 ? 'istio-proxy' : `app-☕-${i}`,
      pod_id: pods[i >> 1].pod_id,
      node_name: node(i >> 2),
      state: 'running',
      instance: `10.0.${i >> 8}.${i & 255}:28282`,
      job: 'kepler',
    }));
    const samples = {
      family: 'current' as const,
      energy: { cpu: series.map((labels, i): Sample => ({ labels, value: 100 + i * 7.25 })), memory: series.map((labels, i): Sample => ({ labels, value: i % 3 ? 10 + i : 0 })) },
      pods: pods.map((labels): Sample => ({ labels, value: 1 })),
    };
    const q = familyQueries('current', 20_000);
    const answers = new Map<string, Sample[]>([
      [q.energy.cpu, samples.energy.cpu],
      [q.energy.memory, samples.energy.memory],
      [q.pods ?? '', samples.pods],
    ]);
    const prom = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const answer = answers.get(new URLSearchParams(body).get('query') ?? '');
        if (!answer) {
          res.writeHead(400, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ status: 'error', errorType: 'bad_data', error: 'unexpected query' }));
          return;
        }
        const result = answer.map((s) => ({ metric: s.labels, value: [Math.floor(Date.now() / 1000), String(s.value)] }));
        const json = Buffer.from(JSON.stringify({ status: 'success', data: { resultType: 'vector', result } }));
        const gzip = /\bgzip\b/.test(req.headers['accept-encoding'] ?? '');
        res.writeHead(200, { 'content-type': 'application/json', ...(gzip ? { 'content-encoding': 'gzip' } : {}) });
        res.end(gzip ? gzipSync(json) : json);
      });
    });
    await new Promise<void>((r) => prom.listen(0, '127.0.0.1', r));
    try {
      const port = (prom.address() as { port: number }).port;
      const run = await runGoHost({ plugin: PLUGIN, args: ['-fetches', '1'], env: pluginEnv({ PROMETHEUS_URL: `http://127.0.0.1:${port}`, KEPLER_METRICS: 'current' }) });
      assert.equal(run.code, 0, run.stderr);
      const instances = fetched(run);
      const updatedAt = instances[0]?.metrics.cpu?.updated_at ?? 0;
      // What the plugin builds from these samples, as the Go client decoded it (field names as aether-host prints them).
      const wire = (i: InstanceRequest) => {
        const { EmbodiedEmissions, ...rest } = i;
        return { ...rest, embodied_emissions: EmbodiedEmissions };
      };
      const expected = [...containerEnergies(samples).values()].filter(usedEnergy).map((c) => wire(toInstance(c, { provider: 'gcp', updatedAt })));
      assert.equal(instances.length, containers);
      assert.deepEqual(instances, expected);
      // aether dereferences every metric's emissions, and reads the embodied ones: never absent.
      for (const i of instances) {
        assert.ok(i.embodied_emissions, i.id);
        for (const name of ['cpu', 'memory']) {
          const m = i.metrics[name];
          assert.ok(m?.emissions, `${i.id} ${name}`);
          assert.deepEqual(m.labels, i.labels, 'each metric carries the instance labels, as the Go plugin sends them');
        }
        assert.equal(i.region, 'europe-west4');
        assert.ok(i.labels.pod_name.startsWith('café-'), i.labels.pod_name);
      }
    } finally {
      prom.closeAllConnections();
      await new Promise((r) => prom.close(r));
    }
  });
});

/** Runs the plugin file directly; `watch` sees its stdout as it comes. */
function runPlugin(
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
  watch?: (child: ReturnType<typeof spawn>, stdout: () => string) => void,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(PLUGIN, [], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the plugin did not exit within ${timeoutMs} ms: ${stderr}`));
    }, timeoutMs);
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      watch?.(child, () => stdout);
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * A stand-in for the network between the plugin and Prometheus: it forwards to the real server,
 * except for the requests the test makes it hang on or cut.
 */
class FlakyLink {
  private requests = 0;
  private readonly sockets = new Set<Socket>();
  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  /** `plan(n)` says what to do with the n-th request (1-based). */
  static async start(target: string, plan: (n: number) => 'hang' | 'cut' | 'forward'): Promise<FlakyLink> {
    const port = await freePort();
    let link: FlakyLink;
    const server = createServer((req, res) => {
      const action = plan(++link.requests);
      if (action === 'hang') return;
      if (action === 'cut') return void req.socket.destroy();
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        fetch(`${target}${req.url}`, { method: req.method, headers: { 'content-type': req.headers['content-type'] ?? '' }, body: Buffer.concat(chunks) })
          .then(async (answer) => {
            res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
            res.end(Buffer.from(await answer.arrayBuffer()));
          })
          .catch(() => req.socket.destroy());
      });
    });
    server.on('connection', (s) => {
      link.sockets.add(s);
      s.on('close', () => link.sockets.delete(s));
    });
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    link = new FlakyLink(server, `http://127.0.0.1:${port}`);
    return link;
  }

  /** Connections the plugin still holds open. */
  openConnections(): number {
    return this.sockets.size;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server.close(r));
  }
}

describe('end to end: kepler-ts, the real Prometheus and the plugin under go-plugin', { timeout: 240_000 }, () => {
  const v2 = cgroupV2Root();
  const tmp = mkdtempSync(join(tmpdir(), 'kepler-aether-'));
  const sysfs = join(tmp, 'sys');
  const pod = randomUid();
  const ids = { busy: randomHex(64), light: randomHex(64), brief: randomHex(64) };
  const containers: CgroupProcess[] = [];
  let tree: RaplTree;
  let exporter: Exporter;
  let prom: PrometheusServer;
  let briefEnded: number;

  before(async () => {
    requireCommand('stress-ng');
    requireCommand('prometheus');
    mkdirSync(join(sysfs, 'fs'), { recursive: true });
    symlinkSync(CGROUP_ROOT, join(sysfs, 'fs', 'cgroup'));
    tree = new RaplTree(sysfs, [
      { dir: 'intel-rapl:0', name: 'package-0', zone: 'package', idleWatts: 10, maxWatts: 60, maxRangeUj: 262_143_328_850 },
      { dir: 'intel-rapl:0:0', name: 'core', zone: 'core', idleWatts: 3, maxWatts: 45, maxRangeUj: 262_143_328_850 },
      { dir: 'intel-rapl:0:2', name: 'dram', zone: 'dram', idleWatts: 3, maxWatts: 8, maxRangeUj: 65_712_999_613 },
    ]);
    // A busy Docker container and a light container of a pod.
    containers.push(runInCgroup(join(v2, 'system.slice', `docker-${ids.busy}.scope`), 'exec stress-ng --cpu 1 --cpu-method int64 --timeout 600 -q', { CONTAINER_NAME: 'busy' }));
    containers.push(runInCgroup(join(v2, 'kubepods', 'besteffort', `pod${pod}`, ids.light), 'exec stress-ng --cpu 1 --cpu-load 15 --timeout 600 -q'));

    const port = await freePort();
    // The tree's zero-load power pinned: a run this short would not learn it.
    const pinned = ['package=10', 'core=3', 'dram=3'].map((w) => `--monitor.idle.watts=${w}`);
    exporter = await startExporter([`--host.sysfs=${sysfs}`, `--web.listen-address=127.0.0.1:${port}`, '--exporter.prometheus.legacy-metrics', ...pinned], port);
    tree.start(100);
    tree.resume();
    // The node's region comes the way Kubernetes service discovery and relabelling bring it.
    prom = await PrometheusServer.start(join(tmp, 'prometheus'), [
      {
        job: 'kepler',
        address: `127.0.0.1:${port}`,
        interval: '1s',
        labels: { topology_kubernetes_io_region: 'europe-west4', topology_kubernetes_io_zone: 'europe-west4-b' },
      },
    ]);
    await prom.waitForScrapes('kepler', 3, 60_000);
    // A Docker container that lives for 8 s while Prometheus watches, and is gone well before the checks.
    const brief = runInCgroup(join(v2, 'system.slice', `docker-${ids.brief}.scope`), 'exec stress-ng --cpu 1 --timeout 8 -q', { CONTAINER_NAME: 'brief' });
    containers.push(brief);
    brief.child.once('exit', () => (briefEnded = Date.now()));
    await prom.waitForScrapes('kepler', 25, 120_000);
  });

  after(async () => {
    tree?.stop();
    await prom?.stop();
    for (const c of containers) stopInCgroup(c);
    if (exporter && exporter.child.exitCode === null) exporter.child.kill('SIGKILL');
    await removeCgroups([...containers.map((c) => c.dir), join(v2, 'kubepods', 'besteffort', `pod${pod}`), join(v2, 'kubepods', 'besteffort'), join(v2, 'kubepods')]);
    rmSync(tmp, { recursive: true, force: true });
  });

  /** The container's joules over `window` ending at `time`, as Prometheus computes them. */
  async function promJoules(metric: string, selector: string, window: string, time: number): Promise<number> {
    return prom.queryOne(`sum(increase(${metric}{${selector}}[${window}]))`, time);
  }

  it('returns kWh equal to the increase of the container joules in Prometheus / 3.6e6', async (t) => {
    const run = await runGoHost({ plugin: PLUGIN, args: ['-stdio'], env: pluginEnv({ PROMETHEUS_URL: prom.url }) });
    assert.equal(run.code, 0, run.stderr);
    const instances = fetched(run);
    const busy = instances.find((i) => i.id === ids.busy);
    assert.ok(busy, `busy container missing from ${JSON.stringify(instances.map((i) => i.id))}`);
    const { cpu, memory } = busy.metrics;
    assert.ok(cpu && memory, `busy container without cpu or memory: ${JSON.stringify(busy.metrics)}`);
    const time = cpu.updated_at;
    assert.ok(Number.isInteger(time) && Math.abs(time - Date.now() / 1000) < 30, `updated_at ${time}`);

    const cpuJ = await promJoules('kepler_container_cpu_joules_total', `container_id="${ids.busy}",zone="package"`, '20s', time);
    const dramJ = await promJoules('kepler_container_cpu_joules_total', `container_id="${ids.busy}",zone="dram"`, '20s', time);
    assert.ok(cpuJ > 100, `a busy container over 20 s: ${cpuJ} J`);
    assert.ok(relDiff(cpu.energy, cpuJ / 3.6e6) < 0.02, `cpu ${cpu.energy} kWh vs ${cpuJ / 3.6e6}`);
    assert.ok(relDiff(memory.energy, dramJ / 3.6e6) < 0.02, `memory ${memory.energy} kWh vs ${dramJ / 3.6e6}`);
    // Real energy: over the window, the kWh come back to the container's mean power.
    const watts = await prom.queryOne(`avg_over_time(kepler_container_cpu_watts{container_id="${ids.busy}",zone="package"}[20s])`, time);
    assert.ok(relDiff((cpu.energy * 3.6e6) / 20, watts) < 0.05, `${(cpu.energy * 3.6e6) / 20} W from kWh vs ${watts} W`);
    t.diagnostic(
      `busy container over 20 s: cpu ${cpu.energy.toExponential(4)} kWh (${(relDiff(cpu.energy, cpuJ / 3.6e6) * 100).toFixed(3)} % from increase()), ` +
        `memory ${memory.energy.toExponential(4)} kWh (${(relDiff(memory.energy, dramJ / 3.6e6) * 100).toFixed(3)} %), ` +
        `${((cpu.energy * 3.6e6) / 20).toFixed(2)} W from kWh vs ${watts.toFixed(2)} W mean (${(relDiff((cpu.energy * 3.6e6) / 20, watts) * 100).toFixed(2)} %)`,
    );

    // The shape aether needs.
    assert.deepEqual(Object.keys(busy.metrics).sort(), ['cpu', 'memory']);
    for (const [key, m] of Object.entries(busy.metrics)) {
      assert.ok(m, key);
      assert.equal(m.name, key);
      assert.equal(m.resource_type, key);
      assert.notEqual(m.emissions, null, 'aether dereferences emissions');
      assert.equal(m.updated_at, time);
    }
    assert.notEqual(busy.embodied_emissions, null);
    assert.deepEqual([busy.provider, busy.service, busy.name, busy.status, busy.region, busy.zone], ['gcp', 'kepler', 'busy', 'running', 'europe-west4', 'europe-west4-b']);
    assert.equal(busy.labels.container_id, ids.busy);
    for (const gone of ['zone', 'mode', 'state', '__name__']) assert.ok(!(gone in busy.labels), `label ${gone} in ${JSON.stringify(busy.labels)}`);
    const light = instances.find((i) => i.id === ids.light);
    assert.equal(light?.labels.pod_id, pod, 'the pod container is there with its pod');

    // One instance per container, though kepler-ts also exports the 0.7 names, and only
    // containers that used energy; no 0.7 pseudo containers.
    const idsSeen = instances.map((i) => i.id);
    assert.equal(new Set(idsSeen).size, idsSeen.length, 'an instance appears twice');
    assert.ok(instances.every((i) => i.metrics.cpu && i.metrics.memory && i.metrics.cpu.energy + i.metrics.memory.energy > 0));
    assert.ok(!idsSeen.includes('system_processes') && !idsSeen.includes('kernel_processes'));

    const logs = pluginLogLines(run.stderr).filter((l) => l['@module'] === MODULE);
    const summary = logs.find((l) => l['@message'] === 'fetched container energy');
    assert.equal(summary?.['@level'], 'info', run.stderr);
    assert.equal(summary?.instances, instances.length);
    assert.ok(logs.some((l) => l['@message'] === 'reading kepler-ts / Kepler 0.10+ metrics'));
    assertCleanKill(run);
  });

  it("reads Kepler 0.7's names (core and dram, both modes) when told to", async () => {
    const run = await runGoHost({ plugin: PLUGIN, env: pluginEnv({ PROMETHEUS_URL: prom.url, KEPLER_METRICS: '0.7' }) });
    const busy = fetched(run).find((i) => i.id === ids.busy);
    assert.ok(busy, run.stderr);
    const { cpu, memory } = busy.metrics;
    assert.ok(cpu && memory, run.stderr);
    const time = cpu.updated_at;
    const coreJ = await promJoules('kepler_container_core_joules_total', `container_id="${ids.busy}"`, '20s', time);
    const dramJ = await promJoules('kepler_container_dram_joules_total', `container_id="${ids.busy}"`, '20s', time);
    assert.ok(coreJ > 100, `${coreJ} J`);
    assert.ok(relDiff(cpu.energy, coreJ / 3.6e6) < 0.02, `cpu ${cpu.energy} vs ${coreJ / 3.6e6}`);
    assert.ok(relDiff(memory.energy, dramJ / 3.6e6) < 0.02);
    assert.equal(busy.labels.container_name, 'busy');
    assert.ok(!fetched(run).some((i) => i.id === 'system_processes'), 'the pseudo containers are not workloads');
  });

  it('reports a container that ended within the window, and not once the window has passed it', async () => {
    assert.ok(briefEnded, 'the brief container has ended');
    const sinceEnd = Math.ceil((Date.now() - briefEnded) / 1000);
    const wide = await runGoHost({ plugin: PLUGIN, env: pluginEnv({ PROMETHEUS_URL: prom.url, INTERVAL: `${sinceEnd + 30}s` }) });
    const brief = fetched(wide).find((i) => i.id === ids.brief);
    assert.ok(brief, 'the ended container is in a window that covers its life');
    // About 8 s of one busy CPU.
    assert.ok(brief.metrics.cpu, 'the ended container has cpu energy');
    const joules = brief.metrics.cpu.energy * 3.6e6;
    assert.ok(joules > 20, `${joules} J`);

    const narrow = await runGoHost({ plugin: PLUGIN, env: pluginEnv({ PROMETHEUS_URL: prom.url, INTERVAL: '5s' }) });
    const ids5s = fetched(narrow).map((i) => i.id);
    assert.ok(ids5s.includes(ids.busy), 'the busy container is still reported');
    assert.ok(!ids5s.includes(ids.brief), 'the ended container is not reported again');
  });

  it('fails a Fetch clearly within its timeout when Prometheus hangs or drops, stays up, and the next Fetch works', async () => {
    // Each Fetch of the current family makes three requests: hang the first Fetch's, cut the second's.
    const link = await FlakyLink.start(prom.url, (n) => (n <= 3 ? 'hang' : n <= 6 ? 'cut' : 'forward'));
    try {
      const run = await runGoHost({
        plugin: PLUGIN,
        args: ['-fetches', '3'],
        env: pluginEnv({ PROMETHEUS_URL: link.url, KEPLER_METRICS: 'current', PROMETHEUS_TIMEOUT: '2s' }),
      });
      assert.equal(run.code, 0, run.stderr);
      const [slow, cut, ok] = eventsOf(run, 'fetch');
      assert.ok('code' in slow, JSON.stringify(slow));
      assert.equal(slow.code, 'DeadlineExceeded');
      assert.match(slow.error, /no answer within 2s \(PROMETHEUS_TIMEOUT\)/);
      assert.ok(slow.ms >= 1900 && slow.ms < 3000, `failed after ${slow.ms} ms`);
      assert.ok('code' in cut, JSON.stringify(cut));
      assert.equal(cut.code, 'Unavailable');
      assert.match(cut.error, /cannot be reached/);
      assert.ok('instances' in ok, JSON.stringify(ok));
      assert.ok(ok.instances.some((i) => i.id === ids.busy));
      assertCleanKill(run);
    } finally {
      await link.stop();
    }
  });

  it("stops querying when the host's deadline cancels a Fetch, and the next Fetch works", async () => {
    const link = await FlakyLink.start(prom.url, (n) => (n <= 3 ? 'hang' : 'forward'));
    try {
      const run = await runGoHost({
        plugin: PLUGIN,
        args: ['-fetches', '2', '-fetch-timeout', '1s'],
        env: pluginEnv({ PROMETHEUS_URL: link.url, KEPLER_METRICS: 'current', PROMETHEUS_TIMEOUT: '30s' }),
      });
      const [cancelled, ok] = eventsOf(run, 'fetch');
      assert.ok('code' in cancelled, JSON.stringify(cancelled));
      assert.equal(cancelled.code, 'DeadlineExceeded');
      assert.ok('instances' in ok && ok.instances.some((i) => i.id === ids.busy), JSON.stringify(ok));
      const warned = pluginLogLines(run.stderr).filter((l) => l['@module'] === MODULE && l['@message'] === 'fetch cancelled by the host');
      assert.equal(warned.length, 1, run.stderr);
      assert.equal(warned[0]['@level'], 'warn');
      // The hanging queries were abandoned rather than left for Prometheus's 30 s.
      assert.equal(link.openConnections(), 0);
    } finally {
      await link.stop();
    }
  });
});
