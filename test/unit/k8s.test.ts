// Kubernetes pod metadata: the pure parts (container ids, pod lists, CPU requests, the kubelet's
// address, backoff), the PodCache with a fake clock, and loadKubeAccess's configuration errors.
// Both informers carry CPU requests from fake HTTPS servers (one quick sync each, below); their
// outage behaviour on real timers is in test/integration/k8sInformers.test.ts.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../src/config/config.js';
import { ApiServerPodInformer } from '../../src/k8s/apiServerPodInformer.js';
import { kubeletRequestOptions, loadKubeAccess } from '../../src/k8s/kubeClient.js';
import { inClusterKubeconfig, KubeconfigError, parseKubeconfig } from '../../src/k8s/kubeconfig.js';
import { KubeletPodInformer, kubeletEndpoint } from '../../src/k8s/kubeletPodInformer.js';
import { PodCache, REMOVED_POD_RETENTION_MS } from '../../src/k8s/podCache.js';
import { backoffMs, MalformedCpuRequests, OutageTracker, type PodInformer } from '../../src/k8s/podInformer.js';
import { containerIdOf, containersOfPod, parseCpuQuantity, podListItems, podMetaOf, type MalformedCpuRequest, type PodObject } from '../../src/k8s/podMetadata.js';
import { captureLogger, type LogLine } from '../support/captureLogger.js';
import { withEnv } from '../support/env.js';
import {
  FAKE_NODE,
  makeCertificate,
  podObject,
  reachableAgain,
  startFakeCluster,
  testPod,
  unreachableWarnings,
  writeKubeconfig,
  writeKubeconfigWith,
  type TestPod,
} from '../support/fakeKube.js';
import { cid } from '../support/ids.js';

// ---------- pure functions ----------

