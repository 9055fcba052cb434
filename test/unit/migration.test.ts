// The README's "Migrating from Kepler", configuration part: every row of its keys-and-flags table,
// through the exporter's own loader. Each example value is set once in a configuration file and
// once by the row's flag: both must give the same configuration, and it must differ from the
// default (a key that is accepted and then dropped would not). Rows that promise more than "same"
// have a check of that promise below; Kepler's keys and flags without a row fail the test.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parse as parseYaml, stringify } from 'yaml';
import { ConfigError, type Config } from '../../src/config/config.js';
import { loadConfig } from '../../src/config/load.js';
import { checkValues } from '../../src/config/schema.js';
import { MeterUnavailableError } from '../../src/device/energyZone.js';
import { selectMeter, type MeterFactory } from '../../src/device/meterSelection.js';
import { TerminatedTracker } from '../../src/monitor/terminatedTracker.js';
import { codeSpans, migrationTable } from '../support/migrationGuide.js';

/** Kepler's configuration keys (config/config.go, v0.11.4 and main), forceEnabled from v0.12's docs. */
const KEPLER_KEYS = [
  'log.level',
  'log.format',
  'host.sysfs',
  'host.procfs',
  'monitor.interval',
  'monitor.staleness',
  'monitor.maxTerminated',
  'monitor.minTerminatedEnergyThreshold',
  'cpu.preferredMeters',
  'rapl.zones',
  'exporter.stdout.enabled',
  'exporter.prometheus.enabled',
  'exporter.prometheus.debugCollectors',
  'exporter.prometheus.metricsLevel',
  'web.configFile',
  'web.listenAddresses',
  'debug.pprof.enabled',
  'kube.enabled',
  'kube.config',
  'kube.nodeName',
  'kube.podInformer.mode',
  'kube.podInformer.pollInterval',
  'dev.fake-cpu-meter.enabled',
  'dev.fake-cpu-meter.zones',
  'experimental.platform.redfish.enabled',
  'experimental.platform.redfish.nodeName',
  'experimental.platform.redfish.configFile',
  'experimental.platform.redfish.httpTimeout',
  'experimental.hwmon.enabled',
  'experimental.hwmon.forceEnabled',
  'experimental.hwmon.zones',
  'experimental.hwmon.chipRules',
  'experimental.gpu.enabled',
  'experimental.gpu.idlePower',
  'experimental.gpu.dcgmEndpoint',
];

/** Kepler's flags (config/config.go), --config.file aside. */
const KEPLER_FLAGS = [
  '--log.level',
  '--log.format',
  '--host.sysfs',
  '--host.procfs',
  '--monitor.interval',
  '--monitor.max-terminated',
  '--debug.pprof',
  '--web.config-file',
  '--web.listen-address',
  '--exporter.stdout',
  '--exporter.prometheus',
  '--metrics',
  '--kube.enable',
  '--kube.config',
  '--kube.node-name',
  '--experimental.platform.redfish.enabled',
  '--experimental.platform.redfish.node-name',
  '--experimental.platform.redfish.config-file',
  '--experimental.hwmon.enabled',
  '--experimental.hwmon.force-enabled',
  '--experimental.hwmon.zones',
  '--experimental.gpu.enabled',
  '--experimental.gpu.idle-power',
  '--experimental.gpu.dcgm-endpoint',
];

/** NODE_NAME set, as in a DaemonSet, to something no row's example uses. */
const ENV = { NODE_NAME: 'node-from-env' };
const FILE = '/etc/kepler/config.yaml';

interface Row {
  key: string;
  flag?: string;
  example: unknown;
  promise: string;
}

const rows: Row[] = migrationTable('Configuration keys and flags').map((c) => {
  const [key] = codeSpans(c[0]);
  const [flag] = codeSpans(c[1]);
  const [example] = codeSpans(c[2]);
  assert.ok(key && example !== undefined, `a row without a key or an example: | ${c.join(' | ')} |`);
  return { key, ...(flag ? { flag } : {}), example: parseYaml(example) as unknown, promise: c[3] };
});

/** Keys that Kepler, and kepler-ts, accept only together with another: that one is set with them. */
const COMPANIONS: Record<string, [string, string, unknown]> = {
  'experimental.platform.redfish.enabled': ['experimental.platform.redfish.configFile', '--experimental.platform.redfish.config-file', '/etc/kepler/redfish.yaml'],
};

