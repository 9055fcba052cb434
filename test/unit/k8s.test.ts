// Kubernetes pod metadata: the pure parts (container ids, pod lists, the kubelet's address,
// backoff), the PodCache with a fake clock, and both informers against fake HTTPS servers that
// speak like a kubelet and an API server (real TLS, bearer tokens read from a file), plus
// loadKubeAccess's configuration errors.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { ConfigError } from '../../src/config/config.js';
import { ApiServerPodInformer } from '../../src/k8s/apiServerPodInformer.js';
import { getJson, kubeletRequestOptions, loadKubeAccess, type KubeAccess } from '../../src/k8s/kubeClient.js';
import { KubeletPodInformer, kubeletEndpoint } from '../../src/k8s/kubeletPodInformer.js';
import { PodCache, REMOVED_POD_RETENTION_MS } from '../../src/k8s/podCache.js';
import { backoffMs, OutageTracker } from '../../src/k8s/podInformer.js';
import { containerIdOf, containersOfPod, podListItems, podMetaOf, type PodObject } from '../../src/k8s/podMetadata.js';
import type { Logger } from '../../src/logger/logger.js';
import { captureLogger, type LogLine } from '../support/captureLogger.js';
import { FakeApiServer, FakeKubelet, makeCertificate, podObject, writeKubeconfig, type TestPod } from '../support/fakeKube.js';

// ---------- helpers ----------

/** A 64-hex container id, as runtimes make them. */
const cid = (seed: string) => createHash('sha256').update(seed).digest('hex');

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Waits until `cond` holds, checking every 25 ms; fails with `what` after `timeoutMs`. */
async function waitFor(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await sleep(25);
  }
}

/** A pod as the kubelet / API server return it (containerd ids). */
function pod(uid: string, containers: Record<string, string>, extra: Partial<TestPod> = {}): TestPod {
  return { uid, name: `pod-${uid}`, namespace: 'ns1', nodeName: 'node-a', containers, ...extra };
}

const NODE = 'node-a';

/** Certificates, shared by every informer test (openssl takes a moment). */
let dir = '';
let apiCert: { certFile: string; keyFile: string };
let kubeletCert: { certFile: string; keyFile: string };
let otherCert: { certFile: string; keyFile: string };
let serial = 0;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'k8s-test-'));
  apiCert = makeCertificate(dir, 'apiserver');
  kubeletCert = makeCertificate(dir, 'kubelet');
  otherCert = makeCertificate(dir, 'other-ca');
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** One fake cluster: an API server and a kubelet sharing a token file, and a kubeconfig for them. */
interface Cluster {
  api: FakeApiServer;
  kubelet: FakeKubelet;
  tokenFile: string;
  kubeconfig: string;
  access: KubeAccess;
  stop(): Promise<void>;
}

async function startCluster(): Promise<Cluster> {
  const n = ++serial;
  const tokenFile = join(dir, `token-${n}`);
  writeFileSync(tokenFile, `token-${n}-a`); // no trailing newline: client-node sends the file verbatim
  const api = new FakeApiServer(apiCert, tokenFile, NODE);
  const kubelet = new FakeKubelet(kubeletCert, tokenFile);
  await api.start();
  await kubelet.start();
  api.kubeletPort = kubelet.port;
  const kubeconfig = join(dir, `kubeconfig-${n}`);
  writeKubeconfig(kubeconfig, api.port, apiCert.certFile, tokenFile);
  const access = loadKubeAccess(kubeconfig);
  return {
    api,
    kubelet,
    tokenFile,
    kubeconfig,
    access,
    async stop() {
      await kubelet.stop();
      await api.stop();
    },
  };
}

