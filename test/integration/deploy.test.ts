// The Kubernetes deployment: the kustomize manifests under deploy/, the Helm chart under
// charts/kepler-ts/ and the Dockerfile. Renders them with the real tools (kubectl kustomize, helm
// template), validates every object against the Kubernetes schemas (kubernetes-models, whose
// validators check types, required fields and formats, but not unknown fields: Kubernetes' schemas
// allow them), then checks what an SRE would check: RBAC, host mounts, probes, resources,
// privileges, selectors, and that the config file loads with the exporter's own loader.
//
// kubectl: Debian bookworm has no `kubectl` package, only `kubernetes-client` (1.20), whose
// kustomize is too old for components; the machines of this project come with a kubectl >= 1.21.
// helm: not in Debian. Taken from PATH, else from the devDependency @aws-cdk/asset-kubectl-v20,
// which ships the official helm 3.8.1 linux-amd64 binary in a zip (extracted once into
// node_modules/.cache). Elsewhere the chart gets the static checks only.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateRawSync } from 'node:zlib';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { ConfigMap, Namespace, Service, ServiceAccount } from 'kubernetes-models/v1';
import { DaemonSet } from 'kubernetes-models/apps/v1';
import { ClusterRole, ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { loadConfig } from '../../src/config/load.js';

// Compiled to dist/test/integration/; the manifests stay in the source tree.
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CHART = join(ROOT, 'charts', 'kepler-ts');

// Rendered Kubernetes objects, read loosely: the schemas check their shape.
type Obj = Record<string, any>;
interface Validatable {
  validate(): void;
}
const MODELS = new Map<string, new (data: never) => Validatable>([
  ['v1/Namespace', Namespace],
  ['v1/ServiceAccount', ServiceAccount],
  ['v1/ConfigMap', ConfigMap],
  ['v1/Service', Service],
  ['apps/v1/DaemonSet', DaemonSet],
  ['rbac.authorization.k8s.io/v1/ClusterRole', ClusterRole],
  ['rbac.authorization.k8s.io/v1/ClusterRoleBinding', ClusterRoleBinding],
  ['monitoring.coreos.com/v1/ServiceMonitor', ServiceMonitor],
]);

// ---------------------------------------------------------------------------------------------
// Rendering

function exec(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): { status: number | null; stdout: string; stderr: string; error?: Error } {
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', env, maxBuffer: 64 << 20 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', ...(r.error ? { error: r.error } : {}) };
}

let kubectlOk = false;
/** Fails with what to do when kubectl is missing or its kustomize is too old for deploy/. */
function requireKubectl(): void {
  if (kubectlOk) return;
  const r = exec('kubectl', ['version', '--client', '-o', 'json']);
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
    assert.fail(
      'kubectl is not installed: run .ci/run (or apt-get install kubectl; Debian bookworm only has kubernetes-client, ' +
        'kubectl 1.20, whose kustomize is too old for deploy/: install kubectl 1.21 or later)',
    );
  }
  let kustomize = '';
  try {
    kustomize = (JSON.parse(r.stdout) as { kustomizeVersion?: string }).kustomizeVersion ?? '';
  } catch {
    // reported below
  }
  const major = Number(/^v?(\d+)\./.exec(kustomize)?.[1] ?? 0);
  if (major < 4) {
    assert.fail(
      `kubectl's kustomize is ${kustomize || 'unknown'} (kubectl version --client: ${(r.stdout + r.stderr).trim().split('\n')[0]}); ` +
        'deploy/ uses kustomize components and `labels`, which need kustomize v4 or later (kubectl 1.21 or later). ' +
        "Debian bookworm's kubernetes-client is 1.20: install a newer kubectl",
    );
  }
  kubectlOk = true;
}

function kustomize(dir: string): Obj[] {
  requireKubectl();
  const r = exec('kubectl', ['kustomize', dir]);
  assert.equal(r.status, 0, `kubectl kustomize ${dir} failed:\n${r.stderr}`);
  assert.equal(r.stderr.trim(), '', `kubectl kustomize ${dir} warned:\n${r.stderr}`);
  return parseObjects(r.stdout, dir);
}

function parseObjects(text: string, source: string): Obj[] {
  const objects: Obj[] = [];
  for (const doc of parseAllDocuments(text)) {
    assert.deepEqual(
      doc.errors.map((e) => e.message),
      [],
      `${source}: invalid YAML`,
    );
    const o = doc.toJS() as Obj | null;
    if (o !== null) objects.push(o);
  }
  assert.ok(objects.length > 0, `${source}: rendered nothing`);
  return objects;
}

const describe = (o: Obj): string => `${o.kind} ${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata?.name}`;

