// NVIDIA GPUs in the deployment: the Helm chart's gpu.* values (and Kepler's own switch,
// config.experimental.gpu.enabled, with daemonset.nvidia.*), and deploy/overlays/gpu. RenderedDaemonSet with
// the real tools as in deploy.test.ts (helm template, kubectl kustomize), each DaemonSet checked
// against the Kubernetes schema, and config.yaml loaded with the exporter's own loader.
//
// How the exporter gets NVML: an init container, nvidia-libs, mounts the driver's root read-only
// and copies libnvidia-ml.so.1, that one file, into an emptyDir, which the exporter mounts at
// /usr/local/nvidia/lib64 with LD_LIBRARY_PATH pointing there. LD_LIBRARY_PATH on the driver's own
// folders would not do: they hold the driver's glibc, which the dynamic loader would then give
// Node.js itself at start (the last test shows it). The init script runs here too, with busybox sh
// where installed (the init image's shell), else /bin/sh, on fake driver trees.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { IContainer, IPodSpec } from 'kubernetes-models/v1';
import type { IDaemonSet } from 'kubernetes-models/apps/v1';
import { exec, HELM, HELM_MISSING, helmArgs, helmDaemonSet, helmRun, kustomizeDaemonSet, loadPodConfig, ROOT, volumeOf, type RenderedDaemonSet } from '../support/deployTools.js';

const KEPLER_VALUES = 'test/fixtures/helm/kepler-values.yaml';
const LIBRARY_DIR = '/usr/local/nvidia/lib64';
const GPU_ENV = ['NVIDIA_VISIBLE_DEVICES', 'NVIDIA_DRIVER_CAPABILITIES', 'LD_LIBRARY_PATH'];

// ---------------------------------------------------------------------------------------------
// Rendering: helm and kubectl found as deploy.test.ts finds them.

const helmSkip = HELM ? false : HELM_MISSING;

const envOf = (c: IContainer): Record<string, string | undefined> => Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value]));

