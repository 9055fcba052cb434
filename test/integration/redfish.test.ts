// The Redfish client against a fake BMC (test/support/fakeBmc.ts: real TLS, DMTF-shaped
// resources): the source order, several chassis, sessions and basic auth, an expired session, a
// wrong password, a BMC that hangs, 503s, bad JSON, certificate checks, and the session deleted on
// close. Then OpenStack's sushy (Debian: python3-sushy) reads the same fakes and must find the same
// watts per chassis: the fake is Redfish as a real client reads it, not as ours does.
// test/unit/chassisPower.test.ts covers the choice of source on its own.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RedfishClient, RedfishError, type BmcTarget } from '../../src/device/platform/redfish/redfishClient.js';
import type { PlatformReading } from '../../src/device/platform/platformSource.js';
import { FakeBmc, type FakeBmcOptions, type FakeChassis, type FakePsu } from '../support/fakeBmc.js';

const USER = 'kepler';
const PASSWORD = 's3cret-Pa55';

let dir = '';
const open: { bmcs: FakeBmc[]; clients: RedfishClient[] } = { bmcs: [], clients: [] };

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'redfish-test-'));
});

after(async () => {
  for (const c of open.clients) await c.close();
  for (const b of open.bmcs) await b.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function bmc(chassis: FakeChassis[], opts: Partial<FakeBmcOptions> = {}): Promise<FakeBmc> {
  const b = await FakeBmc.start(dir, { username: USER, password: PASSWORD, chassis, ...opts });
  open.bmcs.push(b);
  return b;
}

function client(b: FakeBmc, target: Partial<BmcTarget> = {}): RedfishClient {
  const c = new RedfishClient({ id: 'bmc-1', endpoint: b.url, username: USER, password: PASSWORD, insecure: false, ca: b.caPem, timeoutMs: 2000, ...target });
  open.clients.push(c);
  return c;
}

async function rejects(p: Promise<unknown>, kind: RedfishError['kind']): Promise<RedfishError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof RedfishError, `expected a RedfishError, got ${String(err)}`);
    assert.equal(err.kind, kind, err.message);
    return err;
  }
  return assert.fail(`expected a RedfishError of kind ${kind}`);
}

/** Watts per chassis, summed over its readings, with the source type. */
function perChassis(readings: PlatformReading[]): Record<string, { source: string; watts: number; readings: number }> {
  const out: Record<string, { source: string; watts: number; readings: number }> = {};
  for (const r of readings) {
    const c = (out[r.chassisId] ??= { source: r.sourceType, watts: 0, readings: 0 });
    c.watts += r.watts;
    c.readings++;
  }
  return out;
}

/** The first chassis' supplies, for a test to change. */
function psus(b: FakeBmc): FakePsu[] {
  const list = b.chassis[0].psus;
  assert.ok(list, 'the first chassis has PSUs');
  return list;
}

// ---------- the source-order cases, shared with the sushy cross-check ----------

const PSUS: FakeChassis = {
  id: '1U',
  psus: [
    { id: 'Bay1', name: 'Power Supply Bay 1', inputWatts: 374.5, energyKwh: 325.75 },
    { id: 'Bay2', inputWatts: 366 },
  ],
  environmentWatts: 700,
  powerControl: [{ memberId: '0', consumedWatts: 690 }],
};
const PSUS_GONE: FakeChassis = {
  id: 'Blade2',
  psus: [
    { id: 'Bay1', inputWatts: 500, absent: true },
    { id: 'Bay2', inputWatts: null },
  ],
  environmentWatts: 421.5,
  environmentEnergyKwh: 1234.5,
  powerControl: [{ memberId: '0', consumedWatts: 400 }],
};
const DEPRECATED_ONLY: FakeChassis = {
  id: 'Legacy',
  powerControl: [
    { memberId: '0', name: 'System Power Control', consumedWatts: 398 },
    { memberId: '1', name: 'Aux', consumedWatts: 12 },
  ],
};
const NO_POWER: FakeChassis = { id: 'Enclosure' };

