// What Kubernetes says about the containers on this node: container id -> pod, container name
// and CPU request, from a pod's status and spec. Pure functions over the JSON of a Pod (the
// kubelet's /pods and the API server return the same shape); the informers do the I/O.

/** The part of a v1 Pod this exporter reads. */
export interface PodObject {
  metadata?: { uid?: string; name?: string; namespace?: string };
  spec?: {
    containers?: ContainerSpec[];
    initContainers?: ContainerSpec[];
    ephemeralContainers?: ContainerSpec[];
  };
  status?: {
    containerStatuses?: ContainerStatus[];
    initContainerStatuses?: ContainerStatus[];
    ephemeralContainerStatuses?: ContainerStatus[];
  };
}

/** Requests and limits by resource name; quantities are strings ("250m"), a hand-written object may hold a number. */
interface Resources {
  requests?: Record<string, unknown>;
}

interface ContainerSpec {
  name?: string;
  resources?: Resources;
}

interface ContainerStatus {
  name?: string;
  containerID?: string;
  /** What the running container was given (in-place resize, Kubernetes 1.33+); newer than the spec during a resize. */
  resources?: Resources;
}

export interface PodMeta {
  readonly uid: string;
  readonly name: string;
  readonly namespace: string;
}

export interface ContainerMeta {
  readonly containerName: string;
  readonly pod: PodMeta;
  /** The container's CPU request in cores; absent when it has none (or an unreadable one). */
  readonly cpuRequestCores?: number;
}

/** A CPU request that is not a Kubernetes quantity: the container counts as requesting nothing. */
export interface MalformedCpuRequest {
  readonly pod: PodMeta;
  readonly containerName: string;
  readonly value: unknown;
}

// A Kubernetes quantity (k8s.io/apimachinery resource.ParseQuantity): a signed decimal number
// ("1", "1.5", ".5", "5.") with one optional suffix: a decimal SI one (n u m k M G T P E), a
// binary one (Ki Mi Gi Ti Pi Ei) or a decimal exponent (e3, E-2). "1e3m" is not a quantity.
const QUANTITY = /^([+-]?)(\d+\.?\d*|\.\d+)(?:([numkMGTPE]|[KMGTPE]i)|[eE]([+-]?\d+))?$/;
const DECIMAL_SI: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY_SI: Record<string, number> = { Ki: 1, Mi: 2, Gi: 3, Ti: 4, Pi: 5, Ei: 6 };

/**
 * Cores of a CPU quantity: "250m" -> 0.25, "1" -> 1, "1.5" -> 1.5, "2000m" -> 2, "1e3" -> 1000,
 * "500000u" -> 0.5. A finite JSON number >= 0 is taken as cores. Undefined for anything else: not a
 * quantity, negative (the API server refuses negative requests), or too large to be a number.
 */
export function parseCpuQuantity(q: unknown): number | undefined {
  if (typeof q === 'number') return Number.isFinite(q) && q >= 0 ? q : undefined;
  if (typeof q !== 'string') return undefined;
  const m = QUANTITY.exec(q);
  if (!m) return undefined;
  const [, sign, digits, suffix = '', exponent] = m;
  let cores: number;
  if (suffix in BINARY_SI) cores = Number(digits) * 1024 ** BINARY_SI[suffix];
  else {
    // Through the decimal text, so that "100m" is exactly 0.1 and not 100 * 0.001.
    const exp = exponent !== undefined ? Number(exponent) : DECIMAL_SI[suffix];
    cores = Number(`${digits.endsWith('.') ? digits.slice(0, -1) : digits}e${exp}`);
  }
  if (!Number.isFinite(cores) || (sign === '-' && cores !== 0)) return undefined;
  return cores;
}

/** The CPU request of each container of the pod that has one (`resources.requests.cpu`), by container name. */
function cpuRequestValues(pod: PodObject): Map<string, unknown> {
  const out = new Map<string, unknown>();
  const sp = pod.spec;
  for (const list of [sp?.containers, sp?.initContainers, sp?.ephemeralContainers]) {
    for (const c of list ?? []) {
      const v = c.resources?.requests?.cpu;
      if (c.name !== undefined && v !== undefined && v !== null) out.set(c.name, v);
    }
  }
  return out;
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

/**
 * Every started container of the pod: regular, init and ephemeral, with its CPU request where it
 * has one. The request is the container status's (what the running container was given, after an
 * in-place resize) where the status carries one, else the spec's, matched by container name (names
 * are unique across a pod's containers of every kind). A request that is not a quantity is passed
 * to `onMalformed` and the container counts as requesting nothing.
 */
export function containersOfPod(pod: PodObject, onMalformed?: (m: MalformedCpuRequest) => void): Map<string, ContainerMeta> {
  const out = new Map<string, ContainerMeta>();
  const meta = podMetaOf(pod);
  if (!meta) return out;
  const s = pod.status;
  let specRequests: Map<string, unknown> | undefined;
  for (const list of [s?.containerStatuses, s?.initContainerStatuses, s?.ephemeralContainerStatuses]) {
    for (const c of list ?? []) {
      const id = containerIdOf(c.containerID);
      if (!id) continue;
      const containerName = c.name ?? '';
      let value = c.resources?.requests?.cpu;
      if (value === undefined || value === null) value = (specRequests ??= cpuRequestValues(pod)).get(containerName);
      let cpuRequestCores: number | undefined;
      if (value !== undefined && value !== null) {
        cpuRequestCores = parseCpuQuantity(value);
        if (cpuRequestCores === undefined) onMalformed?.({ pod: meta, containerName, value });
      }
      out.set(id, cpuRequestCores === undefined ? { containerName, pod: meta } : { containerName, pod: meta, cpuRequestCores });
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
