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

/** Polls `url` until it answers 200; fails with the container's logs when it stops first or never answers. */
export async function waitHttp(url: string, container: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    const state = podman(['inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', container]).stdout.trim();
    if (state !== '' && !state.startsWith('running') && !state.startsWith('created') && !state.startsWith('configured')) {
      assert.fail(`${container} is ${state} before ${url} answered:\n${logs(container)}`);
    }
    if (Date.now() > deadline) assert.fail(`${url} did not answer within ${timeoutMs / 1000} s:\n${logs(container)}`);
    await new Promise((r) => setTimeout(r, 200));
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
}

/**
 * The pod template of a rendered DaemonSet (kustomize or helm output), wrapped as a Pod named
 * `name`: image swapped to the local image; the hostPath `/sys` pointed at `sysfs`; and the few
 * changes podman 4.3 needs, each recorded in `notes`. The ConfigMaps of the rendering are emitted
 * alongside, so the pod's configMap volumes find them.
 */
export function playablePod(text: string, source: string, name: string, opts: { sysfs: string; port: number }): PlayablePod {
  const rendered = pickDaemonSet(text, source); // one DaemonSet, one ConfigMap, both valid
  const docs = parseAllDocuments(text).map((d) => d.toJS() as { kind?: string } | null);
  const configMaps = docs.filter((d) => d?.kind === 'ConfigMap');
  const notes: string[] = [];
  const spec = structuredClone(rendered.pod);
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
  return { yaml: [...configMaps, pod].map((d) => stringify(d)).join('---\n'), pod: name, container: `${name}-${c.name}`, probes, notes };
}
