// End to end on this machine's kernel: the informer run as in a pod of a cgroup v2 node, inside a
// private cgroup namespace rooted at "its container"'s cgroup, where the kernel writes every other
// cgroup in /proc/<pid>/cgroup relative to that root (`/../../../system.slice/docker-<id>.scope`).
// A docker-named container bursts short-lived CPU burners between refreshes, a sidecar in the
// exporter's own pod sleeps. Both modes (with and without the process level) must bill each
// container exactly its cgroup counter's growth, name the same containers in the same pods, and
// the process walk must skip the sleepers of quiet cgroups.

import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import { randomHex, randomUid } from '../../harness/ids.js';
import type { ContainerRow, NamespacedHello, NamespacedSample, Summary } from '../support/namespacedInformer.js';
import { cgroupCpuSeconds, cgroupSettled, cgroupV2Root, FifoBursts, killGroup, removeCgroups, requireCommand, runInCgroup, stopInCgroup } from '../support/processes.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const CHILD = join(process.cwd(), 'dist', 'test', 'support', 'namespacedInformer.js');

const procsOf = (dir: string) => readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);

describe('the informer in a private cgroup namespace, on real cgroups', { timeout: 120_000 }, () => {
  requireCommand('unshare');
  requireCommand('perl');
  const v2 = cgroupV2Root();
  const top = join(v2, `kepler-ns-${randomHex(8)}`);
  const uid = randomUid();
  const podSlice = join(top, 'kubepods.slice', `kubepods-pod${uid.replace(/-/g, '_')}.slice`);
  const id = { exporter: randomHex(64), sidecar: randomHex(64), worker: randomHex(64) };
  const exporterDir = join(podSlice, `cri-containerd-${id.exporter}.scope`);
  const sidecarDir = join(podSlice, `cri-containerd-${id.sidecar}.scope`);
  const workerDir = join(top, 'system.slice', `docker-${id.worker}.scope`);
  const tmp = mkdtempSync(join(tmpdir(), 'kepler-ns-e2e-'));
  const fifo = join(tmp, 'wake');
  const done = join(tmp, 'done');
  // (`true;` ends the `echo $$ > cgroup.procs &&` that runInCgroup puts first.)
  const sidecar = runInCgroup(sidecarDir, 'true; sleep 3600 & sleep 3600 & wait');
  // A shell asleep on a FIFO; each line wakes it to start four perl processes that burn 80 ms of
  // CPU each and exit: gone before the next refresh, seen only by the cgroup's counter.
  const worker = runInCgroup(
    workerDir,
    `true; mkfifo '${fifo}' && exec 3<>'${fifo}'; while read x <&3; do p=''; for j in 1 2 3 4; do perl -e 'my $s = (times)[0] + 0.08; 1 while (times)[0] < $s' & p="$p $!"; done; wait $p; echo "$x" >> '${done}'; done`,
  );
  let exporter: ChildProcessWithoutNullStreams | undefined;
  after(async () => {
    if (exporter) killGroup(exporter);
    for (const c of [sidecar, worker]) stopInCgroup(c);
    if (exporter) stopInCgroup({ dir: exporterDir, child: exporter });
    const dirs = [exporterDir, sidecarDir, workerDir, podSlice, join(top, 'kubepods.slice'), join(top, 'system.slice'), top];
    await removeCgroups(dirs);
    rmSync(tmp, { recursive: true, force: true });
    for (const d of dirs) assert.equal(existsSync(d), false, `${d} removed`);
  });

  it('bills each container its cgroup counter, names the same containers and pods in both modes, and skips quiet processes', async () => {
    // The sidecar's shell and two sleepers, the worker's shell: in their cgroups and asleep.
    const deadline = performance.now() + 10_000;
    while (procsOf(sidecarDir).length < 3 || procsOf(workerDir).length < 1 || !existsSync(fifo)) {
      assert.ok(performance.now() < deadline, 'the containers never started');
      await sleep(50);
    }
    await Promise.all([cgroupSettled(sidecarDir), cgroupSettled(workerDir)]);
    const sleepers = procsOf(sidecarDir);
    const shell = worker.child.pid ?? NaN;
    assert.deepEqual(procsOf(workerDir), [shell]);
    const watched = [...sleepers, shell];
    const sortedWatched = [...watched].sort((a, b) => a - b);

    // The exporter: moved into its container's cgroup, then given a cgroup namespace rooted there.
    mkdirSync(exporterDir, { recursive: true });
    const child = spawn('sh', ['-c', `echo $$ > '${join(exporterDir, 'cgroup.procs')}' && exec unshare --cgroup '${process.execPath}' '${CHILD}' ${watched.join(' ')}`], {
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    exporter = child;
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const next = async (): Promise<string> => {
      const r = await lines.next();
      assert.ok(!r.done, `the exporter ended: ${stderr}`);
      return r.value;
    };
    const refresh = async (): Promise<NamespacedSample> => {
      child.stdin.write('refresh\n');
      return JSON.parse(await next()) as NamespacedSample;
    };

    // What the kernel writes from inside: relative paths, climbing from the exporter's cgroup.
    const hello = JSON.parse(await next()) as NamespacedHello;
    assert.deepEqual(procsOf(exporterDir), [hello.pid], 'the exporter runs in its container cgroup');
    assert.equal(hello.v2.self, '/', 'its own cgroup is its namespace root');
    const depth = relative(v2, exporterDir).split('/').length; // 4
    assert.ok(hello.v2['1'].startsWith('/..'.repeat(depth)), `pid 1 reads as ${hello.v2['1']}`);
    for (const pid of sleepers) assert.equal(hello.v2[pid], `/../cri-containerd-${id.sidecar}.scope`);
    assert.equal(hello.v2[shell], `/../../../system.slice/docker-${id.worker}.scope`);

    const row = (s: Summary, cid: string, mode: string): ContainerRow => {
      const rows = s.containers.filter((c) => c.id === cid && !c.ended);
      assert.equal(rows.length, 1, `${mode}: container ${cid.slice(0, 12)} once, running`);
      return rows[0];
    };
    const counters = () => ({ worker: cgroupCpuSeconds(workerDir), sidecar: cgroupCpuSeconds(sidecarDir) });
    await refresh(); // baseline
    const first = counters();
    let prev = first;

    const bursts = new FifoBursts(fifo, done, workerDir);
    const burst = () => bursts.burst();

    const steps = ['quiet', 'quiet', 'quiet', 'busy', 'quiet', 'quiet', 'busy', 'busy', 'quiet'];
    let billed = 0;
    for (const [i, step] of steps.entries()) {
      if (step === 'busy') await burst();
      else await sleep(150);
      const s = await refresh();
      const now = counters();
      const when = `step ${i} (${step})`;
      for (const [mode, m] of [
        ['full', s.full],
        ['cgroup-only', s.cgOnly],
      ] as const) {
        assert.equal(m.errors.cgroup_fallback, undefined, `${when}, ${mode}: no container fell back to its processes`);
        assert.equal(m.errors.cgroup_read, undefined, `${when}, ${mode}`);
        // Each container: exactly what its counter grew by (both are microseconds / 1e6).
        for (const [c, key] of [
          [id.worker, 'worker'],
          [id.sidecar, 'sidecar'],
        ] as const) {
          const r = row(m, c, mode);
          assert.ok(Math.abs(r.cpuDeltaSec - (now[key] - prev[key])) < 1e-6, `${when}, ${mode}: ${key} billed ${r.cpuDeltaSec}, its counter grew ${now[key] - prev[key]}`);
          assert.ok(Math.abs(r.cpuTotalSec - (now[key] - first[key])) < 1e-6, `${when}, ${mode}: ${key} total ${r.cpuTotalSec}`);
        }
        // Named as the runtimes name them, in the pod their tree paths say.
        assert.deepEqual(
          [id.worker, id.sidecar, id.exporter].map((c) => [row(m, c, mode).runtime, row(m, c, mode).podId]),
          [
            ['docker', ''],
            ['containerd', uid],
            ['containerd', uid],
          ],
          `${when}, ${mode}`,
        );
      }
      const w = row(s.full, id.worker, 'full');
      if (step === 'busy') {
        // Four burners of 80 ms, gone before the refresh: the counter has them, the live processes do not.
        assert.ok(w.cpuDeltaSec >= 0.25, `${when}: worker billed ${w.cpuDeltaSec}`);
        assert.ok(w.processSum < w.cpuDeltaSec / 2, `${when}: live processes ${w.processSum} of ${w.cpuDeltaSec}`);
        assert.ok(s.statRead.includes(shell), `${when}: the worker's shell is read (its cgroup ran)`);
      }
      billed += w.cpuDeltaSec;
      if (i === 0) assert.deepEqual(s.statRead, sortedWatched, 'every watched process is read at the cgroups’ first reading');
      // From the third refresh on, a quiet interval reads none of the sleepers nor the worker's shell.
      if (step === 'quiet' && i > 0) {
        assert.deepEqual(s.statRead, [], `${when}: no watched stat file read`);
        assert.ok(s.full.processesSkipped >= watched.length, `${when}: ${s.full.processesSkipped} skipped`);
      }
      prev = now;
    }
    assert.ok(Math.abs(billed - (prev.worker - first.worker)) < 1e-6);
    assert.ok(billed >= 0.75, `three bursts billed ${billed} s`);
    child.stdin.end();
    const code = await new Promise<number | null>((r) => (child.exitCode !== null ? r(child.exitCode) : child.on('exit', r)));
    assert.equal(code, 0, stderr);
    exporter = undefined;
  });
});
