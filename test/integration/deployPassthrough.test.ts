// Measured power inside VMs in the deployment (issue 17): the Helm chart's vmPassthrough.* (the
// hypervisor's kepler-ts writes each VM's powercap tree under vm.passthrough.dir) and passthrough.*
// (the guest's kepler-ts reads its own at passthrough.dir, the hypervisor's virtiofs share), and
// deploy/overlays/vm-host and deploy/overlays/vm-guest. RenderedDaemonSet with the real tools as in
// deploy.test.ts (helm template, kubectl kustomize), each DaemonSet and ConfigMap checked against
// the Kubernetes schema, and config.yaml loaded with the exporter's own loader.
//
// What is checked: the host's folder is mounted at its own path, read-write (the one host mount the
// exporter writes to), hostPath DirectoryOrCreate; the guest's at its own path, read-only, with
// HostToContainer propagation (the share may be mounted after the pod started), DirectoryOrCreate;
// config.yaml gets the keys and nothing else changes; with both off the chart renders exactly as
// when the values are not there at all, which is how it rendered before them.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse as parseYaml } from 'yaml';
import type { IPodSpec, IVolumeMount } from 'kubernetes-models/v1';
import { HELM, HELM_MISSING, helmArgs, helmDaemonSet, helmRun, helmText, kustomizeDaemonSet, loadPodConfig, volumeOf, type RenderedDaemonSet } from '../support/deployTools.js';

const KEPLER_VALUES = 'test/fixtures/helm/kepler-values.yaml';
const HOST_DIR = '/var/lib/libvirt/scaphandre';
const GUEST_DIR = '/var/scaphandre';
const HOST_VOLUME = 'vm-passthrough';
const GUEST_VOLUME = 'passthrough';
const BASE_VOLUMES = ['proc', 'sys', 'config'];

// ---------------------------------------------------------------------------------------------
// Rendering

const helmSkip = HELM ? false : HELM_MISSING;

const mounts = (r: RenderedDaemonSet, name: string): IVolumeMount[] => (r.exporter.volumeMounts ?? []).filter((m) => m.name === name);

// ---------------------------------------------------------------------------------------------
// The checks

/** The hypervisor side: dir mounted read-write at its path, DirectoryOrCreate; config.yaml's vm.passthrough. */
function checkHost(r: RenderedDaemonSet, want: { dir: string; keepMs: number }): void {
  const { source } = r;
  const config = loadPodConfig(r);
  assert.deepEqual(config.vm.passthrough, { enabled: true, dir: want.dir, keepMs: want.keepMs }, `${source}: vm.passthrough`);
  assert.deepEqual(volumeOf(r, HOST_VOLUME)?.hostPath, { path: want.dir, type: 'DirectoryOrCreate' }, `${source}: the ${HOST_VOLUME} volume`);
  const m = mounts(r, HOST_VOLUME);
  assert.equal(m.length, 1, `${source}: the ${HOST_VOLUME} volume is mounted once`);
  assert.equal(m[0].mountPath, want.dir, `${source}: mounted at the host's path`);
  assert.notEqual(m[0].readOnly, true, `${source}: ${want.dir} must be writable: the exporter writes the VMs' trees there`);
  assert.equal(m[0].mountPropagation, undefined, `${source}: ${HOST_VOLUME} propagation`);
  assert.equal(m[0].subPath, undefined, `${source}: ${HOST_VOLUME} subPath`);
  // The one writable host mount: every other hostPath is read-only.
  for (const v of r.pod.volumes ?? []) {
    if (!v.hostPath || v.name === HOST_VOLUME) continue;
    for (const other of mounts(r, v.name)) assert.equal(other.readOnly, true, `${source}: ${v.name} at ${other.mountPath} is writable`);
  }
  for (const c of r.pod.initContainers ?? []) assert.ok(!(c.volumeMounts ?? []).some((x) => x.name === HOST_VOLUME), `${source}: init container ${c.name} mounts ${HOST_VOLUME}`);
}

/** The guest side: dir mounted read-only at its path, HostToContainer, DirectoryOrCreate; config.yaml's passthrough.dir. */
function checkGuest(r: RenderedDaemonSet, want: { dir: string }): void {
  const { source } = r;
  const config = loadPodConfig(r);
  assert.equal(config.passthrough.dir, want.dir, `${source}: passthrough.dir`);
  assert.deepEqual(volumeOf(r, GUEST_VOLUME)?.hostPath, { path: want.dir, type: 'DirectoryOrCreate' }, `${source}: the ${GUEST_VOLUME} volume`);
  assert.deepEqual(
    mounts(r, GUEST_VOLUME).map((m) => ({ ...m })),
    [{ name: GUEST_VOLUME, mountPath: want.dir, readOnly: true, mountPropagation: 'HostToContainer' }],
    `${source}: the ${GUEST_VOLUME} mount`,
  );
}