const CASES: { name: string; chassis: FakeChassis[]; expect: Record<string, { source: string; watts: number; readings: number }> }[] = [
  { name: 'PSUs', chassis: [PSUS], expect: { '1U': { source: 'PowerSupply', watts: 740.5, readings: 2 } } },
  { name: 'PSUs absent or null: EnvironmentMetrics', chassis: [PSUS_GONE], expect: { Blade2: { source: 'EnvironmentMetrics', watts: 421.5, readings: 1 } } },
  { name: 'only the deprecated Power', chassis: [DEPRECATED_ONLY], expect: { Legacy: { source: 'PowerControl', watts: 410, readings: 2 } } },
  {
    name: 'several chassis on one BMC',
    chassis: [PSUS, PSUS_GONE, DEPRECATED_ONLY, NO_POWER],
    expect: {
      '1U': { source: 'PowerSupply', watts: 740.5, readings: 2 },
      Blade2: { source: 'EnvironmentMetrics', watts: 421.5, readings: 1 },
      Legacy: { source: 'PowerControl', watts: 410, readings: 2 },
    },
  },
];

describe('source order', () => {
  for (const c of CASES) {
    test(c.name, async () => {
      const b = await bmc(structuredClone(c.chassis));
      const readings = await client(b).readPower();
      assert.deepEqual(perChassis(readings), c.expect);
      for (const r of readings) assert.equal(r.bmcId, 'bmc-1');
    });
  }

  test('labels and energy: PSU Id and Name, EnergykWh per source', async () => {
    const b = await bmc([structuredClone(PSUS), structuredClone(PSUS_GONE), structuredClone(DEPRECATED_ONLY)]);
    const readings = await client(b).readPower();
    assert.deepEqual(readings, [
      { source: 'redfish', bmcId: 'bmc-1', chassisId: '1U', sourceId: 'Bay1', sourceName: 'Power Supply Bay 1', sourceType: 'PowerSupply', watts: 374.5, energyKwh: 325.75 },
      { source: 'redfish', bmcId: 'bmc-1', chassisId: '1U', sourceId: 'Bay2', sourceName: 'Power Supply Bay2', sourceType: 'PowerSupply', watts: 366 },
      {
        source: 'redfish',
        bmcId: 'bmc-1',
        chassisId: 'Blade2',
        sourceId: 'Blade2',
        sourceName: 'Computer System Chassis Blade2',
        sourceType: 'EnvironmentMetrics',
        watts: 421.5,
        energyKwh: 1234.5,
      },
      { source: 'redfish', bmcId: 'bmc-1', chassisId: 'Legacy', sourceId: '0', sourceName: 'System Power Control', sourceType: 'PowerControl', watts: 398 },
      { source: 'redfish', bmcId: 'bmc-1', chassisId: 'Legacy', sourceId: '1', sourceName: 'Aux', sourceType: 'PowerControl', watts: 12 },
    ]);
  });

  test('later polls GET only the readings; a source that stops giving them is chosen again', async () => {
    const b = await bmc([structuredClone(PSUS)]);
    const c = client(b);
    await c.readPower();
    const discovery = b.requests.length;
    psus(b)[0].inputWatts = 380;
    psus(b)[1].energyKwh = 1.25;
    const second = await c.readPower();
    assert.deepEqual(
      second.map((r) => [r.sourceId, r.watts, r.energyKwh]),
      [
        ['Bay1', 380, 325.75],
        ['Bay2', 366, 1.25],
      ],
    );
    assert.deepEqual(
      b.requests.slice(discovery).map((r) => r.path),
      ['/redfish/v1/Chassis/1U/PowerSubsystem/PowerSupplies/Bay1/Metrics', '/redfish/v1/Chassis/1U/PowerSubsystem/PowerSupplies/Bay2/Metrics'],
    );
    // Both supplies lose their readings: the chassis falls to EnvironmentMetrics in the same poll.
    for (const p of psus(b)) p.inputWatts = null;
    assert.deepEqual(perChassis(await c.readPower()), { '1U': { source: 'EnvironmentMetrics', watts: 700, readings: 1 } });
  });
});

