// `kepler-ts top`: the exposition reader, the reading (gauges, counters between two scrapes,
// Kepler 0.7's names, the joins that name workloads), the table (widths, cuts, sorts), the keys,
// the flags and --http.config-file, and the client's one-line errors against real local HTTP(S)
// servers, certificates made by openssl.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { parseTopArgs, parseTopUrl, runTopCommand, TopUsageError, type TopIo, type TopOptions } from '../../src/cli/topCommand.js';
import { familyNames, parseExposition } from '../../src/top/exposition.js';
import { HttpConfigError, loadHttpConfig } from '../../src/top/httpConfig.js';
import { counterValues, CounterHistory, readReading, scrapeAt, shortId, type Level, type RateBase, type Reading, type Row, type Scrape } from '../../src/top/reading.js';
import { checkTlsMaterial, MAX_BODY_BYTES, ScrapeError, scrapeKepler, type Target } from '../../src/top/scrape.js';
import { fit, formatEnergy, formatWatts, printable, renderScreen, sortRows, type ScreenLine, type ScreenOptions, type View } from '../../src/top/table.js';
import { applyAction, frame, keyAction, nextScrapeDelay, oneLine, runTerminal, splitKeys } from '../../src/top/terminal.js';
import { padEnd, padStart, textWidth } from '../../src/top/text.js';
import { headlineZoneNames } from '../../src/util/powerZones.js';
import { selfSignedCertificate } from '../support/certificates.js';
import { parseExposition as parseTestExposition } from '../support/exposition.js';
import { freePort } from '../support/processes.js';

// Compiled to dist/test/unit/; the fixtures stay in the source tree.
const KEPLER_011 = readFileSync(fileURLToPath(new URL('../../../test/fixtures/kepler-0.11/metrics.txt', import.meta.url)), 'utf8');

const scrapeOf = (text: string, atMs = 1_000_000): Scrape => ({ exposition: parseExposition(text), atMs });
const rowsOf = (r: Reading, level: Level): Row[] => r.levels[level].rows;
const byName = (r: Reading, level: Level, name: string): Row | undefined => rowsOf(r, level).find((x) => x.name === name);
const near = (a: number | undefined, b: number, what: string) => assert.ok(a !== undefined && Math.abs(a - b) < 1e-9, `${what}: ${a} != ${b}`);
/** Rates from `previous`'s counters to `current`'s, over the time between the two scrapes. */
const since = (previous: Scrape, current: Scrape): RateBase => ({ values: counterValues(previous), seconds: (current.atMs - previous.atMs) / 1000 });
/** A history of the scrapes, oldest first, and what it reads. */
function history(scrapes: readonly Scrape[]): CounterHistory {
  const h = new CounterHistory(scrapes[0]);
  for (const s of scrapes.slice(1)) h.observe(s);
  return h;
}
const readHistory = (h: CounterHistory): Reading => readReading(h.latest, h.base());

// ---------- the exposition reader ----------

describe('top: the exposition reader', () => {
  it('reads the text format: HELP, TYPE, escapes, spaces, timestamps, exponents, infinities, CRLF', () => {
    const e = parseExposition(
      [
        '# HELP a_total Things, with a \\\\ backslash',
        '# TYPE a_total counter',
        'a_total{x="q\\"uote",y="back\\\\slash",z="new\\nline"} 1.5e+06',
        'a_total{ x = "spaced" , } 3 1712345678000',
        '',
        '# a comment',
        'b +Inf',
        'c -Inf\r',
        'd NaN',
        'e 12',
      ].join('\n'),
    );
    assert.deepEqual(e.malformed, []);
    assert.equal(e.types.get('a_total'), 'counter');
    assert.equal(e.help.get('a_total'), 'Things, with a \\\\ backslash');
    assert.deepEqual(e.samples[0], { name: 'a_total', labels: { x: 'q"uote', y: 'back\\slash', z: 'new\nline' }, value: 1.5e6 });
    assert.deepEqual(e.samples[1], { name: 'a_total', labels: { x: 'spaced' }, value: 3 });
    assert.deepEqual(
      e.samples.slice(2).map((s) => [s.name, s.value]),
      [
        ['b', Infinity],
        ['c', -Infinity],
        ['d', NaN],
        ['e', 12],
      ],
    );
  });

  it('reads OpenMetrics: _total samples of a counter family, exemplars, # UNIT and # EOF', () => {
    const e = parseExposition(
      [
        '# TYPE kepler_x_joules counter',
        '# UNIT kepler_x_joules joules',
        'kepler_x_joules_total{zone="package"} 7 # {trace_id="abc"} 1',
        'kepler_x_joules_created 17',
        '# EOF',
        '',
      ].join('\n'),
    );
    assert.deepEqual(e.malformed, []);
    assert.deepEqual(
      e.samples.map((s) => [s.name, s.value]),
      [
        ['kepler_x_joules_total', 7],
        ['kepler_x_joules_created', 17],
      ],
    );
    assert.deepEqual([...familyNames(e)], ['kepler_x_joules']);
  });

  it('sets aside what it cannot read, with the line and why, and reads the rest', () => {
    const e = parseExposition(['<!DOCTYPE html>', 'ok 1', 'bad{x=1} 2', 'worse{x="1"} abc', 'nospace{x="1"}3'].join('\n'));
    assert.deepEqual(
      e.samples.map((s) => s.name),
      ['ok'],
    );
    assert.deepEqual(
      e.malformed.map((m) => [m.line, m.reason]),
      [
        [1, 'not a metric name'],
        [3, 'expected " after x='],
        [4, 'value "abc" is not a number'],
        [5, 'expected a space before the value'],
      ],
    );
  });

  it('reads values as Go does (Inf and NaN in any case), leading whitespace, a label named __proto__, and stops at # EOF', () => {
    const e = parseExposition(
      ['a inf', 'b -INF', 'c +Infinity', 'd nan', '  e 1', '\tf{x="1"} 2', 'g{__proto__="p",constructor="c"} 3', '# EOF', 'after_eof{this="is not read"} 4', '<html>'].join('\n'),
    );
    assert.deepEqual(e.malformed, []);
    assert.deepEqual(
      e.samples.map((s) => [s.name, s.value]),
      [
        ['a', Infinity],
        ['b', -Infinity],
        ['c', Infinity],
        ['d', NaN],
        ['e', 1],
        ['f', 2],
        ['g', 3],
      ],
    );
    const g = e.samples[6].labels;
    assert.equal(Object.getPrototypeOf(g), Object.prototype, 'the prototype is untouched');
    assert.deepEqual(Object.keys(g), ['__proto__', 'constructor']);
    assert.equal(g.__proto__, 'p');
    assert.equal(g.constructor, 'c');
    assert.deepEqual(
      parseExposition('x +nan\n').malformed.map((m) => m.reason),
      ['value "+nan" is not a number'],
      'Go takes no sign on NaN',
    );
  });

  it("is the tests' lenient reader too, which fails on a line it cannot read", () => {
    const text = '# TYPE a gauge\na{b="c"} 1\n';
    assert.deepEqual(parseTestExposition(text), { samples: [{ name: 'a', labels: { b: 'c' }, value: 1 }], types: new Map([['a', 'gauge']]), help: new Map() });
    assert.throws(() => parseTestExposition('a{b="c"} 1\n<html>\n'), /bad sample line 2 \(not a metric name\)/);
  });

  it('reads the Kepler 0.11 fixture whole', () => {
    const e = parseExposition(KEPLER_011);
    assert.deepEqual(e.malformed, []);
    assert.ok(e.samples.length > 150);
    assert.ok(familyNames(e).has('kepler_node_cpu_joules_total'));
  });
});

// ---------- the reading ----------

describe('top: the reading of Kepler 0.11 (gauges)', () => {
  const r = readReading(scrapeOf(KEPLER_011));

  it('names the exporter, the meter from the zone paths, the node, and the zones with their split', () => {
    assert.equal(r.exporter, 'Kepler v0.11.0');
    assert.equal(r.meter, 'rapl');
    assert.equal(r.nodeName, 'worker-1');
    assert.equal(r.source, 'gauges');
    assert.equal(r.waiting, false);
    assert.deepEqual(r.zones, [
      { zone: 'package', watts: 85.5, activeWatts: 52, idleWatts: 33.5 },
      { zone: 'core', watts: 61.25, activeWatts: 45, idleWatts: 16.25 },
      { zone: 'dram', watts: 12.75, activeWatts: 4.5, idleWatts: 8.25 },
    ]);
    assert.deepEqual(r.headlineZones, ['package', 'dram']);
    assert.equal(r.usageRatio, 0.42);
    assert.deepEqual(r.gpus, []);
    assert.deepEqual(r.platform, []);
  });

  it('shows running workloads only, with package + dram watts and joules', () => {
    const app = byName(r, 'container', 'app (default/web-7d4b9c8f6-x2x9z)');
    assert.ok(app);
    assert.equal(app.id, 'eee65f53e942');
    near(app.watts, 36.3, 'app watts');
    assert.deepEqual(app.zoneWatts, [34, 2.3]);
    near(app.energyJ, 46210.5 + 3190.4, 'app joules');
    assert.deepEqual(
      rowsOf(r, 'container')
        .map((x) => x.name)
        .sort(),
      ['app (default/web-7d4b9c8f6-x2x9z)', 'coredns (kube-system/coredns-5d78c9869d-qk8tn)', 'nginx (default/web-7d4b9c8f6-x2x9z)', 'prometheus'],
    );
    assert.equal(
      rowsOf(r, 'process').find((x) => x.name === 'make'),
      undefined,
      'the terminated process is not a row',
    );
    assert.equal(byName(r, 'process', 'stress-ng-cpu')?.id, '48213');
    assert.deepEqual(
      sortRows(rowsOf(r, 'pod'), 'watts').map((x) => [x.name, x.id]),
      [
        ['default/web-7d4b9c8f6-x2x9z', '6f2b1c3a'],
        ['kube-system/coredns-5d78c9869d-qk8tn', '0a9c3e51'],
      ],
    );
    assert.deepEqual(
      rowsOf(r, 'vm').map((x) => [x.name, x.id, x.watts]),
      [['win11-desktop', '4c4c4544', 7.2]],
    );
  });

  it('the fixture is consistent: at each level the running workloads add up to no more than the node active power', () => {
    for (const level of ['process', 'container', 'pod', 'vm'] as const) {
      for (const [z, zone] of r.headlineZones.entries()) {
        const sum = rowsOf(r, level).reduce((a, x) => a + (x.zoneWatts[z] ?? 0), 0);
        const active = r.zones.find((x) => x.zone === zone)?.activeWatts ?? 0;
        assert.ok(sum <= active + 1e-9, `${level} ${zone}: ${sum} W > ${active} W active`);
      }
    }
  });
});

