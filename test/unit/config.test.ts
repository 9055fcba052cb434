import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, type Config } from '../../src/config/config.js';
import { defaultConfig } from '../../src/config/defaults.js';
import { formatDuration, parseDuration } from '../../src/config/duration.js';
import { DEFAULT_ESTIMATOR_MODEL, ESTIMATOR_MODEL_NAMES } from '../../src/config/estimatorModels.js';
import { FLAGS } from '../../src/config/flags.js';
import { parseListenAddress } from '../../src/config/listenAddress.js';
import { loadConfig, type LoadResult } from '../../src/config/load.js';
import { configPath, KEY_DECLARATIONS } from '../../src/config/schema.js';
import { DEFAULT_MODEL_NAME, knownModels } from '../../src/estimation/modelRegistry.js';
import { TerminatedTracker } from '../../src/monitor/terminatedTracker.js';

// Compiled to dist/test/unit/; the fixtures stay in the source tree.
const FIXTURE = fileURLToPath(new URL('../../../test/fixtures/config/kepler.yaml', import.meta.url));

/** Loads with an in-memory file "c.yaml" (when given) and an empty environment unless told. */
function load(argv: string[], yaml?: string, env: NodeJS.ProcessEnv = {}): Extract<LoadResult, { kind: 'run' }> {
  const r = loadConfig(argv, env, (path) => {
    if (path === 'c.yaml' && yaml !== undefined) return yaml;
    throw new Error(`ENOENT: no such file or directory, open '${path}'`);
  });
  assert.equal(r.kind, 'run');
  return r;
}
const run = (argv: string[], env: NodeJS.ProcessEnv = {}) => load(argv, undefined, env).config;
const file = (yaml: string, ...flags: string[]) => load(['--config.file=c.yaml', ...flags], yaml);

/** Asserts that loading fails with a one-line ConfigError containing every part. */
function rejects(fn: () => unknown, ...parts: string[]): string {
  let message = '';
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
    message = e.message;
    return true;
  });
  assert.ok(!message.includes('\n'), `not one line: ${message}`);
  for (const part of parts) assert.ok(message.includes(part), `${JSON.stringify(message)} lacks ${JSON.stringify(part)}`);
  return message;
}

test('defaults are those of config.md', () => {
  const c = defaultConfig();
  assert.deepEqual(c.log, { level: 'info', format: 'text' });
  assert.deepEqual(c.host, { sysfs: '/sys', procfs: '/proc' });
  assert.deepEqual(c.monitor, {
    intervalMs: 5000,
    stalenessMs: 500,
    maxTerminated: 500,
    minTerminatedEnergyThreshold: 10,
    terminatedRetentionMs: 60_000,
    maxZoneWatts: 5000,
    idle: { model: 'baseline', watts: {}, attribution: 'none' },
  });
  assert.deepEqual(c.cpu.preferredMeters, ['rapl', 'hwmon']);
  assert.deepEqual(c.rapl.zones, []);
  assert.deepEqual(c.exporter, {
    stdout: { enabled: false },
    prometheus: { enabled: true, debugCollectors: ['go'], metricsLevel: ['node', 'process', 'container', 'vm', 'pod'], legacyMetrics: false },
  });
  assert.equal(c.debug.pprof.enabled, false);
  assert.deepEqual(c.web, { configFile: '', listenAddresses: [':28282'] });
  assert.deepEqual(c.kube, { enabled: false, config: '', nodeName: '', podInformer: { mode: 'kubelet', pollIntervalMs: 15000 }, kubeletCAFile: '' });
  assert.deepEqual(c.experimental, {
    platform: { redfish: { enabled: false, nodeName: '', configFile: '', httpTimeoutMs: 5000, pollIntervalMs: 10_000 } },
    hwmon: { forceEnabled: false, enabled: false, zones: [], chipRules: [] },
    gpu: { enabled: false, idlePower: 0, dcgmEndpoint: '' },
  });
  assert.deepEqual(c.dev, { fakeCpuMeter: { enabled: false, zones: [], watts: {} } });
  assert.notEqual(defaultConfig().cpu.preferredMeters, c.cpu.preferredMeters, 'a fresh object each call');
});

test('no flags and no file: the defaults, no warnings', () => {
  const r = load([]);
  assert.deepEqual(r.config, defaultConfig());
  assert.deepEqual(r.warnings, []);
  assert.equal(r.configFile, undefined);
});

test('a full Kepler-style YAML file sets every key', () => {
  const r = loadConfig(['--config.file', FIXTURE], {});
  assert.ok(r.kind === 'run');
  assert.equal(r.configFile, FIXTURE);
  // The legacy selectors it sets are translated into cpu.preferredMeters, and said to be deprecated.
  assert.deepEqual(r.warnings, [
    'config: dev.fake-cpu-meter.enabled is deprecated: using cpu.preferredMeters [fake] in place of [hwmon, rapl, estimator] (the estimator stays the fallback); set cpu.preferredMeters instead',
    'config: experimental.hwmon.forceEnabled is deprecated and ignored: dev.fake-cpu-meter.enabled selects the fake meter; set cpu.preferredMeters instead',
  ]);
  const expected: Config = {
    log: { level: 'debug', format: 'json' },
    host: { sysfs: '/host/sys', procfs: '/host/proc' },
    monitor: {
      intervalMs: 3000,
      stalenessMs: 1000,
      maxTerminated: -1,
      minTerminatedEnergyThreshold: 2.5,
      terminatedRetentionMs: 120_000,
      maxZoneWatts: 2000,
      idle: { model: 'usage-ratio', watts: { package: 35, dram: 4.5 }, attribution: 'request' },
    },
    cpu: { preferredMeters: ['fake'] },
    rapl: { zones: ['package', 'dram'] },
    passthrough: { dir: '/var/scaphandre' },
    vm: { passthrough: { enabled: false, dir: '/var/lib/libvirt/scaphandre', keepMs: 600_000 } },
    exporter: {
      stdout: { enabled: true },
      prometheus: { enabled: true, debugCollectors: ['go', 'process'], metricsLevel: ['node', 'pod', 'container'], legacyMetrics: true },
    },
    debug: { pprof: { enabled: true } },
    web: { configFile: '/etc/kepler/web-config.yaml', listenAddresses: [':9102', '[::1]:28282'] },
    kube: {
      enabled: true,
      config: '/etc/kubernetes/kubeconfig',
      nodeName: 'worker-1',
      podInformer: { mode: 'apiserver', pollIntervalMs: 90_000 },
      kubeletCAFile: '/etc/kubernetes/pki/kubelet-ca.crt',
    },
    experimental: {
      platform: { redfish: { enabled: true, nodeName: 'worker-1-bmc', configFile: '/etc/kepler/redfish.yaml', httpTimeoutMs: 10_000, pollIntervalMs: 10_000 } },
      hwmon: {
        forceEnabled: true,
        enabled: false,
        zones: ['power1'],
        chipRules: [
          { name: 'ina3221', pairings: {}, skipVoltages: [4, 5, 6, 7], skipCurrents: [], useSameIndex: true },
          { name: 'ltc2992', pairings: { '0': 1, '2': 2 }, skipVoltages: [1, 3, 4, 5], skipCurrents: [], useSameIndex: false },
        ],
      },
      gpu: { enabled: true, idlePower: 12.5, dcgmEndpoint: 'http://10.131.2.22:9400/metrics' },
    },
    estimator: {
      model: 'ccf',
      tdpWatts: 205,
      idleWatts: 0,
      maxWatts: 0,
      points: [
        { load: 0, watts: 85 },
        { load: 1, watts: 410 },
      ],
      virtualMachine: 'false',
      hostCpus: 96,
    },
    dev: { fakeCpuMeter: { enabled: true, zones: ['package', 'core'], watts: { package: 40, core: 25.5 } } },
  };
  assert.deepEqual(r.config, expected);
});

test('a partial file keeps the other defaults; null sections count as unset', () => {
  const c = file('monitor:\n  interval: 10s\nrapl:\nkube:\n  podInformer:\n').config;
  assert.deepEqual(c.monitor, { ...defaultConfig().monitor, intervalMs: 10_000 });
  assert.deepEqual(c.rapl, { zones: [] });
  assert.deepEqual(c.kube, defaultConfig().kube);
});

