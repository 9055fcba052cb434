// Test helper: HTTPS servers that answer like a kubelet (/pods) and like an API server (the Node
// object, a pod list and a watch stream), with real TLS (a self-signed certificate made by
// openssl) and bearer tokens read from a file the test can rotate. Kubernetes cannot run on the
// test machine; these are the lowest layer the exporter's real code talks to.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { gzipSync } from 'node:zlib';
import { stringify } from 'yaml';
import { selfSignedCertificate } from './certificates.js';
import type { LogLine } from './captureLogger.js';

export interface TestPod {
  uid: string;
  name: string;
  namespace: string;
  nodeName: string;
  /** container name -> 64-hex id (reported as containerd://<id>). */
  containers: Record<string, string>;
  initContainers?: Record<string, string>;
  /** container name -> spec.*containers[].resources.requests.cpu (regular or init container). */
  cpuRequests?: Record<string, string | number>;
  /** container name -> status.*containerStatuses[].resources.requests.cpu (what an in-place resize applied). */
  statusCpuRequests?: Record<string, string>;
}

/** The node the fake cluster's pods run on unless a test says otherwise. */
export const FAKE_NODE = 'node-a';

/** A pod as the kubelet / API server return it (containerd ids), on FAKE_NODE in namespace ns1. */
export function testPod(uid: string, containers: Record<string, string>, extra: Partial<TestPod> = {}): TestPod {
  return { uid, name: `pod-${uid}`, namespace: 'ns1', nodeName: FAKE_NODE, containers, ...extra };
}

/** The WARN lines saying `what` (kubelet, API server) is unreachable: one per outage. */
export const unreachableWarnings = (lines: LogLine[], what: string): LogLine[] => lines.filter((l) => l.level === 'WARN' && l.msg.startsWith(`${what} unreachable`));
/** The INFO lines saying `what` is reachable again: one per outage that ended. */
export const reachableAgain = (lines: LogLine[], what: string): LogLine[] => lines.filter((l) => l.level === 'INFO' && l.msg === `${what} reachable again`);

export function podObject(p: TestPod, resourceVersion = '1'): object {
  const requests = (cpu: string | number | undefined) => (cpu === undefined ? {} : { resources: { requests: { cpu, memory: '64Mi' }, limits: { cpu: '4' } } });
  const statuses = (m: Record<string, string> = {}) =>
    Object.entries(m).map(([name, id]) => ({ name, containerID: `containerd://${id}`, ready: true, ...requests(p.statusCpuRequests?.[name]) }));
  const specs = (m: Record<string, string> = {}) => Object.keys(m).map((name) => ({ name, image: 'busybox', ...requests(p.cpuRequests?.[name]) }));
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { uid: p.uid, name: p.name, namespace: p.namespace, resourceVersion },
    spec: { nodeName: p.nodeName, containers: specs(p.containers), ...(p.initContainers ? { initContainers: specs(p.initContainers) } : {}) },
    status: { phase: 'Running', containerStatuses: statuses(p.containers), initContainerStatuses: statuses(p.initContainers) },
  };
}

/** A self-signed certificate for 127.0.0.1 (and localhost), written under `dir`. */
export function makeCertificate(dir: string, name: string): { certFile: string; keyFile: string } {
  return selfSignedCertificate(dir, name, { cn: name, san: 'IP:127.0.0.1,DNS:localhost' });
}

/** Common parts: TLS, bearer token check against a file, request counting. */
abstract class FakeHttpsServer {
  protected server: https.Server | undefined;
  port = 0;
  /** Requests by path (without the query), authorized or not. */
  readonly requests = new Map<string, number>();
  rejected = 0;
  /** TLS connections accepted (a kept-alive client makes one for many requests). */
  connections = 0;
  /**
   * A CA file (set before start()): the server then asks for a client certificate, and a request
   * whose certificate this CA verifies is authorized without a token, as Kubernetes does.
   */
  clientCA = '';
  /** Requests authorized by their client certificate. */
  byCertificate = 0;