describe('podMetadata (pure)', () => {
  const id = cid('a');

  test('containerIdOf strips any runtime prefix and lowercases', () => {
    assert.equal(containerIdOf(`containerd://${id}`), id);
    assert.equal(containerIdOf(`cri-o://${id}`), id);
    assert.equal(containerIdOf(`docker://${id}`), id);
    assert.equal(containerIdOf(`containerd://${id.toUpperCase()}`), id);
    assert.equal(containerIdOf(id), id, 'a bare id is taken as is');
    assert.equal(containerIdOf(''), undefined);
    assert.equal(containerIdOf(undefined), undefined);
    assert.equal(containerIdOf('containerd://'), undefined, 'a prefix with no id is no id');
  });

  test('podMetaOf needs a uid; name and namespace default to empty', () => {
    assert.equal(podMetaOf({}), undefined);
    assert.equal(podMetaOf({ metadata: { name: 'x' } }), undefined);
    assert.deepEqual(podMetaOf({ metadata: { uid: 'u' } }), { uid: 'u', name: '', namespace: '' });
    assert.deepEqual(podMetaOf({ metadata: { uid: 'u', name: 'n', namespace: 's' } }), { uid: 'u', name: 'n', namespace: 's' });
  });

  test('containersOfPod covers regular, init and ephemeral containers and skips those without an id', () => {
    const p: PodObject = {
      metadata: { uid: 'uid-1', name: 'web', namespace: 'prod' },
      status: {
        containerStatuses: [{ name: 'app', containerID: `containerd://${cid('app')}` }, { name: 'waiting', containerID: '' }, { name: 'pending' }],
        initContainerStatuses: [{ name: 'init', containerID: `cri-o://${cid('init')}` }],
        ephemeralContainerStatuses: [{ name: 'debugger', containerID: `docker://${cid('dbg').toUpperCase()}` }],
      },
    };
    const m = containersOfPod(p);
    const podMeta = { uid: 'uid-1', name: 'web', namespace: 'prod' };
    assert.deepEqual(
      [...m.entries()].sort(([a], [b]) => a.localeCompare(b)),
      [
        [cid('app'), { containerName: 'app', pod: podMeta }],
        [cid('init'), { containerName: 'init', pod: podMeta }],
        [cid('dbg'), { containerName: 'debugger', pod: podMeta }],
      ].sort(([a], [b]) => (a as string).localeCompare(b as string)),
    );
    assert.equal(containersOfPod({ status: p.status }).size, 0, 'a pod without uid has no containers we can name');
    assert.equal(containersOfPod({ metadata: { uid: 'x' } }).size, 0, 'a pod without status has none');
  });

  test('podListItems accepts a PodList and rejects garbage with a message naming the source', () => {
    const items = podListItems({ kind: 'PodList', items: [podObject(testPod('u1', { a: cid('1') })), null, 'junk', 3] }, 'src');
    assert.equal(items.length, 1, 'non-object items are dropped');
    assert.deepEqual(podListItems({ items: [] }, 'src'), []);
    for (const garbage of ['<html>502</html>', null, undefined, 42, [], {}, { items: 'nope' }, { items: { 0: {} } }]) {
      assert.throws(
        () => podListItems(garbage, 'kubelet https://10.0.0.1:10250/pods'),
        (e: unknown) => e instanceof Error && e.message.includes('kubelet https://10.0.0.1:10250/pods') && /PodList/.test(e.message),
        `garbage ${JSON.stringify(garbage)} must be rejected`,
      );
    }
  });

  test('kubeletEndpoint picks the InternalIP, falls back to the first address, defaults the port, brackets IPv6', () => {
    const addrs = [
      { type: 'Hostname', address: 'node-a' },
      { type: 'ExternalIP', address: '203.0.113.9' },
      { type: 'InternalIP', address: '10.0.0.5' },
    ];
    assert.equal(kubeletEndpoint({ status: { addresses: addrs, daemonEndpoints: { kubeletEndpoint: { Port: 10255 } } } }, 'n'), 'https://10.0.0.5:10255');
    assert.equal(kubeletEndpoint({ status: { addresses: addrs } }, 'n'), 'https://10.0.0.5:10250', 'no daemonEndpoints: port 10250');
    assert.equal(kubeletEndpoint({ status: { addresses: addrs, daemonEndpoints: { kubeletEndpoint: {} } } }, 'n'), 'https://10.0.0.5:10250');
    assert.equal(kubeletEndpoint({ status: { addresses: addrs, daemonEndpoints: { kubeletEndpoint: { Port: 0 } } } }, 'n'), 'https://10.0.0.5:10250');
    assert.equal(
      kubeletEndpoint(
        {
          status: {
            addresses: [
              { type: 'ExternalIP', address: '203.0.113.9' },
              { type: 'Hostname', address: 'h' },
            ],
          },
        },
        'n',
      ),
      'https://203.0.113.9:10250',
      'no InternalIP: the first address',
    );
    assert.equal(kubeletEndpoint({ status: { addresses: [{ type: 'InternalIP', address: 'fd00::5' }] } }, 'n'), 'https://[fd00::5]:10250');
    assert.equal(
      kubeletEndpoint({ status: { addresses: [{ type: 'InternalIP', address: 'fd00::5' }], daemonEndpoints: { kubeletEndpoint: { Port: 11250 } } } }, 'n'),
      'https://[fd00::5]:11250',
    );
    for (const node of [{}, { status: {} }, { status: { addresses: [] } }, { status: { addresses: [{ type: 'InternalIP' }] } }]) {
      assert.throws(() => kubeletEndpoint(node, 'node-zz'), /node-zz/);
    }
  });

  test('backoffMs: 1 s, 2 s, 4 s ... capped', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6, 7, 8, 20, 1000].map((f) => backoffMs(f, 60_000)),
      [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000, 60000],
    );
    assert.equal(backoffMs(0, 60_000), 1000, 'no failure yet: the first delay');
    assert.equal(backoffMs(3, 2500), 2500, 'the cap applies');
    assert.equal(backoffMs(1, 500), 500, 'a cap below 1 s applies too');
  });

  test('OutageTracker counts every failure, warns once per outage, says once when it is over', () => {
    const { logger, lines } = captureLogger();
    const t = new OutageTracker(logger, 'kubelet');
    t.success();
    assert.equal(lines.length, 0, 'healthy and staying healthy: silent');
    for (let i = 0; i < 5; i++) t.failure('pods', new Error('connect ECONNREFUSED', { cause: new Error('inner') }));
    t.failure('node', 'text');
    assert.deepEqual(t.errors, { node: 1, pods: 5, watch: 0 });
    assert.equal(t.failures, 6);
    assert.equal(unreachableWarnings(lines, 'kubelet').length, 1);
    assert.equal(unreachableWarnings(lines, 'kubelet')[0].fields.err, 'connect ECONNREFUSED: inner');
    t.success();
    t.success();
    assert.equal(t.failures, 0);
    assert.equal(reachableAgain(lines, 'kubelet').length, 1);
    assert.equal(reachableAgain(lines, 'kubelet')[0].fields.failed_attempts, 6);
    t.failure('pods', new Error('again'));
    assert.equal(unreachableWarnings(lines, 'kubelet').length, 2, 'a second outage warns again');
    assert.deepEqual(t.errors, { node: 1, pods: 6, watch: 0 }, 'counts are not reset by a recovery');
  });
});

// ---------- PodCache ----------