function checkNoHost(r: RenderedDaemonSet): void {
  assert.equal(loadPodConfig(r).vm.passthrough.enabled, false, `${r.source}: vm.passthrough.enabled`);
  assert.equal(volumeOf(r, HOST_VOLUME), undefined, `${r.source}: ${HOST_VOLUME} volume`);
  assert.deepEqual(mounts(r, HOST_VOLUME), [], `${r.source}: ${HOST_VOLUME} mount`);
}

function checkNoGuest(r: RenderedDaemonSet): void {
  assert.equal(volumeOf(r, GUEST_VOLUME), undefined, `${r.source}: ${GUEST_VOLUME} volume`);
  assert.deepEqual(mounts(r, GUEST_VOLUME), [], `${r.source}: ${GUEST_VOLUME} mount`);
}

/** config.yaml as a mapping, without the keys passthrough adds: the rest must be what it was. */
function configWithout(r: RenderedDaemonSet, drop: { vm?: boolean; passthrough?: boolean }): Record<string, unknown> {
  const c = parseYaml(r.configYaml) as Record<string, unknown>;
  if (drop.vm) delete c.vm;
  if (drop.passthrough) delete c.passthrough;
  return c;
}

/** The pod without the passthrough volumes and mounts, and the config's checksum or hashed name. */
function podWithout(r: RenderedDaemonSet): IPodSpec {
  const pod = structuredClone(r.pod);
  const ours = [HOST_VOLUME, GUEST_VOLUME];
  pod.volumes = pod.volumes?.filter((v) => !ours.includes(v.name));
  for (const c of pod.containers) c.volumeMounts = c.volumeMounts?.filter((m) => !ours.includes(m.name));
  for (const v of pod.volumes ?? []) if (v.configMap) v.configMap.name = 'hashed';
  return pod;
}

// ---------------------------------------------------------------------------------------------
// Helm

test(
  'charts/kepler-ts: both off by default: no passthrough volume or mount, config.yaml without vm or passthrough, the render of the chart without these values',
  { skip: helmSkip },
  () => {
    const off = helmDaemonSet([]);
    checkNoHost(off);
    checkNoGuest(off);
    assert.deepEqual(
      off.pod.volumes?.map((v) => v.name),
      BASE_VOLUMES,
      'volumes',
    );
    assert.deepEqual(
      off.exporter.volumeMounts?.map((m) => [m.mountPath, m.readOnly]),
      [
        ['/host/proc', true],
        ['/host/sys', true],
        ['/etc/kepler', true],
      ],
    );
    const config = parseYaml(off.configYaml) as Record<string, unknown>;
    assert.ok(!('vm' in config) && !('passthrough' in config), 'config.yaml has vm or passthrough keys');
    assert.equal(loadPodConfig(off).passthrough.dir, GUEST_DIR, "the exporter's default passthrough.dir");

    // Exactly the render without the values (as before they existed), switched off explicitly or
    // not, with the chart's values or Kepler's.
    const unset = ['vmPassthrough=null', 'passthrough=null'];
    const explicit = ['vmPassthrough.enabled=false', 'passthrough.enabled=false'];
    assert.equal(helmText([]), helmText(unset), 'the default render differs from the render without vmPassthrough and passthrough');
    assert.equal(helmText(explicit), helmText(unset), 'enabled=false renders differently from no values');
    // Their other keys are not looked at while off.
    assert.equal(helmText(['vmPassthrough.dir=relative', 'vmPassthrough.keep=soon', 'passthrough.dir=relative']), helmText(unset));
    const kepler = ['image.repository=ghcr.io/kepler-ts/kepler-ts'];
    assert.equal(helmText(kepler, [KEPLER_VALUES]), helmText([...kepler, ...unset], [KEPLER_VALUES]), "Kepler's values: the render differs");
  },
);

