// Platform power end to end: kepler-ts reads a BMC over Redfish (an HTTPS server in DMTF's
// shapes, with a session login, two chassis: one with two power supplies, one with only the
// deprecated Power resource) in the background, next to a RAPL tree for the CPU, and Prometheus
// scrapes it. The readings change, the BMC goes down (503) and comes back, then hangs longer than
// httpTimeout: the platform series follow the BMC, disappear while it is down (no frozen value),
// the joules go on across the outage, the errors are counted by kind, the CPU metrics and the
// scrapes never wait, and the password appears nowhere. The dashboards' platform panel returns data.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertPanelsReturnData, needsPlatform } from '../support/dashboardQueries.js';
import { parseExposition, select, sum, type Exposition } from '../support/exposition.js';
import { FakeBmc } from '../support/fakeBmc.js';
import { PrometheusServer } from '../support/prometheus.js';
import { CGROUP_ROOT, freePort, requireCommand, startExporter, type Exporter } from '../support/processes.js';
import { RaplTree } from '../support/raplTree.js';

const NODE = 'node-platform';
const PASSWORD = 'pl4tform-s3cret';
const NEW_PASSWORD = 'r0tated-s3cret';

async function scrape(e: Exporter): Promise<{ e: Exposition; ms: number }> {
  const t0 = performance.now();
  const r = await fetch(`${e.url}/metrics`, { headers: { Accept: 'text/plain' } });
  assert.equal(r.status, 200);
  const text = await r.text();
  return { e: parseExposition(text), ms: performance.now() - t0 };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('platform power from the BMC (Redfish), in the background', { timeout: 180_000 }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'kepler-platform-'));
  const sysfs = join(tmp, 'sys');
  let bmc: FakeBmc;
  let tree: RaplTree;
  let exporter: Exporter;
  let prom: PrometheusServer;
  let startedMs = 0;

  before(async () => {
    requireCommand('prometheus');
    mkdirSync(join(sysfs, 'fs'), { recursive: true });
    symlinkSync(CGROUP_ROOT, join(sysfs, 'fs', 'cgroup'));
    tree = new RaplTree(sysfs, [{ dir: 'intel-rapl:0', name: 'package-0', zone: 'package', idleWatts: 10, maxWatts: 45, maxRangeUj: 262_143_328_850 }]);
    tree.start(50);
    tree.resume();
    bmc = await FakeBmc.start(tmp, {
      username: 'monitor',
      password: PASSWORD,
      chassis: [
        {
          id: '1U',
          psus: [
            { id: 'PSU1', name: 'Power Supply 1', inputWatts: 180 },
            { id: 'PSU2', name: 'Power Supply 2', inputWatts: 220 },
          ],
        },
        { id: 'Blade7', powerControl: [{ memberId: '0', name: 'Blade Power Control', consumedWatts: 150 }] },
      ],
    });
    // Kepler's BMC file, with ours: the password from a file (a Kubernetes Secret), the BMC's CA.
    writeFileSync(join(tmp, 'password'), `${PASSWORD}\n`);
    writeFileSync(
      join(tmp, 'redfish.yaml'),
      [
        'nodes:',
        `  ${NODE}: bmc-1`,
        '  other-node: bmc-2',
        'bmcs:',
        '  bmc-1:',
        `    endpoint: ${bmc.url}`,
        '    username: monitor',
        `    passwordFile: ${join(tmp, 'password')}`,
        `    caFile: ${bmc.caFile}`,
        '  bmc-2:',
        '    endpoint: https://10.255.255.1',
        '    username: other',
        '    password: other',
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(tmp, 'config.yaml'),
      `experimental: {platform: {redfish: {enabled: true, configFile: ${join(tmp, 'redfish.yaml')}, pollInterval: 1s, httpTimeout: 500ms}}}\n`,
    );
    const port = await freePort();
    exporter = await startExporter(
      [`--config.file=${join(tmp, 'config.yaml')}`, `--host.sysfs=${sysfs}`, `--web.listen-address=127.0.0.1:${port}`, `--kube.node-name=${NODE}`, '--monitor.interval=1s'],
      port,
    );
    startedMs = Date.now();
    prom = await PrometheusServer.start(join(tmp, 'prom'), [{ job: 'kepler-ts', address: `127.0.0.1:${port}`, interval: '1s' }]);
    await sleep(5000);
  });

  after(async () => {
    exporter?.child.kill('SIGKILL');
    prom?.child.kill('SIGKILL');
    tree?.stop();
    await bmc?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it("one series per reading source with Kepler's labels; the sources add up to each chassis' power at the wall", async () => {
    const { e } = await scrape(exporter);
    const watts = select(e, 'kepler_platform_watts');
    assert.deepEqual(watts.map((s) => [s.labels.chassis_id, s.labels.source_type, s.labels.source_id, s.value]).sort(), [
      ['1U', 'PowerSupply', 'PSU1', 180],
      ['1U', 'PowerSupply', 'PSU2', 220],
      ['Blade7', 'PowerControl', '0', 150],
    ]);
    for (const s of watts) {
      assert.deepEqual(Object.keys(s.labels).sort(), ['bmc_id', 'chassis_id', 'node_name', 'source', 'source_id', 'source_name', 'source_type']);
      assert.equal(s.labels.source, 'redfish');
      assert.equal(s.labels.bmc_id, 'bmc-1');
      assert.equal(s.labels.node_name, NODE);
    }
    assert.equal(sum(select(e, 'kepler_platform_watts', { chassis_id: '1U' })), 400);
    for (const s of select(e, 'kepler_platform_reading_age_seconds')) assert.ok(s.value >= 0 && s.value < 3, `age ${s.value} s`);
    assert.ok(
      bmc.requests.some((r) => r.auth === 'session'),
      'a session login, as Redfish prefers',
    );
  });

  it('a new reading shows within a poll or two', async () => {
    bmc.chassis[0].psus = [
      { id: 'PSU1', name: 'Power Supply 1', inputWatts: 280 },
      { id: 'PSU2', name: 'Power Supply 2', inputWatts: 220 },
    ];
    await sleep(2500);
    const { e } = await scrape(exporter);
    assert.equal(select(e, 'kepler_platform_watts', { source_id: 'PSU1' })[0]?.value, 280);
  });

  it('the dashboards: platform vs CPU power returns data through Prometheus', async () => {
    const n = await assertPanelsReturnData(prom, Date.now() / 1000, Math.round((Date.now() - startedMs) / 1000), needsPlatform, { platform: true });
    assert.ok(n >= 2, `${n} platform queries ran`);
  });

  it('an outage (503): no platform series until a fresh reading, errors counted, the CPU and the scrapes go on; the joules integrate across it', async () => {
    const before = (await scrape(exporter)).e;
    const psu2Before = select(before, 'kepler_platform_joules_total', { source_id: 'PSU2' })[0].value;
    const beforeMs = Date.now();
    bmc.down = true;
    await sleep(3000);
    const during = await scrape(exporter);
    assert.equal(select(during.e, 'kepler_platform_watts').length, 0, 'no frozen value while the BMC is down');
    assert.ok((select(during.e, 'kepler_exporter_platform_errors_total', { source: 'redfish', kind: 'http' })[0]?.value ?? 0) >= 1);
    assert.ok(select(during.e, 'kepler_node_cpu_joules_total', { zone: 'package' })[0].value > select(before, 'kepler_node_cpu_joules_total', { zone: 'package' })[0].value);
    bmc.down = false;
    await sleep(2500);
    const back = (await scrape(exporter)).e;
    const psu2After = select(back, 'kepler_platform_joules_total', { source_id: 'PSU2' })[0].value;
    const seconds = (Date.now() - beforeMs) / 1000;
    // 220 W all along: the outage's energy is there, within a poll at each end.
    assert.ok(Math.abs(psu2After - psu2Before - 220 * seconds) <= 220 * 2.5, `PSU2 gained ${psu2After - psu2Before} J in ${seconds} s at 220 W`);
    const log = exporter.stderr();
    assert.equal(log.split('\n').filter((l) => /platform power unreadable/.test(l)).length, 1, 'one WARN for the outage');
    assert.match(log, /platform power readable again/);
  });

  it('a BMC that hangs longer than httpTimeout: counted as timeout, and a scrape never waits for it', async () => {
    bmc.hang = true;
    await sleep(2500);
    const during = await scrape(exporter);
    assert.ok(during.ms < 400, `scrape took ${during.ms} ms`);
    assert.ok((select(during.e, 'kepler_exporter_platform_errors_total', { source: 'redfish', kind: 'timeout' })[0]?.value ?? 0) >= 1);
    bmc.hang = false;
    await sleep(2500);
    assert.equal(select((await scrape(exporter)).e, 'kepler_platform_watts').length, 3, 'back after the hang');
  });

  it("a rotated password (the Secret's file changed): the BMC refuses the old one once, the new one is read, the readings come back", async () => {
    bmc.password = NEW_PASSWORD;
    bmc.forgetSessions();
    writeFileSync(join(tmp, 'password'), `${NEW_PASSWORD}\n`);
    await sleep(3500);
    const { e } = await scrape(exporter);
    assert.ok((select(e, 'kepler_exporter_platform_errors_total', { source: 'redfish', kind: 'auth' })[0]?.value ?? 0) >= 1, 'the refusal is counted');
    assert.equal(select(e, 'kepler_platform_watts').length, 3, 'read again with the new password, no restart');
  });

  it('the password is in no log line, and no scrape', async () => {
    const { e } = await scrape(exporter);
    for (const p of [PASSWORD, NEW_PASSWORD]) {
      assert.ok(!exporter.stderr().includes(p));
      assert.ok(!JSON.stringify(e).includes(p));
    }
  });
});
