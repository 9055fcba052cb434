// The resource layer: /proc and cgroup parsers on real-format fixtures and hostile input, the
// ResourceInformer on a synthetic procfs/sysfs tree in a temp dir (counters advanced by the test
// between refreshes), and one sanity run against this machine's real /proc.

import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cgroupCpuSource, detectCgroupLayout, parseCgroupCpuSeconds } from '../../src/resource/cgroupCpu.js';
import { containerOfProcess, matchContainer, parseProcCgroup, podUidFromCgroupPath } from '../../src/resource/containerId.js';
import { parseCpuInfo } from '../../src/resource/cpuInfo.js';
import { parsePidStat, PF_KTHREAD } from '../../src/resource/pidStat.js';
import { cpuInterval, parseProcStat, type CpuTimes } from '../../src/resource/procStat.js';
import { ApiServerPodInformer } from '../../src/k8s/apiServerPodInformer.js';
import { loadKubeAccess } from '../../src/k8s/kubeClient.js';
import { KubeletPodInformer } from '../../src/k8s/kubeletPodInformer.js';
import type { PodInformer } from '../../src/k8s/podInformer.js';
import { QuietCgroups } from '../../src/resource/quietCgroups.js';
import { ResourceInformer, type PodMetadataSource } from '../../src/resource/resourceInformer.js';
import { vmFromCmdline } from '../../src/resource/vm.js';
import type { ResourceSample, WorkloadCpu } from '../../src/resource/workloads.js';
import { FileReader } from '../../src/util/fileReader.js';
import { spawn } from 'node:child_process';
import { near } from '../support/assertions.js';
import { captureLogger } from '../support/captureLogger.js';
import { FAKE_NODE, makeCertificate, startFakeCluster, testPod, type TestPod } from '../support/fakeKube.js';
import { cid } from '../support/ids.js';

// ---------- helpers ----------

// Compiled to dist/test/unit/; the fixtures stay in the source tree.
const fixture = (name: string) => readFileSync(fileURLToPath(new URL(`../../../test/fixtures/resource/${name}`, import.meta.url)), 'utf8');

function one<T>(list: T[], what: string): T {
  assert.equal(list.length, 1, `expected exactly one ${what}, got ${list.length}`);
  return list[0];
}

const procsOf = (s: ResourceSample, pid: number) => s.processes.filter((p) => p.info.pid === pid);
const proc = (s: ResourceSample, pid: number) => one(procsOf(s, pid), `process ${pid}`);
const ctr = (s: ResourceSample, id: string) =>
  one(
    s.containers.filter((c) => c.info.id === id),
    `container ${id.slice(0, 12)}`,
  );
const pod = (s: ResourceSample, uid: string) =>
  one(
    s.pods.filter((p) => p.info.id === uid),
    `pod ${uid}`,
  );
const vm = (s: ResourceSample, id: string) =>
  one(
    s.vms.filter((v) => v.info.id === id),
    `vm ${id}`,
  );
const sum = (l: WorkloadCpu<unknown>[]) => l.reduce((a, w) => a + w.cpuDeltaSec, 0);

// ---------- /proc/stat ----------

describe('parseProcStat', () => {
  test('reads the aggregate cpu line of a real /proc/stat (per-cpu, intr, softirq lines ignored)', () => {
    assert.deepEqual(parseProcStat(fixture('proc-stat.txt')), {
      user: 10132153,
      nice: 290696,
      system: 3084719,
      idle: 46828483,
      iowait: 16683,
      irq: 0,
      softirq: 25195,
      steal: 0,
    });
  });

  test('old kernels with only user nice system idle: the missing fields are 0', () => {
    assert.deepEqual(parseProcStat(fixture('proc-stat-linux-2.4.txt')), {
      user: 1390,
      nice: 7,
      system: 2178,
      idle: 93872,
      iowait: 0,
      irq: 0,
      softirq: 0,
      steal: 0,
    });
  });

  test('finds the aggregate line when it is not the first line', () => {
    const t = parseProcStat('intr 5 0 0\ncpu0 9 9 9 9 9 9 9 9\ncpu  1 2 3 4 5 6 7 8 9 10\n');
    assert.deepEqual(t, { user: 1, nice: 2, system: 3, idle: 4, iowait: 5, irq: 6, softirq: 7, steal: 8 });
  });

  test('garbage, empty, truncated and per-cpu-only input throw instead of giving numbers', () => {
    const real = fixture('proc-stat.txt');
    const bad = [
      '',
      '\n',
      'hello world',
      '\0\0\0\0',
      'cpu',
      'cpu \n',
      'cpu  1 2 3',
      real.slice(0, 12), // "cpu  1013215": cut inside the first line
      'cpu  1 2 x 4 5 6 7 8',
      'cpu  -1 2 3 4',
      'cpu  1.5 2 3 4',
      'cpu0 1 2 3 4 5 6 7 8\ncpu1 1 2 3 4 5 6 7 8\n',
      'intr 1 2 3\nctxt 5\n',
    ];
    for (const text of bad) assert.throws(() => parseProcStat(text), Error, `accepted ${JSON.stringify(text)}`);
  });

  test('a tick count a double cannot hold (400 digits is Infinity) is refused, not turned into a NaN ratio', () => {
    assert.throws(() => parseProcStat(`cpu  1 2 ${'9'.repeat(400)} 4 5 6 7 8\n`), /400 digits is out of range/);
    assert.throws(() => parseProcStat(`cpu  1 2 3 ${2 ** 53} 5 6 7 8\n`), /out of range/);
    assert.equal(parseProcStat(`cpu  1 2 3 ${2 ** 53 - 1} 5 6 7 8\n`).idle, 2 ** 53 - 1);
  });
});

describe('cpuInterval', () => {
  const base = parseProcStat(fixture('proc-stat.txt'));
  const plus = (d: Partial<CpuTimes>): CpuTimes => {
    const r = { ...base };
    for (const [k, v] of Object.entries(d)) r[k as keyof CpuTimes] += v;
    return r;
  };

  test('active = total - idle - iowait over the eight fields', () => {
    const iv = cpuInterval(base, plus({ user: 300, nice: 20, system: 100, idle: 450, iowait: 50, irq: 10, softirq: 15, steal: 55 }));
    assert.equal(iv.totalTicks, 1000);
    assert.equal(iv.activeTicks, 500);
    assert.equal(iv.usageRatio, 0.5);
  });

  test('no time passed: ratio 0, not NaN', () => {
    const iv = cpuInterval(base, base);
    assert.deepEqual(iv, { activeTicks: 0, totalTicks: 0, usageRatio: 0 });
  });

  test('counters going backwards (CPU unplugged) are clamped to 0, the ratio stays within [0, 1]', () => {
    const iv = cpuInterval(base, plus({ user: 100, idle: -5000, iowait: -10 }));
    assert.equal(iv.activeTicks, 100);
    assert.equal(iv.totalTicks, 100);
    assert.equal(iv.usageRatio, 1);
    const allBack = cpuInterval(base, plus({ user: -1, system: -1, idle: -1 }));
    assert.deepEqual(allBack, { activeTicks: 0, totalTicks: 0, usageRatio: 0 });
  });

  test('the ratio is within [0, 1] for arbitrary counter pairs', () => {
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2000 - 1000;
    const keys: (keyof CpuTimes)[] = ['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal'];
    for (let i = 0; i < 2000; i++) {
      const d: Partial<CpuTimes> = {};
      for (const k of keys) d[k] = Math.round(rnd());
      const iv = cpuInterval(base, plus(d));
      assert.ok(iv.usageRatio >= 0 && iv.usageRatio <= 1, `ratio ${iv.usageRatio} for ${JSON.stringify(d)}`);
      assert.ok(iv.activeTicks >= 0 && iv.activeTicks <= iv.totalTicks);
    }
  });
});

// ---------- /proc/<pid>/stat ----------

describe('parsePidStat', () => {
  const bash = fixture('pid-stat-bash.txt');

  test('a real line: comm, state, ppid, utime + stime, start time', () => {
    const s = parsePidStat(bash);
    assert.deepEqual(s, { comm: 'bash', state: 'S', ppid: 5300, flags: 4194560, cpuTicks: 37 + 12, startTicks: 64012 });
    assert.equal(s.flags & PF_KTHREAD, 0);
  });

  test('a comm with parentheses and spaces is parsed from the last ")"', () => {
    const tail = ' 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0';
    const line = `42 ((a) b) (c) R 1 42 42 0 -1 4194304 0 0 0 0 7 3 0 0 20 0 1 0 5000${tail}\n`;
    assert.deepEqual(parsePidStat(line), { comm: '(a) b) (c', state: 'R', ppid: 1, flags: 4194304, cpuTicks: 10, startTicks: 5000 });
    const spaced = parsePidStat(`77 (Web Content) S 70 70 70 0 -1 4194560 0 0 0 0 123 45 0 0 20 0 30 0 9999${tail}`);
    assert.equal(spaced?.comm, 'Web Content');
    assert.equal(spaced?.cpuTicks, 168);
    assert.equal(spaced?.startTicks, 9999);
    // A comm that looks like fields: ") 1 2 3".
    const tricky = parsePidStat(`9 () 1 2 3) S 2 9 9 0 -1 0 0 0 0 0 4 4 0 0 20 0 1 0 77${tail}`);
    assert.equal(tricky?.comm, ') 1 2 3');
    assert.equal(tricky?.ppid, 2);
    assert.equal(tricky?.cpuTicks, 8);
    assert.equal(tricky?.startTicks, 77);
  });

  test('kernel threads carry PF_KTHREAD', () => {
    const k = parsePidStat(
      '2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 24 0 0 18446744073709551615 0 0 0 0 0 0 0 2147483647 0 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n',
    );
    assert.equal(k?.comm, 'kthreadd');
    assert.notEqual(k.flags & PF_KTHREAD, 0);
  });

  test('every truncation of a real line that cuts before the start time field is rejected', () => {
    const lastField = bash.indexOf(' 64012 ') + 1; // where the start time begins
    assert.ok(lastField > 0);
    for (let n = 0; n <= lastField; n++) {
      const cut = bash.slice(0, n);
      assert.equal(parsePidStat(cut), undefined, `accepted truncated line ${JSON.stringify(cut)}`);
    }
  });

  test('garbage and empty input give undefined', () => {
    const tail = ' 0 0 0 0 0 0 0 0 0 0 0 0 0 0';
    for (const text of [
      '',
      '\n',
      'garbage',
      '\0\0\0\0\0\0\0\0',
      '1 (x S 1 1 1 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 5' + tail, // no ")"
      '1 x) S 1 1 1 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 5' + tail, // no "("
      '1 (x) S 1 1 1 0 -1 0 0 0 0 0 a b 0 0 20 0 1 0 5' + tail, // utime/stime not numbers
      '1 (x) S 1 1 1 0 -1 0 0 0 0 0 -5 1 0 0 20 0 1 0 5' + tail, // negative ticks
      '1 (x) S 1 1 1 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 zz' + tail, // start time not a number
      '1 (x) S 1 1 1 0 -1 0 0 0 0 0  1 0 0 20 0 1 0 5' + tail, // an empty field
    ]) {
      assert.equal(parsePidStat(text), undefined, `accepted ${JSON.stringify(text)}`);
    }
  });

  test('a field too long for a double (400 digits) makes the line unusable, not Infinity ticks', () => {
    const tail = ' 0 0 0 0 0 0 0 0 0 0 0 0 0 0';
    assert.equal(parsePidStat(`1 (x) S 1 1 1 0 -1 0 0 0 0 0 ${'9'.repeat(400)} 1 0 0 20 0 1 0 5${tail}`), undefined);
    assert.equal(parsePidStat(`1 (x) S 1 1 1 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 ${'9'.repeat(17)}${tail}`), undefined);
    assert.equal(parsePidStat(`1 (x) S 1 1 1 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 ${2 ** 53 - 1}${tail}`)?.startTicks, 2 ** 53 - 1);
  });

  test('the comm is UTF-8: bytes read as latin1 come back as the name the process gave itself', () => {
    const tail = ' S 1 1 1 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 5 0 0\n';
    const bytes = (s: string) => Buffer.from(s, 'utf8').toString('latin1');
    assert.equal(parsePidStat(bytes(`1 (café☃)${tail}`))?.comm, 'café☃');
    assert.equal(parsePidStat(bytes(`1 (日本語)${tail}`))?.comm, '日本語');
    assert.equal(parsePidStat(`1 (plain)${tail}`)?.comm, 'plain');
    // Text that is already decoded (a caller that read UTF-8) is left alone.
    assert.equal(parsePidStat(`1 (café☃)${tail}`)?.comm, 'café☃');
  });
});

