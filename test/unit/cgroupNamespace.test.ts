// cgroupNamespace.ts: the arithmetic that turns a /proc/<pid>/cgroup path read in a private cgroup
// namespace (`/../../x`) into a path under the mounted v2 tree, checked against a model of the
// kernel's rule, and the search for the namespace's root on fixture procfs/sysfs trees.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { CgroupNamespace, mapNamespacePath, outsideNamespace, splitNamespacePath } from '../../src/resource/cgroupNamespace.js';
import { parseProcCgroup } from '../../src/resource/containerId.js';
import { cid } from '../support/ids.js';
import { prng } from '../support/prng.js';

const POD_UID_ = '5c8f2a7e_1b3d_4e6f_9a0b_1c2d3e4f5a6b';
const OWN = ['kubepods.slice', `kubepods-pod${POD_UID_}.slice`, `cri-containerd-${cid('exporter')}.scope`];
const own = `/${OWN.join('/')}`;

/**
 * The kernel's rule (kernfs_path_from_node), as a model: `target` as a process whose namespace is
 * rooted at `root` reads it: `/..` per level from the root up to their deepest common ancestor,
 * then the names down to the target; `/` when they are the same cgroup.
 */
function kernelPath(root: readonly string[], target: readonly string[]): string {
  let common = 0;
  while (common < root.length && common < target.length && root[common] === target[common]) common++;
  const down = target.slice(common).map((n) => `/${n}`);
  const path = '/..'.repeat(root.length - common) + down.join('');
  return path === '' ? '/' : path;
}

describe('the arithmetic', () => {
  test('outsideNamespace: only a leading `..` climbs out', () => {
    for (const p of ['/..', '/../x', '/../../..', '/../../a/b']) assert.equal(outsideNamespace(p), true, p);
    for (const p of ['/', '/a', '/a..b', '/..a', '/a/..x', '']) assert.equal(outsideNamespace(p), false, p);
  });

  test('splitNamespacePath: levels up, then names; what the kernel never writes is refused', () => {
    assert.deepEqual(splitNamespacePath('/'), { up: 0, names: [] });
    assert.deepEqual(splitNamespacePath('/a/b.scope'), { up: 0, names: ['a', 'b.scope'] });
    assert.deepEqual(splitNamespacePath('/../../..'), { up: 3, names: [] });
    assert.deepEqual(splitNamespacePath('/../x..y/z'), { up: 1, names: ['x..y', 'z'] });
    for (const p of ['', 'a/b', '/a/../b', '/./a', '/a/.']) assert.equal(splitNamespacePath(p), undefined, p);
  });

  test('mapNamespacePath from a pod container three levels down: siblings, other pods, the host, init.scope, the root itself', () => {
    const burstable = `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0f1e_x.slice/cri-containerd-${cid('b')}.scope`;
    const cases: [string, string | undefined][] = [
      ['/', own],
      ['/sub/leaf', `${own}/sub/leaf`],
      [`/../cri-containerd-${cid('s')}.scope`, `/kubepods.slice/kubepods-pod${POD_UID_}.slice/cri-containerd-${cid('s')}.scope`],
      [`/../../kubepods-burstable.slice/kubepods-burstable-pod0f1e_x.slice/cri-containerd-${cid('b')}.scope`, burstable],
      ['/../../../system.slice/containerd.service', '/system.slice/containerd.service'],
      ['/../../../init.scope', '/init.scope'],
      ['/../../..', '/'],
      ['/../..', '/kubepods.slice'],
      ['/../../../..', undefined], // above the tree's root
      ['/../../../../../x', undefined],
      ['/a/../b', undefined],
    ];
    for (const [path, tree] of cases) assert.equal(mapNamespacePath(OWN, path), tree, path);
  });

  test('no private namespace (root []): a path is itself, one that climbs has none', () => {
    assert.equal(mapNamespacePath([], '/'), '/');
    assert.equal(mapNamespacePath([], '/system.slice/a.service'), '/system.slice/a.service');
    assert.equal(mapNamespacePath([], '/..'), undefined);
  });

  test('every path the kernel writes maps back to its cgroup, from any namespace root (randomized)', () => {
    const rnd = prng(19);
    const names = ['a', 'b', 'kubepods.slice', 'x..y', '...'];
    const randomPath = () => Array.from({ length: Math.floor(rnd() * 5) }, () => names[Math.floor(rnd() * names.length)]);
    for (let i = 0; i < 2000; i++) {
      const root = randomPath();
      const target = rnd() < 0.3 ? root.slice(0, Math.floor(rnd() * (root.length + 1))) : randomPath();
      const read = kernelPath(root, target);
      assert.equal(mapNamespacePath(root, read), `/${target.join('/')}`, `${read} from /${root.join('/')}`);
      const inside = target.length >= root.length && root.every((n, j) => target[j] === n);
      assert.equal(outsideNamespace(read), !inside, read);
    }
  });
});

