// The pods of this node as last known, indexed by container id. Filled by a whole list (kubelet
// /pods) or by watch events (API server). Containers of a pod that left the list keep their
// names for a while: a container in its grace period, or one whose pod is already deleted, still
// burns CPU under the same labels, and a flip to an unnamed series would split its history.

import { containersOfPod, podMetaOf, type ContainerMeta, type MalformedCpuRequest, type PodMeta, type PodObject } from './podMetadata.js';

/** How long a container of a removed pod keeps its pod's labels. */
export const REMOVED_POD_RETENTION_MS = 10 * 60_000;

export class PodCache {
  private readonly byPod = new Map<string, Map<string, ContainerMeta>>();
  private readonly byContainer = new Map<string, ContainerMeta>();
  private readonly removed = new Map<string, { meta: ContainerMeta; untilMs: number }>();

  /** `onMalformed`: a container's CPU request is not a quantity (called at every list or event that carries it). */
  constructor(
    private readonly clock: () => number = Date.now,
    private readonly onMalformed?: (m: MalformedCpuRequest) => void,
  ) {}

  /** A full list of the node's pods (kubelet /pods, or an API server list). */
  replaceAll(pods: readonly PodObject[]): void {
    const keep = new Set<string>();
    for (const p of pods) {
      const uid = podMetaOf(p)?.uid;
      if (uid) keep.add(uid);
      this.upsert(p);
    }
    for (const uid of [...this.byPod.keys()]) if (!keep.has(uid)) this.removeUid(uid);
  }

  upsert(pod: PodObject): void {
    const meta = podMetaOf(pod);
    if (!meta) return;
    const next = containersOfPod(pod, this.onMalformed);
    const prev = this.byPod.get(meta.uid);
    // Containers that left the pod (a restarted container has a new id) are retained too.
    for (const [id, c] of prev ?? []) if (!next.has(id)) this.retire(id, c);
    for (const [id, c] of next) {
      this.byContainer.set(id, c);
      this.removed.delete(id);
    }
    this.byPod.set(meta.uid, next);
  }

  remove(pod: PodObject): void {
    const uid = podMetaOf(pod)?.uid;
    if (uid) this.removeUid(uid);
  }

  lookup(containerId: string): ContainerMeta | undefined {
    const live = this.byContainer.get(containerId);
    if (live) return live;
    const r = this.removed.get(containerId);
    if (!r) return undefined;
    if (r.untilMs < this.clock()) {
      this.removed.delete(containerId);
      return undefined;
    }
    return r.meta;
  }

  /** Pods currently listed. */
  podCount(): number {
    return this.byPod.size;
  }

  /** Drops retained containers past their time (called after each sync, so memory stays bounded). */
  prune(): void {
    const now = this.clock();
    for (const [id, r] of this.removed) if (r.untilMs < now) this.removed.delete(id);
  }

  private removeUid(uid: string): void {
    for (const [id, c] of this.byPod.get(uid) ?? []) this.retire(id, c);
    this.byPod.delete(uid);
  }

  private retire(id: string, meta: ContainerMeta): void {
    this.byContainer.delete(id);
    this.removed.set(id, { meta, untilMs: this.clock() + REMOVED_POD_RETENTION_MS });
  }
}

export type { ContainerMeta, MalformedCpuRequest, PodMeta };