test('an empty file and a file of comments only are valid', () => {
  for (const yaml of ['', '\n', '# all commented out\n# log:\n#   level: debug\n', '---\n']) {
    const r = file(yaml);
    assert.deepEqual(r.config, defaultConfig(), JSON.stringify(yaml));
    assert.deepEqual(r.warnings, []);
  }
});

test('flags override the file', () => {
  const r = loadConfig(
    [
      `--config.file=${FIXTURE}`,
      '--log.level=warn',
      '--log.format',
      'text',
      '--monitor.interval=0',
      '--monitor.staleness',
      '250ms',
      '--monitor.max-terminated=0',
      '--monitor.min-terminated-energy-threshold=0.5',
      '--monitor.terminated-retention=0s',
      '--monitor.max-zone-watts',
      '800',
      '--monitor.idle.model=baseline',
      '--monitor.idle.watts',
      'package=40',
      '--monitor.idle.attribution=cpu', // the file's request needs kube, which --no-kube.enable turns off
      '--host.sysfs=/sys2',
      '--host.procfs',
      '/proc2',
      '--no-kube.enable',
      '--kube.node-name=worker-2',
      '--kube.config=/k',
      '--exporter.stdout=false',
      '--exporter.prometheus.legacy-metrics=false',
      '--no-debug.pprof',
      '--web.config-file=/w.yaml',
      '--experimental.platform.redfish.enabled=false',
      '--experimental.platform.redfish.node-name',
      'bmc-2',
      '--experimental.platform.redfish.config-file=/r.yaml',
      '--experimental.platform.redfish.poll-interval=30s',
      '--experimental.hwmon.force-enabled=false',
      '--experimental.gpu.enabled=false',
      '--experimental.gpu.idle-power=7',
      '--experimental.gpu.dcgm-endpoint=',
      '--experimental.hwmon.enabled=false',
    ],
    {},
  );
  assert.ok(r.kind === 'run');
  const c = r.config;
  assert.deepEqual(c.log, { level: 'warn', format: 'text' });
  assert.deepEqual(c.host, { sysfs: '/sys2', procfs: '/proc2' });
  assert.deepEqual(c.monitor, {
    intervalMs: 0,
    stalenessMs: 250,
    maxTerminated: 0,
    minTerminatedEnergyThreshold: 0.5,
    terminatedRetentionMs: 0,
    maxZoneWatts: 800,
    idle: { model: 'baseline', watts: { package: 40, dram: 4.5 }, attribution: 'cpu' }, // a zone flag replaces that zone
  });
  assert.equal(c.kube.enabled, false);
  assert.equal(c.kube.nodeName, 'worker-2');
  assert.equal(c.kube.config, '/k');
  assert.equal(c.kube.podInformer.mode, 'apiserver', 'file values without a flag stay');
  assert.equal(c.exporter.stdout.enabled, false);
  assert.equal(c.exporter.prometheus.legacyMetrics, false);
  assert.equal(c.debug.pprof.enabled, false);
  assert.equal(c.web.configFile, '/w.yaml');
  assert.deepEqual(c.experimental.platform.redfish, { enabled: false, nodeName: 'bmc-2', configFile: '/r.yaml', httpTimeoutMs: 10_000, pollIntervalMs: 30_000 });
  assert.equal(c.experimental.hwmon.forceEnabled, false);
  assert.deepEqual(c.experimental.gpu, { enabled: false, idlePower: 7, dcgmEndpoint: '' });
  assert.deepEqual(c.rapl.zones, ['package', 'dram'], 'lists without a flag stay');
});

test('repeatable flags: collected in order, and replace the file list', () => {
  const yaml = 'web:\n  listenAddresses: [":1", ":2"]\nexporter:\n  prometheus:\n    metricsLevel: [node, pod]\n';
  const c = file(
    yaml,
    '--web.listen-address=127.0.0.1:9102',
    '--metrics',
    'container',
    '--metrics=vm',
    '--cpu.preferred-meters=fake',
    '--rapl.zones=package',
    '--rapl.zones',
    'core',
    '--experimental.hwmon.zones=power1',
  ).config;
  assert.deepEqual(c.web.listenAddresses, ['127.0.0.1:9102']);
  assert.deepEqual(c.exporter.prometheus.metricsLevel, ['container', 'vm']);
  assert.deepEqual(c.cpu.preferredMeters, ['fake']);
  assert.deepEqual(c.rapl.zones, ['package', 'core']);
  assert.deepEqual(c.experimental.hwmon.zones, ['power1']);
  assert.deepEqual(file(yaml).config.web.listenAddresses, [':1', ':2']);
});

test('boolean flags: --x, --x=true|false, --no-x, and the last one wins', () => {
  assert.equal(run(['--exporter.stdout']).exporter.stdout.enabled, true);
  assert.equal(run(['--exporter.stdout=true']).exporter.stdout.enabled, true);
  assert.equal(run(['--exporter.stdout=FALSE']).exporter.stdout.enabled, false);
  assert.equal(run(['--no-exporter.prometheus']).exporter.prometheus.enabled, false);
  assert.equal(run(['--exporter.prometheus=false', '--exporter.prometheus']).exporter.prometheus.enabled, true);
  assert.equal(run(['--kube.enable', '--no-kube.enable']).kube.enabled, false);
  assert.equal(run(['--experimental.hwmon.force-enabled']).experimental.hwmon.forceEnabled, true);
  assert.equal(run(['--exporter.prometheus.legacy-metrics']).exporter.prometheus.legacyMetrics, true);
  // A boolean flag does not swallow the next argument.
  assert.equal(run(['--debug.pprof', '--log.level', 'debug']).log.level, 'debug');
  assert.equal(file('exporter: {stdout: {enabled: true}}\n', '--no-exporter.stdout').config.exporter.stdout.enabled, false);
  rejects(() => run(['--exporter.stdout=yes']), 'flag --exporter.stdout', '"yes"', 'expected true or false');
  rejects(() => run(['--no-log.level']), 'flag --no-log.level', 'unknown flag');
  rejects(() => run(['--no-bogus']), 'flag --no-bogus', 'unknown flag');
});

test('value flags: --flag value and --flag=value', () => {
  assert.equal(run(['--log.level', 'error']).log.level, 'error');
  assert.equal(run(['--log.level=error']).log.level, 'error');
  assert.equal(run(['--monitor.max-terminated', '-1']).monitor.maxTerminated, -1);
  assert.equal(run(['--monitor.max-terminated=-1']).monitor.maxTerminated, -1);
  assert.equal(run(['--log.level=debug', '--log.level=warn']).log.level, 'warn', 'the last one wins');
  assert.equal(run(['--web.config-file=']).web.configFile, '');
  rejects(() => run(['--log.level']), 'flag --log.level', 'missing value');
  rejects(() => run(['--kube.node-name', '--kube.enable']), 'flag --kube.node-name', 'missing value');
  rejects(() => run(['stray']), '"stray"', 'unexpected argument');
});

test('NODE_NAME is the default of --kube.node-name', () => {
  assert.equal(run([], { NODE_NAME: 'n1' }).kube.nodeName, 'n1');
  assert.equal(run(['--kube.enable'], { NODE_NAME: 'n1' }).kube.enabled, true);
  assert.equal(run(['--kube.node-name=n2'], { NODE_NAME: 'n1' }).kube.nodeName, 'n2');
  assert.equal(load(['--config.file=c.yaml'], 'kube: {nodeName: n3}\n', { NODE_NAME: 'n1' }).config.kube.nodeName, 'n3');
  assert.equal(run([]).kube.nodeName, '');
});

test('kube.enabled needs a node name', () => {
  const parts = ['kube.nodeName', '--kube.node-name', 'NODE_NAME', 'kube.enabled'];
  rejects(() => run(['--kube.enable']), ...parts);
  rejects(() => file('kube:\n  enabled: true\n'), ...parts);
  rejects(() => run(['--kube.enable', '--kube.node-name=']), ...parts);
});

test('redfish needs its config file', () => {
  rejects(() => run(['--experimental.platform.redfish.enabled']), 'experimental.platform.redfish.configFile', '--experimental.platform.redfish.config-file');
  assert.equal(run(['--experimental.platform.redfish.enabled', '--experimental.platform.redfish.config-file=/r']).experimental.platform.redfish.enabled, true);
});