describe('authentication', () => {
  test('sessions: one login, X-Auth-Token on every request, none left after close', async () => {
    const b = await bmc([structuredClone(PSUS)]);
    const c = client(b);
    await c.readPower();
    await c.readPower();
    assert.equal(b.activeSessions(), 1);
    assert.deepEqual(
      b.requests.filter((r) => r.method === 'POST').map((r) => r.path),
      ['/redfish/v1/SessionService/Sessions'],
    );
    assert.deepEqual(new Set(b.requests.filter((r) => r.method === 'GET' && r.path !== '/redfish/v1').map((r) => r.auth)), new Set(['session']));
    await c.close();
    assert.equal(b.activeSessions(), 0);
    assert.deepEqual(
      b.requests.filter((r) => r.method === 'DELETE').map((r) => [r.path, r.status]),
      [['/redfish/v1/SessionService/Sessions/1', 204]],
    );
    await rejects(c.readPower(), 'connect');
  });

  test('no SessionService: basic auth on every request', async () => {
    const b = await bmc([structuredClone(DEPRECATED_ONLY)], { sessions: false });
    const c = client(b);
    assert.deepEqual(perChassis(await c.readPower()), CASES[2].expect);
    assert.equal(b.activeSessions(), 0);
    assert.equal(b.requests.filter((r) => r.method === 'POST').length, 0, 'no link: no login attempted');
    assert.deepEqual(new Set(b.requests.filter((r) => r.path !== '/redfish/v1').map((r) => r.auth)), new Set(['basic']));
    await c.close();
  });

  test('an expired session: logs in again once and retries the one request', async () => {
    const b = await bmc([structuredClone(PSUS)]);
    const c = client(b);
    await c.readPower();
    b.forgetSessions();
    const before = b.requests.length;
    psus(b)[0].inputWatts = 400;
    assert.equal(perChassis(await c.readPower())['1U'].watts, 766);
    assert.deepEqual(
      b.requests.slice(before).map((r) => `${r.method} ${r.path.replace('/redfish/v1/Chassis/1U/PowerSubsystem/PowerSupplies/', '')} ${r.status}`),
      ['GET Bay1/Metrics 401', 'POST /redfish/v1/SessionService/Sessions 201', 'GET Bay1/Metrics 200', 'GET Bay2/Metrics 200'],
    );
    assert.equal(b.activeSessions(), 1);
  });

  test('an expired session and a rotated password: kind auth, and the next poll logs in afresh', async () => {
    const b = await bmc([structuredClone(PSUS)]);
    const c = client(b);
    await c.readPower();
    b.forgetSessions();
    b.password = 'rotated';
    const err = await rejects(c.readPower(), 'auth');
    assert.ok(!err.message.includes(PASSWORD), err.message);
    b.password = PASSWORD;
    assert.equal(perChassis(await c.readPower())['1U'].watts, 740.5);
  });

  test('a wrong password: kind auth, the message names the BMC and path, never the password', async () => {
    for (const sessions of [true, false]) {
      const b = await bmc([structuredClone(PSUS)], { sessions });
      const wrong = 'Wr0ng-Passw0rd!';
      const err = await rejects(client(b, { password: wrong }).readPower(), 'auth');
      assert.match(err.message, /bmc-1/);
      assert.match(err.message, /\/redfish\/v1\//);
      assert.ok(!err.message.includes(wrong) && !err.message.includes(PASSWORD), err.message);
      assert.equal(b.activeSessions(), 0);
    }
  });
});

describe('faults', () => {
  test('a BMC that accepts and never answers: kind timeout after about timeoutMs; then it recovers', async () => {
    const b = await bmc([structuredClone(PSUS)]);
    const c = client(b, { timeoutMs: 400 });
    await c.readPower();
    b.hang = true;
    const t0 = performance.now();
    const err = await rejects(c.readPower(), 'timeout');
    const elapsed = performance.now() - t0;
    assert.ok(elapsed >= 350 && elapsed < 1400, `timed out after ${elapsed} ms`);
    assert.ok(!err.message.includes(PASSWORD));
    b.hang = false;
    const fresh = client(b, { timeoutMs: 400 });
    b.hang = true;
    const t1 = performance.now();
    await rejects(fresh.readPower(), 'timeout'); // hangs on the very first request (the service root)
    assert.ok(performance.now() - t1 < 1400);
    b.hang = false;
    assert.equal(perChassis(await c.readPower())['1U'].watts, 740.5, 're-discovers after the outage');
  });

  test('503: kind http; bad JSON: kind parse; both recover', async () => {
    const b = await bmc([structuredClone(PSUS)]);
    const c = client(b);
    await c.readPower();
    b.down = true;
    const err = await rejects(c.readPower(), 'http');
    assert.match(err.message, /503/);
    b.down = false;
    b.badJson = true;
    await rejects(c.readPower(), 'parse');
    await rejects(client(b).readPower(), 'parse'); // from the service root on
    b.badJson = false;
    assert.equal(perChassis(await c.readPower())['1U'].watts, 740.5);
  });

  test('connection refused: kind connect', async () => {
    const b = await bmc([structuredClone(PSUS)]);
    const url = b.url;
    await b.close();
    open.bmcs.splice(open.bmcs.indexOf(b), 1);
    await rejects(new RedfishClient({ id: 'gone', endpoint: url, username: USER, password: PASSWORD, insecure: true, timeoutMs: 2000 }).readPower(), 'connect');
  });
});

describe('TLS', () => {
  test('a self-signed BMC: rejected without ca or insecure (connect); accepted with either', async () => {
    const b = await bmc([structuredClone(PSUS)]);
    const err = await rejects(client(b, { ca: undefined }).readPower(), 'connect');
    assert.match(err.message, /certificate/i);
    assert.equal(perChassis(await client(b, { ca: undefined, insecure: true }).readPower())['1U'].watts, 740.5);
    assert.equal(perChassis(await client(b).readPower())['1U'].watts, 740.5);
  });

  test('plain http endpoints work, with the same readings', async () => {
    const b = await bmc([structuredClone(PSUS_GONE)], { plainHttp: true });
    assert.ok(b.url.startsWith('http://'));
    assert.deepEqual(perChassis(await client(b, { ca: undefined }).readPower()), CASES[1].expect);
  });
});

// ---------- sushy ----------

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'support', 'sushy_power.py');

