// The choice of a chassis' power source from its Redfish resources (pure): the issue's order, the
// label values, and BMC JSON that is missing, null or of the wrong type.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chassisReadings, link, memberLinks, psuPresent, resourceId, type ChassisResources } from '../../src/device/platform/redfish/chassisPower.js';
import { sessionsPath } from '../../src/device/platform/redfish/redfishClient.js';

const chassis = { '@odata.id': '/redfish/v1/Chassis/1U', Id: '1U', Name: 'Computer System Chassis' };
const psu = (id: string, state = 'Enabled') => ({
  '@odata.id': `/redfish/v1/Chassis/1U/PowerSubsystem/PowerSupplies/${id}`,
  Id: id,
  Name: `Power Supply ${id}`,
  Status: { State: state },
});
const metrics = (watts: unknown, kwh?: number) => ({ Id: 'Metrics', InputPowerWatts: { Reading: watts }, ...(kwh === undefined ? {} : { EnergykWh: { Reading: kwh } }) });
const env = { Id: 'EnvironmentMetrics', PowerWatts: { Reading: 421.5 }, EnergykWh: { Reading: 1234.5 } };
const power = { Id: 'Power', PowerControl: [{ MemberId: '0', Name: 'System Power Control', PowerConsumedWatts: 398 }] };
const all: ChassisResources = {
  chassis,
  psus: [
    { psu: psu('Bay1'), metrics: metrics(374, 325.5) },
    { psu: psu('Bay2'), metrics: metrics(366) },
  ],
  environmentMetrics: env,
  power,
};

test('power supplies come first: one reading per PSU, input watts, its EnergykWh, Kepler label values', () => {
  assert.deepEqual(chassisReadings('bmc-1', all), [
    { source: 'redfish', bmcId: 'bmc-1', chassisId: '1U', sourceId: 'Bay1', sourceName: 'Power Supply Bay1', sourceType: 'PowerSupply', watts: 374, energyKwh: 325.5 },
    { source: 'redfish', bmcId: 'bmc-1', chassisId: '1U', sourceId: 'Bay2', sourceName: 'Power Supply Bay2', sourceType: 'PowerSupply', watts: 366 },
  ]);
});

test('absent bays and null readings are skipped; a zero reading is a reading', () => {
  const r = chassisReadings('b', {
    chassis,
    psus: [
      { psu: psu('Bay1', 'Absent'), metrics: metrics(500) },
      { psu: psu('Bay2'), metrics: metrics(null) },
      { psu: psu('Bay3'), metrics: metrics(0) },
    ],
  });
  assert.deepEqual(
    r.map((x) => [x.sourceId, x.watts]),
    [['Bay3', 0]],
  );
});

test('no PSU reading (absent, null, no metrics, garbage): EnvironmentMetrics, one reading for the chassis', () => {
  const psus = [
    { psu: psu('Bay1', 'Absent') },
    { psu: psu('Bay2'), metrics: metrics(null) },
    { psu: psu('Bay3') },
    { psu: psu('Bay4'), metrics: metrics('12') },
    { psu: psu('Bay5'), metrics: metrics(-1) },
  ];
  assert.deepEqual(chassisReadings('b', { ...all, psus }), [
    { source: 'redfish', bmcId: 'b', chassisId: '1U', sourceId: '1U', sourceName: 'Computer System Chassis', sourceType: 'EnvironmentMetrics', watts: 421.5, energyKwh: 1234.5 },
  ]);
});

test('neither: the deprecated PowerControl, one reading per member; nothing at all: no readings', () => {
  const r = chassisReadings('b', { chassis, psus: [], environmentMetrics: { PowerWatts: { Reading: null } }, power });
  assert.deepEqual(r, [{ source: 'redfish', bmcId: 'b', chassisId: '1U', sourceId: '0', sourceName: 'System Power Control', sourceType: 'PowerControl', watts: 398 }]);
  const two = { PowerControl: [{ MemberId: 'a', PowerConsumedWatts: 10 }, { PowerConsumedWatts: null }, 'junk', { PowerConsumedWatts: 20.5 }] };
  assert.deepEqual(
    chassisReadings('b', { chassis, power: two }).map((x) => [x.sourceId, x.sourceName, x.watts]),
    [
      ['a', 'a', 10],
      ['3', '3', 20.5],
    ],
  );
  assert.deepEqual(chassisReadings('b', { chassis }), []);
  assert.deepEqual(chassisReadings('b', { chassis, power: { PowerControl: 'x' } }), []);
});

test('ids: Id, else the last segment of @odata.id; helpers read links and members loosely', () => {
  assert.equal(resourceId({ '@odata.id': '/redfish/v1/Chassis/Blade7/' }, 'x'), 'Blade7');
  assert.equal(resourceId({}, 'x'), 'x');
  assert.equal(link({ Power: { '@odata.id': '/p' } }, 'Power'), '/p');
  assert.equal(link({ Power: '/p' }, 'Power'), undefined);
  assert.equal(link(undefined, 'Power'), undefined);
  assert.deepEqual(memberLinks({ Members: [{ '@odata.id': '/a' }, null, { '@odata.id': 3 }, { '@odata.id': '/b' }] }), ['/a', '/b']);
  assert.deepEqual(memberLinks({ Members: 'x' }), []);
  assert.equal(psuPresent({ Status: { State: 'Absent' } }), false);
  assert.equal(psuPresent({}), true);
});

test('sessions path: Links.Sessions, else under SessionService, else none (basic auth)', () => {
  assert.equal(sessionsPath({ Links: { Sessions: { '@odata.id': '/redfish/v1/SessionService/Sessions' } } }), '/redfish/v1/SessionService/Sessions');
  assert.equal(sessionsPath({ SessionService: { '@odata.id': '/redfish/v1/SessionService/' } }), '/redfish/v1/SessionService/Sessions');
  assert.equal(sessionsPath({ Links: {} }), undefined);
});

test('PowerControl: members with PhysicalContext Chassis alone when any has a reading; else every member', () => {
  const members = (...ctx: (string | undefined)[]) => ({
    PowerControl: ctx.map((c, i) => ({ MemberId: String(i), PowerConsumedWatts: 100 + i, ...(c === undefined ? {} : { PhysicalContext: c }) })),
  });
  const read = (power: Record<string, unknown>) => chassisReadings('b', { chassis, power }).map((x) => [x.sourceId, x.watts]);
  // DMTF: PowerControl[].PhysicalContext. The chassis' total beside its supplies' shares: the total only.
  assert.deepEqual(read(members('PowerSupply', 'Chassis', 'PowerSupply')), [['1', 101]]);
  assert.deepEqual(read(members('Chassis', 'Chassis', 'PowerSupply')), [
    ['0', 100],
    ['1', 101],
  ]);
  // No Chassis member: all of them, as before.
  assert.deepEqual(read(members('PowerSupply', undefined, 'StorageDevice')), [
    ['0', 100],
    ['1', 101],
    ['2', 102],
  ]);
  // A Chassis member without a reading does not hide the members that have one.
  const noReading = {
    PowerControl: [
      { MemberId: '0', PhysicalContext: 'Chassis', PowerConsumedWatts: null },
      { MemberId: '1', PhysicalContext: 'PowerSupply', PowerConsumedWatts: 90 },
    ],
  };
  assert.deepEqual(read(noReading), [['1', 90]]);
});
