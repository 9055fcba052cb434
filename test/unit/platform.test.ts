// Platform power's arithmetic and its background poller: each reading source's energy from power
// integrated over time or from its own counter when that is fine enough, never going down; and a
// poller that shows the last poll's readings, nothing while an outage lasts (no frozen value),
// integrates across the outage, counts errors by kind and says so once per outage.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { advanceEnergy, restartEnergy, sourceKey, type SourceEnergy } from '../../src/device/platform/platformEnergy.js';
import type { PlatformReading } from '../../src/device/platform/platformSource.js';
import { PolledPlatform, type PowerReader } from '../../src/device/platform/polledPlatform.js';
import { captureLogger } from '../support/captureLogger.js';

const psu = (watts: number, energyKwh?: number): PlatformReading => ({
  source: 'redfish',
  bmcId: 'bmc-1',
  chassisId: '1U',
  sourceId: 'PSU1',
  sourceName: 'Power Supply 1',
  sourceType: 'PowerSupply',
  watts,
  ...(energyKwh !== undefined ? { energyKwh } : {}),
});

describe('advanceEnergy', () => {
  test('power integrated between readings (trapezoid), from 0 at the first', () => {
    let e: SourceEnergy | undefined = advanceEnergy(undefined, psu(300), 0);
    assert.equal(e.energyUj, 0n);
    e = advanceEnergy(e, psu(500), 10_000);
    assert.equal(e.energyUj, 4_000_000_000n, '(300 + 500) / 2 W x 10 s');
    e = advanceEnergy(e, psu(500), 70_000);
    assert.equal(e.energyUj, 34_000_000_000n, 'across a one-minute gap: 500 W x 60 s more');
  });

  test('the counter (EnergykWh) when it moves at every reading; power while it does not; a counter that goes back is not used', () => {
    // 0.001 kWh = 3600 J. The counter moves at each reading: after the first step, its deltas are used.
    let e = advanceEnergy(undefined, psu(360, 10), 0);
    e = advanceEnergy(e, psu(360, 10.001), 10_000);
    assert.equal(e.energyUj, 3_600_000_000n, 'first move: not yet known to move each time, power: 360 W x 10 s');
    e = advanceEnergy(e, psu(360, 10.003), 20_000);
    assert.equal(e.energyUj, 3_600_000_000n + 7_200_000_000n, 'the counter: 0.002 kWh');
    // A coarse counter (0.1 kWh) that stands still: power.
    e = advanceEnergy(e, psu(360, 10.003), 30_000);
    assert.equal(e.energyUj, 10_800_000_000n + 3_600_000_000n);
    // A BMC reset: the counter starts again from 0; no step back, power used.
    e = advanceEnergy(e, psu(360, 0.0001), 40_000);
    assert.equal(e.energyUj, 14_400_000_000n + 3_600_000_000n);
  });

  test('a counter that jumps (a swapped supply, a restored lifetime counter) is not believed: the power readings are', () => {
    let e = advanceEnergy(undefined, psu(360, 100.01), 0);
    e = advanceEnergy(e, psu(360, 100.02), 10_000);
    e = advanceEnergy(e, psu(360, 100.03), 20_000);
    const before = e.energyUj;
    e = advanceEnergy(e, psu(360, 5000), 30_000);
    assert.equal(e.energyUj - before, 3_600_000_000n, '360 W x 10 s, not 4900 kWh');
  });

  test('a source back after being away from good polls starts a new integral: its absence is not billed', () => {
    let e = advanceEnergy(undefined, psu(200), 0);
    e = advanceEnergy(e, psu(200), 10_000);
    e = restartEnergy(e);
    e = advanceEnergy(e, psu(200), 2 * 86_400_000);
    assert.equal(e.energyUj, 2_000_000_000n, 'the 10 s before it left, nothing for the two days away');
    e = advanceEnergy(e, psu(200), 2 * 86_400_000 + 1000);
    assert.equal(e.energyUj, 2_200_000_000n);
  });

  test('nonsense readings count as 0 W, never NaN or negative energy', () => {
    let e = advanceEnergy(undefined, psu(Number.NaN), 0);
    e = advanceEnergy(e, psu(-50), 1000);
    e = advanceEnergy(e, psu(100), 2000);
    assert.equal(e.energyUj, 50_000_000n);
    assert.notEqual(sourceKey(psu(1)), sourceKey({ ...psu(1), sourceId: 'PSU2' }));
  });
});