/** Checks the GPU parts of a rendered DaemonSet; returns the nvidia-libs init container. */
function checkGpu(r: RenderedDaemonSet, want: { driverPath: string; image: string; visibleDevices?: string }): IContainer {
  const { pod, exporter, source } = r;
  assert.equal(loadPodConfig(r).experimental.gpu.enabled, true, `${source}: experimental.gpu.enabled`);

  // The init container: the driver's root read-only, the library volume writable.
  assert.deepEqual(
    (pod.initContainers ?? []).map((c) => c.name),
    ['nvidia-libs'],
    `${source}: init containers`,
  );
  const init = (pod.initContainers ?? [])[0];
  assert.equal(init.image, want.image, `${source}: nvidia-libs image`);
  assert.deepEqual(init.command?.slice(0, 2), ['sh', '-c'], `${source}: nvidia-libs command`);
  assert.deepEqual(
    init.volumeMounts?.map((m) => [m.name, m.mountPath, m.readOnly === true]),
    [
      ['nvidia-driver', '/driver', true],
      ['nvml', '/nvml', false],
    ],
    `${source}: nvidia-libs mounts`,
  );
  // A driver the GPU operator mounts on the host after the pod started must reach the waiting init container.
  assert.equal(init.volumeMounts?.find((m) => m.name === 'nvidia-driver')?.mountPropagation, 'HostToContainer', `${source}: the driver mount's propagation`);
  const initEnv = envOf(init);
  assert.equal(initEnv.DRIVER_ROOT, '/driver', `${source}: DRIVER_ROOT`);
  assert.equal(initEnv.NVML_DIR, '/nvml', `${source}: NVML_DIR`);
  assert.match(initEnv.NVML_LIBRARY_PATH ?? '', /^[^/:][^:]*(:[^:]+)*$/, `${source}: NVML_LIBRARY_PATH: folders under the driver's root`);
  assert.match(initEnv.NVML_WAIT_SECONDS ?? '', /^\d+$/, `${source}: NVML_WAIT_SECONDS`);
  // The exporter's own securityContext: privileged where it is (SELinux hosts), unprivileged where it is not.
  assert.deepEqual(init.securityContext, exporter.securityContext, `${source}: nvidia-libs securityContext`);
  assert.ok(init.resources?.limits?.memory !== undefined && init.resources.requests?.cpu !== undefined, `${source}: nvidia-libs resources`);

  // The volumes: the driver's root as a hostPath of no type (the pod must start on nodes without
  // it), the library in an emptyDir.
  const driver = volumeOf(r, 'nvidia-driver');
  assert.deepEqual(driver?.hostPath, { path: want.driverPath }, `${source}: the nvidia-driver volume: hostPath ${want.driverPath}, no type`);
  assert.ok(volumeOf(r, 'nvml')?.emptyDir, `${source}: the nvml volume is not an emptyDir`);

  // The exporter: the library read-only at LD_LIBRARY_PATH, the runtime's variables, never the driver's root.
  const env = envOf(exporter);
  assert.equal(env.NVIDIA_VISIBLE_DEVICES, want.visibleDevices ?? 'all', `${source}: NVIDIA_VISIBLE_DEVICES`);
  assert.equal(env.NVIDIA_DRIVER_CAPABILITIES, 'utility', `${source}: NVIDIA_DRIVER_CAPABILITIES`);
  assert.equal(env.LD_LIBRARY_PATH, LIBRARY_DIR, `${source}: LD_LIBRARY_PATH`);
  const mounts = exporter.volumeMounts ?? [];
  assert.deepEqual(
    mounts.filter((m) => m.name === 'nvml').map((m) => [m.mountPath, m.readOnly]),
    [[LIBRARY_DIR, true]],
    `${source}: the nvml volume in the exporter`,
  );
  assert.ok(!mounts.some((m) => m.name === 'nvidia-driver'), `${source}: the exporter mounts the driver's root`);
  // Every folder of LD_LIBRARY_PATH is an emptyDir only nvidia-libs writes: no driver glibc reaches Node.js.
  for (const dir of (env.LD_LIBRARY_PATH ?? '').split(':')) {
    const m = mounts.find((x) => x.mountPath === dir);
    assert.ok(m && volumeOf(r, m.name)?.emptyDir, `${source}: LD_LIBRARY_PATH folder ${dir} is not the nvml emptyDir`);
  }
  // The pod still measures the CPU: the host mounts are unchanged.
  for (const path of ['/host/proc', '/host/sys', '/etc/kepler'])
    assert.ok(
      mounts.some((m) => m.mountPath === path && m.readOnly === true),
      `${source}: ${path}`,
    );
  return init;
}

function checkNoGpu(r: RenderedDaemonSet): void {
  const { pod, exporter, source } = r;
  assert.equal(loadPodConfig(r).experimental.gpu.enabled, false, `${source}: experimental.gpu.enabled`);
  assert.equal(pod.initContainers, undefined, `${source}: init containers`);
  assert.equal(pod.runtimeClassName, undefined, `${source}: runtimeClassName`);
  assert.deepEqual(
    pod.volumes?.map((v) => v.name),
    ['proc', 'sys', 'config'],
    `${source}: volumes`,
  );
  const env = envOf(exporter);
  for (const name of GPU_ENV) assert.equal(env[name], undefined, `${source}: ${name}`);
}

/** The init script, as deploy/overlays/gpu/gpu.yaml has it (the chart's is checked to be the same). */
function overlayScript(): string {
  const patch = parseYaml(readFileSync(join(ROOT, 'deploy/overlays/gpu/gpu.yaml'), 'utf8')) as IDaemonSet;
  const script = patch.spec?.template.spec?.initContainers?.[0]?.command?.[2];
  assert.ok(script, 'deploy/overlays/gpu/gpu.yaml: no nvidia-libs script');
  return script;
}

// ---------------------------------------------------------------------------------------------
// Helm

test('charts/kepler-ts: no GPU by default: no init container, no driver volume, no NVIDIA variables, experimental.gpu off', { skip: helmSkip }, () => {
  checkNoGpu(helmDaemonSet([]));
  checkNoGpu(helmDaemonSet(['gpu.enabled=false']));
  // Kepler's values as they are: config.experimental.gpu.enabled false, daemonset.nvidia set.
  checkNoGpu(helmDaemonSet(['image.repository=ghcr.io/kepler-ts/kepler-ts'], [KEPLER_VALUES]));
});

