// What Kubernetes says about the containers on this node: container id -> pod and container
// name, from a pod's status. Pure functions over the JSON of a Pod (the kubelet's /pods and the
// API server return the same shape); the informers do the I/O.

/** The part of a v1 Pod this exporter reads. */
export interface PodObject {
  metadata?: { uid?: string; name?: string; namespace?: string };
  status?: {
    containerStatuses?: ContainerStatus[];
    initContainerStatuses?: ContainerStatus[];
    ephemeralContainerStatuses?: ContainerStatus[];
  };
}

interface ContainerStatus {
  name?: string;
  containerID?: string;
}

export interface PodMeta {
  readonly uid: string;
  readonly name: string;
  readonly namespace: string;
}

export interface ContainerMeta {
  readonly containerName: string;
  readonly pod: PodMeta;
}

/**
 * The 64-hex id of `containerd://<id>`, `cri-o://<id>`, `docker://<id>` (any runtime prefix), as
 * the cgroup paths carry it; undefined for a container not started yet (no id).
 */
export function containerIdOf(containerID: string | undefined): string | undefined {
  if (!containerID) return undefined;
  const sep = containerID.indexOf('://');
  const id = sep >= 0 ? containerID.slice(sep + 3) : containerID;
  return id === '' ? undefined : id.toLowerCase();
}

/** The pod's identity, or undefined when the object lacks a uid (not a pod we can match). */
export function podMetaOf(pod: PodObject): PodMeta | undefined {
  const m = pod.metadata;
  if (!m?.uid) return undefined;
  return { uid: m.uid, name: m.name ?? '', namespace: m.namespace ?? '' };
}

/** Every started container of the pod: regular, init and ephemeral. */
export function containersOfPod(pod: PodObject): Map<string, ContainerMeta> {
  const out = new Map<string, ContainerMeta>();
  const meta = podMetaOf(pod);
  if (!meta) return out;
  const s = pod.status;
  for (const list of [s?.containerStatuses, s?.initContainerStatuses, s?.ephemeralContainerStatuses]) {
    for (const c of list ?? []) {
      const id = containerIdOf(c.containerID);
      if (id) out.set(id, { containerName: c.name ?? '', pod: meta });
    }
  }
  return out;
}

/** A PodList's items, checked enough to fail loudly on garbage rather than clear what we know. */
export function podListItems(body: unknown, source: string): PodObject[] {
  if (typeof body !== 'object' || body === null || !Array.isArray((body as { items?: unknown }).items)) {
    throw new Error(`${source}: expected a PodList (an object with an items array)`);
  }
  return (body as { items: unknown[] }).items.filter((p): p is PodObject => typeof p === 'object' && p !== null);
}