  constructor(
    protected readonly tls: { certFile: string; keyFile: string },
    /** The file holding the one token accepted (read at each request: the test rotates it). */
    protected readonly tokenFile: string,
  ) {}

  async start(port = 0): Promise<void> {
    const clientCerts = this.clientCA ? { requestCert: true, rejectUnauthorized: false, ca: readFileSync(this.clientCA) } : {};
    const server = https.createServer({ cert: readFileSync(this.tls.certFile), key: readFileSync(this.tls.keyFile), ...clientCerts }, (req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      this.requests.set(path, (this.requests.get(path) ?? 0) + 1);
      const byCertificate = this.clientCA !== '' && (req.socket as Partial<Pick<TLSSocket, 'authorized'>>).authorized === true;
      if (byCertificate) this.byCertificate++;
      if (!byCertificate && req.headers.authorization !== `Bearer ${readFileSync(this.tokenFile, 'utf8').trim()}`) {
        this.rejected++;
        res.writeHead(401, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ kind: 'Status', status: 'Failure', code: 401, reason: 'Unauthorized' }));
        return;
      }
      this.handle(req, res);
    });
    server.on('secureConnection', () => this.connections++);
    this.server = server;
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
  }

  /** Stops answering (a dead kubelet): closes the listener and every open connection. */
  async stop(): Promise<void> {
    if (!this.server) return;
    const s = this.server;
    this.server = undefined;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  count(path: string): number {
    return this.requests.get(path) ?? 0;
  }

  protected abstract handle(req: IncomingMessage, res: ServerResponse): void;
}

/**
 * A kubelet: GET /pods returns the PodList of its node. `garbage` makes it answer non-JSON; `gzip`
 * gzips the answer when the client accepts it (`corruptGzip`: bytes that are not gzip, labelled so);
 * `dropNext` closes the connection of that many next requests without an answer (as a server
 * closing an idle kept-alive connection just as the client reuses it).
 */
export class FakeKubelet extends FakeHttpsServer {
  pods: TestPod[] = [];
  garbage = false;
  gzip = false;
  corruptGzip = false;
  dropNext = 0;
  /** Answers sent gzipped. */
  gzipped = 0;

  protected handle(req: IncomingMessage, res: ServerResponse): void {
    if (this.dropNext > 0) {
      this.dropNext--;
      req.socket.destroy();
      return;
    }
    if (req.url !== '/pods') {
      res.writeHead(404);
      res.end();
      return;
    }
    if (this.garbage) {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('<html>502 Bad Gateway</html>');
      return;
    }
    const body = JSON.stringify({ kind: 'PodList', apiVersion: 'v1', metadata: {}, items: this.pods.map((p) => podObject(p)) });
    if ((this.gzip || this.corruptGzip) && /\bgzip\b/.test(req.headers['accept-encoding'] ?? '')) {
      this.gzipped++;
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' });
      res.end(this.corruptGzip ? Buffer.from(body) : gzipSync(body));
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(body);
  }
}

/** An API server: the Node object (pointing at a kubelet port), and a pod list and watch filtered by node. */
export class FakeApiServer extends FakeHttpsServer {
  kubeletPort = 0;
  private pods = new Map<string, TestPod>();
  private version = 1;
  private readonly watchers = new Set<{ node: string; res: ServerResponse }>();

  constructor(
    tls: { certFile: string; keyFile: string },
    tokenFile: string,
    readonly nodeName: string,
  ) {
    super(tls, tokenFile);
  }

  /** Adds or changes a pod; open watches on its node get an ADDED or MODIFIED event. */
  setPod(p: TestPod): void {
    const type = this.pods.has(p.uid) ? 'MODIFIED' : 'ADDED';
    this.pods.set(p.uid, p);
    this.notify(type, p);
  }

  deletePod(uid: string): void {
    const p = this.pods.get(uid);
    if (!p) return;
    this.pods.delete(uid);
    this.notify('DELETED', p);
  }

  openWatches(): number {
    return this.watchers.size;
  }