test('charts/kepler-ts: vmPassthrough.enabled=true: vm.passthrough in config.yaml, the host folder mounted read-write at its path, DirectoryOrCreate', { skip: helmSkip }, () => {
  const off = helmDaemonSet([]);
  const host = helmDaemonSet(['vmPassthrough.enabled=true']);
  checkHost(host, { dir: HOST_DIR, keepMs: 600_000 });
  checkNoGuest(host);
  // Nothing else changes: the config but vm, the pod but the volume and its mount (and the checksum, which rolls the pods).
  assert.deepEqual(configWithout(host, { vm: true }), configWithout(off, {}), 'config.yaml beyond vm');
  assert.deepEqual(podWithout(host), podWithout(off), "the pod beyond the host's folder");
  assert.notEqual(host.ds.spec?.template.metadata?.annotations?.['checksum/config'], off.ds.spec?.template.metadata?.annotations?.['checksum/config'], 'checksum/config');
  assert.deepEqual(loadPodConfig(host).cpu.preferredMeters, loadPodConfig(off).cpu.preferredMeters, 'cpu.preferredMeters');

  // Every value lands where it is meant to; a number of seconds is the exporter's too.
  checkHost(helmDaemonSet(['vmPassthrough.enabled=true', 'vmPassthrough.dir=/srv/vm-energy/', 'vmPassthrough.keep=1h30m']), { dir: '/srv/vm-energy', keepMs: 5_400_000 });
  checkHost(helmDaemonSet(['vmPassthrough.enabled=true', 'vmPassthrough.keep=0']), { dir: HOST_DIR, keepMs: 0 });
  checkHost(helmDaemonSet(['vmPassthrough.enabled=true', 'vmPassthrough.keep=90']), { dir: HOST_DIR, keepMs: 90_000 });
  // The chart's switch wins over the same key given in config.
  checkHost(helmDaemonSet(['vmPassthrough.enabled=true', 'config.vm.passthrough.enabled=false', 'config.vm.passthrough.dir=/elsewhere']), { dir: HOST_DIR, keepMs: 600_000 });
  // Unprivileged, and with the GPU's init container: still valid, still the one writable host mount.
  checkHost(helmDaemonSet(['vmPassthrough.enabled=true', 'daemonset.privileged=false', 'gpu.enabled=true']), { dir: HOST_DIR, keepMs: 600_000 });
  // Kepler's values file with the switch.
  checkHost(helmDaemonSet(['image.repository=ghcr.io/kepler-ts/kepler-ts', 'vmPassthrough.enabled=true'], [KEPLER_VALUES]), { dir: HOST_DIR, keepMs: 600_000 });
});

test(
  'charts/kepler-ts: passthrough.enabled=true: passthrough.dir in config.yaml, the folder mounted read-only at its path, HostToContainer, DirectoryOrCreate',
  { skip: helmSkip },
  () => {
    const off = helmDaemonSet([]);
    const guest = helmDaemonSet(['passthrough.enabled=true']);
    checkGuest(guest, { dir: GUEST_DIR });
    checkNoHost(guest);
    assert.deepEqual(configWithout(guest, { passthrough: true }), configWithout(off, {}), 'config.yaml beyond passthrough');
    assert.deepEqual(podWithout(guest), podWithout(off), "the pod beyond the guest's folder");
    // cpu.preferredMeters as it is: the passthrough meter is tried before the estimator anyway.
    assert.deepEqual(loadPodConfig(guest).cpu.preferredMeters, ['rapl', 'hwmon']);
    assert.deepEqual(loadPodConfig(helmDaemonSet(['passthrough.enabled=true', 'config.cpu.preferredMeters={passthrough,rapl}'])).cpu.preferredMeters, ['passthrough', 'rapl']);

    checkGuest(helmDaemonSet(['passthrough.enabled=true', 'passthrough.dir=/mnt/host-energy/']), { dir: '/mnt/host-energy' });
    checkGuest(helmDaemonSet(['passthrough.enabled=true', 'config.passthrough.dir=/elsewhere']), { dir: GUEST_DIR });
    // Unprivileged: HostToContainer needs no privilege.
    const unprivileged = helmDaemonSet(['passthrough.enabled=true', 'daemonset.privileged=false']);
    checkGuest(unprivileged, { dir: GUEST_DIR });
    assert.equal(unprivileged.exporter.securityContext?.privileged, false);
  },
);

