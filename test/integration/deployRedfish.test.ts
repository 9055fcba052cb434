// Redfish (platform power from the BMC) in the Helm chart: redfish.* renders the BMC file into a
// Secret (never the ConfigMap: it holds passwords), mounts it read-only at /etc/kepler/redfish and
// points config.yaml at it; redfish.existingSecret mounts the user's Secret instead. Rendered with
// the real helm as in deploy.test.ts, each object checked against the Kubernetes schema, config.yaml
// loaded with the exporter's own loader and the BMC file with its own (config/redfishBmcs.ts).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ConfigMap, Secret, type IConfigMap, type IContainer, type IPodSpec, type ISecret, type IVolume } from 'kubernetes-models/v1';
import { DaemonSet, type IDaemonSet } from 'kubernetes-models/apps/v1';
import type { Config } from '../../src/config/config.js';
import { loadConfig } from '../../src/config/load.js';
import { bmcForNode, loadBmcFile } from '../../src/config/redfishBmcs.js';
import { HELM, HELM_MISSING, helmRun } from '../support/deployTools.js';

const KEPLER_VALUES = 'test/fixtures/helm/kepler-values.yaml';
const MOUNT = '/etc/kepler/redfish';
const PASSWORDS = ['pw-of-bmc-1', '0123'];
const skip = HELM ? false : HELM_MISSING;

const dir = mkdtempSync(join(tmpdir(), 'kepler-ts-redfish-chart-'));
test.after(() => {
  rmSync(dir, { recursive: true, force: true });
});
let n = 0;
function valuesFile(text: string): string {
  const path = join(dir, `values-${++n}.yaml`);
  writeFileSync(path, text);
  return path;
}

/** Two nodes on one BMC, a third on another; the second BMC's password is quoted, as values.yaml says to. */
const REDFISH_VALUES = `redfish:
  enabled: true
  pollInterval: 30s
  httpTimeout: 2s
  nodes: {node-1: bmc-1, node-2: bmc-1, node-3: bmc-2}
  bmcs:
    bmc-1: {endpoint: "https://10.0.0.5/", username: monitor, password: pw-of-bmc-1, insecure: false}
    bmc-2: {endpoint: "http://10.0.0.6:8000", username: "0042", password: "0123", insecure: true}
`;

interface Rendered {
  text: string;
  objects: { kind?: string; metadata?: { name?: string } }[];
  ds: IDaemonSet;
  pod: IPodSpec;
  exporter: IContainer;
  configMap: IConfigMap;
  secrets: ISecret[];
  source: string;
}

function render(files: string[], set: string[] = []): Rendered {
  const args = ['template', 'kepler-ts', 'charts/kepler-ts', '--namespace', 'kepler', ...files.flatMap((f) => ['-f', f]), ...set.flatMap((v) => ['--set', v])];
  const source = `helm ${args.slice(1).join(' ')}`;
  const r = helmRun(args);
  assert.equal(r.status, 0, `${source} failed:\n${r.stdout}${r.stderr}`);
  const objects = parseAllDocuments(r.stdout)
    .map((d) => {
      assert.deepEqual(
        d.errors.map((e) => e.message),
        [],
        `${source}: invalid YAML`,
      );
      return d.toJS() as { kind?: string } | null;
    })
    .filter((o): o is { kind?: string } => o !== null);
  const of = (kind: string) => objects.filter((o) => o.kind === kind);
  assert.equal(of('DaemonSet').length, 1, `${source}: one DaemonSet`);
  assert.equal(of('ConfigMap').length, 1, `${source}: one ConfigMap`);
  try {
    new DaemonSet(of('DaemonSet')[0] as never).validate();
    new ConfigMap(of('ConfigMap')[0] as never).validate();
    for (const s of of('Secret')) new Secret(s as never).validate();
  } catch (e) {
    assert.fail(`${source}: not valid: ${(e as Error).message}`);
  }
  const ds = of('DaemonSet')[0] as IDaemonSet;
  const pod = ds.spec?.template.spec;
  assert.ok(pod, `${source}: no pod spec`);
  return { text: r.stdout, objects, ds, pod, exporter: pod.containers[0], configMap: of('ConfigMap')[0] as IConfigMap, secrets: of('Secret') as ISecret[], source };
}

