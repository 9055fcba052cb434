// End to end: `kepler-ts top` in a real terminal (tmux) against the real exporter, which reads a
// RAPL tree advancing with the machine's CPU work and real cgroups named the way containerd names
// them under Kubernetes: one holds stress-ng (busy), the other a sleep (idle). The exporter asks
// for basic auth, so top's --user and $KEPLER_TOP_PASSWORD are exercised on the way. Then --once
// against the exporter and against a Kepler 0.11 exposition (test/fixtures/kepler-0.11), which
// must give the same columns, and the three one-line errors.
//
// The machine may be busy with other work, in other containers too: assertions are on what the
// test controls (our two containers, the order of the table, the terminal's state), never on
// the absolute watts of anything.

import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import bcrypt from 'bcryptjs';
import { randomHex, randomUid } from '../../harness/ids.js';
import { parseExposition, select } from '../support/exposition.js';
import {
  cgroupV2Root,
  CGROUP_ROOT,
  freePort,
  MAIN,
  removeCgroups,
  requireCommand,
  runInCgroup,
  startExporter,
  stopInCgroup,
  type CgroupProcess,
  type Exporter,
} from '../support/processes.js';
import { RaplTree } from '../support/raplTree.js';

const FIXTURE = fileURLToPath(new URL('../../../test/fixtures/kepler-0.11/metrics.txt', import.meta.url));
const PASSWORD = `pw-${randomHex(8)}`;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The environment of what the tests start: the width and the locale said, not inherited from
 * whoever runs the tests (COLUMNS=80 would cut names; LC_ALL=C would change the mark of a cut).
 */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, COLUMNS: '200', LANG: 'C.UTF-8', ...extra };
  delete env.LC_ALL;
  delete env.LC_CTYPE;
  return env;
}