test('parseDuration: Go syntax', () => {
  const good: Array<[string, number]> = [
    ['5s', 5000],
    ['500ms', 500],
    ['1m30s', 90_000],
    ['1h', 3_600_000],
    ['1.5s', 1500],
    ['0', 0],
    ['0s', 0],
    ['250us', 0.25],
    ['250µs', 0.25],
    ['250μs', 0.25],
    ['1000000ns', 1],
    ['1.1s', 1100],
    ['.5m', 30_000],
    ['1h2m3s4ms', 3_723_004],
    ['+2s', 2000],
    ['-2s', -2000],
    ['2.s', 2000],
  ];
  for (const [s, ms] of good) assert.equal(parseDuration(s), ms, s);
  for (const s of ['', '5', '1.5', 's', '5 s', '5sec', '1d', '5S', ' 5s', '5s ', '.s', '--5s', '1m-30s', 'abc', '0x5s']) {
    assert.throws(() => parseDuration(s), /invalid duration/, JSON.stringify(s));
  }
});

test('formatDuration prints like Go', () => {
  assert.equal(formatDuration(0), '0s');
  assert.equal(formatDuration(500), '500ms');
  assert.equal(formatDuration(5000), '5s');
  assert.equal(formatDuration(1500), '1.5s');
  assert.equal(formatDuration(90_000), '1m30s');
  assert.equal(formatDuration(3_600_000), '1h0m0s');
});

test('durations in the file and in flags', () => {
  assert.equal(file('monitor: {interval: 1m}\n').config.monitor.intervalMs, 60_000);
  assert.equal(file('monitor: {interval: 2}\n').config.monitor.intervalMs, 2000, 'a YAML number is seconds');
  assert.equal(file('monitor: {interval: 0}\n').config.monitor.intervalMs, 0);
  assert.equal(run(['--monitor.staleness=1.5s']).monitor.stalenessMs, 1500);
  rejects(() => run(['--monitor.interval=5 seconds']), 'flag --monitor.interval', '"5 seconds"', 'expected a duration like 5s, 500ms or 1m30s');
  rejects(() => run(['--monitor.interval=5']), 'flag --monitor.interval', '"5"', 'expected a duration');
  rejects(() => run(['--monitor.interval=-5s']), 'flag --monitor.interval', '"-5s"', 'not negative');
  rejects(() => file('monitor: {staleness: fast}\n'), 'c.yaml', 'monitor.staleness', '"fast"', 'expected a duration');
  rejects(() => file('monitor: {interval: true}\n'), 'monitor.interval', 'true', 'expected a duration');
  rejects(() => file('kube: {podInformer: {pollInterval: 0s}}\n'), 'kube.podInformer.pollInterval', '"0s"', 'greater than 0');
  rejects(() => file('experimental: {platform: {redfish: {httpTimeout: 1x}}}\n'), 'experimental.platform.redfish.httpTimeout', '"1x"');
});

test('durations a timer cannot hold, and refresh intervals that would spin, are refused', () => {
  // Over 2^31-1 ms Node fires a timer at once: 597h refreshed every millisecond, 720h polled the kubelet 1,961 times in 6 s.
  rejects(() => run(['--monitor.interval=597h']), 'flag --monitor.interval', '"597h"', '0, or 100ms to 24h');
  rejects(() => file('kube: {podInformer: {pollInterval: 720h}}\n'), 'kube.podInformer.pollInterval', '"720h"', '1s to 24h');
  rejects(() => file('experimental: {platform: {redfish: {httpTimeout: 1h}}}\n'), 'experimental.platform.redfish.httpTimeout', '"1h"', '100ms to 10m');
  // A BMC read more than once a second is rate-limited; one read less than every 10 minutes is no power reading.
  rejects(() => file('experimental: {platform: {redfish: {pollInterval: 500ms}}}\n'), 'experimental.platform.redfish.pollInterval', '"500ms"', '1s to 10m');
  rejects(() => run(['--experimental.platform.redfish.poll-interval=11m']), 'flag --experimental.platform.redfish.poll-interval', '"11m"', '1s to 10m');
  // 1ns spun the refresh loop at half a core.
  rejects(() => run(['--monitor.interval=1ns']), 'flag --monitor.interval', '"1ns"', '100ms to 24h');
  rejects(() => file('monitor: {interval: 0.01}\n'), 'monitor.interval', '0.01', '100ms to 24h');
  rejects(() => file('monitor: {staleness: 25h}\n'), 'monitor.staleness', '"25h"', '0s to 24h');
  rejects(() => run(['--monitor.terminated-retention=-1s']), 'flag --monitor.terminated-retention', 'not negative');
  // The edges are accepted.
  assert.equal(run(['--monitor.interval=24h']).monitor.intervalMs, 86_400_000);
  assert.equal(run(['--monitor.interval=100ms']).monitor.intervalMs, 100);
  assert.equal(file('kube: {podInformer: {pollInterval: 1s}}\n').config.kube.podInformer.pollIntervalMs, 1000);
  assert.equal(file('experimental: {platform: {redfish: {pollInterval: 1s}}}\n').config.experimental.platform.redfish.pollIntervalMs, 1000);
  assert.equal(run(['--experimental.platform.redfish.poll-interval=10m']).experimental.platform.redfish.pollIntervalMs, 600_000);
  // Not tied to httpTimeout: Kepler has no pollInterval, and its files may set a longer httpTimeout (reads then do not overlap).
  assert.equal(file('experimental: {platform: {redfish: {httpTimeout: 30s}}}\n').config.experimental.platform.redfish.httpTimeoutMs, 30_000);
  assert.equal(run(['--monitor.terminated-retention=0s']).monitor.terminatedRetentionMs, 0);
});

test('watts settings are bounded: an absurd figure would make every later number absurd', () => {
  rejects(() => file('dev: {fake-cpu-meter: {watts: {package: .inf}}}\n'), 'dev.fake-cpu-meter.watts.package', 'at most 100000');
  rejects(() => file('dev: {fake-cpu-meter: {watts: {package: 1e308}}}\n'), 'dev.fake-cpu-meter.watts.package', 'at most 100000');
  rejects(() => file('estimator: {idleWatts: 1e9}\n'), 'estimator.idleWatts', 'at most 100000');
  rejects(() => file('experimental: {gpu: {idlePower: .nan}}\n'), 'experimental.gpu.idlePower', 'at most 100000');
  rejects(() => file('monitor: {maxZoneWatts: -1}\n'), 'monitor.maxZoneWatts', '>= 0', '0: no ceiling');
  assert.equal(file('monitor: {maxZoneWatts: 0}\n').config.monitor.maxZoneWatts, 0, '0 turns the ceiling off');
  rejects(() => run(['--monitor.max-zone-watts=1e6']), 'flag --monitor.max-zone-watts', 'at most 100000');
  assert.equal(file('monitor: {maxZoneWatts: 800}\n').config.monitor.maxZoneWatts, 800);
});

test('a YAML alias bomb is one line, not a stack trace', () => {
  const levels = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
  for (let i = 1; i < 10; i++) {
    const prev = String.fromCharCode(96 + i);
    const name = String.fromCharCode(97 + i);
    levels.push(`${name}: &${name} [${new Array(10).fill(`*${prev}`).join(',')}]`);
  }
  rejects(() => file(`${levels.join('\n')}\n`), 'config: c.yaml: invalid YAML', 'alias');
});