/** A kepler-ts-style scrape: our meter info, refresh time, unattributed counters, and a GPU. */
function keplerTsText(o: { refreshS: number; package: number; dram: number; unattributed: number; gpuJ: number; gpuUnattributed: number }): string {
  return [
    '# TYPE kepler_node_cpu_joules_total counter',
    `kepler_node_cpu_joules_total{node_name="n1",zone="package",path="aggregated-package"} ${o.package}`,
    `kepler_node_cpu_joules_total{node_name="n1",zone="core",path="/sys/class/powercap/intel-rapl:0:0"} ${o.package / 2}`,
    `kepler_node_cpu_joules_total{node_name="n1",zone="dram",path="/sys/class/powercap/intel-rapl:0:2"} ${o.dram}`,
    '# TYPE kepler_node_cpu_watts gauge',
    'kepler_node_cpu_watts{node_name="n1",zone="package",path="aggregated-package"} 40',
    'kepler_node_cpu_watts{node_name="n1",zone="core",path="/sys/class/powercap/intel-rapl:0:0"} 20',
    'kepler_node_cpu_watts{node_name="n1",zone="dram",path="/sys/class/powercap/intel-rapl:0:2"} 5',
    '# TYPE kepler_container_cpu_joules_total counter',
    `kepler_container_cpu_joules_total{node_name="n1",container_id="${'ab'.repeat(32)}",container_name="",runtime="containerd",state="running",zone="package",pod_id=""} 100`,
    '# TYPE kepler_container_cpu_watts gauge',
    `kepler_container_cpu_watts{node_name="n1",container_id="${'ab'.repeat(32)}",container_name="",runtime="containerd",state="running",zone="package",pod_id=""} 10`,
    `kepler_container_cpu_watts{node_name="n1",container_id="${'ab'.repeat(32)}",container_name="",runtime="containerd",state="running",zone="core",pod_id=""} 99`,
    '# TYPE kepler_container_gpu_joules_total counter',
    `kepler_container_gpu_joules_total{node_name="n1",container_id="${'ab'.repeat(32)}",container_name="",runtime="containerd",state="running",pod_id="",gpu="0",gpu_uuid="GPU-1"} ${o.gpuJ}`,
    '# TYPE kepler_container_gpu_watts gauge',
    `kepler_container_gpu_watts{node_name="n1",container_id="${'ab'.repeat(32)}",container_name="",runtime="containerd",state="running",pod_id="",gpu="0",gpu_uuid="GPU-1"} 70`,
    '# TYPE kepler_node_gpu_watts gauge',
    'kepler_node_gpu_watts{node_name="n1",gpu="0",gpu_uuid="GPU-1",gpu_name="NVIDIA H100",vendor="nvidia"} 120',
    'kepler_node_gpu_active_watts{node_name="n1",gpu="0",gpu_uuid="GPU-1",gpu_name="NVIDIA H100",vendor="nvidia"} 80',
    'kepler_node_gpu_idle_watts{node_name="n1",gpu="0",gpu_uuid="GPU-1",gpu_name="NVIDIA H100",vendor="nvidia"} 40',
    '# TYPE kepler_platform_watts gauge',
    'kepler_platform_watts{node_name="n1",source="redfish",bmc_id="b",chassis_id="1",source_id="0",source_name="PSU0",source_type="PowerSupply"} 150',
    'kepler_platform_watts{node_name="n1",source="redfish",bmc_id="b",chassis_id="1",source_id="1",source_name="PSU1",source_type="PowerSupply"} 145',
    '# TYPE kepler_process_cpu_watts gauge',
    '# TYPE kepler_node_cpu_unattributed_joules_total counter',
    `kepler_node_cpu_unattributed_joules_total{node_name="n1",zone="package",level="container"} ${o.unattributed}`,
    `kepler_node_cpu_unattributed_joules_total{node_name="n1",zone="core",level="container"} ${o.unattributed * 10}`,
    `kepler_node_cpu_unattributed_joules_total{node_name="n1",zone="dram",level="container"} ${o.unattributed / 2}`,
    '# TYPE kepler_node_gpu_unattributed_joules_total counter',
    `kepler_node_gpu_unattributed_joules_total{node_name="n1",gpu="0",gpu_uuid="GPU-1",level="container"} ${o.gpuUnattributed}`,
    'kepler_build_info{arch="amd64",branch="main",revision="abc",version="0.1.0",goversion="v20.1.0",nodeversion="v20.1.0"} 1',
    'kepler_exporter_meter_info{meter="passthrough",zones="package,core,dram",state="passthrough-stale"} 1',
    `kepler_exporter_last_refresh_timestamp_seconds ${o.refreshS}`,
    '',
  ].join('\n');
}

describe('top: the reading of kepler-ts', () => {
  const first = scrapeAt(parseExposition(keplerTsText({ refreshS: 1000, package: 500, dram: 50, unattributed: 20, gpuJ: 300, gpuUnattributed: 10 })), 5);
  const second = scrapeAt(parseExposition(keplerTsText({ refreshS: 1002, package: 580, dram: 60, unattributed: 26, gpuJ: 440, gpuUnattributed: 30 })), 7);

  it('takes the time of the refresh, not of the answer', () => {
    assert.deepEqual([first.atMs, first.refreshedAtMs], [5, 1_000_000]);
    assert.equal(readReading(first).atMs, 1_000_000);
    assert.deepEqual(scrapeAt(parseExposition('kepler_x 1\n'), 5), { exposition: parseExposition('kepler_x 1\n'), atMs: 5 });
  });

  it('names our meter with its state, the exporter with its version; GPUs and platform power', () => {
    const r = readReading(first);
    assert.equal(r.exporter, 'kepler-ts 0.1.0');
    assert.equal(r.meter, 'passthrough (passthrough-stale)');
    assert.deepEqual(r.gpus, [{ gpu: '0', name: 'NVIDIA H100', watts: 120, activeWatts: 80, idleWatts: 40 }]);
    assert.deepEqual(r.platform, [{ name: 'redfish', watts: 295 }], 'the power supplies of one chassis add up');
  });

  it('a container without a name is its 12 hex; its WATTS are package + dram + GPU, never core', () => {
    const [row] = rowsOf(readReading(first), 'container');
    assert.equal(row.name, 'abababababab');
    assert.deepEqual(row.zoneWatts, [10, undefined]);
    assert.equal(row.gpuWatts, 70);
    assert.equal(row.watts, 80);
    assert.equal(row.energyJ, 400);
  });

  it('the unattributed row appears from the second refresh, from its counters, the GPUs’ included', () => {
    assert.equal(readReading(first).levels.container.unattributed, undefined);
    // The exporter's refresh times are exact: one change is enough.
    const r = readHistory(history([first, second]));
    const u = r.levels.container.unattributed;
    assert.ok(u);
    assert.deepEqual(u.zoneWatts, [3, 1.5]); // (26-20)/2 s, (13-10)/2 s
    assert.equal(u.gpuWatts, 10); // (30-10)/2 s
    assert.equal(u.watts, 14.5);
    assert.equal(u.energyJ, 26 + 13 + 30);
    assert.equal(r.levels.process.unattributed, undefined, 'no counters for the level: no row');
    const line = renderScreen(r, { level: 'container', sort: 'watts' }, { width: Infinity, keys: false, ellipsis: '~' }).at(-1);
    assert.match(line?.text ?? '', /^\(unattributed\)\s+14\.50\s+3\.00\s+1\.50\s+10\.00\s+69\.0 J$/);
  });

  it('platform power per source, never added across sources; per chassis the whole-chassis reading before the supplies', () => {
    const platform = (lines: string[]) => readReading(scrapeOf(['kepler_node_cpu_watts{zone="package"} 1', ...lines].join('\n'))).platform;
    const series = (source: string, bmc: string, chassis: string, id: string, type: string, watts: number) =>
      `kepler_platform_watts{node_name="n",source="${source}",bmc_id="${bmc}",chassis_id="${chassis}",source_id="${id}",source_name="${id}",source_type="${type}"} ${watts}`;
    // Redfish and ACPI both measure the machine: side by side. A PowerControl beside the supplies it adds up: the PowerControl.
    assert.deepEqual(
      platform([
        series('redfish', 'b', '1', 'PSU0', 'PowerSupply', 150),
        series('redfish', 'b', '1', 'PSU1', 'PowerSupply', 145),
        series('redfish', 'b', '1', '0', 'PowerControl', 290),
        series('acpi', '', '', '/sys/class/hwmon/hwmon3', 'acpi_power_meter', 280),
      ]),
      [
        { name: 'redfish', watts: 290 },
        { name: 'acpi', watts: 280 },
      ],
    );
    // EnvironmentMetrics first; two chassis of one BMC each named.
    assert.deepEqual(
      platform([
        series('redfish', 'b', '1', 'PSU0', 'PowerSupply', 150),
        series('redfish', 'b', '1', '1', 'EnvironmentMetrics', 300),
        series('redfish', 'b', '1', '0', 'PowerControl', 290),
        series('redfish', 'b', '2', 'PSU0', 'PowerSupply', 40),
        series('redfish', 'b', '2', 'PSU1', 'PowerSupply', 41),
      ]),
      [
        { name: 'redfish b/1', watts: 300 },
        { name: 'redfish b/2', watts: 81 },
      ],
    );
    const many = platform(Array.from({ length: 6 }, (_, i) => series('redfish', 'b', String(i), 'PSU0', 'PowerSupply', 100 + i)));
    const header = renderScreen(
      readReading(
        scrapeOf(['kepler_node_cpu_watts{zone="package"} 1', ...Array.from({ length: 6 }, (_, i) => series('redfish', 'b', String(i), 'PSU0', 'PowerSupply', 100 + i))].join('\n')),
      ),
      { level: 'container', sort: 'watts' },
      { width: Infinity, keys: false, ellipsis: '~', clock: () => 'T' },
    );
    assert.equal(many.length, 6);
    assert.equal(
      header.find((l) => l.text.startsWith('PLATFORM'))?.text,
      'PLATFORM  redfish b/0 100.00 W  redfish b/1 101.00 W  redfish b/2 102.00 W  redfish b/3 103.00 W  (2 more)',
    );
  });

  it('an empty family declared by TYPE still counts as exported', () => {
    const r = readReading(first);
    assert.equal(r.levels.process.exported, true);
    assert.equal(r.levels.vm.exported, false);
  });
});

