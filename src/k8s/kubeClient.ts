// Credentials and requests: the official client (@kubernetes/client-node) reads the kubeconfig or
// the in-cluster service account and talks to the API server; the kubelet's /pods, which the
// client has no call for, is fetched here with the same credentials.

import { readFileSync } from 'node:fs';
import type { OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';
import { ConfigError } from '../config/config.js';

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export interface KubeAccess {
  readonly kc: KubeConfig;
  /** True when running in the cluster with the pod's service account (no kubeconfig given). */
  readonly inCluster: boolean;
  /** The kubeconfig file, when one was given. */
  readonly path?: string;
}

/** The kubeconfig at `path`, or the in-cluster service account when `path` is empty. */
export function loadKubeAccess(path: string): KubeAccess {
  const kc = new KubeConfig();
  if (path) {
    try {
      kc.loadFromFile(path);
    } catch (err) {
      throw new ConfigError(`config: kube.config: cannot load the kubeconfig ${JSON.stringify(path)}: ${(err as Error).message}`, { cause: err });
    }
    if (!kc.getCurrentCluster()) throw new ConfigError(`config: kube.config: the kubeconfig ${JSON.stringify(path)} has no current cluster`);
    return { kc, inCluster: false, path };
  }
  if (!process.env.KUBERNETES_SERVICE_HOST) {
    throw new ConfigError('config: kube.enabled: not running in a cluster (KUBERNETES_SERVICE_HOST is not set) and no kube.config (--kube.config) was given');
  }
  kc.loadFromCluster();
  return { kc, inCluster: true };
}

/**
 * Reads the kubeconfig again, in place (the client's calls and watches share the object): the
 * client reads a `token-file` only when it loads the file, and tokens rotate. A file that became
 * unreadable leaves the credentials as they were. In the cluster the client re-reads the token.
 */
export function refreshCredentials(access: KubeAccess): void {
  if (!access.path) return;
  try {
    access.kc.loadFromFile(access.path);
  } catch {
    // keep the last good credentials; the request that follows will say what is wrong
  }
}

/** HTTPS request options whose headers are an object (Node also takes a flat list), so that getJson can add to them. */
export type JsonRequestOptions = Omit<https.RequestOptions, 'headers'> & { headers?: OutgoingHttpHeaders };

/**
 * Options for an HTTPS request to the kubelet with this exporter's credentials. The token is
 * read at every call: projected service account tokens rotate. The kubelet's serving certificate
 * is usually self-signed, so (as in Kepler) it is verified only when a CA file is configured.
 */
export async function kubeletRequestOptions(access: KubeAccess, kubeletCAFile: string): Promise<JsonRequestOptions> {
  const opts: JsonRequestOptions = { headers: {} };
  if (access.inCluster) {
    opts.headers = { Authorization: `Bearer ${readFileSync(SERVICE_ACCOUNT_TOKEN, 'utf8').trim()}` };
  } else {
    refreshCredentials(access);
    await access.kc.applyToHTTPSOptions(opts); // token, or client certificate
  }
  // The API server's CA says nothing about the kubelet's certificate; the client's agent carries
  // it too (and Node lets the agent's options win), so it goes as well.
  delete opts.ca;
  delete opts.agent;
  delete opts.servername; // tls-server-name names the API server, not the kubelet
  if (kubeletCAFile) {
    opts.ca = readFileSync(kubeletCAFile);
    opts.rejectUnauthorized = true;
  } else {
    opts.rejectUnauthorized = false;
  }
  return opts;
}

/** Largest answer accepted: a node's /pods is a few MB at the 110-pod default. */
const MAX_BODY_BYTES = 64 * 1024 * 1024;

/**
 * GETs JSON over HTTPS; rejects on a non-2xx status, a body that is not JSON or too large, or
 * when the whole exchange takes longer than `timeoutMs` (a server trickling bytes included).
 */
export function getJson(url: string, options: JsonRequestOptions, timeoutMs: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ...options, headers: { ...options.headers, Accept: 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY_BYTES) req.destroy(new Error(`GET ${url}: answer larger than ${MAX_BODY_BYTES} bytes`));
        else chunks.push(c);
      });
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if (!res.statusCode || res.statusCode < 200 || res.statusCode > 299) {
          reject(new Error(`GET ${url}: HTTP ${res.statusCode}: ${body.slice(0, 200)}`));
          return;
        }
        try {
          resolve(JSON.parse(body));
        } catch {
          reject(new Error(`GET ${url}: the answer is not JSON: ${JSON.stringify(body.slice(0, 100))}`));
        }
      });
      res.on('error', reject);
    });
    const deadline = setTimeout(() => req.destroy(new Error(`GET ${url}: no complete answer within ${timeoutMs} ms`)), timeoutMs);
    req.on('close', () => clearTimeout(deadline));
    req.on('error', reject);
  });
}