test('invalid file values: one line with the file, key, value and what is allowed', () => {
  const m = rejects(() => file('log:\n  level: verbose\n'), 'config: c.yaml: log.level: invalid value "verbose": expected one of debug, info, warn, error');
  assert.equal(m, 'config: c.yaml: log.level: invalid value "verbose": expected one of debug, info, warn, error');
  rejects(() => file('log: {format: xml}\n'), 'log.format', '"xml"', 'text, json');
  rejects(() => file('cpu: {preferredMeters: [rapl, nvml]}\n'), 'cpu.preferredMeters[1]', '"nvml"', 'rapl, hwmon, fake, passthrough, estimator');
  rejects(() => file('cpu: {preferredMeters: []}\n'), 'cpu.preferredMeters', '[]', 'rapl, hwmon, fake, passthrough, estimator');
  rejects(() => file('exporter: {prometheus: {metricsLevel: [node, gpu]}}\n'), 'exporter.prometheus.metricsLevel[1]', '"gpu"', 'node, process, container, vm, pod');
  rejects(
    () => file('exporter: {prometheus: {metricsLevel: nodes}}\n'),
    'exporter.prometheus.metricsLevel: invalid value "nodes": expected one of node, process, container, vm, pod',
  );
  rejects(() => file('exporter: {prometheus: {metricsLevel: {node: true}}}\n'), 'exporter.prometheus.metricsLevel', 'expected a level or a list of levels');
  rejects(() => file('monitor: {maxTerminated: 1.5}\n'), 'monitor.maxTerminated: invalid value 1.5: expected an integer (0 off, N keep N, negative unlimited)');
  rejects(() => file('monitor: {maxTerminated: "many"}\n'), 'monitor.maxTerminated', '"many"', 'expected an integer');
  rejects(() => file('monitor: {minTerminatedEnergyThreshold: -1}\n'), 'monitor.minTerminatedEnergyThreshold', '-1', '>= 0');
  rejects(() => file('kube: {enabled: "yes"}\n'), 'kube.enabled', '"yes"', 'expected true or false');
  rejects(() => file('kube: {podInformer: {mode: watch}}\n'), 'kube.podInformer.mode', '"watch"', 'kubelet, apiserver');
  rejects(() => file('host: {sysfs: 5}\n'), 'host.sysfs', '5', 'expected a string');
  rejects(() => file('monitor: 5s\n'), 'monitor', '"5s"', 'expected a mapping');
  rejects(() => file('- a\n- b\n'), 'c.yaml', '["a","b"]', 'expected a mapping');
  rejects(() => file('experimental: {gpu: {idlePower: -3}}\n'), 'experimental.gpu.idlePower', '-3', '>= 0');
  rejects(() => file('dev: {fake-cpu-meter: {watts: {package: -1}}}\n'), 'dev.fake-cpu-meter.watts.package', '-1', '>= 0');
  rejects(() => file('dev: {fake-cpu-meter: {watts: [1]}}\n'), 'dev.fake-cpu-meter.watts', 'zone name to watts');
  rejects(() => file('web: {listenAddresses: []}\n'), 'web.listenAddresses', '[]', 'at least one');
  rejects(() => file('estimator: {model: magic}\n'), 'estimator.model', '"magic"', 'kts-specpower', 'ccf', 'boavizta');
  rejects(() => file('estimator: {tdpWatts: -5}\n'), 'estimator.tdpWatts', '-5', 'watts >= 0');
  rejects(() => file('estimator: {points: [{load: 1.5, watts: 100}]}\n'), 'estimator.points[0].load', '1.5', 'between 0 and 1');
  rejects(() => file('estimator: {points: [{load: 0.5}]}\n'), 'estimator.points[0].watts', 'watts >= 0');
  rejects(() => file('estimator: {points: [100, 200]}\n'), 'estimator.points[0]', '100', '{load: 0.5, watts: 180}');
  rejects(() => file('estimator: {virtualMachine: maybe}\n'), 'estimator.virtualMachine', '"maybe"', 'auto, true or false');
  rejects(() => file('estimator: {hostCpus: 2.5}\n'), 'estimator.hostCpus', '2.5', 'whole number');
  rejects(() => file('estimator: {idleWatts: 300, maxWatts: 200}\n'), 'estimator.maxWatts', '200', 'more than estimator.idleWatts (300)');
  rejects(() => file('estimator: {points: [{load: 0.5, watts: 100}, {load: 0.5, watts: 120}]}\n'), 'estimator.points', 'load 0.5 appears twice');
  rejects(() => file('estimator: {points: [{load: 0, watts: 300}, {load: 1, watts: 100}]}\n'), 'estimator.points', '100 W at load 1', 'not to fall');
  rejects(() => file('estimator: {points: [{load: 0.5, watts: 0}]}\n'), 'estimator.points', 'watts > 0');
  rejects(() => file('estimator: {maxWatts: 300, points: [{load: 0.5, watts: 100}]}\n'), 'estimator.points', 'estimator.idleWatts/maxWatts');
});

test('listen addresses: [host]:port, IPv6 in brackets', () => {
  const ok = [':28282', '0.0.0.0:9102', 'localhost:80', '[::1]:28282', '[::]:1', 'my-node.example.com:65535', '127.0.0.1:0'];
  assert.deepEqual(run(ok.map((a) => `--web.listen-address=${a}`)).web.listenAddresses, ok);
  for (const bad of ['28282', '', ':', '::1:28282', '[::1]', '[zz]:80', 'host:65536', 'host:http', 'host:-1', 'a b:80', '[::1:80']) {
    rejects(() => run([`--web.listen-address=${bad}`]), 'flag --web.listen-address', JSON.stringify(bad), '[host]:port');
  }
  rejects(() => file('web: {listenAddresses: [":1", "nope"]}\n'), 'web.listenAddresses[1]', '"nope"', '[host]:port');
});

test('invalid flag values name the flag', () => {
  rejects(() => run(['--log.level=verbose']), 'flag --log.level: invalid value "verbose": expected one of debug, info, warn, error');
  rejects(() => run(['--metrics=node', '--metrics=gpu']), 'flag --metrics', '"gpu"', 'node, process, container, vm, pod');
  rejects(() => run(['--cpu.preferred-meters=nvml']), 'flag --cpu.preferred-meters', '"nvml"', 'rapl, hwmon, fake, passthrough, estimator');
  rejects(() => run(['--monitor.max-terminated=many']), 'flag --monitor.max-terminated', '"many"', 'expected an integer (0 off, N keep N, negative unlimited)');
  rejects(() => run(['--monitor.max-terminated=-1.5']), 'flag --monitor.max-terminated', '"-1.5"', 'expected an integer');
  rejects(() => run(['--experimental.gpu.idle-power=']), 'flag --experimental.gpu.idle-power', '""', '>= 0');
  rejects(() => run(['--estimator.tdp-watts=lots']), 'flag --estimator.tdp-watts', '"lots"', 'watts >= 0');
  rejects(() => run(['--estimator.virtual-machine=yes']), 'flag --estimator.virtual-machine', '"yes"', 'auto, true or false');
  assert.equal(run(['--estimator.virtual-machine=true', '--estimator.host-cpus=128']).estimator.hostCpus, 128);
  rejects(() => run(['--bogus']), 'flag --bogus: unknown flag');
  rejects(() => run(['--bogus=1']), 'flag --bogus', 'unknown flag');
  rejects(() => run(['-x']), 'flag -x', 'unknown flag');
  rejects(() => run(['--help=yes']), 'flag --help', 'takes no value');
});

test('a missing config file', () => {
  rejects(() => run(['--config.file=x.yaml']), 'flag --config.file: cannot read "x.yaml": ENOENT: no such file or directory');
  const m = rejects(() => loadConfig(['--config.file=/nonexistent/kepler.yaml'], {}), 'flag --config.file', '"/nonexistent/kepler.yaml"', 'ENOENT');
  assert.ok(!m.endsWith("'"), m);
});

test('YAML syntax errors name the file, line and column', () => {
  rejects(() => file('log:\n  level: info\n  format: [text\n'), 'config: c.yaml', 'line ', 'column ', 'invalid YAML');
  rejects(() => file('monitor:\n  interval: 5s\n  interval: 6s\n'), 'c.yaml', 'line 3, column 3', 'unique');
  rejects(() => file('log: {level: info\n'), 'c.yaml', 'line', 'invalid YAML');
});

test('unknown keys are warnings with their full dotted path', () => {
  const r = file(
    'monitor:\n  intervall: 5s\n  interval: 7s\nexporter:\n  prometheus:\n    metricLevel: [node]\nkube:\n  podInformer:\n    pollIntervall: 1s\nfoo: {bar: 1}\ndev:\n  fake_cpu_meter: {}\n',
  );
  assert.deepEqual([...r.warnings].sort(), [
    'config: c.yaml: unknown key "dev.fake_cpu_meter" (ignored)',
    'config: c.yaml: unknown key "exporter.prometheus.metricLevel" (ignored)',
    'config: c.yaml: unknown key "foo" (ignored)',
    'config: c.yaml: unknown key "kube.podInformer.pollIntervall" (ignored)',
    'config: c.yaml: unknown key "monitor.intervall" (ignored)',
  ]);
  assert.equal(r.config.monitor.intervalMs, 7000, 'the known keys beside them still apply');
  assert.deepEqual(r.config.exporter.prometheus.metricsLevel, defaultConfig().exporter.prometheus.metricsLevel);
  // An invalid value next to an unknown key is still an error.
  rejects(() => file('monitor: {intervall: 5s, interval: soon}\n'), 'monitor.interval', '"soon"');
});

