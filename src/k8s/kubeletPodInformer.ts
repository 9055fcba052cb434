// Pod metadata from the local kubelet, as Kepler gets it by default: find this node's InternalIP
// and kubelet port from its Node object once, then GET https://<ip>:<port>/pods every
// pollInterval. One request per node per interval, and no watch on the API server. Both GETs are
// plain HTTPS (kubeClient.ts): this mode does not load the Kubernetes client.

import type { Logger } from '../logger/logger.js';
import { apiServerGet, getJson, kubeletRequestOptions, type KubeAccess } from './kubeClient.js';
import { PodCache } from './podCache.js';
import { backoffMs, MalformedCpuRequests, OutageTracker, type PodInformer, type PodInformerStats } from './podInformer.js';
import { podListItems, type ContainerMeta } from './podMetadata.js';

export interface KubeletPodInformerOptions {
  access: KubeAccess;
  nodeName: string;
  pollIntervalMs: number;
  kubeletCAFile: string;
  logger: Logger;
  requestTimeoutMs?: number;
}

/** The Node object's part that locates the kubelet. */
interface NodeObject {
  status?: { addresses?: { type?: string; address?: string }[]; daemonEndpoints?: { kubeletEndpoint?: { Port?: number } } };
}

/** https://<InternalIP>:<kubelet port> of a Node object (port 10250 when it does not say). */
export function kubeletEndpoint(node: NodeObject, nodeName: string): string {
  const addresses = node.status?.addresses ?? [];
  const ip = (addresses.find((a) => a.type === 'InternalIP') ?? addresses.find((a) => a.address))?.address;
  if (!ip) throw new Error(`node ${nodeName} has no InternalIP address in its status`);
  const port = node.status?.daemonEndpoints?.kubeletEndpoint?.Port || 10250;
  return `https://${ip.includes(':') ? `[${ip}]` : ip}:${port}`;
}

export class KubeletPodInformer implements PodInformer {
  readonly mode = 'kubelet' as const;
  private readonly outage: OutageTracker;
  private readonly malformed: MalformedCpuRequests;
  private readonly cache: PodCache;
  private endpoint: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private inFlight: Promise<void> | undefined;
  /** Container ids that already asked for an early poll: each asks once. */
  private readonly earlyAsked = new Set<string>();
  /** Look the Node up again before the next poll (after repeated failures: its address may have changed). */
  private resolveAgain = false;

  constructor(private readonly opts: KubeletPodInformerOptions) {
    this.outage = new OutageTracker(opts.logger, 'kubelet');
    this.malformed = new MalformedCpuRequests(opts.logger);
    this.cache = new PodCache(Date.now, this.malformed.report);
  }

  start(): void {
    this.running = true;
    void this.poll();
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  lookup(containerId: string): ContainerMeta | undefined {
    const meta = this.cache.lookup(containerId);
    if (!meta && this.running && !this.inFlight && !this.earlyAsked.has(containerId)) {
      // A container started since the last poll: ask the kubelet now rather than up to one
      // interval later. Never more than one poll at a time, and once per container id (a
      // container no pod owns, say a plain Docker one, must not poll at every refresh).
      if (this.earlyAsked.size > 10_000) this.earlyAsked.clear();
      this.earlyAsked.add(containerId);
      void this.poll();
    }
    return meta;
  }

  whenSynced(timeoutMs: number): Promise<boolean> {
    return this.outage.whenSynced(timeoutMs);
  }

  stats(): PodInformerStats {
    return this.outage.stats(this.mode, this.cache.podCount(), this.malformed.count);
  }

  /** One poll (resolving the kubelet first if needed), then the next one scheduled. */
  poll(): Promise<void> {
    if (this.inFlight) return this.inFlight;
    if (this.timer) clearTimeout(this.timer);
    this.inFlight = this.pollOnce().finally(() => {
      this.inFlight = undefined;
      if (!this.running) return;
      const delay = this.outage.failures > 0 ? backoffMs(this.outage.failures, Math.max(this.opts.pollIntervalMs, 60_000)) : this.opts.pollIntervalMs;
      this.timer = setTimeout(() => void this.poll(), delay);
      this.timer.unref();
    });
    return this.inFlight;
  }

  private async pollOnce(): Promise<void> {
    const timeoutMs = this.opts.requestTimeoutMs ?? 10_000;
    if (!this.endpoint || this.resolveAgain) {
      try {
        const node = (await apiServerGet(this.opts.access, `/api/v1/nodes/${encodeURIComponent(this.opts.nodeName)}`, timeoutMs)) as NodeObject | null;
        if (typeof node !== 'object' || node === null) throw new Error(`API server: node ${this.opts.nodeName}: the answer is not an object`);
        const endpoint = kubeletEndpoint(node, this.opts.nodeName);
        if (endpoint !== this.endpoint) this.opts.logger.info('kubelet found', { node: this.opts.nodeName, endpoint });
        this.endpoint = endpoint;
        this.resolveAgain = false;
      } catch (err) {
        this.outage.failure('node', err);
        // With the API server down too, the kubelet it named last is still worth trying.
        if (!this.endpoint) return;
      }
    }
    try {
      const body = await getJson(`${this.endpoint}/pods`, await kubeletRequestOptions(this.opts.access, this.opts.kubeletCAFile), timeoutMs);
      this.cache.replaceAll(podListItems(body, `kubelet ${this.endpoint}/pods`));
      this.cache.prune();
      this.outage.success();
    } catch (err) {
      this.outage.failure('pods', err);
      // The node may have a new address after a long outage: look it up again now and then.
      if (this.outage.failures % 5 === 0) this.resolveAgain = true;
    }
  }
}
