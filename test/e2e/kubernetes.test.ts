// End to end with Kubernetes as the exporter meets it: HTTPS servers that answer like a kubelet
// and like an API server (real TLS, bearer tokens from a file that rotates), and real processes
// in real cgroups named as the kubelet names them, whose container ids appear in those pods.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseExposition, select, type Exposition } from '../support/exposition.js';
import { FakeApiServer, FakeKubelet, makeCertificate, writeKubeconfig, type TestPod } from '../support/fakeKube.js';
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
import { RaplTree } from '../support/raplTree.js';

const NODE = 'node-1';

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('kepler-ts with Kubernetes pod metadata', { timeout: 180_000 }, () => {
  const v2 = cgroupV2Root();
  const tmp = mkdtempSync(join(tmpdir(), 'kepler-kube-'));
  const sysfs = join(tmp, 'sys');
  const tokenFile = join(tmp, 'token');
  const started: CgroupProcess[] = [];
  const cgroupDirs: string[] = [];
  let tree: RaplTree;
  let api: FakeApiServer;
  let kubelet: FakeKubelet;
  let kubeconfig: string;

  const pod = (name: string, containers: Record<string, string>): TestPod => ({ uid: randomUid(), name, namespace: 'shop', nodeName: NODE, containers });
  /** Starts a container process in the kubelet's cgroup for `p` (cgroupfs driver naming). */
  function runContainer(p: TestPod, container: string, load: number): CgroupProcess {
    const podDir = join(v2, 'kubepods', 'besteffort', `pod${p.uid}`);
    const c = runInCgroup(join(podDir, p.containers[container]), `exec stress-ng --cpu 1 --cpu-load ${load} --timeout 300 -q`);
    started.push(c);
    cgroupDirs.push(c.dir, podDir);
    return c;
  }

  async function scrape(e: Exporter): Promise<Exposition> {
    const res = await fetch(`${e.url}/metrics`);
    assert.equal(res.status, 200);
    return parseExposition(await res.text());
  }

  const containerLabels = (x: Exposition, id: string) => select(x, 'kepler_container_cpu_joules_total', { container_id: id, zone: 'package' })[0]?.labels;
  const podLabels = (x: Exposition, uid: string) => select(x, 'kepler_pod_cpu_joules_total', { pod_id: uid, zone: 'package' })[0]?.labels;

  async function startKubeExporter(mode: 'kubelet' | 'apiserver'): Promise<Exporter> {
    const port = await freePort();
    const config = join(tmp, `kepler-${mode}.yaml`);
    writeFileSync(
      config,
      [
        'monitor: {interval: 0s, staleness: 0s, maxTerminated: -1, minTerminatedEnergyThreshold: 0, terminatedRetention: 0s}',
        'cpu: {preferredMeters: [rapl]}',
        'kube:',
        '  enabled: true',
        `  config: ${kubeconfig}`,
        // A long poll interval: labels that show up within seconds came from the early refresh.
        `  podInformer: {mode: ${mode}, pollInterval: 60s}`,
      ].join('\n'),
    );
    return startExporter([`--config.file=${config}`, `--host.sysfs=${sysfs}`, `--kube.node-name=${NODE}`, `--web.listen-address=127.0.0.1:${port}`], port);
  }

  before(async () => {
    requireCommand('stress-ng');
    requireCommand('openssl');
    mkdirSync(join(sysfs, 'fs'), { recursive: true });
    symlinkSync(CGROUP_ROOT, join(sysfs, 'fs', 'cgroup'));
    tree = new RaplTree(sysfs, [{ dir: 'intel-rapl:0', name: 'package-0', zone: 'package', idleWatts: 10, maxWatts: 50, maxRangeUj: 262_143_328_850 }]);
    tree.start(100);
    tree.resume();
    writeFileSync(tokenFile, 'token-1');
    api = new FakeApiServer(makeCertificate(tmp, 'apiserver'), tokenFile, NODE);
    kubelet = new FakeKubelet(makeCertificate(tmp, 'kubelet'), tokenFile);
    await api.start();
    await kubelet.start();
    api.kubeletPort = kubelet.port;
    kubeconfig = join(tmp, 'kubeconfig');
    writeKubeconfig(kubeconfig, api.port, join(tmp, 'apiserver.crt'), tokenFile);
  });

  after(async () => {
    tree?.stop();
    for (const c of started) stopInCgroup(c);
    await kubelet?.stop();
    await api?.stop();
    await removeCgroups([...cgroupDirs, join(v2, 'kubepods', 'besteffort'), join(v2, 'kubepods')]);
    rmSync(tmp, { recursive: true, force: true });
  });

  describe('kubelet mode (the default)', () => {
    let exporter: Exporter;
    const web = pod('web-0', { app: randomHex(64) });
    const db = pod('db-0', { db: randomHex(64) });
    const late = pod('late-0', { worker: randomHex(64) });
    const plain = randomHex(64);

    before(async () => {
      kubelet.pods = [web];
      runContainer(web, 'app', 60);
      // A Docker container with no pod: still exported as a container.
      const plainRun = runInCgroup(join(v2, 'system.slice', `docker-${plain}.scope`), 'exec stress-ng --cpu 1 --cpu-load 5 --timeout 300 -q', { CONTAINER_NAME: 'plain' });
      started.push(plainRun);
      cgroupDirs.push(plainRun.dir);
      exporter = await startKubeExporter('kubelet');
    });

    after(() => {
      if (exporter && exporter.child.exitCode === null) exporter.child.kill('SIGKILL');
    });

    it('labels containers and pods with their Kubernetes names', async () => {
      const x = await waitFor('pod labels', 10_000, async () => {
        const e = await scrape(exporter);
        return podLabels(e, web.uid)?.pod_name === 'web-0' && containerLabels(e, web.containers.app)?.container_name === 'app' ? e : undefined;
      });
      assert.deepEqual(
        { ...podLabels(x, web.uid), zone: undefined },
        { node_name: NODE, pod_id: web.uid, pod_name: 'web-0', pod_namespace: 'shop', state: 'running', zone: undefined },
      );
      assert.equal(containerLabels(x, web.containers.app)?.pod_id, web.uid);
      assert.equal(containerLabels(x, plain)?.container_name, 'plain', 'a container with no pod is still exported');
      assert.equal(containerLabels(x, plain)?.pod_id, '');
      assert.equal(select(x, 'kepler_exporter_kube_pods', { mode: 'kubelet' })[0]?.value, 1);
      assert.equal(kubelet.rejected, 0, 'every request carried the token');
    });

    it('asks the kubelet early, once, for a container it does not know, and follows a rotated token', async () => {
      writeFileSync(tokenFile, 'token-2'); // the fakes now accept only the new token
      const before = kubelet.count('/pods');
      kubelet.pods = [web, db];
      runContainer(db, 'db', 10);
      // pollInterval is 60 s: labels within seconds come from the early refresh.
      await waitFor('the new pod labelled', 8_000, async () => {
        const e = await scrape(exporter);
        return containerLabels(e, db.containers.db)?.container_name === 'db' && podLabels(e, db.uid)?.pod_name === 'db-0' ? true : undefined;
      });
      for (let i = 0; i < 3; i++) await scrape(exporter);
      const polls = kubelet.count('/pods') - before;
      assert.ok(polls >= 1 && polls <= 2, `${polls} kubelet polls for one new container over several refreshes`);
      // The fakes accept only token-2 since the rotation, so the labels above prove it was read
      // (a poll already in flight with token-1 may have been refused).
    });

    it('exports the containers of a pod that went away as terminated, with their names', async () => {
      const dbProcess = started.find((c) => c.dir.endsWith(db.containers.db));
      assert.ok(dbProcess, 'the db container was started');
      stopInCgroup(dbProcess);
      kubelet.pods = [web];
      const x = await waitFor('the terminated container', 10_000, async () => {
        const e = await scrape(exporter);
        return containerLabels(e, db.containers.db)?.state === 'terminated' ? e : undefined;
      });
      assert.equal(containerLabels(x, db.containers.db)?.container_name, 'db');
      assert.deepEqual({ state: podLabels(x, db.uid)?.state, name: podLabels(x, db.uid)?.pod_name }, { state: 'terminated', name: 'db-0' });
      const next = await scrape(exporter);
      assert.equal(containerLabels(next, db.containers.db), undefined, 'with terminatedRetention 0s, dropped after being shown once');
    });

    it('keeps serving every other metric while the kubelet is down, logs the outage once, and recovers', async () => {
      const port = kubelet.port;
      const logBefore = exporter.stderr().length;
      await kubelet.stop();
      runContainer(late, 'worker', 10); // unknown: its early poll finds the kubelet dead
      const errors = (e: Exposition) => select(e, 'kepler_exporter_kube_errors_total', { kind: 'pods' })[0]?.value ?? 0;
      let x = await waitFor('the new container', 5_000, async () => {
        const e = await scrape(exporter);
        return containerLabels(e, late.containers.worker) ? e : undefined;
      });
      const t0 = Date.now();
      while (Date.now() - t0 < 8_000) {
        x = await scrape(exporter);
        assert.ok(select(x, 'kepler_node_cpu_joules_total').length > 0, 'node metrics');
        assert.ok(containerLabels(x, late.containers.worker), 'the new container is exported, unnamed for now');
        assert.equal(podLabels(x, web.uid)?.pod_name, 'web-0', 'known pods keep their labels');
        await new Promise((r) => setTimeout(r, 500));
      }
      assert.ok(errors(x) >= 2, `retried with backoff: ${errors(x)} failed polls`);
      assert.equal(
        exporter
          .stderr()
          .slice(logBefore)
          .match(/kubelet unreachable/g)?.length,
        1,
        'one log line for the outage',
      );

      kubelet.pods = [web, late];
      await kubelet.start(port);
      await waitFor('the labels after the kubelet came back', 20_000, async () => {
        const e = await scrape(exporter);
        return containerLabels(e, late.containers.worker)?.container_name === 'worker' ? true : undefined;
      });
      assert.match(exporter.stderr().slice(logBefore), /kubelet reachable again/);
    });
  });

  describe('apiserver mode', () => {
    let exporter: Exporter;
    const cache = pod('cache-0', { redis: randomHex(64) });
    const job = pod('job-0', { task: randomHex(64) });

    before(async () => {
      api.setPod(cache);
      api.setPod({ ...pod('elsewhere-0', { x: randomHex(64) }), nodeName: 'node-2' });
      runContainer(cache, 'redis', 20);
      exporter = await startKubeExporter('apiserver');
    });

    after(() => {
      if (exporter && exporter.child.exitCode === null) exporter.child.kill('SIGKILL');
    });

    it('lists and watches the pods of its node', async () => {
      await waitFor('the listed pod labelled', 10_000, async () => {
        const e = await scrape(exporter);
        return podLabels(e, cache.uid)?.pod_name === 'cache-0' ? true : undefined;
      });
      assert.equal(api.openWatches(), 1, 'one watch, on this node');
      api.setPod(job);
      runContainer(job, 'task', 20);
      const x = await waitFor('the watched pod labelled', 8_000, async () => {
        const e = await scrape(exporter);
        return containerLabels(e, job.containers.task)?.container_name === 'task' ? e : undefined;
      });
      assert.equal(podLabels(x, job.uid)?.pod_name, 'job-0');
      assert.equal(select(x, 'kepler_exporter_kube_pods', { mode: 'apiserver' })[0]?.value, 2, 'the pod on node-2 is not this node’s');
    });
  });
});
