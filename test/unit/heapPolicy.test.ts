// The exporter's heap policy (src/cli/heapPolicy.ts), in a fresh Node.js each time: the flags are
// process-wide and can only be set, not undone.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const POLICY = fileURLToPath(new URL('../../src/cli/heapPolicy.js', import.meta.url));

/** Runs `body` after the policy (unless `apply` is false) in a new node; returns what it printed as JSON. */
function run(body: string, apply = true, nodeOptions?: string): Record<string, unknown> {
  const script = `
    import { applyAgentHeapPolicy, collectStartupGarbage } from ${JSON.stringify(POLICY)};
    import { getHeapSpaceStatistics } from 'node:v8';
    const newSpaceMiB = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size / 1048576;
    if (${apply}) applyAgentHeapPolicy();
    ${body}`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: nodeOptions ?? '' },
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

// Many objects surviving young collections, as the first refresh at thousands of processes makes.
const CHURN = `
  let keep = [];
  for (let r = 0; r < 30; r++) {
    for (let i = 0; i < 100000; i++) keep.push({ pid: i, comm: 'p' + i });
    if (keep.length > 1e6) keep = keep.slice(-500000);
  }
  keep = null;`;

test('heap policy: the young generation keeps its initial size where V8 would grow it to 32 MiB', () => {
  const without = run(`${CHURN} console.log(JSON.stringify({ mib: newSpaceMiB() }));`, false);
  const withPolicy = run(`${CHURN} console.log(JSON.stringify({ mib: newSpaceMiB() }));`);
  assert.ok((without.mib as number) >= 16, `V8's default grew it (${String(without.mib)} MiB); else this test proves nothing`);
  assert.ok((withPolicy.mib as number) <= 2, `new space ${String(withPolicy.mib)} MiB under the policy`);
});

test('heap policy: the start-up collection is a full collection, and leaves no global gc() behind', () => {
  const r = run(`
    const { PerformanceObserver, constants } = await import('node:perf_hooks');
    let major = 0;
    const obs = new PerformanceObserver((list) => { for (const e of list.getEntries()) if (e.detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR) major++; });
    obs.observe({ entryTypes: ['gc'] });
    await new Promise((r) => setTimeout(r, 50));
    const before = major;
    collectStartupGarbage();
    await new Promise((r) => setTimeout(r, 50));
    obs.disconnect();
    console.log(JSON.stringify({ gc: typeof globalThis.gc, majorCollections: major - before }));`);
  assert.deepEqual(r, { gc: 'undefined', majorCollections: 1 });
});

test('heap policy: a semi-space size given in NODE_OPTIONS wins', () => {
  const r = run(`${CHURN} console.log(JSON.stringify({ mib: newSpaceMiB() }));`, true, '--max-semi-space-size=8');
  assert.ok((r.mib as number) > 2 && (r.mib as number) <= 16, `new space ${String(r.mib)} MiB: the user's 8 MiB semi-spaces`);
});

/** Whether a hot function was optimized by TurboFan, by V8's own account (%GetOptimizationStatus: 16 optimized, 64 by TurboFan). */
function hotFunctionOptimized(apply: boolean, flags: string[] = []): boolean {
  const script = `
    import { applyAgentHeapPolicy } from ${JSON.stringify(POLICY)};
    if (${apply}) applyAgentHeapPolicy();
    const f = (x) => x * 2 + 1;
    let s = 0;
    for (let i = 0; i < 3e6; i++) s += f(i);
    const status = %GetOptimizationStatus(f);
    console.log(JSON.stringify({ optimized: (status & (16 | 64)) !== 0, s: s > 0 }));`;
  const r = spawnSync(process.execPath, ['--allow-natives-syntax', ...flags, '--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
  assert.equal(r.status, 0, r.stderr);
  return (JSON.parse(r.stdout) as { optimized: boolean }).optimized;
}

test('heap policy: a hot function is not optimized by TurboFan, where V8 would optimize it', () => {
  assert.equal(hotFunctionOptimized(false), true, "V8's default optimizes it; else this test proves nothing");
  assert.equal(hotFunctionOptimized(true), false);
});

test('heap policy: the optimizing compiler given on the command line wins', () => {
  assert.equal(hotFunctionOptimized(true, ['--opt']), true);
});
