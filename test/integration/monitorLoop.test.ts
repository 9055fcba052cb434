// The monitor's refresh loop on Node's real timers: a scrape that refreshes re-arms the periodic
// timer, the timer refreshes on its own, and stop() stops it. It waits ~2.5 s of real time, so it
// is an integration test; test/unit/monitor.test.ts covers the monitor with an injected clock.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PowerMonitor } from '../../src/monitor/powerMonitor.js';
import { FakeZone, ScriptedResources, silent } from '../support/fakes.js';

describe('PowerMonitor refresh loop', () => {
  test('a scrape-triggered refresh re-arms the periodic timer instead of adding a refresh', async () => {
    const res = new ScriptedResources();
    const monitor = new PowerMonitor({
      zones: [new FakeZone('package', 0, 'p', 0)],
      resources: res,
      intervalMs: 300,
      stalenessMs: 50,
      maxTerminated: -1,
      minTerminatedEnergyThresholdJ: 0,
      logger: silent,
    });
    monitor.start();
    // "Scrapes" every 250 ms, just before each timer tick would fire: each one refreshes (the
    // snapshot is older than the staleness) and pushes the timer back, so the timer never adds one.
    for (let i = 0; i < 6; i++) {
      await new Promise((r) => setTimeout(r, 250));
      monitor.freshSnapshot();
    }
    monitor.stop();
    assert.equal(res.calls, 1 + 6, 'one refresh at start, then one per scrape');
    // Without scrapes, the timer refreshes on its own.
    const idle = new ScriptedResources();
    const m2 = new PowerMonitor({ zones: [], resources: idle, intervalMs: 100, stalenessMs: 50, maxTerminated: -1, minTerminatedEnergyThresholdJ: 0, logger: silent });
    m2.start();
    await new Promise((r) => setTimeout(r, 550));
    m2.stop();
    assert.ok(idle.calls >= 4 && idle.calls <= 7, `${idle.calls} refreshes in 550 ms at a 100 ms interval`);
    const after = idle.calls;
    await new Promise((r) => setTimeout(r, 250));
    assert.equal(idle.calls, after, 'stop() stops the loop');
  });
});
