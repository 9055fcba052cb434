// The kepler-ts binary as a user meets it: exit codes, one-line configuration errors, warnings
// for unknown keys, the message when no meter works, and the two log formats.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createLogger } from '../../src/logger/logger.js';

const MAIN = join(process.cwd(), 'dist', 'src', 'cli', 'main.js');
const tmp = mkdtempSync(join(tmpdir(), 'kepler-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function run(args: string[]) {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Starts the exporter, waits for `until` in its log, stops it with SIGTERM; its log and exit code. */
function runUntil(args: string[], until: RegExp): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no ${String(until)} in 20 s; log:\n${stderr}`));
    }, 20_000);
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      if (until.test(stderr)) child.kill('SIGTERM');
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

/** A sysfs with a working RAPL package zone and an INA3221 (voltage and current, no power sensor). */
function raplAndIna3221(dir: string): string {
  const sysfs = join(tmp, dir);
  const rapl = join(sysfs, 'class', 'powercap', 'intel-rapl:0');
  const hwmon = join(sysfs, 'class', 'hwmon', 'hwmon0');
  mkdirSync(rapl, { recursive: true });
  mkdirSync(hwmon, { recursive: true });
  const files: Record<string, string> = {
    [join(rapl, 'name')]: 'package-0\n',
    [join(rapl, 'energy_uj')]: '1000000\n',
    [join(rapl, 'max_energy_range_uj')]: '262143328850\n',
    [join(hwmon, 'name')]: 'ina3221\n',
    [join(hwmon, 'in1_input')]: '12000\n',
    [join(hwmon, 'in1_label')]: 'VDD_IN\n',
    [join(hwmon, 'curr1_input')]: '1500\n',
  };
  for (const [f, text] of Object.entries(files)) writeFileSync(f, text);
  return sysfs;
}

describe('kepler-ts command line', () => {
  it('exits 2 with one line naming the flag, the value and what is allowed', () => {
    const r = run(['--log.level=verbose']);
    assert.equal(r.code, 2);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /log\.level/);
    assert.match(lines[0], /verbose/);
    assert.match(lines[0], /debug, info, warn, error/);
  });

  it('exits 2 on a bad value in the YAML file, naming the file and the key', () => {
    const file = join(tmp, 'bad.yaml');
    writeFileSync(file, 'monitor:\n  interval: 5 seconds\n');
    const r = run([`--config.file=${file}`]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /bad\.yaml/);
    assert.match(r.stderr, /monitor\.interval/);
    assert.match(r.stderr, /5 seconds/);
  });

  it('exits 1 when no meter works, not even the estimator, saying why each one failed', () => {
    const sysfs = join(tmp, 'empty-sys');
    const procfs = join(tmp, 'empty-proc'); // no /proc/cpuinfo: the estimator cannot run either
    mkdirSync(sysfs, { recursive: true });
    mkdirSync(procfs, { recursive: true });
    const file = join(tmp, 'unknown-key.yaml');
    writeFileSync(file, 'monitor:\n  intervall: 5s\n');
    const r = run([`--config.file=${file}`, `--host.sysfs=${sysfs}`, `--host.procfs=${procfs}`, '--web.listen-address=127.0.0.1:0']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /unknown key \\?"monitor\.intervall\\?"/, 'unknown keys are warned about by name');
    assert.match(r.stderr, new RegExp(`rapl: ${join(sysfs, 'class', 'powercap')}: not found`));
    assert.match(r.stderr, new RegExp(`hwmon: ${join(sysfs, 'class', 'hwmon')}: not found`));
    assert.match(r.stderr, new RegExp(`estimator: .*${join(procfs, 'cpuinfo')}`));
  });

  it("takes Kepler's --experimental.hwmon.enabled: warns it is deprecated and uses hwmon (chip rules, V x I) over a working RAPL", async () => {
    const sysfs = raplAndIna3221('sys-hwmon');
    const file = join(tmp, 'hwmon.yaml');
    writeFileSync(file, 'experimental:\n  hwmon:\n    chipRules:\n      - {name: ina3221, useSameIndex: true}\n      - {name: ltc2945, pairings: {1: 1}}\n');
    const endpoint = 'http://10.131.2.22:9400/metrics';
    const r = await runUntil(
      [`--config.file=${file}`, '--experimental.hwmon.enabled', `--experimental.gpu.dcgm-endpoint=${endpoint}`, `--host.sysfs=${sysfs}`, '--web.listen-address=127.0.0.1:0'],
      /kepler-ts started/,
    );
    assert.equal(r.code, 0, r.stderr);
    const line = (re: RegExp) => r.stderr.split('\n').find((l) => re.test(l)) ?? assert.fail(`no line ${String(re)} in:\n${r.stderr}`);
    assert.match(
      line(/deprecated/),
      /level=WARN msg="config: experimental\.hwmon\.enabled is deprecated: using cpu\.preferredMeters \[hwmon\] in place of \[rapl, hwmon\] \(the estimator stays the fallback\); set cpu\.preferredMeters instead"/,
    );
    assert.match(line(/meter chosen/), /msg="meter chosen: hwmon" meter=hwmon zones=vdd_in\(.*in1_input\) not_chosen=none/);
    assert.match(line(/ltc2945/), /level=INFO msg="experimental\.hwmon\.chipRules: no hwmon chip named \\"ltc2945\\"; the rule is unused \(chips here: ina3221\)"/);
    assert.match(
      line(/dcgmEndpoint/),
      new RegExp(`level=INFO msg="experimental\\.gpu\\.dcgmEndpoint: not used: GPU power is off \\(experimental\\.gpu\\.enabled\\)" dcgm_endpoint=${endpoint}`),
    );
  });

  it('exits 2 with one line on a bad value of a Kepler key it used to ignore or refuse as a flag', () => {
    const cases: [string[], RegExp][] = [
      [
        ['--experimental.gpu.enabled', '--experimental.gpu.dcgm-endpoint=ftp://10.0.0.7:9400/metrics'],
        /^kepler-ts: config: experimental\.gpu\.dcgmEndpoint: invalid value "ftp:\/\/10\.0\.0\.7:9400\/metrics": expected an http or https URL.*scheme "ftp"/,
      ],
      [['--experimental.hwmon.enabled=maybe'], /^kepler-ts: flag --experimental\.hwmon\.enabled: invalid value "maybe": expected true or false$/],
      [['--metrics=nodes'], /^kepler-ts: flag --metrics: invalid value "nodes": expected one of node, process, container, vm, pod$/],
    ];
    const yaml: [string, RegExp][] = [
      ['experimental: {hwmon: {chipRules: [{name: ina3221, pairings: {a: 1}}]}}\n', /experimental\.hwmon\.chipRules\[0\]\.pairings\.a: .*not a voltage index/],
      ['exporter: {prometheus: {debugCollectors: [go, python]}}\n', /exporter\.prometheus\.debugCollectors\[1\]: invalid value "python": expected one of go, process, nodejs$/],
      [
        'experimental: {gpu: {enabled: true, dcgmEndpoint: "http://u:pw@dcgm:9400/metrics"}}\n',
        /experimental\.gpu\.dcgmEndpoint: invalid value "http:\/\/\*\*\*@dcgm:9400\/metrics": .*no credentials/,
      ],
    ];
    yaml.forEach(([text, re], i) => {
      const f = join(tmp, `kepler-key-${i}.yaml`);
      writeFileSync(f, text);
      cases.push([[`--config.file=${f}`], re]);
    });
    for (const [args, re] of cases) {
      const r = run(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], re);
    }
  });

  it('exits 2 with one exact line on a bad monitor.idle setting (issue 14)', () => {
    const W = 'expected a number of watts >= 0 and at most 100000';
    const cases: [string[], string][] = [
      [['--monitor.idle.model=learned'], 'kepler-ts: flag --monitor.idle.model: invalid value "learned": expected one of baseline, usage-ratio'],
      [['--monitor.idle.attribution=pods'], 'kepler-ts: flag --monitor.idle.attribution: invalid value "pods": expected one of none, cpu, request, even'],
      [['--monitor.idle.watts=package=-5'], `kepler-ts: flag --monitor.idle.watts: invalid value "package=-5": ${W}`],
      [['--monitor.idle.watts=package'], 'kepler-ts: flag --monitor.idle.watts: invalid value "package": expected NAME=NUMBER, e.g. --monitor.idle.watts=package=35'],
      [
        ['--monitor.idle.attribution=request'],
        'kepler-ts: config: monitor.idle.attribution: invalid value "request": requires kube.enabled true (CPU requests come from the Kubernetes pod informer); set kube.enabled (--kube.enable) or choose none, cpu or even',
      ],
    ];
    const yaml: [string, string][] = [
      ['monitor: {idle: {model: kepler}}\n', 'monitor.idle.model: invalid value "kepler": expected one of baseline, usage-ratio'],
      ['monitor: {idle: {attribution: evenly}}\n', 'monitor.idle.attribution: invalid value "evenly": expected one of none, cpu, request, even'],
      ['monitor: {idle: {watts: {package: -1}}}\n', `monitor.idle.watts.package: invalid value -1: ${W}`],
      ['monitor: {idle: {watts: {dram: "4 W"}}}\n', `monitor.idle.watts.dram: invalid value "4 W": ${W}`],
      ['monitor: {idle: {watts: {package: 1e6}}}\n', `monitor.idle.watts.package: invalid value 1000000: ${W}`],
      ['monitor: {idle: {watts: [35]}}\n', 'monitor.idle.watts: invalid value [35]: expected a mapping of zone name to watts, e.g. {package: 35, dram: 4}'],
    ];
    yaml.forEach(([text, line], i) => {
      const f = join(tmp, `idle-${i}.yaml`);
      writeFileSync(f, text);
      cases.push([[`--config.file=${f}`], `kepler-ts: config: ${f}: ${line}`]);
    });
    for (const [args, line] of cases) {
      const r = run(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr, `${line}\n`, args.join(' '));
    }
  });

  it('prints help listing Kepler flags, and the version', () => {
    const help = run(['--help']);
    assert.equal(help.code, 0);
    for (const flag of [
      '--config.file',
      '--host.sysfs',
      '--web.listen-address',
      '--metrics',
      '--kube.node-name',
      '--web.config-file',
      '--experimental.hwmon.enabled',
      '--experimental.hwmon.force-enabled',
      '--experimental.gpu.dcgm-endpoint',
    ]) {
      assert.ok(help.stdout.includes(flag), `help mentions ${flag}`);
    }
    const v = run(['--version']);
    assert.equal(v.code, 0);
    assert.match(v.stdout, /^kepler-ts \d+\.\d+\.\d+/);
  });
});

describe('logger', () => {
  const at = () => new Date('2026-01-02T03:04:05.000Z');
  it('writes slog-style logfmt, quoting what needs it, and drops lines under the level', () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'info', format: 'text', write: (l) => lines.push(l), now: at }).with({ component: 'monitor' });
    log.debug('hidden');
    log.warn('zone read failed', { path: '/sys/class/powercap/intel-rapl:0', err: new Error('permission denied'), n: 3 });
    assert.deepEqual(lines, [
      'time=2026-01-02T03:04:05.000Z level=WARN msg="zone read failed" component=monitor path=/sys/class/powercap/intel-rapl:0 err="permission denied" n=3\n',
    ]);
  });
  it('writes one JSON object per line', () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'debug', format: 'json', write: (l) => lines.push(l), now: at });
    log.error('cannot start', { err: new Error('boom'), port: 28282 });
    assert.deepEqual(JSON.parse(lines[0]), { time: '2026-01-02T03:04:05.000Z', level: 'ERROR', msg: 'cannot start', err: 'boom', port: 28282 });
  });
});
