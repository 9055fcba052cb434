// The Kubernetes deployment: the kustomize manifests under deploy/, the Helm chart under
// charts/kepler-ts/ and the Dockerfile. Renders them with the real tools (kubectl kustomize, helm
// template), validates every object against the Kubernetes schemas (kubernetes-models, whose
// validators check types, required fields and formats, but not unknown fields: Kubernetes' schemas
// allow them), then checks what an SRE would check: RBAC, host mounts, probes, resources,
// privileges, selectors, and that the config file loads with the exporter's own loader.
// A Kepler user changes the image and nothing else: the chart takes Kepler's own values file
// (test/fixtures/helm/kepler-values.yaml) and puts each value where Kepler's chart does, and the
// image has the /usr/bin/kepler that Kepler's chart and manifests run (bin/kepler.cjs).
//
// kubectl: Debian bookworm has no `kubectl` package, only `kubernetes-client` (1.20), whose
// kustomize is too old for components; the machines of this project come with a kubectl >= 1.21.
// helm: not in Debian. Taken from PATH, else from the devDependency @aws-cdk/asset-kubectl-v20,
// which ships the official helm 3.8.1 linux-amd64 binary in a zip (extracted once into
// node_modules/.cache). Elsewhere the chart gets the static checks only.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { ConfigMap, Namespace, Service, ServiceAccount } from 'kubernetes-models/v1';
import { DaemonSet } from 'kubernetes-models/apps/v1';
import { ClusterRole, ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import type { Config } from '../../src/config/config.js';
import { loadConfig } from '../../src/config/load.js';
import { exec, HELM, HELM_MISSING, helmRun, requireKubectl, ROOT } from '../support/deployTools.js';

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
  ['networking.k8s.io/v1/NetworkPolicy', NetworkPolicy],
]);

// ---------------------------------------------------------------------------------------------
// Rendering

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
  /**
   * Rendered with Kepler's values: its tolerations (the control plane's taints, not every taint),
   * its probes (/probe/livez and /probe/readyz) and the resources it was given, which the test
   * checks itself. Otherwise kepler-ts's own: every taint, /healthz, resources from the benchmark.
   */
  keplerValues?: boolean;
  /** The container's port, where the exporter listens: 28282 unless said. */
  containerPort?: number;
}

/** Checks a rendered deployment; returns the configuration its pods load. */
function checkDeployment(objects: Obj[], source: string, want: Expect): Config {
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
  if (!want.keplerValues) {
    assert.ok(
      (pod.tolerations as Obj[] | undefined)?.some((t) => t.operator === 'Exists' && t.key === undefined && t.effect === undefined),
      `${source}: no toleration of every taint`,
    );
  }

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
  assert.equal(port.containerPort, want.containerPort ?? 28282, `${source}: containerPort`);
  if (want.keplerValues) {
    assert.deepEqual(c.livenessProbe?.httpGet, { path: '/probe/livez', port: 'http' }, `${source}: livenessProbe`);
    assert.deepEqual(c.readinessProbe?.httpGet, { path: '/probe/readyz', port: 'http' }, `${source}: readinessProbe`);
  } else {
    for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
      assert.deepEqual(c[probe]?.httpGet, { path: '/healthz', port: 'http' }, `${source}: ${probe}`);
    }
  }

  // Requests and limits, sized from the README's Performance figures: 2.3 % of a core and
  // 107-109 MiB resident at 5,000 processes. The requests cover that; the limits are above them.
  const res = c.resources as Obj;
  for (const r of ['cpu', 'memory']) {
    assert.ok(res?.requests?.[r] !== undefined, `${source}: no ${r} request`);
    assert.ok(res?.limits?.[r] !== undefined, `${source}: no ${r} limit`);
    assert.ok(quantity(res.requests[r]) <= quantity(res.limits[r]), `${source}: ${r} request above the limit`);
  }
  if (!want.keplerValues) {
    assert.ok(quantity(res.requests.cpu) >= 0.023, `${source}: cpu request ${res.requests.cpu} below the 23m measured at 5,000 processes`);
    assert.ok(quantity(res.requests.memory) >= 110 * 1024 ** 2, `${source}: memory request ${res.requests.memory} below the 109 MiB measured at 5,000 processes`);
    assert.ok(quantity(res.limits.memory) >= 2 * 109 * 1024 ** 2, `${source}: memory limit ${res.limits.memory}: less than twice the measured 109 MiB`);
  }

  // Privileges.
  const sc = (c.securityContext ?? {}) as Obj;
  const podSc = (pod.securityContext ?? {}) as Obj;
  assert.equal(sc.readOnlyRootFilesystem, true, `${source}: readOnlyRootFilesystem`);
  if (want.privileged) {
    assert.equal(sc.privileged, true, `${source}: RAPL needs privileged`);
    assert.equal(sc.runAsUser ?? podSc.runAsUser, 0, `${source}: RAPL needs root, said here rather than left to the image's default user`);
  } else {
    // The image's default user is root (for Kepler's chart, which sets none): what runs
    // unprivileged must name its own user and group.
    assert.notEqual(sc.privileged, true, `${source}: privileged`);
    assert.equal(sc.runAsNonRoot ?? podSc.runAsNonRoot, true, `${source}: runAsNonRoot`);
    const uid = sc.runAsUser ?? podSc.runAsUser;
    assert.ok(typeof uid === 'number' && uid > 0, `${source}: runAsUser ${uid}: the image's default user is root`);
    const gid = sc.runAsGroup ?? podSc.runAsGroup;
    assert.ok(typeof gid === 'number' && gid > 0, `${source}: runAsGroup ${gid}: the image's default group is root`);
    assert.equal(sc.allowPrivilegeEscalation, false, `${source}: allowPrivilegeEscalation`);
    assert.deepEqual(sc.capabilities?.drop, ['ALL'], `${source}: capabilities not dropped`);
    assert.equal(sc.capabilities?.add, undefined, `${source}: capabilities added`);
  }

  // Service: selects the DaemonSet's pods, port http (28282) to the container's port.
  const svc = only(objects, 'Service', source);
  assert.equal(svc.metadata.namespace, ns, `${source}: Service namespace`);
  assert.ok(Object.keys(svc.spec.selector ?? {}).length > 0, `${source}: Service without a selector`);
  assert.ok(subset(svc.spec.selector, ds.spec.template.metadata.labels), `${source}: the Service does not select the DaemonSet's pods`);
  const svcPort = (svc.spec.ports as Obj[]).find((p) => p.name === 'http');
  assert.ok(svcPort, `${source}: Service without a port named http`);
  assert.equal(svcPort.port, 28282, `${source}: Service port`);
  assert.ok(svcPort.targetPort === 'http' || svcPort.targetPort === port.containerPort, `${source}: Service targetPort ${svcPort.targetPort}`);

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
  if (loaded.kind !== 'run') return assert.fail(`${source}: config: ${loaded.kind}`);
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
  return config;
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
    'deploy/overlays/gpu', // deployGpu.test.ts
    'deploy/overlays/vm-guest',
    'deploy/overlays/vm-host', // deployPassthrough.test.ts
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