const warns = (lines: LogLine[], what: string) => lines.filter((l) => l.level === 'WARN' && l.msg.startsWith(`${what} unreachable`));
const backs = (lines: LogLine[], what: string) => lines.filter((l) => l.level === 'INFO' && l.msg === `${what} reachable again`);

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
        containerStatuses: [
          { name: 'app', containerID: `containerd://${cid('app')}` },
          { name: 'waiting', containerID: '' },
          { name: 'pending' },
        ],
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
    const items = podListItems({ kind: 'PodList', items: [podObject(pod('u1', { a: cid('1') })), null, 'junk', 3] }, 'src');
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
      kubeletEndpoint({ status: { addresses: [{ type: 'ExternalIP', address: '203.0.113.9' }, { type: 'Hostname', address: 'h' }] } }, 'n'),
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
    assert.equal(warns(lines, 'kubelet').length, 1);
    assert.equal(warns(lines, 'kubelet')[0].fields.err, 'connect ECONNREFUSED: inner');
    t.success();
    t.success();
    assert.equal(t.failures, 0);
    assert.equal(backs(lines, 'kubelet').length, 1);
    assert.equal(backs(lines, 'kubelet')[0].fields.failed_attempts, 6);
    t.failure('pods', new Error('again'));
    assert.equal(warns(lines, 'kubelet').length, 2, 'a second outage warns again');
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
    cache.replaceAll([obj(pod('a', { app: A1, side: A2 })), obj(pod('b', { web: B1 }))]);
    assert.equal(cache.podCount(), 2);
    assert.deepEqual(cache.lookup(A1), { containerName: 'app', pod: { uid: 'a', name: 'pod-a', namespace: 'ns1' } });
    assert.equal(cache.lookup(cid('unknown')), undefined);

    cache.replaceAll([obj(pod('b', { web: B1 }))]);
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
    cache.replaceAll([obj(pod('a', { app: A1 }))]);
    now += 1000;
    cache.replaceAll([obj(pod('a', { app: A2 }))]);
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
    cache.replaceAll([obj(pod('a', { app: A1 }))]);
    cache.replaceAll([]);
    now += 1000;
    cache.replaceAll([obj(pod('a', { app: A1 }))]);
    now += 2 * REMOVED_POD_RETENTION_MS;
    cache.prune();
    assert.equal(cache.lookup(A1)?.containerName, 'app');
  });

  test('upsert and remove (watch events)', () => {
    let now = 0;
    const cache = new PodCache(() => now);
    cache.upsert(obj(pod('a', { app: A1 })));
    cache.upsert(obj(pod('b', { web: B1 })));
    assert.equal(cache.podCount(), 2);
    cache.upsert(obj(pod('a', { app: A2 }))); // MODIFIED: restarted
    assert.equal(cache.lookup(A2)?.containerName, 'app');
    assert.equal(cache.lookup(A1)?.containerName, 'app');
    cache.remove(obj(pod('b', { web: B1 }))); // DELETED
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
      cache.replaceAll([obj(pod(`p${i}`, { c: cid(`c${i}`) }))]); // each list replaces the previous pod
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

// ---------- KubeletPodInformer ----------

describe('KubeletPodInformer (fake API server + kubelet over HTTPS)', () => {
  const P1 = pod('u1', { app: cid('u1-app'), sidecar: cid('u1-side') }, { initContainers: { init: cid('u1-init') } });
  const P2 = pod('u2', { db: cid('u2-db') }, { namespace: 'ns2' });

  function informer(c: Cluster, logger: Logger, pollIntervalMs: number, kubeletCAFile = ''): KubeletPodInformer {
    return new KubeletPodInformer({ access: c.access, nodeName: NODE, pollIntervalMs, kubeletCAFile, logger, requestTimeoutMs: 2000 });
  }

  test('labels are known after the first poll; the Node is read once; polling goes on', async () => {
    const c = await startCluster();
    const { logger, lines } = captureLogger();
    const inf = informer(c, logger, 200);
    try {
      c.kubelet.pods = [P1, P2];
      assert.equal(inf.lookup(cid('u1-app')), undefined, 'not started: unknown');
      inf.start();
      await waitFor(() => inf.stats().lastSyncMs !== undefined, 'first poll');
      assert.deepEqual(inf.lookup(cid('u1-app')), { containerName: 'app', pod: { uid: 'u1', name: 'pod-u1', namespace: 'ns1' } });
      assert.equal(inf.lookup(cid('u1-init'))?.containerName, 'init');
      assert.deepEqual(inf.lookup(cid('u2-db'))?.pod, { uid: 'u2', name: 'pod-u2', namespace: 'ns2' });
      assert.equal(inf.stats().pods, 2);
      assert.equal(inf.stats().mode, 'kubelet');
      assert.deepEqual(inf.stats().errors, { node: 0, pods: 0, watch: 0 });
      const kubeletFound = lines.filter((l) => l.msg === 'kubelet found');
      assert.equal(kubeletFound.length, 1);
      assert.equal(kubeletFound[0].fields.endpoint, `https://127.0.0.1:${c.kubelet.port}`);

      // A new pod shows up at a later poll, without any lookup asking for it.
      c.kubelet.pods = [P1, P2, pod('u3', { x: cid('u3-x') })];
      await waitFor(() => inf.stats().pods === 3, 'the third pod, by the periodic poll');
      await waitFor(() => c.kubelet.count('/pods') >= 4, 'several polls');
      assert.equal(c.api.count(`/api/v1/nodes/${NODE}`), 1, 'the Node object is read once');
      assert.equal(c.kubelet.rejected, 0);
      assert.equal(lines.filter((l) => l.level === 'WARN').length, 0);
    } finally {
      inf.stop();
      await c.stop();
    }
  });

  test('a rotated token file is picked up: polling keeps working', async () => {
    const c = await startCluster();
    const { logger, lines } = captureLogger();
    const inf = informer(c, logger, 200);
    try {
      c.kubelet.pods = [P1];
      inf.start();
      await waitFor(() => inf.lookup(cid('u1-app')) !== undefined, 'first poll');
      // Rotate: both fakes now accept only the new token (they read the file at each request).
      writeFileSync(c.tokenFile, 'rotated-token-b');
      c.kubelet.pods = [P1, P2];
      await waitFor(() => inf.lookup(cid('u2-db')) !== undefined || c.kubelet.rejected > 0, 'a poll after the rotation');
      assert.equal(c.kubelet.rejected, 0, 'the kubelet must not see the old token after the token file was rotated');
      const polls = c.kubelet.count('/pods');
      await waitFor(() => c.kubelet.count('/pods') >= polls + 3 || c.kubelet.rejected > 0, 'three more periodic polls');
      assert.equal(c.kubelet.rejected, 0);
      assert.equal(inf.stats().errors.pods, 0);
      assert.equal(inf.lookup(cid('u2-db'))?.pod.name, 'pod-u2');
      assert.equal(warns(lines, 'kubelet').length, 0);
    } finally {
      inf.stop();
      await c.stop();
    }
  });

  test('an unknown container id triggers exactly one early poll, once per id, one at a time', async () => {
    const c = await startCluster();
    const { logger } = captureLogger();
    const inf = informer(c, logger, 60_000);
    try {
      c.kubelet.pods = [P1];
      inf.start();
      await waitFor(() => inf.stats().lastSyncMs !== undefined, 'first poll');
      assert.equal(c.kubelet.count('/pods'), 1);
      inf.lookup(cid('u1-app')); // known: asks nothing
      await sleep(100);
      assert.equal(c.kubelet.count('/pods'), 1, 'a known id does not poll');

      // A container started since the poll.
      c.kubelet.pods = [P1, P2];
      const X = cid('u2-db');
      assert.equal(inf.lookup(X), undefined, 'not known yet');
      // While that poll is in flight: the same id again, and another unknown id.
      assert.equal(inf.lookup(X), undefined);
      assert.equal(inf.lookup(cid('other-while-in-flight')), undefined);
      await waitFor(() => inf.lookup(X) !== undefined, 'the early poll to name the new container', 2000);
      assert.equal(c.kubelet.count('/pods'), 2, 'exactly one early poll');
      await sleep(300);
      assert.equal(c.kubelet.count('/pods'), 2, 'and no more afterwards');

      // An id no pod owns (a plain runtime container): one poll for it, then never again.
      const Z = cid('not-a-pod');
      assert.equal(inf.lookup(Z), undefined);
      await waitFor(() => c.kubelet.count('/pods') === 3, 'one early poll for Z', 2000);
      for (let i = 0; i < 10; i++) {
        assert.equal(inf.lookup(Z), undefined);
        await sleep(30);
      }
      assert.equal(c.kubelet.count('/pods'), 3, 'the same unknown id never polls twice');
      assert.equal(inf.stats().errors.pods, 0);
    } finally {
      inf.stop();
      await c.stop();
    }
  });

  test('the kubelet down: last labels kept, failures counted, one WARN per outage, one INFO when back', async () => {
    const c = await startCluster();
    const { logger, lines } = captureLogger();
    const inf = informer(c, logger, 200);
    try {
      c.kubelet.pods = [P1];
      inf.start();
      await waitFor(() => inf.lookup(cid('u1-app')) !== undefined, 'first poll');
      const port = c.kubelet.port;
      await c.kubelet.stop();
      await waitFor(() => inf.stats().errors.pods >= 3, 'three failed polls (backoff 1 s, 2 s)', 6000);
      assert.equal(inf.lookup(cid('u1-app'))?.pod.name, 'pod-u1', 'labels kept during the outage');
      assert.equal(inf.lookup(cid('u1-side'))?.containerName, 'sidecar');
      assert.equal(inf.stats().pods, 1);
      assert.equal(warns(lines, 'kubelet').length, 1, 'one WARN however many retries');
      assert.match(String(warns(lines, 'kubelet')[0].fields.err), /ECONNREFUSED|connect|socket/i);
      assert.equal(backs(lines, 'kubelet').length, 0);

      const failed = inf.stats().errors.pods;
      c.kubelet.pods = [P1, P2];
      await c.kubelet.start(port);
      await waitFor(() => backs(lines, 'kubelet').length === 1, 'the INFO that the kubelet is back', 9000);
      await waitFor(() => inf.lookup(cid('u2-db')) !== undefined, 'labels of a pod added during the outage');
      assert.equal(backs(lines, 'kubelet')[0].fields.failed_attempts, failed);
      assert.equal(inf.stats().errors.pods, failed, 'the failure count is kept');
      assert.equal(warns(lines, 'kubelet').length, 1);
      await waitFor(() => c.kubelet.count('/pods') >= 3, 'regular polls again');
      assert.equal(backs(lines, 'kubelet').length, 1, 'one INFO');
      assert.equal(c.api.count(`/api/v1/nodes/${NODE}`), 1);
    } finally {
      inf.stop();
      await c.stop();
    }
  });

  test('garbage answers count as failures and keep the labels', async () => {
    const c = await startCluster();
    const { logger, lines } = captureLogger();
    const inf = informer(c, logger, 200);
    try {
      c.kubelet.pods = [P1, P2];
      inf.start();
      await waitFor(() => inf.stats().pods === 2, 'first poll');
      c.kubelet.garbage = true;
      await waitFor(() => inf.stats().errors.pods >= 2, 'two failed polls', 5000);
      assert.equal(inf.stats().pods, 2, 'garbage does not clear what is known');
      assert.equal(inf.lookup(cid('u2-db'))?.pod.name, 'pod-u2');
      assert.equal(warns(lines, 'kubelet').length, 1);
      assert.match(String(warns(lines, 'kubelet')[0].fields.err), /not JSON/);
      c.kubelet.garbage = false;
      await waitFor(() => backs(lines, 'kubelet').length === 1, 'recovery', 6000);
    } finally {
      inf.stop();
      await c.stop();
    }
  });

  test('kubeletCAFile: a kubelet certificate from another CA fails', async () => {
    const c = await startCluster();
    const { logger, lines } = captureLogger();
    const inf = informer(c, logger, 200, otherCert.certFile);
    try {
      c.kubelet.pods = [P1];
      inf.start();
      await waitFor(() => inf.stats().errors.pods >= 1, 'a failed poll');
      assert.equal(inf.lookup(cid('u1-app')), undefined);
      assert.equal(inf.stats().lastSyncMs, undefined);
      assert.match(String(warns(lines, 'kubelet')[0]?.fields.err), /certificate|self.signed|verify/i);
      assert.equal(c.kubelet.count('/pods'), 0, 'no request got through the TLS handshake');
    } finally {
      inf.stop();
      await c.stop();
    }
  });

  test("kubeletCAFile: the kubelet's own certificate is accepted (kubeconfig access)", async () => {
    const c = await startCluster();
    const { logger, lines } = captureLogger();
    const inf = informer(c, logger, 200, kubeletCert.certFile);
    try {
      c.kubelet.pods = [P1];
      inf.start();
      await waitFor(() => inf.stats().lastSyncMs !== undefined || inf.stats().errors.pods > 0, 'the first poll');
      assert.deepEqual(inf.stats().errors, { node: 0, pods: 0, watch: 0 }, `poll failed: ${String(warns(lines, 'kubelet')[0]?.fields.err)}`);
      assert.equal(inf.lookup(cid('u1-app'))?.pod.name, 'pod-u1');
    } finally {
      inf.stop();
      await c.stop();
    }
  });

  test('kubeletRequestOptions + getJson: the CA file decides, not the API server CA', async () => {
    const c = await startCluster();
    try {
      c.kubelet.pods = [P1];
      const url = `https://127.0.0.1:${c.kubelet.port}/pods`;
      // Sanity: the kubelet certificate works as a trust anchor for itself.
      const direct = await getJson(url, { ca: readFileSync(kubeletCert.certFile), headers: { Authorization: `Bearer ${readFileSync(c.tokenFile, 'utf8')}` } }, 2000);
      assert.equal(podListItems(direct, 'direct').length, 1);
      // No CA file: the self-signed kubelet is accepted.
      const noCa = await getJson(url, await kubeletRequestOptions(c.access, ''), 2000);
      assert.equal(podListItems(noCa, 'noCa').length, 1);
      // A CA file of another CA: rejected.
      await assert.rejects(getJson(url, await kubeletRequestOptions(c.access, otherCert.certFile), 2000), /certificate|self.signed|verify/i);
      // The API server's CA says nothing about the kubelet: with its own CA file the kubelet is accepted.
      const own = await getJson(url, await kubeletRequestOptions(c.access, kubeletCert.certFile), 2000);
      assert.equal(podListItems(own, 'own').length, 1);
    } finally {
      await c.stop();
    }
  });

  test('the API server unreachable at start: the Node lookup failure is counted and retried', async () => {
    const c = await startCluster();
    const { logger, lines } = captureLogger();
    c.kubelet.pods = [P1];
    const apiPort = c.api.port;
    await c.api.stop();
    const inf = informer(c, logger, 200);
    try {
      inf.start();
      await waitFor(() => inf.stats().errors.node >= 1, 'a failed Node lookup');
      assert.equal(inf.stats().errors.pods, 0);
      assert.equal(warns(lines, 'kubelet').length, 1);
      await c.api.start(apiPort);
      c.api.kubeletPort = c.kubelet.port;
      await waitFor(() => inf.lookup(cid('u1-app')) !== undefined, 'labels once the API server answers', 8000);
      assert.equal(backs(lines, 'kubelet').length, 1);
    } finally {
      inf.stop();
      await c.stop();
    }
  });
});

// ---------- ApiServerPodInformer ----------

/** The fake API server, able to answer one watch with 410 Gone (resourceVersion too old), as a real one does after compaction. */
class ExpiringApiServer extends FakeApiServer {
  expireNextWatch = false;
  listedAfterExpiry = false;
  private expired = false;

  protected override handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    if (url.pathname === '/api/v1/pods') {
      if (url.searchParams.get('watch') === 'true') {
        if (this.expireNextWatch) {
          this.expireNextWatch = false;
          this.expired = true;
          res.writeHead(410, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 410, reason: 'Expired', message: 'too old resource version' }));
          return;
        }
      } else if (this.expired) {
        this.listedAfterExpiry = true;
      }
    }
    super.handle(req, res);
  }
}