/** Kepler's current names without any _watts: counters only. */
function countersOnly(t: number, busy: number, extra = ''): string {
  return [
    `kepler_node_cpu_joules_total{node_name="n",path="/sys/class/powercap/intel-rapl:0",zone="package"} ${1000 + t * 50}`,
    `kepler_node_cpu_active_joules_total{node_name="n",path="/sys/class/powercap/intel-rapl:0",zone="package"} ${400 + t * 30}`,
    `kepler_process_cpu_joules_total{comm="busy",container_id="",exe="",node_name="n",pid="10",state="running",type="regular",vm_id="",zone="package"} ${busy}`,
    `kepler_process_cpu_joules_total{comm="gone",container_id="",exe="",node_name="n",pid="11",state="terminated",type="regular",vm_id="",zone="package"} 5000`,
    extra,
  ].join('\n');
}

describe('top: watts from counters', () => {
  it('with one scrape: waiting, no watts, energy known', () => {
    const r = readReading(scrapeOf(countersOnly(0, 100)));
    assert.equal(r.source, 'counters');
    assert.equal(r.waiting, true);
    assert.equal(r.zones[0].watts, undefined);
    assert.deepEqual(
      rowsOf(r, 'process').map((x) => [x.name, x.watts, x.energyJ]),
      [['busy', undefined, 100]],
    );
  });

  it('the energy since the base over the time since it; a series new since the base has no rate; a reset counts from 0', () => {
    const a = scrapeOf(countersOnly(0, 100), 10_000);
    const b = scrapeOf(countersOnly(4, 140, 'kepler_process_cpu_joules_total{comm="new",pid="12",state="running",zone="package"} 500008'), 14_000);
    const r = readReading(b, since(a, b));
    assert.equal(r.waiting, false);
    assert.deepEqual(r.zones, [{ zone: 'package', watts: 50, activeWatts: 30 }]);
    assert.equal(byName(r, 'process', 'busy')?.watts, 10);
    // Not 500008 J / 4 s: how much of its total fell in these 4 s is not known, as with Prometheus's rate().
    assert.equal(byName(r, 'process', 'new')?.watts, undefined);
    assert.equal(byName(r, 'process', 'new')?.energyJ, 500008);
    const c = scrapeOf(countersOnly(5, 20), 15_000);
    assert.equal(byName(readReading(c, since(b, c)), 'process', 'busy')?.watts, 20, 'a counter that went down restarted: 20 J in 1 s');
  });

  it('a workload whose labels change is the same counter going on, not a new one', () => {
    const a = scrapeOf(countersOnly(0, 100), 10_000);
    // The exporter learnt the process's exe and container after its series began.
    const b = scrapeOf(countersOnly(4, 140).replace('comm="busy",container_id="",exe=""', `comm="busy",container_id="${'e'.repeat(64)}",exe="/usr/bin/busy"`), 14_000);
    assert.equal(byName(readReading(b, since(a, b)), 'process', 'busy')?.watts, 10);
  });

  it('an exporter refreshing every 3 s scraped every 2 s: a steady 100 W reads about 100 W, not 74 then 147', () => {
    // Changes at 3, 6, 9 s...; scrapes at 0.5, 2.5, 4.5 s...: each change is seen up to 2 s late.
    const node = (t: number) => `kepler_node_cpu_joules_total{node_name="n",path="/sys/class/powercap/intel-rapl:0",zone="package"} ${1000 + 300 * Math.floor(t / 3000)}`;
    const scrapes = Array.from({ length: 40 }, (_, i) => scrapeOf(node(500 + 2000 * i), 500 + 2000 * i));
    const h = new CounterHistory(scrapes[0]);
    const watts: number[] = [];
    for (const s of scrapes.slice(1)) {
      h.observe(s);
      const w = readHistory(h).zones[0].watts;
      // Timed by the first scrape that saw them, two changes 2 s or 4 s apart read 150 W and 75 W.
      if (w !== undefined && s.atMs >= 15_000) watts.push(w);
    }
    assert.ok(watts.length > 20);
    for (const w of watts) assert.ok(w > 89.99 && w < 110.01, `${w} W`);
    const mean = watts.reduce((a, b) => a + b, 0) / watts.length;
    assert.ok(Math.abs(mean - 100) < 5, `mean ${mean} W`);
  });

  it('without the exporter’s refresh time a rate needs two changes; with it, one, exactly timed', () => {
    const a = scrapeOf(countersOnly(0, 100), 0);
    const b = scrapeOf(countersOnly(0, 100), 2000); // not refreshed yet
    const c = scrapeOf(countersOnly(5, 150), 2500); // changed between 2 and 2.5 s
    const d = scrapeOf(countersOnly(5, 150), 4000);
    const e = scrapeOf(countersOnly(10, 200), 7500); // changed between 4 and 7.5 s
    assert.equal(history([a, b, c, d]).base(), undefined, 'when the first state began is not known');
    // From 2.25 s to 5.75 s: 50 J in 3.5 s.
    near(byName(readHistory(history([a, b, c, d, e])), 'process', 'busy')?.watts, 50 / 3.5, 'busy');
    const timed = (t: number, busy: number, refreshS: number, at: number) =>
      scrapeAt(parseExposition(countersOnly(t, busy, `kepler_exporter_last_refresh_timestamp_seconds ${refreshS}`)), at);
    const h = history([timed(0, 100, 100, 100_500), timed(0, 100, 100, 101_500), timed(5, 150, 105, 105_900)]);
    assert.deepEqual(h.base()?.seconds, 5);
    assert.equal(byName(readHistory(h), 'process', 'busy')?.watts, 10);
  });

  it('the view draws the latest scrape while the counters stand still: its gauges, labels and meter; the counters only give rates', () => {
    const extra = (usage: number, state: string) => `kepler_node_cpu_usage_ratio{node_name="n"} ${usage}\nkepler_exporter_meter_info{meter="rapl",state="${state}"} 1`;
    const h = history([scrapeOf(countersOnly(0, 100, extra(0.1, 'ok')), 0), scrapeOf(countersOnly(0, 100, extra(0.1, 'ok')).replace('comm="busy"', 'comm="renamed"'), 2000)]);
    h.observe(scrapeOf(countersOnly(0, 100, extra(0.75, 'stale')).replace('comm="busy"', 'comm="renamed"'), 4000));
    const r = readHistory(h);
    assert.equal(r.usageRatio, 0.75);
    assert.equal(r.meter, 'rapl (stale)');
    assert.deepEqual(
      rowsOf(r, 'process').map((x) => x.name),
      ['renamed'],
    );
    assert.equal(r.atMs, 4000);
  });
});

/** Kepler 0.7's names on a GPU node: a counter per domain (gpu too, under the current family's names), mode dynamic and idle, the pod on the container. */
function legacy07(t: number): string {
  const c = (domain: string, id: string, name: string, ns: string, pod: string, dyn: number) =>
    [
      `kepler_container_${domain}_joules_total{container_id="${id}",container_name="${name}",container_namespace="${ns}",mode="dynamic",pod_name="${pod}",source="rapl-sysfs"} ${dyn}`,
      `kepler_container_${domain}_joules_total{container_id="${id}",container_name="${name}",container_namespace="${ns}",mode="idle",pod_name="${pod}",source="rapl-sysfs"} ${dyn * 10}`,
    ].join('\n');
  return [
    '# HELP kepler_node_package_joules_total Aggregated value in package value from rapl-sysfs',
    '# TYPE kepler_node_package_joules_total counter',
    `kepler_node_package_joules_total{instance="node-7",mode="dynamic",package="0",source="rapl-sysfs"} ${100 + 20 * t}`,
    `kepler_node_package_joules_total{instance="node-7",mode="dynamic",package="1",source="rapl-sysfs"} ${100 + 10 * t}`,
    `kepler_node_package_joules_total{instance="node-7",mode="idle",package="0",source="rapl-sysfs"} ${500 + 15 * t}`,
    `kepler_node_dram_joules_total{instance="node-7",mode="dynamic",package="0",source="rapl-sysfs"} ${10 + 2 * t}`,
    `kepler_node_dram_joules_total{instance="node-7",mode="idle",package="0",source="rapl-sysfs"} ${50 + 3 * t}`,
    'kepler_node_uncore_joules_total{instance="node-7",mode="dynamic",package="0",source="rapl-sysfs"} 0',
    'kepler_node_platform_joules_total{instance="node-7",mode="dynamic",package="0",source="rapl-sysfs"} 0',
    '# TYPE kepler_node_gpu_joules_total counter',
    `kepler_node_gpu_joules_total{instance="node-7",mode="dynamic",package="0",source="nvidia"} ${1000 + 60 * t}`,
    `kepler_node_gpu_joules_total{instance="node-7",mode="idle",package="0",source="nvidia"} ${500 + 20 * t}`,
    'kepler_node_info{components_power_source="rapl-sysfs",cpu_architecture="Skylake",platform_power_source="none"} 1',
    'kepler_container_cpu_cycles_total{container_id="abc",pod_name="web-1"} 123456',
    c('package', 'c'.repeat(64), 'web', 'shop', 'web-1', 10 + 8 * t),
    c('dram', 'c'.repeat(64), 'web', 'shop', 'web-1', 1 + t),
    c('gpu', 'c'.repeat(64), 'web', 'shop', 'web-1', 100 + 50 * t),
    c('package', 'system_processes', 'system_processes', 'system', 'system_processes', 50 + 4 * t),
    `kepler_process_package_joules_total{command="java",container_id="${'c'.repeat(64)}",mode="dynamic",pid="77",source="rapl-sysfs",vm_id=""} ${5 + 6 * t}`,
    '',
  ].join('\n');
}