// ---------- /proc/<pid>/cgroup and container ids ----------

const ID = cid('container-1');
const ID2 = cid('container-2');
const OUTER = cid('kind-node');
const POD_UID = '5c8f2a7e-1b3d-4e6f-9a0b-1c2d3e4f5a6b';
const POD_UID_ = POD_UID.replace(/-/g, '_');

describe('parseProcCgroup', () => {
  test('v1 lines and the v2 line of a docker container on a hybrid host', () => {
    const lines = parseProcCgroup(fixture('pid-cgroup-v1-docker.txt'));
    assert.equal(lines.length, 13);
    const docker = '/docker/3f5e8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f';
    assert.deepEqual(lines[3], { hierarchy: '9', controllers: ['cpu', 'cpuacct'], path: docker });
    assert.deepEqual(lines[11], { hierarchy: '1', controllers: ['name=systemd'], path: docker });
    assert.deepEqual(lines[12], { hierarchy: '0', controllers: [], path: '/system.slice/containerd.service' });
    // The v2 line holds no id here: the cpuacct line gives the container, and its cgroup.
    const c = containerOfProcess(lines);
    assert.equal(c?.id, '3f5e8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f');
    assert.equal(c?.runtime, 'docker');
    assert.deepEqual(c?.line.controllers, ['cpu', 'cpuacct']);
  });

  test('a v2-only file, and lines that are not cgroup lines', () => {
    assert.deepEqual(parseProcCgroup(`0::/system.slice/docker-${ID}.scope\n`), [{ hierarchy: '0', controllers: [], path: `/system.slice/docker-${ID}.scope` }]);
    assert.deepEqual(parseProcCgroup(''), []);
    assert.deepEqual(parseProcCgroup('garbage\n\nno colon here\n'), []);
  });

  test('the v2 line is preferred over v1 lines when both hold an id', () => {
    const c = containerOfProcess(parseProcCgroup(`4:cpu,cpuacct:/docker/${ID2}\n0::/system.slice/docker-${ID}.scope\n`));
    assert.equal(c?.id, ID);
    assert.equal(c?.line.hierarchy, '0');
    assert.equal(containerOfProcess(parseProcCgroup('0::/user.slice/user-0.slice/session-3.scope\n')), undefined);
  });
});

describe('matchContainer: the patterns of attribution.md', () => {
  const cases: [string, string, string, string][] = [
    ['docker cgroupfs', `/docker/${ID}`, ID, 'docker'],
    ['docker systemd scope', `/system.slice/docker-${ID}.scope`, ID, 'docker'],
    ['containerd', `/containerd/${ID}`, ID, 'containerd'],
    ['containerd systemd', `/system.slice/containerd-${ID}.scope`, ID, 'containerd'],
    ['cri-containerd systemd', `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${POD_UID_}.slice/cri-containerd-${ID}.scope`, ID, 'containerd'],
    ['cri-containerd colon form', `/kubepods-besteffort-pod${POD_UID_}.slice:cri-containerd:${ID}`, ID, 'containerd'],
    ['crio scope', `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${POD_UID_}.slice/crio-${ID}.scope`, ID, 'crio'],
    ['podman libpod', `/machine.slice/libpod-${ID}.scope/container`, ID, 'podman'],
    ['podman rootless', `/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-${ID}.scope`, ID, 'podman'],
    ['libpod-payload', '/libpod_parent/libpod-payload-9f3c2a1b', '9f3c2a1b', 'podman'],
    ['kubepods cgroupfs', `/kubepods/besteffort/pod${POD_UID}/${ID}`, ID, 'kubernetes'],
    ['kubepods cgroupfs guaranteed', `/kubepods/pod${POD_UID}/${ID}`, ID, 'kubernetes'],
    ['kind cgroupfs: docker outer, kubepods inner', `/docker/${OUTER}/kubepods/besteffort/pod${POD_UID}/${ID}`, ID, 'kubernetes'],
    [
      'kind systemd: docker outer, cri-containerd inner',
      `/system.slice/docker-${OUTER}.scope/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod${POD_UID_}.slice/cri-containerd-${ID}.scope`,
      ID,
      'containerd',
    ],
  ];
  for (const [name, path, id, runtime] of cases) {
    test(name, () => {
      const m = matchContainer(path);
      assert.equal(m?.id, id);
      assert.equal(m?.runtime, runtime);
    });
  }

  test('paths that are no container', () => {
    for (const path of [
      '/',
      '/system.slice/ssh.service',
      '/system.slice/containerd.service',
      '/system.slice/docker.service',
      '/user.slice/user-1000.slice/session-2.scope',
      '/docker/3f5e8a9b0c1d', // short id
      `/docker/${ID.toUpperCase()}`, // not lower-case hex
      `/docker/${ID.slice(1)}`, // 63 digits
      `/machine.slice/libpod-conmon-${ID}.scope`, // podman's monitor, outside the container
      `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${POD_UID_}.slice/crio-conmon-${ID}.scope`,
      `/kubepods/besteffort/pod${POD_UID}`, // the pod, not a container
      '/machine.slice/machine-qemu\\x2d1\\x2dvm1.scope/libvirt/emulator',
    ]) {
      assert.equal(matchContainer(path), undefined, `matched ${path}`);
    }
  });

  test('the kind case through /proc/<pid>/cgroup', () => {
    const c = containerOfProcess(parseProcCgroup(`0::/docker/${OUTER}/kubepods/besteffort/pod${POD_UID}/${ID}\n`));
    assert.equal(c?.id, ID);
    assert.equal(c?.runtime, 'kubernetes');
  });
});

describe('podUidFromCgroupPath', () => {
  test('cgroupfs driver', () => {
    assert.equal(podUidFromCgroupPath(`/kubepods/besteffort/pod${POD_UID}/${ID}`), POD_UID);
    assert.equal(podUidFromCgroupPath(`/kubepods/burstable/pod${POD_UID}/${ID}`), POD_UID);
    assert.equal(podUidFromCgroupPath(`/kubepods/pod${POD_UID}/${ID}`), POD_UID);
    assert.equal(podUidFromCgroupPath(`/docker/${OUTER}/kubepods/besteffort/pod${POD_UID}/${ID}`), POD_UID);
  });

  test('systemd driver: underscores become dashes', () => {
    assert.equal(podUidFromCgroupPath(`/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${POD_UID_}.slice/cri-containerd-${ID}.scope`), POD_UID);
    assert.equal(podUidFromCgroupPath(`/kubepods.slice/kubepods-pod${POD_UID_}.slice/crio-${ID}.scope`), POD_UID);
  });

  test('static (mirror) pods: the kubelet names them by a 32-hex hash of the manifest', () => {
    const hash = 'd41d8cd98f00b204e9800998ecf8427e';
    assert.equal(podUidFromCgroupPath(`/kubepods/burstable/pod${hash}/${ID}`), hash);
    assert.equal(podUidFromCgroupPath(`/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${hash}.slice/cri-containerd-${ID}.scope`), hash);
  });

  test('no pod outside kubepods', () => {
    for (const p of [`/docker/${ID}`, `/system.slice/docker-${ID}.scope`, '/system.slice/ssh.service', `/pod${POD_UID}/${ID}`, '']) {
      assert.equal(podUidFromCgroupPath(p), undefined, p);
    }
  });
});

// ---------- VMs ----------

describe('vmFromCmdline', () => {
  const UUID = 'c7a5fdbd-cdaf-9455-926a-d65c16db1809';

  test('libvirt qemu: -name guest=vm1,debug-threads=on -uuid ...', () => {
    const argv = [
      '/usr/bin/qemu-system-x86_64',
      '-name',
      'guest=vm1,debug-threads=on',
      '-S',
      '-object',
      '{"qom-type":"secret"}',
      '-machine',
      'pc-q35-8.2,usb=off',
      '-uuid',
      UUID,
      '-smp',
      '2',
    ];
    assert.deepEqual(vmFromCmdline(argv, 4242), { id: UUID, name: 'vm1', hypervisor: 'kvm' });
  });

  test('-name vm2 without -uuid: the name is the id', () => {
    assert.deepEqual(vmFromCmdline(['qemu-system-aarch64', '-m', '2048', '-name', 'vm2'], 7), { id: 'vm2', name: 'vm2', hypervisor: 'kvm' });
  });

  test('qemu-kvm and /usr/bin/kvm', () => {
    assert.deepEqual(vmFromCmdline(['/usr/libexec/qemu-kvm', '-name', 'guest=rhel9,debug-threads=on', '-uuid', UUID], 1), { id: UUID, name: 'rhel9', hypervisor: 'kvm' });
    assert.deepEqual(vmFromCmdline(['/usr/bin/kvm', '-name', 'old-vm', '-m', '512'], 1), { id: 'old-vm', name: 'old-vm', hypervisor: 'kvm' });
  });

  test('no name nor uuid: an id from the pid', () => {
    assert.deepEqual(vmFromCmdline(['/usr/bin/qemu-system-x86_64', '-m', '1024', '-nographic'], 4321), { id: 'qemu-4321', name: '', hypervisor: 'kvm' });
    assert.deepEqual(vmFromCmdline(['qemu-system-x86_64', '-name'], 9), { id: 'qemu-9', name: '', hypervisor: 'kvm' });
  });

  test("qemu's ',,' escapes a comma in the name", () => {
    assert.equal(vmFromCmdline(['qemu-system-x86_64', '-name', 'guest=my,,vm,debug-threads=on'], 1)?.name, 'my,vm');
    assert.equal(vmFromCmdline(['qemu-system-x86_64', '-name', 'a,,b'], 1)?.name, 'a,b');
  });

  test('not a hypervisor', () => {
    for (const argv of [
      [],
      ['/usr/bin/bash'],
      ['/usr/bin/python3', 'qemu-system-x86_64', '-name', 'x'],
      ['/usr/bin/qemu-img', 'convert', '-name', 'x'],
      ['/usr/bin/kvm-ok'],
      [''],
    ]) {
      assert.equal(vmFromCmdline(argv, 1), undefined, JSON.stringify(argv));
    }
  });
});

