// Kubernetes pod metadata: the pure parts (container ids, pod lists, the kubelet's address,
// backoff), the PodCache with a fake clock, and loadKubeAccess's configuration errors. Both
// informers against fake HTTPS servers on real timers are in test/integration/k8sInformers.test.ts.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../src/config/config.js';
import { loadKubeAccess } from '../../src/k8s/kubeClient.js';
import { kubeletEndpoint } from '../../src/k8s/kubeletPodInformer.js';
import { PodCache, REMOVED_POD_RETENTION_MS } from '../../src/k8s/podCache.js';
import { backoffMs, OutageTracker } from '../../src/k8s/podInformer.js';
import { containerIdOf, containersOfPod, podListItems, podMetaOf, type PodObject } from '../../src/k8s/podMetadata.js';
import { captureLogger } from '../support/captureLogger.js';
import { podObject, reachableAgain, testPod, unreachableWarnings, writeKubeconfig, type TestPod } from '../support/fakeKube.js';
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