describe('top: the reading of Kepler 0.7 names (counters only)', () => {
  const [before, now] = [scrapeOf(legacy07(0), 10_000), scrapeOf(legacy07(2), 12_000)];
  const r = readReading(now, since(before, now));

  it('the node per domain from dynamic (active) and idle, summed over sockets; zeroed domains left out; its GPUs', () => {
    // Its kepler_node_gpu_joules_total and kepler_container_gpu_joules_total have the current family's names: still 0.7.
    assert.equal(r.exporter, 'Kepler (0.7 metrics)');
    assert.equal(r.meter, 'rapl-sysfs');
    assert.equal(r.nodeName, 'node-7');
    assert.deepEqual(r.zones, [
      { zone: 'package', watts: 45, activeWatts: 30, idleWatts: 15 },
      { zone: 'dram', watts: 5, activeWatts: 2, idleWatts: 3 },
    ]);
    assert.deepEqual(r.headlineZones, ['package', 'dram']);
    assert.deepEqual(r.gpus, [{ gpu: '0', name: '', watts: 80, activeWatts: 60, idleWatts: 20 }]);
    assert.deepEqual(r.platform, []);
  });

  it('containers from their dynamic energy, with the pod they name; pseudo containers by name', () => {
    assert.deepEqual(
      sortRows(rowsOf(r, 'container'), 'watts').map((x) => [x.name, x.id, x.gpuWatts, x.watts, x.energyJ]),
      [
        ['web (shop/web-1)', 'cccccccccccc', 50, 9 + 50, 26 + 3 + 200],
        ['system_processes', 'system_processes', undefined, 4, 58],
      ],
    );
    assert.deepEqual(
      rowsOf(r, 'process').map((x) => [x.name, x.id, x.watts]),
      [['java', '77', 6]],
    );
    assert.equal(r.levels.pod.exported, false, 'Kepler 0.7 had no pod level');
  });
});

describe('top: headline zones and ids', () => {
  it('package + dram; psys alone; else the first zone that is not core or uncore', () => {
    assert.deepEqual(headlineZoneNames(['package', 'core', 'uncore', 'dram']), ['package', 'dram']);
    assert.deepEqual(headlineZoneNames(['core', 'psys']), ['psys']);
    assert.deepEqual(headlineZoneNames(['core', 'vdd_cpu']), ['vdd_cpu']);
  });

  it('short ids: 12 hex of a container id, the first group of a UUID, anything else whole', () => {
    assert.equal(shortId('f'.repeat(64)), 'ffffffffffff');
    assert.equal(shortId('6f2b1c3a-9d4e-4b7a-8c21-5e0f7a9b3d12'), '6f2b1c3a');
    assert.equal(shortId('my-vm'), 'my-vm');
  });
});

// ---------- the table ----------