/** `kepler-ts top ARGS` with stdout a pipe (not a terminal), as a script runs it. */
function top(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, 'top', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: childEnv(env) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

interface Table {
  titles: string[];
  /** Each row's cells by column title. */
  rows: Record<string, string>[];
  /** The (unattributed) line, which has no ID. */
  unattributed?: string;
}

/** The table of top's output: the line of column titles and the rows under it. Columns are two spaces apart or more; a name has single spaces at most. */
function readTable(lines: string[]): Table {
  const at = lines.findIndex((l) => l.startsWith('NAME '));
  assert.ok(at >= 0, `no table in:\n${lines.join('\n')}`);
  const titles = lines[at].trim().split(/\s+/);
  const unattributed = lines.slice(at + 1).find((l) => l.startsWith('(unattributed) '));
  const rows = lines
    .slice(at + 1)
    .filter((l) => l.trim() !== '' && l !== unattributed)
    .map((l) => {
      const cells = l.trim().split(/ {2,}/);
      assert.equal(cells.length, titles.length, `a cell per column: ${JSON.stringify(l)}`);
      return Object.fromEntries(titles.map((t, i) => [t, cells[i]]));
    });
  return { titles, rows, ...(unattributed === undefined ? {} : { unattributed }) };
}

describe('kepler-ts top against the real exporter, in a real terminal', { timeout: 180_000 }, () => {
  const v2 = cgroupV2Root();
  const tmp = mkdtempSync(join(tmpdir(), 'kepler-top-e2e-'));
  const sysfs = join(tmp, 'sys');
  const pod = randomUid();
  const ids = { busy: randomHex(64), idle: randomHex(64) };
  const names = { busy: `top-busy-${randomHex(4)}`, idle: `top-idle-${randomHex(4)}` };
  const kubepods = join(v2, 'kubepods.slice');
  const qos = join(kubepods, 'kubepods-besteffort.slice');
  const podDir = join(qos, `kubepods-besteffort-pod${pod.replace(/-/g, '_')}.slice`);
  const created: string[] = [];
  const containers: CgroupProcess[] = [];
  // A tmux server of our own, its socket in our folder (kill-server leaves the socket file behind).
  const tmuxSocket = join(tmp, 'tmux.sock');
  let tree: RaplTree;
  let exporter: Exporter;
  let metricsUrl: string;
  let nodeExporter: ChildProcess | undefined;
  let nodeExporterUrl: string;
  let fixtureServer: http.Server;
  let fixtureUrl: string;

  const tmux = (...args: string[]): { status: number | null; stdout: string } => {
    const r = spawnSync('tmux', ['-S', tmuxSocket, '-f', '/dev/null', ...args], { encoding: 'utf8', env: childEnv() });
    return { status: r.status, stdout: r.stdout };
  };
  const pane = (session: string): string[] => tmux('capture-pane', '-p', '-t', session).stdout.split('\n');
  const paneFormat = (session: string, format: string): string => tmux('display-message', '-p', '-t', session, format).stdout.trim();

  /** Polls until `check` returns a value (not undefined), or fails after `ms` with what it saw last. */
  async function until<T>(what: string, ms: number, check: () => T | undefined | Promise<T | undefined>, last: () => string = () => ''): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const v = await check();
      if (v !== undefined) return v;
      if (Date.now() > deadline) assert.fail(`${what} within ${ms} ms; last seen:\n${last()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  interface TopSession {
    name: string;
    /** Everything top writes to its terminal. */
    log: string;
    /** Its exit status, written by the shell that runs it once it has exited. */
    status: string;
  }

  /**
   * A session running `kepler-ts top` against the exporter, with the password in its environment
   * only. The pane stays when top exits, and what top writes is copied to a file: tmux hides the
   * cursor of a dead pane itself, so what top wrote last is what tells whether it gave the terminal
   * back. The shell records the exit status (tmux's pane_dead_status goes missing with pipe-pane).
   */
  function startTop(name: string, level: string): TopSession {
    const session = { name, log: join(tmp, `${name}.out`), status: join(tmp, `${name}.status`) };
    const cmd = `${process.execPath} ${MAIN} top --url ${metricsUrl} --user top --interval 1s --level ${level}; echo $? > ${session.status}`;
    // One tmux command line (`;` chains them): the pane is kept and copied from before the server
    // reads anything from it, whatever the timing of top's start.
    const r = tmux(
      ...['new-session', '-d', '-s', name, '-x', '160', '-y', '40', '-e', `KEPLER_TOP_PASSWORD=${PASSWORD}`, '-e', 'LANG=C.UTF-8', cmd],
      ...[';', 'set-option', '-w', '-t', name, 'remain-on-exit', 'on'],
      ...[';', 'pipe-pane', '-t', name, `cat >> ${session.log}`],
    );
    assert.equal(r.status, 0, `tmux new-session ${name}`);
    return session;
  }

  /** The exit status of top, once it has exited. */
  const exitStatus = (s: TopSession): Promise<string> =>
    until(
      `${s.name}: top exits`,
      10_000,
      () => (existsSync(s.status) ? readFileSync(s.status, 'utf8').trim() || undefined : undefined),
      () => pane(s.name).join('\n'),
    );

  /** The pid of top: the child of the shell that runs it in the pane. */
  function topPid(s: TopSession): number {
    const sh = paneFormat(s.name, '#{pane_pid}');
    return Number(readFileSync(`/proc/${sh}/task/${sh}/children`, 'utf8').trim().split(/\s+/)[0]);
  }

  /** Alternate screen and hidden cursor on start; cursor shown and main screen back as the last thing written. */
  function assertTerminalGivenBack({ name, log }: TopSession): void {
    const out = readFileSync(log, 'latin1');
    assert.ok(out.startsWith('\x1b[?1049h\x1b[?25l'), `starts on the alternate screen: ${JSON.stringify(out.slice(0, 20))}`);
    assert.ok(out.endsWith('\x1b[?25h\x1b[?1049l'), `ends by showing the cursor and leaving it: ${JSON.stringify(out.slice(-40))}`);
    assert.equal(paneFormat(name, '#{alternate_on}'), '0', 'the main screen is back');
  }

  before(async () => {
    requireCommand('stress-ng');
    requireCommand('tmux');
    requireCommand('prometheus-node-exporter');
    mkdirSync(join(sysfs, 'fs'), { recursive: true });
    symlinkSync(CGROUP_ROOT, join(sysfs, 'fs', 'cgroup'));
    tree = new RaplTree(sysfs, [
      { dir: 'intel-rapl:0', name: 'package-0', zone: 'package', idleWatts: 8, maxWatts: 40, maxRangeUj: 262_143_328_850 },
      { dir: 'intel-rapl:0:0', name: 'core', zone: 'core', idleWatts: 2, maxWatts: 30, maxRangeUj: 262_143_328_850 },
      { dir: 'intel-rapl:0:2', name: 'dram', zone: 'dram', idleWatts: 3, maxWatts: 6, maxRangeUj: 65_712_999_613 },
    ]);
    tree.resume();
    tree.start(100);

    // Two containers of one pod, as containerd names them with kubelet's systemd cgroup driver.
    for (const dir of [kubepods, qos, podDir]) if (!existsSync(dir)) created.push(dir);
    const busyDir = join(podDir, `cri-containerd-${ids.busy}.scope`);
    const idleDir = join(podDir, `cri-containerd-${ids.idle}.scope`);
    created.push(busyDir, idleDir);
    containers.push(runInCgroup(busyDir, 'exec stress-ng --cpu 1 --cpu-method int64 --timeout 300 -q', { CONTAINER_NAME: names.busy }));
    containers.push(runInCgroup(idleDir, 'exec sleep 300', { CONTAINER_NAME: names.idle }));

    const port = await freePort();
    writeFileSync(
      join(tmp, 'kepler.yaml'),
      [
        'monitor:',
        '  interval: 1s',
        "  idle: {watts: {package: 8, core: 2, dram: 3}}  # the tree's zero-load power: active power then follows CPU time",
        'cpu: {preferredMeters: [rapl]}',
      ].join('\n'),
    );
    writeFileSync(join(tmp, 'web.yaml'), `basic_auth_users:\n  top: ${bcrypt.hashSync(PASSWORD, 4)}\n`);
    exporter = await startExporter(
      [`--config.file=${join(tmp, 'kepler.yaml')}`, `--web.config-file=${join(tmp, 'web.yaml')}`, `--host.sysfs=${sysfs}`, `--web.listen-address=127.0.0.1:${port}`],
      port,
    );
    metricsUrl = `${exporter.url}/metrics`;

    // Until the exporter has billed the busy container over two refreshes.
    const authorization = `Basic ${Buffer.from(`top:${PASSWORD}`).toString('base64')}`;
    await until(
      'the exporter shows the busy container drawing power',
      30_000,
      async () => {
        const exp = parseExposition(await (await fetch(metricsUrl, { headers: { authorization } })).text());
        const busy = select(exp, 'kepler_container_cpu_watts', { container_id: ids.busy, zone: 'package' })[0];
        return busy && busy.value > 0 ? true : undefined;
      },
      () => exporter.stderr(),
    );

    fixtureServer = http.createServer((_req, res) => {
      res.setHeader('content-type', 'text/plain; version=0.0.4; charset=utf-8');
      res.end(readFileSync(FIXTURE));
    });
    await new Promise<void>((r) => fixtureServer.listen(0, '127.0.0.1', r));
    fixtureUrl = `http://127.0.0.1:${(fixtureServer.address() as AddressInfo).port}/metrics`;

    const nePort = await freePort();
    nodeExporterUrl = `http://127.0.0.1:${nePort}/metrics`;
    nodeExporter = spawn('prometheus-node-exporter', [`--path.sysfs=${sysfs}`, '--collector.disable-defaults', '--collector.rapl', `--web.listen-address=127.0.0.1:${nePort}`], {
      stdio: 'ignore',
    });
  });

  after(async () => {
    tmux('kill-server');
    tree?.stop();
    for (const c of containers) stopInCgroup(c);
    nodeExporter?.kill('SIGKILL');
    fixtureServer?.close();
    if (exporter && exporter.child.exitCode === null) exporter.child.kill('SIGKILL');
    await removeCgroups(created);
    rmSync(tmp, { recursive: true, force: true });
  });

  it('in tmux: starts on processes, `c` switches to containers with the busy one first, `q` quits and gives the terminal back', async () => {
    const s = startTop('top', 'process');
    await until(
      'top shows processes',
      20_000,
      () => (pane('top').some((l) => /^processes: \d+ running/.test(l)) && pane('top').some((l) => l.startsWith('NAME ')) ? true : undefined),
      () => pane('top').join('\n'),
    );
    assert.equal(paneFormat('top', '#{alternate_on} #{cursor_flag}'), '1 0', 'the alternate screen, the cursor hidden');

    assert.equal(tmux('send-keys', '-t', 'top', 'c').status, 0);
    const table = await until(
      'top shows both test containers at the container level',
      20_000,
      () => {
        const lines = pane('top');
        if (!lines.some((l) => /^containers: \d+ running {2}sort: watts/.test(l))) return undefined;
        const t = readTable(lines);
        // The unattributed line comes from counters: from the second refresh top sees.
        return t.rows.some((r) => r.NAME === names.busy) && t.rows.some((r) => r.NAME === names.idle) && t.unattributed !== undefined ? t : undefined;
      },
      () => pane('top').join('\n'),
    );
    assert.deepEqual(table.titles, ['NAME', 'ID', 'WATTS', 'PACKAGE', 'DRAM', 'ENERGY']);
    assert.match(table.unattributed ?? '', /^\(unattributed\) +\d+\.\d\d +\d+\.\d\d +\d+\.\d\d +\S+ \S?J$/);
    const busy = table.rows.findIndex((r) => r.NAME === names.busy);
    const idle = table.rows.findIndex((r) => r.NAME === names.idle);
    assert.equal(table.rows[busy].ID, ids.busy.slice(0, 12));
    assert.ok(Number(table.rows[busy].WATTS) > 0, `the busy container draws power: ${JSON.stringify(table.rows[busy])}`);
    assert.ok(busy < idle, 'the busy container above the idle one');
    const watts = table.rows.map((r) => Number(r.WATTS));
    assert.deepEqual(
      watts,
      [...watts].sort((a, b) => b - a),
      'sorted by watts',
    );
    // First, unless this machine runs another container busier than one stress-ng worker right now.
    assert.ok(busy === 0 || table.rows.slice(0, busy).every((r) => Number(r.WATTS) >= watts[busy]), `the busy container first: ${JSON.stringify(table.rows.slice(0, busy + 1))}`);

    assert.equal(tmux('send-keys', '-t', 'top', 'q').status, 0);
    assert.equal(await exitStatus(s), '0');
    assertTerminalGivenBack(s);
    tmux('kill-session', '-t', 'top');
    assert.notEqual(tmux('has-session', '-t', 'top').status, 0, 'the session has ended');
  });

  it('in tmux: SIGTERM ends it with 143, the terminal given back', async () => {
    const s = startTop('term', 'pod');
    await until(
      'top shows pods',
      20_000,
      () => (pane('term').some((l) => /^pods: \d+ running/.test(l)) ? true : undefined),
      () => pane('term').join('\n'),
    );
    process.kill(topPid(s), 'SIGTERM');
    assert.equal(await exitStatus(s), '143');
    assertTerminalGivenBack(s);
  });

  it('--once: the same columns against kepler-ts and against Kepler 0.11, plain text, exit 0', async () => {
    const ours = await top(['--url', metricsUrl, '--user', 'top', '--once', '--level', 'container'], { KEPLER_TOP_PASSWORD: PASSWORD });
    assert.equal(ours.code, 0, ours.stderr);
    assert.equal(ours.stderr, '');
    assert.ok(!ours.stdout.includes('\x1b'), 'no ANSI codes');
    const oursTable = readTable(ours.stdout.split('\n'));
    assert.match(ours.stdout.split('\n')[0], /^node \S+ {2}meter rapl {2}kepler-ts \S+ {2}\d\d:\d\d:\d\d$/);
    const busy = oursTable.rows.find((r) => r.NAME === names.busy);
    const idle = oursTable.rows.find((r) => r.NAME === names.idle);
    assert.ok(busy && idle, ours.stdout);
    assert.ok(Number(busy.WATTS) > Number(idle.WATTS), ours.stdout);

    // Not a terminal: --once without being told.
    const kepler = await top(['--url', fixtureUrl, '--level', 'containers']);
    assert.equal(kepler.code, 0, kepler.stderr);
    const lines = kepler.stdout.split('\n');
    assert.match(lines[0], /^node worker-1 {2}meter rapl {2}Kepler v0\.11\.0 {2}\d\d:\d\d:\d\d$/);
    assert.equal(lines[1], 'CPU  package 85.50 W (52.00 active, 33.50 idle)  core 61.25 W (45.00 active, 16.25 idle)  dram 12.75 W (4.50 active, 8.25 idle)  usage 42.0%');
    assert.equal(lines[2], 'containers: 4 running  sort: watts');
    const keplerTable = readTable(lines);
    assert.deepEqual(keplerTable.titles, oursTable.titles, 'the same columns');
    assert.deepEqual(keplerTable.rows, [
      { NAME: 'app (default/web-7d4b9c8f6-x2x9z)', ID: 'eee65f53e942', WATTS: '36.30', PACKAGE: '34.00', DRAM: '2.30', ENERGY: '49.40 kJ' },
      { NAME: 'prometheus', ID: 'ea21818b904c', WATTS: '3.60', PACKAGE: '3.00', DRAM: '0.60', ENERGY: '2.63 MJ' },
      { NAME: 'nginx (default/web-7d4b9c8f6-x2x9z)', ID: '0d347301ef56', WATTS: '2.75', PACKAGE: '2.50', DRAM: '0.25', ENERGY: '20.05 kJ' },
      { NAME: 'coredns (kube-system/coredns-5d78c9869d-qk8tn)', ID: '33187c8df952', WATTS: '1.90', PACKAGE: '1.75', DRAM: '0.15', ENERGY: '1.39 MJ' },
    ]);
    const procs = readTable((await top(['--url', fixtureUrl, '--level', 'process', '--sort', 'energy', '--top', '2'])).stdout.split('\n'));
    assert.deepEqual(
      procs.rows.map((r) => [r.NAME, r.PID, r.ENERGY]),
      [
        ['prometheus', '2204', '2.63 MJ'],
        ['kubelet', '1412', '1.79 MJ'],
      ],
    );
  });

  it('one line on stderr and exit 1: unreachable, auth refused, not a Kepler exporter', async () => {
    const port = await freePort();
    const down = await top(['--url', `127.0.0.1:${port}`]);
    assert.deepEqual([down.code, down.stdout, down.stderr], [1, '', `kepler-ts top: cannot reach http://127.0.0.1:${port}/metrics: connection refused (ECONNREFUSED)\n`]);

    const anonymous = await top(['--url', metricsUrl]);
    assert.equal(anonymous.code, 1);
    assert.match(
      anonymous.stderr,
      /^kepler-ts top: http:\/\/127\.0\.0\.1:\d+\/metrics refused the request \(401 Unauthorized\): no credentials were sent: give them with --user NAME[^\n]*\n$/,
    );
    const wrong = await top(['--url', metricsUrl, '--user', 'top'], { KEPLER_TOP_PASSWORD: 'wrong' });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /^kepler-ts top: [^\n]* refused the request \(401 Unauthorized\): basic auth was sent for user "top": check the user name and password\n$/);

    // node_exporter can take seconds to listen on a busy machine.
    await until('node_exporter answers', 30_000, async () => ((await fetch(nodeExporterUrl).catch(() => undefined))?.ok ? true : undefined));
    const notKepler = await top(['--url', nodeExporterUrl]);
    assert.equal(notKepler.code, 1, notKepler.stderr);
    assert.match(
      notKepler.stderr,
      /^kepler-ts top: http:\/\/127\.0\.0\.1:\d+\/metrics is not a Kepler exporter: it answered \d+ metric families, none named kepler_\* \([^\n]*node_\* \d+[^\n]*\)\n$/,
    );
  });
});