/** config.yaml loaded as the pod loads it (its args, NODE_NAME expanded); no warnings. */
function podConfig(r: Rendered): Config {
  const env: Record<string, string> = { NODE_NAME: 'node-1' };
  const args = (r.exporter.args ?? []).map((a) => a.replace(/\$\((\w+)\)/g, (whole, name: string) => env[name] ?? whole));
  const configYaml = r.configMap.data?.['config.yaml'];
  assert.ok(configYaml !== undefined, `${r.source}: ConfigMap without config.yaml`);
  const loaded = loadConfig(args, env, (path) => {
    assert.equal(path, '/etc/kepler/config.yaml');
    return configYaml;
  });
  if (loaded.kind !== 'run') return assert.fail(`${r.source}: config: ${loaded.kind}`);
  assert.deepEqual(loaded.warnings, [], `${r.source}: config warnings`);
  return loaded.config;
}

const redfishVolume = (r: Rendered): IVolume | undefined => r.pod.volumes?.find((v) => v.name === 'redfish');

/** The Secret mounted at /etc/kepler/redfish, read-only, in a volume of that Secret; returns the Secret's name. */
function checkMount(r: Rendered): string {
  const mount = r.exporter.volumeMounts?.find((m) => m.mountPath === MOUNT);
  assert.ok(mount, `${r.source}: nothing mounted at ${MOUNT}`);
  assert.equal(mount.readOnly, true, `${r.source}: ${MOUNT} is not read-only`);
  assert.equal(mount.subPath, undefined, `${r.source}: a subPath mount would not see the Secret change`);
  const volume = r.pod.volumes?.find((v) => v.name === mount.name);
  assert.ok(volume?.secret?.secretName, `${r.source}: ${MOUNT} is not a Secret volume`);
  assert.equal(volume.configMap, undefined);
  // Inside the ConfigMap's mount, which stays where Kepler's chart has it.
  assert.equal(r.exporter.volumeMounts?.find((m) => m.mountPath === '/etc/kepler')?.name, 'config');
  return volume.secret.secretName;
}

test('default values: no Secret, no BMC mount, Redfish off', { skip }, () => {
  const r = render([]);
  assert.deepEqual(r.secrets, []);
  assert.equal(redfishVolume(r), undefined);
  assert.equal(
    r.exporter.volumeMounts?.find((m) => m.mountPath === MOUNT),
    undefined,
  );
  assert.equal(r.ds.spec?.template.metadata?.annotations?.['checksum/redfish'], undefined);
  const c = podConfig(r).experimental.platform.redfish;
  assert.equal(c.enabled, false);
  assert.equal(c.pollIntervalMs, 10_000);
});

test('redfish.enabled: the BMC file in a Secret, mounted read-only, and config.yaml pointing at it', { skip }, () => {
  const r = render([valuesFile(REDFISH_VALUES)]);
  assert.equal(r.secrets.length, 1, `${r.source}: one Secret`);
  const secret = r.secrets[0];
  assert.equal(secret.metadata?.name, 'kepler-ts-redfish');
  assert.equal(secret.metadata?.namespace, 'kepler');
  assert.equal(secret.type, 'Opaque');
  assert.deepEqual(Object.keys(secret.data ?? {}), ['redfish.yaml']);
  assert.equal(checkMount(r), 'kepler-ts-redfish');

  const c = podConfig(r).experimental.platform.redfish;
  assert.deepEqual(c, { enabled: true, nodeName: '', configFile: `${MOUNT}/redfish.yaml`, httpTimeoutMs: 2000, pollIntervalMs: 30_000 });

  // The Secret's file is the one the exporter reads: its own loader takes it, each node finds its BMC.
  const file = join(dir, 'redfish.yaml');
  writeFileSync(file, Buffer.from(secret.data?.['redfish.yaml'] ?? '', 'base64'));
  const bmcs = loadBmcFile(file);
  assert.deepEqual(bmcs.warnings, []);
  assert.deepEqual(bmcForNode(bmcs, 'node-2', file), { id: 'bmc-1', endpoint: 'https://10.0.0.5', username: 'monitor', password: 'pw-of-bmc-1', insecure: false });
  // Quoted in the values, "0123" and "0042" stay strings through Helm.
  assert.deepEqual(bmcForNode(bmcs, 'node-3', file), { id: 'bmc-2', endpoint: 'http://10.0.0.6:8000', username: '0042', password: '0123', insecure: true });

  // No password anywhere but in the Secret's data: not in the ConfigMap, not in the DaemonSet.
  for (const o of r.objects) {
    if (o.kind === 'Secret') continue;
    const text = JSON.stringify(o);
    for (const pw of PASSWORDS) assert.ok(!text.includes(pw), `${r.source}: ${o.kind} ${o.metadata?.name} holds a password`);
  }
  assert.ok(!(r.configMap.data?.['config.yaml'] ?? '').includes('bmc-1'), 'the BMC file is not in config.yaml');
});