// ---------- /proc/cpuinfo ----------

describe('parseCpuInfo', () => {
  test('Intel server, two sockets', () => {
    const r = parseCpuInfo(fixture('cpuinfo-intel-2s.txt'));
    assert.deepEqual(
      r.map((c) => [c.processor, c.physicalId, c.coreId]),
      [
        ['0', '0', '0'],
        ['1', '0', '1'],
        ['40', '1', '0'],
        ['41', '1', '1'],
      ],
    );
    for (const c of r) {
      assert.equal(c.vendorId, 'GenuineIntel');
      assert.equal(c.modelName, 'Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz');
    }
    assert.equal(new Set(r.map((c) => c.physicalId)).size, 2);
  });

  test('AMD, without a trailing blank line', () => {
    const r = parseCpuInfo(fixture('cpuinfo-amd.txt'));
    assert.equal(r.length, 2);
    assert.deepEqual(r[1], { processor: '1', vendorId: 'AuthenticAMD', modelName: 'AMD EPYC 7763 64-Core Processor', physicalId: '0', coreId: '1' });
  });

  test('ARM64: no vendor_id, model name or physical id', () => {
    const r = parseCpuInfo(fixture('cpuinfo-arm64.txt'));
    assert.deepEqual(
      r.map((c) => c.processor),
      ['0', '1'],
    );
    assert.deepEqual(r[0], { processor: '0', vendorId: '0x41', modelName: '0xd0c', physicalId: '', coreId: '' });
  });

  test('garbage gives no records', () => {
    assert.deepEqual(parseCpuInfo(''), []);
    assert.deepEqual(parseCpuInfo('hello\n\nworld: 1\n'), []);
    assert.deepEqual(parseCpuInfo('processor : x\nvendor_id : Foo\n'), []);
  });
});

// ---------- cgroup CPU accounting ----------

describe('parseCgroupCpuSeconds', () => {
  test('v2 cpu.stat usage_usec', () => {
    const text = 'usage_usec 123456789\nuser_usec 100000000\nsystem_usec 23456789\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\nnr_bursts 0\nburst_usec 0\n';
    near(parseCgroupCpuSeconds(text, 'v2'), 123.456789, 'usage_usec');
    near(parseCgroupCpuSeconds('nr_periods 5\nusage_usec 2000000\n', 'v2'), 2, 'not first line');
    assert.equal(parseCgroupCpuSeconds('usage_usec 0\n', 'v2'), 0);
  });

  test('v1 cpuacct.usage nanoseconds', () => {
    near(parseCgroupCpuSeconds('123456789000\n', 'v1'), 123.456789, 'cpuacct.usage');
    assert.equal(parseCgroupCpuSeconds('0\n', 'v1'), 0);
  });

  test('garbage throws', () => {
    for (const t of ['', 'user_usec 5\nsystem_usec 6\n', 'xusage_usec 5', 'usage_usec abc', 'usage_usec -5']) {
      assert.throws(() => parseCgroupCpuSeconds(t, 'v2'), Error, `v2 accepted ${JSON.stringify(t)}`);
    }
    for (const t of ['', 'abc', '-5', '12 34', '1.5', 'usage_usec 5']) {
      assert.throws(() => parseCgroupCpuSeconds(t, 'v1'), Error, `v1 accepted ${JSON.stringify(t)}`);
    }
  });

  test('counters too long for a double are refused', () => {
    assert.throws(() => parseCgroupCpuSeconds(`usage_usec ${'9'.repeat(400)}\n`, 'v2'), /400 digits, out of range/);
    assert.throws(() => parseCgroupCpuSeconds(`${'9'.repeat(400)}\n`, 'v1'), /400 digits, out of range/);
  });
});

describe('detectCgroupLayout and cgroupCpuSource', () => {
  test('v2 at the root, at unified/, v1 cpuacct, none', (t) => {
    const root = mkdtempSync(join(tmpdir(), 'kepler-cg-'));
    t.after(() => rmSync(root, { recursive: true, force: true }));
    const mk = (name: string, files: Record<string, string>) => {
      const sys = join(root, name);
      for (const [f, text] of Object.entries(files)) {
        mkdirSync(dirname(join(sys, 'fs', 'cgroup', f)), { recursive: true });
        writeFileSync(join(sys, 'fs', 'cgroup', f), text);
      }
      return sys;
    };
    const v2 = mk('v2', { 'cgroup.controllers': 'cpu memory\n' });
    assert.deepEqual(detectCgroupLayout(v2), { v2Root: join(v2, 'fs', 'cgroup') });
    const hybrid = mk('hybrid', { 'unified/cgroup.controllers': '', 'cpu,cpuacct/cpuacct.usage': '5\n' });
    assert.deepEqual(detectCgroupLayout(hybrid), { v2Root: join(hybrid, 'fs', 'cgroup', 'unified'), v1CpuacctRoot: join(hybrid, 'fs', 'cgroup', 'cpu,cpuacct') });
    const v1 = mk('v1', { 'cpuacct/cpuacct.usage': '5\n', [`cpuacct/docker/${ID}/cpuacct.usage`]: '7\n' });
    const layout = detectCgroupLayout(v1);
    assert.deepEqual(layout, { v1CpuacctRoot: join(v1, 'fs', 'cgroup', 'cpuacct') });
    mkdirSync(join(root, 'none'));
    assert.deepEqual(detectCgroupLayout(join(root, 'none')), {});

    const lines = parseProcCgroup(`4:cpu,cpuacct:/docker/${ID}\n1:name=systemd:/docker/${ID}\n0::/\n`);
    const c = containerOfProcess(lines);
    assert.ok(c);
    assert.deepEqual(cgroupCpuSource(layout, c.line, lines, ID), { file: join(v1, 'fs', 'cgroup', 'cpuacct', 'docker', ID, 'cpuacct.usage'), kind: 'v1' });
    // The cgroup directory does not exist: no source.
    const other = parseProcCgroup(`4:cpu,cpuacct:/docker/${ID2}\n`);
    assert.equal(cgroupCpuSource(layout, other[0], other, ID2), undefined);
  });
});

// ---------- ResourceInformer on a synthetic host ----------

type CgroupMode = 'v2' | 'hybrid' | 'v1';

interface ProcSpec {
  comm?: string;
  /** The state field (default S). */
  state?: string;
  utime?: number;
  stime?: number;
  /** Start time after boot, ticks. */
  start: number;
  flags?: number;
  /** The process's cgroup path (the /proc/<pid>/cgroup file is written for the host's mode). */
  cgroup?: string;
  cmdline?: string[];
  environ?: string[];
  /** Target of the exe link; null: no link (a zombie). */
  exe?: string | null;
}

const STAT_TAIL = '1000000 100 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0';

/** A procfs and sysfs tree under a temp dir, with counters the test moves. */
class FakeHost {
  readonly root = mkdtempSync(join(tmpdir(), 'kepler-resource-'));
  readonly procfs = join(this.root, 'proc');
  readonly sysfs = join(this.root, 'sys');
  private readonly cgRoot: string;
  private readonly specs = new Map<number, ProcSpec>();
  private cpu: CpuTimes = { user: 50000, nice: 100, system: 20000, idle: 400000, iowait: 1000, irq: 0, softirq: 300, steal: 0 };

  constructor(
    t: TestContext,
    readonly mode: CgroupMode = 'v2',
  ) {
    t.after(() => rmSync(this.root, { recursive: true, force: true }));
    const cg = join(this.sysfs, 'fs', 'cgroup');
    mkdirSync(this.procfs, { recursive: true });
    mkdirSync(cg, { recursive: true });
    if (mode === 'v2') {
      this.cgRoot = cg;
      writeFileSync(join(cg, 'cgroup.controllers'), 'cpuset cpu io memory hugetlb pids rdma misc\n');
    } else if (mode === 'hybrid') {
      this.cgRoot = join(cg, 'unified');
      mkdirSync(this.cgRoot);
      writeFileSync(join(this.cgRoot, 'cgroup.controllers'), '');
      mkdirSync(join(cg, 'cpu,cpuacct'));
      writeFileSync(join(cg, 'cpu,cpuacct', 'cpuacct.usage'), '999999999999\n');
    } else {
      this.cgRoot = join(cg, 'cpu,cpuacct');
      mkdirSync(this.cgRoot);
      writeFileSync(join(this.cgRoot, 'cpuacct.usage'), '999999999999\n');
    }
    // Entries of a real /proc that are not processes.
    writeFileSync(join(this.procfs, 'meminfo'), 'MemTotal: 1 kB\n');
    mkdirSync(join(this.procfs, 'sys'));
    symlinkSync('4242', join(this.procfs, 'self'));
    this.writeStat();
    this.uptime(100);
  }

  informer(pods?: PodMetadataSource): ResourceInformer {
    return new ResourceInformer({ procfs: this.procfs, sysfs: this.sysfs, ...(pods ? { pods } : {}) });
  }

  /** Points /proc/self at `pid`: the informer's own process. */
  self(pid: number): void {
    rmSync(join(this.procfs, 'self'));
    symlinkSync(String(pid), join(this.procfs, 'self'));
  }

  uptime(sec: number): void {
    writeFileSync(join(this.procfs, 'uptime'), `${sec.toFixed(2)} ${(sec * 3.7).toFixed(2)}\n`);
  }

  nodeCpu(d: Partial<CpuTimes>): void {
    for (const [k, v] of Object.entries(d)) this.cpu[k as keyof CpuTimes] += v;
    this.writeStat();
  }

  private writeStat(): void {
    const c = this.cpu;
    const agg = `${c.user} ${c.nice} ${c.system} ${c.idle} ${c.iowait} ${c.irq} ${c.softirq} ${c.steal} 0 0`;
    writeFileSync(join(this.procfs, 'stat'), `cpu  ${agg}\ncpu0 ${agg}\nintr 12345 0 0 0\nctxt 999\nbtime 1715000000\nprocesses 4242\nprocs_running 1\nprocs_blocked 0\n`);
  }

  cgroupFile(path: string): string {
    if (this.mode === 'v2') return `0::${path}\n`;
    if (this.mode === 'hybrid') return `12:pids:${path}\n4:cpu,cpuacct:${path}\n1:name=systemd:${path}\n0::${path}\n`;
    return `12:pids:${path}\n4:cpu,cpuacct:${path}\n3:memory:${path}\n1:name=systemd:${path}\n0::/\n`;
  }

  proc(pid: number, spec: ProcSpec): void {
    this.specs.set(pid, { ...spec });
    const dir = join(this.procfs, String(pid));
    mkdirSync(dir, { recursive: true });
    this.writePidStat(pid);
    writeFileSync(join(dir, 'cgroup'), this.cgroupFile(spec.cgroup ?? '/user.slice/user-0.slice/session-1.scope'));
    writeFileSync(join(dir, 'cmdline'), (spec.cmdline ?? [`/usr/bin/${spec.comm ?? 'proc'}`]).map((a) => a + '\0').join(''));
    writeFileSync(join(dir, 'environ'), (spec.environ ?? ['PATH=/usr/bin']).map((a) => a + '\0').join(''));
    const exe = spec.exe === undefined ? `/usr/bin/${spec.comm ?? 'proc'}` : spec.exe;
    if (exe !== null) symlinkSync(exe, join(dir, 'exe'));
  }