test('--help lists every flag with its default; --version', () => {
  const r = loadConfig(['--log.level=debug', '-h'], {});
  assert.ok(r.kind === 'help');
  const lines = r.text.split('\n');
  for (const f of FLAGS) {
    const line = lines.find((l) => l.includes(`--${f.name}`) && !l.includes(`--${f.name}.`) && !l.includes(`--${f.name}-`));
    assert.ok(line, `--${f.name} missing from the help`);
    assert.ok(line.includes(f.help), `--${f.name}: ${line}`);
    if (f.key) assert.match(line, /\(default: [^)]+\)$/, line);
  }
  assert.match(r.text, /--monitor\.interval=DURATION\s+.*\(default: 5s\)/);
  assert.match(r.text, /--web\.listen-address=VALUE\.\.\.\s+.*\(default: :28282\)/);
  assert.match(r.text, /--kube\.node-name=VALUE\s+.*\(default: \$NODE_NAME\)/);
  assert.equal(loadConfig(['--help'], {}).kind, 'help');
  assert.deepEqual(loadConfig(['--version'], {}), { kind: 'version' });
  const configFlags = FLAGS.filter((f) => f.key).map((f) => f.name);
  for (const name of [
    'config.file',
    'log.level',
    'log.format',
    'host.sysfs',
    'host.procfs',
    'monitor.interval',
    'monitor.max-terminated',
    'debug.pprof',
    'web.config-file',
    'web.listen-address',
    'exporter.stdout',
    'exporter.prometheus',
    'metrics',
    'kube.enable',
    'kube.config',
    'kube.node-name',
    'experimental.platform.redfish.enabled',
    'experimental.platform.redfish.node-name',
    'experimental.platform.redfish.config-file',
    'experimental.hwmon.enabled',
    'experimental.hwmon.force-enabled',
    'experimental.hwmon.zones',
    'experimental.gpu.enabled',
    'experimental.gpu.idle-power',
    'experimental.gpu.dcgm-endpoint',
  ]) {
    assert.ok(name === 'config.file' || configFlags.includes(name), `Kepler flag --${name} is missing`);
  }
});

test('every example configuration loads without a warning', () => {
  const dir = fileURLToPath(new URL('../../../examples', import.meta.url));
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
  assert.ok(files.includes('estimator.yaml'), files.join(','));
  for (const f of files) {
    const r = loadConfig([`--config.file=${join(dir, f)}`], {});
    assert.ok(r.kind === 'run');
    assert.deepEqual(r.warnings, [], f);
  }
  const r = loadConfig([`--config.file=${join(dir, 'estimator.yaml')}`], {});
  assert.ok(r.kind === 'run');
  assert.deepEqual(r.config.cpu.preferredMeters, ['estimator']);
  assert.equal(r.config.estimator.points.length, 3);
});

test('each key is declared once, and its default, YAML key, Config field and flag agree', () => {
  const defaults = defaultConfig();
  const at = (o: unknown, dotted: string) => dotted.split('.').reduce<unknown>((x, k) => (x as Record<string, unknown>)[k], o);
  const declared = new Set(KEY_DECLARATIONS.map((d) => d.configPath));
  assert.equal(declared.size, KEY_DECLARATIONS.length, 'a Config field declared twice');
  for (const d of KEY_DECLARATIONS) {
    assert.equal(configPath(d.yamlKey), d.configPath, d.yamlKey);
    assert.deepEqual(at(defaults, d.configPath), d.default, d.configPath);
    // The default is a value its own key accepts (a duration as the file writes it).
    const written = d.duration ? formatDuration(d.default as number) : d.default;
    assert.ok(d.schema.safeParse(written).success, `${d.yamlKey}: the default ${JSON.stringify(written)} is not valid`);
  }
  // Every field of the Config is a declared key (a key's value may itself be a mapping: dev.fake-cpu-meter.watts).
  const fields = (o: object, prefix = ''): string[] =>
    Object.entries(o).flatMap(([k, v]) =>
      declared.has(prefix + k) || typeof v !== 'object' || v === null || Array.isArray(v) ? [prefix + k] : fields(v as object, `${prefix}${k}.`),
    );
  assert.deepEqual(fields(defaults).sort(), [...declared].sort());
  // Every flag sets a declared key, and no two flags share a name.
  const names = FLAGS.map((f) => f.name);
  assert.equal(new Set(names).size, names.length, names.join(' '));
  const yamlKeys = new Set(KEY_DECLARATIONS.map((d) => d.yamlKey));
  for (const f of FLAGS) if (f.key) assert.ok(yamlKeys.has(f.key), `--${f.name} sets ${f.key}, which is not declared`);
  assert.deepEqual(
    FLAGS.filter((f) => f.type === 'duration').map((f) => f.name),
    ['monitor.interval', 'monitor.staleness', 'monitor.terminated-retention', 'vm.passthrough.keep', 'experimental.platform.redfish.poll-interval'],
  );
});

test("estimator.model: the names the config accepts are the registry's models, in its order", () => {
  assert.deepEqual(
    [...ESTIMATOR_MODEL_NAMES],
    knownModels().map((m) => m.name),
  );
  assert.equal(DEFAULT_ESTIMATOR_MODEL, DEFAULT_MODEL_NAME);
  for (const name of ESTIMATOR_MODEL_NAMES) assert.equal(file(`estimator: {model: ${name}}\n`).config.estimator.model, name);
  assert.equal(file('estimator: {model: ""}\n').config.estimator.model, '');
});

test('listen addresses: the config accepts exactly what the web server binds', () => {
  const samples = [
    ':28282',
    '127.0.0.1:0',
    '[::1]:1',
    'localhost:80',
    'node-1.example.com.:9102',
    '1.2.3:80',
    'my_host:80',
    '-bad:80',
    'bad-:80',
    '[::1]:65536',
    ':00080',
    'a..b:80',
    '[127.0.0.1]:80',
    ' :80',
  ];
  for (const a of samples) {
    let binds = true;
    try {
      parseListenAddress(a);
    } catch {
      binds = false;
    }
    let loads = true;
    try {
      run([`--web.listen-address=${a}`]);
    } catch {
      loads = false;
    }
    assert.equal(loads, binds, JSON.stringify(a));
  }
  rejects(() => run(['--web.listen-address=my_host:80']), 'flag --web.listen-address', '"my_host:80"', '[host]:port');
});

test('errors that wrap another keep it as their cause', () => {
  assert.throws(
    () => run(['--config.file=x.yaml']),
    (e: Error) => e instanceof ConfigError && e.cause instanceof Error && /ENOENT/.test(e.cause.message),
  );
  assert.throws(
    () => run(['--bogus']),
    (e: Error) => e instanceof ConfigError && (e.cause as NodeJS.ErrnoException | undefined)?.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION',
  );
});

// ---------------------------------------------------------------------------------------------
// Kepler keys and flags (issue 13)

const DEPRECATED_HWMON = (key: string, given = 'rapl, hwmon') =>
  `config: ${key} is deprecated: using cpu.preferredMeters [hwmon] in place of [${given}] (the estimator stays the fallback); set cpu.preferredMeters instead`;

