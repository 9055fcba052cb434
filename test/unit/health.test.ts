// Kepler's probes (/probe/livez, /probe/readyz) as a kubelet sees them: what each answers before the
// first refresh, while refreshes run, when every zone fails and when the loop stalls, from the
// snapshots of a real PowerMonitor driven by a fake clock.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assessHealth, probeAnswer } from '../../src/monitor/health.js';
import { PowerMonitor } from '../../src/monitor/powerMonitor.js';
import { FakeZone, ScriptedResources, silent } from '../support/fakes.js';

const INTERVAL_MS = 1000;
const START_MS = 50_000;

function running() {
  const clock = { now: START_MS };
  const zone = new FakeZone('package');
  const monitor = new PowerMonitor({
    zones: [zone],
    resources: new ScriptedResources(),
    intervalMs: 0, // refreshed by hand below
    stalenessMs: 0,
    maxTerminated: -1,
    minTerminatedEnergyThresholdJ: 0,
    logger: silent,
    clock: () => clock.now,
    wallClock: () => 1_700_000_000_000 + clock.now,
  });
  const refresh = (n = 1) => {
    for (let i = 0; i < n; i++) {
      clock.now += INTERVAL_MS;
      zone.add(1_000_000);
      monitor.refresh();
    }
  };
  const probes = (intervalMs = INTERVAL_MS) => {
    const s = monitor.latest();
    const h = assessHealth(s, clock.now, intervalMs);
    return {
      live: probeAnswer('live', h, s, clock.now - START_MS, intervalMs),
      ready: probeAnswer('ready', h, s, clock.now - START_MS, intervalMs),
    };
  };
  return { clock, zone, monitor, refresh, probes };
}

describe("Kepler's probes", () => {
  test('before the first refresh: live for as long as a stalled loop would be (a minute here), not ready', () => {
    const m = running();
    assert.deepEqual(m.probes(), { live: true, ready: false });
    m.clock.now += 59_000;
    assert.deepEqual(m.probes(), { live: true, ready: false });
    m.clock.now += 2_000;
    assert.deepEqual(m.probes(), { live: false, ready: false }, 'a first refresh that never completes is a restart');
  });

  test('with monitor.interval 0 (refresh on scrape) it is live and ready before any scrape, or it would never be scraped', () => {
    const m = running();
    m.clock.now += 3_600_000;
    assert.deepEqual(m.probes(0), { live: true, ready: true });
  });

  test('while refreshes run: live and ready', () => {
    const m = running();
    m.refresh(3);
    assert.deepEqual(m.probes(), { live: true, ready: true });
  });

  test('every zone unreadable for 3 refreshes: neither (a restart picks a meter that reads)', () => {
    const m = running();
    m.refresh(2);
    m.zone.failing = true;
    m.refresh(2);
    assert.deepEqual(m.probes(), { live: true, ready: true }, 'two failed refreshes can be a glitch');
    m.refresh(1);
    assert.deepEqual(m.probes(), { live: false, ready: false });
    m.zone.failing = false;
    m.refresh(1);
    assert.deepEqual(m.probes(), { live: true, ready: true }, 'healed');
  });

  test('no refresh for a minute: the loop is stuck, neither', () => {
    const m = running();
    m.refresh(2);
    m.clock.now += 59_000;
    assert.deepEqual(m.probes(), { live: true, ready: true });
    m.clock.now += 2_000;
    assert.deepEqual(m.probes(), { live: false, ready: false });
  });
});
