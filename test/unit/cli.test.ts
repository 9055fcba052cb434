// The kepler-ts binary as a user meets it: exit codes, one-line configuration errors, warnings
// for unknown keys, the message when no meter works, and the two log formats.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
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

  it('prints help listing Kepler flags, and the version', () => {
    const help = run(['--help']);
    assert.equal(help.code, 0);
    for (const flag of ['--config.file', '--host.sysfs', '--web.listen-address', '--metrics', '--kube.node-name', '--web.config-file']) {
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