  override async stop(): Promise<void> {
    for (const w of this.watchers) w.res.destroy();
    this.watchers.clear();
    await super.stop();
  }

  private notify(type: string, p: TestPod): void {
    this.version++;
    for (const w of this.watchers) if (w.node === p.nodeName) w.res.write(`${JSON.stringify({ type, object: podObject(p, String(this.version)) })}\n`);
  }

  protected handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    if (url.pathname === `/api/v1/nodes/${this.nodeName}`) {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'Node',
          metadata: { name: this.nodeName },
          status: {
            addresses: [
              { type: 'Hostname', address: this.nodeName },
              { type: 'InternalIP', address: '127.0.0.1' },
            ],
            daemonEndpoints: { kubeletEndpoint: { Port: this.kubeletPort } },
          },
        }),
      );
      return;
    }
    if (url.pathname === '/api/v1/pods') {
      const node = /^spec\.nodeName=(.*)$/.exec(url.searchParams.get('fieldSelector') ?? '')?.[1];
      if (node === undefined) {
        res.writeHead(400);
        res.end('a field selector on spec.nodeName is required by this fake');
        return;
      }
      if (url.searchParams.get('watch') === 'true') {
        res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
        res.flushHeaders();
        const w = { node, res };
        this.watchers.add(w);
        res.on('close', () => this.watchers.delete(w));
        return;
      }
      const items = [...this.pods.values()].filter((p) => p.nodeName === node).map((p) => podObject(p, String(this.version)));
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ apiVersion: 'v1', kind: 'PodList', metadata: { resourceVersion: String(this.version) }, items }));
      return;
    }
    res.writeHead(404, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ kind: 'Status', code: 404 }));
  }
}

/** A kubeconfig for the fake API server: its CA, and a token-file user (re-read at each request). */
export function writeKubeconfig(file: string, apiPort: number, caFile: string, tokenFile: string): void {
  writeFileSync(
    file,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `- name: fake`,
      `  cluster: {server: "https://127.0.0.1:${apiPort}", certificate-authority: "${caFile}"}`,
      'users:',
      `- name: exporter`,
      `  user: {token-file: "${tokenFile}"}`,
      'contexts:',
      '- name: fake',
      '  context: {cluster: fake, user: exporter}',
      'current-context: fake',
      '',
    ].join('\n'),
  );
}

/** An API server and its node's kubelet, sharing a token file, and the kubeconfig that reaches them. */
export interface FakeCluster {
  api: FakeApiServer;
  kubelet: FakeKubelet;
  kubeconfig: string;
  stop(): Promise<void>;
}

/**
 * Starts a FakeApiServer for `node` whose Node object points at a FakeKubelet, both with `tls`,
 * and writes their token (`name`) and kubeconfig under `dir`.
 */
export async function startFakeCluster(dir: string, name: string, tls: { certFile: string; keyFile: string }, node = FAKE_NODE): Promise<FakeCluster> {
  const tokenFile = join(dir, `token-${name}`);
  writeFileSync(tokenFile, 't');
  const api = new FakeApiServer(tls, tokenFile, node);
  const kubelet = new FakeKubelet(tls, tokenFile);
  await api.start();
  await kubelet.start();
  api.kubeletPort = kubelet.port;
  const kubeconfig = join(dir, `kubeconfig-${name}`);
  writeKubeconfig(kubeconfig, api.port, tls.certFile, tokenFile);
  return {
    api,
    kubelet,
    kubeconfig,
    stop: async () => {
      await kubelet.stop();
      await api.stop();
    },
  };
}

/**
 * A kubeconfig with one cluster, one user and a context joining them, written as YAML: `cluster`
 * and `user` are the entries' fields as kubectl writes them (`server`, `certificate-authority-data`,
 * `client-key`, `token-file`, `exec` ...).
 */
export function writeKubeconfigWith(file: string, cluster: Record<string, unknown>, user: Record<string, unknown>): void {
  writeFileSync(
    file,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster }],
      users: [{ name: 'u', user }],
      contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'ctx',
    }),
  );
}