const KEPLER_VALUES = 'test/fixtures/helm/kepler-values.yaml';
const KEPLER_USER_VALUES = 'test/fixtures/helm/kepler-user-values.yaml';

/** The top-level names daemonset.* keys had before the chart took Kepler's layout; still read, and they win. */
const ALIASES = [
  'privileged',
  'securityContext',
  'podSecurityContext',
  'resources',
  'tolerations',
  'nodeSelector',
  'affinity',
  'priorityClassName',
  'podLabels',
  'podAnnotations',
  'updateStrategy',
  'extraArgs',
  'extraEnv',
];

test("charts/kepler-ts: Chart.yaml and values.yaml parse; values.yaml has every key of Kepler's, and the templates use only values that exist", () => {
  const chart = parseYaml(readFileSync(join(CHART, 'Chart.yaml'), 'utf8')) as Obj;
  assert.equal(chart.apiVersion, 'v2');
  assert.equal(chart.name, 'kepler-ts');
  assert.match(String(chart.version), /^\d+\.\d+\.\d+$/);
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  assert.equal(chart.appVersion, pkg.version, 'appVersion (the default image tag) is the package version');

  const values = parseYaml(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as Obj;
  // Kepler's layout is the primary one: every key of Kepler's values file is one here, down to where
  // either side holds a value, or a mapping of the user's choosing (null or {} here: securityContext,
  // labels, a probe). config is the exporter's, checked by its loader.
  const kepler = parseYaml(readFileSync(join(ROOT, KEPLER_VALUES), 'utf8')) as Obj;
  const walk = (theirs: Obj, ours: Obj, prefix: string): void => {
    for (const [key, value] of Object.entries(theirs)) {
      const path = `${prefix}${key}`;
      assert.ok(key in ours, `values.yaml lacks Kepler's ${path}`);
      const mine = ours[key];
      if (path === 'config' || mine === null || (isMapping(mine) && Object.keys(mine).length === 0)) continue;
      if (isMapping(value) && Object.keys(value).length > 0) {
        assert.ok(isMapping(mine), `values.yaml: ${path} is not a mapping, as in Kepler's values`);
        walk(value, mine, `${path}.`);
      }
    }
  };
  walk(kepler, values, '');
  for (const key of ['imagePullSecrets', 'legacyMetrics', 'daemonset.privileged', 'daemonset.podSecurityContext', 'daemonset.updateStrategy', 'daemonset.extraArgs']) {
    assert.ok(valueAt(values, key) !== undefined, `values.yaml lacks ${key}`);
  }
  // The earlier names: null, so that one a user sets is told from the default, and each names a daemonset.* key.
  for (const alias of ALIASES) {
    assert.ok(alias in values && values[alias] === null, `values.yaml: the alias ${alias} is not null`);
    assert.ok(alias in values.daemonset, `values.yaml: the alias ${alias} names no daemonset.${alias}`);
  }
  assert.equal(values.service.port, 28282);
  assert.equal(values.serviceMonitor.enabled, false);

  const refs = valuesReferences();
  assert.ok(refs.length > 20, `only ${refs.length} .Values references found`);
  for (const { file, path } of refs) {
    let node: unknown = values;
    // Below config are the exporter's keys (Kepler's), which values.yaml need not list.
    for (const part of (path.startsWith('config.') ? 'config' : path).split('.')) {
      assert.ok(node !== null && typeof node === 'object' && part in (node as Obj), `templates/${file}: .Values.${path} is not in values.yaml`);
      node = (node as Obj)[part];
    }
  }
});

function isMapping(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function valueAt(o: Obj, dotted: string): unknown {
  return dotted.split('.').reduce<unknown>((node, key) => (isMapping(node) ? node[key] : undefined), o);
}

const helmSkip = HELM ? false : `${HELM_MISSING}: static chart checks only`;

function helm(args: string[]): string {
  const r = helmRun(args);
  assert.equal(r.status, 0, `helm ${args.join(' ')} failed:\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

interface Render {
  release?: string;
  namespace?: string;
  /** Values files, relative to the repository, in order. */
  files?: string[];
  set?: string[];
}

function helmArgs({ release = 'kepler-ts', namespace = 'kepler', files = [], set = [] }: Render): string[] {
  return ['template', release, 'charts/kepler-ts', '--namespace', namespace, ...files.flatMap((f) => ['-f', f]), ...set.flatMap((v) => ['--set', v])];
}

function helmRender(render: Render): Obj[] {
  const args = helmArgs(render);
  return parseObjects(helm(args), `helm ${args.join(' ')}`);
}

const helmTemplate = (...set: string[]): Obj[] => helmRender({ set });

/**
 * A Kepler user's move: Kepler's values file (and their own over it), the image changed and nothing
 * else, rendered as `helm template kepler charts/kepler-ts -f ... --namespace monitoring`.
 */
const renderWithKeplerValues = (files: string[], ...set: string[]): Obj[] =>
  helmRender({ release: 'kepler', namespace: 'monitoring', files: [KEPLER_VALUES, ...files], set: ['image.repository=ghcr.io/kepler-ts/kepler-ts', ...set] });

/** Kepler's selector labels for a release named kepler: what its DaemonSet selects, and its ServiceMonitors and any selector written for it. */
const KEPLER_SELECTOR = { 'app.kubernetes.io/name': 'kepler', 'app.kubernetes.io/instance': 'kepler' };

const CLUSTER_SCOPED = ['Namespace', 'ClusterRole', 'ClusterRoleBinding'];

const readValues = (file: string): Obj => parseYaml(readFileSync(join(ROOT, file), 'utf8')) as Obj;

test("charts/kepler-ts: helm lint --strict, with its own values and with a Kepler user's", { skip: helmSkip }, () => {
  helm(['lint', '--strict', 'charts/kepler-ts']);
  helm(['lint', '--strict', 'charts/kepler-ts', '-f', KEPLER_VALUES, '-f', KEPLER_USER_VALUES]);
});

test('charts/kepler-ts: the default values render a privileged DaemonSet for RAPL, RBAC and a Service', { skip: helmSkip }, () => {
  const objects = helmTemplate();
  checkDeployment(objects, 'helm template (defaults)', RAPL);
  assert.deepEqual(objects.map((o) => o.kind).sort(), ['ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'DaemonSet', 'Service', 'ServiceAccount']);
  const ds = only(objects, 'DaemonSet', 'helm');
  assert.equal(ds.spec.template.spec.containers[0].image, 'ghcr.io/kepler-ts/kepler-ts:0.1.0');
  assert.match(ds.spec.template.metadata.annotations['checksum/config'], /^[0-9a-f]{64}$/);
  // Kepler's two selector labels exactly: a selector with more would not survive an upgrade from Kepler's chart.
  assert.deepEqual(ds.spec.selector.matchLabels, { 'app.kubernetes.io/name': 'kepler-ts', 'app.kubernetes.io/instance': 'kepler-ts' });
  assert.equal(ds.metadata.labels['app.kubernetes.io/component'], 'exporter');
  for (const o of objects) assert.equal(o.metadata.namespace ?? 'kepler', 'kepler', `${describe(o)}: not in the release namespace`);
});

test('charts/kepler-ts: daemonset.privileged=false, serviceMonitor, legacyMetrics, extraArgs and config values', { skip: helmSkip }, () => {
  const objects = helmTemplate(
    'daemonset.privileged=false',
    'serviceMonitor.enabled=true',
    'serviceMonitor.labels.release=prometheus',
    'legacyMetrics=true',
    'daemonset.extraArgs={--log.level=debug}',
    'config.cpu.preferredMeters={estimator}',
    'config.kube.podInformer.mode=apiserver',
    'image.tag=1.2.3',
    'daemonset.priorityClassName=system-node-critical',
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
  const sm = only(objects, 'ServiceMonitor', 'helm');
  assert.equal(sm.metadata.labels.release, 'prometheus');
  // No scrapeTimeout by default: Prometheus's own is never above the interval; 10s would be above Kepler's 5s.
  assert.deepEqual(sm.spec.endpoints, [{ port: 'http', path: '/metrics', interval: '30s', honorLabels: false }]);

  // The chart's own keys win over config: the mounts and kube.enabled. legacyMetrics in config stays.
  const forced = helmTemplate('config.host.procfs=/proc', 'config.kube.enabled=false', 'config.exporter.prometheus.legacyMetrics=true');
  const c = parseYaml(only(forced, 'ConfigMap', 'helm').data['config.yaml']) as Obj;
  assert.equal(c.host.procfs, '/host/proc');
  assert.equal(c.kube.enabled, true);
  assert.equal(c.exporter.prometheus.legacyMetrics, true);
});

test('charts/kepler-ts: rbac.create=false and serviceAccount.create=false render neither', { skip: helmSkip }, () => {
  const objects = helmTemplate('rbac.create=false', 'serviceAccount.create=false', 'serviceAccount.name=kepler');
  assert.deepEqual(objects.map((o) => o.kind).sort(), ['ConfigMap', 'DaemonSet', 'Service']);
  validateAll(objects, 'helm template (no RBAC)');
  assert.equal(only(objects, 'DaemonSet', 'helm').spec.template.spec.serviceAccountName, 'kepler');
});

test("charts/kepler-ts: Kepler's values file as it is, the image changed, puts each value where Kepler's chart does", { skip: helmSkip }, () => {
  const source = 'helm template kepler -f kepler-values.yaml';
  const kepler = readValues(KEPLER_VALUES);
  const objects = renderWithKeplerValues([]);
  // Kepler's config.yaml loads without a warning: every key of Kepler's is one of the exporter's.
  const config = checkDeployment(objects, source, { ...RAPL, keplerValues: true });
  assert.deepEqual(objects.map((o) => o.kind).sort(), ['ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'DaemonSet', 'Service', 'ServiceAccount']);
  for (const o of objects) if (!CLUSTER_SCOPED.includes(o.kind)) assert.equal(o.metadata.namespace, 'monitoring', `${describe(o)}: namespace`);

  const ds = only(objects, 'DaemonSet', source);
  const pod = ds.spec.template.spec;
  const c = pod.containers[0];
  assert.equal(c.image, 'ghcr.io/kepler-ts/kepler-ts:0.1.0', 'image.tag "": the chart\'s appVersion');
  assert.equal(c.imagePullPolicy, kepler.image.pullPolicy);
  assert.deepEqual(pod.tolerations, kepler.daemonset.tolerations);
  assert.equal(pod.hostPID, kepler.daemonset.hostPID);
  assert.equal(pod.hostUsers, kepler.daemonset.hostUsers);
  for (const [key, value] of Object.entries(kepler.daemonset.securityContext as Obj)) {
    assert.deepEqual(c.securityContext[key], value, `the container's securityContext.${key}`);
  }
  assert.equal(pod.securityContext, undefined, "Kepler's securityContext is the container's, not the pod's");
  assert.deepEqual(c.livenessProbe, kepler.daemonset.livenessProbe);
  assert.deepEqual(c.readinessProbe, kepler.daemonset.readinessProbe);
  assert.equal(c.startupProbe, undefined, "Kepler's startupProbe: {} is none");
  // Kepler's resources: {} leaves kepler-ts's own, from the benchmark.
  assert.deepEqual(c.resources, readValues('charts/kepler-ts/values.yaml').daemonset.resources);
  assert.equal(pod.serviceAccountName, kepler.serviceAccount.name);
  assert.equal(only(objects, 'ServiceAccount', source).metadata.name, kepler.serviceAccount.name);

  const svc = only(objects, 'Service', source);
  assert.equal(svc.spec.type, kepler.service.type);
  assert.equal(svc.spec.clusterIP, undefined, "not headless: Kepler's Service has an address, which cannot change in an upgrade");
  assert.deepEqual(svc.spec.ports, [{ name: 'http', port: kepler.service.port, targetPort: kepler.service.targetPort, protocol: kepler.service.protocol }]);

  // config.yaml: Kepler's values, with what the chart's DaemonSet needs.
  assert.equal(config.log.level, kepler.config.log.level);
  assert.equal(config.monitor.maxTerminated, kepler.config.monitor.maxTerminated);
  assert.deepEqual(config.web.listenAddresses, kepler.config.web.listenAddresses);
  assert.equal(config.experimental.platform.redfish.configFile, kepler.config.experimental.platform.redfish.configFile);
  assert.deepEqual(config.experimental.hwmon.chipRules, []);
  assert.equal(config.experimental.gpu.dcgmEndpoint, '');
  assert.equal(config.kube.enabled, true, 'Kepler passes --kube.enable; the chart sets it in config.yaml');

  // Without nameOverride the names are kepler-ts's: Kepler's selectors do not select these pods.
  assert.equal(ds.metadata.name, 'kepler-kepler-ts');
  assert.ok(!subset(KEPLER_SELECTOR, ds.spec.template.metadata.labels), "Kepler's selector selects the pods without nameOverride=kepler");

  // Kepler's ServiceMonitor and NetworkPolicy, switched on with Kepler's own settings for them.
  const more = renderWithKeplerValues([], 'serviceMonitor.enabled=true', 'networkPolicy.enabled=true');
  validateAll(more, `${source} (ServiceMonitor, NetworkPolicy)`);
  const sm = only(more, 'ServiceMonitor', source);
  assert.deepEqual(sm.spec.endpoints, [{ port: 'http', path: kepler.serviceMonitor.path, interval: kepler.serviceMonitor.interval, honorLabels: false }]);
  const np = only(more, 'NetworkPolicy', source);
  assert.equal(np.metadata.name, 'kepler-kepler-ts-network-policy');
  assert.equal(np.metadata.namespace, 'monitoring');
  assert.deepEqual(np.spec.podSelector, { matchLabels: only(more, 'DaemonSet', source).spec.selector.matchLabels });
  assert.deepEqual(np.spec.policyTypes, ['Egress', 'Ingress']);
  assert.deepEqual(np.spec.ingress, kepler.networkPolicy.ingress);
  assert.deepEqual(np.spec.egress, kepler.networkPolicy.egress);
});

test("charts/kepler-ts: nameOverride=kepler gives Kepler's names and selector labels, which Kepler's selectors and ServiceMonitors select", { skip: helmSkip }, () => {
  const source = 'helm template kepler -f kepler-values.yaml --set nameOverride=kepler';
  const objects = renderWithKeplerValues([], 'nameOverride=kepler', 'serviceMonitor.enabled=true');
  checkDeployment(objects, source, { ...RAPL, keplerValues: true, serviceMonitor: true });
  // As Kepler's chart names them for a release named kepler (its ServiceAccount from serviceAccount.name: kepler).
  for (const kind of ['DaemonSet', 'Service', 'ConfigMap', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'ServiceMonitor']) {
    assert.equal(only(objects, kind, source).metadata.name, 'kepler', `${kind} name`);
  }
  for (const o of objects) assert.equal(o.metadata.labels?.['app.kubernetes.io/name'], 'kepler', `${describe(o)}: app.kubernetes.io/name`);
  const ds = only(objects, 'DaemonSet', source);
  // A DaemonSet's selector cannot change: helm upgrade from Kepler's chart needs exactly Kepler's.
  assert.deepEqual(ds.spec.selector.matchLabels, KEPLER_SELECTOR);
  assert.ok(subset(KEPLER_SELECTOR, ds.spec.template.metadata.labels), "Kepler's selector does not select the pods");
  const svc = only(objects, 'Service', source);
  assert.deepEqual(svc.spec.selector, KEPLER_SELECTOR);
  assert.ok(subset(KEPLER_SELECTOR, svc.metadata.labels), 'a ServiceMonitor written for Kepler does not select the Service');
  assert.deepEqual(only(objects, 'ServiceMonitor', source).spec.selector.matchLabels, KEPLER_SELECTOR);
  assert.equal(ds.spec.template.spec.containers[0].name, 'kepler');
  assert.equal((ds.spec.template.spec.volumes as Obj[]).find((v) => v.configMap)?.configMap.name, 'kepler');

  // Another release name: <release>-kepler, as in Kepler's chart.
  const other = helmRender({ release: 'power', files: [KEPLER_VALUES], set: ['nameOverride=kepler'] });
  const otherDs = only(other, 'DaemonSet', 'helm template power');
  assert.equal(otherDs.metadata.name, 'power-kepler');
  assert.deepEqual(otherDs.spec.selector.matchLabels, { 'app.kubernetes.io/name': 'kepler', 'app.kubernetes.io/instance': 'power' });
  assert.equal(only(other, 'ConfigMap', 'helm template power').metadata.name, 'power-kepler');
});

test("charts/kepler-ts: a Kepler user's values (namespace, labels, ServiceMonitor, NetworkPolicy, ...) land where Kepler's chart puts them", { skip: helmSkip }, () => {
  const source = 'helm template kepler -f kepler-values.yaml -f kepler-user-values.yaml';
  const user = readValues(KEPLER_USER_VALUES);
  const objects = renderWithKeplerValues([KEPLER_USER_VALUES], 'nameOverride=kepler');
  const config = checkDeployment(objects, source, { ...RAPL, keplerValues: true, serviceMonitor: true });

  // namespace.create: the Namespace, and every namespaced object in it, whatever --namespace said.
  const ns = only(objects, 'Namespace', source);
  assert.equal(ns.metadata.name, user.namespace.name);
  for (const o of objects) if (!CLUSTER_SCOPED.includes(o.kind)) assert.equal(o.metadata.namespace, user.namespace.name, `${describe(o)}: namespace`);
  assert.equal(only(objects, 'ClusterRoleBinding', source).subjects[0].namespace, user.namespace.name);

  // labels and annotations: on every object and on the pods.
  const ds = only(objects, 'DaemonSet', source);
  for (const [what, meta] of [...objects.map((o) => [describe(o), o.metadata] as const), ['the pod template', ds.spec.template.metadata] as const]) {
    assert.ok(subset(user.labels, meta.labels), `${what}: labels ${JSON.stringify(meta.labels)} lack ${JSON.stringify(user.labels)}`);
    assert.ok(subset(user.annotations, meta.annotations), `${what}: annotations ${JSON.stringify(meta.annotations)} lack ${JSON.stringify(user.annotations)}`);
  }

  const pod = ds.spec.template.spec;
  const c = pod.containers[0];
  assert.equal(c.image, `${user.image.repository}:${user.image.tag}`);
  assert.deepEqual(pod.tolerations, user.daemonset.tolerations);
  assert.deepEqual(pod.affinity, user.daemonset.affinity);
  assert.ok(subset(user.daemonset.nodeSelector, pod.nodeSelector), `nodeSelector ${JSON.stringify(pod.nodeSelector)}`);
  assert.deepEqual(c.resources, user.daemonset.resources);
  assert.deepEqual(c.startupProbe, user.daemonset.startupProbe, "a probe given replaces the chart's whole (a tcpSocket probe with an httpGet is invalid)");
  assert.equal(pod.hostUsers, true);
  assert.equal(c.securityContext.runAsNonRoot, false);

  const svc = only(objects, 'Service', source);
  assert.equal(svc.spec.type, user.service.type);
  assert.deepEqual(svc.spec.ports, [{ name: 'http', port: 28282, targetPort: user.service.targetPort, protocol: user.service.protocol }]);

  const sm = only(objects, 'ServiceMonitor', source);
  assert.equal(sm.spec.endpoints[0].path, user.serviceMonitor.path);
  assert.equal(sm.spec.endpoints[0].interval, user.serviceMonitor.interval);
  assert.equal(sm.spec.endpoints[0].scrapeTimeout, undefined);
  assert.ok(subset(user.serviceMonitor.labels, sm.metadata.labels), 'serviceMonitor.labels');
  assert.ok(subset(user.serviceMonitor.annotations, sm.metadata.annotations), 'serviceMonitor.annotations');

  const np = only(objects, 'NetworkPolicy', source);
  assert.equal(np.metadata.name, 'kepler-network-policy');
  assert.deepEqual(np.spec.podSelector.matchLabels, KEPLER_SELECTOR);
  assert.ok(subset(np.spec.podSelector.matchLabels, ds.spec.template.metadata.labels), 'the NetworkPolicy does not select the pods');
  assert.deepEqual(np.spec.policyTypes, ['Egress', 'Ingress']);
  assert.deepEqual(np.spec.ingress, user.networkPolicy.ingress);
  assert.deepEqual(np.spec.egress, user.networkPolicy.egress);

  // config: the user's keys over Kepler's.
  assert.equal(config.log.level, user.config.log.level);
  assert.equal(config.monitor.intervalMs, 10_000);
  assert.equal(config.monitor.maxTerminated, 100, "Kepler's, which the user did not change");
});

test("charts/kepler-ts: kepler-ts's own defaults where Kepler's chart has none or hard-codes one", { skip: helmSkip }, () => {
  // A NetworkPolicy that leaves egress open (the exporter needs the kubelet or the API server) and
  // admits the container's port by name, wherever it listens.
  const objects = helmTemplate('networkPolicy.enabled=true');
  validateAll(objects, 'helm template (NetworkPolicy)');
  const np = only(objects, 'NetworkPolicy', 'helm');
  assert.deepEqual(np.spec.policyTypes, ['Ingress']);
  assert.deepEqual(np.spec.ingress, [{ ports: [{ protocol: 'TCP', port: 'http' }] }]);
  assert.equal(np.spec.egress, undefined);

  // Headless on request.
  assert.equal(only(helmTemplate('service.clusterIP=None'), 'Service', 'helm').spec.clusterIP, 'None');

  // Where the exporter listens is where the container port is: the first listen address...
  const listen = helmTemplate('config.web.listenAddresses={:9102}');
  const config = checkDeployment(listen, 'helm template (listen :9102)', { ...RAPL, containerPort: 9102 });
  assert.deepEqual(config.web.listenAddresses, [':9102']);
  const keplerListen = renderWithKeplerValues([], 'config.web.listenAddresses={0.0.0.0:9300}');
  assert.equal(only(keplerListen, 'DaemonSet', 'helm').spec.template.spec.containers[0].ports[0].containerPort, 9300, "Kepler's chart would keep 28282");
  // An address with spaces around it, which the exporter's loader (and Kepler's) trims.
  const spacedDir = mkdtempSync(join(tmpdir(), 'kepler-ts-listen-'));
  const spaced = join(spacedDir, 'values.yaml');
  writeFileSync(spaced, 'config:\n  web:\n    listenAddresses: [" :9102 "]\n');
  assert.equal(only(helmRender({ files: [spaced] }), 'DaemonSet', 'helm').spec.template.spec.containers[0].ports[0].containerPort, 9102);
  rmSync(spacedDir, { recursive: true, force: true });
  // ...else service.port, which the exporter is then told to listen on.
  const port = helmTemplate('service.port=9200');
  assert.equal(only(port, 'DaemonSet', 'helm').spec.template.spec.containers[0].ports[0].containerPort, 9200);
  assert.deepEqual((parseYaml(only(port, 'ConfigMap', 'helm').data['config.yaml']) as Obj).web.listenAddresses, [':9200']);
  const bad = helmRun(helmArgs({ set: ['config.web.listenAddresses={localhost}'] }));
  assert.notEqual(bad.status, 0, 'a listen address without a port renders');
  assert.match(bad.stderr, /config\.web\.listenAddresses\[0\]: "localhost": expected \[host\]:port/);

  // updateStrategy OnDelete drops the default rollingUpdate, which the API server would refuse with it.
  assert.deepEqual(only(helmTemplate('daemonset.updateStrategy.type=OnDelete'), 'DaemonSet', 'helm').spec.updateStrategy, { type: 'OnDelete' });
});

test('charts/kepler-ts: the earlier top-level names (tolerations, resources, privileged, ...) still work and win over daemonset.*', { skip: helmSkip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'kepler-ts-aliases-'));
  try {
    // Kepler's values set daemonset.*; daemonset.* keys are also set here; the aliases must win.
    const aliases = {
      daemonset: {
        priorityClassName: 'low',
        extraArgs: ['--log.level=warn'],
        podLabels: { tier: 'daemonset' },
        securityContext: { seLinuxOptions: { type: 'daemonset_t' } },
        podSecurityContext: { supplementalGroups: [1] },
      },
      tolerations: [{ operator: 'Exists' }],
      nodeSelector: { disktype: 'ssd' },
      affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'power', operator: 'Exists' }] }] } } },
      resources: { requests: { cpu: '50m', memory: '200Mi' }, limits: { cpu: '1', memory: '400Mi' } },
      securityContext: { seLinuxOptions: { type: 'spc_t' } },
      podSecurityContext: { supplementalGroups: [44] },
      priorityClassName: 'system-node-critical',
      podLabels: { tier: 'power' },
      podAnnotations: { 'example.com/scrape': 'false' },
      updateStrategy: { type: 'OnDelete' },
      extraArgs: ['--log.level=debug'],
      extraEnv: [{ name: 'TZ', value: 'UTC' }],
    };
    const file = join(dir, 'aliases.yaml');
    writeFileSync(file, JSON.stringify(aliases));
    const source = 'helm template -f kepler-values.yaml -f aliases.yaml';
    const objects = renderWithKeplerValues([file]);
    validateAll(objects, source);
    const ds = only(objects, 'DaemonSet', source);
    const pod = ds.spec.template.spec;
    const c = pod.containers[0];
    assert.deepEqual(pod.tolerations, aliases.tolerations);
    assert.deepEqual(pod.nodeSelector, aliases.nodeSelector, 'an alias replaces: no kubernetes.io/os from the defaults');
    assert.deepEqual(pod.affinity, aliases.affinity);
    assert.deepEqual(c.resources, aliases.resources);
    // securityContext keys are set over the daemonset.* ones: Kepler's privileged and runAsNonRoot stay.
    assert.deepEqual(c.securityContext.seLinuxOptions, aliases.securityContext.seLinuxOptions);
    assert.equal(c.securityContext.privileged, true);
    assert.equal(c.securityContext.runAsNonRoot, false);
    assert.deepEqual(pod.securityContext.supplementalGroups, [44]);
    assert.equal(pod.priorityClassName, aliases.priorityClassName);
    assert.equal(ds.spec.template.metadata.labels.tier, 'power');
    assert.equal(ds.spec.template.metadata.annotations['example.com/scrape'], 'false');
    assert.deepEqual(ds.spec.updateStrategy, aliases.updateStrategy);
    assert.equal(c.args.at(-1), '--log.level=debug');
    assert.ok(!c.args.includes('--log.level=warn'), `args ${c.args.join(' ')}`);
    assert.deepEqual(
      (c.env as Obj[]).find((e) => e.name === 'TZ'),
      aliases.extraEnv[0],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  // privileged: the alias wins over daemonset.privileged, either way round.
  checkDeployment(helmTemplate('daemonset.privileged=true', 'privileged=false'), 'helm template (privileged=false)', { ...RAPL, privileged: false });
  checkDeployment(helmTemplate('daemonset.privileged=false', 'privileged=true'), 'helm template (privileged=true)', RAPL);
  checkDeployment(helmTemplate('daemonset.privileged=false'), 'helm template (daemonset.privileged=false)', { ...RAPL, privileged: false });
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

/** The Dockerfile's instructions, split into the build stages and the runtime (last) stage. */
function dockerStages(): { build: Instruction[]; runtime: Instruction[]; froms: Instruction[] } {
  const steps = dockerInstructions(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
  const froms = steps.filter((s) => s.op === 'FROM');
  const runtimeAt = steps.lastIndexOf(froms.at(-1) as Instruction);
  return { build: steps.slice(0, runtimeAt), runtime: steps.slice(runtimeAt), froms };
}

/** The node binary the image runs: the ENTRYPOINT's first word. */
function entrypointNode(runtime: Instruction[]): string {
  const entrypoint = runtime.filter((s) => s.op === 'ENTRYPOINT').at(-1);
  assert.ok(entrypoint, 'no ENTRYPOINT');
  return (JSON.parse(entrypoint.args) as string[])[0];
}

test("Dockerfile: multi-stage, root by default (for Kepler's chart), port 28282, runs dist/src/cli/main.js; what it copies exists", () => {
  const { build, runtime, froms } = dockerStages();
  assert.ok(froms.length >= 2, 'multi-stage: at least two FROM');
  assert.match(froms[0].args, /^node:20[-.\w]*\s+AS\s+build$/i, 'build stage on node:20');
  assert.ok(
    build.some((s) => s.op === 'RUN' && /\bnpm ci\b/.test(s.args)),
    'npm ci',
  );
  assert.ok(
    build.some((s) => s.op === 'RUN' && /\bnpm run build\b/.test(s.args)),
    'npm run build',
  );
  // What ships is /app as scripts/image/bundle.mjs makes it from that build (the app bundled, no
  // dev dependency, no source maps or type declarations: imageLayout() below checks its content).
  const bundleAt = build.findIndex((s) => s.op === 'RUN' && /\bnode scripts\/image\/bundle\.mjs\s+\S+/.test(s.args));
  assert.ok(bundleAt >= 0, 'the build stage runs scripts/image/bundle.mjs');
  assert.ok(bundleAt > build.findIndex((s) => s.op === 'RUN' && /\bnpm run build\b/.test(s.args)), 'after the build');
  assert.ok(bundleAt > build.findIndex((s) => s.op === 'RUN' && /\bscripts\/image\/stamp-build-info\.mjs\b/.test(s.args)), 'after build-info.json is stamped');

  // Kepler's chart and manifests run the image privileged but set no runAsUser, and RAPL's
  // energy_uj is readable by root only: under any other default user they silently estimate.
  const user = runtime.filter((s) => s.op === 'USER').at(-1);
  assert.ok(user, 'runtime stage has no USER');
  assert.match(user.args, /^(0|root)(:(0|root))?$/, `runtime user ${user.args}: Kepler's chart needs root by default to read RAPL`);
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

  // The runtime stage copies, from the build stage, the base, the /app that bundle.mjs made, and the links.
  const fromBuild = runtime.filter((s) => s.op === 'COPY' && s.args.startsWith('--from=build '));
  assert.deepEqual(
    fromBuild.map((s) => s.args.split(/\s+/).slice(1).join(' ')),
    ['/rootfs/ /', `${bundledApp(build)}/ /app/`, '/out/usr/bin/ /usr/bin/'],
  );
});

/** The folder the build stage's scripts/image/bundle.mjs makes /app in. */
function bundledApp(build: Instruction[]): string {
  for (const s of build.filter((x) => x.op === 'RUN')) {
    const m = /\bnode scripts\/image\/bundle\.mjs\s+(\S+)/.exec(s.args);
    if (m) return m[1].replace(/\/$/, '');
  }
  assert.fail('the build stage does not run scripts/image/bundle.mjs');
}

/**
 * The runtime stage's /app in a folder of its own, made by scripts/image/bundle.mjs from this
 * build (dist/, node_modules) as the Dockerfile's build stage makes it: package.json, bin/, dist/src
 * (the bundle), dist/page, dist/build-info.json, node_modules (koffi alone).
 */
function imageLayout(): string {
  const app = join(mkdtempSync(join(tmpdir(), 'kepler-ts-image-')), 'app');
  const r = spawnSync(process.execPath, ['scripts/image/bundle.mjs', app], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, `scripts/image/bundle.mjs: ${r.stdout}${r.stderr}`);
  const files = (readdirSync(app, { recursive: true }) as string[]).filter((f) => statSync(join(app, f)).isFile());
  for (const f of ['package.json', 'bin/kepler.cjs', 'dist/src/cli/main.js', 'dist/src/server/bcryptWorker.js', 'dist/src/NOTICES', 'dist/page/app.js', 'dist/build-info.json']) {
    assert.ok(files.includes(f), `${f}: not in the image's /app`);
  }
  assert.deepEqual(
    files.filter((f) => /\.(map|d\.[cm]?ts|ts)$/.test(f)),
    [],
    'no source maps or type declarations ship',
  );
  assert.deepEqual(readdirSync(join(app, 'node_modules')).sort(), ['@koromix', 'koffi'], 'node_modules: koffi alone (the rest is bundled)');
  return app;
}

const removeLayout = (app: string) => rmSync(dirname(app), { recursive: true, force: true });

test('Dockerfile: the runtime stage layout (scripts/image/bundle.mjs: package.json, node_modules, dist/src, dist/build-info.json) starts the exporter', () => {
  const app = imageLayout();
  try {
    const r = spawnSync(process.execPath, ['dist/src/cli/main.js', '--version'], { cwd: app, encoding: 'utf8' });
    assert.equal(r.status, 0, `node dist/src/cli/main.js --version: ${r.stderr}`);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.ok(r.stdout.includes(pkg.version), `--version printed ${JSON.stringify(r.stdout)}`);
  } finally {
    removeLayout(app);
  }
});

test("Dockerfile: /usr/bin/kepler (the command of Kepler's chart and manifests) and /usr/bin/kepler-ts are links to bin/kepler.cjs, run by the ENTRYPOINT's node", () => {
  const { build, runtime } = dockerStages();
  // The links are made in the build stage (the runtime stage has no shell)...
  const links = new Map<string, string>();
  for (const s of build.filter((x) => x.op === 'RUN')) {
    for (const m of s.args.matchAll(/\bln -s\s+(\S+)\s+(\S+)/g)) links.set(m[2], m[1]);
  }
  const workdir = runtime.filter((s) => s.op === 'WORKDIR').at(-1)?.args;
  const launcher = `${workdir}/bin/kepler.cjs`;
  // ...and copied as the contents of their folder: COPY keeps links inside a copied folder, but
  // copies a link named as the source itself as a plain file, which would not find ../dist.
  const provided = new Map<string, string>();
  for (const s of runtime.filter((x) => x.op === 'COPY' && x.args.startsWith('--from=build '))) {
    const [, from, to] = s.args.split(/\s+/);
    for (const [link, target] of links) {
      if (from.endsWith('/') && dirname(link) === from.replace(/\/$/, '')) provided.set(`${to.replace(/\/$/, '')}/${link.slice(from.length)}`, target);
    }
  }
  for (const name of ['/usr/bin/kepler', '/usr/bin/kepler-ts']) assert.equal(provided.get(name), launcher, `${name}: not a link to ${launcher} in the image`);
  assert.ok(
    runtime.some((s) => s.op === 'COPY' && s.args === `--from=build ${bundledApp(build)}/ ${workdir}/`),
    `the runtime stage does not copy the bundle's app (bin/ included) to ${workdir}/`,
  );

  // The kernel runs the launcher with its shebang: the node of the ENTRYPOINT, the one the image has.
  const file = join(ROOT, 'bin', 'kepler.cjs');
  const shebang = readFileSync(file, 'utf8').split('\n')[0];
  assert.equal(shebang, `#!${entrypointNode(runtime)}`, 'the shebang is not the ENTRYPOINT node');
  assert.equal(statSync(file).mode & 0o111, 0o111, 'bin/kepler.cjs is not executable');
});

test('bin/kepler.cjs, called through a link named kepler or kepler-ts, runs the exporter with its arguments, exit codes and signals unchanged', async () => {
  const app = imageLayout();
  const usrBin = mkdtempSync(join(tmpdir(), 'kepler-ts-usr-bin-'));
  try {
    // As /usr/bin/kepler -> /app/bin/kepler.cjs in the image; run from another folder. A launcher
    // that loses its arguments starts the exporter instead: the timeout makes that a failure, not a hang.
    const run = (argv: string[]) => spawnSync(process.execPath, argv, { cwd: usrBin, encoding: 'utf8', timeout: 30_000, killSignal: 'SIGKILL' });
    const direct = (...args: string[]) => run([join(app, 'dist', 'src', 'cli', 'main.js'), ...args]);
    for (const name of ['kepler', 'kepler-ts']) {
      const link = join(usrBin, name);
      symlinkSync(join(app, 'bin', 'kepler.cjs'), link);
      for (const args of [['--version'], ['--help'], ['--no-such-flag'], ['--monitor.interval=forever']]) {
        const want = direct(...args);
        const got = run([link, ...args]);
        assert.equal(got.status, want.status, `${name} ${args.join(' ')}: exit code ${got.status}, ${want.status} from main.js; stderr ${got.stderr}`);
        assert.equal(got.stdout, want.stdout, `${name} ${args.join(' ')}: stdout`);
        assert.equal(got.stderr, want.stderr, `${name} ${args.join(' ')}: stderr`);
      }
      assert.equal(run([link, '--no-such-flag']).status, 2, 'a bad flag is a configuration error: exit code 2');
      assert.match(run([link, '--version']).stdout, /^kepler-ts \d+\.\d+\.\d+/);
    }

    // SIGTERM reaches the exporter's own handler: a clean stop, exit code 0, as the kubelet expects.
    const child = spawn(process.execPath, [join(usrBin, 'kepler'), '--cpu.preferred-meters=fake', '--web.listen-address=127.0.0.1:0', '--monitor.interval=1s'], {
      cwd: usrBin,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not started within 20 s:\n${output}`)), 20_000);
      const onData = (d: Buffer): void => {
        output += d.toString();
        if (output.includes('kepler-ts started')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      void exited.then(({ code }) => {
        clearTimeout(timer);
        reject(new Error(`exited with ${code} before starting:\n${output}`));
      });
    }).catch((e: unknown) => {
      child.kill('SIGKILL');
      throw e;
    });
    child.kill('SIGTERM');
    const { code, signal } = await exited;
    assert.deepEqual({ code, signal }, { code: 0, signal: null }, `SIGTERM: ${output}`);
    assert.match(output, /msg=stopping signal=SIGTERM/);
  } finally {
    rmSync(usrBin, { recursive: true, force: true });
    removeLayout(app);
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