/** The first python3 that can import sushy: Debian's package installs into /usr/bin/python3, which a pyenv or venv on PATH may hide. */
function sushyPython(): string | undefined {
  for (const py of ['python3', '/usr/bin/python3']) {
    if (spawnSync(py, ['-c', 'import sushy'], { stdio: 'ignore' }).status === 0) return py;
  }
  return undefined;
}
const PYTHON = sushyPython();
const NO_SUSHY = PYTHON === undefined ? 'python3-sushy is not installed (apt-get install python3-sushy): no cross-check with a real Redfish client' : false;

describe('sushy reads the same fakes', { skip: NO_SUSHY }, () => {
  for (const c of CASES) {
    for (const sessions of [true, false]) {
      test(`${c.name} (${sessions ? 'session' : 'basic auth'})`, async () => {
        const b = await bmc(structuredClone(c.chassis), { sessions });
        const ours = perChassis(await client(b).readPower());
        // Asynchronously: the fake BMC answers from this very process.
        const r = await promisify(execFile)(PYTHON ?? 'python3', [SCRIPT, b.url, USER, PASSWORD, b.caFile], { encoding: 'utf8', timeout: 60_000 });
        const theirs = JSON.parse(r.stdout) as { chassis: Record<string, { source: string; watts: number; readings: number }>; auth: string };
        assert.equal(theirs.auth, sessions ? 'session' : 'basic');
        const found = Object.fromEntries(Object.entries(theirs.chassis).filter(([, v]) => v.readings > 0));
        assert.deepEqual(found, ours);
        assert.deepEqual(ours, c.expect);
        assert.equal(b.activeSessions(), sessions ? 1 : 0, 'sushy deleted its session, ours is still open');
      });
    }
  }
});