  private spec(pid: number): ProcSpec {
    const s = this.specs.get(pid);
    if (!s) throw new Error(`no process ${pid} in this fake /proc`);
    return s;
  }

  ticks(pid: number, utime: number, stime = 0): void {
    const s = this.spec(pid);
    s.utime = utime;
    s.stime = stime;
    this.writePidStat(pid);
  }

  private writePidStat(pid: number): void {
    const s = this.spec(pid);
    const line = `${pid} (${s.comm ?? 'proc'}) ${s.state ?? 'S'} 1 ${pid} ${pid} 0 -1 ${s.flags ?? 4194560} 10 0 0 0 ${s.utime ?? 0} ${s.stime ?? 0} 0 0 20 0 1 0 ${s.start} ${STAT_TAIL}\n`;
    writeFileSync(join(this.procfs, String(pid), 'stat'), line);
  }

  kill(pid: number): void {
    this.specs.delete(pid);
    rmSync(join(this.procfs, String(pid)), { recursive: true, force: true });
  }

  /** Changes a process's spec (its stat file is written again). */
  update(pid: number, change: Partial<ProcSpec>): void {
    Object.assign(this.spec(pid), change);
    this.writePidStat(pid);
  }

  /** Sets a cgroup's CPU counter: cpu.stat usage_usec on v2/hybrid, cpuacct.usage (ns) on v1. */
  cgroupCpu(path: string, sec: number): void {
    const dir = join(this.cgRoot, path);
    mkdirSync(dir, { recursive: true });
    if (this.mode === 'v1') writeFileSync(join(dir, 'cpuacct.usage'), `${Math.round(sec * 1e9)}\n`);
    else
      writeFileSync(
        join(dir, 'cpu.stat'),
        `usage_usec ${Math.round(sec * 1e6)}\nuser_usec ${Math.round(sec * 7e5)}\nsystem_usec ${Math.round(sec * 3e5)}\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\n`,
      );
  }

  /** A v2 cgroup's cgroup.procs (one pid a line) and cgroup.type (null: no such file, as on the root or v1). */
  cgroupMembers(path: string, pids: number[], type: string | null = 'domain'): void {
    const dir = join(this.cgRoot, path);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'cgroup.procs'), pids.map((p) => `${p}\n`).join(''));
    if (type === null) rmSync(join(dir, 'cgroup.type'), { force: true });
    else writeFileSync(join(dir, 'cgroup.type'), `${type}\n`);
  }

  removeCgroup(path: string): void {
    rmSync(join(this.cgRoot, path), { recursive: true, force: true });
  }

  write(rel: string, text: string): void {
    writeFileSync(join(this.procfs, rel), text);
  }
}

const dockerScope = (id: string) => `/system.slice/docker-${id}.scope`;
const podPath = (uid: string, id: string) => `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${uid.replace(/-/g, '_')}.slice/cri-containerd-${id}.scope`;

