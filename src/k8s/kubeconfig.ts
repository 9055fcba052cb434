// Kubernetes credentials read by our own small code: a kubeconfig (YAML) or the in-cluster service
// account. What the kubelet mode needs (a server, a CA, a token or a client certificate) is a few
// fields of one file; @kubernetes/client-node, which reads the same, costs about 40 MiB once loaded,
// so it is loaded only where it is needed: the API server watch, and kubeconfigs that use an exec
// or auth-provider plugin (kubeClient.ts).
//
// Read as client-node reads them (and as client-go does): the current context names a cluster and
// a user; paths are relative to the kubeconfig's folder; `*-data` fields are base64; a `token`
// wins over a `token-file`; the cluster's server loses a trailing slash.

import { readFileSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { dirname, isAbsolute, join } from 'node:path';
import { parse } from 'yaml';

export interface KubeCluster {
  readonly name: string;
  /** https://host:port[/prefix], without a trailing slash. */
  readonly server: string;
  readonly caFile?: string;
  /** certificate-authority-data, base64. */
  readonly caData?: string;
  readonly skipTLSVerify: boolean;
  readonly tlsServerName?: string;
  readonly proxyUrl?: string;
}

export interface KubeUser {
  readonly name: string;
  /** A static token, or the content of `token-file` as read with the kubeconfig. */
  readonly token?: string;
  /** A file read at every request (the in-cluster service account token, an auth-provider's `tokenFile`): tokens rotate. */
  readonly tokenFile?: string;
  readonly certFile?: string;
  /** client-certificate-data, base64. */
  readonly certData?: string;
  readonly keyFile?: string;
  /** client-key-data, base64. */
  readonly keyData?: string;
  readonly username?: string;
  readonly password?: string;
  /** `as`: the Impersonate-User header. */
  readonly impersonate?: string;
  /** A credential plugin this code does not run (exec, or an auth-provider other than a token file): client-node does. */
  readonly plugin?: string;
}

export interface KubeContext {
  readonly name: string;
  readonly cluster: string;
  readonly user?: string;
}

/** A kubeconfig as read: its clusters, users and contexts, and the current context. */
export class Kubeconfig {
  constructor(
    readonly clusters: readonly KubeCluster[],
    readonly users: readonly KubeUser[],
    readonly contexts: readonly KubeContext[],
    readonly currentContext: string | undefined,
  ) {}

  getCurrentContext(): KubeContext | null {
    return this.contexts.find((c) => c.name === this.currentContext) ?? null;
  }

  getCurrentCluster(): KubeCluster | null {
    const ctx = this.getCurrentContext();
    return (ctx && this.clusters.find((c) => c.name === ctx.cluster)) ?? null;
  }

  /** The current context's user; null when it names none (requests then go without credentials). */
  getCurrentUser(): KubeUser | null {
    const ctx = this.getCurrentContext();
    return (ctx?.user !== undefined && this.users.find((u) => u.name === ctx.user)) || null;
  }

  /** Why these credentials need @kubernetes/client-node (an exec or auth-provider plugin), or undefined. */
  userPlugin(): string | undefined {
    return this.getCurrentUser()?.plugin;
  }
}

/** A kubeconfig that cannot be used; the message names the key (`users[0].user.client-key`). */
export class KubeconfigError extends Error {
  override readonly name = 'KubeconfigError';
}

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** An optional string field of `o`; `key` names it in errors. */
function str(o: Obj | undefined, field: string, key: string): string | undefined {
  const v = o?.[field];
  if (v === undefined || v === null) return undefined;
  // The value is not quoted: it may be a token or a password.
  if (typeof v !== 'string') throw new KubeconfigError(`${key}.${field} must be a string, not ${Array.isArray(v) ? 'a list' : isObject(v) ? 'a mapping' : `a ${typeof v}`}`);
  return v;
}

/** A path of the kubeconfig, relative to its folder when not absolute. */
const resolvePath = (dir: string, p: string | undefined): string | undefined => (p === undefined || p === '' || isAbsolute(p) ? p || undefined : join(dir, p));

/** Entries of a list (`clusters`, `users`, `contexts`); not a list: none, as client-node reads it. */
function entries(doc: Obj, list: string): { e: Obj; key: string; name: string }[] {
  const a = doc[list];
  if (!Array.isArray(a)) return [];
  return a.map((e: unknown, i) => {
    const key = `${list}[${i}]`;
    if (!isObject(e)) throw new KubeconfigError(`${key} must be a mapping`);
    const name = str(e, 'name', key);
    if (!name) throw new KubeconfigError(`${key}.name is missing`);
    return { e, key, name };
  });
}

function section(e: Obj, field: string, key: string, required: boolean): Obj | undefined {
  const v = e[field];
  if (v === undefined || v === null) {
    if (required) throw new KubeconfigError(`${key}.${field} is missing`);
    return undefined;
  }
  if (!isObject(v)) throw new KubeconfigError(`${key}.${field} must be a mapping`);
  return v;
}

function readCluster(e: Obj, key: string, name: string, dir: string): KubeCluster {
  const c = section(e, 'cluster', key, true);
  const k = `${key}.cluster`;
  const server = str(c, 'server', k);
  if (!server) throw new KubeconfigError(`${k}.server is missing`);
  const skip = c?.['insecure-skip-tls-verify'];
  if (skip !== undefined && skip !== null && typeof skip !== 'boolean')
    throw new KubeconfigError(`${k}.insecure-skip-tls-verify must be true or false, not ${JSON.stringify(skip)}`);
  return {
    name,
    server: server.replace(/\/$/, ''),
    caFile: resolvePath(dir, str(c, 'certificate-authority', k)),
    caData: str(c, 'certificate-authority-data', k) || undefined,
    skipTLSVerify: skip === true,
    tlsServerName: str(c, 'tls-server-name', k) || undefined,
    proxyUrl: str(c, 'proxy-url', k) || undefined,
  };
}

/** A user's fields; its `token-file` is read by readCurrentToken, for the current user only. */
function readUser(e: Obj, key: string, name: string, dir: string): KubeUser & { tokenFileAtLoad?: string } {
  const u = section(e, 'user', key, false);
  const k = `${key}.user`;
  let plugin: string | undefined;
  let providerTokenFile: string | undefined;
  if (u?.exec !== undefined && u.exec !== null) plugin = `${k}.exec`;
  const provider = u && section(u, 'auth-provider', k, false);
  if (provider) {
    // client-node reads a provider whose config has a tokenFile (any name) as a file re-read now
    // and then; every other one (oidc, gcp, azure, exec) is a plugin that it runs.
    const config = section(provider, 'config', `${k}.auth-provider`, false);
    providerTokenFile = config && str(config, 'tokenFile', `${k}.auth-provider.config`);
    if (!providerTokenFile) plugin ??= `${k}.auth-provider (${JSON.stringify(provider.name ?? '')})`;
  }
  return {
    name,
    token: str(u, 'token', k) || undefined,
    tokenFileAtLoad: resolvePath(dir, str(u, 'token-file', k)),
    tokenFile: resolvePath(dir, providerTokenFile),
    certFile: resolvePath(dir, str(u, 'client-certificate', k)),
    certData: str(u, 'client-certificate-data', k) || undefined,
    keyFile: resolvePath(dir, str(u, 'client-key', k)),
    keyData: str(u, 'client-key-data', k) || undefined,
    username: str(u, 'username', k) || undefined,
    password: str(u, 'password', k),
    impersonate: str(u, 'as', k) || undefined,
    plugin,
  };
}

/**
 * Parses a kubeconfig's text; `dir` is its folder (relative paths). The current user's
 * `token-file` is read now, as client-node does at each load (the caller reads the file again
 * before each request: tokens rotate). Throws KubeconfigError naming the key that is wrong.
 */
export function parseKubeconfig(text: string, dir: string): Kubeconfig {
  let doc: unknown;
  try {
    // logLevel error: a warning would quote the source line, which may hold a token.
    doc = parse(text, { logLevel: 'error' });
  } catch (err) {
    // The first line says what and where (line, column); the lines after it quote the file, which may hold a token.
    throw new KubeconfigError(`not YAML: ${(err as Error).message.split('\n')[0].replace(/:$/, '')}`);
  }
  if (!isObject(doc)) throw new KubeconfigError('not a kubeconfig: expected a YAML mapping with clusters, users, contexts and current-context');
  const clusters = entries(doc, 'clusters').map(({ e, key, name }) => readCluster(e, key, name, dir));
  const userEntries = entries(doc, 'users').map(({ e, key, name }) => ({ key, user: readUser(e, key, name, dir) }));
  const contexts = entries(doc, 'contexts').map(({ e, key, name }): KubeContext => {
    const c = section(e, 'context', key, true);
    const cluster = str(c, 'cluster', `${key}.context`);
    if (!cluster) throw new KubeconfigError(`${key}.context.cluster is missing`);
    return { name, cluster, user: str(c, 'user', `${key}.context`) || undefined };
  });
  const current = doc['current-context'];
  if (current !== undefined && current !== null && typeof current !== 'string') throw new KubeconfigError('current-context must be a string');
  const currentUserName = contexts.find((c) => c.name === current)?.user;
  const users = userEntries.map(({ key, user: { tokenFileAtLoad, ...user } }): KubeUser => {
    if (user.token || !tokenFileAtLoad || user.name !== currentUserName) return user;
    try {
      return { ...user, token: readFileSync(tokenFileAtLoad, 'utf8').trim() };
    } catch (err) {
      throw new KubeconfigError(`${key}.user.token-file: cannot read ${JSON.stringify(tokenFileAtLoad)}: ${(err as Error).message}`);
    }
  });
  return new Kubeconfig(clusters, users, contexts, current ?? undefined);
}

/** Reads and parses the kubeconfig at `path` (see parseKubeconfig). */
export function readKubeconfig(path: string): Kubeconfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new KubeconfigError((err as Error).message);
  }
  return parseKubeconfig(text, dirname(path));
}

/** The service account's files in a pod. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * The in-cluster credentials, as client-node's loadFromCluster() makes them: the API server from
 * KUBERNETES_SERVICE_HOST and _PORT, the service account's CA, and its token file read at every
 * request (projected tokens rotate).
 */
export function inClusterKubeconfig(env: NodeJS.ProcessEnv, serviceAccountDir = SERVICE_ACCOUNT_DIR): Kubeconfig {
  const host = env.KUBERNETES_SERVICE_HOST ?? '';
  const port = env.KUBERNETES_SERVICE_PORT || '443';
  const scheme = port === '80' || port === '8080' || port === '8001' ? 'http' : 'https';
  const server = `${scheme}://${isIPv6(host) ? `[${host}]` : host}:${port}`;
  return new Kubeconfig(
    [{ name: 'inCluster', server, caFile: join(serviceAccountDir, 'ca.crt'), skipTLSVerify: false }],
    [{ name: 'inClusterUser', tokenFile: join(serviceAccountDir, 'token') }],
    [{ name: 'inClusterContext', cluster: 'inCluster', user: 'inClusterUser' }],
    'inClusterContext',
  );
}
