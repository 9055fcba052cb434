// Credentials and requests. The kubelet mode needs two GETs (this node's Node object once, the
// kubelet's /pods every interval): they are made here with Node's https and the credentials that
// kubeconfig.ts reads. @kubernetes/client-node, the official client, is loaded (dynamic import)
// only when needed: by the API server mode's list and watch, and by the kubelet mode when the
// kubeconfig's user is an exec or auth-provider plugin, which the client runs, or its cluster
// goes through a proxy. Once loaded, the client alone holds about 40 MiB.

import { readFileSync } from 'node:fs';
import http, { type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { KubeConfig } from '@kubernetes/client-node';
import { ConfigError } from '../config/config.js';
import { inClusterKubeconfig, Kubeconfig, KubeconfigError, readKubeconfig, SERVICE_ACCOUNT_DIR } from './kubeconfig.js';

/** The exporter's way into the cluster: a kubeconfig (read again before each request) or the in-cluster service account. */
export class KubeAccess {
  private clientNode: Promise<KubeConfig> | undefined;

  constructor(
    /** The credentials as last read. */
    public kc: Kubeconfig,
    /** True when running in the cluster with the pod's service account (no kubeconfig given). */
    readonly inCluster: boolean,
    /** The kubeconfig file, when one was given. */
    readonly path?: string,
  ) {}

  /**
   * Reads the kubeconfig again: tokens rotate (a `token-file` is read with the kubeconfig), and so
   * may certificates. A file that became unreadable or invalid leaves the credentials as they
   * were. In the cluster, the service account token is read at each request anyway.
   */
  refresh(): void {
    if (!this.path) return;
    try {
      this.kc = readKubeconfig(this.path);
    } catch {
      // keep the last good credentials; the request that follows will say what is wrong
    }
  }

  /**
   * The official client's KubeConfig for the same credentials; the client is loaded at the first
   * call. The same object for every call: its watches and its plugins' token caches live in it.
   */
  clientNodeConfig(): Promise<KubeConfig> {
    if (this.clientNode) return this.clientNode;
    const loading = import('./clientNode.js').then(({ KubeConfig }) => {
      const kc = new KubeConfig();
      if (this.path) kc.loadFromFile(this.path);
      else clientNodeInCluster(kc, this.kc);
      return kc;
    });
    this.clientNode = loading;
    // A failed load is tried again at the next call, not remembered.
    loading.catch(() => {
      if (this.clientNode === loading) this.clientNode = undefined;
    });
    return loading;
  }

  /** Reads the kubeconfig again into the client's KubeConfig, in place (see refresh()). */
  refreshClientNode(kc: KubeConfig): void {
    if (!this.path) return; // in the cluster the client re-reads the token file itself
    try {
      kc.loadFromFile(this.path);
    } catch {
      // keep the last good credentials; the request that follows will say what is wrong
    }
  }
}

/** What client-node's loadFromCluster() makes, from our in-cluster Kubeconfig (whose service account folder a test may move). */
function clientNodeInCluster(kc: KubeConfig, ours: Kubeconfig): void {
  const cluster = ours.getCurrentCluster();
  const user = ours.getCurrentUser();
  if (!cluster || !user) throw new Error('in-cluster credentials without a cluster or user');
  kc.loadFromOptions({
    clusters: [{ name: cluster.name, server: cluster.server, caFile: cluster.caFile, skipTLSVerify: false }],
    users: [{ name: user.name, authProvider: { name: 'tokenFile', config: { tokenFile: user.tokenFile } } }],
    contexts: [{ name: 'inClusterContext', cluster: cluster.name, user: user.name }],
    currentContext: 'inClusterContext',
  });
}

/**
 * The kubeconfig at `path`, or the in-cluster service account when `path` is empty (its files
 * under `serviceAccountDir`). Throws ConfigError naming kube.config, the file and the key.
 */
export function loadKubeAccess(path: string, serviceAccountDir = SERVICE_ACCOUNT_DIR): KubeAccess {
  if (path) {
    let kc: Kubeconfig;
    try {
      kc = readKubeconfig(path);
    } catch (err) {
      const what = err instanceof KubeconfigError ? err.message : String(err);
      throw new ConfigError(`config: kube.config: cannot load the kubeconfig ${JSON.stringify(path)}: ${what}`, { cause: err });
    }
    if (!kc.getCurrentCluster()) {
      const why =
        kc.currentContext === undefined
          ? 'current-context is not set'
          : !kc.getCurrentContext()
            ? `current-context ${JSON.stringify(kc.currentContext)} names no context`
            : `the context ${JSON.stringify(kc.currentContext)} names no cluster of clusters`;
      throw new ConfigError(`config: kube.config: the kubeconfig ${JSON.stringify(path)} has no current cluster (${why})`);
    }
    return new KubeAccess(kc, false, path);
  }
  if (!process.env.KUBERNETES_SERVICE_HOST) {
    throw new ConfigError('config: kube.enabled: not running in a cluster (KUBERNETES_SERVICE_HOST is not set) and no kube.config (--kube.config) was given');
  }
  return new KubeAccess(inClusterKubeconfig(process.env, serviceAccountDir), true);
}

/** HTTPS request options whose headers are an object (Node also takes a flat list), so that getJson can add to them. */
export type JsonRequestOptions = Omit<https.RequestOptions, 'headers'> & { headers?: OutgoingHttpHeaders };

/** A file's content or base64 data, as client-node reads them (the file wins; read at each request). */
function fileOrData(file: string | undefined, data: string | undefined): Buffer | undefined {
  if (file) return readFileSync(file);
  return data ? Buffer.from(data, 'base64') : undefined;
}

/**
 * The identity part of a request, as client-node's applyToHTTPSOptions() makes it without the CA:
 * bearer token (static, from a token-file read with the kubeconfig, or from a file read now),
 * client certificate and key, basic auth, impersonation.
 */
function identityOptions(kc: Kubeconfig): JsonRequestOptions {
  const opts: JsonRequestOptions = { headers: {} };
  const user = kc.getCurrentUser();
  if (!user) return opts;
  const headers: OutgoingHttpHeaders = {};
  const token = user.token ?? (user.tokenFile ? readFileSync(user.tokenFile, 'utf8').trim() : undefined);
  if (token) headers.Authorization = `Bearer ${token}`;
  if (user.impersonate) headers['Impersonate-User'] = user.impersonate;
  opts.headers = headers;
  const cert = fileOrData(user.certFile, user.certData);
  if (cert) opts.cert = cert;
  const key = fileOrData(user.keyFile, user.keyData);
  if (key) opts.key = key;
  if (user.username) opts.auth = `${user.username}:${user.password ?? ''}`;
  return opts;
}

/**
 * Options for an HTTPS request to the kubelet with this exporter's credentials. They are read
 * again at every call: projected service account tokens rotate. The kubelet's serving certificate
 * is usually self-signed, so (as in Kepler) it is verified only when a CA file is configured.
 */
export async function kubeletRequestOptions(access: KubeAccess, kubeletCAFile: string): Promise<JsonRequestOptions> {
  access.refresh();
  let opts: JsonRequestOptions;
  if (access.kc.userPlugin()) {
    // A plugin makes the credentials: the client runs it (and caches what it returns).
    const kc = await access.clientNodeConfig();
    access.refreshClientNode(kc);
    opts = { headers: {} };
    await kc.applyToHTTPSOptions(opts);
    // The API server's CA says nothing about the kubelet's certificate; the client's agent
    // carries it too (and Node lets the agent's options win), so it goes as well.
    delete opts.ca;
    delete opts.agent;
    delete opts.servername; // tls-server-name names the API server, not the kubelet
  } else {
    opts = identityOptions(access.kc);
  }
  if (kubeletCAFile) {
    opts.ca = readFileSync(kubeletCAFile);
    opts.rejectUnauthorized = true;
  } else {
    opts.rejectUnauthorized = false;
  }
  return opts;
}

/**
 * GETs `path` (`/api/v1/nodes/x`) from the API server with the exporter's credentials: its CA
 * (or none with insecure-skip-tls-verify), tls-server-name, token or client certificate.
 * Through the official client when a plugin makes the credentials or a proxy is configured.
 */
export async function apiServerGet(access: KubeAccess, path: string, timeoutMs: number): Promise<unknown> {
  access.refresh();
  const cluster = access.kc.getCurrentCluster();
  if (!cluster) throw new Error(`the kubeconfig ${JSON.stringify(access.path)} has no current cluster`);
  if (access.kc.userPlugin() || cluster.proxyUrl) return clientNodeGet(access, path, timeoutMs);
  const opts = identityOptions(access.kc);
  const ca = fileOrData(cluster.caFile, cluster.caData);
  if (ca) opts.ca = ca;
  if (cluster.skipTLSVerify) opts.rejectUnauthorized = false;
  if (cluster.tlsServerName) opts.servername = cluster.tlsServerName;
  if (cluster.server.startsWith('http:') && !cluster.skipTLSVerify) throw new Error('HTTP protocol is not allowed when skipTLSVerify is not set or false');
  return getJson(`${cluster.server}${path}`, opts, timeoutMs);
}

/** apiServerGet through the official client (which runs the plugin, or goes through the proxy). */
async function clientNodeGet(access: KubeAccess, path: string, timeoutMs: number): Promise<unknown> {
  const kc = await access.clientNodeConfig();
  access.refreshClientNode(kc);
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new Error('No active cluster!');
  const opts: JsonRequestOptions = { headers: {} };
  await kc.applyToHTTPSOptions(opts); // its agent carries the CA, the client certificate and the proxy
  return getJson(`${server}${path}`, opts, timeoutMs);
}

/** Largest answer accepted (after gunzip): a node's /pods is a few MB at the 110-pod default. */
const MAX_BODY_BYTES = 64 * 1024 * 1024;

/**
 * Kept-alive connections: the kubelet is asked every interval, and a TLS handshake each time
 * would cost more than the request. Idle sockets close after 30 s (sooner when the server's
 * Keep-Alive header says so) and never hold the process open.
 */
const httpsAgent = new https.Agent({ keepAlive: true, timeout: 30_000, maxFreeSockets: 4 });
const httpAgent = new http.Agent({ keepAlive: true, timeout: 30_000, maxFreeSockets: 4 });

/**
 * GETs JSON (gzip accepted); rejects on a non-2xx status, a body that is not JSON or too large,
 * or when the whole exchange takes longer than `timeoutMs` (a server trickling bytes included).
 * A kept-alive connection that the server closed just as it was reused is retried once on a new
 * one (a GET is safe to repeat), rather than counted as an outage.
 */
export function getJson(url: string, options: JsonRequestOptions, timeoutMs: number): Promise<unknown> {
  const deadline = Date.now() + timeoutMs;
  return getJsonOnce(url, options, timeoutMs, deadline).catch((err: unknown) => {
    if (!(err instanceof StaleSocketError) || Date.now() >= deadline) throw err instanceof StaleSocketError ? err.cause : err;
    return getJsonOnce(url, options, timeoutMs, deadline);
  });
}

/** A reused kept-alive socket failed before any answer. */
class StaleSocketError extends Error {}

function getJsonOnce(url: string, options: JsonRequestOptions, timeoutMs: number, deadlineMs: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const secure = !url.startsWith('http:');
    const requestOptions = { agent: secure ? httpsAgent : httpAgent, ...options, headers: { ...options.headers, Accept: 'application/json', 'Accept-Encoding': 'gzip' } };
    let answered = false;
    /** Rejects at once (the answer may be complete already, when destroying the request would say nothing) and drops the connection. */
    const fail = (err: Error) => {
      reject(err);
      req.destroy();
    };
    const onResponse = (res: http.IncomingMessage) => {
      answered = true;
      let body: Readable = res;
      const encoding = res.headers['content-encoding'];
      if (encoding === 'gzip') {
        const gunzip = createGunzip();
        gunzip.on('error', (err) => fail(new Error(`GET ${url}: the gzipped answer is corrupt: ${err.message}`)));
        body = res.pipe(gunzip);
      } else if (encoding && encoding !== 'identity') {
        fail(new Error(`GET ${url}: answer in an encoding not asked for: ${encoding}`));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      body.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY_BYTES) fail(new Error(`GET ${url}: answer larger than ${MAX_BODY_BYTES} bytes`));
        else chunks.push(c);
      });
      body.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (!res.statusCode || res.statusCode < 200 || res.statusCode > 299) {
          reject(new Error(`GET ${url}: HTTP ${res.statusCode}: ${text.slice(0, 200)}`));
          return;
        }
        try {
          resolve(JSON.parse(text));
        } catch {
          reject(new Error(`GET ${url}: the answer is not JSON: ${JSON.stringify(text.slice(0, 100))}`));
        }
      });
      res.on('error', reject);
    };
    const req = secure ? https.get(url, requestOptions, onResponse) : http.get(url, requestOptions, onResponse);
    const timer = setTimeout(() => fail(new Error(`GET ${url}: no complete answer within ${timeoutMs} ms`)), Math.max(0, deadlineMs - Date.now()));
    req.on('close', () => clearTimeout(timer));
    req.on('error', (err: NodeJS.ErrnoException) => {
      const stale = req.reusedSocket && !answered && (err.code === 'ECONNRESET' || err.code === 'EPIPE');
      reject(stale ? new StaleSocketError(err.message, { cause: err }) : err);
    });
  });
}