test(
  'charts/kepler-ts: both on (a hypervisor that is itself a VM): two folders, two mounts; the same folder, a relative one or a bad keep fails the render; helm lint --strict',
  { skip: helmSkip },
  () => {
    const both = helmDaemonSet(['vmPassthrough.enabled=true', 'passthrough.enabled=true']);
    checkHost(both, { dir: HOST_DIR, keepMs: 600_000 });
    checkGuest(both, { dir: GUEST_DIR });
    assert.deepEqual(
      both.pod.volumes?.map((v) => v.name),
      [...BASE_VOLUMES, HOST_VOLUME, GUEST_VOLUME],
    );
    const off = helmDaemonSet([]);
    assert.deepEqual(configWithout(both, { vm: true, passthrough: true }), configWithout(off, {}), 'config.yaml beyond vm and passthrough');
    assert.deepEqual(podWithout(both), podWithout(off));

    for (const set of [['vmPassthrough.enabled=true'], ['passthrough.enabled=true'], ['vmPassthrough.enabled=true', 'passthrough.enabled=true']]) {
      const args = ['lint', '--strict', 'charts/kepler-ts', ...set.flatMap((s) => ['--set', s])];
      const r = helmRun(args);
      assert.equal(r.status, 0, `helm ${args.join(' ')}:\n${r.stdout}${r.stderr}`);
    }

    const fails = (set: string[], message: RegExp): void => {
      const r = helmRun(helmArgs(set));
      assert.notEqual(r.status, 0, `helm template --set ${set.join(' --set ')} rendered`);
      assert.match(r.stderr, message);
    };
    fails(
      ['vmPassthrough.enabled=true', 'passthrough.enabled=true', `passthrough.dir=${HOST_DIR}/`],
      /vmPassthrough\.dir and passthrough\.dir are both "\/var\/lib\/libvirt\/scaphandre"/,
    );
    fails(['vmPassthrough.enabled=true', 'vmPassthrough.dir=var/lib/libvirt/scaphandre'], /vmPassthrough\.dir: "var\/lib\/libvirt\/scaphandre": expected an absolute path/);
    fails(['vmPassthrough.enabled=true', 'vmPassthrough.dir=/'], /vmPassthrough\.dir: "\/": expected an absolute path/);
    fails(['passthrough.enabled=true', 'passthrough.dir=scaphandre'], /passthrough\.dir: "scaphandre": expected an absolute path/);
    fails(['vmPassthrough.enabled=true', 'vmPassthrough.keep=soon'], /vmPassthrough\.keep: "soon": expected a duration/);
    fails(['vmPassthrough.enabled=true', 'vmPassthrough.keep=-5'], /vmPassthrough\.keep: "-5": expected a duration/);
  },
);

// ---------------------------------------------------------------------------------------------
// kustomize

test('deploy/overlays/vm-host: the base with vm.passthrough on and the host folder mounted read-write, as the chart does', () => {
  const base = kustomizeDaemonSet('deploy/base');
  checkNoHost(base);
  checkNoGuest(base);
  const host = kustomizeDaemonSet('deploy/overlays/vm-host');
  checkHost(host, { dir: HOST_DIR, keepMs: 600_000 });
  checkNoGuest(host);
  assert.deepEqual(configWithout(host, { vm: true }), configWithout(base, {}), 'deploy/overlays/vm-host/config.yaml differs from deploy/base/config.yaml beyond vm');
  assert.deepEqual(podWithout(host), podWithout(base), "the overlay changes the base's pod beyond the host folder");
  assert.deepEqual(loadPodConfig(host).cpu.preferredMeters, loadPodConfig(base).cpu.preferredMeters);

  if (!HELM) return; // the chart's side: with helm only
  const chart = helmDaemonSet(['vmPassthrough.enabled=true']);
  assert.deepEqual(volumeOf(host, HOST_VOLUME), volumeOf(chart, HOST_VOLUME), 'the volume');
  assert.deepEqual(mounts(host, HOST_VOLUME), mounts(chart, HOST_VOLUME), 'the mount');
  assert.deepEqual(loadPodConfig(host).vm, loadPodConfig(chart).vm, 'vm.passthrough');
});

test('deploy/overlays/vm-guest: the base with passthrough.dir and the folder mounted read-only, as the chart does', () => {
  const base = kustomizeDaemonSet('deploy/base');
  const guest = kustomizeDaemonSet('deploy/overlays/vm-guest');
  checkGuest(guest, { dir: GUEST_DIR });
  checkNoHost(guest);
  assert.deepEqual(
    configWithout(guest, { passthrough: true }),
    configWithout(base, {}),
    'deploy/overlays/vm-guest/config.yaml differs from deploy/base/config.yaml beyond passthrough',
  );
  assert.deepEqual(podWithout(guest), podWithout(base), "the overlay changes the base's pod beyond the guest folder");
  assert.deepEqual(loadPodConfig(guest).cpu.preferredMeters, loadPodConfig(base).cpu.preferredMeters, 'cpu.preferredMeters as it is');

  if (!HELM) return; // the chart's side: with helm only
  const chart = helmDaemonSet(['passthrough.enabled=true']);
  assert.deepEqual(volumeOf(guest, GUEST_VOLUME), volumeOf(chart, GUEST_VOLUME), 'the volume');
  assert.deepEqual(mounts(guest, GUEST_VOLUME), mounts(chart, GUEST_VOLUME), 'the mount');
  assert.deepEqual(loadPodConfig(guest).passthrough, loadPodConfig(chart).passthrough, 'passthrough');
});