describe('PodCache', () => {
  const A1 = cid('a1');
  const A2 = cid('a2');
  const B1 = cid('b1');
  const obj = (p: TestPod) => podObject(p) as PodObject;

  test('a pod that left the list keeps its containers for the retention period, then is forgotten', () => {
    let now = 1_000_000;
    const cache = new PodCache(() => now);
    cache.replaceAll([obj(testPod('a', { app: A1, side: A2 })), obj(testPod('b', { web: B1 }))]);
    assert.equal(cache.podCount(), 2);
    assert.deepEqual(cache.lookup(A1), { containerName: 'app', pod: { uid: 'a', name: 'pod-a', namespace: 'ns1' } });
    assert.equal(cache.lookup(cid('unknown')), undefined);

    cache.replaceAll([obj(testPod('b', { web: B1 }))]);
    assert.equal(cache.podCount(), 1, 'pod a is no longer listed');
    now += REMOVED_POD_RETENTION_MS - 1;
    cache.prune();
    assert.equal(cache.lookup(A1)?.pod.name, 'pod-a', 'still named within the retention period');
    assert.equal(cache.lookup(A2)?.containerName, 'side');
    now += 2;
    assert.equal(cache.lookup(A1), undefined, 'forgotten after the retention period');
    assert.equal(cache.lookup(A2), undefined);
    assert.equal(cache.lookup(B1)?.containerName, 'web', 'a listed pod never expires');
  });

  test('a restarted container (new id) retires the old id the same way', () => {
    let now = 0;
    const cache = new PodCache(() => now);
    cache.replaceAll([obj(testPod('a', { app: A1 }))]);
    now += 1000;
    cache.replaceAll([obj(testPod('a', { app: A2 }))]);
    assert.equal(cache.podCount(), 1);
    assert.equal(cache.lookup(A2)?.containerName, 'app');
    assert.equal(cache.lookup(A1)?.containerName, 'app', 'the old id keeps its labels for a while');
    now += REMOVED_POD_RETENTION_MS + 1;
    assert.equal(cache.lookup(A1), undefined);
    assert.equal(cache.lookup(A2)?.pod.uid, 'a');
  });

  test('a container listed again after leaving is live again and does not expire', () => {
    let now = 0;
    const cache = new PodCache(() => now);
    cache.replaceAll([obj(testPod('a', { app: A1 }))]);
    cache.replaceAll([]);
    now += 1000;
    cache.replaceAll([obj(testPod('a', { app: A1 }))]);
    now += 2 * REMOVED_POD_RETENTION_MS;
    cache.prune();
    assert.equal(cache.lookup(A1)?.containerName, 'app');
  });

  test('upsert and remove (watch events)', () => {
    let now = 0;
    const cache = new PodCache(() => now);
    cache.upsert(obj(testPod('a', { app: A1 })));
    cache.upsert(obj(testPod('b', { web: B1 })));
    assert.equal(cache.podCount(), 2);
    cache.upsert(obj(testPod('a', { app: A2 }))); // MODIFIED: restarted
    assert.equal(cache.lookup(A2)?.containerName, 'app');
    assert.equal(cache.lookup(A1)?.containerName, 'app');
    cache.remove(obj(testPod('b', { web: B1 }))); // DELETED
    assert.equal(cache.podCount(), 1);
    assert.equal(cache.lookup(B1)?.pod.name, 'pod-b', 'a deleted pod keeps its labels for a while');
    now += REMOVED_POD_RETENTION_MS + 1;
    assert.equal(cache.lookup(B1), undefined);
    assert.equal(cache.lookup(A1), undefined);
    assert.equal(cache.lookup(A2)?.pod.name, 'pod-a');
    // Objects without uid are ignored, not crashes.
    cache.upsert({ metadata: { name: 'x' } });
    cache.remove({});
    assert.equal(cache.podCount(), 1);
  });

  test('prune bounds memory: retired containers past their time are dropped', () => {
    let now = 0;
    const cache = new PodCache(() => now);
    const retained = () => (cache as unknown as { removed: Map<string, unknown> }).removed.size;
    for (let i = 0; i < 500; i++) {
      cache.replaceAll([obj(testPod(`p${i}`, { c: cid(`c${i}`) }))]); // each list replaces the previous pod
      now += 1;
    }
    assert.equal(cache.podCount(), 1);
    assert.equal(retained(), 499);
    cache.prune();
    assert.equal(retained(), 499, 'nothing expired yet');
    now += REMOVED_POD_RETENTION_MS - 250; // the first ~250 are past their time
    cache.prune();
    assert.ok(retained() > 200 && retained() < 300, `about half pruned, ${retained()} left`);
    now += REMOVED_POD_RETENTION_MS;
    cache.prune();
    assert.equal(retained(), 0, 'all pruned without any lookup');
    assert.equal(cache.lookup(cid('c499'))?.containerName, 'c', 'the listed pod is kept');
  });
});

// ---------- loadKubeAccess ----------