test('charts/kepler-ts: gpu.enabled=true: experimental.gpu.enabled, the nvidia-libs init container, the driver hostPath, NVIDIA_* and LD_LIBRARY_PATH', { skip: helmSkip }, () => {
  const r = helmDaemonSet(['gpu.enabled=true']);
  const init = checkGpu(r, { driverPath: '/run/nvidia/driver', image: 'busybox:1.36.1' });
  assert.equal(envOf(init).NVML_LIBRARY_PATH, 'usr/lib64:usr/lib/x86_64-linux-gnu:usr/lib/aarch64-linux-gnu:lib64');
  assert.equal(envOf(init).NVML_WAIT_SECONDS, '300');
  assert.equal(r.pod.runtimeClassName, undefined, 'no runtimeClassName unless gpu.runtimeClassName');
  assert.equal(r.pod.hostPID, true);
  // config.yaml changed: the pods roll.
  const off = helmDaemonSet([]);
  assert.notEqual(r.ds.spec?.template.metadata?.annotations?.['checksum/config'], off.ds.spec?.template.metadata?.annotations?.['checksum/config'], 'checksum/config');

  // Every gpu.* value lands where it is meant to.
  const custom = helmDaemonSet([
    'gpu.enabled=true',
    'gpu.driverPath=/',
    'gpu.libraryPath=usr/lib/x86_64-linux-gnu',
    'gpu.visibleDevices=0\\,1',
    'gpu.runtimeClassName=nvidia',
    'gpu.driverWaitSeconds=0',
    'daemonset.nvidia.nvmlInitImage.repository=registry.example.com/busybox',
    'daemonset.nvidia.nvmlInitImage.tag=1.37.0',
  ]);
  const customInit = checkGpu(custom, { driverPath: '/', image: 'registry.example.com/busybox:1.37.0', visibleDevices: '0,1' });
  assert.equal(envOf(customInit).NVML_LIBRARY_PATH, 'usr/lib/x86_64-linux-gnu');
  assert.equal(envOf(customInit).NVML_WAIT_SECONDS, '0');
  assert.equal(custom.pod.runtimeClassName, 'nvidia');

  // Unprivileged: nvidia-libs runs unprivileged too, as user 65532, all capabilities dropped.
  const unprivileged = helmDaemonSet(['gpu.enabled=true', 'daemonset.privileged=false']);
  const u = checkGpu(unprivileged, { driverPath: '/run/nvidia/driver', image: 'busybox:1.36.1' });
  assert.equal(u.securityContext?.privileged, false);
  assert.equal(u.securityContext?.runAsUser, 65532);
  assert.deepEqual(u.securityContext?.capabilities?.drop, ['ALL']);

  // The user's extraEnv still comes after the chart's variables.
  const extra = helmDaemonSet(['gpu.enabled=true', 'daemonset.extraEnv[0].name=TZ', 'daemonset.extraEnv[0].value=UTC']);
  assert.deepEqual(
    extra.exporter.env?.map((e) => e.name),
    ['NODE_NAME', ...GPU_ENV, 'TZ'],
  );
});

test("charts/kepler-ts: Kepler's values with config.experimental.gpu.enabled and daemonset.nvidia.driverPath turn the same deployment on", { skip: helmSkip }, () => {
  const kepler = parseYaml(readFileSync(join(ROOT, KEPLER_VALUES), 'utf8')) as { daemonset: { nvidia: { nvmlInitImage: { repository: string; tag: string } } } };
  const image = `${kepler.daemonset.nvidia.nvmlInitImage.repository}:${kepler.daemonset.nvidia.nvmlInitImage.tag}`;
  const base = ['image.repository=ghcr.io/kepler-ts/kepler-ts', 'config.experimental.gpu.enabled=true'];
  // Kepler's default driver path.
  checkGpu(helmDaemonSet(base, [KEPLER_VALUES]), { driverPath: '/run/nvidia/driver', image });
  // daemonset.nvidia.driverPath is gpu.driverPath's default...
  const custom = helmDaemonSet([...base, 'daemonset.nvidia.driverPath=/custom'], [KEPLER_VALUES]);
  checkGpu(custom, { driverPath: '/custom', image });
  // ...and gpu.driverPath, when set, wins.
  checkGpu(helmDaemonSet([...base, 'daemonset.nvidia.driverPath=/custom', 'gpu.driverPath=/opt/nvidia'], [KEPLER_VALUES]), { driverPath: '/opt/nvidia', image });
  // Kepler's other GPU keys stay in config.yaml as given.
  const config = loadPodConfig(custom);
  assert.equal(config.experimental.gpu.dcgmEndpoint, '');
  // Either switch gives the same DaemonSet.
  const bySwitch = helmDaemonSet(['config.experimental.gpu.enabled=true']);
  const byGpu = helmDaemonSet(['gpu.enabled=true']);
  assert.deepEqual(bySwitch.pod, byGpu.pod, 'config.experimental.gpu.enabled and gpu.enabled render different pods');
});