test("experimental.hwmon.forceEnabled and Kepler 0.11's experimental.hwmon.enabled: cpu.preferredMeters [hwmon], with a deprecation warning", () => {
  for (const r of [
    file('experimental: {hwmon: {forceEnabled: true}}\n'),
    file('experimental: {hwmon: {enabled: true}}\n'),
    load(['--experimental.hwmon.force-enabled']),
    load(['--experimental.hwmon.enabled']),
    load(['--experimental.hwmon.enabled=true']),
  ]) {
    assert.deepEqual(r.config.cpu.preferredMeters, ['hwmon']);
    assert.equal(r.warnings.length, 1);
    assert.match(r.warnings[0], /^config: experimental\.hwmon\.(forceEnabled|enabled) is deprecated: using cpu\.preferredMeters \[hwmon\] in place of \[rapl, hwmon\]/);
  }
  assert.deepEqual(load(['--experimental.hwmon.enabled']).warnings, [DEPRECATED_HWMON('experimental.hwmon.enabled')]);
  assert.equal(run(['--experimental.hwmon.enabled']).experimental.hwmon.enabled, true);
  assert.deepEqual(file('experimental: {hwmon: {forceEnabled: true, enabled: true}}\n').warnings, [
    DEPRECATED_HWMON('experimental.hwmon.forceEnabled and experimental.hwmon.enabled', 'rapl, hwmon').replace(' is ', ' are '),
  ]);
  // It overrides an explicit cpu.preferredMeters, as in Kepler.
  const r = file('cpu: {preferredMeters: [rapl, estimator]}\nexperimental: {hwmon: {forceEnabled: true}}\n');
  assert.deepEqual(r.config.cpu.preferredMeters, ['hwmon']);
  assert.deepEqual(r.warnings, [DEPRECATED_HWMON('experimental.hwmon.forceEnabled', 'rapl, estimator')]);
  // Off, or already migrated: nothing changes and nothing is said.
  for (const r2 of [
    load(['--no-experimental.hwmon.enabled']),
    file('experimental: {hwmon: {forceEnabled: false}}\n'),
    file('cpu: {preferredMeters: [hwmon]}\nexperimental: {hwmon: {enabled: true}}\n'),
  ]) {
    assert.deepEqual(r2.warnings, []);
  }
  assert.deepEqual(run(['--no-experimental.hwmon.enabled']).cpu.preferredMeters, ['rapl', 'hwmon']);
  rejects(() => run(['--experimental.hwmon.enabled=yes']), 'flag --experimental.hwmon.enabled', '"yes"', 'expected true or false');
  rejects(() => file('experimental: {hwmon: {enabled: "on"}}\n'), 'experimental.hwmon.enabled', '"on"', 'expected true or false');
});

test('the two hwmon spellings are one setting: a flag of either replaces what the file said in either', () => {
  const yaml = 'experimental: {hwmon: {forceEnabled: true}}\n';
  for (const flag of ['--no-experimental.hwmon.enabled', '--experimental.hwmon.enabled=false', '--no-experimental.hwmon.force-enabled']) {
    const r = file(yaml, flag);
    assert.deepEqual(r.config.cpu.preferredMeters, ['rapl', 'hwmon'], flag);
    assert.deepEqual(r.warnings, [], flag);
  }
  assert.deepEqual(file('experimental: {hwmon: {enabled: true}}\n', '--experimental.hwmon.force-enabled=false').config.cpu.preferredMeters, ['rapl', 'hwmon']);
  assert.deepEqual(file('experimental: {hwmon: {enabled: false}}\n', '--experimental.hwmon.force-enabled').config.cpu.preferredMeters, ['hwmon']);
});

test('dev.fake-cpu-meter.enabled: cpu.preferredMeters [fake], and it wins over the hwmon selector', () => {
  const r = file('dev: {fake-cpu-meter: {enabled: true}}\n');
  assert.deepEqual(r.config.cpu.preferredMeters, ['fake']);
  assert.deepEqual(r.warnings, [
    'config: dev.fake-cpu-meter.enabled is deprecated: using cpu.preferredMeters [fake] in place of [rapl, hwmon] (the estimator stays the fallback); set cpu.preferredMeters instead',
  ]);
  const both = file('dev: {fake-cpu-meter: {enabled: true}}\n', '--experimental.hwmon.enabled');
  assert.deepEqual(both.config.cpu.preferredMeters, ['fake']);
  assert.equal(
    both.warnings[1],
    'config: experimental.hwmon.enabled is deprecated and ignored: dev.fake-cpu-meter.enabled selects the fake meter; set cpu.preferredMeters instead',
  );
  // examples/fake-meter.yaml sets both the old and the new key: no warning, the file reads as intended.
  assert.deepEqual(file('cpu: {preferredMeters: [fake]}\ndev: {fake-cpu-meter: {enabled: true}}\n').warnings, []);
});

test("experimental.hwmon.chipRules: Kepler's shape, with defaults for what a rule leaves out", () => {
  const c = file(
    'experimental:\n  hwmon:\n    chipRules:\n      - {name: " INA3221 ", useSameIndex: true, skipVoltages: [4, 5, 6, 7]}\n      - {name: max34440, useSameIndex: true, skipCurrents: [7, 8], pairings: ~}\n      - name: max20730\n        pairings: {2: 1}\n',
  ).config;
  assert.deepEqual(c.experimental.hwmon.chipRules, [
    { name: 'INA3221', pairings: {}, skipVoltages: [4, 5, 6, 7], skipCurrents: [], useSameIndex: true },
    { name: 'max34440', pairings: {}, skipVoltages: [], skipCurrents: [7, 8], useSameIndex: true },
    { name: 'max20730', pairings: { '2': 1 }, skipVoltages: [], skipCurrents: [], useSameIndex: false },
  ]);
  assert.deepEqual(file('experimental: {hwmon: {chipRules: []}}\n').config.experimental.hwmon.chipRules, []);
  assert.ok(!FLAGS.some((f) => f.key === 'experimental.hwmon.chipRules'), 'no flag, as in Kepler');
});

test('experimental.hwmon.chipRules: a bad rule stops the start with one line naming its path', () => {
  const rule = (r: string) => file(`experimental: {hwmon: {chipRules: [${r}]}}\n`);
  rejects(() => file('experimental: {hwmon: {chipRules: {name: ina3221}}}\n'), 'experimental.hwmon.chipRules: invalid value', 'expected a list of rules');
  rejects(() => rule('ina3221'), 'experimental.hwmon.chipRules[0]: invalid value "ina3221": expected a rule like {name: ina3221, useSameIndex: true}');
  rejects(() => rule('{useSameIndex: true}'), 'experimental.hwmon.chipRules[0].name', 'expected the chip name');
  rejects(() => rule('{name: " ", useSameIndex: true}'), 'experimental.hwmon.chipRules[0].name', 'expected the chip name');
  rejects(() => rule('{name: ina226, pairings: {a: 1}}'), 'experimental.hwmon.chipRules[0].pairings.a', 'the key "a" is not a voltage index');
  rejects(() => rule('{name: ina226, pairings: {-1: 1}}'), 'experimental.hwmon.chipRules[0].pairings.-1', 'not a voltage index');
  rejects(() => rule('{name: ina226, pairings: {1: 1.5}}'), 'experimental.hwmon.chipRules[0].pairings.1: invalid value 1.5', 'as the current index');
  rejects(() => rule('{name: ina226, pairings: [1]}'), 'experimental.hwmon.chipRules[0].pairings', 'expected a mapping of voltage index to current index');
  rejects(() => rule('{name: ina3221, useSameIndex: true, skipVoltages: [4, x]}'), 'experimental.hwmon.chipRules[0].skipVoltages[1]: invalid value "x": expected a sensor index');
  rejects(() => rule('{name: ina3221, useSameIndex: true, skipCurrents: 7}'), 'experimental.hwmon.chipRules[0].skipCurrents', 'expected a list of current indexes');
  rejects(() => rule('{name: ina3221, useSameIndex: "yes"}'), 'experimental.hwmon.chipRules[0].useSameIndex', 'expected true or false');
  rejects(() => rule('{name: ina3221}'), 'experimental.hwmon.chipRules[0]: invalid value {"name":"ina3221"}: expected pairings or useSameIndex: true');
  rejects(
    () => rule('{name: ina3221, useSameIndex: true}, {name: INA3221, pairings: {1: 1}}'),
    'experimental.hwmon.chipRules[1].name',
    'expected one rule per chip (chipRules[0] is also for "INA3221")',
  );
  // An unknown key in a rule is warned about by its path, like any other; the rule still applies.
  const r = rule('{name: ina3221, useSameIndex: true, skipVoltage: [4]}');
  assert.deepEqual(r.warnings, ['config: c.yaml: unknown key "experimental.hwmon.chipRules[0].skipVoltage" (ignored)']);
  assert.equal(r.config.experimental.hwmon.chipRules[0].useSameIndex, true);
});

