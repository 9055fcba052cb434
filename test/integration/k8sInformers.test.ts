// Both pod informers against fake HTTPS servers that speak like a kubelet and an API server (real
// TLS from openssl, bearer tokens read from a file the test rotates), on Node's real timers: the
// outage tests wait out the real backoff (1 s, 2 s), several seconds each, so they are
// integration tests. test/unit/k8s.test.ts covers the pure parts and the PodCache.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ApiServerPodInformer } from '../../src/k8s/apiServerPodInformer.js';
import { getJson, kubeletRequestOptions, loadKubeAccess, type KubeAccess } from '../../src/k8s/kubeClient.js';
import { KubeletPodInformer } from '../../src/k8s/kubeletPodInformer.js';
import { podListItems } from '../../src/k8s/podMetadata.js';
import type { Logger } from '../../src/logger/logger.js';
import { captureLogger } from '../support/captureLogger.js';
import { withEnv } from '../support/env.js';
import { FAKE_NODE, FakeApiServer, FakeKubelet, makeCertificate, reachableAgain, testPod, unreachableWarnings, writeKubeconfig, writeKubeconfigWith } from '../support/fakeKube.js';
import { cid } from '../support/ids.js';

// ---------- helpers ----------

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Waits until `cond` holds, checking every 25 ms; fails with `what` after `timeoutMs`. */
async function waitFor(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await sleep(25);
  }
}

const NODE = FAKE_NODE;

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

// ---------- KubeletPodInformer ----------