test('charts/kepler-ts: helm lint --strict with the GPU on; a relative driver path or a bad wait fails the render', { skip: helmSkip }, () => {
  for (const args of [
    ['lint', '--strict', 'charts/kepler-ts', '--set', 'gpu.enabled=true'],
    ['lint', '--strict', 'charts/kepler-ts', '-f', KEPLER_VALUES, '--set', 'config.experimental.gpu.enabled=true'],
  ]) {
    const r = helmRun(args);
    assert.equal(r.status, 0, `helm ${args.join(' ')}:\n${r.stdout}${r.stderr}`);
  }
  const relative = helmRun(helmArgs(['gpu.enabled=true', 'gpu.driverPath=run/nvidia/driver']));
  assert.notEqual(relative.status, 0);
  assert.match(relative.stderr, /gpu\.driverPath \(or daemonset\.nvidia\.driverPath\): "run\/nvidia\/driver": expected an absolute path/);
  const wait = helmRun(helmArgs(['gpu.enabled=true', 'gpu.driverWaitSeconds=soon']));
  assert.notEqual(wait.status, 0);
  assert.match(wait.stderr, /gpu\.driverWaitSeconds: "soon": expected a whole number of seconds/);
  // With the GPU off, the GPU values are not looked at.
  assert.equal(helmRun(helmArgs(['gpu.driverPath=relative'])).status, 0);
});

// ---------------------------------------------------------------------------------------------
// kustomize

test('deploy/overlays/gpu: the base with experimental.gpu.enabled, nvidia-libs, the driver hostPath, NVIDIA_* and LD_LIBRARY_PATH', () => {
  const gpu = kustomizeDaemonSet('deploy/overlays/gpu');
  checkGpu(gpu, { driverPath: '/run/nvidia/driver', image: 'busybox:1.36.1' });
  const base = kustomizeDaemonSet('deploy/base');
  checkNoGpu(base);

  // config.yaml: the base's, with experimental.gpu.enabled and nothing else changed.
  const theirs = parseYaml(base.configYaml) as Record<string, unknown>;
  const ours = parseYaml(gpu.configYaml) as Record<string, unknown>;
  assert.deepEqual(ours.experimental, { gpu: { enabled: true } });
  delete ours.experimental;
  assert.deepEqual(ours, theirs, 'deploy/overlays/gpu/config.yaml differs from deploy/base/config.yaml beyond experimental.gpu');

  // The DaemonSet: the base's, plus the GPU parts.
  const strip = (r: RenderedDaemonSet): IPodSpec => {
    const pod = structuredClone(r.pod);
    delete pod.initContainers;
    pod.volumes = pod.volumes?.filter((v) => v.name !== 'nvidia-driver' && v.name !== 'nvml');
    for (const c of pod.containers) {
      c.env = c.env?.filter((e) => !GPU_ENV.includes(e.name));
      c.volumeMounts = c.volumeMounts?.filter((m) => m.name !== 'nvml');
    }
    for (const v of pod.volumes ?? []) if (v.configMap) v.configMap.name = 'hashed';
    return pod;
  };
  assert.deepEqual(strip(gpu), strip(base), "the overlay changes the base's pod beyond the GPU parts");
});

