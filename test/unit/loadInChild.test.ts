// The exporter reads its configuration in a child process (src/config/loadInChild.ts), so that
// zod, yaml and the schema are not kept in its memory: what comes back must be exactly what
// loadConfig() gives in this process (values, types and prototypes), and a bad configuration the
// same one-line ConfigError.

import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../../src/config/config.js';
import { loadConfig } from '../../src/config/load.js';
import { CHILD_STOP_GRACE_MS, loadConfigInChild } from '../../src/config/loadInChild.js';

const LOADER = fileURLToPath(new URL('../../src/config/loadInChild.js', import.meta.url));
const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const FIXTURE = fileURLToPath(new URL('../../../test/fixtures/config/kepler.yaml', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'kepler-load-in-child-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test("Kepler's configuration file with flags over it: the same configuration and warnings as loadConfig", async () => {
  const argv = [`--config.file=${FIXTURE}`, '--web.listen-address=:9999', '--experimental.hwmon.enabled=true', '--kube.node-name=worker-7'];
  const here = loadConfig(argv);
  assert.equal(here.kind, 'run');
  if (here.kind === 'run') assert.ok(here.warnings.length > 0, 'the deprecated flag warns: else the warnings are not compared');
  // deepStrictEqual compares prototypes too: a class instance turned plain object would fail.
  assert.deepStrictEqual(await loadConfigInChild(argv), here);
});

test('help and version come back as loadConfig gives them', async () => {
  assert.deepStrictEqual(await loadConfigInChild(['--help']), loadConfig(['--help']));
  assert.deepStrictEqual(await loadConfigInChild(['--version']), { kind: 'version' });
});

test('a bad value: the same ConfigError, one line naming the file and the key', async () => {
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'monitor:\n  interval: soon\n');
  let expected: unknown;
  try {
    loadConfig([`--config.file=${bad}`]);
  } catch (err) {
    expected = err;
  }
  assert.ok(expected instanceof ConfigError, 'loadConfig refuses it');
  await assert.rejects(loadConfigInChild([`--config.file=${bad}`]), (err: unknown) => {
    assert.ok(err instanceof ConfigError, `a ConfigError, not ${String(err)}`);
    assert.equal(err.message, expected.message);
    assert.match(err.message, /bad\.yaml.*monitor\.interval/);
    return true;
  });
});

test('a missing configuration file: the ConfigError names it', async () => {
  await assert.rejects(loadConfigInChild([`--config.file=${join(dir, 'absent.yaml')}`]), (err: unknown) => err instanceof ConfigError && err.message.includes('absent.yaml'));
});

/** loadConfigInChild(argv) called in a fresh node with this cwd, environment and stdin; what it resolved to, as JSON. */
function loadElsewhere(argv: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; stdinFile?: string }): unknown {
  const script = `
    import { loadConfigInChild } from ${JSON.stringify(LOADER)};
    const r = await loadConfigInChild(${JSON.stringify(argv)});
    console.log(JSON.stringify(r));`;
  // A file as stdin, as `kepler-ts --config.file=/dev/stdin < config.yaml` has it (Node's own pipes are sockets, which /dev/stdin cannot open).
  const stdin = opts.stdinFile ? openSync(opts.stdinFile, 'r') : 'ignore';
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', cwd: opts.cwd, env: opts.env ?? process.env, stdio: [stdin, 'pipe', 'pipe'] });
  if (typeof stdin === 'number') closeSync(stdin);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

test('the child reads what the exporter would: stdin (--config.file=/dev/stdin), a path relative to the working directory, NODE_NAME', () => {
  const yaml = 'log:\n  level: debug\nmonitor:\n  interval: 7s\n';
  writeFileSync(join(dir, 'relative.yaml'), yaml);
  const piped = loadElsewhere(['--config.file=/dev/stdin'], { stdinFile: join(dir, 'relative.yaml') }) as { config: { log: { level: string } } };
  assert.equal(piped.config.log.level, 'debug', 'the configuration on stdin, not the defaults');
  const relative = loadElsewhere(['--config.file=relative.yaml'], { cwd: dir, env: { ...process.env, NODE_NAME: 'worker-9' } }) as { config: { kube: { nodeName: string } } };
  const here = loadConfig([`--config.file=${join(dir, 'relative.yaml')}`], { ...process.env, NODE_NAME: 'worker-9' });
  assert.ok(here.kind === 'run');
  assert.deepEqual(relative.config, JSON.parse(JSON.stringify(here.config)), 'the file found from the working directory');
  assert.equal(relative.config.kube.nodeName, 'worker-9');
});

test('a stop sent to the whole process group while the configuration is read: the exporter logs it and exits 0, the reader ends', async () => {
  // A FIFO with no writer: opening it blocks the reader until it is killed, so the signal lands
  // while the configuration is being read, whatever the machine's speed.
  const fifo = join(dir, 'config.fifo');
  execFileSync('mkfifo', [fifo]);
  // detached: the exporter leads a process group of its own, which the test signals as a terminal or a service manager would.
  const exporter = spawn(process.execPath, [MAIN, `--config.file=${fifo}`], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let stderr = '';
  exporter.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => exporter.once('exit', (code) => resolve(code)));
  const pgid = exporter.pid ?? assert.fail('no pid');
  const reader = await until(() => childOf(pgid), 10_000, 'the configuration reader started');
  // Blocked opening the FIFO (the kernel's wait_for_partner): past start-up, its signal handlers set.
  await until(() => wchan(reader) === 'wait_for_partner', 10_000, 'the reader blocked on the FIFO');
  const t0 = performance.now();
  process.kill(-pgid, 'SIGTERM');
  await new Promise((r) => setTimeout(r, CHILD_STOP_GRACE_MS / 2));
  assert.ok(alive(reader), 'the reader ignored the signal sent to the group: the exporter decides');
  const code = await exited;
  const tookMs = performance.now() - t0;
  assert.equal(code, 0, stderr);
  assert.match(stderr, /level=INFO msg=stopping signal=SIGTERM/);
  assert.ok(tookMs >= CHILD_STOP_GRACE_MS - 100, `exited after ${Math.round(tookMs)} ms: the reader is given ${CHILD_STOP_GRACE_MS} ms`);
  await until(() => !alive(reader), 5000, `the reader (pid ${reader}) is gone`);
});

/** The pid of a child process of `pid`, if any. */
function childOf(pid: number): number | undefined {
  const r = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' });
  const first = r.stdout.trim().split('\n')[0];
  return first ? Number(first) : undefined;
}

function wchan(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/wchan`, 'utf8');
  } catch {
    return '';
  }
}

/** Running: neither gone nor a zombie waiting for its parent. */
function alive(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'latin1').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}

async function until<T>(probe: () => T | undefined | false, timeoutMs: number, what: string): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (performance.now() > deadline) assert.fail(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