describe('KubeletPodInformer (fake API server + kubelet over HTTPS)', () => {
  const P1 = testPod('u1', { app: cid('u1-app'), sidecar: cid('u1-side') }, { initContainers: { init: cid('u1-init') } });
  const P2 = testPod('u2', { db: cid('u2-db') }, { namespace: 'ns2' });

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
      c.kubelet.pods = [P1, P2, testPod('u3', { x: cid('u3-x') })];
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
      assert.equal(unreachableWarnings(lines, 'kubelet').length, 0);
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
      assert.equal(unreachableWarnings(lines, 'kubelet').length, 1, 'one WARN however many retries');
      assert.match(String(unreachableWarnings(lines, 'kubelet')[0].fields.err), /ECONNREFUSED|connect|socket/i);
      assert.equal(reachableAgain(lines, 'kubelet').length, 0);

      const failed = inf.stats().errors.pods;
      c.kubelet.pods = [P1, P2];
      await c.kubelet.start(port);
      await waitFor(() => reachableAgain(lines, 'kubelet').length === 1, 'the INFO that the kubelet is back', 9000);
      await waitFor(() => inf.lookup(cid('u2-db')) !== undefined, 'labels of a pod added during the outage');
      assert.equal(reachableAgain(lines, 'kubelet')[0].fields.failed_attempts, failed);
      assert.equal(inf.stats().errors.pods, failed, 'the failure count is kept');
      assert.equal(unreachableWarnings(lines, 'kubelet').length, 1);
      await waitFor(() => c.kubelet.count('/pods') >= 3, 'regular polls again');
      assert.equal(reachableAgain(lines, 'kubelet').length, 1, 'one INFO');
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
      assert.equal(unreachableWarnings(lines, 'kubelet').length, 1);
      assert.match(String(unreachableWarnings(lines, 'kubelet')[0].fields.err), /not JSON/);
      c.kubelet.garbage = false;
      await waitFor(() => reachableAgain(lines, 'kubelet').length === 1, 'recovery', 6000);
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
      assert.match(String(unreachableWarnings(lines, 'kubelet')[0]?.fields.err), /certificate|self.signed|verify/i);
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
      assert.deepEqual(inf.stats().errors, { node: 0, pods: 0, watch: 0 }, `poll failed: ${String(unreachableWarnings(lines, 'kubelet')[0]?.fields.err)}`);
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
      assert.equal(unreachableWarnings(lines, 'kubelet').length, 1);
      await c.api.start(apiPort);
      c.api.kubeletPort = c.kubelet.port;
      await waitFor(() => inf.lookup(cid('u1-app')) !== undefined, 'labels once the API server answers', 8000);
      assert.equal(reachableAgain(lines, 'kubelet').length, 1);
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
      c.api.setPod(testPod('a', { app: cid('a-app') }, { initContainers: { init: cid('a-init') } }));
      c.api.setPod(testPod('elsewhere', { x: cid('elsewhere-x') }, { nodeName: 'node-b' }));
      inf.start();
      await waitFor(() => inf.stats().lastSyncMs !== undefined, 'the initial list');
      assert.deepEqual(inf.lookup(cid('a-app')), { containerName: 'app', pod: { uid: 'a', name: 'pod-a', namespace: 'ns1' } });
      assert.equal(inf.lookup(cid('a-init'))?.containerName, 'init');
      assert.equal(inf.lookup(cid('elsewhere-x')), undefined, 'a pod of another node');
      assert.equal(inf.stats().pods, 1);
      assert.equal(inf.stats().mode, 'apiserver');
      await waitFor(() => c.api.openWatches() === 1, 'the watch');

      // ADDED
      c.api.setPod(testPod('b', { web: cid('b-web') }, { namespace: 'ns2' }));
      c.api.setPod(testPod('elsewhere2', { y: cid('elsewhere2-y') }, { nodeName: 'node-b' }));
      await waitFor(() => inf.lookup(cid('b-web')) !== undefined, 'ADDED pod b');
      assert.deepEqual(inf.lookup(cid('b-web'))?.pod, { uid: 'b', name: 'pod-b', namespace: 'ns2' });
      assert.equal(inf.stats().pods, 2);

      // MODIFIED: the container restarted with a new id.
      c.api.setPod(testPod('a', { app: cid('a-app-2') }, { initContainers: { init: cid('a-init') } }));
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
      c.api.setPod(testPod('a', { app: cid('a-app') }));
      inf.start();
      await waitFor(() => inf.lookup(cid('a-app')) !== undefined && c.api.openWatches() === 1, 'list and watch');
      const port = c.api.port;
      await c.api.stop();
      await waitFor(() => inf.stats().errors.watch >= 2, 'two failed attempts (backoff 1 s)', 6000);
      assert.equal(inf.lookup(cid('a-app'))?.pod.name, 'pod-a', 'labels kept during the outage');
      assert.equal(inf.stats().pods, 1);
      assert.equal(unreachableWarnings(lines, 'API server').length, 1, 'one WARN however many retries');
      assert.equal(reachableAgain(lines, 'API server').length, 0);

      await c.api.start(port);
      await waitFor(() => c.api.openWatches() === 1, 'the watch reopened', 9000);
      await waitFor(() => reachableAgain(lines, 'API server').length === 1, 'the INFO that the API server is back');
      const failed = inf.stats().errors.watch;
      assert.ok(failed >= 2);
      c.api.setPod(testPod('n', { new: cid('n-new') }));
      await waitFor(() => inf.lookup(cid('n-new')) !== undefined, 'an event after the restart');
      assert.equal(inf.stats().pods, 2);
      assert.equal(unreachableWarnings(lines, 'API server').length, 1);
      assert.equal(reachableAgain(lines, 'API server').length, 1);
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
      c.api.setPod(testPod('a', { app: cid('a-app') }));
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
      c.api.setPod(testPod('b', { web: cid('b-web') }));
      await waitFor(() => inf.lookup(cid('b-web')) !== undefined, 'an event after the rotation');
      assert.ok(reachableAgain(lines, 'API server').length <= 1);
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
      api.setPod(testPod('old-uid', { app: cid('web0-old') }, { name: 'web-0' })); // a StatefulSet pod
      api.setPod(testPod('gone', { app: cid('gone-app') }));
      api.setPod(testPod('stays', { app: cid('stays-app') }));
      inf.start();
      await waitFor(() => inf.stats().pods === 3 && api.openWatches() === 1, 'list and watch');
      const port = api.port;
      await api.stop();
      await waitFor(() => inf.stats().errors.watch >= 1, 'the watch failed');
      // While the watch is down (no events delivered): one pod deleted, web-0 recreated with a new uid.
      api.deletePod('gone');
      api.deletePod('old-uid');
      api.setPod(testPod('new-uid', { app: cid('web0-new') }, { name: 'web-0' }));
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
      assert.equal(unreachableWarnings(lines, 'API server').length, 0);
    } finally {
      inf.stop();
      await c.stop();
    }
  });
});

// ---------- the kubelet mode's own HTTPS client: credentials, keep-alive, gzip ----------

