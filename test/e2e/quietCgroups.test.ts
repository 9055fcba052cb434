// End to end on this machine: processes in a real cgroup v2 cgroup that sleeps for a few refreshes
// (the informer then stops reading their stat files, quietCgroups.ts) and wakes up to burn CPU in
// between. What the informer bills each of them must add up, refresh by refresh, to what the
// kernel says they used: nothing lost while they were skipped, nothing billed twice.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { randomHex } from '../../harness/ids.js';
import { ResourceInformer } from '../../src/resource/resourceInformer.js';
import type { ResourceSample } from '../../src/resource/workloads.js';
import { cgroupSettled, cgroupV2Root, FifoBursts, removeCgroups, runInCgroup, stopInCgroup } from '../support/processes.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** utime + stime of a process, in clock ticks, as /proc/<pid>/stat says. */
function ticksOf(pid: number): number {
  const text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}

describe('processes of a quiet cgroup, on real cgroups', { timeout: 120_000 }, () => {
  const dir = join(cgroupV2Root(), `kepler-quiet-${randomHex(8)}`);
  const tmp = mkdtempSync(join(tmpdir(), 'kepler-quiet-e2e-'));
  const fifo = join(tmp, 'wake');
  const done = join(tmp, 'done');
  execFileSync('mkfifo', [fifo]);
  // (`true;` ends the `echo $$ > cgroup.procs &&` that runInCgroup puts first: the sleepers start after it.)
  // Three sleepers, and a shell that burns ~0.2-0.5 s of CPU each time a line reaches its FIFO,
  // with builtins only: between two lines nothing in the cgroup runs, not even a fork.
  const worker = runInCgroup(
    dir,
    `true; sleep 3600 & sleep 3600 & sleep 3600 & exec 3<>'${fifo}'; while read x <&3; do i=0; while [ $i -lt 150000 ]; do i=$((i+1)); done; echo "$x" >> '${done}'; done`,
  );
  after(async () => {
    stopInCgroup(worker);
    await removeCgroups([dir]);
    rmSync(tmp, { recursive: true, force: true });
  });

  it('bills each process exactly the CPU time the kernel counted, across quiet and busy intervals', async () => {
    const shell = worker.child.pid ?? NaN;
    assert.ok(Number.isInteger(shell), 'the shell started');
    const deadline = performance.now() + 10_000;
    while (readFileSync(join(dir, 'cgroup.procs'), 'utf8').trim().split('\n').length < 4) {
      assert.ok(performance.now() < deadline, 'the cgroup never held its four processes');
      await sleep(50);
    }
    const members = readFileSync(join(dir, 'cgroup.procs'), 'utf8').trim().split('\n').map(Number);
    await cgroupSettled(dir);

    const informer = new ResourceInformer({ procfs: '/proc', sysfs: '/sys' });
    informer.refresh(); // baseline
    const start = new Map(members.map((pid) => [pid, ticksOf(pid)]));
    const row = (s: ResourceSample, pid: number) => {
      const rows = s.processes.filter((p) => p.info.pid === pid && !p.ended);
      assert.equal(rows.length, 1, `process ${pid} once in the sample`);
      return rows[0];
    };
    /** Every member's total since the baseline equals the kernel's count, tick for tick. */
    const check = (s: ResourceSample, when: string) => {
      for (const pid of members) {
        const r = row(s, pid);
        assert.ok(Math.abs(r.cpuTotalSec - (ticksOf(pid) - (start.get(pid) ?? NaN)) / 100) < 1e-9, `${when}: pid ${pid} billed ${r.cpuTotalSec} s`);
      }
    };

    const bursts = new FifoBursts(fifo, done, dir);
    const burn = () => bursts.burst();

    const steps = ['quiet', 'quiet', 'quiet', 'busy', 'quiet', 'quiet', 'busy', 'busy', 'quiet'];
    for (const [i, step] of steps.entries()) {
      if (step === 'busy') await burn();
      else await sleep(150);
      const s = informer.refresh();
      check(s, `after a ${step} interval`);
      const d: number = row(s, shell).cpuDeltaSec;
      if (step === 'quiet') assert.equal(d, 0, 'a quiet interval bills nothing');
      else assert.ok(d > 0, 'the burn is billed in its interval');
      // From the second reading of the cgroup on, a quiet interval reads none of its four processes
      // (at least those four are skipped: others on this machine may be too).
      if (step === 'quiet' && i > 0) assert.ok((s.processesSkipped ?? 0) >= members.length, `step ${i}: ${s.processesSkipped} skipped`);
    }
    for (const pid of members.filter((p) => p !== shell)) assert.equal(ticksOf(pid), start.get(pid), `sleeper ${pid} never ran`);
  });
});