/** A YAML file that sets dotted keys. */
function fileSetting(settings: Record<string, unknown>): string {
  const doc: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(settings)) {
    const parts = key.split('.');
    let at = doc;
    for (const p of parts.slice(0, -1)) at = (at[p] ??= {}) as Record<string, unknown>;
    at[parts[parts.length - 1]] = value;
  }
  return stringify(doc);
}

/** The command line that sets `value` with `flag`, as a user types it. */
function flagSetting(flag: string, value: unknown): string[] {
  if (value === true) return [flag];
  if (value === false) return [`--no-${flag.slice(2)}`];
  if (Array.isArray(value)) return value.map((v) => `${flag}=${String(v)}`);
  return [`${flag}=${String(value)}`];
}

function loaded(argv: string[], file = ''): { config: Config; warnings: string[] } {
  const r = loadConfig(argv, ENV, () => file);
  assert.equal(r.kind, 'run');
  return r.kind === 'run' ? r : assert.fail();
}

function fromFile(key: string, value: unknown, companion = true, more: Record<string, unknown> = {}): { config: Config; warnings: string[] } {
  const c = companion ? COMPANIONS[key] : undefined;
  return loaded([`--config.file=${FILE}`], fileSetting({ [key]: value, ...(c ? { [c[0]]: c[2] } : {}), ...more }));
}

function fromFlags(flag: string, key: string, value: unknown): { config: Config; warnings: string[] } {
  const c = COMPANIONS[key];
  return loaded([...flagSetting(flag, value), ...(c ? flagSetting(c[1], c[2]) : [])]);
}

/** The configuration error a file setting gives. */
function refusal(key: string, value: unknown, companion = true, more: Record<string, unknown> = {}): string {
  try {
    fromFile(key, value, companion, more);
  } catch (e) {
    if (e instanceof ConfigError) return e.message;
    throw e;
  }
  return assert.fail(`${key}: ${JSON.stringify(value)} was accepted`);
}

/** The meters selectMeter tries for `c` on a machine where none but the estimator works. */
function metersTried(c: Config): string[] {
  const tried: string[] = [];
  const unavailable =
    (name: string): MeterFactory =>
    () => ({
      name,
      zones: () => {
        tried.push(name);
        throw new MeterUnavailableError('not on this machine');
      },
    });
  const factories = Object.fromEntries(['rapl', 'hwmon', 'fake', 'passthrough'].map((n) => [n, unavailable(n)]));
  factories.estimator = () => ({ name: 'estimator', zones: () => (tried.push('estimator'), []) });
  selectMeter(c, factories);
  return tried;
}