/** Every object against its Kubernetes (or Prometheus Operator) schema; no kind without one. */
function validateAll(objects: Obj[], source: string): void {
  for (const o of objects) {
    const Model = MODELS.get(`${o.apiVersion}/${o.kind}`);
    assert.ok(Model, `${source}: ${describe(o)}: no schema for ${o.apiVersion} ${o.kind} in this test`);
    try {
      new Model(o as never).validate();
    } catch (e) {
      assert.fail(`${source}: ${describe(o)} is not valid: ${(e as Error).message}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Checks shared by the kustomize output and the Helm output

function only(objects: Obj[], kind: string, source: string): Obj {
  const found = objects.filter((o) => o.kind === kind);
  assert.equal(found.length, 1, `${source}: expected one ${kind}, found ${found.length}`);
  return found[0];
}

function subset(small: Record<string, string> | undefined, big: Record<string, string> | undefined): boolean {
  return Object.entries(small ?? {}).every(([k, v]) => big?.[k] === v);
}

/** A Kubernetes quantity in base units: "25m" = 0.025, "128Mi" = 134217728. */
function quantity(q: string | number): number {
  const m = /^([0-9.]+)(m|k|M|G|Ki|Mi|Gi)?$/.exec(String(q));
  assert.ok(m, `not a quantity: ${q}`);
  const unit: Record<string, number> = { '': 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 };
  return Number(m[1]) * unit[m[2] ?? ''];
}

/** Kubernetes' $(VAR) expansion of a container's args from its env. */
function expandArgs(args: string[], env: Record<string, string>): string[] {
  return args.map((a) => a.replace(/\$\((\w+)\)/g, (whole, name: string) => env[name] ?? whole));
}

interface Expect {
  privileged: boolean;
  podInformer: 'kubelet' | 'apiserver';
  preferredMeters?: string[];
  legacyMetrics?: boolean;
  serviceMonitor: boolean;
}

function checkDeployment(objects: Obj[], source: string, want: Expect): void {
  validateAll(objects, source);

  // RBAC: exactly nodes get, nodes/proxy get, pods get/list/watch, bound to the pod's account.
  const role = only(objects, 'ClusterRole', source);
  const rules = (role.rules as Obj[]).flatMap((r) =>
    (r.apiGroups as string[]).flatMap((g) => (r.resources as string[]).flatMap((res) => (r.verbs as string[]).map((v) => `${g}/${res}:${v}`))),
  );
  assert.deepEqual(rules.sort(), ['/nodes/proxy:get', '/nodes:get', '/pods:get', '/pods:list', '/pods:watch'], `${source}: ClusterRole rules`);
  for (const r of role.rules as Obj[]) assert.equal(r.resourceNames, undefined, `${source}: ClusterRole rule with resourceNames`);
  const sa = only(objects, 'ServiceAccount', source);
  const binding = only(objects, 'ClusterRoleBinding', source);
  assert.deepEqual(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role.metadata.name }, `${source}: roleRef`);
  assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: sa.metadata.name, namespace: sa.metadata.namespace }], `${source}: subjects`);

  // DaemonSet.
  const ds = only(objects, 'DaemonSet', source);
  const ns = ds.metadata.namespace as string;
  assert.ok(ns, `${source}: DaemonSet without a namespace`);
  assert.equal(sa.metadata.namespace, ns, `${source}: ServiceAccount in another namespace than the DaemonSet`);
  const pod = ds.spec.template.spec as Obj;
  assert.equal(pod.serviceAccountName, sa.metadata.name, `${source}: serviceAccountName`);
  assert.notEqual(pod.automountServiceAccountToken, false, `${source}: the service account token is needed`);
  assert.equal(pod.hostPID, true, `${source}: hostPID`);
  assert.ok(subset(ds.spec.selector.matchLabels, ds.spec.template.metadata.labels), `${source}: the selector does not select the pod template`);
  assert.ok(Object.keys(ds.spec.selector.matchLabels ?? {}).length > 0, `${source}: empty selector`);
  assert.equal(ds.spec.updateStrategy?.type, 'RollingUpdate', `${source}: updateStrategy`);
  assert.ok(
    (pod.tolerations as Obj[] | undefined)?.some((t) => t.operator === 'Exists' && t.key === undefined && t.effect === undefined),
    `${source}: no toleration of every taint`,
  );

  assert.equal(pod.containers.length, 1, `${source}: one container`);
  const c = pod.containers[0] as Obj;
  const volumes = new Map((pod.volumes as Obj[]).map((v) => [v.name as string, v]));
  const mountAt = (path: string): { mount: Obj; volume: Obj } => {
    const mount = (c.volumeMounts as Obj[]).find((m) => m.mountPath === path);
    assert.ok(mount, `${source}: nothing mounted at ${path}`);
    const volume = volumes.get(mount.name);
    assert.ok(volume, `${source}: mount ${path}: no volume ${mount.name}`);
    return { mount, volume };
  };
  for (const [at, host] of [
    ['/host/proc', '/proc'],
    ['/host/sys', '/sys'],
  ]) {
    const { mount, volume } = mountAt(at);
    assert.equal(mount.readOnly, true, `${source}: ${at} is not read-only`);
    assert.equal(volume.hostPath?.path, host, `${source}: ${at} is not the host's ${host}`);
  }
  const cfg = mountAt('/etc/kepler');
  assert.equal(cfg.mount.readOnly, true, `${source}: /etc/kepler is not read-only`);
  const cmName = cfg.volume.configMap?.name as string;
  const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === cmName);
  assert.ok(cm, `${source}: the DaemonSet mounts ConfigMap ${cmName}, which is not rendered`);
  assert.equal(cm.metadata.namespace, ns, `${source}: ConfigMap namespace`);
  assert.equal(typeof cm.data?.['config.yaml'], 'string', `${source}: ConfigMap without config.yaml`);

  const nodeName = (c.env as Obj[]).find((e) => e.name === 'NODE_NAME');
  assert.deepEqual(nodeName?.valueFrom, { fieldRef: { fieldPath: 'spec.nodeName' } }, `${source}: NODE_NAME from the downward API`);
  const args = c.args as string[];
  assert.ok(args.includes('--config.file=/etc/kepler/config.yaml'), `${source}: args lack --config.file: ${args.join(' ')}`);
  assert.ok(args.includes('--kube.node-name=$(NODE_NAME)'), `${source}: args lack --kube.node-name=$(NODE_NAME): ${args.join(' ')}`);
  assert.equal(c.command, undefined, `${source}: command overrides the image's entrypoint`);

  const port = (c.ports as Obj[]).find((p) => p.name === 'http');
  assert.ok(port, `${source}: no container port named http`);
  assert.equal(port.containerPort, 28282, `${source}: containerPort`);
  for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
    if (probe === 'startupProbe' && c[probe] === undefined) continue;
    assert.deepEqual(c[probe]?.httpGet, { path: '/healthz', port: 'http' }, `${source}: ${probe}`);
  }

  // Requests and limits, sized from the README's Performance figures: 2.3 % of a core and
  // 107-109 MiB resident at 5,000 processes. The requests cover that; the limits are above them.
  const res = c.resources as Obj;
  for (const r of ['cpu', 'memory']) {
    assert.ok(res?.requests?.[r] !== undefined, `${source}: no ${r} request`);
    assert.ok(res?.limits?.[r] !== undefined, `${source}: no ${r} limit`);
    assert.ok(quantity(res.requests[r]) <= quantity(res.limits[r]), `${source}: ${r} request above the limit`);
  }
  assert.ok(quantity(res.requests.cpu) >= 0.023, `${source}: cpu request ${res.requests.cpu} below the 23m measured at 5,000 processes`);
  assert.ok(quantity(res.requests.memory) >= 110 * 1024 ** 2, `${source}: memory request ${res.requests.memory} below the 109 MiB measured at 5,000 processes`);
  assert.ok(quantity(res.limits.memory) >= 2 * 109 * 1024 ** 2, `${source}: memory limit ${res.limits.memory}: less than twice the measured 109 MiB`);

  // Privileges.
  const sc = (c.securityContext ?? {}) as Obj;
  const podSc = (pod.securityContext ?? {}) as Obj;
  assert.equal(sc.readOnlyRootFilesystem, true, `${source}: readOnlyRootFilesystem`);
  if (want.privileged) {
    assert.equal(sc.privileged, true, `${source}: RAPL needs privileged`);
    assert.equal(sc.runAsUser ?? podSc.runAsUser, 0, `${source}: RAPL needs root (the image runs as 65532)`);
  } else {
    assert.notEqual(sc.privileged, true, `${source}: privileged`);
    assert.equal(sc.runAsNonRoot ?? podSc.runAsNonRoot, true, `${source}: runAsNonRoot`);
    const uid = sc.runAsUser ?? podSc.runAsUser;
    assert.ok(typeof uid === 'number' && uid > 0, `${source}: runAsUser ${uid}`);
    assert.equal(sc.allowPrivilegeEscalation, false, `${source}: allowPrivilegeEscalation`);
    assert.deepEqual(sc.capabilities?.drop, ['ALL'], `${source}: capabilities not dropped`);
    assert.equal(sc.capabilities?.add, undefined, `${source}: capabilities added`);
  }

  // Service: selects the DaemonSet's pods, port http = 28282.
  const svc = only(objects, 'Service', source);
  assert.equal(svc.metadata.namespace, ns, `${source}: Service namespace`);
  assert.ok(Object.keys(svc.spec.selector ?? {}).length > 0, `${source}: Service without a selector`);
  assert.ok(subset(svc.spec.selector, ds.spec.template.metadata.labels), `${source}: the Service does not select the DaemonSet's pods`);
  const svcPort = (svc.spec.ports as Obj[]).find((p) => p.name === 'http');
  assert.ok(svcPort, `${source}: Service without a port named http`);
  assert.equal(svcPort.port, 28282, `${source}: Service port`);
  assert.ok(svcPort.targetPort === 'http' || svcPort.targetPort === 28282, `${source}: Service targetPort ${svcPort.targetPort}`);

  // ServiceMonitor.
  const monitors = objects.filter((o) => o.kind === 'ServiceMonitor');
  assert.equal(monitors.length, want.serviceMonitor ? 1 : 0, `${source}: ServiceMonitors`);
  for (const sm of monitors) {
    assert.equal(sm.metadata.namespace, ns, `${source}: ServiceMonitor namespace`);
    assert.ok(Object.keys(sm.spec.selector?.matchLabels ?? {}).length > 0, `${source}: ServiceMonitor without a selector`);
    assert.ok(subset(sm.spec.selector.matchLabels, svc.metadata.labels), `${source}: the ServiceMonitor does not select the Service's labels`);
    assert.deepEqual(
      (sm.spec.endpoints as Obj[]).map((e) => e.port),
      ['http'],
      `${source}: ServiceMonitor endpoint port`,
    );
  }

  // config.yaml loads with the exporter's own loader, given the DaemonSet's args as kubelet expands them.
  const env = { NODE_NAME: 'node-1' };
  const loaded = loadConfig(expandArgs(args, env), env, (path) => {
    assert.equal(path, '/etc/kepler/config.yaml');
    return cm.data['config.yaml'] as string;
  });
  assert.equal(loaded.kind, 'run', `${source}: config`);
  if (loaded.kind !== 'run') return;
  assert.deepEqual(loaded.warnings, [], `${source}: config warnings`);
  const config = loaded.config;
  assert.equal(config.host.procfs, '/host/proc', `${source}: host.procfs`);
  assert.equal(config.host.sysfs, '/host/sys', `${source}: host.sysfs`);
  assert.equal(config.kube.enabled, true, `${source}: kube.enabled`);
  assert.equal(config.kube.nodeName, 'node-1', `${source}: kube.nodeName`);
  assert.equal(config.kube.podInformer.mode, want.podInformer, `${source}: kube.podInformer.mode`);
  assert.deepEqual(config.web.listenAddresses, [`:${port.containerPort}`], `${source}: listens on the containerPort`);
  assert.equal(config.web.configFile, '', `${source}: TLS or basic auth would break the HTTP probes`);
  assert.equal(config.exporter.prometheus.enabled, true, `${source}: /metrics`);
  assert.equal(config.exporter.prometheus.legacyMetrics, want.legacyMetrics ?? false, `${source}: legacyMetrics`);
  if (want.preferredMeters) assert.deepEqual(config.cpu.preferredMeters, want.preferredMeters, `${source}: cpu.preferredMeters`);
}