test('experimental.gpu.dcgmEndpoint and --experimental.gpu.dcgm-endpoint: checked as Kepler does', () => {
  for (const ok of [
    '',
    'http://10.131.2.22:9400/metrics',
    'https://dcgm-exporter.gpu-operator.svc:9400/metrics',
    'http://[fd00::1]:9400/metrics',
    'HTTP://dcgm',
    ' http://dcgm:9400/metrics ',
  ]) {
    assert.equal(file(`experimental: {gpu: {dcgmEndpoint: "${ok}"}}\n`).config.experimental.gpu.dcgmEndpoint, ok.trim(), ok);
    assert.equal(run([`--experimental.gpu.dcgm-endpoint=${ok}`]).experimental.gpu.dcgmEndpoint, ok.trim(), ok);
  }
  const bad: [string, string][] = [
    ['ftp://10.0.0.7:9400/metrics', 'scheme "ftp" is not http or https'],
    ['10.0.0.7:9400/metrics', 'expected an http or https URL'],
    ['dcgm-exporter', 'expected an http or https URL'],
    ['http:///metrics', 'a host is required'],
    ['http://:9400/metrics', 'a host is required'],
    ['http://10.0.0.7:9400/metrics?x=1', 'no query string or fragment'],
    ['http://10.0.0.7:9400/metrics#top', 'no query string or fragment'],
    ['http://10.0.0.7:0/metrics', 'port "0" is not 1-65535'],
    ['http://10.0.0.7:99999/metrics', 'port "99999" is not 1-65535'],
    ['http://10.0.0.7:/metrics', 'port "" is not 1-65535'],
    ['http://dcgm\\\\exporter:9400/metrics', 'no backslash'],
    ['http://bad host:9400/', 'not a host name or address'],
  ];
  // Checked, as in Kepler, when an experimental feature is on: here the GPU (file) or hwmon (flags).
  for (const [url, why] of bad) {
    rejects(() => file(`experimental: {gpu: {enabled: true, dcgmEndpoint: ${JSON.stringify(url)}}}\n`), 'config: experimental.gpu.dcgmEndpoint: invalid value', why);
    rejects(() => run(['--experimental.hwmon.enabled', `--experimental.gpu.dcgm-endpoint=${url}`]), 'config: experimental.gpu.dcgmEndpoint: invalid value', why);
    // With every experimental feature off Kepler drops the section unread: it starts, and so does this.
    assert.equal(file(`experimental: {gpu: {dcgmEndpoint: ${JSON.stringify(url)}}}\n`).config.experimental.gpu.dcgmEndpoint, url, url);
  }
  // Credentials are refused, and not repeated in the error line that goes to the log.
  for (const m of [
    rejects(() => file('experimental: {gpu: {enabled: true, dcgmEndpoint: "http://user:s3cret@10.0.0.7:9400/metrics"}}\n'), 'no credentials', 'http://***@10.0.0.7'),
    rejects(() => run(['--experimental.gpu.enabled', '--experimental.gpu.dcgm-endpoint=https://user:s3cret@10.0.0.7/metrics']), 'no credentials', 'https://***@10.0.0.7'),
  ]) {
    assert.ok(!m.includes('s3cret'), m);
  }
  rejects(() => file('experimental: {gpu: {dcgmEndpoint: 9400}}\n'), 'experimental.gpu.dcgmEndpoint', 'expected a URL string');
});

test('exporter.prometheus.metricsLevel: one level or a list, trimmed and any case; [] is every level, as in Kepler', () => {
  const levels = (yaml: string) => file(`exporter: {prometheus: {metricsLevel: ${yaml}}}\n`).config.exporter.prometheus.metricsLevel;
  assert.deepEqual(levels('node'), ['node']);
  assert.deepEqual(levels('" Pod "'), ['pod']);
  assert.deepEqual(levels('[]'), ['node', 'process', 'container', 'vm', 'pod']);
  assert.deepEqual(levels('[" Container", NODE, node]'), ['container', 'node'], 'a repeat counts once');
  rejects(
    () => file('exporter: {prometheus: {metricsLevel: [node, gpu]}}\n'),
    'exporter.prometheus.metricsLevel[1]: invalid value "gpu": expected one of node, process, container, vm, pod',
  );
  rejects(() => file('exporter: {prometheus: {metricsLevel: [node, 5]}}\n'), 'exporter.prometheus.metricsLevel[1]: invalid value 5');
  rejects(() => file('exporter: {prometheus: {metricsLevel: ""}}\n'), 'exporter.prometheus.metricsLevel: invalid value ""', 'expected one of');
  // --metrics: repeatable, the first use replaces the default; same rules per value.
  assert.deepEqual(run(['--metrics=POD', '--metrics', ' node']).exporter.prometheus.metricsLevel, ['pod', 'node']);
  assert.deepEqual(file('exporter: {prometheus: {metricsLevel: [vm]}}\n', '--metrics=container').config.exporter.prometheus.metricsLevel, ['container']);
  rejects(() => run(['--metrics=node,pod']), 'flag --metrics: invalid value "node,pod": expected one of node, process, container, vm, pod');
  rejects(() => run(['--metrics=']), 'flag --metrics: invalid value ""');
});

test('monitor.maxTerminated and --monitor.max-terminated: any negative value is unlimited, as in Kepler', () => {
  assert.equal(file('monitor: {maxTerminated: -5}\n').config.monitor.maxTerminated, -5);
  assert.equal(run(['--monitor.max-terminated', '-1000']).monitor.maxTerminated, -1000);
  assert.equal(run(['--monitor.max-terminated=-2']).monitor.maxTerminated, -2);
  // The monitor keeps every terminated workload for any negative value.
  const tracker = new TerminatedTracker<number>(run(['--monitor.max-terminated=-7']).monitor.maxTerminated, 0n, 0);
  for (let i = 0; i < 600; i++) assert.deepEqual(tracker.add({ info: i, state: 'terminated', cpuTotalSec: 1, cpuDeltaSec: 0, energyUj: [BigInt(i + 1)], deltaUj: [0] }), []);
  assert.equal(tracker.list().length, 600);
});

test('exporter.prometheus.debugCollectors: go, process or nodejs, trimmed; another name stops the start', () => {
  const collectors = (yaml: string) => file(`exporter: {prometheus: {debugCollectors: ${yaml}}}\n`).config.exporter.prometheus.debugCollectors;
  assert.deepEqual(collectors('[go, " process", nodejs]'), ['go', 'process', 'nodejs']);
  assert.deepEqual(collectors('[]'), []);
  rejects(
    () => file('exporter: {prometheus: {debugCollectors: [go, gc]}}\n'),
    'config: exporter.prometheus.debugCollectors[1]: invalid value "gc": expected one of go, process, nodejs',
  );
  rejects(() => file('exporter: {prometheus: {debugCollectors: [Go]}}\n'), 'exporter.prometheus.debugCollectors[0]', '"Go"', 'expected one of go, process, nodejs');
  rejects(() => file('exporter: {prometheus: {debugCollectors: go}}\n'), 'exporter.prometheus.debugCollectors', 'expected a list of go, process, nodejs');
  // Kepler refuses an unknown name when its Prometheus exporter starts: with the exporter off, it starts.
  assert.deepEqual(file('exporter: {prometheus: {enabled: false, debugCollectors: [gc]}}\n').config.exporter.prometheus.debugCollectors, ['gc']);
  rejects(() => file('exporter: {prometheus: {enabled: false, debugCollectors: [gc]}}\n', '--exporter.prometheus'), 'debugCollectors[0]', '"gc"');
});

// ---------------------------------------------------------------------------------------------
// The node's idle power (issue 14): monitor.idle.*

