// Test helper: the real tools the deployment tests render with: helm (from PATH, else the binary
// that @aws-cdk/asset-kubectl-v20 ships) and kubectl's kustomize, run from the repository root;
// and the DaemonSet of a rendering, as the GPU, Redfish and VM passthrough deployment tests read it.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateRawSync } from 'node:zlib';
import { parseAllDocuments } from 'yaml';
import { ConfigMap, type IConfigMap, type IContainer, type IPodSpec, type IVolume } from 'kubernetes-models/v1';
import { DaemonSet, type IDaemonSet } from 'kubernetes-models/apps/v1';
import type { Config } from '../../src/config/config.js';
import { loadConfig } from '../../src/config/load.js';

/** The repository root: compiled to dist/test/support/, the manifests stay in the source tree. */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface ExecResult {
  status: number | null;
  stdout: string;
  stderr: string;
  error?: Error;
}

/** Runs a command in the repository root, synchronously. */
export function exec(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): ExecResult {
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', env, maxBuffer: 64 << 20 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', ...(r.error ? { error: r.error } : {}) };
}

let kubectlOk = false;
/** Fails with what to do when kubectl is missing or its kustomize is too old for deploy/. */
export function requireKubectl(): void {
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

/** The helm binary; undefined when there is none (the tests that need it are skipped, saying why). */
export const HELM = findHelm();
export const HELM_MISSING = 'helm is not on PATH and @aws-cdk/asset-kubectl-v20 (linux x64) is not installed';

/** Runs helm with a throwaway home (no repositories, no cache shared between runs). */
export function helmRun(args: string[]): ExecResult {
  assert.ok(HELM, HELM_MISSING);
  const home = mkdtempSync(join(tmpdir(), 'kepler-ts-helm-'));
  try {
    return exec(HELM, args, { ...process.env, HELM_CACHE_HOME: home, HELM_CONFIG_HOME: home, HELM_DATA_HOME: home });
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// The DaemonSet of a rendering (the chart's or an overlay's), checked against the Kubernetes
// schema, with its config.yaml loaded as the pod loads it.

/** A rendering's DaemonSet, its pod, the exporter's container, and its config.yaml. */
export interface RenderedDaemonSet {
  ds: IDaemonSet;
  pod: IPodSpec;
  /** The exporter's container. */
  exporter: IContainer;
  configYaml: string;
  /** What was rendered, for messages. */
  source: string;
}

/** `helm template` of the chart with `--set` values and values files (relative to the repository). */
export function helmArgs(set: string[], files: string[] = []): string[] {
  return ['template', 'kepler-ts', 'charts/kepler-ts', '--namespace', 'kepler', ...files.flatMap((f) => ['-f', f]), ...set.flatMap((v) => ['--set', v])];
}

/** The one DaemonSet and the one ConfigMap of rendered manifests, each valid. */
export function pickDaemonSet(text: string, source: string): RenderedDaemonSet {
  const docs = parseAllDocuments(text).map((d) => {
    assert.deepEqual(
      d.errors.map((e) => e.message),
      [],
      `${source}: invalid YAML`,
    );
    return d.toJS() as { kind?: string } | null;
  });
  const ds = docs.filter((d) => d?.kind === 'DaemonSet');
  const cms = docs.filter((d) => d?.kind === 'ConfigMap');
  assert.equal(ds.length, 1, `${source}: one DaemonSet`);
  assert.equal(cms.length, 1, `${source}: one ConfigMap`);
  try {
    new DaemonSet(ds[0] as never).validate();
    new ConfigMap(cms[0] as never).validate();
  } catch (e) {
    assert.fail(`${source}: not valid: ${(e as Error).message}`);
  }
  const daemonSet = ds[0] as IDaemonSet;
  const pod = daemonSet.spec?.template.spec;
  assert.ok(pod, `${source}: no pod spec`);
  assert.equal(pod.containers.length, 1, `${source}: one container`);
  const configYaml = (cms[0] as IConfigMap).data?.['config.yaml'];
  assert.ok(configYaml !== undefined, `${source}: ConfigMap without config.yaml`);
  return { ds: daemonSet, pod, exporter: pod.containers[0], configYaml, source };
}

/** The chart's rendered text; fails with helm's output when it does not render. */
export function helmText(set: string[], files: string[] = []): string {
  const args = helmArgs(set, files);
  const r = helmRun(args);
  assert.equal(r.status, 0, `helm ${args.join(' ')} failed:\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

export function helmDaemonSet(set: string[], files: string[] = []): RenderedDaemonSet {
  return pickDaemonSet(helmText(set, files), `helm ${helmArgs(set, files).slice(1).join(' ')}`);
}

/** An overlay's DaemonSet, rendered by kubectl kustomize (without a warning). */
export function kustomizeDaemonSet(dir: string): RenderedDaemonSet {
  requireKubectl();
  const r = exec('kubectl', ['kustomize', dir]);
  assert.equal(r.status, 0, `kubectl kustomize ${dir} failed:\n${r.stderr}`);
  assert.equal(r.stderr.trim(), '', `kubectl kustomize ${dir} warned:\n${r.stderr}`);
  return pickDaemonSet(r.stdout, dir);
}

/** config.yaml loaded as the pod loads it: the DaemonSet's args, NODE_NAME expanded; no warnings. */
export function loadPodConfig(r: RenderedDaemonSet): Config {
  const env: Record<string, string> = { NODE_NAME: 'node-1' };
  const args = (r.exporter.args ?? []).map((a) => a.replace(/\$\((\w+)\)/g, (whole, name: string) => env[name] ?? whole));
  const loaded = loadConfig(args, env, (path) => {
    assert.equal(path, '/etc/kepler/config.yaml');
    return r.configYaml;
  });
  if (loaded.kind !== 'run') return assert.fail(`${r.source}: config: ${loaded.kind}`);
  assert.deepEqual(loaded.warnings, [], `${r.source}: config warnings`);
  return loaded.config;
}

export const volumeOf = (r: RenderedDaemonSet, name: string): IVolume | undefined => r.pod.volumes?.find((v) => v.name === name);