test('deploy/overlays/gpu and the chart with gpu.enabled: the same init container, variables, mounts and driver path', { skip: helmSkip }, () => {
  const overlay = kustomizeDaemonSet('deploy/overlays/gpu');
  const chart = helmDaemonSet(['gpu.enabled=true']);
  const sorted = <T extends { name: string }>(xs: T[] | undefined): T[] => [...(xs ?? [])].sort((a, b) => a.name.localeCompare(b.name));
  assert.deepEqual(overlay.pod.initContainers, chart.pod.initContainers, 'nvidia-libs (the script included)');
  const gpuEnv = (r: RenderedDaemonSet) => sorted(r.exporter.env?.filter((e) => GPU_ENV.includes(e.name)));
  assert.deepEqual(gpuEnv(overlay), gpuEnv(chart));
  const gpuMounts = (r: RenderedDaemonSet) => r.exporter.volumeMounts?.filter((m) => m.name === 'nvml');
  assert.deepEqual(gpuMounts(overlay), gpuMounts(chart));
  const gpuVolumes = (r: RenderedDaemonSet) => sorted(r.pod.volumes?.filter((v) => v.name === 'nvidia-driver' || v.name === 'nvml'));
  assert.deepEqual(gpuVolumes(overlay), gpuVolumes(chart));
});

// ---------------------------------------------------------------------------------------------
// The nvidia-libs script, run on fake driver trees

/** busybox sh where installed (what the busybox image runs), else the system's POSIX sh. */
const SHELL: string[] = exec('busybox', ['sh', '-c', 'true']).status === 0 ? ['busybox', 'sh'] : ['/bin/sh'];

interface Tree {
  dir: string;
  root: string;
  out: string;
  pci: string;
  env: (extra?: Record<string, string>) => NodeJS.ProcessEnv;
}

function tree(): Tree {
  const dir = mkdtempSync(join(tmpdir(), 'kepler-ts-nvml-'));
  const root = join(dir, 'driver');
  const out = join(dir, 'nvml');
  const pci = join(dir, 'pci');
  for (const d of [root, out, pci]) mkdirSync(d);
  const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
    PATH: process.env.PATH,
    DRIVER_ROOT: root,
    NVML_DIR: out,
    NVML_LIBRARY_PATH: 'usr/lib64:usr/lib/x86_64-linux-gnu:usr/lib/aarch64-linux-gnu:lib64',
    NVML_WAIT_SECONDS: '0',
    PCI_DEVICES: pci,
    ...extra,
  });
  return { dir, root, out, pci, env };
}

function put(path: string, content: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
}

function pciDevice(t: Tree, address: string, vendor: string, cls: string): void {
  put(join(t.pci, address, 'vendor'), `${vendor}\n`);
  put(join(t.pci, address, 'class'), `${cls}\n`);
}