describe('kubelet mode credentials and requests, without @kubernetes/client-node (fake API server + kubelet over HTTPS)', () => {
  const P1 = testPod('k1', { app: cid('k1-app') });
  const P2 = testPod('k2', { db: cid('k2-db') });

  /** A fake API server and kubelet whose accepted token is in `tokenFile`; no kubeconfig (each test writes its own). */
  function startServers(tokenFile: string): { api: FakeApiServer; kubelet: FakeKubelet; stop(): Promise<void> } {
    const api = new FakeApiServer(apiCert, tokenFile, NODE);
    const kubelet = new FakeKubelet(kubeletCert, tokenFile);
    return {
      api,
      kubelet,
      async stop() {
        await kubelet.stop();
        await api.stop();
      },
    };
  }
  async function listen(s: { api: FakeApiServer; kubelet: FakeKubelet }): Promise<void> {
    await s.api.start();
    await s.kubelet.start();
    s.api.kubeletPort = s.kubelet.port;
  }
  /** Both servers listening, accepting `token` (from a file of its own); `n` numbers the test's files. */
  async function serversAccepting(token: string): Promise<{ s: ReturnType<typeof startServers>; n: number }> {
    const n = ++serial;
    const tokenFile = join(dir, `token-${n}`);
    writeFileSync(tokenFile, token);
    const s = startServers(tokenFile);
    await listen(s);
    return { s, n };
  }
  const informer = (access: KubeAccess, logger: Logger, pollIntervalMs = 200) =>
    new KubeletPodInformer({ access, nodeName: NODE, pollIntervalMs, kubeletCAFile: '', logger, requestTimeoutMs: 2000 });
  /** Syncs once or fails with the warning that says why. */
  async function synced(inf: KubeletPodInformer, lines: ReturnType<typeof captureLogger>['lines']): Promise<void> {
    await waitFor(() => inf.stats().lastSyncMs !== undefined || inf.stats().errors.node + inf.stats().errors.pods > 0, 'the first poll');
    assert.deepEqual(inf.stats().errors, { node: 0, pods: 0, watch: 0 }, `failed: ${String(unreachableWarnings(lines, 'kubelet')[0]?.fields.err)}`);
  }

  test('in the cluster: API server from KUBERNETES_SERVICE_HOST/PORT, the service account CA, its token re-read when rotated', async () => {
    const sa = join(dir, `sa-${++serial}`);
    mkdirSync(sa);
    writeFileSync(join(sa, 'token'), 'sa-token-1');
    copyFileSync(apiCert.certFile, join(sa, 'ca.crt'));
    const s = startServers(join(sa, 'token'));
    await listen(s);
    const access = withEnv({ KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(s.api.port) }, () => loadKubeAccess('', sa));
    const { logger, lines } = captureLogger();
    const inf = informer(access, logger);
    try {
      s.kubelet.pods = [P1];
      inf.start();
      await synced(inf, lines);
      assert.equal(inf.lookup(cid('k1-app'))?.pod.name, 'pod-k1');
      writeFileSync(join(sa, 'token'), 'sa-token-2\n'); // the kubelet now takes only the new one
      s.kubelet.pods = [P1, P2];
      await waitFor(() => inf.lookup(cid('k2-db')) !== undefined || s.kubelet.rejected > 0, 'a poll after the rotation');
      assert.equal(s.kubelet.rejected, 0, 'the rotated token was read');
      assert.equal(s.api.rejected, 0);
      assert.equal(s.api.count(`/api/v1/nodes/${NODE}`), 1);
    } finally {
      inf.stop();
      await s.stop();
    }
  });

  test('a client certificate (file, relative to the kubeconfig) and key (data), the API server CA as data, no token', async () => {
    const n = ++serial;
    const client = makeCertificate(dir, `client-${n}`);
    const tokenFile = join(dir, `token-${n}`);
    writeFileSync(tokenFile, 'nobody-has-this-token');
    const s = startServers(tokenFile);
    s.api.clientCA = client.certFile;
    s.kubelet.clientCA = client.certFile;
    await listen(s);
    const kubeconfig = join(dir, `kubeconfig-cert-${n}`);
    writeKubeconfigWith(
      kubeconfig,
      { server: `https://127.0.0.1:${s.api.port}`, 'certificate-authority-data': readFileSync(apiCert.certFile).toString('base64') },
      { 'client-certificate': `client-${n}.crt`, 'client-key-data': readFileSync(client.keyFile).toString('base64') },
    );
    const { logger, lines } = captureLogger();
    const inf = informer(loadKubeAccess(kubeconfig), logger);
    try {
      s.kubelet.pods = [P1];
      inf.start();
      await synced(inf, lines);
      assert.equal(inf.lookup(cid('k1-app'))?.containerName, 'app');
      assert.equal(s.api.byCertificate, 1, 'the Node lookup presented the certificate');
      assert.ok(s.kubelet.byCertificate >= 1, 'so did the kubelet poll');
      assert.equal(s.api.rejected + s.kubelet.rejected, 0);
    } finally {
      inf.stop();
      await s.stop();
    }
  });

  test('the API server certificate: insecure-skip-tls-verify, a CA of another server, tls-server-name', async () => {
    const { s, n } = await serversAccepting('tls-token');
    s.kubelet.pods = [P1];
    const server = `https://127.0.0.1:${s.api.port}`;
    /** Polls once with this cluster entry; the first error, or undefined when it worked. */
    async function attempt(cluster: Record<string, unknown>): Promise<string | undefined> {
      const kubeconfig = join(dir, `kubeconfig-tls-${n}-${++serial}`);
      writeKubeconfigWith(kubeconfig, { server, ...cluster }, { token: 'tls-token' });
      const { logger, lines } = captureLogger();
      const inf = informer(loadKubeAccess(kubeconfig), logger, 60_000);
      try {
        inf.start();
        await waitFor(() => inf.stats().lastSyncMs !== undefined || inf.stats().errors.node > 0, 'the first poll');
        return inf.stats().errors.node > 0 ? String(unreachableWarnings(lines, 'kubelet')[0]?.fields.err) : undefined;
      } finally {
        inf.stop();
      }
    }
    try {
      assert.equal(await attempt({ 'insecure-skip-tls-verify': true }), undefined, 'not verified');
      assert.match((await attempt({})) ?? 'worked', /self.signed|certificate|verify/i, 'no CA: the system roots do not know it');
      assert.match((await attempt({ 'certificate-authority': otherCert.certFile })) ?? 'worked', /self.signed|certificate|verify/i);
      assert.equal(await attempt({ 'certificate-authority': apiCert.certFile }), undefined, 'its own CA');
      assert.equal(await attempt({ 'certificate-authority': apiCert.certFile, 'tls-server-name': 'localhost' }), undefined, 'a name in its certificate');
      assert.match((await attempt({ 'certificate-authority': apiCert.certFile, 'tls-server-name': 'elsewhere.example' })) ?? 'worked', /elsewhere\.example|altnames|hostname/i);
    } finally {
      await s.stop();
    }
  });

  test('an exec credential plugin: the official client is loaded to run it, and the kubelet poll works', async () => {
    const { s, n } = await serversAccepting('exec-token');
    const credential = join(dir, `exec-credential-${n}.json`);
    writeFileSync(credential, JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1beta1', kind: 'ExecCredential', status: { token: 'exec-token' } }));
    const kubeconfig = join(dir, `kubeconfig-exec-${n}`);
    writeKubeconfigWith(
      kubeconfig,
      { server: `https://127.0.0.1:${s.api.port}`, 'certificate-authority': apiCert.certFile },
      { exec: { apiVersion: 'client.authentication.k8s.io/v1beta1', command: 'cat', args: [credential] } },
    );
    const access = loadKubeAccess(kubeconfig);
    assert.equal(access.kc.userPlugin(), 'users[0].user.exec');
    const { logger, lines } = captureLogger();
    const inf = informer(access, logger);
    try {
      s.kubelet.pods = [P1];
      inf.start();
      await synced(inf, lines);
      assert.equal(inf.lookup(cid('k1-app'))?.pod.name, 'pod-k1');
      await waitFor(() => s.kubelet.count('/pods') >= 2, 'a second poll');
      assert.equal(s.api.rejected + s.kubelet.rejected, 0, 'the plugin token reached both');
    } finally {
      inf.stop();
      await s.stop();
    }
  });

  test('keep-alive: many polls over one connection; a kept-alive connection closed under a request is retried, not an outage', async () => {
    const c = await startCluster();
    const { logger, lines } = captureLogger();
    const inf = informer(c.access, logger, 100);
    try {
      c.kubelet.pods = [P1];
      inf.start();
      await synced(inf, lines);
      await waitFor(() => c.kubelet.count('/pods') >= 5, 'five polls');
      assert.equal(c.kubelet.connections, 1, 'one TLS connection for every poll');
      const before = c.kubelet.count('/pods');
      c.kubelet.dropNext = 1; // the next request's connection is closed without an answer
      await waitFor(() => c.kubelet.count('/pods') >= before + 3, 'three more requests');
      assert.equal(c.kubelet.dropNext, 0);
      assert.equal(c.kubelet.connections, 2, 'the retry opened a new connection');
      assert.deepEqual(inf.stats().errors, { node: 0, pods: 0, watch: 0 }, 'not counted as a failure');
      assert.equal(unreachableWarnings(lines, 'kubelet').length, 0);
    } finally {
      inf.stop();
      await c.stop();
    }
  });

  test('gzip: asked for, and a gzipped answer is read; a corrupt one is a failure that says so', async () => {
    const c = await startCluster();
    const { logger, lines } = captureLogger();
    const inf = informer(c.access, logger, 200);
    try {
      c.kubelet.gzip = true;
      c.kubelet.pods = [P1, P2];
      inf.start();
      await synced(inf, lines);
      assert.ok(c.kubelet.gzipped >= 1);
      assert.equal(inf.lookup(cid('k2-db'))?.pod.name, 'pod-k2');
      c.kubelet.corruptGzip = true;
      await waitFor(() => inf.stats().errors.pods >= 1, 'a failed poll');
      assert.match(String(unreachableWarnings(lines, 'kubelet')[0]?.fields.err), /gzip/);
      assert.equal(inf.stats().pods, 2, 'the labels are kept');
    } finally {
      inf.stop();
      await c.stop();
    }
  });

  test('the kubelet mode never loads @kubernetes/client-node; the API server mode loads it when it starts', async () => {
    const c = await startCluster();
    c.kubelet.pods = [P1];
    c.api.setPod(P1);
    const hook = join(dir, `resolve-hook-${++serial}.mjs`);
    writeFileSync(
      hook,
      [
        "import { appendFileSync } from 'node:fs';",
        'let log;',
        'export function initialize(data) { log = data; }',
        'export async function resolve(specifier, context, next) {',
        "  if (specifier.startsWith('@kubernetes/client-node')) appendFileSync(log, specifier + '\\n');",
        '  return next(specifier, context);',
        '}',
      ].join('\n'),
    );
    const module = (p: string) => JSON.stringify(new URL(p, import.meta.url).href);
    /** Runs one informer of `mode` through createPodInformer in a child process; what it resolved of the client. */
    async function run(mode: 'kubelet' | 'apiserver'): Promise<{ synced: boolean; resolved: string }> {
      const log = join(dir, `resolved-${mode}-${serial}`);
      writeFileSync(log, '');
      const script = [
        "import { register } from 'node:module';",
        `register(${JSON.stringify(pathToFileURL(hook).href)}, { data: ${JSON.stringify(log)} });`,
        `const { createPodInformer } = await import(${module('../../src/k8s/createPodInformer.js')});`,
        `const { defaultConfig } = await import(${module('../../src/config/defaults.js')});`,
        'const kube = defaultConfig().kube;',
        `Object.assign(kube, { enabled: true, config: ${JSON.stringify(c.kubeconfig)}, nodeName: ${JSON.stringify(NODE)} });`,
        `kube.podInformer = { ...kube.podInformer, mode: ${JSON.stringify(mode)}, pollIntervalMs: 100 };`,
        'const quiet = { debug() {}, info() {}, warn() {}, error() {}, with() { return quiet; } };',
        'const inf = createPodInformer(kube, quiet);',
        'inf.start();',
        'const synced = await inf.whenSynced(5000);',
        'await new Promise((r) => setTimeout(r, 300));',
        'inf.stop();',
        'console.log(JSON.stringify({ synced }));',
        'process.exit(0);',
      ].join('\n');
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
      const code = await new Promise<number | null>((r) => child.once('exit', r));
      assert.equal(code, 0, `child failed: ${err}`);
      return { ...(JSON.parse(out) as { synced: boolean }), resolved: readFileSync(log, 'utf8') };
    }
    try {
      const kubelet = await run('kubelet');
      assert.equal(kubelet.synced, true);
      assert.equal(kubelet.resolved, '', 'the kubelet mode resolved the client');
      const apiserver = await run('apiserver');
      assert.equal(apiserver.synced, true);
      assert.match(apiserver.resolved, /@kubernetes\/client-node/, 'the hook sees the API server mode load it');
    } finally {
      await c.stop();
    }
  });
});