describe('ApiServerPodInformer (fake API server: list + watch)', () => {
  test('initial list, then ADDED / MODIFIED / DELETED events; pods on another node are not seen', async () => {
    const c = await startCluster();
    const { logger, lines } = captureLogger();
    const inf = new ApiServerPodInformer({ access: c.access, nodeName: NODE, logger });
    try {
      c.api.setPod(pod('a', { app: cid('a-app') }, { initContainers: { init: cid('a-init') } }));
      c.api.setPod(pod('elsewhere', { x: cid('elsewhere-x') }, { nodeName: 'node-b' }));
      inf.start();
      await waitFor(() => inf.stats().lastSyncMs !== undefined, 'the initial list');
      assert.deepEqual(inf.lookup(cid('a-app')), { containerName: 'app', pod: { uid: 'a', name: 'pod-a', namespace: 'ns1' } });
      assert.equal(inf.lookup(cid('a-init'))?.containerName, 'init');
      assert.equal(inf.lookup(cid('elsewhere-x')), undefined, 'a pod of another node');
      assert.equal(inf.stats().pods, 1);
      assert.equal(inf.stats().mode, 'apiserver');
      await waitFor(() => c.api.openWatches() === 1, 'the watch');

      // ADDED
      c.api.setPod(pod('b', { web: cid('b-web') }, { namespace: 'ns2' }));
      c.api.setPod(pod('elsewhere2', { y: cid('elsewhere2-y') }, { nodeName: 'node-b' }));
      await waitFor(() => inf.lookup(cid('b-web')) !== undefined, 'ADDED pod b');
      assert.deepEqual(inf.lookup(cid('b-web'))?.pod, { uid: 'b', name: 'pod-b', namespace: 'ns2' });
      assert.equal(inf.stats().pods, 2);

      // MODIFIED: the container restarted with a new id.
      c.api.setPod(pod('a', { app: cid('a-app-2') }, { initContainers: { init: cid('a-init') } }));
      await waitFor(() => inf.lookup(cid('a-app-2')) !== undefined, 'MODIFIED pod a');
      assert.equal(inf.lookup(cid('a-app-2'))?.containerName, 'app');
      assert.equal(inf.lookup(cid('a-app'))?.pod.name, 'pod-a', 'the old id keeps its labels for a while');
      assert.equal(inf.stats().pods, 2);

      // DELETED
      c.api.deletePod('b');
      await waitFor(() => inf.stats().pods === 1, 'DELETED pod b');
      assert.equal(inf.lookup(cid('b-web'))?.pod.name, 'pod-b', 'a deleted pod keeps its labels for a while');

      await sleep(100);
      assert.equal(inf.lookup(cid('elsewhere2-y')), undefined, 'a pod of another node, added later');
      assert.deepEqual(inf.stats().errors, { node: 0, pods: 0, watch: 0 });
      assert.equal(lines.filter((l) => l.level === 'WARN').length, 0);
    } finally {
      inf.stop();
      await c.stop();
    }
  });

  test('the API server down and back on the same port: errors counted, one WARN, the watch resumes', async () => {
    const c = await startCluster();
    const { logger, lines } = captureLogger();
    const inf = new ApiServerPodInformer({ access: c.access, nodeName: NODE, logger });
    try {
      c.api.setPod(pod('a', { app: cid('a-app') }));
      inf.start();
      await waitFor(() => inf.lookup(cid('a-app')) !== undefined && c.api.openWatches() === 1, 'list and watch');
      const port = c.api.port;
      await c.api.stop();
      await waitFor(() => inf.stats().errors.watch >= 2, 'two failed attempts (backoff 1 s)', 6000);
      assert.equal(inf.lookup(cid('a-app'))?.pod.name, 'pod-a', 'labels kept during the outage');
      assert.equal(inf.stats().pods, 1);
      assert.equal(warns(lines, 'API server').length, 1, 'one WARN however many retries');
      assert.equal(backs(lines, 'API server').length, 0);

      await c.api.start(port);
      await waitFor(() => c.api.openWatches() === 1, 'the watch reopened', 9000);
      await waitFor(() => backs(lines, 'API server').length === 1, 'the INFO that the API server is back');
      const failed = inf.stats().errors.watch;
      assert.ok(failed >= 2);
      c.api.setPod(pod('n', { new: cid('n-new') }));
      await waitFor(() => inf.lookup(cid('n-new')) !== undefined, 'an event after the restart');
      assert.equal(inf.stats().pods, 2);
      assert.equal(warns(lines, 'API server').length, 1);
      assert.equal(backs(lines, 'API server').length, 1);
      assert.equal(inf.stats().errors.watch, failed, 'no failure once back');
    } finally {
      inf.stop();
      await c.stop();
    }
  });

  test('a rotated token file is used when the watch reconnects', async () => {
    const c = await startCluster();
    const { logger, lines } = captureLogger();
    const inf = new ApiServerPodInformer({ access: c.access, nodeName: NODE, logger });
    try {
      c.api.setPod(pod('a', { app: cid('a-app') }));
      inf.start();
      await waitFor(() => inf.lookup(cid('a-app')) !== undefined && c.api.openWatches() === 1, 'list and watch');
      writeFileSync(c.tokenFile, 'rotated-api-token');
      const port = c.api.port;
      await c.api.stop(); // drops the watch: the client must reconnect with the new token
      await c.api.start(port);
      await waitFor(() => c.api.openWatches() === 1 || c.api.rejected > 0, 'a reconnection attempt', 8000);
      await sleep(200);
      assert.equal(c.api.rejected, 0, 'the API server must not see the old token after the rotation');
      await waitFor(() => c.api.openWatches() === 1, 'the watch reopened', 8000);
      c.api.setPod(pod('b', { web: cid('b-web') }));
      await waitFor(() => inf.lookup(cid('b-web')) !== undefined, 'an event after the rotation');
      assert.ok(backs(lines, 'API server').length <= 1);
    } finally {
      inf.stop();
      await c.stop();
    }
  });

  test('a relist after 410 Gone reflects what changed meanwhile, including a pod recreated under the same name', async () => {
    const n = ++serial;
    const tokenFile = join(dir, `token-${n}`);
    writeFileSync(tokenFile, `token-${n}`);
    const api = new ExpiringApiServer(apiCert, tokenFile, NODE);
    await api.start();
    const kubeconfig = join(dir, `kubeconfig-${n}`);
    writeKubeconfig(kubeconfig, api.port, apiCert.certFile, tokenFile);
    const { logger } = captureLogger();
    const inf = new ApiServerPodInformer({ access: loadKubeAccess(kubeconfig), nodeName: NODE, logger });
    try {
      api.setPod(pod('old-uid', { app: cid('web0-old') }, { name: 'web-0' })); // a StatefulSet pod
      api.setPod(pod('gone', { app: cid('gone-app') }));
      api.setPod(pod('stays', { app: cid('stays-app') }));
      inf.start();
      await waitFor(() => inf.stats().pods === 3 && api.openWatches() === 1, 'list and watch');
      const port = api.port;
      await api.stop();
      await waitFor(() => inf.stats().errors.watch >= 1, 'the watch failed');
      // While the watch is down (no events delivered): one pod deleted, web-0 recreated with a new uid.
      api.deletePod('gone');
      api.deletePod('old-uid');
      api.setPod(pod('new-uid', { app: cid('web0-new') }, { name: 'web-0' }));
      api.expireNextWatch = true; // the resourceVersion the client resumes from is too old: 410, relist
      await api.start(port);
      await waitFor(() => api.listedAfterExpiry && api.openWatches() === 1, 'the relist and a new watch', 8000);
      await waitFor(() => inf.lookup(cid('web0-new')) !== undefined, 'the recreated pod');
      assert.deepEqual(inf.lookup(cid('web0-new'))?.pod, { uid: 'new-uid', name: 'web-0', namespace: 'ns1' });
      assert.equal(inf.lookup(cid('gone-app'))?.pod.uid, 'gone', 'a pod deleted meanwhile keeps its labels for a while');
      await sleep(200);
      assert.equal(inf.stats().pods, 2, 'pods known after the relist: stays and web-0 (new uid); the old uid of web-0 must be dropped');
    } finally {
      inf.stop();
      await api.stop();
    }
  });

  test('stop() ends the watch without counting it as a failure', async () => {
    const c = await startCluster();
    const { logger, lines } = captureLogger();
    const inf = new ApiServerPodInformer({ access: c.access, nodeName: NODE, logger });
    try {
      inf.start();
      await waitFor(() => c.api.openWatches() === 1, 'the watch');
      inf.stop();
      await waitFor(() => c.api.openWatches() === 0, 'the watch closed');
      await sleep(100);
      assert.deepEqual(inf.stats().errors, { node: 0, pods: 0, watch: 0 });
      assert.equal(warns(lines, 'API server').length, 0);
    } finally {
      inf.stop();
      await c.stop();
    }
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