describe('loadKubeAccess', () => {
  test('a missing kubeconfig file: ConfigError naming kube.config and the path', () => {
    const path = join(tmpdir(), 'no-such-dir-k8s-test', 'kubeconfig');
    assert.throws(
      () => loadKubeAccess(path),
      (e: unknown) => e instanceof ConfigError && e.message.includes('kube.config') && e.message.includes(path),
    );
  });

  test('a kubeconfig without a current cluster: ConfigError naming kube.config', () => {
    const d = mkdtempSync(join(tmpdir(), 'k8s-kc-'));
    try {
      const path = join(d, 'kubeconfig');
      writeFileSync(path, 'apiVersion: v1\nkind: Config\nclusters: []\nusers: []\ncontexts: []\n');
      assert.throws(
        () => loadKubeAccess(path),
        (e: unknown) => e instanceof ConfigError && e.message.includes('kube.config') && e.message.includes(path),
      );
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  test('a valid kubeconfig: not in cluster', () => {
    const d = mkdtempSync(join(tmpdir(), 'k8s-kc-'));
    try {
      const path = join(d, 'kubeconfig');
      const token = join(d, 'token');
      writeFileSync(token, 't');
      writeKubeconfig(path, 6443, join(d, 'ca.crt'), token);
      const a = loadKubeAccess(path);
      assert.equal(a.inCluster, false);
      assert.equal(a.kc.getCurrentCluster()?.server, 'https://127.0.0.1:6443');
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  test('no kubeconfig and no KUBERNETES_SERVICE_HOST: ConfigError naming kube.enabled', () => {
    const saved = process.env.KUBERNETES_SERVICE_HOST;
    delete process.env.KUBERNETES_SERVICE_HOST;
    try {
      assert.throws(
        () => loadKubeAccess(''),
        (e: unknown) => e instanceof ConfigError && e.message.includes('kube.enabled') && e.message.includes('KUBERNETES_SERVICE_HOST'),
      );
    } finally {
      if (saved === undefined) delete process.env.KUBERNETES_SERVICE_HOST;
      else process.env.KUBERNETES_SERVICE_HOST = saved;
    }
  });
});

// ---------- CPU requests ----------

describe('CPU requests', () => {
  test('parseCpuQuantity: Kubernetes quantities as cores', () => {
    const good: [unknown, number][] = [
      ['250m', 0.25],
      ['1', 1],
      ['1.5', 1.5],
      ['2000m', 2],
      ['0.1', 0.1],
      ['100m', 0.1],
      ['1m', 0.001],
      ['0', 0],
      ['0m', 0],
      ['-0', 0],
      ['+2', 2],
      ['007', 7],
      ['.5', 0.5],
      ['5.', 5],
      ['1.G', 1e9],
      ['500000u', 0.5],
      ['250000000n', 0.25],
      ['2k', 2000],
      ['1M', 1e6],
      ['1E', 1e18],
      ['1e3', 1000],
      ['1E3', 1000],
      ['1e+2', 100],
      ['1e-3', 0.001],
      ['25e-2', 0.25],
      ['1Ki', 1024],
      ['1.5Ki', 1536],
      ['1Mi', 1024 ** 2],
      // A JSON number (an object written by hand, not by the API server) is cores.
      [0.5, 0.5],
      [2, 2],
      [0, 0],
    ];
    for (const [q, cores] of good) assert.equal(parseCpuQuantity(q), cores, JSON.stringify(q));
    const bad: unknown[] = [
      '',
      ' 1',
      '1 ',
      '1e3m', // an exponent and a suffix: not a quantity
      '1K', // kilo is k; K only in Ki
      '1ki',
      '1mm',
      'm',
      '.',
      '1.2.3',
      '1e',
      '1e1.5',
      '1e400', // not a finite number
      '-1', // the API server refuses negative requests
      '-250m',
      '0x10',
      '1_000',
      '½',
      'lots',
      'NaN',
      'Infinity',
      -1,
      NaN,
      Infinity,
      null,
      undefined,
      true,
      {},
      ['1'],
    ];
    for (const q of bad) assert.equal(parseCpuQuantity(q), undefined, JSON.stringify(q) ?? String(q));
  });

  test("containersOfPod: each container's request, from its status after a resize, else from the spec by name", () => {
    const ids = { app: cid('r-app'), side: cid('r-side'), init: cid('r-init'), dbg: cid('r-dbg'), bad: cid('r-bad'), resized: cid('r-resized') };
    const p: PodObject = {
      metadata: { uid: 'uid-r', name: 'shop', namespace: 'prod' },
      spec: {
        containers: [
          { name: 'app', resources: { requests: { cpu: '250m', memory: '1Gi' } } },
          { name: 'side' },
          { name: 'bad', resources: { requests: { cpu: 'lots' } } },
          { name: 'resized', resources: { requests: { cpu: '2' } } },
        ],
        initContainers: [{ name: 'init', resources: { requests: { cpu: '1.5' } } }],
        ephemeralContainers: [{ name: 'debugger', resources: { requests: { cpu: '0.1' } } }],
      },
      status: {
        containerStatuses: [
          { name: 'resized', containerID: `containerd://${ids.resized}`, resources: { requests: { cpu: '500m' } } },
          { name: 'app', containerID: `containerd://${ids.app}`, resources: {} },
          { name: 'side', containerID: `containerd://${ids.side}` },
          { name: 'bad', containerID: `containerd://${ids.bad}` },
        ],
        initContainerStatuses: [{ name: 'init', containerID: `containerd://${ids.init}` }],
        ephemeralContainerStatuses: [{ name: 'debugger', containerID: `containerd://${ids.dbg}` }],
      },
    };
    const malformed: MalformedCpuRequest[] = [];
    const m = containersOfPod(p, (x) => malformed.push(x));
    const pod = { uid: 'uid-r', name: 'shop', namespace: 'prod' };
    assert.deepEqual(m.get(ids.app), { containerName: 'app', pod, cpuRequestCores: 0.25 });
    assert.deepEqual(m.get(ids.resized), { containerName: 'resized', pod, cpuRequestCores: 0.5 }, "the status's request: what the running container has");
    assert.deepEqual(m.get(ids.init), { containerName: 'init', pod, cpuRequestCores: 1.5 });
    assert.deepEqual(m.get(ids.dbg), { containerName: 'debugger', pod, cpuRequestCores: 0.1 });
    assert.deepEqual(m.get(ids.side), { containerName: 'side', pod }, 'no request: no cpuRequestCores');
    assert.deepEqual(m.get(ids.bad), { containerName: 'bad', pod }, 'a malformed request counts as none');
    assert.deepEqual(malformed, [{ pod, containerName: 'bad', value: 'lots' }]);
    // Without a callback, a malformed request is no crash either.
    assert.equal(containersOfPod(p).get(ids.bad)?.cpuRequestCores, undefined);
  });

  test('PodCache: a changed request (in-place resize) is what the next lookup gives, under the same container id', () => {
    const id = cid('resize');
    const reported: MalformedCpuRequest[] = [];
    const cache = new PodCache(
      () => 0,
      (m) => reported.push(m),
    );
    cache.replaceAll([podObject(testPod('a', { app: id }, { cpuRequests: { app: '250m' } }))]);
    assert.equal(cache.lookup(id)?.cpuRequestCores, 0.25);
    cache.replaceAll([podObject(testPod('a', { app: id }, { cpuRequests: { app: '250m' }, statusCpuRequests: { app: '1' } }))]);
    assert.equal(cache.lookup(id)?.cpuRequestCores, 1);
    cache.upsert(podObject(testPod('a', { app: id }, { cpuRequests: { app: 'x' } })));
    assert.deepEqual(cache.lookup(id), { containerName: 'app', pod: { uid: 'a', name: 'pod-a', namespace: 'ns1' } });
    assert.equal(reported.length, 1);
    cache.upsert(podObject(testPod('a', { app: id })));
    assert.equal(cache.lookup(id)?.cpuRequestCores, undefined, 'request removed');
  });

  test('MalformedCpuRequests: each (pod, container, value) is logged and counted once', () => {
    const { logger, lines } = captureLogger();
    const r = new MalformedCpuRequests(logger);
    const pod = { uid: 'u', name: 'web', namespace: 'shop' };
    for (let i = 0; i < 3; i++) r.report({ pod, containerName: 'app', value: 'lots' });
    assert.equal(r.count, 1);
    r.report({ pod, containerName: 'app', value: '1e3m' }); // another value: said again
    r.report({ pod, containerName: 'side', value: 'lots' });
    r.report({ pod: { ...pod, uid: 'u2' }, containerName: 'app', value: 'lots' });
    r.report({ pod, containerName: 'app', value: { cpu: 1 } });
    assert.equal(r.count, 5);
    const warned = lines.filter((l) => l.level === 'WARN');
    assert.equal(warned.length, 5);
    assert.deepEqual(warned[0], {
      level: 'WARN',
      msg: 'container CPU request is not a Kubernetes quantity; counted as no request',
      fields: { pod: 'shop/web', container: 'app', cpu_request: '"lots"' },
    });
    assert.equal(warned[4].fields.cpu_request, '{"cpu":1}');
    r.report({ pod, containerName: 'app', value: 'x'.repeat(500) });
    assert.equal(String(lines.at(-1)?.fields.cpu_request).length, 60, 'a long value is shortened');
  });
});

describe('both informers carry CPU requests from Kubernetes (fake kubelet and API server over HTTPS)', () => {
  let dir = '';
  let tls: { certFile: string; keyFile: string };
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'k8s-requests-'));
    tls = makeCertificate(dir, 'fake');
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const APP = cid('req-app');
  const SIDE = cid('req-side');
  const INIT = cid('req-init');
  const BAD = cid('req-bad');
  const pod = (extra: Partial<TestPod> = {}) =>
    testPod('rq', { app: APP, side: SIDE, bad: BAD }, { initContainers: { init: INIT }, cpuRequests: { app: '250m', init: '100m', bad: '1e3m' }, ...extra });

  async function waitFor(cond: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 5000;
    while (!cond()) {
      if (Date.now() > deadline) assert.fail(`timed out waiting for: ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  for (const mode of ['kubelet', 'apiserver'] as const) {
    test(`${mode}: requests by container id, a resize updates them, a malformed one is counted once`, async () => {
      const cluster = await startFakeCluster(dir, mode, tls);
      const { api, kubelet } = cluster;
      const access = loadKubeAccess(cluster.kubeconfig);
      const { logger, lines } = captureLogger();
      const inf: PodInformer =
        mode === 'kubelet'
          ? new KubeletPodInformer({ access, nodeName: FAKE_NODE, pollIntervalMs: 100, kubeletCAFile: tls.certFile, logger, requestTimeoutMs: 2000 })
          : new ApiServerPodInformer({ access, nodeName: FAKE_NODE, logger });
      kubelet.pods = [pod()];
      api.setPod(pod());
      const malformedWarnings = (l: LogLine[]) => l.filter((x) => x.level === 'WARN' && x.msg.includes('CPU request'));
      try {
        inf.start();
        await waitFor(() => inf.stats().lastSyncMs !== undefined, 'the first sync');
        assert.deepEqual(inf.lookup(APP), { containerName: 'app', pod: { uid: 'rq', name: 'pod-rq', namespace: 'ns1' }, cpuRequestCores: 0.25 });
        assert.equal(inf.lookup(INIT)?.cpuRequestCores, 0.1, 'an init container');
        assert.equal(inf.lookup(SIDE)?.containerName, 'side');
        assert.equal(inf.lookup(SIDE)?.cpuRequestCores, undefined, 'no request');
        assert.equal(inf.lookup(BAD)?.containerName, 'bad', 'a malformed request keeps the labels');
        assert.equal(inf.lookup(BAD)?.cpuRequestCores, undefined);
        assert.equal(inf.stats().malformedCpuRequests, 1);

        // In-place resize: the status says what the running container now has. (The fake API
        // server does not replay events: the watch must be open before the change.)
        if (mode === 'apiserver') await waitFor(() => api.openWatches() === 1, 'the watch');
        const resized = pod({ statusCpuRequests: { app: '1500m' } });
        kubelet.pods = [resized];
        api.setPod(resized);
        await waitFor(() => inf.lookup(APP)?.cpuRequestCores === 1.5, 'the resized request');
        // Another list or event repeating the malformed request.
        const again = pod({ statusCpuRequests: { app: '2' } });
        kubelet.pods = [again];
        api.setPod(again);
        await waitFor(() => inf.lookup(APP)?.cpuRequestCores === 2, 'the second resize');
        assert.equal(inf.stats().malformedCpuRequests, 1, 'counted once, not at every poll or event');
        assert.equal(malformedWarnings(lines).length, 1, 'logged once');
        assert.deepEqual(malformedWarnings(lines)[0].fields, { pod: 'ns1/pod-rq', container: 'bad', cpu_request: '"1e3m"' });
        assert.deepEqual(inf.stats().errors, { node: 0, pods: 0, watch: 0 }, 'not a failure to reach Kubernetes');
      } finally {
        inf.stop();
        await cluster.stop();
      }
    });
  }
});

// ---------- kubeconfig: our reader (the kubelet mode does not load @kubernetes/client-node) ----------

describe('kubeconfig reader', () => {
  let d = '';
  before(() => {
    d = mkdtempSync(join(tmpdir(), 'k8s-kubeconfig-'));
  });
  after(() => {
    if (d) rmSync(d, { recursive: true, force: true });
  });

  /** Writes `text` as a kubeconfig under a fresh name and loads it. */
  let n = 0;
  function load(text: string) {
    const path = join(d, `kubeconfig-${++n}`);
    writeFileSync(path, text);
    return { path, access: () => loadKubeAccess(path) };
  }

  test('the fields client-node reads: current context, paths relative to the kubeconfig, a trailing slash dropped', () => {
    const kc = parseKubeconfig(
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        '- name: prod',
        '  cluster: {server: "https://10.0.0.1:6443/", certificate-authority: ca.crt, insecure-skip-tls-verify: true, tls-server-name: api.internal}',
        '- name: other',
        '  cluster: {server: "https://other:443", certificate-authority-data: Q0E=, proxy-url: "http://proxy:3128"}',
        'users:',
        '- name: admin',
        '  user: {client-certificate: certs/admin.crt, client-key: /abs/admin.key, client-key-data: S0VZ, as: auditor, username: bob, password: pw}',
        '- name: tok',
        '  user: {token: abc, token-file: /no/such/token}',
        'contexts:',
        '- name: a',
        '  context: {cluster: prod, user: admin, namespace: x}',
        '- name: b',
        '  context: {cluster: other, user: tok}',
        'current-context: a',
        '',
      ].join('\n'),
      '/etc/kube',
    );
    const c = kc.getCurrentCluster();
    assert.deepEqual(
      { server: c?.server, caFile: c?.caFile, caData: c?.caData, skip: c?.skipTLSVerify, sni: c?.tlsServerName, proxy: c?.proxyUrl },
      { server: 'https://10.0.0.1:6443', caFile: '/etc/kube/ca.crt', caData: undefined, skip: true, sni: 'api.internal', proxy: undefined },
    );
    const u = kc.getCurrentUser();
    assert.deepEqual(
      { certFile: u?.certFile, keyFile: u?.keyFile, keyData: u?.keyData, as: u?.impersonate, username: u?.username, password: u?.password, token: u?.token },
      { certFile: '/etc/kube/certs/admin.crt', keyFile: '/abs/admin.key', keyData: 'S0VZ', as: 'auditor', username: 'bob', password: 'pw', token: undefined },
    );
    assert.equal(kc.userPlugin(), undefined);
    // Another context's user: its token-file is not read (only the current user's is), and it did not fail.
    assert.equal(kc.users.find((x) => x.name === 'tok')?.token, 'abc');
    assert.equal(kc.clusters.find((x) => x.name === 'other')?.proxyUrl, 'http://proxy:3128');
  });

  test('apiserver mode: a kubeconfig the official client cannot load stops start-up with a ConfigError, where ours loads it', async () => {
    const { access } = load(
      [
        'clusters: [{name: c, cluster: {server: "https://k:6443"}}]',
        'users: [{name: u, user: {token: t}}, {name: other, user: {token-file: /no/such/kepler-token}}]',
        'contexts: [{name: x, context: {cluster: c, user: u}}, {name: y, context: {cluster: c, user: other}}]',
        'current-context: x',
      ].join('\n'),
    );
    const a = access(); // ours reads only the current user's token-file
    const informer = new ApiServerPodInformer({ access: a, nodeName: 'n', logger: captureLogger().logger });
    await assert.rejects(informer.verifyCredentials(), (err: unknown) => {
      assert.ok(err instanceof ConfigError, String(err));
      assert.match(err.message, /^config: kube\.config: the Kubernetes client cannot load the credentials .*\/no\/such\/kepler-token/);
      return true;
    });
  });

  test("token-file: read with the kubeconfig (trimmed), relative to its folder; only the current user's", () => {
    writeFileSync(join(d, 'tok'), 'sekret\n');
    const { access } = load(
      [
        'clusters: [{name: c, cluster: {server: "https://k:6443"}}]',
        'users: [{name: u, user: {token-file: tok}}, {name: other, user: {token-file: /no/such/file}}]',
        'contexts: [{name: x, context: {cluster: c, user: u}}, {name: y, context: {cluster: c, user: other}}]',
        'current-context: x',
      ].join('\n'),
    );
    const a = access();
    assert.equal(a.kc.getCurrentUser()?.token, 'sekret');
    assert.equal(a.inCluster, false);
    // A static token wins over the file, as in client-node.
    assert.equal(
      parseKubeconfig(
        'clusters: [{name: c, cluster: {server: s}}]\nusers: [{name: u, user: {token: t1, token-file: /no/such}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n',
        d,
      ).getCurrentUser()?.token,
      't1',
    );
  });

  test('exec and auth-provider plugins are named (client-node runs them); an auth-provider token file is a file', () => {
    const plugin = (user: string) =>
      parseKubeconfig(
        `clusters: [{name: c, cluster: {server: s}}]\nusers: [{name: u, user: ${user}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n`,
        '/k',
      ).userPlugin();
    assert.equal(plugin('{exec: {apiVersion: client.authentication.k8s.io/v1, command: aws}}'), 'users[0].user.exec');
    assert.equal(plugin('{auth-provider: {name: oidc, config: {idp-issuer-url: x}}}'), 'users[0].user.auth-provider ("oidc")');
    assert.equal(plugin('{auth-provider: {name: gcp}}'), 'users[0].user.auth-provider ("gcp")');
    assert.equal(plugin('{token: t}'), undefined);
    const kc = parseKubeconfig(
      'clusters: [{name: c, cluster: {server: s}}]\nusers: [{name: u, user: {auth-provider: {name: tokenFile, config: {tokenFile: sa/token}}}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n',
      '/k',
    );
    assert.equal(kc.userPlugin(), undefined);
    assert.equal(kc.getCurrentUser()?.tokenFile, '/k/sa/token', 'read at every request');
    assert.equal(kc.getCurrentUser()?.token, undefined);
  });

  test('a bad kubeconfig: ConfigError naming kube.config, the file and the key', () => {
    const cases: [string, string][] = [
      ['clusters: [{name: c, cluster: {certificate-authority: x}}]\ncontexts: [{name: x, context: {cluster: c}}]\ncurrent-context: x\n', 'clusters[0].cluster.server is missing'],
      ['clusters: [{name: c}]\n', 'clusters[0].cluster is missing'],
      ['clusters: [{cluster: {server: s}}]\n', 'clusters[0].name is missing'],
      ['clusters: [{name: c, cluster: {server: s, insecure-skip-tls-verify: "yes"}}]\n', 'clusters[0].cluster.insecure-skip-tls-verify must be true or false'],
      ['clusters: [{name: c, cluster: {server: s}}]\nusers: [{name: u, user: {token: 4242}}]\n', 'users[0].user.token must be a string, not a number'],
      ['clusters: [{name: c, cluster: {server: s}}]\nusers: [{name: u, user: {client-key: [a]}}]\n', 'users[0].user.client-key must be a string'],
      [
        'users: [{name: u, user: {token-file: /no/such/token/file}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n',
        'users[0].user.token-file: cannot read "/no/such/token/file"',
      ],
      ['contexts: [{name: x, context: {user: u}}]\n', 'contexts[0].context.cluster is missing'],
      ['clusters: [{name: c, cluster: {server: s}}]\ncurrent-context: [x]\n', 'current-context must be a string'],
      ['clusters: [{name: c, cluster: {server: s}}]\ncontexts: [{name: x, context: {cluster: c}}]\ncurrent-context: y\n', 'current-context "y" names no context'],
      ['clusters: [{name: c, cluster: {server: s}}]\ncontexts: [{name: x, context: {cluster: d}}]\ncurrent-context: x\n', 'the context "x" names no cluster'],
      ['clusters: [{name: c, cluster: {server: s}}]\n', 'current-context is not set'],
      ['clusters: [{name: c\n  cluster: {server: s}\n', 'not YAML'],
      ['users:\n- name: u\n  user: {token: "s3cret-token}\n', 'at line 4, column 1'],
      ['- just\n- a list\n', 'not a kubeconfig'],
    ];
    for (const [text, key] of cases) {
      const { path, access } = load(text);
      assert.throws(
        access,
        (e: unknown) => e instanceof ConfigError && e.message.includes('kube.config') && e.message.includes(JSON.stringify(path)) && e.message.includes(key),
        `${key}: ${text}`,
      );
    }
    assert.throws(
      () => parseKubeconfig('clusters: [{name: c, cluster: {server: 1}}]', '/'),
      (e: unknown) => e instanceof KubeconfigError && /clusters\[0\]\.cluster\.server/.test(e.message),
    );
    // Secrets are never quoted: neither a value of the wrong type nor the lines around a YAML error.
    for (const text of ['users: [{name: u, user: {token: 4242}}]\n', 'users:\n- name: u\n  user: {token: "s3cret-token}\n', 'users: [{name: u, user: {password: [s3cret]}}]\n']) {
      assert.throws(
        () => parseKubeconfig(text, '/'),
        (e: unknown) => e instanceof KubeconfigError && !/4242|s3cret/.test(e.message),
        text,
      );
    }
  });

  test('in the cluster: the API server from the environment, the service account CA and token', () => {
    const kc = inClusterKubeconfig({ KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' });
    assert.equal(kc.getCurrentCluster()?.server, 'https://10.96.0.1:443');
    assert.equal(kc.getCurrentCluster()?.caFile, '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt');
    assert.equal(kc.getCurrentUser()?.tokenFile, '/var/run/secrets/kubernetes.io/serviceaccount/token');
    assert.equal(kc.getCurrentUser()?.token, undefined, 'read at every request, not once');
    assert.equal(inClusterKubeconfig({ KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '6443' }).getCurrentCluster()?.server, 'https://[fd00::1]:6443');
    assert.equal(inClusterKubeconfig({ KUBERNETES_SERVICE_HOST: 'h', KUBERNETES_SERVICE_PORT: '8080' }).getCurrentCluster()?.server, 'http://h:8080');
    assert.equal(inClusterKubeconfig({ KUBERNETES_SERVICE_HOST: 'h' }).getCurrentCluster()?.server, 'https://h:443');
    assert.equal(inClusterKubeconfig({ KUBERNETES_SERVICE_HOST: 'h' }, '/sa').getCurrentUser()?.tokenFile, '/sa/token');
  });

  test('kubelet request options: token, client certificate (file or data), basic auth, impersonation; the kubelet CA alone decides', async () => {
    writeFileSync(join(d, 'client.crt'), 'CERT');
    writeFileSync(join(d, 'kubelet-ca.crt'), 'KUBELET-CA');
    const path = join(d, 'kubeconfig-opts');
    writeKubeconfigWith(
      path,
      { server: 'https://127.0.0.1:6443', 'certificate-authority-data': Buffer.from('API-CA').toString('base64'), 'tls-server-name': 'api' },
      { token: 'tkn', 'client-certificate': 'client.crt', 'client-key-data': Buffer.from('KEY').toString('base64'), as: 'someone', username: 'bob', password: 'pw' },
    );
    const access = loadKubeAccess(path);
    const o = await kubeletRequestOptions(access, '');
    assert.deepEqual(o.headers, { Authorization: 'Bearer tkn', 'Impersonate-User': 'someone' });
    assert.deepEqual(o.cert, Buffer.from('CERT'));
    assert.deepEqual(o.key, Buffer.from('KEY'));
    assert.equal(o.auth, 'bob:pw');
    assert.equal(o.ca, undefined, "the API server's CA says nothing about the kubelet");
    assert.equal(o.servername, undefined, 'tls-server-name names the API server');
    assert.equal(o.rejectUnauthorized, false, 'no kubelet CA: not verified, as in Kepler');
    const v = await kubeletRequestOptions(access, join(d, 'kubelet-ca.crt'));
    assert.deepEqual(v.ca, Buffer.from('KUBELET-CA'));
    assert.equal(v.rejectUnauthorized, true);
  });

  test('rotation: the kubeconfig and its token-file are read again at each request; a broken rewrite keeps the last good credentials', async () => {
    const token = join(d, 'rot-token');
    writeFileSync(token, 'one');
    const path = join(d, 'kubeconfig-rot');
    writeKubeconfigWith(path, { server: 'https://127.0.0.1:6443' }, { 'token-file': token });
    const access = loadKubeAccess(path);
    assert.equal((await kubeletRequestOptions(access, '')).headers?.Authorization, 'Bearer one');
    writeFileSync(token, 'two\n');
    assert.equal((await kubeletRequestOptions(access, '')).headers?.Authorization, 'Bearer two');
    writeFileSync(path, 'clusters: [{name: c}]\n'); // invalid
    writeFileSync(token, 'three');
    assert.equal((await kubeletRequestOptions(access, '')).headers?.Authorization, 'Bearer two', 'the last good credentials');
    writeKubeconfigWith(path, { server: 'https://127.0.0.1:6443' }, { token: 'static' });
    assert.equal((await kubeletRequestOptions(access, '')).headers?.Authorization, 'Bearer static');
  });

  test('in the cluster: the service account token is read at every request (projected tokens rotate)', async () => {
    const sa = join(d, 'sa');
    mkdirSync(sa, { recursive: true });
    writeFileSync(join(sa, 'token'), 'sa-1');
    const access = withEnv({ KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' }, () => loadKubeAccess('', sa));
    assert.equal(access.inCluster, true);
    assert.equal(access.kc.getCurrentCluster()?.server, 'https://10.96.0.1:443');
    assert.equal((await kubeletRequestOptions(access, '')).headers?.Authorization, 'Bearer sa-1');
    writeFileSync(join(sa, 'token'), 'sa-2\n');
    assert.equal((await kubeletRequestOptions(access, '')).headers?.Authorization, 'Bearer sa-2');
  });
});