function runScript(script: string, env: NodeJS.ProcessEnv): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(SHELL[0], [...SHELL.slice(1), '-c', script], { encoding: 'utf8', env, timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('nvidia-libs script: copies libnvidia-ml.so.1 alone, through relative and absolute links, from the first folder that has it', () => {
  const script = overlayScript();
  const t = tree();
  try {
    // An Ubuntu driver container: a relative link, the driver's glibc next to it.
    const ubuntu = join(t.root, 'usr/lib/x86_64-linux-gnu');
    put(join(ubuntu, 'libnvidia-ml.so.550.54.15'), 'NVML 550 ubuntu');
    symlinkSync('libnvidia-ml.so.550.54.15', join(ubuntu, 'libnvidia-ml.so.1'));
    put(join(ubuntu, 'libc.so.6'), 'the driver container glibc');
    let r = runScript(script, t.env());
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(readdirSync(t.out), ['libnvidia-ml.so.1'], 'only the library is copied');
    assert.equal(readFileSync(join(t.out, 'libnvidia-ml.so.1'), 'utf8'), 'NVML 550 ubuntu');
    assert.match(r.stdout, /nvidia-libs: copied .*libnvidia-ml\.so\.550\.54\.15/);

    // A RHEL driver container: usr/lib64, first in the path, wins; its link is absolute, which
    // must resolve inside the driver's root, not in the init container's own /usr/lib64.
    const rhel = join(t.root, 'usr/lib64');
    put(join(rhel, 'real/libnvidia-ml.so.570.1'), 'NVML 570 rhel');
    symlinkSync('/usr/lib64/real/libnvidia-ml.so.570.1', join(rhel, 'libnvidia-ml.so.1'));
    rmSync(join(t.out, 'libnvidia-ml.so.1'));
    r = runScript(script, t.env());
    assert.equal(r.status, 0, r.stderr);
    assert.equal(readFileSync(join(t.out, 'libnvidia-ml.so.1'), 'utf8'), 'NVML 570 rhel');

    // The order of NVML_LIBRARY_PATH decides; a leading slash is read under the root too.
    r = runScript(script, t.env({ NVML_LIBRARY_PATH: '/usr/lib/x86_64-linux-gnu:usr/lib64' }));
    assert.equal(r.status, 0, r.stderr);
    assert.equal(readFileSync(join(t.out, 'libnvidia-ml.so.1'), 'utf8'), 'NVML 550 ubuntu');
  } finally {
    rmSync(t.dir, { recursive: true, force: true });
  }
});

test('nvidia-libs script: no NVIDIA GPU, or no driver after the wait: ends without error and copies nothing', () => {
  const script = overlayScript();
  const t = tree();
  try {
    // No NVIDIA device at all, or only an NVSwitch (a bridge, not a GPU): no wait even with a long one.
    pciDevice(t, '0000:00:02.0', '0x8086', '0x030000');
    pciDevice(t, '0000:05:00.0', '0x10de', '0x068000');
    const started = Date.now();
    let r = runScript(script, t.env({ NVML_WAIT_SECONDS: '600' }));
    assert.equal(r.status, 0, r.stderr);
    assert.ok(Date.now() - started < 5_000, 'waited on a node without an NVIDIA GPU');
    assert.match(r.stdout, /no NVIDIA GPU on this node/);
    assert.deepEqual(readdirSync(t.out), []);

    // An NVIDIA GPU (3D controller) and no driver: gives up after NVML_WAIT_SECONDS.
    pciDevice(t, '0000:17:00.0', '0x10de', '0x030200');
    r = runScript(script, t.env({ NVML_WAIT_SECONDS: '0' }));
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /no libnvidia-ml\.so\.1 in .* after 0s: no GPU power on this node/);
    assert.deepEqual(readdirSync(t.out), []);
  } finally {
    rmSync(t.dir, { recursive: true, force: true });
  }
});

test('nvidia-libs script: on a node with an NVIDIA GPU, waits for a driver that comes up after the pod', async () => {
  const script = overlayScript();
  const t = tree();
  try {
    pciDevice(t, '0000:17:00.0', '0x10de', '0x030200');
    const child = spawn(SHELL[0], [...SHELL.slice(1), '-c', script], { env: t.env({ NVML_WAIT_SECONDS: '60' }), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await new Promise((resolve) => setTimeout(resolve, 700));
    put(join(t.root, 'usr/lib64/libnvidia-ml.so.1'), 'NVML late');
    const started = Date.now();
    const code = await exited;
    clearTimeout(timer);
    assert.equal(code, 0, output);
    assert.ok(Date.now() - started < 10_000, 'took too long to notice the driver');
    assert.equal(readFileSync(join(t.out, 'libnvidia-ml.so.1'), 'utf8'), 'NVML late');
  } finally {
    rmSync(t.dir, { recursive: true, force: true });
  }
});

// glibc's loader, which looks for libc.so.6 in LD_LIBRARY_PATH first (musl's has no libc.so.6).
const glibc = process.platform === 'linux' && Boolean((process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime);

test("why a folder of its own: LD_LIBRARY_PATH on a driver's library folder hands Node.js the glibc found there", { skip: glibc ? false : 'not glibc' }, () => {
  const script = overlayScript();
  const t = tree();
  try {
    const lib = join(t.root, 'usr/lib/x86_64-linux-gnu');
    put(join(lib, 'libnvidia-ml.so.1'), 'NVML');
    put(join(lib, 'libc.so.6'), 'not the glibc Node.js was built against');
    assert.equal(runScript(script, t.env()).status, 0);
    const node = (ldLibraryPath: string) => spawnSync(process.execPath, ['-e', '0'], { encoding: 'utf8', env: { PATH: process.env.PATH, LD_LIBRARY_PATH: ldLibraryPath } });
    const direct = node(lib);
    assert.notEqual(direct.status, 0, 'Node.js started with the driver folder in LD_LIBRARY_PATH');
    assert.match(direct.stderr, /libc\.so\.6/);
    const copied = node(t.out);
    assert.equal(copied.status, 0, `Node.js with LD_LIBRARY_PATH=${t.out}: ${copied.stderr}`);
  } finally {
    rmSync(t.dir, { recursive: true, force: true });
  }
});