// ---------------------------------------------------------------------------------------------
// kustomize

const RAPL: Expect = { privileged: true, podInformer: 'kubelet', preferredMeters: ['rapl', 'hwmon'], serviceMonitor: false };

test('deploy/base renders with kubectl kustomize into valid objects: RBAC, privileged DaemonSet for RAPL, Service', () => {
  const objects = kustomize('deploy/base');
  checkDeployment(objects, 'deploy/base', RAPL);
  assert.deepEqual(objects.map((o) => o.kind).sort(), ['ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'DaemonSet', 'Namespace', 'Service', 'ServiceAccount']);
  const ns = only(objects, 'Namespace', 'deploy/base');
  assert.equal(ns.metadata.name, 'kepler');
  for (const o of objects) {
    if (!['Namespace', 'ClusterRole', 'ClusterRoleBinding'].includes(o.kind)) assert.equal(o.metadata.namespace, 'kepler', describe(o));
    assert.equal(o.metadata.labels?.['app.kubernetes.io/name'], 'kepler-ts', `${describe(o)}: app.kubernetes.io/name`);
    assert.equal(o.metadata.labels?.['app.kubernetes.io/part-of'], 'kepler', `${describe(o)}: app.kubernetes.io/part-of`);
  }
});

test('deploy/overlays/estimator: not privileged, non-root, estimator forced', () => {
  checkDeployment(kustomize('deploy/overlays/estimator'), 'deploy/overlays/estimator', {
    ...RAPL,
    privileged: false,
    preferredMeters: ['estimator'],
  });
});

test('deploy/overlays/apiserver: pods from the API server', () => {
  checkDeployment(kustomize('deploy/overlays/apiserver'), 'deploy/overlays/apiserver', { ...RAPL, podInformer: 'apiserver' });
});

test('deploy/overlays/with-servicemonitor: the component adds a ServiceMonitor that selects the Service', () => {
  checkDeployment(kustomize('deploy/overlays/with-servicemonitor'), 'deploy/overlays/with-servicemonitor', { ...RAPL, serviceMonitor: true });
});

test('every kustomization under deploy/ is rendered by a test', () => {
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(dir, e.name));
      else if (e.name === 'kustomization.yaml') found.push(dir);
    }
  };
  walk('deploy');
  assert.deepEqual(found.sort(), [
    'deploy/base',
    'deploy/components/servicemonitor',
    'deploy/overlays/apiserver',
    'deploy/overlays/estimator',
    'deploy/overlays/with-servicemonitor',
  ]);
  const component = parseYaml(readFileSync(join(ROOT, 'deploy/components/servicemonitor/kustomization.yaml'), 'utf8')) as Obj;
  assert.equal(component.kind, 'Component');
});

