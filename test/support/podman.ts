// Test helper: podman, with runc, running the image that scripts/build-image.sh builds
// (localhost/kepler-ts:dev), and the rendered DaemonSets of deploy/ and charts/ wrapped as Pods
// for `podman kube play`.
//
// On the test machine crun refuses the hybrid cgroup hierarchy, so runc is the runtime; and the
// sandbox has no CAP_SYS_RESOURCE, so runc cannot raise a resource limit above what conmon has
// (nofile 20000, nproc 32768): podman's defaults (nproc above that) make every start fail with
// "error setting rlimit type 6: operation not permitted". A containers.conf of the test's own
// (CONTAINERS_CONF) sets both, for `podman run` and for `podman kube play`, which has no flags for them.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { pickDaemonSet, ROOT, type ExecResult } from './deployTools.js';
import { freePort } from './processes.js';

export const IMAGE = 'localhost/kepler-ts:dev';

/** Why the image tests cannot run here, or undefined when podman and runc are installed. */
export function podmanMissing(): string | undefined {
  for (const cmd of ['podman', 'runc']) {
    if (spawnSync('sh', ['-c', `command -v ${cmd}`]).status !== 0) return `${cmd} is not installed (scripts/test.sh installs podman, runc and catatonit)`;
  }
  return undefined;
}

let conf: string | undefined;

/** Writes the test's containers.conf into `dir`; every podman call of this helper uses it. */
export function useContainersConf(dir: string): void {
  conf = join(dir, 'containers.conf');
  writeFileSync(conf, ['[containers]', 'default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]', '[engine]', 'runtime = "runc"', ''].join('\n'));
}