/** What a row promises beyond "same", checked. */
const PROMISES: Record<string, (config: Config) => void> = {
  'monitor.maxTerminated': (c) => {
    // Any negative value keeps every terminated workload, as in Kepler.
    const tracker = new TerminatedTracker<number>(c.monitor.maxTerminated, 0n, 0);
    for (let i = 0; i < 1000; i++) assert.deepEqual(tracker.add({ info: i, state: 'terminated', cpuTotalSec: 1, cpuDeltaSec: 0, energyUj: [BigInt(i + 1)], deltaUj: [0] }), []);
    assert.equal(tracker.list().length, 1000);
    assert.equal(fromFile('monitor.maxTerminated', -1000).config.monitor.maxTerminated < 0, true);
  },
  'exporter.prometheus.metricsLevel': (c) => {
    assert.deepEqual(c.exporter.prometheus.metricsLevel, ['node'], 'one level, as a string');
    // [] is every level: the file's value itself, not the default it would leave if it were dropped.
    const parsed = checkValues({ exporter: { prometheus: { metricsLevel: [] } } }).data as { exporter: { prometheus: { metricsLevel: string[] } } };
    assert.deepEqual([...parsed.exporter.prometheus.metricsLevel].sort(), ['container', 'node', 'pod', 'process', 'vm'], '[] is every level');
    assert.deepEqual(
      loaded(['--config.file=c.yaml', '--metrics=node'], 'exporter: {prometheus: {metricsLevel: []}}\n').config.exporter.prometheus.metricsLevel,
      ['node'],
      'a flag still wins',
    );
    assert.deepEqual(fromFile('exporter.prometheus.metricsLevel', [' Pod ', 'NODE']).config.exporter.prometheus.metricsLevel, ['pod', 'node'], 'trimmed, any case');
    assert.match(refusal('exporter.prometheus.metricsLevel', 'nodes'), /exporter\.prometheus\.metricsLevel/);
  },
  'exporter.prometheus.debugCollectors': (c) => {
    assert.deepEqual(c.exporter.prometheus.debugCollectors, ['go', 'process']);
    const msg = refusal('exporter.prometheus.debugCollectors', ['go', 'gc']);
    assert.match(msg, /exporter\.prometheus\.debugCollectors/);
    assert.match(msg, /"gc"/);
    assert.doesNotMatch(msg, /\n/);
    // As in Kepler, whose Prometheus exporter refuses it when it starts: off, it does not.
    assert.deepEqual(loaded([`--config.file=${FILE}`], 'exporter: {prometheus: {enabled: false, debugCollectors: [gc]}}\n').config.exporter.prometheus.debugCollectors, ['gc']);
  },
  'cpu.preferredMeters': (c) => assert.deepEqual(metersTried(c), ['hwmon', 'passthrough', 'estimator']),
  'dev.fake-cpu-meter.enabled': (c) => assert.deepEqual(metersTried(c), ['fake', 'passthrough', 'estimator']),
  'experimental.hwmon.enabled': (c) => assert.deepEqual(metersTried(c), ['hwmon', 'passthrough', 'estimator']),
  'experimental.hwmon.forceEnabled': (c) => assert.deepEqual(metersTried(c), ['hwmon', 'passthrough', 'estimator']),
  'experimental.platform.redfish.enabled': () => {
    assert.match(refusal('experimental.platform.redfish.enabled', true, false), /experimental\.platform\.redfish\.configFile.*required/);
  },
  'experimental.hwmon.chipRules': () => {
    assert.match(refusal('experimental.hwmon.chipRules', [{ name: 'ina3221', pairings: { a: 1 } }]), /experimental\.hwmon\.chipRules/);
    assert.match(refusal('experimental.hwmon.chipRules', [{ useSameIndex: true }]), /experimental\.hwmon\.chipRules/);
  },
  'experimental.gpu.dcgmEndpoint': () => {
    for (const bad of [
      'ftp://10.0.0.7:9400/metrics',
      'http://user:secret@10.0.0.7:9400/metrics',
      'http://admin:p@secret@10.0.0.7:9400/metrics',
      'http://user:se"cret@10.0.0.7:9400/metrics',
      'http://10.0.0.7:9400/metrics?x=1',
      'http:///metrics',
    ]) {
      // Checked when an experimental feature is on, as Kepler checks it; unread (and accepted) otherwise.
      assert.equal(fromFile('experimental.gpu.dcgmEndpoint', bad).config.experimental.gpu.dcgmEndpoint, bad.trim());
      const msg = refusal('experimental.gpu.dcgmEndpoint', bad, true, { 'experimental.gpu.enabled': true });
      assert.match(msg, /experimental\.gpu\.dcgmEndpoint/, bad);
      assert.doesNotMatch(msg, /secret|cret/, `credentials are not echoed: ${msg}`);
    }
  },
};

describe('README, Migrating from Kepler: configuration keys and flags', () => {
  const defaults = loaded([]).config;

  for (const row of rows) {
    test(`${row.key}: ${JSON.stringify(row.example)}${row.flag ? ` and ${row.flag}` : ''} — ${row.promise}`, () => {
      const file = fromFile(row.key, row.example);
      assert.deepEqual(
        file.warnings.filter((w) => w.includes('unknown key')),
        [],
      );
      assert.notDeepEqual(file.config, defaults, `${row.key}: ${JSON.stringify(row.example)} changed nothing`);
      if (row.flag) assert.deepEqual(fromFlags(row.flag, row.key, row.example).config, file.config, `${row.flag} and the file disagree`);
      PROMISES[row.key]?.(file.config);
    });
  }

  test("every key and flag of Kepler's has a row, and every promise a row", () => {
    const keys = rows.map((r) => r.key);
    assert.deepEqual(
      KEPLER_KEYS.filter((k) => !keys.includes(k)),
      [],
      'keys without a row',
    );
    const flags = rows.flatMap((r) => (r.flag ? [r.flag] : []));
    assert.deepEqual(
      KEPLER_FLAGS.filter((f) => !flags.includes(f)),
      [],
      'flags without a row',
    );
    assert.deepEqual(
      Object.keys(PROMISES).filter((k) => !keys.includes(k)),
      [],
      'checks without a row',
    );
  });

  test('--config.file names the file, as in Kepler', () => {
    let read = '';
    const r = loadConfig(['--config.file=/etc/kepler/config.yaml'], ENV, (p) => ((read = p), 'log: {level: warn}\n'));
    assert.equal(read, '/etc/kepler/config.yaml');
    assert.equal(r.kind === 'run' && r.config.log.level, 'warn');
  });
});