// ---------------------------------------------------------------------------------------------
// Helm

/** Dotted paths of every .Values reference in the chart's templates. */
function valuesReferences(): { file: string; path: string }[] {
  const refs: { file: string; path: string }[] = [];
  const dir = join(CHART, 'templates');
  for (const file of readdirSync(dir)) {
    const text = readFileSync(join(dir, file), 'utf8');
    for (const m of text.matchAll(/\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)) refs.push({ file, path: m[1].slice(1) });
  }
  return refs;
}

test('charts/kepler-ts: Chart.yaml and values.yaml parse, and the templates use only values that exist', () => {
  const chart = parseYaml(readFileSync(join(CHART, 'Chart.yaml'), 'utf8')) as Obj;
  assert.equal(chart.apiVersion, 'v2');
  assert.equal(chart.name, 'kepler-ts');
  assert.match(String(chart.version), /^\d+\.\d+\.\d+$/);
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  assert.equal(chart.appVersion, pkg.version, 'appVersion (the default image tag) is the package version');

  const values = parseYaml(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as Obj;
  for (const key of [
    'image',
    'imagePullSecrets',
    'resources',
    'tolerations',
    'nodeSelector',
    'affinity',
    'priorityClassName',
    'podAnnotations',
    'privileged',
    'securityContext',
    'serviceMonitor',
    'config',
    'extraArgs',
    'legacyMetrics',
    'service',
  ]) {
    assert.ok(key in values, `values.yaml lacks ${key}`);
  }
  assert.equal(values.service.port, 28282);
  assert.equal(values.serviceMonitor.enabled, false);

  const refs = valuesReferences();
  assert.ok(refs.length > 20, `only ${refs.length} .Values references found`);
  for (const { file, path } of refs) {
    let node: unknown = values;
    for (const part of path.split('.')) {
      assert.ok(node !== null && typeof node === 'object' && part in (node as Obj), `templates/${file}: .Values.${path} is not in values.yaml`);
      node = (node as Obj)[part];
    }
  }
});

/** A zip member, read with the central directory (no zip64, stored or deflated). */
function unzipMember(zip: Buffer, name: string): Buffer {
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 65_557); i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  assert.ok(eocd >= 0, 'not a zip file');
  let p = zip.readUInt32LE(eocd + 16);
  for (let n = zip.readUInt16LE(eocd + 10); n > 0; n--) {
    assert.equal(zip.readUInt32LE(p), 0x02014b50, 'zip: bad central directory');
    const method = zip.readUInt16LE(p + 10);
    const compressed = zip.readUInt32LE(p + 20);
    const size = zip.readUInt32LE(p + 24);
    const nameLen = zip.readUInt16LE(p + 28);
    const local = zip.readUInt32LE(p + 42);
    const entry = zip.toString('utf8', p + 46, p + 46 + nameLen);
    p += 46 + nameLen + zip.readUInt16LE(p + 30) + zip.readUInt16LE(p + 32);
    if (entry !== name) continue;
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const raw = zip.subarray(start, start + compressed);
    const data = method === 0 ? raw : inflateRawSync(raw);
    assert.equal(data.length, size, `zip: ${name}: size`);
    return data;
  }
  return assert.fail(`zip: no ${name}`);
}