test('the pods roll when nodes or BMCs change, and the pod template holds no hash of a password', { skip }, () => {
  const checksum = (values: string) => render([valuesFile(values)]).ds.spec?.template.metadata?.annotations?.['checksum/redfish'];
  const base = checksum(REDFISH_VALUES);
  assert.match(base ?? '', /^[0-9a-f]{64}$/);
  assert.equal(checksum(REDFISH_VALUES.replace('pw-of-bmc-1', 'another-pw')), base, 'a password is not hashed into the pod template');
  assert.notEqual(checksum(REDFISH_VALUES.replace('10.0.0.5', '10.0.0.7')), base, 'a new endpoint rolls the pods');
  assert.notEqual(checksum(REDFISH_VALUES.replace('node-3: bmc-2', 'node-3: bmc-1')), base, 'a new node mapping rolls the pods');
});

test("redfish.existingSecret: the user's Secret is mounted, none is rendered", { skip }, () => {
  const r = render([], ['redfish.enabled=true', 'redfish.existingSecret=my-bmcs']);
  assert.deepEqual(r.secrets, []);
  assert.equal(checkMount(r), 'my-bmcs');
  assert.equal(r.ds.spec?.template.metadata?.annotations?.['checksum/redfish'], undefined);
  const c = podConfig(r).experimental.platform.redfish;
  assert.equal(c.enabled, true);
  assert.equal(c.configFile, `${MOUNT}/redfish.yaml`);
  assert.equal(c.pollIntervalMs, 10_000);
  assert.equal(c.httpTimeoutMs, 5000);
});

test('redfish.nodeName is written to config.yaml; unset, the pod looks itself up by its node name', { skip }, () => {
  const r = render([valuesFile(REDFISH_VALUES)], ['redfish.nodeName=node-3']);
  assert.equal(podConfig(r).experimental.platform.redfish.nodeName, 'node-3');
});

test("Kepler's values with config.experimental.platform.redfish.enabled: config.yaml as it is, as Kepler's chart writes it", { skip }, () => {
  const r = render([KEPLER_VALUES], ['config.experimental.platform.redfish.enabled=true', 'config.experimental.platform.redfish.httpTimeout=8s']);
  assert.deepEqual(r.secrets, []);
  assert.equal(redfishVolume(r), undefined);
  const c = podConfig(r).experimental.platform.redfish;
  assert.deepEqual(c, { enabled: true, nodeName: '', configFile: '/etc/kepler/redfish.yaml', httpTimeoutMs: 8000, pollIntervalMs: 10_000 });

  // With redfish.enabled too, the chart's file and timings win over Kepler's keys.
  const both = render([KEPLER_VALUES, valuesFile(REDFISH_VALUES)], ['config.experimental.platform.redfish.enabled=true']);
  assert.equal(checkMount(both), 'kepler-ts-redfish');
  assert.deepEqual(podConfig(both).experimental.platform.redfish, {
    enabled: true,
    nodeName: '',
    configFile: `${MOUNT}/redfish.yaml`,
    httpTimeoutMs: 2000,
    pollIntervalMs: 30_000,
  });
});

test('redfish values that cannot work stop helm with a message naming them', { skip }, () => {
  const fails = (set: string[], ...parts: string[]) => {
    const r = helmRun(['template', 'kepler-ts', 'charts/kepler-ts', ...set.flatMap((v) => ['--set', v])]);
    assert.notEqual(r.status, 0, `helm template ${set.join(' ')} succeeded`);
    for (const p of parts) assert.ok(r.stderr.includes(p), `${JSON.stringify(r.stderr)} lacks ${JSON.stringify(p)}`);
    for (const pw of PASSWORDS) assert.ok(!r.stderr.includes(pw), r.stderr);
  };
  fails(['redfish.enabled=true'], 'redfish.enabled', 'redfish.existingSecret');
  fails(['redfish.enabled=true', 'redfish.nodes.node-1=bmc-1'], 'redfish.nodes and redfish.bmcs');
  fails(['redfish.enabled=true', 'redfish.existingSecret=s', 'redfish.nodes.node-1=bmc-1', 'redfish.bmcs.bmc-1.password=pw-of-bmc-1'], 'expected one of them');
});

test('helm lint --strict with redfish values', { skip }, () => {
  for (const args of [
    ['-f', valuesFile(REDFISH_VALUES)],
    ['--set', 'redfish.enabled=true', '--set', 'redfish.existingSecret=my-bmcs'],
  ]) {
    const r = helmRun(['lint', '--strict', 'charts/kepler-ts', ...args]);
    assert.equal(r.status, 0, `helm lint ${args.join(' ')}:\n${r.stdout}${r.stderr}`);
  }
});