describe('top: the table', () => {
  const reading = readReading(scrapeOf(KEPLER_011, Date.UTC(2025, 0, 2, 3, 4, 5)));
  const view: View = { level: 'container', sort: 'watts' };
  const opts = (o: Partial<ScreenOptions> = {}): ScreenOptions => ({ width: Infinity, keys: false, ellipsis: '~', clock: () => '03:04:05', ...o });
  const texts = (o: Partial<ScreenOptions> = {}, v = view) => renderScreen(reading, v, opts(o)).map((l) => l.text);

  it('the header says node, meter, exporter, time, the zones with their split, the level and the sort', () => {
    const lines = texts();
    assert.equal(lines[0], 'node worker-1  meter rapl  Kepler v0.11.0  03:04:05');
    assert.equal(lines[1], 'CPU  package 85.50 W (52.00 active, 33.50 idle)  core 61.25 W (45.00 active, 16.25 idle)  dram 12.75 W (4.50 active, 8.25 idle)  usage 42.0%');
    assert.equal(lines[2], 'containers: 4 running  sort: watts');
    assert.deepEqual(lines[4].split(/\s+/), ['NAME', 'ID', 'WATTS', 'PACKAGE', 'DRAM', 'ENERGY']);
    assert.match(lines[5], /^app \(default\/web-7d4b9c8f6-x2x9z\)\s+eee65f53e942\s+36\.30\s+34\.00\s+2\.30\s+49\.40 kJ$/);
  });

  it('the live view adds the interval and the keys; a failed scrape its status', () => {
    const lines = texts({ intervalMs: 2000, keys: true, status: 'scrape failed' });
    assert.match(lines[0], /every 2s$/);
    assert.match(lines[2], /keys: p c k v \(Tab\) level, s sort, q quit/);
    assert.equal(lines[3], 'scrape failed');
    const status = 'cannot reach http://127.0.0.1:1/metrics: connection refused (ECONNREFUSED) (failing for 3s; the table is 5s old)';
    const narrow = renderScreen(reading, view, opts({ width: 80, status }));
    assert.deepEqual(
      narrow.filter((l) => l.style === 'status').map((l) => l.text),
      ['cannot reach http://127.0.0.1:1/metrics: connection refused (ECONNREFUSED)', '(failing for 3s; the table is 5s old)'],
      'a status that does not fit goes on two lines, broken at a space',
    );
  });

  it('no line is longer than the width; names are cut with the mark, columns dropped when narrow, never wrapped', () => {
    for (const width of [30, 50, 64, 80, 120, 200]) {
      const lines = texts({ width });
      for (const l of lines) assert.ok(l.length <= width, `${width}: ${JSON.stringify(l)}`);
      const titles = lines.find((l) => l.startsWith('NAME'))?.split(/\s+/) ?? [];
      assert.ok(titles.includes('WATTS'), `${width}: WATTS stays`);
      if (width >= 80) assert.deepEqual(titles, ['NAME', 'ID', 'WATTS', 'PACKAGE', 'DRAM', 'ENERGY']);
      if (width <= 50) assert.ok(!titles.includes('ENERGY'), `${width}: ENERGY goes first`);
    }
    const narrow = texts({ width: 64 });
    assert.ok(
      narrow.some((l) => /^coredns \(kube-system\/.*~ /.test(l)),
      narrow.join('\n'),
    );
    assert.ok(
      texts({ width: 80 }).some((l) => /^app \(default\/\S*~ /.test(l)),
      'a name longer than its column is cut',
    );
  });

  it('the CPU line breaks between zones when it does not fit', () => {
    const lines = texts({ width: 100 });
    assert.equal(lines[1], 'CPU  package 85.50 W (52.00 active, 33.50 idle)  core 61.25 W (45.00 active, 16.25 idle)');
    assert.equal(lines[2], '     dram 12.75 W (4.50 active, 8.25 idle)  usage 42.0%');
  });

  it('fits a height: the rows that fit, and --top', () => {
    // Three lines of header, a blank one and the column titles, then the rows.
    assert.equal(texts({ height: 6 }).length, 6);
    assert.equal(texts({ height: 6 }).at(-1)?.startsWith('app'), true);
    assert.equal(texts({ height: 7 }).at(-1)?.startsWith('prometheus'), true);
    assert.equal(texts({ top: 2 }).length, 3 + 2 + 2);
  });

  it('sorts by watts, energy or name; unknown watts last', () => {
    const rows = rowsOf(reading, 'container');
    assert.deepEqual(
      sortRows(rows, 'watts').map((r) => r.id),
      ['eee65f53e942', 'ea21818b904c', '0d347301ef56', '33187c8df952'],
    );
    assert.deepEqual(
      sortRows(rows, 'energy').map((r) => r.id),
      ['ea21818b904c', '33187c8df952', 'eee65f53e942', '0d347301ef56'],
    );
    assert.deepEqual(
      sortRows(rows, 'name').map((r) => r.name.split(' ')[0]),
      ['app', 'coredns', 'nginx', 'prometheus'],
    );
    const unknown: Row = { key: 'u', name: 'u', id: '', zoneWatts: [], energyJ: 1e9 };
    assert.equal(sortRows([unknown, ...rows], 'watts').at(-1), unknown);
  });

  it('says when a level has nothing, and when the endpoint does not export it', () => {
    const empty = readReading(scrapeOf('# TYPE kepler_vm_cpu_watts gauge\nkepler_node_cpu_watts{zone="package"} 3\n'));
    assert.equal(renderScreen(empty, { level: 'vm', sort: 'watts' }, opts()).at(-1)?.text, 'no running VMs');
    assert.match(renderScreen(empty, { level: 'pod', sort: 'watts' }, opts()).at(-1)?.text ?? '', /^no pod series at this endpoint/);
  });

  it('a name with control characters cannot reach the terminal; separators, bidi controls and zero-width characters are dropped', () => {
    assert.equal(printable('evil\x1b[2Jname\n'), 'evil?[2Jname?');
    assert.equal(printable('a\u2028b\u2029c\u202ed\u2066e\u2069f\u200bg\u200dh\ufeffi\u200fj'), 'abcdefghij');
    const text = KEPLER_011.replaceAll('comm="nginx"', 'comm="ng\x1b[31minx"');
    const lines = renderScreen(readReading(scrapeOf(text)), { level: 'process', sort: 'name' }, opts()).map((l) => l.text);
    assert.ok(lines.some((l) => l.startsWith('ng?[31minx')));
    assert.ok(lines.every((l) => !l.includes('\x1b')));
  });

  it('formats watts, energy and cuts', () => {
    assert.equal(formatWatts(undefined), '-');
    assert.equal(formatWatts(3.14159), '3.14');
    assert.deepEqual([812.44, 12_346, 4.56e6, 1.234e9, 5e12].map(formatEnergy), ['812.4 J', '12.35 kJ', '4.56 MJ', '1.23 GJ', '5.00 TJ']);
    assert.equal(fit('abcdef', 4, '…'), 'abc…');
    assert.equal(fit('abc', 4, '…'), 'abc');
  });

  it('widths are terminal columns: CJK and emoji take two, combining marks none; cuts fall between code points', () => {
    assert.equal(textWidth('abc'), 3);
    assert.equal(textWidth('数据库'), 6);
    assert.equal(textWidth('ｗｅｂ'), 6, 'fullwidth');
    assert.equal(textWidth('🔥x'), 3);
    assert.equal(textWidth('e\u0301te\u0301'), 3, 'é written e + combining acute');
    assert.equal(textWidth('한\u1161'), 2, 'a jungseong joins the syllable before it');
    assert.equal(fit('数据库服务', 7, '~'), '数据库~');
    assert.equal(textWidth(fit('数据库服务', 6, '~')), 5, 'a wide character that does not fit is left out whole');
    assert.equal(fit('ab🔥🔥', 4, '~'), 'ab~', 'never half of a surrogate pair');
    assert.equal(fit('🔥🔥🔥', 1, '~'), '');
    assert.equal(fit('cafe\u0301s', 5, '~'), 'cafe\u0301s', 'fits: the mark takes no column');
    assert.equal(fit('cafe\u0301ss', 5, '~'), 'cafe\u0301~', 'the mark stays with its letter');
    assert.equal(padEnd('数', 4), '数  ');
    assert.equal(padStart('🔥', 3), ' 🔥');
  });

  it('a table of wide names fits the width in columns, and its columns line up', () => {
    const wide = KEPLER_011.replaceAll('container_name="nginx"', 'container_name="网页服务器🔥"').replaceAll('container_name="coredns"', 'container_name="cafe\u0301-dns"');
    const r = readReading(scrapeOf(wide));
    for (const width of [40, 64, 80, 200]) {
      const lines = renderScreen(r, view, opts({ width })).map((l) => l.text);
      for (const l of lines) assert.ok(textWidth(l) <= width, `${width}: ${textWidth(l)} columns: ${l}`);
      // The ID column starts at the same column on every row.
      const titles = lines.findIndex((l) => l.startsWith('NAME'));
      const idAt = textWidth(lines[titles].slice(0, lines[titles].indexOf('ID')));
      for (const l of lines.slice(titles + 1)) {
        const id = /[0-9a-f]{12}/.exec(l);
        if (id) assert.equal(textWidth(l.slice(0, id.index)), idAt, `${width}: ${l}`);
      }
    }
  });
});

describe('top: the terminal', () => {
  const lines: ScreenLine[] = [
    { text: 'title', style: 'title' },
    { text: 'NAME', style: 'columns' },
    { text: '0123456789', style: 'text' },
  ];

  it('a frame clears below its lines only when they leave rows free, and never erases a full row’s last column', () => {
    const short = frame(lines, 10, 5);
    assert.ok(short.endsWith('\x1b[4;1H\x1b[J'), JSON.stringify(short));
    assert.ok(short.startsWith('\x1b[1;1H\x1b[1mtitle\x1b[0m\x1b[K\x1b[2;1H\x1b[7mNAME      \x1b[0m\x1b[3;1H0123456789'), JSON.stringify(short));
    // The lines fill the screen: a move below the last row lands on it, and a clear there would erase it.
    const full = frame(lines, 10, 3);
    assert.equal(full, '\x1b[1;1H\x1b[1mtitle\x1b[0m\x1b[K\x1b[2;1H\x1b[7mNAME      \x1b[0m\x1b[3;1H0123456789');
    assert.ok(!full.includes('\x1b[J'));
  });

  it('the next scrape: an interval after the start of the last one, and at least half an interval after its end', () => {
    assert.equal(nextScrapeDelay(2000, 300), 1700);
    assert.equal(nextScrapeDelay(2000, 1900), 1000);
    assert.equal(nextScrapeDelay(2000, 9000), 1000, 'a slow endpoint is not scraped back to back');
  });

  it('an internal error is one printable line, with where it was thrown', () => {
    const err = new TypeError('bad\nthing \x1b[2J');
    assert.match(oneLine(err), /^TypeError: bad \(at .*top\.test\.js:\d+:\d+\)?\)$/);
    assert.equal(oneLine('x\ny'), 'x?y');
  });

  /** The live view on fake streams: stdin not a terminal, a screen of 80 x 24. */
  function live(o: { columns?: () => number } = {}) {
    const written: string[] = [];
    const stdout = Object.assign(new PassThrough(), { rows: 24, isTTY: true });
    Object.defineProperty(stdout, 'columns', { get: o.columns ?? (() => 80) });
    stdout.on('data', (d: Buffer) => written.push(d.toString()));
    // No setRawMode: reading it as a terminal would throw.
    const stdin = Object.assign(new PassThrough(), { isTTY: false });
    const exit = runTerminal({
      first: scrapeOf(KEPLER_011),
      scrape: () => Promise.resolve(scrapeOf(KEPLER_011)),
      view: { level: 'container', sort: 'watts' },
      intervalMs: 60_000,
      ellipsis: '~',
      stdin: stdin as unknown as NodeJS.ReadStream,
      stdout: stdout as unknown as NodeJS.WriteStream,
    });
    const output = async () => {
      await new Promise((r) => setImmediate(r));
      return written.join('');
    };
    return { exit, stdout, stdin, output };
  }

  it('SIGINT exits 130 and gives the terminal back; stdin that is not a terminal is not read, and no keys are offered', async () => {
    const listeners = ['SIGINT', 'SIGTERM', 'SIGHUP', 'uncaughtException', 'unhandledRejection', 'exit'].map((e) => process.listenerCount(e));
    const { exit, stdin, output } = live();
    assert.equal(stdin.listenerCount('data'), 0, 'stdin is not read');
    process.emit('SIGINT');
    assert.equal(await exit, 130);
    const out = await output();
    assert.ok(out.startsWith('\x1b[?1049h\x1b[?25l'), JSON.stringify(out.slice(0, 20)));
    assert.ok(out.endsWith('\x1b[?25h\x1b[?1049l'), JSON.stringify(out.slice(-20)));
    assert.ok(out.includes('containers: 4 running  sort: watts\x1b[K'), 'the line, the rest of its row cleared');
    assert.ok(!out.includes('keys:'), 'no keys offered without a terminal to read them from');
    assert.deepEqual(
      ['SIGINT', 'SIGTERM', 'SIGHUP', 'uncaughtException', 'unhandledRejection', 'exit'].map((e) => process.listenerCount(e)),
      listeners,
      'its handlers are gone',
    );
  });

  it('an internal error: the terminal back first, then one line, exit 1', async () => {
    let draws = 0;
    const errors: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = (t: string) => errors.push(t) > 0;
    try {
      const { exit, stdout, output } = live({
        columns: () => {
          if (++draws > 1) throw new Error('drawing failed');
          return 80;
        },
      });
      stdout.emit('resize'); // the second draw throws
      assert.equal(await exit, 1);
      assert.ok((await output()).endsWith('\x1b[?25h\x1b[?1049l'), 'the terminal is given back');
      assert.equal(errors.length, 1);
      assert.match(errors[0], /^kepler-ts top: internal error: Error: drawing failed \(at [^\n]*\)\n$/);
    } finally {
      process.stderr.write = write;
    }
  });
});

describe('top: keys', () => {
  it('p c k v pick a level, Tab cycles, s cycles the sort, q and Ctrl-C quit; escape sequences do nothing', () => {
    const v: View = { level: 'container', sort: 'watts' };
    const act = (view: View, key: string) => {
      const a = keyAction(key);
      assert.ok(a && a.kind !== 'quit', key);
      return applyAction(view, a);
    };
    assert.equal(act(v, 'p').level, 'process');
    assert.equal(act(v, 'k').level, 'pod');
    assert.equal(act(v, 'V').level, 'vm');
    assert.deepEqual(
      ['\t', '\t', '\t', '\t'].reduce<Level[]>((acc, k) => [...acc, act({ ...v, level: acc.at(-1) ?? v.level }, k).level], []),
      ['pod', 'vm', 'process', 'container'],
    );
    assert.equal(act(act(act(v, 's'), 's'), 's').sort, 'watts');
    assert.equal(act(v, 's').sort, 'energy');
    assert.deepEqual(keyAction('q'), { kind: 'quit' });
    assert.deepEqual(keyAction('\x03'), { kind: 'quit' });
    assert.equal(keyAction('x'), undefined);
    assert.deepEqual(splitKeys('\x1b[A'), []);
    assert.deepEqual(splitKeys('cs'), ['c', 's']);
  });
});

// ---------- flags and the HTTP client config file ----------

describe('top: flags', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kepler-top-flags-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const read = (p: string) => readFileSync(p, 'utf8');
  const parse = (args: string[], env: NodeJS.ProcessEnv = {}): TopOptions => {
    const o = parseTopArgs(args, env, read);
    assert.notEqual(o, 'help');
    return o as TopOptions;
  };
  const usage = (args: string[], re: RegExp, env: NodeJS.ProcessEnv = {}) =>
    assert.throws(
      () => parseTopArgs(args, env, read),
      (e: Error) => (e instanceof TopUsageError || e instanceof HttpConfigError) && re.test(e.message) && !e.message.includes('\n'),
      args.join(' '),
    );
  const file = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };

  it('defaults: localhost:28282, containers by watts every 2s', () => {
    const o = parse([]);
    assert.equal(o.target.url.href, 'http://localhost:28282/metrics');
    assert.deepEqual([o.level, o.sort, o.intervalMs, o.once, o.top, o.target.timeoutMs], ['container', 'watts', 2000, false, undefined, 10_000]);
    assert.equal(o.target.credentials, undefined);
    assert.deepEqual(o.target.tls, { insecureSkipVerify: false });
  });

  it('--url: HOST:PORT and HOST get http:// and /metrics (and Kepler’s port); user:password in it is basic auth', () => {
    assert.equal(parseTopUrl('10.0.0.5:9102').url.href, 'http://10.0.0.5:9102/metrics');
    assert.equal(parseTopUrl('node-1').url.href, 'http://node-1:28282/metrics');
    assert.equal(parseTopUrl('[::1]:28282').url.href, 'http://[::1]:28282/metrics');
    assert.equal(parseTopUrl('https://n:8443').url.href, 'https://n:8443/metrics');
    assert.equal(parseTopUrl('http://n/custom/path?x=1').url.href, 'http://n/custom/path?x=1');
    const withAuth = parseTopUrl('http://al%40ice:s3cr%3At@n:1/metrics');
    assert.equal(withAuth.url.href, 'http://n:1/metrics');
    assert.deepEqual(withAuth.credentials, { kind: 'basic', username: 'al@ice', password: 's3cr:t' });
  });

  it('levels in both numbers, durations in Go’s syntax, --top, --once', () => {
    const o = parse(['--level', 'pods', '--sort=energy', '--interval', '500ms', '--top', '5', '--once', '--timeout', '1.5s']);
    assert.deepEqual([o.level, o.sort, o.intervalMs, o.top, o.once, o.target.timeoutMs], ['pod', 'energy', 500, 5, true, 1500]);
    assert.equal(parse(['--level', 'VMs']).level, 'vm');
  });

  it('--user: the password from the flag, else from KEPLER_TOP_PASSWORD', () => {
    assert.deepEqual(parse(['--user', 'bob:pa:ss']).target.credentials, { kind: 'basic', username: 'bob', password: 'pa:ss' });
    assert.deepEqual(parse(['--user', 'bob'], { KEPLER_TOP_PASSWORD: 'x' }).target.credentials, { kind: 'basic', username: 'bob', password: 'x' });
    assert.deepEqual(parse(['--user', 'bob:'], { KEPLER_TOP_PASSWORD: 'x' }).target.credentials, { kind: 'basic', username: 'bob', password: '' });
  });

  it('a bad flag is one line naming the flag and what it expects', () => {
    usage(['--level', 'node'], /^--level "node": expected process, container, pod or vm$/);
    usage(['--sort', 'cpu'], /^--sort "cpu": expected watts, energy or name$/);
    usage(['--interval', '2'], /^--interval "2": expected a duration like 2s or 500ms$/);
    usage(['--interval', '50ms'], /^--interval "50ms": expected at least 100ms$/);
    usage(['--top=-1'], /^--top "-1": expected a whole number/);
    usage(['--top', '-1'], /^--top: a value that starts with - is written --top=VALUE$/);
    usage(['--once=yes'], /^--once: takes no value/);
    usage(['--url', 'ftp://x'], /^--url "ftp:\/\/x": scheme ftp is not http or https$/);
    usage(['--url', 'http://u:secret@exa mple'], /^--url "http:\/\/\*\*\*@exa mple": /);
    usage(['--user', 'bob'], /^--user bob: no password: set \$KEPLER_TOP_PASSWORD/);
    usage(['--tls.cert-file', '/x'], /needs both/);
    usage(['--tls.ca-file', join(dir, 'missing.pem')], /^--tls\.ca-file .*missing\.pem: cannot read it: ENOENT$/);
    usage(['--frobnicate'], /^--frobnicate: unknown flag \(see kepler-ts top --help\)$/);
    usage(['--url'], /^--url: expected a value/);
    usage(['extra'], /^unexpected argument extra: top takes only flags/);
    assert.equal(parseTopArgs(['-h'], {}, read), 'help');
  });

  it('credentials never reach a message: a URL given without --url, a password that is not percent-encoding', () => {
    usage(['http://user:s3cret@host:28282/'], /^unexpected argument http:\/\/\*\*\*@host:28282\/: top takes only flags \(see kepler-ts top --help\); give the URL with --url$/);
    usage(['user:s3cret@host:28282'], /^unexpected argument \*\*\*@host:28282: /);
    for (const url of ['http://bob:50%@host/', 'http://b%zzob:pw@host/', 'bob:50%@host']) {
      usage(['--url', url], /^--url "(?:http:\/\/)?\*\*\*@host\/?": the user name or password is not valid percent-encoding \(write % as %25\)$/);
    }
    for (const args of [['http://user:s3cret@host/'], ['--url', 'http://bob:s3cret%@host/']]) {
      try {
        parseTopArgs(args, {}, read);
      } catch (err) {
        assert.ok(!(err as Error).message.includes('s3cret'), (err as Error).message);
      }
    }
  });

  it('TLS material is checked when the flags are read: a key that is not the certificate’s, a CA file without a certificate', () => {
    const a = selfSignedCertificate(dir, 'a', { cn: 'a', san: 'DNS:a' });
    const b = selfSignedCertificate(dir, 'b', { cn: 'b', san: 'DNS:b' });
    const ok = parse(['--url', 'https://h/', '--tls.ca-file', b.certFile, '--tls.cert-file', a.certFile, '--tls.key-file', a.keyFile]);
    assert.equal(ok.target.tls.cert, readFileSync(a.certFile, 'utf8'));
    usage(
      ['--tls.cert-file', a.certFile, '--tls.key-file', b.keyFile],
      new RegExp(`^--tls\\.key-file ${b.keyFile}: not the key of the client certificate \\(key values mismatch\\)$`),
    );
    usage(['--tls.cert-file', a.keyFile, '--tls.key-file', a.keyFile], /^--tls\.cert-file .*a\.key: not a PEM certificate \(/);
    usage(['--tls.cert-file', a.certFile, '--tls.key-file', a.certFile], /^--tls\.key-file .*a\.crt: not a PEM private key, or one encrypted with a passphrase/);
    usage(['--tls.ca-file', file('not-a-ca.pem', 'hello\n')], /^--tls\.ca-file .*not-a-ca\.pem: no PEM certificate in it/);
    usage(
      ['--tls.ca-file', file('bad-ca.pem', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n')],
      /^--tls\.ca-file .*bad-ca\.pem: a certificate in it cannot be read/,
    );
    // From --http.config-file: its key.
    const yaml = file('mismatch.yaml', `tls_config:\n  cert_file: ${a.certFile}\n  key_file: ${b.keyFile}\n`);
    usage(['--http.config-file', yaml], /: tls_config\.key_file: not the key of the client certificate \(key values mismatch\)$/);
    assert.deepEqual(checkTlsMaterial({ ca: readFileSync(a.certFile, 'utf8') }), undefined);
  });

  it('a bad client key is a one-line usage error, exit 2, not a stack trace', async () => {
    const a = selfSignedCertificate(dir, 'c', { cn: 'c', san: 'DNS:c' });
    const b = selfSignedCertificate(dir, 'd', { cn: 'd', san: 'DNS:d' });
    let stderr = '';
    const code = await runTopCommand(['--url', 'https://127.0.0.1:1/', '--tls.cert-file', a.certFile, '--tls.key-file', b.keyFile], {
      stdout: { write: () => true },
      stderr: (t) => (stderr += t),
      env: {},
      readFile: read,
      sleep: () => Promise.resolve(),
      now: Date.now,
    });
    assert.equal(code, 2);
    assert.match(stderr, /^kepler-ts top: --tls\.key-file \S+: not the key of the client certificate \(key values mismatch\)\n$/);
  });

  it('--http.config-file: Prometheus’s basic_auth, authorization and tls_config, files relative to it, secrets trimmed', () => {
    file('pw', 's3cret\n');
    const caPem = readFileSync(selfSignedCertificate(dir, 'ca', { cn: 'ca', san: 'DNS:ca' }).certFile, 'utf8');
    file('ca.pem', caPem);
    file('token', ' tok \n');
    const basic = file(
      'basic.yaml',
      'basic_auth:\n  username: prom\n  password_file: pw\ntls_config:\n  ca_file: ca.pem\n  server_name: kepler.test\n  insecure_skip_verify: false\nfollow_redirects: true\n',
    );
    const o = parse(['--http.config-file', basic]);
    assert.deepEqual(o.target.credentials, { kind: 'basic', username: 'prom', password: 's3cret' });
    assert.deepEqual(o.target.tls, { ca: caPem, serverName: 'kepler.test', insecureSkipVerify: false });
    const bearer = file('bearer.yaml', 'authorization:\n  credentials_file: token\n');
    assert.deepEqual(loadHttpConfig(bearer, read).credentials, { kind: 'authorization', type: 'Bearer', credentials: 'tok' });
    assert.deepEqual(loadHttpConfig(file('old.yaml', 'bearer_token: abc\n'), read).credentials, { kind: 'authorization', type: 'Bearer', credentials: 'abc' });
    // Flags win over the file.
    const both = parse(['--http.config-file', basic, '--user', 'other:pw', '--tls.server-name', 'x.test', '--tls.insecure-skip-verify']);
    assert.deepEqual(both.target.credentials, { kind: 'basic', username: 'other', password: 'pw' });
    assert.deepEqual(both.target.tls, { ca: caPem, serverName: 'x.test', insecureSkipVerify: true });
  });

  it('--http.config-file given relative to the working directory, in a folder: read once from there, its files from its folder', () => {
    mkdirSync(join(dir, 'conf'), { recursive: true });
    writeFileSync(join(dir, 'conf', 'pw'), 'from-conf\n');
    writeFileSync(join(dir, 'conf', 'http.yaml'), 'basic_auth:\n  username: prom\n  password_file: pw\n');
    const rel = relative(process.cwd(), join(dir, 'conf', 'http.yaml'));
    assert.ok(!rel.startsWith('/') && rel.includes('/conf/'), rel);
    const reads: string[] = [];
    const o = parseTopArgs(['--http.config-file', rel], {}, (p) => (reads.push(p), read(p)));
    assert.notEqual(o, 'help');
    assert.deepEqual((o as TopOptions).target.credentials, { kind: 'basic', username: 'prom', password: 'from-conf' });
    assert.deepEqual(reads, [join(dir, 'conf', 'http.yaml'), join(dir, 'conf', 'pw')]);
  });

  it('--http.config-file errors name the file and the key', () => {
    const cases: [string, RegExp][] = [
      ['basic_auth:\n  username: u\n  password: p\n  password_file: pw\n', /: basic_auth: at most one of password and password_file$/],
      ['basic_auth:\n  password: p\n', /: basic_auth: username \(or username_file\) is required$/],
      ['basic_auth:\n  username: u\n  passwd: p\n', /: basic_auth\.passwd: unknown key \(expected one of username, username_file, password, password_file\)$/],
      ['basic_auth:\n  username: 7\n', /: basic_auth\.username: expected a string, got 7$/],
      ['basic_auth:\n  username: u\n  password_file: nope\n', /: basic_auth\.password_file: cannot read .*nope: ENOENT$/],
      ['authorization:\n  type: Basic\n  credentials: x\n', /: authorization\.type: Basic is not allowed here: use basic_auth$/],
      ['authorization:\n  type: Bearer\n', /: authorization: credentials \(or credentials_file\) is required$/],
      ['basic_auth: {username: u}\nauthorization: {credentials: x}\n', /: at most one of basic_auth, authorization and bearer_token$/],
      ['tls_config:\n  cert_file: c.pem\n', /: tls_config\.cert_file: cannot read/],
      ['tls_config:\n  insecure_skip_verify: "yes"\n', /: tls_config\.insecure_skip_verify: expected true or false, got "yes"$/],
      ['oauth2:\n  client_id: x\n', /: oauth2: not supported by kepler-ts top$/],
      ['- a\n- b\n', /: expected a mapping, got \["a","b"\]$/],
      ['basic_auth: [\n', /: not valid YAML: /],
    ];
    for (const [yaml, re] of cases) {
      const f = file('bad.yaml', yaml);
      usage(['--http.config-file', f], new RegExp(`^--http\\.config-file ${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}${re.source}`));
    }
    file('cert.pem', 'C');
    usage(['--http.config-file', file('half.yaml', 'tls_config:\n  cert_file: cert.pem\n')], /: tls_config: a client certificate needs both cert_file and key_file$/);
    usage(['--http.config-file', join(dir, 'absent.yaml')], /absent\.yaml: cannot read .*absent\.yaml: ENOENT$/);
  });
});

// ---------- the client against real servers ----------

interface Server {
  url: string;
  close(): Promise<void>;
}

function listen(server: http.Server | https.Server, scheme: 'http' | 'https'): Promise<Server> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as AddressInfo).port;
      resolve({
        url: `${scheme}://127.0.0.1:${port}/metrics`,
        close: () =>
          new Promise((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      });
    });
  });
}