/** helm from PATH, else the one shipped in @aws-cdk/asset-kubectl-v20 (linux x64); undefined if neither. */
function findHelm(): string | undefined {
  if (exec('helm', ['version', '--short']).status === 0) return 'helm';
  const zip = join(ROOT, 'node_modules', '@aws-cdk', 'asset-kubectl-v20', 'lib', 'layer.zip');
  if (process.platform !== 'linux' || process.arch !== 'x64' || !existsSync(zip)) return undefined;
  const helm = join(ROOT, 'node_modules', '.cache', 'kepler-ts-test', 'helm');
  if (!existsSync(helm)) {
    mkdirSync(dirname(helm), { recursive: true });
    const part = `${helm}.${process.pid}`;
    writeFileSync(part, unzipMember(readFileSync(zip), 'helm/helm'));
    chmodSync(part, 0o755);
    renameSync(part, helm);
  }
  return helm;
}

const HELM = findHelm();
const helmSkip = HELM ? false : 'helm is not on PATH and @aws-cdk/asset-kubectl-v20 (linux x64) is not installed: static chart checks only';

function helm(args: string[]): string {
  assert.ok(HELM);
  const home = mkdtempSync(join(tmpdir(), 'kepler-ts-helm-'));
  try {
    const env = { ...process.env, HELM_CACHE_HOME: home, HELM_CONFIG_HOME: home, HELM_DATA_HOME: home };
    const r = exec(HELM, args, env);
    assert.equal(r.status, 0, `helm ${args.join(' ')} failed:\n${r.stdout}${r.stderr}`);
    return r.stdout;
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

const helmTemplate = (...set: string[]): Obj[] => {
  const args = ['template', 'kepler-ts', 'charts/kepler-ts', '--namespace', 'kepler', ...set.flatMap((s) => ['--set', s])];
  return parseObjects(helm(args), `helm ${args.join(' ')}`);
};

test('charts/kepler-ts: helm lint --strict', { skip: helmSkip }, () => {
  helm(['lint', '--strict', 'charts/kepler-ts']);
});

test('charts/kepler-ts: the default values render a privileged DaemonSet for RAPL, RBAC and a Service', { skip: helmSkip }, () => {
  const objects = helmTemplate();
  checkDeployment(objects, 'helm template (defaults)', RAPL);
  const ds = only(objects, 'DaemonSet', 'helm');
  assert.equal(ds.spec.template.spec.containers[0].image, 'ghcr.io/kepler-ts/kepler-ts:0.1.0');
  assert.match(ds.spec.template.metadata.annotations['checksum/config'], /^[0-9a-f]{64}$/);
});

test('charts/kepler-ts: privileged=false, serviceMonitor, legacyMetrics, extraArgs and config values', { skip: helmSkip }, () => {
  const objects = helmTemplate(
    'privileged=false',
    'serviceMonitor.enabled=true',
    'serviceMonitor.labels.release=prometheus',
    'legacyMetrics=true',
    'extraArgs={--log.level=debug}',
    'config.cpu.preferredMeters={estimator}',
    'config.kube.podInformer.mode=apiserver',
    'image.tag=1.2.3',
    'priorityClassName=system-node-critical',
  );
  checkDeployment(objects, 'helm template (unprivileged, ServiceMonitor)', {
    privileged: false,
    podInformer: 'apiserver',
    preferredMeters: ['estimator'],
    legacyMetrics: true,
    serviceMonitor: true,
  });
  const ds = only(objects, 'DaemonSet', 'helm');
  const pod = ds.spec.template.spec;
  assert.equal(pod.containers[0].image, 'ghcr.io/kepler-ts/kepler-ts:1.2.3');
  assert.equal(pod.containers[0].args.at(-1), '--log.level=debug');
  assert.equal(pod.priorityClassName, 'system-node-critical');
  assert.equal(only(objects, 'ServiceMonitor', 'helm').metadata.labels.release, 'prometheus');

  // The chart's own keys win over config: the mounts, the port and kube.enabled.
  const forced = helmTemplate('config.host.procfs=/proc', 'config.kube.enabled=false', 'config.web.listenAddresses={:9999}', 'service.port=9102');
  const cm = only(forced, 'ConfigMap', 'helm');
  const c = parseYaml(cm.data['config.yaml']) as Obj;
  assert.equal(c.host.procfs, '/host/proc');
  assert.equal(c.kube.enabled, true);
  assert.deepEqual(c.web.listenAddresses, [':9102']);
  assert.equal(only(forced, 'DaemonSet', 'helm').spec.template.spec.containers[0].ports[0].containerPort, 9102);
});

test('charts/kepler-ts: rbac.create=false and serviceAccount.create=false render neither', { skip: helmSkip }, () => {
  const objects = helmTemplate('rbac.create=false', 'serviceAccount.create=false', 'serviceAccount.name=kepler');
  assert.deepEqual(objects.map((o) => o.kind).sort(), ['ConfigMap', 'DaemonSet', 'Service']);
  validateAll(objects, 'helm template (no RBAC)');
  assert.equal(only(objects, 'DaemonSet', 'helm').spec.template.spec.serviceAccountName, 'kepler');
});

// ---------------------------------------------------------------------------------------------
// Dockerfile

interface Instruction {
  op: string;
  args: string;
}

/** Instructions with continuation lines joined and comments dropped. */
function dockerInstructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = '';
  for (const line of text.split('\n')) {
    if (/^\s*#/.test(line) && pending === '') continue;
    const joined = pending + line.replace(/\\\s*$/, '');
    if (/\\\s*$/.test(line)) {
      pending = `${joined} `;
      continue;
    }
    pending = '';
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(joined);
    if (m) out.push({ op: m[1].toUpperCase(), args: m[2].trim() });
  }
  return out;
}

/** .dockerignore: last matching pattern wins; a pattern matching a parent folder matches its files. */
function dockerIgnored(patterns: string[], path: string): boolean {
  const toRegex = (p: string): RegExp =>
    new RegExp(
      `^${p
        .replace(/\/+$/, '')
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*\*\/?/g, '\u0000')
        .replace(/\*/g, '[^/]*')
        .replace(/\?/g, '[^/]')
        // eslint-disable-next-line no-control-regex -- NUL is the placeholder for ** put in above
        .replace(/\u0000/g, '(?:.*/)?')}$`,
    );
  const parts = path.split('/');
  const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  let ignored = false;
  for (const raw of patterns) {
    const negate = raw.startsWith('!');
    const re = toRegex(negate ? raw.slice(1) : raw);
    if (prefixes.some((p) => re.test(p))) ignored = !negate;
  }
  return ignored;
}

test('Dockerfile: multi-stage, non-root, port 28282, runs dist/src/cli/main.js; what it copies exists', () => {
  const steps = dockerInstructions(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
  const froms = steps.filter((s) => s.op === 'FROM');
  assert.ok(froms.length >= 2, 'multi-stage: at least two FROM');
  assert.match(froms[0].args, /^node:20[-.\w]*\s+AS\s+build$/i, 'build stage on node:20');
  const runtimeAt = steps.lastIndexOf(froms.at(-1) as Instruction);
  const runtime = steps.slice(runtimeAt);
  const build = steps.slice(0, runtimeAt);
  assert.ok(
    build.some((s) => s.op === 'RUN' && /\bnpm ci\b/.test(s.args)),
    'npm ci',
  );
  assert.ok(
    build.some((s) => s.op === 'RUN' && /\bnpm run build\b/.test(s.args)),
    'npm run build',
  );
  assert.ok(
    build.some((s) => s.op === 'RUN' && /\bnpm prune --omit=dev\b/.test(s.args)),
    'npm prune --omit=dev',
  );

  const user = runtime.filter((s) => s.op === 'USER').at(-1);
  assert.ok(user, 'runtime stage has no USER');
  assert.doesNotMatch(user.args, /^(0|root)(:|$)/, 'runtime user is root');
  assert.ok(
    runtime.some((s) => s.op === 'EXPOSE' && s.args.split(/\s+/).includes('28282')),
    'EXPOSE 28282',
  );
  const entrypoint = runtime.filter((s) => s.op === 'ENTRYPOINT').at(-1);
  assert.ok(entrypoint, 'no ENTRYPOINT');
  const argv = JSON.parse(entrypoint.args) as string[];
  assert.match(argv[0], /(^|\/)node(js)?$/);
  assert.equal(argv[1], 'dist/src/cli/main.js');
  assert.equal(runtime.filter((s) => s.op === 'WORKDIR').at(-1)?.args, '/app');

  // The build context: every COPY source exists and .dockerignore lets it in.
  const ignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  for (const s of build.filter((x) => x.op === 'COPY' && !x.args.startsWith('--from'))) {
    const sources = s.args.split(/\s+/).slice(0, -1);
    for (const src of sources) {
      const rel = src.replace(/^\.\//, '').replace(/\/$/, '');
      assert.ok(existsSync(join(ROOT, rel)), `COPY ${src}: not in the repository`);
      assert.ok(!dockerIgnored(ignore, rel), `COPY ${src}: excluded by .dockerignore`);
    }
  }
  for (const p of ['src/cli/main.ts', 'package.json', 'package-lock.json', 'scripts/build-info.mjs', 'test/integration/deploy.test.ts']) {
    assert.ok(!dockerIgnored(ignore, p), `${p} excluded by .dockerignore`);
  }
  for (const p of ['node_modules/yaml/package.json', 'dist/src/cli/main.js', 'src/node_modules/x', '.git/HEAD', 'README.md']) {
    assert.ok(dockerIgnored(ignore, p), `${p} not excluded by .dockerignore`);
  }

  // The runtime stage copies from the build stage what `npm run build` made here.
  const fromBuild = runtime.filter((s) => s.op === 'COPY' && s.args.startsWith('--from=build'));
  const copied = fromBuild.map((s) =>
    s.args
      .split(/\s+/)[1]
      .replace(/^\/src\//, '')
      .replace(/\/$/, ''),
  );
  assert.deepEqual(copied.sort(), ['dist/build-info.json', 'dist/src', 'node_modules', 'package.json']);
  for (const p of copied) assert.ok(existsSync(join(ROOT, p)), `${p}: not built (run npm run build first)`);
});

test('Dockerfile: the runtime stage layout (package.json, node_modules, dist/src, dist/build-info.json) starts the exporter', () => {
  // The same files in a folder of their own, as the image's /app has them.
  const app = mkdtempSync(join(tmpdir(), 'kepler-ts-image-'));
  try {
    cpSync(join(ROOT, 'package.json'), join(app, 'package.json'));
    cpSync(join(ROOT, 'dist', 'src'), join(app, 'dist', 'src'), { recursive: true });
    cpSync(join(ROOT, 'dist', 'build-info.json'), join(app, 'dist', 'build-info.json'));
    symlinkSync(join(ROOT, 'node_modules'), join(app, 'node_modules'), 'dir');
    const r = spawnSync(process.execPath, ['dist/src/cli/main.js', '--version'], { cwd: app, encoding: 'utf8' });
    assert.equal(r.status, 0, `node dist/src/cli/main.js --version: ${r.stderr}`);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.ok(r.stdout.includes(pkg.version), `--version printed ${JSON.stringify(r.stdout)}`);
  } finally {
    rmSync(app, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------------------------
// aether with the Kepler source plugin (deploy/aether): an image and values for aether's chart

test('deploy/aether/Dockerfile: Node.js 20 with aether and the bundled plugin in /plugins/sources', () => {
  const steps = dockerInstructions(readFileSync(join(ROOT, 'deploy', 'aether', 'Dockerfile'), 'utf8'));
  const froms = steps.filter((s) => s.op === 'FROM');
  const last = froms.at(-1);
  assert.ok(last, 'the Dockerfile has a FROM');
  assert.match(last.args, /^node:20[-.\w]*$/, 'the final stage has Node.js (and /usr/bin/env) for the shebang');
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const build = steps.find((s) => s.op === 'RUN' && /\bnpm run (\S+)/.test(s.args));
  assert.ok(build, 'the Dockerfile runs an npm script');
  const run = /\bnpm run (\S+)/.exec(build.args);
  assert.ok(run);
  const script = run[1];
  assert.ok(pkg.scripts[script], `npm run ${script}: no such script`);
  // What the plugin stage copies in exists here; the bundle it makes is what it copies out.
  for (const s of steps.filter((x) => x.op === 'COPY' && !x.args.startsWith('--from'))) {
    for (const src of s.args.split(/\s+/).slice(0, -1)) assert.ok(existsSync(join(ROOT, src)), `COPY ${src}: not in the repository`);
  }
  const plugin = steps.find((s) => s.op === 'COPY' && /\/plugins\/sources\//.test(s.args));
  assert.ok(plugin, "the plugin goes to aether's default plugins.sourceDir");
  const built = plugin.args.split(/\s+/)[1].replace(/^\/src\//, '');
  assert.ok(existsSync(join(ROOT, built)), `${built}: not built by npm run build`);
  assert.ok(
    steps.some((s) => s.op === 'COPY' && /^--from=aether\s/.test(s.args)),
    "aether's binary comes from its image",
  );
  const user = steps.filter((s) => s.op === 'USER').at(-1);
  assert.ok(user && !/^(0|root)(:|$)/.test(user.args), 'runs as a non-root user');
});

test("deploy/aether/values.yaml: the plugin environment it sets loads, and INTERVAL equals aether's scrapingInterval", async () => {
  const { loadAetherSourceConfig } = await import('../../src/aether/config.js');
  const values = parseYaml(readFileSync(join(ROOT, 'deploy', 'aether', 'values.yaml'), 'utf8')) as Obj;
  const env = Object.fromEntries((values.env as { name: string; value: string }[]).map((e) => [e.name, e.value]));
  const config = loadAetherSourceConfig(env);
  assert.equal(config.intervalMs, 5 * 60_000);
  assert.equal(env.INTERVAL, values.config.providersConfig.scrapingInterval);
  assert.deepEqual(values.plugins.sources, [], 'a download list would mount an empty folder over the baked-in plugin');
  assert.ok(values.image.repository, 'an image with Node.js is required');
});