/** A procfs and a v2 tree under a temp dir: /proc/<pid>/cgroup files, `self`, and cgroup.procs files. */
class Fixture {
  readonly root: string;
  readonly procfs: string;
  readonly v2: string;

  constructor(t: TestContext) {
    this.root = mkdtempSync(join(tmpdir(), 'kepler-cgns-'));
    t.after(() => rmSync(this.root, { recursive: true, force: true }));
    this.procfs = join(this.root, 'proc');
    this.v2 = join(this.root, 'sys', 'fs', 'cgroup');
    mkdirSync(this.procfs, { recursive: true });
    mkdirSync(this.v2, { recursive: true });
    writeFileSync(join(this.v2, 'cgroup.controllers'), 'cpu memory pids\n');
  }

  /** /proc/<pid>/cgroup as the exporter reads it: the v2 line, and a v1 line that is left as it is. */
  proc(pid: number, v2path: string): void {
    mkdirSync(join(this.procfs, String(pid)), { recursive: true });
    writeFileSync(join(this.procfs, String(pid), 'cgroup'), `4:cpu,cpuacct:/\n0::${v2path}\n`);
  }

  self(pid: number): void {
    symlinkSync(String(pid), join(this.procfs, 'self'));
  }

  /** A directory of the tree, with the pids its cgroup.procs lists. */
  cgroup(path: string, pids: number[] = []): void {
    mkdirSync(join(this.v2, path), { recursive: true });
    writeFileSync(join(this.v2, path, 'cgroup.procs'), pids.map((p) => `${p}\n`).join(''));
  }

  ns(pid = ME): CgroupNamespace {
    return new CgroupNamespace(this.procfs, this.v2, pid);
  }
}

/** The exporter: as its procfs numbers it (hostPID: the same as in cgroup.procs). */
const ME = 4242;

/** A node whose exporter runs in a private namespace rooted at its container, three levels down. */
function podNode(t: TestContext, init = '/../../..'): Fixture {
  const f = new Fixture(t);
  f.proc(1, init);
  f.self(ME);
  f.proc(ME, '/');
  f.cgroup('/', [1, 2]);
  f.cgroup('/init.scope', []);
  f.cgroup('/system.slice/containerd.service', [700]);
  f.cgroup(`/kubepods.slice/kubepods-pod${POD_UID_}.slice`, []);
  f.cgroup(own, [ME, 4243]);
  f.cgroup(`/kubepods.slice/kubepods-pod${POD_UID_}.slice/cri-containerd-${cid('s')}.scope`, [800]);
  f.cgroup(`/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podx.slice/cri-containerd-${cid('b')}.scope`, [900]);
  return f;
}