/** A reader whose next answers the test scripts: readings, or an error of a kind. */
class ScriptedReader implements PowerReader {
  next: PlatformReading[] | { kind: string } = [];
  closed = false;
  readPower(): Promise<PlatformReading[]> {
    const n = this.next;
    return Array.isArray(n) ? Promise.resolve(n) : Promise.reject(Object.assign(new Error(`BMC bmc-1: ${n.kind}`), { kind: n.kind }));
  }
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

describe('PolledPlatform', () => {
  test('an outage: no readings while it lasts, errors by kind, one WARN and one INFO; the energy integrates across it', async () => {
    let now = 0;
    const reader = new ScriptedReader();
    const { logger, lines } = captureLogger();
    const p = new PolledPlatform({ name: 'redfish', reader, errorKinds: ['timeout', 'auth'], pollIntervalMs: 10_000, describe: { bmc_id: 'bmc-1' }, logger, clock: () => now });
    reader.next = [psu(400)];
    await p.pollOnce();
    assert.deepEqual(
      p.state().readings.map((r) => [r.reading.watts, r.energyUj, r.readAtMs]),
      [[400, 0n, 0]],
    );
    for (const [at, kind] of [
      [10_000, 'timeout'],
      [20_000, 'timeout'],
      [30_000, 'bogus'],
    ] as const) {
      now = at;
      reader.next = { kind };
      await p.pollOnce();
      assert.deepEqual(p.state().readings, [], 'no frozen value during the outage');
    }
    assert.deepEqual(p.state().errors, { timeout: 2, auth: 0, other: 1 });
    now = 40_000;
    reader.next = [psu(400)];
    await p.pollOnce();
    assert.deepEqual(
      p.state().readings.map((r) => r.energyUj),
      [16_000_000_000n],
      '400 W over the 40 s since the last reading before the outage',
    );
    assert.deepEqual(
      lines.filter((l) => l.level !== 'DEBUG').map((l) => [l.level, l.msg]),
      [
        ['WARN', 'platform power unreadable; its series are left out until it reads again'],
        ['INFO', 'platform power readable again'],
      ],
    );
    assert.ok(!lines.some((l) => JSON.stringify(l).includes('password')));
    await p.stop();
    assert.equal(reader.closed, true);
  });

  test('readings older than three poll intervals are not shown; implausible watts are counted, not shown; a good poll without readings is said once', async () => {
    let now = 0;
    const reader = new ScriptedReader();
    const { logger, lines } = captureLogger();
    const p = new PolledPlatform({ name: 'redfish', reader, errorKinds: ['parse'], pollIntervalMs: 1000, describe: {}, logger, clock: () => now });
    reader.next = [psu(300), { ...psu(1e308), sourceId: 'PSU9' }];
    await p.pollOnce();
    assert.deepEqual(
      p.state().readings.map((r) => r.reading.sourceId),
      ['PSU1'],
    );
    assert.equal(p.state().errors.parse, 1, 'the 1e308 W reading');
    now = 3000;
    assert.equal(p.state().readings.length, 1);
    now = 3001;
    assert.deepEqual(p.state().readings, [], 'a poll stuck for three intervals shows nothing');
    reader.next = [];
    await p.pollOnce();
    await p.pollOnce();
    assert.equal(lines.filter((l) => /no power reading/.test(l.msg)).length, 1);
  });

  test('a missing source in a good poll restarts its integral; a failed poll integrates the gap', async () => {
    let now = 0;
    const reader = new ScriptedReader();
    const p = new PolledPlatform({ name: 'redfish', reader, errorKinds: [], pollIntervalMs: 1000, describe: {}, logger: captureLogger().logger, clock: () => now });
    const psu2 = { ...psu(100), sourceId: 'PSU2' };
    reader.next = [psu(100), psu2];
    await p.pollOnce();
    now = 1000;
    reader.next = [psu(100)];
    await p.pollOnce();
    now = 2000;
    reader.next = { kind: 'timeout' };
    await p.pollOnce();
    now = 11_000;
    reader.next = [psu(100), psu2];
    await p.pollOnce();
    const energy = Object.fromEntries(p.state().readings.map((r) => [r.reading.sourceId, r.energyUj]));
    assert.deepEqual(energy, { PSU1: 1_100_000_000n, PSU2: 0n }, 'PSU1 across the failed poll; PSU2 was away from a good poll');
  });

  test('start() polls in the background and stop() ends it; a poll never overlaps another', async () => {
    const reader = new ScriptedReader();
    let calls = 0;
    let release: (() => void) | undefined;
    reader.readPower = () => {
      calls++;
      return new Promise((resolve) => (release = () => resolve([psu(100)])));
    };
    const p = new PolledPlatform({ name: 'redfish', reader, errorKinds: [], pollIntervalMs: 5, describe: {}, logger: captureLogger().logger });
    p.start();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(calls, 1, 'the first poll has not answered: no second one');
    release?.();
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(calls >= 2, `${calls} polls`);
    release?.();
    await p.stop();
    const after = calls;
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(calls, after, 'no poll after stop()');
  });
});