/** Runs podman synchronously (with the test's containers.conf). */
export function podman(args: string[], timeoutMs = 120_000): ExecResult {
  const env = conf ? { ...process.env, CONTAINERS_CONF: conf } : process.env;
  const r = spawnSync('podman', args, { cwd: ROOT, encoding: 'utf8', env, timeout: timeoutMs, maxBuffer: 64 << 20 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', ...(r.error ? { error: r.error } : {}) };
}

/** podman, failing the test with its output when it fails. */
export function podmanOk(args: string[], timeoutMs?: number): string {
  const r = podman(args, timeoutMs);
  assert.equal(r.status, 0, `podman ${args.join(' ')}: exit ${r.status}\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** Builds the image with scripts/build-image.sh unless one built from this very source exists. */
export function buildImage(): string {
  const r = spawnSync(join(ROOT, 'scripts', 'build-image.sh'), ['--if-stale', '--tag', IMAGE], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 900_000,
    maxBuffer: 64 << 20,
  });
  assert.equal(r.status, 0, `scripts/build-image.sh failed (exit ${r.status}):\n${r.stdout}${r.stderr}`);
  return (r.stdout + r.stderr).trim();
}

/** A container's logs (stdout and stderr). */
export function logs(name: string): string {
  const r = podman(['logs', name]);
  return r.stdout + r.stderr;
}

/** A request's limit: a server that accepts and never answers fails the test instead of hanging it. */
export const FETCH_TIMEOUT_MS = 15_000;

/**
 * Polls `http://127.0.0.1:<port><path>` until it answers 200 and the container's own log says it
 * listens on that port (with host networking, another process's server on the port could answer
 * too; the line is logged at info, the level of every configuration the tests run). 'in use' when the container stopped because the port was taken (EADDRINUSE); fails with its
 * logs when it stops otherwise or never answers.
 */
async function waitListening(port: number, path: string, container: string, timeoutMs: number): Promise<'listening' | 'in use'> {
  const url = `http://127.0.0.1:${port}${path}`;
  const mine = new RegExp(`web server listening.*:${port}\\b`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let answered = false;
    try {
      answered = (await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) })).ok;
    } catch {
      // not listening yet
    }
    if (answered && mine.test(logs(container))) return 'listening';
    const state = podman(['inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', container]).stdout.trim();
    if (state !== '' && !state.startsWith('running') && !state.startsWith('created') && !state.startsWith('configured')) {
      const log = logs(container);
      if (/EADDRINUSE/.test(log)) return 'in use';
      assert.fail(`${container} is ${state} before ${url} answered:\n${log}`);
    }
    if (Date.now() > deadline) assert.fail(`${url} did not answer within ${timeoutMs / 1000} s:\n${logs(container)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Starts a container that listens on the host's network and waits until it answers at `path`.
 * The port is one freePort() found free, which another process (a benchmark's exporter, another
 * test) may bind before the container does: then the exporter exits saying so (EADDRINUSE),
 * `remove` clears what `start` made, and `start` runs again on a new port, up to `tries` times.
 * `start` returns the container's name (and whatever else the caller needs).
 */
export async function startOnFreePort<T extends { container: string }>(
  start: (port: number) => T,
  remove: (started: T) => void,
  opts: { path?: string; tries?: number; timeoutMs?: number } = {},
): Promise<T & { port: number; url: string }> {
  const tries = opts.tries ?? 5;
  for (let i = 1; ; i++) {
    const port = await freePort();
    const started = start(port);
    if ((await waitListening(port, opts.path ?? '/healthz', started.container, opts.timeoutMs ?? 60_000)) === 'listening') {
      return { ...started, port, url: `http://127.0.0.1:${port}` };
    }
    if (i >= tries) assert.fail(`${started.container}: ${tries} free ports in a row were taken before it listened (EADDRINUSE):\n${logs(started.container)}`);
    console.log(`# ${started.container}: port ${port} was taken before it listened (EADDRINUSE): started again on another`);
    remove(started);
  }
}

/** A rendered DaemonSet as a Pod for `podman kube play --network host`, and what had to change for podman. */
export interface PlayablePod {
  /** The Pod and the ConfigMaps, as one YAML stream. */
  yaml: string;
  /** The pod's name; podman names its container `<pod>-<container>`. */
  pod: string;
  container: string;
  /** The HTTP probes of the manifests (kubelet runs them from outside the container): path, port. */
  probes: { kind: string; path: string; port: number }[];
  /** What the test changed for podman, and why (printed by the test). */
  notes: string[];
  /** The podman volumes `kube play` makes for the ConfigMaps, which `kube down` leaves: to remove. */
  volumes: string[];
}

/**
 * The pod template of a rendered DaemonSet (kustomize or helm output), wrapped as a Pod named
 * `name`: image swapped to the local image; the hostPath `/sys` pointed at `sysfs`; and the few
 * changes podman 4.3 needs, each recorded in `notes`. The ConfigMaps of the rendering are emitted
 * alongside, so the pod's configMap volumes find them, renamed after the pod: podman keeps each in
 * a volume of the ConfigMap's name, which `kube down` leaves and a later `kube play` reuses, so
 * renderings that share a name (kepler-ts), runs on one machine, would meet each other's.
 */
export function playablePod(text: string, source: string, name: string, opts: { sysfs: string; port: number }): PlayablePod {
  const rendered = pickDaemonSet(text, source); // one DaemonSet, one ConfigMap, both valid
  const docs = parseAllDocuments(text).map((d) => d.toJS() as { kind?: string; metadata?: { name?: string } } | null);
  const renamed = new Map<string, string>();
  const configMaps = docs
    .filter((d) => d?.kind === 'ConfigMap')
    .map((d) => {
      const to = `${name}-${d?.metadata?.name ?? 'config'}`;
      renamed.set(d?.metadata?.name ?? '', to);
      return { ...d, metadata: { ...d?.metadata, name: to } };
    });
  const notes: string[] = [];
  const spec = structuredClone(rendered.pod);
  for (const v of spec.volumes ?? []) {
    const to = v.configMap?.name === undefined ? undefined : renamed.get(v.configMap.name);
    if (v.configMap && to) v.configMap.name = to;
  }
  const c = spec.containers[0];
  c.image = IMAGE;
  if (spec.serviceAccountName) notes.push(`serviceAccountName ${spec.serviceAccountName}: podman mounts no service account token (kube.enabled finds no Kubernetes)`);
  if (spec.nodeSelector || spec.tolerations || spec.priorityClassName) notes.push('nodeSelector, tolerations, priorityClassName: scheduling fields, ignored by podman');
  for (const e of c.env ?? []) {
    const field = e.valueFrom?.fieldRef?.fieldPath;
    if (field === 'spec.nodeName') {
      delete e.valueFrom;
      e.value = 'node-1';
      notes.push(`env ${e.name}: podman refuses fieldRef ${field} ("not valid or not supported"): set to node-1`);
    }
  }
  // podman turns containerPort into port mappings, which it refuses with host networking ("PortMappings
  // can only be used with Bridge or slirp4netns networking"): the ports go, and the probes that name a
  // port get its number. The exporter listens on a free port (the host's network is shared), named by
  // an added --web.listen-address, which the probes use too.
  const ports = c.ports ?? [];
  if (ports.length > 0) notes.push(`ports ${ports.map((p) => `${p.name ?? ''}:${p.containerPort}`).join(', ')}: dropped (podman maps them, and refuses maps with host networking)`);
  delete c.ports;
  c.args = [...(c.args ?? []), `--web.listen-address=127.0.0.1:${opts.port}`, '--kube.enable=false'];
  notes.push(`args: --web.listen-address=127.0.0.1:${opts.port} added (host network: a free port, not 28282)`);
  notes.push('args: --kube.enable=false added: no cluster here (no KUBERNETES_SERVICE_HOST, no service account), where kube.enabled exits with 2');
  const probes: PlayablePod['probes'] = [];
  for (const key of ['livenessProbe', 'readinessProbe', 'startupProbe'] as const) {
    const probe = c[key];
    if (!probe?.httpGet) continue;
    probe.httpGet.port = opts.port;
    probe.httpGet.host = '127.0.0.1';
    probes.push({ kind: key, path: probe.httpGet.path ?? '/', port: opts.port });
  }
  const cgroupMount = (spec.volumes ?? []).some((v) => v.hostPath?.path === '/sys/fs/cgroup');
  if (!cgroupMount) notes.push('/host/sys/fs/cgroup: the RAPL tree has no cgroups (node level only here; case a checks containers)');
  for (const v of spec.volumes ?? []) {
    if (v.hostPath?.path === '/sys') {
      v.hostPath.path = opts.sysfs;
      notes.push(`volume ${v.name}: hostPath /sys -> the test's RAPL tree`);
    }
  }
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: rendered.ds.spec?.template.metadata?.labels ?? {} },
    spec: { ...spec, restartPolicy: 'Never' },
  };
  notes.push('restartPolicy: Never (a DaemonSet restarts always; a failure must show, not loop)');
  const volumes = [...renamed.values()];
  return { yaml: [...configMaps, pod].map((d) => stringify(d)).join('---\n'), pod: name, container: `${name}-${c.name}`, probes, notes, volumes };
}