describe('CgroupNamespace on fixture trees', () => {
  test('no private namespace: our own line names the directory that lists us; paths are taken as they are', (t) => {
    const f = new Fixture(t);
    f.self(ME);
    f.proc(ME, '/system.slice/kepler.service');
    f.cgroup('/system.slice/kepler.service', [ME]);
    const ns = f.ns();
    assert.equal(ns.treePath('/system.slice/docker-x.scope'), '/system.slice/docker-x.scope');
    assert.equal(ns.treePath('/'), '/');
    assert.equal(ns.treePath('/../x'), undefined);
  });

  test('a pod container three levels down: found by pid 1’s depth and the cgroup.procs that lists us, then every path mapped', (t) => {
    const f = podNode(t);
    const ns = f.ns();
    assert.equal(ns.treePath('/../../../system.slice/containerd.service'), '/system.slice/containerd.service');
    assert.equal(ns.treePath('/'), own, 'our own processes: our container');
    assert.equal(ns.treePath(`/../cri-containerd-${cid('s')}.scope`), `/kubepods.slice/kubepods-pod${POD_UID_}.slice/cri-containerd-${cid('s')}.scope`);
    assert.equal(ns.treePath('/../../../..'), undefined, 'above the root');
    // Found once: the tree is not searched again (even were our directory gone).
    rmSync(join(f.v2, own, 'cgroup.procs'));
    assert.equal(ns.treePath('/../../kubepods-burstable.slice'), '/kubepods.slice/kubepods-burstable.slice');
  });

  test('no cgroup.procs above pid 1’s depth is taken for ours (the search starts there)', (t) => {
    const f = podNode(t);
    // Impossible on a real host (a process is in one cgroup): shows that depth 1 is never asked.
    f.cgroup('/system.slice', [ME]);
    assert.equal(f.ns().treePath('/'), own);
  });

  test('pid 1 in systemd’s /init.scope: it still climbs to the root, the same depth', (t) => {
    const f = podNode(t, '/../../../init.scope');
    assert.equal(f.ns().treePath('/../../../init.scope'), '/init.scope');
  });

  test('pid 1 sharing an ancestor below the root with us: its count is short, the search goes deeper', (t) => {
    const f = podNode(t, '/../../init.scope'); // pid 1 in /kubepods.slice/init.scope, say
    const ns = f.ns();
    assert.equal(ns.treePath('/'), own);
    assert.equal(ns.treePath('/../../init.scope'), '/kubepods.slice/init.scope');
  });

  test('pid 1 unreadable: the search starts at the first level', (t) => {
    const f = podNode(t);
    rmSync(join(f.procfs, '1'), { recursive: true });
    assert.equal(f.ns().treePath('/../../../init.scope'), '/init.scope');
  });

  test('we run in a sub-cgroup of our namespace’s root: the root is the directory whose sub-cgroup lists us', (t) => {
    const f = podNode(t);
    rmSync(join(f.procfs, String(ME)), { recursive: true });
    f.proc(ME, '/exporter');
    f.cgroup(own, []);
    f.cgroup(`${own}/exporter`, [ME]);
    const ns = f.ns();
    assert.equal(ns.treePath('/'), own);
    assert.equal(ns.treePath('/exporter'), `${own}/exporter`);
    assert.equal(ns.treePath('/../../../init.scope'), '/init.scope');
  });

  test('cgroup.procs numbers us as our own pid namespace does, which `self` under another one does not', (t) => {
    const f = podNode(t);
    // procfs numbers the exporter 4242 (`self`), cgroup.procs read by it lists 7.
    f.cgroup(own, [7]);
    assert.equal(f.ns(7).treePath('/'), own);
    assert.equal(f.ns(4242).treePath('/'), '/', 'not found by the procfs number: the fallback');
  });

  test('not found (no directory lists us, our own line unreadable or climbing, no v2 tree): a climbing path has none, others are taken as they are', (t) => {
    const cases: [string, (f: Fixture) => void][] = [
      ['no directory lists us', (f) => f.cgroup(own, [])],
      ['our own line unreadable', (f) => rmSync(join(f.procfs, String(ME)), { recursive: true })],
      ['our own line climbs', (f) => writeFileSync(join(f.procfs, String(ME), 'cgroup'), '0::/../other\n')],
    ];
    for (const [what, change] of cases) {
      const f = podNode(t);
      change(f);
      const ns = f.ns();
      assert.equal(ns.treePath('/../../../system.slice/containerd.service'), undefined, what);
      assert.equal(ns.treePath('/system.slice/a.service'), '/system.slice/a.service', what);
    }
    const none = new CgroupNamespace(podNode(t).procfs, undefined, ME);
    assert.equal(none.treePath('/../x'), undefined, 'no v2 tree');
    assert.equal(none.treePath('/x'), '/x', 'no v2 tree');
  });

  test('treeLines: the v2 line gets its tree path; v1 lines, and a v2 path with none, stay as read', (t) => {
    const ns = podNode(t).ns();
    const lines = parseProcCgroup(`4:cpu,cpuacct:/../x\n0::/../cri-containerd-${cid('s')}.scope\n`);
    const mapped = ns.treeLines(lines);
    assert.deepEqual(mapped[0], lines[0]);
    assert.deepEqual(mapped[1], { hierarchy: '0', controllers: [], path: `/kubepods.slice/kubepods-pod${POD_UID_}.slice/cri-containerd-${cid('s')}.scope` });
    assert.equal(lines[1].path, `/../cri-containerd-${cid('s')}.scope`, 'the lines read are not changed');
    const escaping = parseProcCgroup('0::/../../../../x\n');
    assert.equal(ns.treeLines(escaping), escaping);
    const v1only = parseProcCgroup('4:cpu,cpuacct:/a\n');
    assert.equal(ns.treeLines(v1only), v1only);
  });
});
