// A source of pod metadata for the containers on this node. Two implementations: the kubelet
// poller (default, one request per interval to the local kubelet) and the API server watch.
// Both keep serving what they last knew while Kubernetes is unreachable, retry with backoff,
// log once per outage, and count their failures for the exporter's health metrics.

import type { Logger } from '../logger/logger.js';
import type { ContainerMeta, MalformedCpuRequest } from './podMetadata.js';

export type PodInformerMode = 'kubelet' | 'apiserver';

export interface PodInformerStats {
  readonly mode: PodInformerMode;
  /** Pods currently known. */
  readonly pods: number;
  /** Failures since start, by kind (node, pods, watch). */
  readonly errors: Readonly<Record<string, number>>;
  /** Wall-clock ms of the last successful sync (list, poll or watch event); undefined before. */
  readonly lastSyncMs?: number;
  /** CPU requests that were not Kubernetes quantities since start, each (pod, container, value) once. */
  readonly malformedCpuRequests: number;
}

export interface PodInformer {
  readonly mode: PodInformerMode;
  start(): void;
  stop(): void;
  /** Pod, container name and CPU request of a container id; undefined when unknown (may trigger one early refresh). */
  lookup(containerId: string): ContainerMeta | undefined;
  stats(): PodInformerStats;
  /** Resolves true at the first successful sync, false when `timeoutMs` passes first. */
  whenSynced(timeoutMs: number): Promise<boolean>;
  /**
   * Checks, before start, what only reading the credentials can tell (the official client's view
   * of the kubeconfig, in the modes that use it); rejects with a ConfigError naming kube.config.
   */
  verifyCredentials?(): Promise<void>;
}

/** The first successful sync, awaited (with a limit) before the first refresh bills anything. */
class FirstSync {
  private done = false;
  private resolveFn: () => void = () => {};
  private readonly promise = new Promise<void>((r) => (this.resolveFn = r));

  mark(): void {
    if (this.done) return;
    this.done = true;
    this.resolveFn();
  }

  wait(timeoutMs: number): Promise<boolean> {
    if (this.done) return Promise.resolve(true);
    return new Promise((resolve) => {
      // Not unref'd: start-up awaits this, and nothing else may hold the process yet (the web
      // server listens after it). An unref'd timer let the process end here with code 0.
      const t = setTimeout(() => resolve(false), timeoutMs);
      void this.promise.then(() => {
        clearTimeout(t);
        resolve(true);
      });
    });
  }
}

/** The kinds of failure counted, exported from the start at 0. */
export const POD_INFORMER_ERROR_KINDS = ['node', 'pods', 'watch'] as const;
export type PodInformerErrorKind = (typeof POD_INFORMER_ERROR_KINDS)[number];

/** Retry delay after `failures` consecutive failures: 1 s, 2 s, 4 s ... at most `capMs`. */
export function backoffMs(failures: number, capMs: number): number {
  return Math.min(1000 * 2 ** Math.max(0, failures - 1), capMs);
}

/**
 * Sync bookkeeping shared by the informers: counts every failure by kind, but logs an outage
 * once when it starts and once when it ends, not once per attempt; keeps the last sync time and
 * the first sync that start-up waits for.
 */
export class OutageTracker {
  readonly errors: Record<PodInformerErrorKind, number> = { node: 0, pods: 0, watch: 0 };
  /** Consecutive failures of the current outage; 0 while healthy. */
  failures = 0;
  /** Wall-clock ms of the last successful sync; undefined before the first. */
  lastSyncMs: number | undefined;
  private readonly firstSync = new FirstSync();

  constructor(
    private readonly logger: Logger,
    private readonly what: string,
  ) {}

  failure(kind: PodInformerErrorKind, err: unknown): void {
    this.errors[kind]++;
    this.failures++;
    if (this.failures === 1) {
      this.logger.warn(`${this.what} unreachable; keeping the pod labels known so far and retrying with backoff`, { err: errorText(err) });
    }
  }

  success(): void {
    if (this.failures > 0) this.logger.info(`${this.what} reachable again`, { failed_attempts: this.failures });
    this.failures = 0;
    this.lastSyncMs = Date.now();
    this.firstSync.mark();
  }

  whenSynced(timeoutMs: number): Promise<boolean> {
    return this.firstSync.wait(timeoutMs);
  }

  stats(mode: PodInformerMode, pods: number, malformedCpuRequests: number): PodInformerStats {
    return { mode, pods, errors: { ...this.errors }, lastSyncMs: this.lastSyncMs, malformedCpuRequests };
  }
}

/**
 * CPU requests that are not Kubernetes quantities. The container counts as requesting nothing;
 * each (pod, container, value) is logged and counted once, not at every poll or watch event that
 * repeats it, and never stops the informer.
 */
export class MalformedCpuRequests {
  count = 0;
  private readonly seen = new Set<string>();

  constructor(private readonly logger: Logger) {}

  /** For PodCache: called with every malformed request of every list or event. */
  readonly report = (m: MalformedCpuRequest): void => {
    const value = JSON.stringify(m.value) ?? String(m.value);
    const key = `${m.pod.uid}\0${m.containerName}\0${value}`;
    if (this.seen.has(key)) return;
    if (this.seen.size >= 10_000) this.seen.clear(); // bounded; at worst a value is logged again
    this.seen.add(key);
    this.count++;
    this.logger.warn('container CPU request is not a Kubernetes quantity; counted as no request', {
      pod: `${m.pod.namespace}/${m.pod.name}`,
      container: m.containerName,
      cpu_request: value.length > 60 ? `${value.slice(0, 57)}...` : value,
    });
  };
}

export function errorText(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    return cause instanceof Error ? `${err.message}: ${cause.message}` : err.message;
  }
  return String(err);
}
