// Pod metadata from the API server: a list and watch of the pods on this node (field selector
// spec.nodeName), through the official client's ListWatch. Costs the API server one watch per
// node; the kubelet mode avoids that and is the default. The client is loaded (dynamic import)
// when the informer starts: only this mode holds its memory.

import type * as ClientNode from './clientNode.js';
import type { KubeConfig, ListWatch, V1Pod } from '@kubernetes/client-node';
import { ConfigError } from '../config/config.js';
import type { Logger } from '../logger/logger.js';
import type { KubeAccess } from './kubeClient.js';
import { PodCache } from './podCache.js';
import { backoffMs, MalformedCpuRequests, OutageTracker, type PodInformer, type PodInformerStats } from './podInformer.js';
import type { ContainerMeta } from './podMetadata.js';

export interface ApiServerPodInformerOptions {
  access: KubeAccess;
  nodeName: string;
  logger: Logger;
}

/**
 * The client restarts a watch that ended normally from a callback nobody awaits: a rejection
 * there (credentials that fail to load while the watch is renewed) would end the process. It
 * becomes the watch's error instead, which the informer retries.
 */
function guardedWatch(k8s: typeof ClientNode, kc: KubeConfig): ClientNode.Watch {
  class GuardedWatch extends k8s.Watch {
    override async watch(...args: Parameters<ClientNode.Watch['watch']>): ReturnType<ClientNode.Watch['watch']> {
      try {
        return await super.watch(...args);
      } catch (err) {
        args[3](err);
        return new AbortController();
      }
    }
  }
  return new GuardedWatch(kc);
}

export class ApiServerPodInformer implements PodInformer {
  readonly mode = 'apiserver' as const;
  private readonly outage: OutageTracker;
  private readonly malformed: MalformedCpuRequests;
  private readonly cache: PodCache;
  private watch: ListWatch<V1Pod> | undefined;
  private retry: NodeJS.Timeout | undefined;
  private running = false;
  /** namespace/name -> uid: a relist reports a pod recreated under its name as an update, not a delete. */
  private readonly uidByName = new Map<string, string>();

  constructor(private readonly opts: ApiServerPodInformerOptions) {
    this.outage = new OutageTracker(opts.logger, 'API server');
    this.malformed = new MalformedCpuRequests(opts.logger);
    this.cache = new PodCache(Date.now, this.malformed.report);
  }

  start(): void {
    this.running = true;
    this.connect();
  }

  /**
   * The official client reads the kubeconfig its own way (a relative token-file against the
   * working folder, every user's token-file): a file it cannot load stops start-up (exit 2) rather
   * than failing every watch for ever.
   */
  async verifyCredentials(): Promise<void> {
    try {
      await this.opts.access.clientNodeConfig();
    } catch (err) {
      throw new ConfigError(`config: kube.config: the Kubernetes client cannot load the credentials (kube.podInformer.mode apiserver): ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  /** Loads the client and builds the list and watch, then starts them; a failure is retried as a failed watch. */
  private async open(): Promise<void> {
    let k8s: typeof ClientNode;
    let kc: KubeConfig;
    try {
      [k8s, kc] = await Promise.all([import('./clientNode.js'), this.opts.access.clientNodeConfig()]);
    } catch (err) {
      this.failed(err);
      return;
    }
    if (!this.running || this.watch) return;
    const fieldSelector = `spec.nodeName=${this.opts.nodeName}`;
    try {
      // makeApiClient throws when the client's view of the kubeconfig has no current cluster (a
      // file edited since start): a failed watch, retried, never an unhandled rejection.
      const api = kc.makeApiClient(k8s.CoreV1Api);
      // resourceVersion 0: the list is served from the API server's cache, not read from etcd.
      const list = () => api.listPodForAllNamespaces({ fieldSelector, resourceVersion: '0' });
      this.watch = new k8s.ListWatch<V1Pod>('/api/v1/pods', guardedWatch(k8s, kc), list, false, undefined, fieldSelector);
    } catch (err) {
      this.failed(err);
      return;
    }
    // Before every list and watch, including the client's own renewals: tokens rotate, and a
    // renewal means the previous watch ended well.
    this.watch.on('connect', () => {
      this.opts.access.refreshClientNode(kc);
      this.cache.prune();
      if (this.outage.failures === 0 && this.outage.lastSyncMs !== undefined) this.outage.lastSyncMs = Date.now();
    });
    this.watch.on('add', (p) => this.upsert(p));
    this.watch.on('update', (p) => this.upsert(p));
    this.watch.on('delete', (p) => {
      this.uidByName.delete(nameOf(p));
      this.cache.remove(p);
      this.outage.success();
    });
    this.watch.on('error', (err) => this.failed(err));
    this.connect();
  }

  stop(): void {
    this.running = false;
    if (this.retry) clearTimeout(this.retry);
    void this.watch?.stop();
  }

  lookup(containerId: string): ContainerMeta | undefined {
    return this.cache.lookup(containerId);
  }

  whenSynced(timeoutMs: number): Promise<boolean> {
    return this.outage.whenSynced(timeoutMs);
  }

  stats(): PodInformerStats {
    return this.outage.stats(this.mode, this.cache.podCount(), this.malformed.count);
  }

  private upsert(p: V1Pod): void {
    const name = nameOf(p);
    const uid = p.metadata?.uid;
    const previous = this.uidByName.get(name);
    if (previous && uid && previous !== uid) this.cache.remove({ metadata: { uid: previous } });
    if (uid) this.uidByName.set(name, uid);
    this.cache.upsert(p);
    this.outage.success();
  }

  /** (Re)starts the list and watch (building them first, the client loaded, if need be). */
  private connect(): void {
    // start() also resolves when the list failed (the client emits 'error' instead of throwing).
    const watch = this.watch;
    if (!watch) {
      void this.open();
      return;
    }
    const failuresBefore = this.outage.errors.watch;
    watch.start().then(
      () => {
        if (!this.running)
          void this.watch?.stop(); // stopped while the list was in flight
        else if (this.outage.errors.watch === failuresBefore) this.outage.success();
      },
      (err: unknown) => this.failed(err),
    );
  }

  /** The watch stopped with an error (the client does not retry then): retry with backoff. */
  private failed(err: unknown): void {
    if (!this.running) return; // stop() aborts the watch: not an outage
    this.outage.failure('watch', err);
    if (this.retry) return;
    this.retry = setTimeout(
      () => {
        this.retry = undefined;
        if (this.running) this.connect();
      },
      backoffMs(this.outage.failures, 60_000),
    );
    this.retry.unref();
  }
}

function nameOf(p: V1Pod): string {
  return `${p.metadata?.namespace ?? ''}/${p.metadata?.name ?? ''}`;
}