const KEPLER_PAGE = '# TYPE kepler_node_cpu_watts gauge\nkepler_node_cpu_watts{node_name="n",zone="package",path="p"} 12.5\n';
const NODE_EXPORTER_PAGE = [
  '# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.',
  '# TYPE node_cpu_seconds_total counter',
  'node_cpu_seconds_total{cpu="0",mode="idle"} 100',
  '# TYPE node_load1 gauge',
  'node_load1 0.5',
  '# TYPE node_rapl_package_joules_total counter',
  'node_rapl_package_joules_total{index="0",path="/sys/class/powercap/intel-rapl:0"} 1234',
  '# TYPE go_goroutines gauge',
  'go_goroutines 7',
  '',
].join('\n');

const target = (url: string, o: Partial<Target> = {}): Target => ({ url: new URL(url), timeoutMs: 5000, tls: { insecureSkipVerify: false }, ...o });

async function failure(t: Target): Promise<ScrapeError> {
  try {
    await scrapeKepler(t);
  } catch (err) {
    assert.ok(err instanceof ScrapeError, String(err));
    assert.ok(!err.message.includes('\n'), `one line: ${err.message}`);
    return err;
  }
  assert.fail(`${t.url.href} was scraped`);
}

describe('top: the client', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kepler-top-tls-'));
  const servers: Server[] = [];
  let plain: Server;
  let auth: Server;
  let secure: Server;
  let otherName: Server;
  let mutual: Server;
  let server: { cert: string; key: string };
  let client: { cert: string; key: string };
  let wrongName: { cert: string; key: string };
  const pem = (f: { certFile: string; keyFile: string }) => ({ cert: readFileSync(f.certFile, 'utf8'), key: readFileSync(f.keyFile, 'utf8') });

  before(async () => {
    server = pem(selfSignedCertificate(dir, 'server', { cn: 'localhost', san: 'DNS:localhost,IP:127.0.0.1' }));
    client = pem(selfSignedCertificate(dir, 'client', { cn: 'top', san: 'DNS:top' }));
    wrongName = pem(selfSignedCertificate(dir, 'other', { cn: 'kepler.test', san: 'DNS:kepler.test' }));
    const pages: Record<string, (res: http.ServerResponse) => void> = {
      '/metrics': (res) => res.end(KEPLER_PAGE),
      '/gzip': (res) => {
        res.setHeader('content-encoding', 'gzip');
        res.end(gzipSync(KEPLER_PAGE));
      },
      '/node': (res) => res.end(NODE_EXPORTER_PAGE),
      '/html': (res) => {
        res.setHeader('content-type', 'text/html');
        res.end('<!DOCTYPE html>\n<html><body>Grafana</body></html>\n');
      },
      '/empty': (res) => res.end(''),
      '/moved': (res) => {
        res.writeHead(301, { location: '/metrics' });
        res.end();
      },
      '/hang': () => undefined,
    };
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
      const page = pages[req.url ?? ''];
      if (page) page(res);
      else {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('404 page not found\n');
      }
    };
    plain = await listen(http.createServer(handler), 'http');
    auth = await listen(
      http.createServer((req, res) => {
        const expected = `Basic ${Buffer.from('prom:s3cret').toString('base64')}`;
        if (req.headers.authorization === 'Bearer tok') {
          res.writeHead(403);
          res.end();
        } else if (req.headers.authorization !== expected) {
          res.writeHead(401, { 'www-authenticate': 'Basic' });
          res.end('Unauthorized\n');
        } else res.end(KEPLER_PAGE);
      }),
      'http',
    );
    secure = await listen(https.createServer({ ...server }, handler), 'https');
    otherName = await listen(https.createServer({ ...wrongName }, handler), 'https');
    mutual = await listen(https.createServer({ ...server, requestCert: true, rejectUnauthorized: true, ca: client.cert }, handler), 'https');
    servers.push(plain, auth, secure, otherName, mutual);
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads a Kepler page, also gzipped', async () => {
    for (const path of ['/metrics', '/gzip']) {
      const s = await scrapeKepler(target(plain.url.replace('/metrics', path)));
      assert.deepEqual(s.exposition.samples[0].value, 12.5);
    }
  });

  it('unreachable: the URL and the errno', async () => {
    const port = await freePort();
    const e = await failure(target(`http://127.0.0.1:${port}/metrics`));
    assert.equal(e.failure, 'unreachable');
    assert.equal(e.message, `cannot reach http://127.0.0.1:${port}/metrics: connection refused (ECONNREFUSED)`);
    // .invalid never resolves (RFC 6761). ENOTFOUND, or EAI_AGAIN on a machine without a resolver,
    // or no answer at all from a resolver that does not answer in time.
    const dns = await failure(target('http://no-such-host.invalid:28282/metrics', { timeoutMs: 15_000 }));
    assert.match(
      dns.message,
      /^cannot reach http:\/\/no-such-host\.invalid:28282\/metrics: (?:host "no-such-host\.invalid" not found \(ENOTFOUND\)|the name "no-such-host\.invalid" cannot be looked up now \(EAI_AGAIN\)|no answer within 15s \(timeout\))$/,
    );
  });

  /** A TCP server that answers every connection with `bytes`, then closes it. */
  async function raw(bytes: string | Buffer): Promise<Server> {
    const server = net.createServer((socket) => {
      socket.once('data', () => socket.end(bytes));
      socket.on('error', () => undefined);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const s = {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`,
      close: () => new Promise<void>((r) => server.close(() => r())),
    };
    servers.push(s);
    return s;
  }

  it('what a server says reaches the terminal printable: its reason phrase, its error page', async () => {
    const page = '\x1b[31mred\u202eevil\x1b[0m\n';
    const reason = await raw(`HTTP/1.1 500 Oops\x1b]0;pwned\x07\x1b[2J\r\ncontent-length: ${Buffer.byteLength(page)}\r\nconnection: close\r\n\r\n${page}`);
    const e = await failure(target(reason.url));
    assert.equal(e.failure, 'http');
    // eslint-disable-next-line no-control-regex
    assert.ok(!/[\x00-\x1f\x7f\u202e]/.test(e.message), JSON.stringify(e.message));
    assert.equal(e.message, `${reason.url} answered 500 Oops?]0;pwned??[2J: ?[31mredevil?[0m`);
  });

  it('something that is not HTTP: said so, not "Parse Error"', async () => {
    const ssh = await raw('SSH-2.0-OpenSSH_9.6\r\n');
    const e = await failure(target(ssh.url));
    assert.equal(e.failure, 'http');
    assert.match(e.message, /^http:\/\/127\.0\.0\.1:\d+\/metrics answered something that is not HTTP \(HPE_[A-Z_]+\): is the port right, or does it serve https:\/\/\?$/);
  });

  it('an answer larger than 64 MiB is refused, unzipped or announced', async () => {
    const bomb = await listen(
      http.createServer((req, res) => {
        if (req.url === '/announced') {
          res.writeHead(200, { 'content-length': String(MAX_BODY_BYTES + 1) });
          res.write('kepler_x 1\n');
          return; // never sends the rest: refused on the header
        }
        res.writeHead(200, { 'content-encoding': 'gzip' });
        res.end(gzipSync(Buffer.alloc(MAX_BODY_BYTES + 1024, 0x20)));
      }),
      'http',
    );
    servers.push(bomb);
    const re = /^http:\/\/127\.0\.0\.1:\d+\/\w+ answered 200 OK with more than 64 MiB, more than any metrics page: is --url right\?$/;
    assert.match((await failure(target(bomb.url))).message, re);
    assert.match((await failure(target(bomb.url.replace('/metrics', '/announced')))).message, re);
  });

  it('a server that does not answer: a timeout', async () => {
    const e = await failure(target(plain.url.replace('/metrics', '/hang'), { timeoutMs: 200 }));
    assert.equal(e.failure, 'timeout');
    assert.equal(e.message, `cannot reach ${plain.url.replace('/metrics', '/hang')}: no answer within 200ms (timeout)`);
  });

  it('auth refused: 401 says whether credentials were sent, and with which user; right ones are let in', async () => {
    const none = await failure(target(auth.url));
    assert.equal(none.failure, 'auth');
    assert.match(none.message, /refused the request \(401 Unauthorized\): no credentials were sent: give them with --user NAME/);
    const wrong = await failure(target(auth.url, { credentials: { kind: 'basic', username: 'prom', password: 'nope' } }));
    assert.match(wrong.message, /\(401 Unauthorized\): basic auth was sent for user "prom": check the user name and password$/);
    const forbidden = await failure(target(auth.url, { credentials: { kind: 'authorization', type: 'Bearer', credentials: 'tok' } }));
    assert.match(forbidden.message, /\(403 Forbidden\): an Authorization header of type Bearer was sent/);
    await scrapeKepler(target(auth.url, { credentials: { kind: 'basic', username: 'prom', password: 's3cret' } }));
  });

  it('another status: the status and the first line of the body; a redirect says where to', async () => {
    const e = await failure(target(plain.url.replace('/metrics', '/nope')));
    assert.equal(e.failure, 'http');
    assert.equal(e.message, `${plain.url.replace('/metrics', '/nope')} answered 404 Not Found: 404 page not found`);
    assert.match((await failure(target(plain.url.replace('/metrics', '/moved')))).message, /answered 301 Moved Permanently, to \/metrics: use that as --url$/);
  });

  it('not a Kepler exporter: what it looked like', async () => {
    const node = await failure(target(plain.url.replace('/metrics', '/node')));
    assert.equal(node.failure, 'not-kepler');
    assert.equal(node.message, `${plain.url.replace('/metrics', '/node')} is not a Kepler exporter: it answered 4 metric families, none named kepler_* (node_* 3, go_* 1)`);
    assert.match(
      (await failure(target(plain.url.replace('/metrics', '/html')))).message,
      /is not a Kepler exporter: it answered text\/html that is not the Prometheus text format \(line 1: "<!DOCTYPE html>"\)$/,
    );
    assert.match((await failure(target(plain.url.replace('/metrics', '/empty')))).message, /is not a Kepler exporter: it answered an empty page$/);
  });

  it('TLS: an untrusted certificate points at --tls.ca-file; with the CA, or told not to verify, it is read', async () => {
    const e = await failure(target(secure.url));
    assert.equal(e.failure, 'tls');
    assert.match(
      e.message,
      /^TLS with https:\/\/127\.0\.0\.1:\d+\/metrics failed: its certificate is not trusted \(DEPTH_ZERO_SELF_SIGNED_CERT\): pass the CA that signed it with --tls\.ca-file/,
    );
    await scrapeKepler(target(secure.url, { tls: { ca: server.cert, insecureSkipVerify: false } }));
    await scrapeKepler(target(secure.url, { tls: { insecureSkipVerify: true } }));
  });

  it('TLS: a certificate for another name points at --tls.server-name, which fixes it', async () => {
    const e = await failure(target(otherName.url, { tls: { ca: wrongName.cert, insecureSkipVerify: false } }));
    assert.match(e.message, /its certificate is not for "127\.0\.0\.1" .*: set --tls\.server-name to a name it has$/);
    await scrapeKepler(target(otherName.url, { tls: { ca: wrongName.cert, serverName: 'kepler.test', insecureSkipVerify: false } }));
  });

  it('TLS: a server that wants a client certificate says so; with one it answers', async () => {
    const e = await failure(target(mutual.url, { tls: { ca: server.cert, insecureSkipVerify: false } }));
    assert.equal(e.failure, 'tls');
    assert.match(e.message, /the server wants a client certificate: give one with --tls\.cert-file and --tls\.key-file/);
    await scrapeKepler(target(mutual.url, { tls: { ca: server.cert, ...client, insecureSkipVerify: false } }));
  });

  it('the wrong scheme: https against http, http against https', async () => {
    assert.match((await failure(target(plain.url.replace('http:', 'https:')))).message, /the server does not speak TLS .*: is it http:\/\/\?$/);
    assert.match((await failure(target(secure.url.replace('https:', 'http:')))).message, /does it serve https:\/\/\?/);
  });

  // ---------- the command, --once ----------

  const io = (env: NodeJS.ProcessEnv = {}) => {
    const out = { stdout: '', stderr: '', sleeps: [] as number[] };
    const value: TopIo = {
      stdout: { write: (t: string) => (out.stdout += t), isTTY: false },
      stderr: (t) => (out.stderr += t),
      env,
      readFile: (p) => readFileSync(p, 'utf8'),
      sleep: (ms) => {
        out.sleeps.push(ms);
        return Promise.resolve();
      },
      now: Date.now,
    };
    return { io: value, out };
  };

  it('--once prints plain text and exits 0; not a terminal counts as --once', async () => {
    const { io: i, out } = io();
    assert.equal(await runTopCommand(['--url', plain.url, '--level', 'process'], i), 0);
    assert.ok(!out.stdout.includes('\x1b'), 'no ANSI codes');
    assert.match(
      out.stdout,
      /^node n {2}meter unknown {2}Kepler {2}\d\d:\d\d:\d\d\nCPU {2}package 12\.50 W\nprocesses: 0 running {2}sort: watts\n\nno process series at this endpoint: .*\n$/,
    );
    assert.equal(out.stderr, '');
  });

  it('exit 1 with one line when the endpoint fails, 2 for a bad flag', async () => {
    const port = await freePort();
    const a = io();
    assert.equal(await runTopCommand(['--url', `127.0.0.1:${port}`, '--once'], a.io), 1);
    assert.equal(a.out.stderr, `kepler-ts top: cannot reach http://127.0.0.1:${port}/metrics: connection refused (ECONNREFUSED)\n`);
    const b = io();
    assert.equal(await runTopCommand(['--level', 'cluster'], b.io), 2);
    assert.equal(b.out.stderr, 'kepler-ts top: --level "cluster": expected process, container, pod or vm\n');
    const c = io();
    assert.equal(await runTopCommand(['--help'], c.io), 0);
    assert.match(c.out.stdout, /^Usage: kepler-ts top \[flags\]/);
  });

  it('counters only: --once says so, watches the counters closely and shows the watts between two changes', async () => {
    // The exporter refreshes every 3 s, scraped every 250 ms: the fake clock advances with each sleep.
    let clock = 1_000_000;
    const counters = await listen(
      http.createServer((_req, res) => {
        const t = Math.floor((clock - 1_000_000 + 1000) / 3000); // refreshed at 2, 5, 8 s...
        res.end(countersOnly(t, 100 + 90 * t));
      }),
      'http',
    );
    servers.push(counters);
    const { io: i, out } = io({ COLUMNS: '100' });
    i.now = () => clock;
    i.sleep = (ms) => {
      out.sleeps.push(ms);
      clock += ms;
      return Promise.resolve();
    };
    assert.equal(await runTopCommand(['--url', counters.url, '--level', 'process', '--interval', '3s'], i), 0);
    assert.match(out.stderr, /exports energy counters but no watts: watching them for up to 15s to compute them\n$/);
    // Changes seen at 2 s and 5 s, each timed within 125 ms: 90 J in 3 s.
    assert.ok(out.sleeps.every((ms) => ms === 250) && out.sleeps.length === 20, JSON.stringify(out.sleeps));
    const row = out.stdout.split('\n').find((l) => l.startsWith('busy'));
    assert.ok(row && /^busy\s+10\s+30\.00\s+30\.00\s+280\.0 J$/.test(row), row);
    assert.ok(out.stdout.split('\n').every((l) => l.length <= 100));
  });

  it('counters only: with the exporter’s refresh time one change is enough; counters that never move give up after 15 s', async () => {
    let clock = 0;
    let refresh = 1000;
    const timed = await listen(
      http.createServer((_req, res) => {
        if (clock >= 500) refresh = 1004;
        res.end(countersOnly(refresh - 1000, 100 + 10 * (refresh - 1000), `kepler_exporter_last_refresh_timestamp_seconds ${refresh}`));
      }),
      'http',
    );
    const still = await listen(
      http.createServer((_req, res) => res.end(countersOnly(0, 100))),
      'http',
    );
    servers.push(timed, still);
    const run = async (url: string) => {
      const x = io();
      x.io.now = () => clock;
      x.io.sleep = (ms) => {
        x.out.sleeps.push(ms);
        clock += ms;
        return Promise.resolve();
      };
      assert.equal(await runTopCommand(['--url', url, '--level', 'process'], x.io), 0);
      return x.out;
    };
    const a = await run(timed.url);
    assert.deepEqual(a.sleeps, [250, 250]);
    assert.match(a.stdout.split('\n').find((l) => l.startsWith('busy')) ?? '', /^busy\s+10\s+10\.00\s+10\.00\s+140\.0 J$/);
    clock = 0;
    const b = await run(still.url);
    assert.equal(b.sleeps.length, 60);
    assert.match(b.stderr, /the energy counters did not move enough in 15s to time them: no watts to show\n$/);
    assert.match(b.stdout.split('\n').find((l) => l.startsWith('busy')) ?? '', /^busy\s+10\s+-\s+-\s+100\.0 J$/);
  });
});
