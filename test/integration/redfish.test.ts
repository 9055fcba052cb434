// The Redfish client against a fake BMC (test/support/fakeBmc.ts: real TLS, DMTF-shaped
// resources): the source order, several chassis, sessions and basic auth, an expired session, a
// wrong password, a BMC that hangs, 503s, bad JSON, certificate checks, and the session deleted on
// close. Sessions are never left behind (every test ends with none open on its fakes), a refused
// login backs off, one bad chassis keeps the others, redirects, endpoints under a path prefix,
// close() with requests in flight, and a poll bounded in all. Then OpenStack's sushy (Debian: python3-sushy) reads the same fakes and must find the same
// watts per chassis: the fake is Redfish as a real client reads it, not as ours does.
// test/unit/chassisPower.test.ts covers the choice of source on its own.

import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
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

// Every test ends with its clients closed and no session left open on any of its BMCs.
afterEach(async () => {
  for (const c of open.clients.splice(0)) await c.close();
  const bmcs = open.bmcs.splice(0);
  try {
    for (const b of bmcs) assert.equal(b.activeSessions(), 0, `a session left behind on ${b.url}`);
  } finally {
    for (const b of bmcs) await b.close();
  }
});

after(() => {
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

/** Resolves once `cond` holds (checked every 5 ms), failing after 5 s. */
async function waitFor(cond: () => boolean, what: string): Promise<void> {
  const t0 = performance.now();
  while (!cond()) {
    if (performance.now() - t0 > 5000) assert.fail(`waited 5 s for ${what}`);
    await sleep(5);
  }
}

const SESSIONS = '/redfish/v1/SessionService/Sessions';
const METRICS_1U = (bay: string) => `/redfish/v1/Chassis/1U/PowerSubsystem/PowerSupplies/${bay}/Metrics`;
const posts = (b: FakeBmc) => b.requests.filter((r) => r.method === 'POST').length;
const deletes = (b: FakeBmc) => b.requests.filter((r) => r.method === 'DELETE').map((r) => `${r.path} ${r.status}`);

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
      // The session the BMC forgot is DELETEd before the new login all the same (best effort).
      ['GET Bay1/Metrics 401', 'DELETE /redfish/v1/SessionService/Sessions/1 401', 'POST /redfish/v1/SessionService/Sessions 201', 'GET Bay1/Metrics 200', 'GET Bay2/Metrics 200'],
    );
    assert.equal(b.activeSessions(), 1);
  });

  test('an expired session and a rotated password: kind auth; the old password backs off, the new one logs in at once', async () => {
    const b = await bmc([structuredClone(PSUS)]);
    const c = client(b);
    await c.readPower();
    b.forgetSessions();
    b.password = 'rotated';
    const err = await rejects(c.readPower(), 'auth');
    assert.ok(!err.message.includes(PASSWORD), err.message);
    const asked = b.requests.length;
    await rejects(c.readPower(), 'auth'); // backed off: the BMC hears nothing
    assert.equal(b.requests.length, asked);
    // What the application does after a refusal: the credentials read again, a new client.
    assert.equal(perChassis(await client(b, { password: 'rotated' }).readPower())['1U'].watts, 740.5);
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

describe('sessions are never left behind, refused passwords are not hammered', () => {
  test('a 403 on a chassis resource is kind http: the session stays, nothing is DELETEd, no new login', async () => {
    const b = await bmc([structuredClone(PSUS)]);
    const c = client(b);
    await c.readPower();
    b.faults.set(METRICS_1U('Bay1'), 403);
    const err = await rejects(c.readPower(), 'http');
    assert.match(err.message, /403/);
    await rejects(c.readPower(), 'http');
    assert.equal(b.activeSessions(), 1);
    assert.deepEqual(deletes(b), []);
    b.faults.clear();
    assert.equal(perChassis(await c.readPower())['1U'].watts, 740.5);
    assert.equal(posts(b), 1, 'the one session served every poll');
  });

  test('a 401 on a live session: the old session is DELETEd before the one re-login', async () => {
    const b = await bmc([structuredClone(PSUS)]);
    const c = client(b);
    await c.readPower();
    b.unauthorizedOnce.add(METRICS_1U('Bay1'));
    assert.equal(perChassis(await c.readPower())['1U'].watts, 740.5);
    assert.deepEqual(deletes(b), [`${SESSIONS}/1 204`]);
    assert.equal(b.activeSessions(), 1);
  });

  test('a 401 that persists after one re-login: kind auth, both sessions DELETEd, and no back-off (the login was accepted)', async () => {
    const b = await bmc([structuredClone(PSUS)]);
    const c = client(b);
    await c.readPower();
    b.faults.set(METRICS_1U('Bay1'), 401);
    await rejects(c.readPower(), 'auth');
    assert.equal(posts(b), 2);
    assert.deepEqual(deletes(b), [`${SESSIONS}/1 204`, `${SESSIONS}/2 204`]);
    assert.equal(b.activeSessions(), 0);
    b.faults.clear();
    assert.equal(perChassis(await c.readPower())['1U'].watts, 740.5);
    assert.equal(posts(b), 3);
  });

  test('a login POST is never sent twice: a connection reset on it is kind connect, and the next poll logs in', async () => {
    const b = await bmc([structuredClone(PSUS)]);
    const c = client(b);
    b.resetNextLogin = true; // arrives on the kept-alive connection of the service root's GET
    await rejects(c.readPower(), 'connect');
    assert.equal(posts(b), 1);
    assert.equal(perChassis(await c.readPower())['1U'].watts, 740.5);
    assert.equal(posts(b), 2);
  });

  test('a login answer that stops after its headers: kind timeout, and the session it created is DELETEd', async () => {
    const b = await bmc([structuredClone(PSUS)]);
    const c = client(b, { timeoutMs: 400 });
    b.hangLoginBody = true;
    await rejects(c.readPower(), 'timeout');
    assert.equal(b.activeSessions(), 0);
    assert.deepEqual(deletes(b), [`${SESSIONS}/1 204`]);
    b.hangLoginBody = false;
    assert.equal(perChassis(await c.readPower())['1U'].watts, 740.5);
  });

  for (const sessions of [true, false]) {
    test(`a refused login backs off (${sessions ? 'session' : 'basic auth'}): 5 polls, one attempt, even from new clients; changed credentials log in at once`, async () => {
      const b = await bmc([structuredClone(PSUS)], { sessions });
      const wrong = 'Wr0ng-Passw0rd!';
      let c = client(b, { password: wrong });
      await rejects(c.readPower(), 'auth');
      const asked = b.requests.length;
      assert.equal(posts(b), sessions ? 1 : 0);
      for (let i = 0; i < 4; i++) {
        // What CredentialReloadingReader does after each 'auth': a new client, here with the same credentials.
        if (i % 2 === 1) {
          await c.close();
          c = client(b, { password: wrong });
        }
        const t0 = performance.now();
        const err = await rejects(c.readPower(), 'auth');
        assert.ok(performance.now() - t0 < 100, 'at once');
        assert.ok(!err.message.includes(wrong), err.message);
        assert.match(err.message, /bmc-1/);
      }
      assert.equal(b.requests.length, asked, 'nothing sent to the BMC during the back-off');
      // The password in the Secret was fixed: the new client logs in on its first poll.
      assert.equal(perChassis(await client(b).readPower())['1U'].watts, 740.5);
      assert.equal(posts(b), sessions ? 2 : 0);
      // The wrong one stays backed off.
      const now = b.requests.length;
      await rejects(client(b, { password: wrong }).readPower(), 'auth');
      assert.equal(b.requests.length, now);
    });
  }
});

describe('several chassis: one bad chassis keeps the others', () => {
  const ALL = () => [structuredClone(PSUS), structuredClone(DEPRECATED_ONLY), structuredClone(PSUS_GONE), structuredClone(NO_POWER)];
  const expectAll = CASES[3].expect;

  test('a 500 and bad JSON on two chassis: the others read, lastPartialErrors names both; then all recover', async () => {
    const b = await bmc(ALL());
    const c = client(b);
    assert.deepEqual(perChassis(await c.readPower()), expectAll);
    assert.deepEqual(c.lastPartialErrors(), []);
    b.faults.set(METRICS_1U('Bay1'), 500);
    b.faults.set('/redfish/v1/Chassis/Legacy/Power', 'badJson');
    assert.deepEqual(perChassis(await c.readPower()), { Blade2: expectAll.Blade2 });
    const errors = c.lastPartialErrors();
    assert.deepEqual(
      errors.map((e) => e.kind),
      ['http', 'parse'],
    );
    assert.ok(errors.every((e) => e instanceof RedfishError));
    assert.match(errors[0].message, /1U.*500/);
    assert.match(errors[1].message, /Legacy\/Power/);
    b.faults.clear();
    assert.deepEqual(perChassis(await c.readPower()), expectAll);
    assert.deepEqual(c.lastPartialErrors(), []);
    assert.equal(posts(b), 1);
  });

  test('a 403 on one chassis at discovery: the others read, the session stays', async () => {
    const b = await bmc(ALL());
    b.faults.set('/redfish/v1/Chassis/Legacy', 403);
    const c = client(b);
    assert.deepEqual(perChassis(await c.readPower()), { '1U': expectAll['1U'], Blade2: expectAll.Blade2 });
    assert.deepEqual(
      c.lastPartialErrors().map((e) => [e.kind, /403/.test(e.message)]),
      [['http', true]],
    );
    assert.equal(b.activeSessions(), 1);
    assert.deepEqual(deletes(b), []);
    b.faults.clear();
    assert.deepEqual(perChassis(await c.readPower()), expectAll, 'the chassis is discovered again on the next poll');
  });

  test('every chassis bad: throws the first error', async () => {
    const b = await bmc(ALL());
    b.faults.set('/redfish/v1/Chassis/1U', 503);
    b.faults.set('/redfish/v1/Chassis/Legacy', 403);
    b.faults.set('/redfish/v1/Chassis/Blade2', 'badJson');
    b.faults.set('/redfish/v1/Chassis/Enclosure', 500);
    const c = client(b);
    const err = await rejects(c.readPower(), 'http');
    assert.match(err.message, /Chassis\/1U: HTTP 503/);
    assert.deepEqual(c.lastPartialErrors(), []);
  });
});

describe('redirects and endpoints under a path prefix', () => {
  test('the service root is /redfish/v1/, followed through up to 3 same-origin redirects; a 4th is kind http', async () => {
    const b = await bmc([structuredClone(PSUS)]);
    b.redirects.set('/redfish/v1/', { status: 308, location: '/redfish/v1/a' });
    b.redirects.set('/redfish/v1/a', { status: 302, location: 'b' });
    b.redirects.set('/redfish/v1/b', { status: 307, location: `${b.origin}/redfish/v1` });
    b.redirects.set('/redfish/v1/Chassis/1U', { status: 301, location: '/redfish/v1/Chassis/1U/' });
    const c = client(b);
    assert.equal(perChassis(await c.readPower())['1U'].watts, 740.5);
    assert.deepEqual(
      b.requests.slice(0, 4).map((r) => `${r.rawPath} ${r.status}`),
      ['/redfish/v1/ 308', '/redfish/v1/a 302', '/redfish/v1/b 307', '/redfish/v1 200'],
    );
    const moved = b.requests.find((r) => r.rawPath === '/redfish/v1/Chassis/1U/');
    assert.deepEqual([moved?.auth, moved?.status], ['session', 200], 'the token follows a redirect on the same origin');

    const four = await bmc([structuredClone(PSUS)]);
    four.redirects.set('/redfish/v1/', { status: 301, location: '/redfish/v1/a' });
    four.redirects.set('/redfish/v1/a', { status: 301, location: '/redfish/v1/b' });
    four.redirects.set('/redfish/v1/b', { status: 301, location: '/redfish/v1/c' });
    four.redirects.set('/redfish/v1/c', { status: 301, location: '/redfish/v1' });
    const err = await rejects(client(four).readPower(), 'http');
    assert.match(err.message, /redirect/i);
    assert.equal(four.requests.length, 4);
  });

  test('a redirect to another origin is kind http naming the Location; the other origin hears nothing', async () => {
    const b = await bmc([structuredClone(PSUS)]);
    const other = await bmc([structuredClone(PSUS)]);
    const elsewhere = `${other.url}/redfish/v1/Chassis/1U`;
    b.redirects.set('/redfish/v1/Chassis/1U', { status: 302, location: elsewhere });
    const err = await rejects(client(b).readPower(), 'http');
    assert.ok(err.message.includes(elsewhere), err.message);
    b.redirects.clear();
    b.redirects.set('/redfish/v1/', { status: 301, location: `${other.url}/redfish/v1/` });
    await rejects(client(b).readPower(), 'http');
    assert.equal(other.requests.length, 0);
  });

  for (const prefixLinks of [false, true]) {
    test(`an endpoint under a path prefix keeps it on every request (${prefixLinks ? 'links prefixed by the proxy' : 'the BMC’s own links'})`, async () => {
      const b = await bmc([structuredClone(PSUS), structuredClone(DEPRECATED_ONLY)], { prefix: '/bmc-3', prefixLinks });
      assert.ok(b.url.endsWith('/bmc-3'));
      const c = client(b, { endpoint: prefixLinks ? `${b.url}/` : b.url });
      const expected = { '1U': CASES[0].expect['1U'], Legacy: CASES[2].expect.Legacy };
      assert.deepEqual(perChassis(await c.readPower()), expected);
      assert.deepEqual(perChassis(await c.readPower()), expected);
      await c.close();
      assert.deepEqual(
        b.requests.filter((r) => !r.path.startsWith('/bmc-3/redfish/v1') || r.status === undefined || r.status >= 400),
        [],
      );
      assert.equal(b.requests[0].rawPath, '/bmc-3/redfish/v1/');
      assert.deepEqual(deletes(b), [`/bmc-3${SESSIONS}/1 204`]);
    });
  }
});

describe('close() and the bound on a whole poll', () => {
  test('close() with a request in flight: it rejects at once (connect, closed), later sends too; the session is DELETEd', async () => {
    const b = await bmc([structuredClone(PSUS)]);
    const c = client(b, { timeoutMs: 10_000 });
    await c.readPower();
    b.hangWhen = (method, path) => method === 'GET' && path.endsWith('/Metrics');
    const poll = rejects(c.readPower(), 'connect');
    await waitFor(() => b.requests.some((r) => r.method === 'GET' && r.status === undefined), 'a GET in flight');
    const t0 = performance.now();
    await c.close();
    const err = await poll;
    assert.match(err.message, /closed/);
    assert.ok(performance.now() - t0 < 1000, `took ${performance.now() - t0} ms`);
    assert.deepEqual(deletes(b), [`${SESSIONS}/1 204`]);
    const t1 = performance.now();
    assert.match((await rejects(c.readPower(), 'connect')).message, /closed/);
    assert.ok(performance.now() - t1 < 50);
  });

  test('close() during the login: the session the BMC creates afterwards is DELETEd, and nothing is discovered', async () => {
    const b = await bmc([structuredClone(PSUS)]);
    b.delayFor = (method) => (method === 'POST' ? 400 : 0);
    const c = client(b);
    const poll = rejects(c.readPower(), 'connect');
    await waitFor(() => posts(b) === 1, 'the login');
    await c.close();
    await poll;
    await sleep(600); // past the delayed answer
    assert.equal(b.activeSessions(), 0);
    assert.deepEqual(
      b.requests.map((r) => `${r.method} ${r.path}`),
      ['GET /redfish/v1', `POST ${SESSIONS}`, `DELETE ${SESSIONS}/1`],
    );
  });

  test('close() on a BMC that answers nothing: the DELETE gives up after 2 s', async () => {
    const b = await bmc([structuredClone(PSUS)]);
    const c = client(b, { timeoutMs: 10_000 });
    await c.readPower();
    b.hang = true;
    const t0 = performance.now();
    await c.close();
    const took = performance.now() - t0;
    assert.ok(took >= 1900 && took < 2600, `close took ${took} ms`);
    assert.deepEqual(
      b.requests.filter((r) => r.method === 'DELETE').map((r) => r.status),
      [undefined],
    );
    b.forgetSessions(); // the BMC never heard the end of it: its own session timeout would
  });

  test('a whole poll is bounded by 3 x timeoutMs, discovery included, then the client recovers', async () => {
    const chassis = ['A', 'B', 'C', 'D'].map((id) => ({ ...structuredClone(PSUS), id }));
    const b = await bmc(chassis);
    b.delayFor = (method) => (method === 'GET' ? 120 : 0); // each answer well within timeoutMs
    const c = client(b, { timeoutMs: 300 });
    const t0 = performance.now();
    const err = await rejects(c.readPower(), 'timeout');
    const took = performance.now() - t0;
    assert.ok(took >= 880 && took < 1300, `rejected after ${took} ms`);
    assert.match(err.message, /900 ms/);
    b.delayFor = () => 0;
    assert.equal(Object.keys(perChassis(await c.readPower())).length, 4);
  });
});

test('PowerControl: only the members with PhysicalContext Chassis when there are some', async () => {
  const b = await bmc([
    {
      id: 'R740',
      powerControl: [
        { memberId: '0', name: 'System Power Control', consumedWatts: 420, physicalContext: 'Chassis' },
        { memberId: '1', name: 'PSU 1', consumedWatts: 205, physicalContext: 'PowerSupply' },
        { memberId: '2', name: 'PSU 2', consumedWatts: 200, physicalContext: 'PowerSupply' },
      ],
    },
  ]);
  assert.deepEqual(perChassis(await client(b).readPower()), { R740: { source: 'PowerControl', watts: 420, readings: 1 } });
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