describe('ResourceInformer on a synthetic host', () => {
  test('first refresh is a baseline; the second bills tick deltas / 100 and node CPU from /proc/stat', (t) => {
    const h = new FakeHost(t);
    h.proc(100, { comm: 'nginx', utime: 500, stime: 200, start: 2000, cgroup: dockerScope(ID) });
    h.proc(101, { comm: 'nginx', utime: 50, stime: 20, start: 2100, cgroup: dockerScope(ID) });
    h.proc(200, { comm: 'sshd', utime: 300, stime: 0, start: 500, cgroup: '/system.slice/ssh.service' });
    h.cgroupCpu(dockerScope(ID), 40);
    const inf = h.informer();

    const s1 = inf.refresh();
    assert.equal(s1.baseline, true);
    assert.deepEqual(s1.errors, {});
    assert.equal(s1.nodeActiveCpuSec, 0);
    assert.equal(s1.usageRatio, 0);
    assert.deepEqual(s1.processes.map((p) => p.info.pid).sort(), [100, 101, 200]);
    for (const w of [...s1.processes, ...s1.containers]) {
      assert.equal(w.cpuDeltaSec, 0, 'baseline bills nothing');
      assert.equal(w.ended, false);
    }
    assert.equal(ctr(s1, ID).info.runtime, 'docker');

    h.uptime(110);
    h.nodeCpu({ user: 400, system: 100, idle: 1400, iowait: 100 });
    h.ticks(100, 650, 230); // +180 ticks
    h.ticks(101, 60, 20); // +10 ticks
    h.ticks(200, 325, 0); // +25 ticks
    h.cgroupCpu(dockerScope(ID), 42.5);
    const s2 = inf.refresh();
    assert.equal(s2.baseline, false);
    assert.deepEqual(s2.errors, {});
    near(s2.nodeActiveCpuSec, 5, 'node active');
    near(s2.nodeTotalCpuSec, 20, 'node total');
    near(s2.usageRatio, 0.25, 'usage ratio');
    near(proc(s2, 100).cpuDeltaSec, 1.8, 'pid 100');
    near(proc(s2, 101).cpuDeltaSec, 0.1, 'pid 101');
    near(proc(s2, 200).cpuDeltaSec, 0.25, 'pid 200');
    const p100 = proc(s2, 100);
    assert.equal(p100.info.comm, 'nginx');
    assert.equal(p100.info.exe, '/usr/bin/nginx');
    assert.equal(p100.info.type, 'container');
    assert.equal(p100.info.containerId, ID);
    assert.equal(p100.info.key, '100/2000');
    assert.equal(proc(s2, 200).info.type, 'regular');
    assert.equal(proc(s2, 200).info.containerId, '');
    // The container is billed its cgroup counter, which exceeds its live processes.
    const c = ctr(s2, ID);
    near(c.cpuDeltaSec, 2.5, 'container delta');
    assert.ok(c.cpuDeltaSec > proc(s2, 100).cpuDeltaSec + proc(s2, 101).cpuDeltaSec);

    h.uptime(120);
    h.ticks(100, 700, 230); // +50
    h.cgroupCpu(dockerScope(ID), 43.5);
    const s3 = inf.refresh();
    near(proc(s3, 100).cpuDeltaSec, 0.5, 'pid 100 third');
    near(proc(s3, 100).cpuTotalSec, 2.3, 'pid 100 total');
    near(proc(s3, 101).cpuDeltaSec, 0, 'idle process');
    near(ctr(s3, ID).cpuDeltaSec, 1, 'container third');
    near(ctr(s3, ID).cpuTotalSec, 3.5, 'container total');
  });

  test('a non-ASCII comm is exported as the process wrote it, and oversized fields are counted, not Infinity', (t) => {
    const h = new FakeHost(t);
    h.proc(100, { comm: 'café☃', utime: 10, start: 2000 });
    h.proc(101, { comm: 'ok', utime: 10, start: 2000 });
    const inf = h.informer();
    inf.refresh();
    h.uptime(110);
    h.ticks(100, 20);
    writeFileSync(join(h.procfs, '101', 'stat'), `101 (ok) S 1 1 1 0 -1 0 0 0 0 0 ${'9'.repeat(400)} 0 0 0 20 0 1 0 2000 ${'0 '.repeat(30)}\n`);
    const s2 = inf.refresh();
    assert.equal(proc(s2, 100).info.comm, 'café☃');
    assert.equal(s2.errors.process_parse, 1);
    assert.ok(s2.processes.every((p) => Number.isFinite(p.cpuDeltaSec) && Number.isFinite(p.cpuTotalSec)));
    // /proc/stat with an oversized field: the interval has no usage, reported, nothing billed on a guess.
    h.uptime(120);
    writeFileSync(join(h.procfs, 'stat'), `cpu  1 2 ${'9'.repeat(400)} 4 5 6 7 8\n`);
    const s3 = inf.refresh();
    assert.equal(s3.errors.proc_stat, 1);
    assert.equal(s3.usageRatio, 0);
    assert.ok(Number.isFinite(s3.nodeActiveCpuSec));
  });

  test('a process first seen after the baseline: billed all its CPU if it started since the previous refresh, else nothing', (t) => {
    const h = new FakeHost(t);
    h.proc(1, { comm: 'init', utime: 100, start: 1 });
    const inf = h.informer();
    inf.refresh(); // uptime 100 s = 10000 ticks

    h.uptime(110);
    h.proc(300, { comm: 'make', utime: 70, stime: 5, start: 10500 });
    h.proc(301, { comm: 'oldtimer', utime: 400, stime: 100, start: 9000 });
    const s2 = inf.refresh();
    near(proc(s2, 300).cpuDeltaSec, 0.75, 'new process');
    near(proc(s2, 300).cpuTotalSec, 0.75, 'new process total');
    assert.equal(proc(s2, 301).cpuDeltaSec, 0, 'a process older than the previous refresh is a baseline');

    h.uptime(120);
    h.ticks(300, 100, 5);
    h.ticks(301, 410, 100);
    const s3 = inf.refresh();
    near(proc(s3, 300).cpuDeltaSec, 0.3, 'then normal deltas');
    near(proc(s3, 300).cpuTotalSec, 1.05, 'total');
    near(proc(s3, 301).cpuDeltaSec, 0.1, 'then normal deltas');
  });

  test('pid reuse: the old process ends, the new one is separate', (t) => {
    const h = new FakeHost(t);
    h.proc(400, { comm: 'old', utime: 100, start: 2000 });
    const inf = h.informer();
    inf.refresh();
    h.uptime(110);
    h.ticks(400, 150);
    near(proc(inf.refresh(), 400).cpuDeltaSec, 0.5, 'old process');

    h.uptime(120);
    h.kill(400);
    h.proc(400, { comm: 'worker', utime: 30, stime: 10, start: 11500 });
    const s3 = inf.refresh();
    const entries = procsOf(s3, 400);
    assert.equal(entries.length, 2);
    const old = one(
      entries.filter((p) => p.ended),
      'ended entry',
    );
    const fresh = one(
      entries.filter((p) => !p.ended),
      'live entry',
    );
    assert.equal(old.info.key, '400/2000');
    assert.equal(old.info.comm, 'old');
    assert.equal(old.cpuDeltaSec, 0);
    near(old.cpuTotalSec, 0.5, 'old total kept');
    assert.equal(fresh.info.key, '400/11500');
    assert.equal(fresh.info.comm, 'worker');
    near(fresh.cpuDeltaSec, 0.4, 'new process billed from its start');
    near(fresh.cpuTotalSec, 0.4, 'new total does not inherit the old one');

    h.uptime(130);
    const s4 = inf.refresh();
    assert.equal(proc(s4, 400).info.key, '400/11500');
    assert.equal(proc(s4, 400).ended, false);
  });

  test('a process that disappears is reported ended once, then gone', (t) => {
    const h = new FakeHost(t);
    h.proc(500, { comm: 'job', utime: 10, start: 100 });
    h.proc(501, { comm: 'stays', utime: 10, start: 100 });
    const inf = h.informer();
    inf.refresh();
    h.uptime(110);
    h.ticks(500, 90);
    near(proc(inf.refresh(), 500).cpuDeltaSec, 0.8, 'before the end');

    h.uptime(120);
    h.kill(500);
    const s3 = inf.refresh();
    const gone = proc(s3, 500);
    assert.equal(gone.ended, true);
    assert.equal(gone.cpuDeltaSec, 0);
    near(gone.cpuTotalSec, 0.8, 'final total');
    assert.equal(proc(s3, 501).ended, false);

    h.uptime(130);
    const s4 = inf.refresh();
    assert.equal(procsOf(s4, 500).length, 0);
    assert.equal(proc(s4, 501).ended, false);
  });

  test('container CPU from cgroup v1 cpuacct.usage', (t) => {
    const h = new FakeHost(t, 'v1');
    const path = `/docker/${ID}`;
    h.proc(600, { comm: 'redis-server', utime: 100, start: 100, cgroup: path });
    h.cgroupCpu(path, 10);
    const inf = h.informer();
    inf.refresh();
    h.uptime(110);
    h.ticks(600, 200);
    h.cgroupCpu(path, 12.5);
    const s = inf.refresh();
    assert.deepEqual(s.errors, {});
    near(proc(s, 600).cpuDeltaSec, 1, 'process');
    const c = ctr(s, ID);
    assert.equal(c.info.runtime, 'docker');
    near(c.cpuDeltaSec, 2.5, 'container from cpuacct.usage');
  });

  test('container CPU from cgroup v2 at unified/ on a hybrid host', (t) => {
    const h = new FakeHost(t, 'hybrid');
    h.proc(610, { comm: 'postgres', utime: 100, start: 100, cgroup: dockerScope(ID) });
    h.cgroupCpu(dockerScope(ID), 100);
    const inf = h.informer();
    inf.refresh();
    h.uptime(110);
    h.ticks(610, 150);
    h.cgroupCpu(dockerScope(ID), 101.75);
    const s = inf.refresh();
    assert.deepEqual(s.errors, {});
    near(ctr(s, ID).cpuDeltaSec, 1.75, 'container from unified cpu.stat');
  });

  test('a container first seen after the baseline whose processes all just started is billed its whole counter', (t) => {
    const h = new FakeHost(t);
    h.proc(1, { comm: 'init', start: 1 });
    const inf = h.informer();
    inf.refresh();
    h.uptime(110);
    h.proc(620, { comm: 'sh', utime: 80, start: 10200, cgroup: dockerScope(ID) });
    h.cgroupCpu(dockerScope(ID), 3);
    h.proc(630, { comm: 'app', utime: 80, start: 5000, cgroup: dockerScope(ID2) });
    h.cgroupCpu(dockerScope(ID2), 300);
    const s = inf.refresh();
    near(ctr(s, ID).cpuDeltaSec, 3, 'new container');
    assert.equal(ctr(s, ID2).cpuDeltaSec, 0, 'an older container first seen now is a baseline');
  });

  test('a container whose cgroup cannot be read falls back to the sum of its processes, and counts it', (t) => {
    const h = new FakeHost(t);
    h.proc(640, { comm: 'a', utime: 100, start: 100, cgroup: dockerScope(ID) }); // no cpu.stat written
    h.proc(641, { comm: 'b', utime: 100, start: 100, cgroup: dockerScope(ID) });
    h.proc(650, { comm: 'c', utime: 100, start: 100, cgroup: dockerScope(ID2) });
    h.cgroupCpu(dockerScope(ID2), 50);
    const inf = h.informer();
    assert.equal(inf.refresh().errors.cgroup_fallback, 1);
    h.uptime(110);
    h.ticks(640, 130);
    h.ticks(641, 145);
    h.ticks(650, 110);
    h.cgroupCpu(dockerScope(ID2), 50.5);
    const s = inf.refresh();
    near(ctr(s, ID).cpuDeltaSec, 0.75, 'process sum');
    near(ctr(s, ID2).cpuDeltaSec, 0.5, 'the other container still from its cgroup');
    assert.equal(s.errors.cgroup_fallback, 1);

    // A cgroup file that turns to garbage: fallback for that interval too.
    h.uptime(120);
    h.ticks(650, 130);
    writeFileSync(join(h.sysfs, 'fs', 'cgroup', dockerScope(ID2), 'cpu.stat'), 'garbage\n');
    const s3 = inf.refresh();
    near(ctr(s3, ID2).cpuDeltaSec, 0.2, 'process sum after a failed read');
    assert.equal(s3.errors.cgroup_fallback, 2);
  });

  test('a container whose last process is gone is reported once, ended, with its final cgroup delta', (t) => {
    const h = new FakeHost(t);
    const path = podPath(POD_UID, ID);
    h.proc(660, { comm: 'job', utime: 100, start: 100, cgroup: path });
    h.cgroupCpu(path, 10);
    const inf = h.informer();
    inf.refresh();
    h.uptime(110);
    h.ticks(660, 150);
    h.cgroupCpu(path, 11);
    near(ctr(inf.refresh(), ID).cpuDeltaSec, 1, 'while alive');

    h.uptime(120);
    h.kill(660);
    h.cgroupCpu(path, 11.7); // the cgroup outlives its processes by a moment
    const s3 = inf.refresh();
    const c = ctr(s3, ID);
    assert.equal(c.ended, true);
    near(c.cpuDeltaSec, 0.7, 'final delta');
    near(c.cpuTotalSec, 1.7, 'final total');
    const p = pod(s3, POD_UID);
    assert.equal(p.ended, true);
    near(p.cpuDeltaSec, 0.7, 'pod final delta');

    h.uptime(130);
    const s4 = inf.refresh();
    assert.equal(s4.containers.length, 0);
    assert.equal(s4.pods.length, 0);
  });

  test('a container whose cgroup is already removed ends with a zero final delta', (t) => {
    const h = new FakeHost(t);
    h.proc(670, { comm: 'x', utime: 100, start: 100, cgroup: dockerScope(ID) });
    h.cgroupCpu(dockerScope(ID), 10);
    const inf = h.informer();
    inf.refresh();
    h.uptime(110);
    h.kill(670);
    h.removeCgroup(dockerScope(ID));
    const c = ctr(inf.refresh(), ID);
    assert.equal(c.ended, true);
    assert.equal(c.cpuDeltaSec, 0);
  });

  test('container names from CONTAINER_NAME, HOSTNAME, or --name', (t) => {
    const h = new FakeHost(t);
    const ids = [cid('n1'), cid('n2'), cid('n3'), cid('n4')];
    h.proc(700, { comm: 'a', start: 1, cgroup: dockerScope(ids[0]), environ: ['PATH=/bin', 'HOSTNAME=3f5e8a9b0c1d', 'CONTAINER_NAME=web'] });
    h.proc(701, { comm: 'b', start: 1, cgroup: dockerScope(ids[1]), environ: ['PATH=/bin', 'HOSTNAME=db-primary'] });
    h.proc(702, { comm: 'c', start: 1, cgroup: dockerScope(ids[2]), environ: [], cmdline: ['/usr/bin/conmon', '--name', 'builder'] });
    h.proc(703, { comm: 'd', start: 1, cgroup: dockerScope(ids[3]), environ: [] });
    const s = h.informer().refresh();
    assert.deepEqual(
      ids.map((id) => ctr(s, id).info.name),
      ['web', 'db-primary', 'builder', ''],
    );
  });

  test('pods sum their containers (pod UID from the systemd cgroup path)', (t) => {
    const h = new FakeHost(t);
    const UID_B = '0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b';
    const ids = [cid('a1'), cid('a2'), cid('b1')];
    const paths = [podPath(POD_UID, ids[0]), podPath(POD_UID, ids[1]), podPath(UID_B, ids[2])];
    paths.forEach((p, i) => {
      h.proc(710 + i, { comm: `c${i}`, utime: 100, start: 100, cgroup: p });
      h.cgroupCpu(p, 10);
    });
    const inf = h.informer();
    const s1 = inf.refresh();
    assert.equal(s1.pods.length, 2);
    h.uptime(110);
    h.cgroupCpu(paths[0], 11);
    h.cgroupCpu(paths[1], 10.25);
    h.cgroupCpu(paths[2], 14);
    const s2 = inf.refresh();
    assert.equal(ctr(s2, ids[0]).info.podId, POD_UID);
    assert.equal(ctr(s2, ids[0]).info.runtime, 'containerd');
    near(pod(s2, POD_UID).cpuDeltaSec, 1.25, 'pod A');
    near(pod(s2, UID_B).cpuDeltaSec, 4, 'pod B');
    near(sum(s2.pods), sum(s2.containers), 'pods = containers');
    h.uptime(120);
    h.cgroupCpu(paths[0], 12);
    const s3 = inf.refresh();
    near(pod(s3, POD_UID).cpuTotalSec, 2.25, 'pod A total');
    assert.equal(pod(s3, POD_UID).ended, false);
  });

  test('a container outside Kubernetes has no pod', (t) => {
    const h = new FakeHost(t);
    h.proc(720, { comm: 'x', start: 1, cgroup: dockerScope(ID) });
    const s = h.informer().refresh();
    assert.equal(ctr(s, ID).info.podId, '');
    assert.equal(s.pods.length, 0);
  });

  test('qemu processes make the VM level; a qemu inside a pod counts as the container', (t) => {
    const h = new FakeHost(t);
    const U1 = 'c7a5fdbd-cdaf-9455-926a-d65c16db1809';
    h.proc(800, {
      comm: 'qemu-system-x86',
      utime: 1000,
      stime: 500,
      start: 100,
      cgroup: '/machine.slice/machine-qemu\\x2d1\\x2dvm1.scope/libvirt/emulator',
      cmdline: ['/usr/bin/qemu-system-x86_64', '-name', 'guest=vm1,debug-threads=on', '-S', '-uuid', U1, '-smp', '4'],
      exe: '/usr/bin/qemu-system-x86_64',
    });
    h.proc(801, { comm: 'qemu-system-x86', utime: 10, start: 100, cmdline: ['/usr/bin/qemu-system-x86_64', '-name', 'vm2'] });
    h.proc(802, {
      comm: 'qemu-kvm',
      utime: 10,
      start: 100,
      cgroup: podPath(POD_UID, ID),
      cmdline: ['/usr/libexec/qemu-kvm', '-name', 'guest=kubevirt_vmi,debug-threads=on', '-uuid', 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee'],
    });
    h.cgroupCpu(podPath(POD_UID, ID), 1);
    const inf = h.informer();
    const s1 = inf.refresh();
    assert.deepEqual(s1.vms.map((v) => v.info.id).sort(), [U1, 'vm2']);
    assert.equal(vm(s1, U1).info.name, 'vm1');
    assert.equal(vm(s1, U1).info.hypervisor, 'kvm');
    assert.equal(proc(s1, 800).info.type, 'vm');
    assert.equal(proc(s1, 800).info.vmId, U1);
    assert.equal(proc(s1, 802).info.type, 'container');
    assert.equal(proc(s1, 802).info.vmId, '');

    h.uptime(110);
    h.ticks(800, 1200, 600); // +300 ticks
    h.ticks(801, 35);
    const s2 = inf.refresh();
    near(vm(s2, U1).cpuDeltaSec, 3, 'vm1');
    near(vm(s2, 'vm2').cpuDeltaSec, 0.25, 'vm2');
    assert.equal(vm(s2, U1).ended, false);

    h.uptime(120);
    h.kill(800);
    const s3 = inf.refresh();
    assert.equal(vm(s3, U1).ended, true);
    near(vm(s3, U1).cpuTotalSec, 3, 'vm1 final total');
    assert.equal(vm(s3, 'vm2').ended, false);
    h.uptime(130);
    const s4 = inf.refresh();
    assert.deepEqual(
      s4.vms.map((v) => v.info.id),
      ['vm2'],
    );
  });

  test('one unreadable or garbled process never stops the refresh: skipped and counted', (t) => {
    const h = new FakeHost(t);
    h.proc(900, { comm: 'good', utime: 100, start: 100 });
    h.proc(901, { comm: 'garbled', utime: 100, start: 100 });
    h.write('901/stat', 'garbage that is not a stat line\n');
    h.proc(902, { comm: 'dir', utime: 100, start: 100 });
    rmSync(join(h.procfs, '902', 'stat'));
    mkdirSync(join(h.procfs, '902', 'stat')); // EISDIR
    h.proc(903, { comm: 'loop', utime: 100, start: 100 });
    rmSync(join(h.procfs, '903', 'stat'));
    symlinkSync('stat', join(h.procfs, '903', 'stat')); // ELOOP
    mkdirSync(join(h.procfs, '904')); // exited between the listing and the read: no stat
    h.proc(905, { comm: 'good2', utime: 100, start: 100 });
    const inf = h.informer();
    const s1 = inf.refresh();
    assert.deepEqual(s1.processes.map((p) => p.info.pid).sort(), [900, 905]);
    assert.deepEqual(s1.errors, { process_parse: 1, process_unreadable: 2, process_vanished: 1 });

    h.uptime(110);
    h.ticks(900, 120);
    h.ticks(905, 130);
    const s2 = inf.refresh();
    near(proc(s2, 900).cpuDeltaSec, 0.2, 'others still billed');
    near(proc(s2, 905).cpuDeltaSec, 0.3, 'others still billed');
    assert.equal(s2.errors.process_parse, 1);
  });

  test('a listed process whose stat cannot be read once is not ended: its CPU is billed at the next good read', (t) => {
    const h = new FakeHost(t);
    h.proc(920, { comm: 'flaky', utime: 100, start: 100 });
    const inf = h.informer();
    inf.refresh();
    h.uptime(110);
    h.write('920/stat', 'garbage that is not a stat line\n');
    const s2 = inf.refresh();
    const unreadable = one(procsOf(s2, 920), 'reported while unreadable (its series continues), not ended');
    assert.deepEqual([unreadable.ended, unreadable.cpuDeltaSec], [false, 0]);
    assert.equal(s2.errors.process_parse, 1);
    h.uptime(120);
    h.ticks(920, 150);
    const s3 = inf.refresh();
    const p = one(procsOf(s3, 920), 'one live entry');
    assert.equal(p.ended, false);
    near(p.cpuDeltaSec, 0.5, 'both intervals billed at the good read');
  });

  test('a process without an exe link (zombie) and a kernel thread are kept', (t) => {
    const h = new FakeHost(t);
    h.proc(2, { comm: 'kthreadd', start: 0, flags: 2129984, exe: null, cgroup: '/' });
    h.proc(910, { comm: 'defunct', utime: 100, start: 100, exe: null });
    h.proc(911, { comm: 'python3', utime: 100, start: 100, exe: '/usr/bin/python3.12' });
    const inf = h.informer();
    assert.deepEqual(inf.refresh().errors, {}, 'a missing exe link is no error');
    h.uptime(110);
    h.ticks(910, 104);
    const s = inf.refresh();
    assert.deepEqual(s.errors, {});
    const z = proc(s, 910);
    assert.equal(z.info.exe, '');
    assert.equal(z.info.comm, 'defunct');
    near(z.cpuDeltaSec, 0.04, 'zombie still billed');
    assert.equal(proc(s, 911).info.exe, '/usr/bin/python3.12');
    const k = proc(s, 2);
    assert.equal(k.info.kernelThread, true);
    assert.equal(k.info.type, 'regular');
    assert.equal(proc(s, 911).info.kernelThread, false);
  });

  test('a process that execs another program gets its new comm and exe, and keeps its history', (t) => {
    const h = new FakeHost(t);
    h.proc(930, { comm: 'sh', utime: 100, start: 100, exe: '/usr/bin/dash' });
    const inf = h.informer();
    inf.refresh();
    h.uptime(110);
    h.ticks(930, 110);
    near(proc(inf.refresh(), 930).cpuDeltaSec, 0.1, 'before exec');
    h.uptime(120);
    h.kill(930);
    h.proc(930, { comm: 'python3', utime: 150, start: 100, exe: '/usr/bin/python3.12' }); // same start time: same process
    const p = proc(inf.refresh(), 930);
    assert.equal(p.ended, false);
    assert.equal(p.info.key, '930/100');
    assert.equal(p.info.comm, 'python3');
    assert.equal(p.info.exe, '/usr/bin/python3.12');
    near(p.cpuDeltaSec, 0.4, 'after exec');
    near(p.cpuTotalSec, 0.5, 'total kept across exec');
  });

  test('an unreadable /proc/stat is counted; processes are still reported, and no node CPU is guessed', (t) => {
    const h = new FakeHost(t);
    h.proc(920, { comm: 'a', utime: 100, start: 100 });
    const inf = h.informer();
    inf.refresh();
    h.uptime(110);
    h.ticks(920, 150);
    rmSync(join(h.procfs, 'stat'));
    const s = inf.refresh();
    assert.equal(s.errors.proc_stat, 1);
    assert.equal(s.nodeActiveCpuSec, 0);
    assert.equal(s.usageRatio, 0);
    near(proc(s, 920).cpuDeltaSec, 0.5, 'process still billed');
  });
});

// ---------- processes of quiet cgroups are not read (quietCgroups.ts) ----------

describe('ResourceInformer in a private cgroup namespace (the exporter in a pod of a cgroup v2 node)', () => {
  // The kernel writes /proc/<pid>/cgroup paths relative to the READER's cgroup namespace: from the
  // exporter's container three levels down, the host's cgroups read as /../../../<host path>.
  const uid = POD_UID;
  const uidB = '0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b';
  const podSlice = `/kubepods.slice/kubepods-pod${POD_UID_}.slice`;
  const own = { id: cid('exporter'), path: `${podSlice}/cri-containerd-${cid('exporter')}.scope` };
  const sibling = { id: cid('sidecar'), path: `${podSlice}/cri-containerd-${cid('sidecar')}.scope`, read: `/../cri-containerd-${cid('sidecar')}.scope` };
  const worker = { id: ID, path: dockerScope(ID), read: `/../../..${dockerScope(ID)}` };
  const other = { id: ID2, path: podPath(uidB, ID2), read: `/../..${podPath(uidB, ID2).slice('/kubepods.slice'.length)}` };
  const me = process.pid;

  /** pid 1 in the host's root cgroup, the exporter at the root of its namespace, three containers seen from there. */
  function node(t: TestContext): FakeHost {
    const h = new FakeHost(t);
    h.proc(1, { comm: 'systemd', utime: 900, start: 1, cgroup: '/../../..' });
    h.proc(me, { comm: 'kepler-ts', utime: 50, start: 900, cgroup: '/' });
    h.self(me);
    h.proc(300, { comm: 'worker', utime: 100, start: 1000, cgroup: worker.read });
    h.proc(400, { comm: 'sidecar', utime: 20, start: 1000, cgroup: sibling.read });
    h.proc(500, { comm: 'app', utime: 70, start: 1000, cgroup: other.read });
    for (const [c, pids] of [
      [own, [me]],
      [sibling, [400]],
      [worker, [300]],
      [other, [500]],
    ] as const) {
      h.cgroupMembers(c.path, [...pids]);
      h.cgroupCpu(c.path, 10);
    }
    return h;
  }

  test('containers are billed their cgroup counters (short-lived processes included), named and put in their pods as the cgroup-only mode does', (t) => {
    const h = node(t);
    const full = h.informer();
    const cgOnly = new ResourceInformer({ procfs: h.procfs, sysfs: h.sysfs, processes: false });
    const both = () => [full.refresh(), cgOnly.refresh()];
    both();
    // The worker's short-lived children used 2.5 s that no live process shows; its shell used 0.1 s.
    h.uptime(110);
    h.ticks(300, 110);
    h.cgroupCpu(worker.path, 12.5);
    h.ticks(500, 90);
    h.cgroupCpu(other.path, 10.25);
    for (const s of both()) {
      assert.deepEqual(s.errors, {}, 'no cgroup_fallback');
      near(ctr(s, worker.id).cpuDeltaSec, 2.5, 'worker: its counter, not its live processes');
      near(ctr(s, other.id).cpuDeltaSec, 0.25, 'another pod');
      assert.equal(ctr(s, sibling.id).cpuDeltaSec, 0);
      assert.deepEqual(
        [worker, other, sibling, own].map((c) => [ctr(s, c.id).info.podId, ctr(s, c.id).info.runtime]),
        [
          ['', 'docker'],
          [uidB, 'containerd'],
          [uid, 'containerd'], // the pod UID is in the tree path, not in `/../cri-containerd-<id>.scope`
          [uid, 'containerd'], // our own container reads as `/`
        ],
      );
    }
    // Quiet cgroups: from the third refresh on, the processes of cgroups whose counters stayed are
    // not read (a garbled stat file would be counted as process_parse if it were).
    h.uptime(120);
    for (const pid of [me, 300, 400, 500]) h.write(`${pid}/stat`, 'garbage\n');
    const s = full.refresh();
    assert.deepEqual(s.errors, {});
    assert.equal(s.processesSkipped, 4);
  });

  test('pid 1 in /init.scope (systemd on cgroup v2): the same', (t) => {
    const h = node(t);
    h.removeCgroup('/init.scope');
    h.kill(1);
    h.proc(1, { comm: 'systemd', utime: 900, start: 1, cgroup: '/../../../init.scope' });
    h.cgroupMembers('/init.scope', [1]);
    const inf = h.informer();
    inf.refresh();
    h.uptime(110);
    h.cgroupCpu(worker.path, 11);
    const s = inf.refresh();
    assert.deepEqual(s.errors, {});
    near(ctr(s, worker.id).cpuDeltaSec, 1, 'worker');
  });

  test('where the exporter’s own cgroup cannot be found, containers fall back to their processes and say so', (t) => {
    const h = node(t);
    h.cgroupMembers(own.path, []);
    const inf = h.informer();
    inf.refresh();
    h.uptime(110);
    h.ticks(300, 110);
    h.cgroupCpu(worker.path, 12.5);
    const s = inf.refresh();
    near(ctr(s, worker.id).cpuDeltaSec, 0.1, 'its live processes');
    assert.equal(s.errors.cgroup_fallback, 3, 'worker, sidecar, the other pod');
    assert.equal(ctr(s, sibling.id).info.podId, '', 'the pod UID is not in `/../cri-containerd-<id>.scope`');
  });
});

describe('ResourceInformer: a process whose cgroup used no CPU is not read', () => {
  /** A stat file the informer reports as process_parse if it reads it: the way to tell a read from a skip. */
  const garble = (h: FakeHost, pid: number) => h.write(`${pid}/stat`, 'garbage\n');

  test('skipped from the second reading of its cgroup on, while the counter stays; read and billed in full once it moves', (t) => {
    const h = new FakeHost(t);
    const svc = '/system.slice/idle.service';
    h.proc(300, { comm: 'idled', utime: 40, start: 500, cgroup: svc });
    h.proc(301, { comm: 'idled', utime: 10, start: 600, cgroup: svc });
    h.cgroupCpu(svc, 5);
    h.cgroupMembers(svc, [300, 301]);
    const inf = h.informer();
    inf.refresh(); // baseline: the cgroup is learnt, not read
    h.uptime(105);
    // pid 300 runs 20 ticks, and its stat cannot be read at the next refresh.
    h.cgroupCpu(svc, 5.2);
    garble(h, 300);
    // First reading of the cgroup: nothing to compare with, every process is read.
    assert.equal(inf.refresh().errors.process_parse, 1, 'read at the cgroup’s first reading');
    h.ticks(300, 60);
    h.uptime(110);
    // The counter stayed, but pid 300's last good value predates the previous reading: it is read, and billed.
    const late = inf.refresh();
    assert.deepEqual(late.errors, {});
    near(proc(late, 300).cpuDeltaSec, 0.2, 'billed at the next good read');
    h.uptime(115);
    garble(h, 300);
    garble(h, 301);
    const quiet = inf.refresh();
    assert.deepEqual(quiet.errors, {}, 'neither stat file is read while the counter stays');
    assert.equal(quiet.processesSkipped, 2);
    for (const pid of [300, 301]) {
      assert.equal(proc(quiet, pid).cpuDeltaSec, 0);
      assert.equal(proc(quiet, pid).ended, false);
    }
    assert.equal(proc(quiet, 300).info.comm, 'idled');
    h.uptime(120);
    assert.deepEqual(inf.refresh().errors, {}, 'still quiet');

    // The service runs: its counter moves, and both stat files are read again.
    h.cgroupCpu(svc, 5.3);
    h.ticks(300, 90); // +30 ticks since the last good read, three refreshes ago
    h.ticks(301, 10);
    h.uptime(125);
    const busy = inf.refresh();
    assert.deepEqual(busy.errors, {});
    near(proc(busy, 300).cpuDeltaSec, 0.3, 'pid 300 billed what it used');
    assert.equal(proc(busy, 301).cpuDeltaSec, 0);
    near(proc(busy, 300).cpuTotalSec, 0.5, 'nothing lost or billed twice');
  });

  test('read as before: a threaded cgroup, the root cgroup, a cgroup without cgroup.type, a process that left its cgroup', (t) => {
    const h = new FakeHost(t);
    const cases: [number, string, number[], string | null][] = [
      [400, '/app.slice/threads', [400], 'threaded'],
      [401, '/', [401], 'domain'], // the root, even if it said it was a domain
      [406, '/garbled.service', [406], 'domain'], // its cpu.stat cannot be parsed
      [402, '/notype.service', [402], null],
      [403, '/moved.service', [], 'domain'], // its cgroup no longer lists it
      [404, '/quiet.service', [404], 'domain'], // the one skipped
      [405, '/root.slice/threaded-root', [405], 'domain threaded'], // skipped: its subtree's threads are in its counter
    ];
    for (const [pid, path, members, type] of cases) {
      h.proc(pid, { comm: 'p', utime: 10, start: 500, cgroup: path });
      if (path !== '/') h.cgroupCpu(path, 1);
      h.cgroupMembers(path, members, type);
    }
    writeFileSync(join(h.sysfs, 'fs', 'cgroup', 'garbled.service', 'cpu.stat'), 'garbage\n');
    const inf = h.informer();
    for (let i = 0; i < 3; i++) {
      h.uptime(100 + i * 5);
      assert.deepEqual(inf.refresh().errors, {});
    }
    for (const [pid] of cases) garble(h, pid);
    h.uptime(120);
    const s = inf.refresh();
    assert.equal(s.errors.process_parse, 5, 'five of the seven stat files are read');
    for (const [pid] of cases) assert.equal(proc(s, pid).ended, false);
  });

  test('v1 hierarchies are never trusted: a thread may sit in another cgroup than its process', (t) => {
    const h = new FakeHost(t, 'v1');
    const path = '/system.slice/v1.service';
    h.proc(500, { comm: 'p', utime: 10, start: 500, cgroup: path });
    h.cgroupCpu(path, 1);
    h.cgroupMembers(path, [500]);
    const inf = h.informer();
    for (let i = 0; i < 3; i++) {
      h.uptime(100 + i * 5);
      inf.refresh();
    }
    garble(h, 500);
    assert.equal(inf.refresh().errors.process_parse, 1);
  });

  test('a process that moved into a quiet cgroup is read: it may have run where it was', (t) => {
    const h = new FakeHost(t);
    const [from, to] = ['/system.slice/from.service', '/system.slice/to.service'];
    h.proc(700, { comm: 'mover', utime: 10, start: 500, cgroup: from });
    h.proc(701, { comm: 'stays', utime: 10, start: 500, cgroup: to });
    for (const [path, pid] of [
      [from, 700],
      [to, 701],
    ] as const) {
      h.cgroupCpu(path, 1);
      h.cgroupMembers(path, [pid]);
    }
    const inf = h.informer();
    for (let i = 0; i < 3; i++) {
      h.uptime(100 + i * 5);
      inf.refresh();
    }
    // pid 700 runs 10 ticks where it was, then is moved into the quiet cgroup.
    h.ticks(700, 20);
    h.cgroupCpu(from, 1.1);
    h.cgroupMembers(from, []);
    h.cgroupMembers(to, [701, 700]);
    h.uptime(120);
    const s = inf.refresh();
    near(proc(s, 700).cpuDeltaSec, 0.1, 'billed in the interval it ran');
  });

  test('a process first seen in a quiet cgroup is read once more before it can be skipped: it may have moved in after its stat was read', (t) => {
    const h = new FakeHost(t);
    const svc = '/system.slice/quiet.service';
    h.proc(900, { comm: 'old', utime: 10, start: 500, cgroup: svc });
    h.cgroupCpu(svc, 1);
    h.cgroupMembers(svc, [900]);
    const inf = h.informer();
    for (let i = 0; i < 3; i++) {
      h.uptime(100 + i * 5);
      inf.refresh();
    }
    // pid 901 started in another cgroup and was moved into the quiet one: first seen there.
    h.proc(901, { comm: 'moved', utime: 5, start: 500, cgroup: svc });
    h.cgroupMembers(svc, [900, 901]);
    h.uptime(115);
    inf.refresh();
    // It ran 10 ticks where it was, between its stat and cgroup reads.
    h.ticks(901, 15);
    h.uptime(120);
    const s = inf.refresh();
    near(proc(s, 901).cpuDeltaSec, 0.1, 'read in the refresh after it was found');
    assert.equal(s.processesSkipped, 1, 'pid 900 is skipped');
  });

  test('a zombie leader is never skipped again: its threads may have moved to another cgroup without it', (t) => {
    const h = new FakeHost(t);
    const svc = '/system.slice/threads.service';
    h.proc(950, { comm: 'mt', utime: 10, start: 500, cgroup: svc });
    h.cgroupCpu(svc, 1);
    h.cgroupMembers(svc, [950]);
    const inf = h.informer();
    for (let i = 0; i < 3; i++) {
      h.uptime(100 + i * 5);
      inf.refresh();
    }
    // The main thread exits (that runs in the cgroup: its counter moves); its threads live on.
    h.update(950, { state: 'Z' });
    h.cgroupCpu(svc, 1.01);
    h.uptime(115);
    inf.refresh();
    // Its threads are moved to another cgroup and run there; the zombie leader stays listed here.
    for (let i = 0; i < 2; i++) {
      h.ticks(950, 20 + i * 10);
      h.uptime(120 + i * 5);
      near(proc(inf.refresh(), 950).cpuDeltaSec, 0.1, `interval ${i + 1}: billed while its cgroup is quiet`);
    }
  });

  test('a pid reused in the same quiet cgroup by a process moved there: the new one is billed in full once read', (t) => {
    const h = new FakeHost(t);
    const svc = '/system.slice/reuse.service';
    h.proc(800, { comm: 'old', utime: 10, start: 500, cgroup: svc });
    h.cgroupCpu(svc, 1);
    h.cgroupMembers(svc, [800]);
    const inf = h.informer();
    for (let i = 0; i < 3; i++) {
      h.uptime(100 + i * 5);
      inf.refresh();
    }
    // pid 800 ends (its counter is left as it was, the worst case) and is reused by a process
    // started elsewhere at 116 s that used 30 ticks there, then moved into the cgroup asleep.
    h.kill(800);
    h.proc(800, { comm: 'new', utime: 30, start: 11600, cgroup: svc });
    h.uptime(120);
    const unseen = inf.refresh();
    assert.equal(unseen.processesSkipped, 1, 'the cgroup says nothing ran: the pid is not read');
    // It runs 20 ticks in the cgroup: read, found new, billed everything it used.
    h.ticks(800, 50);
    h.cgroupCpu(svc, 1.2);
    h.uptime(125);
    const s = inf.refresh();
    const [ended, started] = [procsOf(s, 800).find((p) => p.ended), procsOf(s, 800).find((p) => !p.ended)];
    assert.equal(ended?.info.comm, 'old');
    assert.equal(started?.info.comm, 'new');
    near(started?.cpuDeltaSec ?? NaN, 0.5, 'nothing of the new process is lost');
  });

  test('QuietCgroups: one entry per cgroup while it has members; none for the root or a path from another cgroup namespace', () => {
    const q = new QuietCgroups('/sys/fs/cgroup');
    const line = (path: string) => [{ hierarchy: '0', controllers: [], path }];
    const a = q.join(line('/a.service'));
    const b = q.join(line('/a.service'));
    assert.ok(a && a === b);
    assert.equal(a.dir, '/sys/fs/cgroup/a.service');
    assert.equal(q.join(line('/')), undefined);
    assert.equal(q.join(line('/../../kubepods.slice/x.scope')), undefined);
    assert.equal(q.join([{ hierarchy: '4', controllers: ['cpuacct'], path: '/a.service' }]), undefined, 'v1 lines are not used');
    assert.equal(new QuietCgroups(undefined).join(line('/a.service')), undefined, 'no v2 hierarchy');
    assert.equal(q.size, 1);
    q.leave(a);
    assert.equal(q.size, 1);
    q.leave(a);
    assert.equal(q.size, 0);
  });

  test('a pid reused by a process in another cgroup is read: the old process ends, the new one is billed', (t) => {
    const h = new FakeHost(t);
    const svc = '/system.slice/old.service';
    h.proc(600, { comm: 'old', utime: 10, start: 500, cgroup: svc });
    h.cgroupCpu(svc, 1);
    h.cgroupMembers(svc, [600]);
    const inf = h.informer();
    for (let i = 0; i < 3; i++) {
      h.uptime(100 + i * 5);
      inf.refresh();
    }
    // Between two refreshes pid 600 exits (its cgroup's counter is left as it was, the worst case) and is reused elsewhere.
    h.kill(600);
    h.cgroupMembers(svc, []);
    h.proc(600, { comm: 'new', utime: 20, start: 11600, cgroup: '/system.slice/new.service' });
    h.uptime(120);
    const s = inf.refresh();
    assert.deepEqual(s.errors, {});
    const [ended, started] = [procsOf(s, 600).find((p) => p.ended), procsOf(s, 600).find((p) => !p.ended)];
    assert.equal(ended?.info.comm, 'old');
    assert.equal(started?.info.comm, 'new');
    near(started?.cpuDeltaSec ?? NaN, 0.2, 'the new process is billed from its start');
  });
});

// ---------- CPU requests from Kubernetes ----------

type Meta = NonNullable<ReturnType<PodMetadataSource['lookup']>>;

describe('ResourceInformer: CPU requests from the pod informer', () => {
  const UID_B = '0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b';
  const [A1, A2, B1] = [cid('rq-a1'), cid('rq-a2'), cid('rq-b1')];
  const podA = { uid: POD_UID, name: 'web-0', namespace: 'shop' };
  const podB = { uid: UID_B, name: 'db-0', namespace: 'shop' };

  test('ContainerInfo and PodInfo carry them; a resize is in the next sample; identity and labels stay', (t) => {
    const h = new FakeHost(t);
    const paths = [podPath(POD_UID, A1), podPath(POD_UID, A2), podPath(UID_B, B1)];
    paths.forEach((p, i) => {
      h.proc(810 + i, { comm: `c${i}`, utime: 100, start: 100, cgroup: p });
      h.cgroupCpu(p, 10);
    });
    h.proc(820, { comm: 'plain', start: 100, cgroup: dockerScope(ID) });
    const metas = new Map<string, Meta>([
      [A1, { containerName: 'app', pod: podA, cpuRequestCores: 0.25 }],
      [A2, { containerName: 'side', pod: podA, cpuRequestCores: 0.1 }],
      [B1, { containerName: 'db', pod: podB, cpuRequestCores: 1.5 }],
    ]);
    const inf = h.informer({ lookup: (id) => metas.get(id) });

    const s1 = inf.refresh();
    assert.equal(ctr(s1, A1).info.cpuRequestCores, 0.25);
    assert.equal(ctr(s1, A2).info.cpuRequestCores, 0.1);
    assert.equal(ctr(s1, B1).info.cpuRequestCores, 1.5);
    assert.equal(ctr(s1, ID).info.cpuRequestCores, 0, 'a container outside Kubernetes: 0');
    assert.deepEqual(pod(s1, POD_UID).info, { key: POD_UID, id: POD_UID, name: 'web-0', namespace: 'shop', cpuRequestCores: 0.35 }, 'the sum of its containers');
    assert.equal(pod(s1, UID_B).info.cpuRequestCores, 1.5);

    // Nothing changed: the very same info objects (collectors cache their labels per object).
    h.uptime(110);
    const s2 = inf.refresh();
    for (const id of [A1, A2, B1, ID]) assert.equal(ctr(s2, id).info, ctr(s1, id).info, id);
    assert.equal(pod(s2, POD_UID).info, pod(s1, POD_UID).info);

    // In-place resize of app: the next sample carries the new request, under the same key and labels.
    metas.set(A1, { containerName: 'app', pod: podA, cpuRequestCores: 1 });
    h.uptime(120);
    h.cgroupCpu(paths[0], 11);
    const s3 = inf.refresh();
    const a1 = ctr(s3, A1);
    assert.deepEqual({ ...a1.info }, { ...ctr(s2, A1).info, cpuRequestCores: 1 });
    assert.equal(a1.info.key, A1);
    near(a1.cpuTotalSec, 1, 'its CPU history is kept');
    assert.equal(pod(s3, POD_UID).info.cpuRequestCores, 1.1);
    assert.equal(pod(s3, POD_UID).info.key, POD_UID);
    assert.equal(ctr(s3, A2).info, ctr(s2, A2).info, 'the other container is untouched');
    assert.equal(pod(s3, UID_B).info, pod(s2, UID_B).info, 'the other pod is untouched');

    // The pod informer forgets the pod: the containers keep what they had.
    metas.clear();
    h.uptime(130);
    const s4 = inf.refresh();
    assert.equal(ctr(s4, A1).info, a1.info);
    assert.equal(pod(s4, POD_UID).info.cpuRequestCores, 1.1);

    // app ends: the pod's request is its running containers'; a pod whose containers all end keeps theirs.
    h.kill(810);
    h.kill(812);
    h.uptime(140);
    const s5 = inf.refresh();
    assert.equal(ctr(s5, A1).ended, true);
    assert.equal(ctr(s5, A1).info.cpuRequestCores, 1, 'an ended container keeps its request');
    assert.equal(pod(s5, POD_UID).ended, false);
    assert.equal(pod(s5, POD_UID).info.cpuRequestCores, 0.1);
    assert.equal(pod(s5, UID_B).ended, true);
    assert.equal(pod(s5, UID_B).info.cpuRequestCores, 1.5);
  });

  test('no pod informer: every request is 0', (t) => {
    const h = new FakeHost(t);
    h.proc(830, { comm: 'c', start: 100, cgroup: podPath(POD_UID, A1) });
    const s = h.informer().refresh();
    assert.equal(ctr(s, A1).info.cpuRequestCores, 0);
    assert.equal(pod(s, POD_UID).info.cpuRequestCores, 0);
  });

  describe('from a fake kubelet and API server, through both informers', () => {
    let dir = '';
    let tls: { certFile: string; keyFile: string };
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'resource-k8s-'));
      tls = makeCertificate(dir, 'fake');
    });
    after(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    for (const mode of ['kubelet', 'apiserver'] as const) {
      test(`${mode} mode: the pod list's requests reach the sample, and so does a resize`, async (t) => {
        const cluster = await startFakeCluster(dir, mode, tls);
        const { api, kubelet } = cluster;
        const access = loadKubeAccess(cluster.kubeconfig);
        const { logger } = captureLogger();
        const pods: PodInformer =
          mode === 'kubelet'
            ? new KubeletPodInformer({ access, nodeName: FAKE_NODE, pollIntervalMs: 100, kubeletCAFile: tls.certFile, logger, requestTimeoutMs: 2000 })
            : new ApiServerPodInformer({ access, nodeName: FAKE_NODE, logger });
        const publish = (p: TestPod) => {
          kubelet.pods = [p];
          api.setPod(p);
        };
        const h = new FakeHost(t);
        h.proc(840, { comm: 'app', start: 100, cgroup: podPath(POD_UID, A1) });
        h.proc(841, { comm: 'side', start: 100, cgroup: podPath(POD_UID, A2) });
        publish(testPod(POD_UID, { app: A1, side: A2 }, { name: 'web-0', cpuRequests: { app: '250m' } }));
        try {
          pods.start();
          assert.equal(await pods.whenSynced(5000), true);
          const inf = h.informer(pods);
          const s1 = inf.refresh();
          assert.equal(ctr(s1, A1).info.name, 'app');
          assert.equal(ctr(s1, A1).info.cpuRequestCores, 0.25);
          assert.equal(ctr(s1, A2).info.cpuRequestCores, 0);
          assert.deepEqual(pod(s1, POD_UID).info, { key: POD_UID, id: POD_UID, name: 'web-0', namespace: 'ns1', cpuRequestCores: 0.25 });

          // The fake API server does not replay events: the watch must be open before the change.
          const deadline = Date.now() + 5000;
          const waitFor = async (cond: () => boolean, what: string) => {
            while (!cond()) {
              if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
              await new Promise((r) => setTimeout(r, 20));
            }
          };
          if (mode === 'apiserver') await waitFor(() => api.openWatches() === 1, 'the watch');
          publish(testPod(POD_UID, { app: A1, side: A2 }, { name: 'web-0', cpuRequests: { app: '250m', side: '0.5' }, statusCpuRequests: { app: '2' } }));
          await waitFor(() => pods.lookup(A2)?.cpuRequestCores !== undefined, 'the resize to reach the informer');
          h.uptime(110);
          const s2 = inf.refresh();
          assert.equal(ctr(s2, A1).info.cpuRequestCores, 2);
          assert.equal(ctr(s2, A2).info.cpuRequestCores, 0.5);
          assert.equal(pod(s2, POD_UID).info.cpuRequestCores, 2.5);
        } finally {
          pods.stop();
          await cluster.stop();
        }
      });
    }
  });
});