test('monitor.idle: model, watts and attribution in the file and as flags', () => {
  const idle = (yaml: string, ...flags: string[]) => file(yaml, ...flags).config.monitor.idle;
  assert.deepEqual(defaultConfig().monitor.idle, { model: 'baseline', watts: {}, attribution: 'none' });
  assert.deepEqual(idle('monitor: {idle: {model: usage-ratio}}\n'), { model: 'usage-ratio', watts: {}, attribution: 'none' });
  assert.deepEqual(idle('monitor: {idle: {watts: {package: 35, dram: 4, psys: 0}}}\n').watts, { package: 35, dram: 4, psys: 0 });
  assert.deepEqual(idle('monitor: {idle: {watts: {}}}\n').watts, {});
  assert.deepEqual(idle('monitor: {idle: {watts: {package: 100000}}}\n').watts, { package: 100_000 }, 'MAX_WATTS itself is accepted');
  assert.deepEqual(idle('monitor: {idle: ~}\n'), defaultConfig().monitor.idle, 'an empty section keeps the defaults');
  for (const a of ['none', 'cpu', 'even'] as const) {
    assert.equal(idle(`monitor: {idle: {attribution: ${a}}}\n`).attribution, a);
    assert.equal(run([`--monitor.idle.attribution=${a}`]).monitor.idle.attribution, a);
  }
  assert.equal(run(['--monitor.idle.model', 'usage-ratio']).monitor.idle.model, 'usage-ratio');
  assert.equal(idle('monitor: {idle: {model: usage-ratio}}\n', '--monitor.idle.model=baseline').model, 'baseline', 'the flag wins');
  // --monitor.idle.watts: repeatable NAME=NUMBER; a later entry for a zone replaces an earlier one,
  // and each zone given replaces the file's for that zone only.
  assert.deepEqual(run(['--monitor.idle.watts=package=35', '--monitor.idle.watts', 'dram=4.5', '--monitor.idle.watts=package=36']).monitor.idle.watts, { package: 36, dram: 4.5 });
  assert.deepEqual(idle('monitor: {idle: {watts: {package: 35, dram: 4}}}\n', '--monitor.idle.watts=dram=0').watts, { package: 35, dram: 0 });
  assert.deepEqual(run(['--monitor.idle.watts= core =1e1']).monitor.idle.watts, { core: 10 }, 'the name is trimmed; the number is any JS number form');
  // request needs Kubernetes: with it, it loads.
  const k = run(['--monitor.idle.attribution=request', '--kube.enable', '--kube.node-name=n1']);
  assert.equal(k.monitor.idle.attribution, 'request');
  assert.equal(file('monitor: {idle: {attribution: request}}\nkube: {enabled: true, nodeName: n1}\n').config.monitor.idle.attribution, 'request');
  assert.equal(run(['--monitor.idle.attribution=request', '--kube.enable'], { NODE_NAME: 'n2' }).monitor.idle.attribution, 'request');
  // The exact Config shape the monitor codes against.
  const shape: { model: 'baseline' | 'usage-ratio'; watts: Record<string, number>; attribution: 'none' | 'cpu' | 'request' | 'even' } = k.monitor.idle;
  assert.deepEqual(Object.keys(shape).sort(), ['attribution', 'model', 'watts']);
});

test('monitor.idle: every bad value stops the start with one exact line', () => {
  const exact = (fn: () => unknown, line: string) => assert.equal(rejects(fn), line);
  const W = 'expected a number of watts >= 0 and at most 100000';
  const MAPPING = 'expected a mapping of zone name to watts, e.g. {package: 35, dram: 4}';
  exact(() => file('monitor: {idle: {model: learned}}\n'), 'config: c.yaml: monitor.idle.model: invalid value "learned": expected one of baseline, usage-ratio');
  exact(() => run(['--monitor.idle.model=kepler']), 'flag --monitor.idle.model: invalid value "kepler": expected one of baseline, usage-ratio');
  exact(() => file('monitor: {idle: {attribution: requests}}\n'), 'config: c.yaml: monitor.idle.attribution: invalid value "requests": expected one of none, cpu, request, even');
  exact(() => run(['--monitor.idle.attribution=CPU']), 'flag --monitor.idle.attribution: invalid value "CPU": expected one of none, cpu, request, even');
  exact(() => file('monitor: {idle: {watts: {package: -1}}}\n'), `config: c.yaml: monitor.idle.watts.package: invalid value -1: ${W}`);
  exact(() => file('monitor: {idle: {watts: {package: "35"}}}\n'), `config: c.yaml: monitor.idle.watts.package: invalid value "35": ${W}`);
  exact(() => file('monitor: {idle: {watts: {dram: lots}}}\n'), `config: c.yaml: monitor.idle.watts.dram: invalid value "lots": ${W}`);
  exact(() => file('monitor: {idle: {watts: {package: 100001}}}\n'), `config: c.yaml: monitor.idle.watts.package: invalid value 100001: ${W}`);
  exact(() => file('monitor: {idle: {watts: {package: .inf}}}\n'), `config: c.yaml: monitor.idle.watts.package: invalid value Infinity: ${W}`);
  exact(() => file('monitor: {idle: {watts: {package: .nan}}}\n'), `config: c.yaml: monitor.idle.watts.package: invalid value NaN: ${W}`);
  exact(() => file('monitor: {idle: {watts: {package: ~}}}\n'), `config: c.yaml: monitor.idle.watts.package: invalid value null: ${W}`);
  exact(() => file('monitor: {idle: {watts: [35, 4]}}\n'), `config: c.yaml: monitor.idle.watts: invalid value [35,4]: ${MAPPING}`);
  exact(() => file('monitor: {idle: {watts: 35}}\n'), `config: c.yaml: monitor.idle.watts: invalid value 35: ${MAPPING}`);
  exact(() => file('monitor: {idle: {watts: {"": 3}}}\n'), `config: c.yaml: monitor.idle.watts: invalid value {"":3}: ${MAPPING} (a zone name is empty)`);
  exact(() => run(['--monitor.idle.watts=package=-3']), `flag --monitor.idle.watts: invalid value "package=-3": ${W}`);
  exact(() => run(['--monitor.idle.watts=package=lots']), `flag --monitor.idle.watts: invalid value "package=lots": ${W}`);
  exact(() => run(['--monitor.idle.watts=package=']), `flag --monitor.idle.watts: invalid value "package=": ${W}`);
  exact(() => run(['--monitor.idle.watts=package=1e6']), `flag --monitor.idle.watts: invalid value "package=1000000": ${W}`);
  exact(() => run(['--monitor.idle.watts=package=Infinity']), `flag --monitor.idle.watts: invalid value "package=Infinity": ${W}`);
  exact(() => run(['--monitor.idle.watts=package']), 'flag --monitor.idle.watts: invalid value "package": expected NAME=NUMBER, e.g. --monitor.idle.watts=package=35');
  exact(() => run(['--monitor.idle.watts==35']), 'flag --monitor.idle.watts: invalid value "=35": expected NAME=NUMBER, e.g. --monitor.idle.watts=package=35');
  exact(() => run(['--monitor.idle.watts']), 'flag --monitor.idle.watts: missing value (write --monitor.idle.watts=VALUE for a value starting with "-")');
  // request without Kubernetes: the CPU requests come from the pod informer.
  const REQUEST =
    'config: monitor.idle.attribution: invalid value "request": requires kube.enabled true (CPU requests come from the Kubernetes pod informer); set kube.enabled (--kube.enable) or choose none, cpu or even';
  exact(() => run(['--monitor.idle.attribution=request']), REQUEST);
  exact(() => file('monitor: {idle: {attribution: request}}\n'), REQUEST);
  exact(() => file('monitor: {idle: {attribution: request}}\nkube: {enabled: true, nodeName: n1}\n', '--no-kube.enable'), REQUEST);
  exact(() => file('kube: {enabled: false}\n', '--monitor.idle.attribution=request'), REQUEST);
});

test('monitor.idle: (ours) in --help, with the flags and their defaults', () => {
  const r = loadConfig(['--help'], {});
  assert.ok(r.kind === 'help');
  const line = (flag: string) => r.text.split('\n').find((l) => l.includes(`--${flag}=`)) ?? assert.fail(`--${flag} missing from the help`);
  assert.match(line('monitor.idle.model'), /--monitor\.idle\.model=VALUE\s+\(ours\) .*baseline.*usage-ratio.* \(default: baseline\)$/);
  assert.match(line('monitor.idle.watts'), /--monitor\.idle\.watts=NAME=NUMBER\.\.\.\s+\(ours\) .*repeatable.* \(default: none\)$/);
  assert.match(line('monitor.idle.attribution'), /--monitor\.idle\.attribution=VALUE\s+\(ours\) .*none, cpu .*request .*even \(default: none\)$/);
  assert.deepEqual(
    FLAGS.filter((f) => f.type === 'mapping').map((f) => [f.name, f.key, f.repeatable]),
    [['monitor.idle.watts', 'monitor.idle.watts', true]],
  );
});