// ---------- the real /proc of this machine ----------

describe('ResourceInformer on this machine', () => {
  test('sees this process as node, and bills a ~200 ms busy loop', () => {
    const inf = new ResourceInformer({ procfs: '/proc', sysfs: '/sys' });
    const s1 = inf.refresh();
    assert.equal(s1.baseline, true);
    assert.equal(proc(s1, process.pid).cpuDeltaSec, 0);

    // Busy for ~200 ms of CPU time (not wall time: other jobs may share the CPUs).
    const cpu0 = process.cpuUsage();
    const deadline = performance.now() + 10_000;
    let x = 0;
    for (;;) {
      for (let i = 0; i < 10_000; i++) x += Math.sqrt(x + i);
      const used = process.cpuUsage(cpu0);
      if (used.user + used.system >= 200_000 || performance.now() > deadline) break;
    }
    assert.ok(x > 0);

    const s2 = inf.refresh();
    assert.equal(s2.baseline, false);
    assert.equal(s2.errors.process_parse, undefined, 'every real stat line parses');
    const me = proc(s2, process.pid);
    assert.equal(me.info.comm, 'node');
    assert.equal(me.ended, false);
    assert.ok(me.cpuDeltaSec >= 0.1 && me.cpuDeltaSec <= 0.5, `cpuDeltaSec ${me.cpuDeltaSec}`);
    assert.ok(s2.usageRatio > 0 && s2.usageRatio <= 1, `usage ratio ${s2.usageRatio}`);
    assert.ok(s2.nodeActiveCpuSec >= 0.1, `node active ${s2.nodeActiveCpuSec}`);
    assert.ok(s2.processes.length > 1);
  });
});

test('FileReader: a procfs seq_file served one page per read comes back whole', async (t) => {
  // The kernel hands a seq_file (maps, cpuinfo on a big machine, a deep cgroup file) over one
  // page per read(); a reader that stops at the first short read gets only the first page.
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  t.after(() => child.kill('SIGKILL'));
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(child.pid !== undefined, 'the child started');
  process.kill(child.pid, 'SIGSTOP'); // its memory map stays still while both read it
  const path = `/proc/${child.pid}/maps`;
  const expected = readFileSync(path, 'latin1');
  assert.ok(expected.length > 5000, `maps is ${expected.length} bytes`);
  const reader = new FileReader(); // 16 KiB: room for the whole file, which comes a page at a time
  assert.equal(reader.readText(path), expected);
  // Small files still come whole from the same reader.
  assert.equal(reader.readText('/proc/self/stat').split(' ')[0], String(process.pid));
});
