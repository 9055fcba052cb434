// F1-F15: the faults the first campaign found, one row each, measured as they should behave
// after the fixes.

import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { select, type Exposition } from '../support/exposition.js';
import { IdentityTally, MonotonicWatch, refreshErrors } from './identity.js';
import {
  AETHER,
  dockerCgroup,
  freePort,
  histogram,
  max,
  median,
  ms,
  reEscape,
  removeCgroupTree,
  request,
  runInCgroup,
  runToExit,
  scenarioCgroupParent,
  scrape,
  shorten,
  sleep,
  STACK_LINE,
  startExporter,
  type ExporterProc,
  type Scope,
} from './lib.js';
import { Checks, type Scenario } from './scenario.js';
import { FakeProcfs, HwmonSensor, liveRapl, makeSysfs, ManualRapl, pidStatLine, uptimeTicks } from './trees.js';

const ZERO_INTERVAL = ['--monitor.interval=0s', '--monitor.staleness=0s'];
const HUGE = '9'.repeat(400);
const RAPL_RANGE = 262_143_328_850;

function nodeValue(e: Exposition | undefined, name: string, zone: string): number | undefined {
  return e ? select(e, name, { zone })[0]?.value : undefined;
}

function kubeconfig(dir: string, name: string, server: string): string {
  const f = join(dir, name);
  writeFileSync(
    f,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `- name: c\n  cluster:\n    server: "${server}"\n    insecure-skip-tls-verify: true`,
      'users:',
      '- name: u\n  user:\n    token: campaign-token-123',
      'contexts:',
      '- name: ctx\n  context:\n    cluster: c\n    user: u',
      'current-context: ctx',
      '',
    ].join('\n'),
  );
  return f;
}

/** A TCP server that accepts and never says anything (an API server that hangs). */
async function silentServer(scope: Scope): Promise<number> {
  const held: Socket[] = [];
  const srv = createServer((s) => {
    held.push(s);
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  scope.defer('close the silent server', () => {
    held.forEach((s) => s.destroy());
    srv.close();
  });
  const a = srv.address();
  return typeof a === 'object' && a ? a.port : 0;
}

export const f1KubeUnreachable: Scenario = {
  name: 'F1',
  did: '--kube.enable --kube.node-name=n1 with a kubeconfig (bearer token) whose server is https://127.0.0.1:<closed port>, and a variant with http://',
  expected: 'after 10 s still running; /metrics 200 with node metrics and kepler_exporter_kube_* error metrics (> 0); never exits 0',
  limitSec: () => 60,
  async run({ scope }) {
    const { sysfs } = liveRapl(scope);
    const dir = scope.tmpdir();
    const variants: [string, string][] = [
      ['https', `https://127.0.0.1:${await freePort()}`],
      ['http', `http://127.0.0.1:${await freePort()}`],
    ];
    const exps: [string, ExporterProc][] = [];
    for (const [label, server] of variants) {
      const kc = kubeconfig(dir, `${label}.kubeconfig`, server);
      exps.push([label, await startExporter(scope, { args: [`--host.sysfs=${sysfs}`, '--kube.enable', '--kube.node-name=n1', `--kube.config=${kc}`], waitReady: false })]);
    }
    await sleep(10_000);
    const c = new Checks();
    for (const [label, exp] of exps) {
      if (!exp.alive()) {
        c.add(false, `${label}: ${exp.describeExit()} within 10 s: ${shorten(exp.lastLine())}`);
        continue;
      }
      const s = await scrape(exp.url);
      const node = s.exp ? select(s.exp, 'kepler_node_cpu_joules_total').length : 0;
      const kube = s.exp ? [...new Set(s.exp.samples.filter((x) => x.name.startsWith('kepler_exporter_kube_')).map((x) => x.name))] : [];
      const errors = s.exp ? select(s.exp, 'kepler_exporter_kube_errors_total').reduce((a, x) => a + x.value, 0) : 0;
      c.add(
        s.reply.status === 200 && node > 0 && kube.length > 0 && errors > 0,
        `${label}: running, /metrics ${s.reply.status}, ${node} node series, kube metrics [${kube.join(', ') || 'none'}], kube errors ${errors}`,
      );
    }
    return c.result();
  },
};

export const f2BasicAuthFlood: Scenario = {
  name: 'F2',
  did: 'web config with basic_auth_users (bcrypt cost 10); one good scrape first (cached), then 50 parallel wrong passwords sustained (5 s, 3 s with --quick) while probing /metrics (right password) and /healthz (no auth) every 200 ms',
  expected: '/metrics (right password) and /healthz (no credentials) each answer 200 in < 100 ms during the flood; wrong ones 401 or 429',
  limitSec: () => 90,
  async run({ scope, quick, note }) {
    const { sysfs } = liveRapl(scope);
    const dir = scope.tmpdir();
    const webConfig = join(dir, 'web.yaml');
    writeFileSync(webConfig, `basic_auth_users:\n  prom: ${bcrypt.hashSync('right-password', 10)}\n`);
    const exp = await startExporter(scope, { args: [`--host.sysfs=${sysfs}`, `--web.config-file=${webConfig}`] });
    const good = { user: 'prom', password: 'right-password' };
    const warm = await scrape(exp.url, { auth: good });
    const floodMs = quick ? 3000 : 5000;
    const end = performance.now() + floodMs;
    const wrongStatuses: (number | string)[] = [];
    const worker = async () => {
      while (performance.now() < end && !scope.closed) {
        const r = await request(`${exp.url}/metrics`, { auth: { user: 'prom', password: `wrong-${Math.random()}` }, timeoutMs: 30_000 });
        wrongStatuses.push(r.status || 'error');
      }
    };
    const workers = Array.from({ length: 50 }, () => worker());
    const metricsLat: number[] = [];
    const healthLat: number[] = [];
    const metricsSt: number[] = [];
    const healthSt: number[] = [];
    await sleep(300); // the flood is on
    while (performance.now() < end) {
      const [m, h] = await Promise.all([request(`${exp.url}/metrics`, { auth: good, timeoutMs: 10_000 }), request(`${exp.url}/healthz`, { timeoutMs: 10_000 })]);
      metricsLat.push(m.ms);
      metricsSt.push(m.status);
      healthLat.push(h.ms);
      healthSt.push(h.status);
      note(`${metricsLat.length} probes, /metrics max ${ms(max(metricsLat))}, /healthz max ${ms(max(healthLat))}`);
      await sleep(200);
    }
    await Promise.all(workers);
    const c = new Checks();
    c.info(`warm-up scrape ${warm.reply.status} in ${ms(warm.reply.ms)}`);
    c.add(
      metricsSt.every((x) => x === 200) && max(metricsLat) < 100,
      `/metrics right password: ${histogram(metricsSt)}, median ${ms(median(metricsLat))}, max ${ms(max(metricsLat))}`,
    );
    c.add(healthSt.every((x) => x === 200) && max(healthLat) < 100, `/healthz no auth: ${histogram(healthSt)}, median ${ms(median(healthLat))}, max ${ms(max(healthLat))}`);
    c.add(
      wrongStatuses.every((x) => x === 401 || x === 429),
      `wrong passwords: ${wrongStatuses.length} answered ${histogram(wrongStatuses)}`,
    );
    return c.result();
  },
};

export const f3DurationBounds: Scenario = {
  name: 'F3',
  did: '--monitor.interval=597h; kube.podInformer.pollInterval: 720h in a config file; --monitor.interval=1ns',
  expected: 'each exit 2 within 2 s with one line naming monitor.interval / pollInterval',
  limitSec: () => 40,
  async run({ scope }) {
    const { sysfs } = liveRapl(scope);
    const dir = scope.tmpdir();
    const conf = join(dir, 'poll.yaml');
    writeFileSync(conf, 'kube:\n  podInformer:\n    pollInterval: 720h\n');
    const cases: [string, string[], RegExp][] = [
      ['--monitor.interval=597h', ['--monitor.interval=597h'], /monitor\.interval/],
      ['pollInterval: 720h', [`--config.file=${conf}`], /pollInterval/],
      ['--monitor.interval=1ns', ['--monitor.interval=1ns'], /monitor\.interval/],
    ];
    const c = new Checks();
    for (const [label, args, key] of cases) {
      const r = await runToExit(scope, [...args, `--host.sysfs=${sysfs}`], 4000);
      const naming = r.lines.filter((l) => key.test(l));
      const ok = !r.timedOut && r.code === 2 && r.ms < 2000 && naming.length === 1 && !r.lines.some((l) => STACK_LINE.test(l));
      c.add(
        ok,
        `${label}: ${r.timedOut ? 'still running after 4 s' : r.signal ? `killed by ${r.signal}` : `exit ${r.code} in ${ms(r.ms)}`}, ${naming.length} line(s) naming the key${naming[0] ? ` [${shorten(naming[0], 90)}]` : ''}`,
      );
    }
    return c.result();
  },
};

export const f4HugeNumbers: Scenario = {
  name: 'F4',
  did: '(a) a 400-digit RAPL energy_uj for one scrape, with a busy container; (b) fake procfs: a 400-digit field in /proc/stat for one scrape, then a 400-digit utime in a fake <pid>/stat of a container process; interval 0s',
  expected:
    'every scrape 200; counted (zone_read or counter_implausible; proc_stat; process_parse); identity (container + other levels) holds at every later scrape; no node counter goes down',
  limitSec: () => 90,
  async run({ scope, note }) {
    const c = new Checks();
    const parent = scenarioCgroupParent(scope);

    // (a) RAPL
    {
      const sysfs = makeSysfs(scope);
      const pkg = 'intel-rapl:0';
      const tree = new ManualRapl(sysfs, [
        { dir: pkg, name: 'package-0', maxRangeUj: RAPL_RANGE, watts: 25 },
        { dir: 'intel-rapl:0:2', name: 'dram', maxRangeUj: 65_712_999_613, watts: 4 },
      ]);
      const ctr = dockerCgroup(parent);
      runInCgroup(scope, ctr.dir, 'while :; do :; done');
      const exp = await startExporter(scope, { args: [`--host.sysfs=${sysfs}`, '--cpu.preferred-meters=rapl', ...ZERO_INTERVAL] });
      const tally = new IdentityTally();
      const watch = new MonotonicWatch((n) => n.startsWith('kepler_node_') && n.endsWith('_total'));
      const statuses: number[] = [];
      let before: number | undefined;
      let after: Exposition | undefined;
      for (let i = 0; i < 9; i++) {
        await sleep(400);
        if (i === 3) {
          tree.advance([pkg]);
          tree.put(pkg, `${HUGE}\n`);
        } else tree.advance();
        const s = await scrape(exp.url);
        statuses.push(s.reply.status);
        tally.feed(i, s.exp, i > 3); // every scrape after the bad reading
        if (s.exp) {
          watch.add(s.exp);
          if (i === 2) before = (refreshErrors(s.exp, 'zone_read') ?? 0) + (refreshErrors(s.exp, 'counter_implausible') ?? 0);
          after = s.exp;
        }
        note(`(a) scrape ${i}: ${s.reply.status}`);
      }
      const counted = (refreshErrors(after, 'zone_read') ?? 0) + (refreshErrors(after, 'counter_implausible') ?? 0) - (before ?? 0);
      c.add(
        statuses.every((x) => x === 200),
        `(a) RAPL: scrapes ${histogram(statuses)}`,
      );
      c.add(counted >= 1, `(a) zone_read+counter_implausible +${counted}`);
      c.add(tally.ok, `(a) ${tally.text()}`);
      c.add(watch.decreases === 0, `(a) ${watch.text()}`);
      exp.signal('SIGKILL');
      removeCgroupTree(ctr.dir);
    }

    // (b) procfs
    {
      const { sysfs } = liveRapl(scope);
      const proc = new FakeProcfs(scope);
      const ctr = dockerCgroup(parent);
      const busy = runInCgroup(scope, ctr.dir, 'while :; do :; done');
      await sleep(200);
      if (busy.pid === undefined) throw new Error('the busy loop did not start');
      proc.linkPid(busy.pid);
      const fakePid = 99_999;
      const cgroupLine = `0::${ctr.dir.replace(/^\/sys\/fs\/cgroup\/unified/, '').replace(/^\/sys\/fs\/cgroup/, '')}\n`;
      const start = uptimeTicks();
      proc.fakePid(fakePid, { stat: pidStatLine(fakePid, 'fakeproc', '0', '0', start), cgroup: cgroupLine });
      const exp = await startExporter(scope, { args: [`--host.sysfs=${sysfs}`, `--host.procfs=${proc.dir}`, '--cpu.preferred-meters=rapl', ...ZERO_INTERVAL] });
      const tally = new IdentityTally();
      const watch = new MonotonicWatch((n) => n.startsWith('kepler_node_') && n.endsWith('_total'));
      const statuses: number[] = [];
      let last: Exposition | undefined;
      const errs: Record<string, number | undefined> = {};
      const realStat = () => proc.overrideStat(undefined);
      const hugeStat = () => {
        const lines = readFileSync('/proc/stat', 'latin1').split('\n');
        lines[0] = lines[0].replace(/^cpu\s+(\d+)/, `cpu  ${HUGE}`);
        proc.overrideStat(lines.join('\n'));
      };
      let utime = 5;
      for (let i = 0; i < 11; i++) {
        await sleep(400);
        if (i === 3) hugeStat();
        else if (i === 4) realStat();
        if (i === 7) proc.writePidStat(fakePid, pidStatLine(fakePid, 'fakeproc', HUGE, '0', start));
        else proc.writePidStat(fakePid, pidStatLine(fakePid, 'fakeproc', String((utime += 5)), '0', start));
        proc.sync();
        const s = await scrape(exp.url);
        statuses.push(s.reply.status);
        // Every scrape after the first injection, except the second injection's own.
        tally.feed(i, s.exp, i > 3 && i !== 7);
        if (s.exp) {
          watch.add(s.exp);
          if (i === 2) {
            errs.statBefore = refreshErrors(s.exp, 'proc_stat');
            errs.parseBefore = refreshErrors(s.exp, 'process_parse');
          }
          last = s.exp;
        }
        note(`(b) scrape ${i}: ${s.reply.status}`);
      }
      const dStat = (refreshErrors(last, 'proc_stat') ?? 0) - (errs.statBefore ?? 0);
      const dParse = (refreshErrors(last, 'process_parse') ?? 0) - (errs.parseBefore ?? 0);
      c.add(
        statuses.every((x) => x === 200),
        `(b) procfs: scrapes ${histogram(statuses)}`,
      );
      c.add(dStat >= 1, `(b) proc_stat +${dStat}`);
      c.add(dParse >= 1, `(b) process_parse +${dParse}`);
      c.add(tally.ok, `(b) ${tally.text()}`);
      c.add(watch.decreases === 0, `(b) ${watch.text()}`);
    }
    return c.result();
  },
};

export const f5Hwmon: Scenario = {
  name: 'F5',
  did: 'hwmon power sensor (pmbus, power1_average 20 W, --cpu.preferred-meters=hwmon, interval 0s) reads a 400-digit value once, then 20 W again; later the sensor file becomes a directory for 4 refreshes',
  expected: 'watts > 0 at every later scrape (not frozen); the bad reading counted as zone_read; /healthz status not "ok" after 3+ failed refreshes in a row',
  limitSec: () => 60,
  async run({ scope }) {
    const sysfs = makeSysfs(scope);
    const sensor = new HwmonSensor(sysfs);
    const exp = await startExporter(scope, { args: [`--host.sysfs=${sysfs}`, '--cpu.preferred-meters=hwmon', ...ZERO_INTERVAL] });
    const statuses: number[] = [];
    const watts: number[] = [];
    let zoneBefore: number | undefined;
    let zoneAfter: number | undefined;
    let zone = '';
    for (let i = 0; i < 8; i++) {
      await sleep(400);
      sensor.put(i === 3 ? `${HUGE}\n` : '20000000\n');
      const s = await scrape(exp.url);
      statuses.push(s.reply.status);
      if (s.exp) {
        zone ||= select(s.exp, 'kepler_node_cpu_watts')[0]?.labels.zone ?? '';
        if (i === 2) zoneBefore = refreshErrors(s.exp, 'zone_read');
        if (i > 3) watts.push(nodeValue(s.exp, 'kepler_node_cpu_watts', zone) ?? NaN);
        zoneAfter = refreshErrors(s.exp, 'zone_read');
      } else if (i > 3) watts.push(NaN);
    }
    // Unreadable for several refreshes.
    sensor.putDir();
    for (let i = 0; i < 4; i++) {
      await sleep(200);
      statuses.push((await scrape(exp.url)).reply.status);
    }
    const during = await request(`${exp.url}/healthz`);
    let status = '';
    try {
      status = String((JSON.parse(during.body.toString('utf8')) as { status?: unknown }).status);
    } catch {
      status = `unparsable: ${shorten(during.body.toString('utf8'), 40)}`;
    }
    sensor.put('20000000\n');
    await sleep(300);
    await scrape(exp.url);
    await sleep(300);
    await scrape(exp.url);
    const healed = await request(`${exp.url}/healthz`);
    const c = new Checks();
    c.add(
      statuses.every((x) => x === 200),
      `scrapes ${histogram(statuses)}`,
    );
    c.add(watts.length > 0 && watts.every((w) => w > 0), `watts after the bad reading: ${watts.map((w) => w.toFixed(1)).join(', ')}`);
    c.add((zoneAfter ?? 0) - (zoneBefore ?? 0) >= 1, `zone_read ${zoneBefore} → ${zoneAfter}`);
    c.add(status !== 'ok' && !status.startsWith('unparsable'), `/healthz after 4 failed refreshes: ${during.status} status=${status}`);
    c.info(`after recovery: ${healed.status} ${shorten(healed.body.toString('utf8'), 60)}`);
    return c.result();
  },
};

export const f6UnicodeComm: Scenario = {
  name: 'F6',
  did: 'a process writes "café☃" (8 bytes UTF-8) to /proc/self/comm, then uses CPU for 2.5 s; interval 0s; scrape each second',
  expected: 'its process series has comm label exactly "café☃"',
  limitSec: () => 40,
  async run({ scope }) {
    const { sysfs } = liveRapl(scope);
    const exp = await startExporter(scope, { args: [`--host.sysfs=${sysfs}`, ...ZERO_INTERVAL] });
    await scrape(exp.url);
    const child = scope.spawn(process.execPath, [
      '-e',
      "require('fs').writeFileSync('/proc/self/comm', 'café☃'); const t = Date.now(); while (Date.now() - t < 2500) {} setTimeout(() => {}, 60000);",
    ]);
    const seen = new Set<string>();
    let last: string | undefined;
    for (let i = 0; i < 5; i++) {
      await sleep(1000);
      const s = await scrape(exp.url);
      const mine = s.exp ? select(s.exp, 'kepler_process_cpu_joules_total', { pid: String(child.pid) }) : [];
      for (const m of mine) seen.add(m.labels.comm);
      if (mine.length) last = mine[0].labels.comm;
    }
    const c = new Checks();
    c.add(
      last === 'café☃',
      `last comm label ${last === undefined ? 'none (process not exported)' : JSON.stringify(last)}; seen ${[...seen].map((x) => JSON.stringify(x)).join(', ') || 'none'}`,
    );
    return c.result();
  },
};

export const f7HeaderInjection: Scenario = {
  name: 'F7',
  did: 'web config http_server_config.headers Content-Security-Policy: "a\\r\\nb"',
  expected: 'exit 2 within 2 s; one line naming Content-Security-Policy; no stack trace',
  limitSec: () => 30,
  async run({ scope }) {
    const { sysfs } = liveRapl(scope);
    const dir = scope.tmpdir();
    const web = join(dir, 'web.yaml');
    writeFileSync(web, 'http_server_config:\n  headers:\n    Content-Security-Policy: "a\\r\\nb"\n');
    const r = await runToExit(scope, [`--host.sysfs=${sysfs}`, `--web.config-file=${web}`], 4000);
    const naming = r.lines.filter((l) => /Content-Security-Policy/i.test(l));
    const c = new Checks();
    c.add(
      !r.timedOut && r.code === 2 && r.ms < 2000 && naming.length === 1 && !r.lines.some((l) => STACK_LINE.test(l)),
      `${r.timedOut ? 'still running after 4 s' : r.signal ? `killed by ${r.signal}` : `exit ${r.code} in ${ms(r.ms)}`}; ${naming.length} line(s) naming the header of ${r.lines.length}${naming[0] ? ` [${shorten(naming[0], 100)}]` : ''}`,
    );
    return c.result();
  },
};

export const f8AliasBomb: Scenario = {
  name: 'F8',
  did: 'a YAML alias bomb (10 levels of 10 aliases, "billion laughs") as --config.file',
  expected: 'exit 2 within 2 s; exactly one line; no stack trace',
  limitSec: () => 30,
  async run({ scope }) {
    const { sysfs } = liveRapl(scope);
    const dir = scope.tmpdir();
    const names = 'abcdefghij'.split('');
    const lines = [`${names[0]}: &${names[0]} [${Array(10).fill('"lol"').join(', ')}]`];
    for (let i = 1; i < names.length; i++)
      lines.push(
        `${names[i]}: &${names[i]} [${Array(10)
          .fill(`*${names[i - 1]}`)
          .join(', ')}]`,
      );
    const f = join(dir, 'bomb.yaml');
    writeFileSync(f, lines.join('\n') + '\n');
    const r = await runToExit(scope, [`--host.sysfs=${sysfs}`, `--config.file=${f}`], 4000);
    const stack = r.lines.filter((l) => STACK_LINE.test(l)).length;
    const c = new Checks();
    c.add(
      !r.timedOut && r.code === 2 && r.ms < 2000 && r.lines.length === 1 && stack === 0,
      `${r.timedOut ? 'still running after 4 s' : r.signal ? `killed by ${r.signal}` : `exit ${r.code} in ${ms(r.ms)}`}; ${r.lines.length} line(s), ${stack} stack frames [${shorten(r.lines[0] ?? '', 100)}]`,
    );
    return c.result();
  },
};

export const f9AetherSecret: Scenario = {
  name: 'F9',
  did: 'kepler-aether-source with the go-plugin cookie and PROMETHEUS_URL=http://user:secret@host:70000 (also …@host:9090/p?x=1)',
  expected: 'stdout/stderr never contain "secret"; the message names port 70000; exits (not a hang)',
  limitSec: () => 30,
  async run({ scope }) {
    const c = new Checks();
    const runOnce = async (url: string) => {
      const child = scope.spawn(process.execPath, [AETHER], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          AETHER_SOURCE_PLUGIN: '9cf50efe-f360-4c46-997f-e1ce7317adaf',
          PLUGIN_PROTOCOL_VERSIONS: '1',
          PROMETHEUS_URL: url,
          INTERVAL: '5m',
          PROVIDER: 'prometheus',
        },
      });
      let out = '';
      child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
      const code = await Promise.race([new Promise<number | null>((r) => child.on('exit', (code) => r(code))), sleep(8000).then(() => 'timeout' as const)]);
      if (code === 'timeout') child.kill('SIGKILL');
      await sleep(50);
      return { code, out };
    };
    const a = await runOnce('http://user:secret@host:70000');
    c.add(
      !a.out.includes('secret') && a.out.includes('70000') && a.code !== 'timeout',
      `port 70000: exit ${a.code}, "secret" ${a.out.includes('secret') ? 'PRINTED' : 'not printed'}, 70000 ${a.out.includes('70000') ? 'named' : 'not named'} [${shorten(a.out, 150)}]`,
    );
    const b = await runOnce('http://user:secret@host:9090/p?x=1');
    c.add(!b.out.includes('secret') && b.code !== 'timeout', `query variant: exit ${b.code}, "secret" ${b.out.includes('secret') ? 'PRINTED' : 'not printed'}`);
    return c.result();
  },
};

/** Steps a ManualRapl tree and scrapes after each step (interval 0s), recording what scenarios F10/F11 need. */
async function stepAndScrape(exp: ExporterProc, steps: (() => void)[], pauseMs = 300) {
  const out: { status: number; exp?: Exposition }[] = [];
  for (const step of steps) {
    await sleep(pauseMs);
    step();
    const s = await scrape(exp.url);
    out.push({ status: s.reply.status, exp: s.exp });
  }
  return out;
}

/** Highest watts any zone showed, from the gauge and from Δjoules / interval. */
function maxWatts(scrapes: { exp?: Exposition }[]): { gauge: number; derived: number } {
  let gauge = 0;
  let derived = 0;
  for (let i = 0; i < scrapes.length; i++) {
    const e = scrapes[i].exp;
    if (!e) continue;
    for (const w of select(e, 'kepler_node_cpu_watts')) gauge = Math.max(gauge, w.value);
    const p = scrapes[i - 1]?.exp;
    const dt = select(e, 'kepler_exporter_last_refresh_interval_seconds')[0]?.value ?? 0;
    if (!p || dt <= 0) continue;
    for (const j of select(e, 'kepler_node_cpu_joules_total')) {
      const before = select(p, 'kepler_node_cpu_joules_total', { zone: j.labels.zone })[0]?.value;
      if (before !== undefined) derived = Math.max(derived, (j.value - before) / dt);
    }
  }
  return { gauge, derived };
}

export const f10ImplausibleCounter: Scenario = {
  name: 'F10',
  did: 'RAPL package (max_energy_range_uj 262143328850, ~25 W) steps back by 1 µJ; later jumps forward by more than max_energy_range_uj; interval 0s, scrapes 0.3 s apart',
  expected: 'no interval above monitor.maxZoneWatts (5000 W) in watts gauge or Δjoules/Δt; each event counted as counter_implausible',
  limitSec: () => 40,
  async run({ scope }) {
    const sysfs = makeSysfs(scope);
    const pkg = 'intel-rapl:0';
    const tree = new ManualRapl(sysfs, [
      { dir: pkg, name: 'package-0', maxRangeUj: RAPL_RANGE, watts: 25 },
      { dir: 'intel-rapl:0:2', name: 'dram', maxRangeUj: 65_712_999_613, watts: 4 },
    ]);
    const exp = await startExporter(scope, { args: [`--host.sysfs=${sysfs}`, '--cpu.preferred-meters=rapl', ...ZERO_INTERVAL] });
    const adv = () => tree.advance();
    const back = () => {
      tree.advance([pkg]);
      tree.set(pkg, (tree.counters.get(pkg) ?? 0) - 1);
    };
    const jump = () => {
      tree.advance([pkg]);
      tree.set(pkg, (tree.counters.get(pkg) ?? 0) + RAPL_RANGE + 1_000_000);
    };
    const first = await stepAndScrape(exp, [adv, adv, adv]);
    const afterBack = await stepAndScrape(exp, [back, adv, adv]);
    const afterJump = await stepAndScrape(exp, [jump, adv, adv]);
    const all = [...first, ...afterBack, ...afterJump];
    const w1 = maxWatts([...first.slice(-1), ...afterBack]);
    const w2 = maxWatts([...afterBack.slice(-1), ...afterJump]);
    const n0 = refreshErrors(first.at(-1)?.exp, 'counter_implausible');
    const n1 = refreshErrors(afterBack.at(-1)?.exp, 'counter_implausible');
    const n2 = refreshErrors(afterJump.at(-1)?.exp, 'counter_implausible');
    const c = new Checks();
    c.add(
      all.every((s) => s.status === 200),
      `scrapes ${histogram(all.map((s) => s.status))}`,
    );
    c.add(Math.max(w1.gauge, w1.derived) < 5000, `1 µJ back: max ${w1.gauge.toFixed(0)} W (gauge), ${w1.derived.toFixed(0)} W (Δjoules/Δt)`);
    c.add(Math.max(w2.gauge, w2.derived) < 5000, `jump > range: max ${w2.gauge.toFixed(0)} W (gauge), ${w2.derived.toFixed(0)} W (Δjoules/Δt)`);
    c.add(n0 !== undefined && (n1 ?? 0) > (n0 ?? 0) && (n2 ?? 0) > (n1 ?? 0), `counter_implausible ${n0 ?? 'absent'} → ${n1 ?? 'absent'} → ${n2 ?? 'absent'}`);
    return c.result();
  },
};

export const f11SocketBackwards: Scenario = {
  name: 'F11',
  did: 'two sockets: intel-rapl:0 package-0 (with max_energy_range_uj) and intel-rapl:1 package-1 (without); package-1 steps back 3 J',
  expected: 'counted as counter_backwards; no node counter goes down',
  limitSec: () => 40,
  async run({ scope }) {
    const sysfs = makeSysfs(scope);
    const p1 = 'intel-rapl:1';
    const tree = new ManualRapl(sysfs, [
      { dir: 'intel-rapl:0', name: 'package-0', maxRangeUj: RAPL_RANGE, watts: 20 },
      { dir: p1, name: 'package-1', watts: 20 },
    ]);
    const exp = await startExporter(scope, { args: [`--host.sysfs=${sysfs}`, '--cpu.preferred-meters=rapl', ...ZERO_INTERVAL] });
    const adv = () => tree.advance();
    const back = () => {
      tree.advance([p1]);
      tree.set(p1, (tree.counters.get(p1) ?? 0) - 3_000_000);
    };
    const before = await stepAndScrape(exp, [adv, adv, adv]);
    const after = await stepAndScrape(exp, [back, adv, adv]);
    const watch = new MonotonicWatch();
    for (const s of [...before, ...after]) if (s.exp) watch.add(s.exp);
    const n0 = refreshErrors(before.at(-1)?.exp, 'counter_backwards');
    const n1 = refreshErrors(after.at(-1)?.exp, 'counter_backwards');
    const c = new Checks();
    c.add(
      [...before, ...after].every((s) => s.status === 200),
      `scrapes ${histogram([...before, ...after].map((s) => s.status))}`,
    );
    c.add((n1 ?? 0) > (n0 ?? 0), `counter_backwards ${n0} → ${n1}`);
    c.add(watch.decreases === 0, watch.text());
    return c.result();
  },
};

export const f12LogAndNegotiation: Scenario = {
  name: 'F12',
  did: 'package energy_uj unreadable (a directory) for 5 refreshes, then readable; Accept: application/openmetrics-text;q=0, text/plain; Accept-Encoding: gzip;q=0 (and plain gzip as control)',
  expected: 'exactly one WARN line naming the zone path when it starts failing and one INFO line when it recovers; text format for q=0 OpenMetrics; no gzip for gzip;q=0',
  limitSec: () => 40,
  async run({ scope }) {
    const sysfs = makeSysfs(scope);
    const pkg = 'intel-rapl:0';
    const tree = new ManualRapl(sysfs, [
      { dir: pkg, name: 'package-0', maxRangeUj: RAPL_RANGE, watts: 20 },
      { dir: 'intel-rapl:0:2', name: 'dram', maxRangeUj: 65_712_999_613, watts: 4 },
    ]);
    const exp = await startExporter(scope, { args: [`--host.sysfs=${sysfs}`, '--cpu.preferred-meters=rapl', ...ZERO_INTERVAL] });
    for (let i = 0; i < 2; i++) {
      await sleep(200);
      tree.advance();
      await scrape(exp.url);
    }
    const mark = exp.stderr().length;
    tree.advance([pkg]);
    tree.putDir(pkg);
    for (let i = 0; i < 5; i++) {
      await sleep(200);
      tree.advance([pkg]);
      await scrape(exp.url);
    }
    tree.advance([pkg]);
    tree.writeCounter(pkg);
    for (let i = 0; i < 3; i++) {
      await sleep(200);
      tree.advance();
      await scrape(exp.url);
    }
    await sleep(200);
    const zoneRe = new RegExp(`${reEscape(tree.path(pkg))}(?![:\\d])`);
    const mentioning = exp.lines(mark).filter((l) => zoneRe.test(l));
    const warns = mentioning.filter((l) => /level=WARN|"level":"WARN"/.test(l));
    const infos = mentioning.filter((l) => /level=INFO|"level":"INFO"/.test(l));
    const c = new Checks();
    c.add(
      warns.length === 1 && infos.length === 1 && mentioning.indexOf(warns[0]) < mentioning.indexOf(infos[0]),
      `${warns.length} WARN, ${infos.length} INFO of ${mentioning.length} lines naming the zone path${mentioning[0] ? ` [${shorten(mentioning[0], 90)}]` : ''}`,
    );
    const om = await request(`${exp.url}/metrics`, { headers: { Accept: 'application/openmetrics-text;q=0, text/plain' } });
    c.add(String(om.headers['content-type']).startsWith('text/plain'), `Accept openmetrics;q=0 → ${om.status} ${om.headers['content-type']}`);
    const gz0 = await request(`${exp.url}/metrics`, { headers: { 'Accept-Encoding': 'gzip;q=0' } });
    c.add(gz0.headers['content-encoding'] !== 'gzip', `Accept-Encoding gzip;q=0 → Content-Encoding ${gz0.headers['content-encoding'] ?? 'none'}`);
    const gz = await request(`${exp.url}/metrics`, { headers: { 'Accept-Encoding': 'gzip' } });
    c.info(`control: Accept-Encoding gzip → ${gz.headers['content-encoding'] ?? 'none'}`);
    return c.result();
  },
};

export const f13Signals: Scenario = {
  name: 'F13',
  did: 'kube enabled against an API server that accepts and never answers (start-up waits up to 5 s): SIGTERM 200 ms after spawn; again with a second SIGTERM 200 ms later; both SIGTERMs once start-up logged its Kubernetes wait; SIGHUP to a running exporter',
  expected: 'exit 0 within the 5 s stop deadline with a "stopping" log line; the second SIGTERM does not make it 143; SIGHUP logged and it keeps serving',
  limitSec: () => 60,
  async run({ scope }) {
    const { sysfs } = liveRapl(scope);
    const dir = scope.tmpdir();
    const port = await silentServer(scope);
    const kc = kubeconfig(dir, 'hang.kubeconfig', `https://127.0.0.1:${port}`);
    const kubeArgs = [`--host.sysfs=${sysfs}`, '--kube.enable', '--kube.node-name=n1', `--kube.config=${kc}`];
    const c = new Checks();
    /** SIGTERM 200 ms after spawn, or (`duringWait`) once start-up logs that it waits for Kubernetes. */
    const stopRun = async (second: boolean, duringWait = false) => {
      const exp = await startExporter(scope, { args: kubeArgs, waitReady: false });
      if (duringWait) {
        for (let i = 0; i < 100 && !/kubernetes pod metadata|kube/i.test(exp.stderr()) && exp.alive(); i++) await sleep(20);
        await sleep(200);
      } else await sleep(200 - (performance.now() - exp.spawnedAt));
      const t0 = performance.now();
      exp.signal('SIGTERM');
      if (second) {
        await sleep(200);
        if (exp.alive()) exp.signal('SIGTERM');
      }
      const ex = await exp.waitExit(8000);
      if (!ex) exp.signal('SIGKILL');
      const stopping = exp.lines().filter((l) => /stop/i.test(l));
      const sentAt = t0 - exp.spawnedAt;
      const firstLog = exp.firstStderrAt === undefined ? 'no log line' : `first log line ${ms(exp.firstStderrAt - exp.spawnedAt)} after spawn`;
      return { ex, took: ex ? ex.at - t0 : NaN, stopping, exp, when: `sent ${ms(sentAt)} after spawn, ${firstLog}` };
    };
    const a = await stopRun(false);
    c.add(
      a.ex?.code === 0 && a.took <= 5000 && a.stopping.length > 0,
      `one SIGTERM (${a.when}): ${a.ex ? a.exp.describeExit() : 'still running after 8 s'} ${ms(a.took)} after it; ${a.stopping.length ? `logged [${shorten(a.stopping[0], 70)}]` : 'no stop line'}`,
    );
    const b = await stopRun(true);
    c.add(b.ex?.code === 0, `two SIGTERMs (${b.when}): ${b.ex ? b.exp.describeExit() : 'still running after 8 s'} ${ms(b.took)} after the first`);
    // The same stop once start-up is surely waiting for Kubernetes (independent of module loading time).
    const w = await stopRun(true, true);
    c.add(
      w.ex?.code === 0 && w.took <= 5000 && w.stopping.length > 0,
      `two SIGTERMs during the Kubernetes wait (${w.when}): ${w.ex ? w.exp.describeExit() : 'still running after 8 s'} ${ms(w.took)} after the first; ${w.stopping.length ? `logged [${shorten(w.stopping[0], 60)}]` : 'no stop line'}`,
    );
    const exp = await startExporter(scope, { args: [`--host.sysfs=${sysfs}`] });
    const mark = exp.stderr().length;
    exp.signal('SIGHUP');
    await sleep(1000);
    const s = exp.alive() ? await scrape(exp.url) : undefined;
    const hup = exp.lines(mark).filter((l) => /SIGHUP|hangup/i.test(l));
    c.add(
      exp.alive() && s?.reply.status === 200 && hup.length > 0,
      `SIGHUP: ${exp.alive() ? `still running, /metrics ${s?.reply.status}` : exp.describeExit()}; ${hup.length ? `logged [${shorten(hup[0], 70)}]` : 'not logged'}`,
    );
    return c.result();
  },
};

export const f14TerminatedRetention: Scenario = {
  name: 'F14',
  did: 'a docker container busy 4 s then ends (threshold 0); after it ends: HEAD /metrics, then scraper A, scraper B 2 s later, A and B again',
  expected: 'the HEAD consumes nothing; both A and B see state="terminated" for the container (monitor.terminatedRetention, default 1m)',
  limitSec: () => 60,
  async run({ scope, note }) {
    const { sysfs } = liveRapl(scope);
    const exp = await startExporter(scope, { args: [`--host.sysfs=${sysfs}`, '--monitor.min-terminated-energy-threshold=0'] });
    const parent = scenarioCgroupParent(scope);
    const ctr = dockerCgroup(parent);
    const child = runInCgroup(scope, ctr.dir, "timeout 4 sh -c 'while :; do :; done'; true");
    const ended = new Promise<void>((r) => child.on('exit', () => r()));
    const agentA = new http.Agent({ keepAlive: true });
    const agentB = new http.Agent({ keepAlive: true });
    scope.defer('destroy agents', () => {
      agentA.destroy();
      agentB.destroy();
    });
    const states = (e?: Exposition) => (e ? select(e, 'kepler_container_cpu_joules_total', { container_id: ctr.id }).map((s) => s.labels.state) : []);
    let sawRunning = false;
    let done = false;
    void ended.then(() => (done = true));
    for (let i = 0; i < 15 && !done; i++) {
      const s = await scrape(exp.url, { agent: agentA });
      if (states(s.exp).includes('running')) sawRunning = true;
      await sleep(700);
    }
    await ended;
    await sleep(600);
    const head = await request(`${exp.url}/metrics`, { method: 'HEAD' });
    const seq: string[] = [];
    const seen: Record<string, boolean[]> = { A: [], B: [] };
    for (const who of ['A', 'B', 'A', 'B'] as const) {
      const s = await scrape(exp.url, { agent: who === 'A' ? agentA : agentB });
      const t = states(s.exp).includes('terminated');
      seen[who].push(t);
      seq.push(`${who}:${s.reply.status}${t ? ' terminated' : ' —'}`);
      note(seq.join(', '));
      await sleep(2000);
    }
    const c = new Checks();
    c.add(sawRunning, sawRunning ? 'container seen running' : 'container never seen running');
    c.info(`HEAD ${head.status}`);
    c.add(seen.A.at(0) === true && seen.B.at(0) === true, `after it ended: ${seq.join(', ')}`);
    return c.result();
  },
};

export const f15Dropped: Scenario = {
  name: 'F15',
  did: '20 one-shot docker containers (sleep 0.3 s, ~0.05 s of CPU, sleep 0.6 s, end), one started every 0.5 s; default threshold (10 J) and staleness; --monitor.interval=250ms so refreshes bill them between scrapes; a scrape every 1.5 s',
  expected:
    'kepler_node_cpu_dropped_joules_total{zone,level} exists and is > 0 for level container; the H3 identity (over the scrape intervals, several refreshes each) holds at every scrape with the default threshold',
  limitSec: () => 60,
  async run({ scope, note }) {
    const { sysfs } = liveRapl(scope);
    // Refreshes between scrapes: with interval 0s every refresh is shown, and a workload's final
    // interval bills nothing (it has ended), so nothing would ever be dropped.
    const exp = await startExporter(scope, { args: [`--host.sysfs=${sysfs}`, '--monitor.interval=250ms'] });
    const parent = scenarioCgroupParent(scope);
    const tally = new IdentityTally();
    tally.feed(0, (await scrape(exp.url)).exp);
    const statuses: number[] = [];
    let last: Exposition | undefined;
    const started = performance.now();
    let launched = 0;
    let nextScrape = started + 1500;
    while (performance.now() - started < 14_000 && !scope.closed) {
      if (launched < 20) {
        const ctr = dockerCgroup(parent);
        launched++;
        const child = runInCgroup(scope, ctr.dir, "sleep 0.3; timeout 0.05 sh -c 'while :; do :; done'; sleep 0.6");
        child.on('exit', () => setTimeout(() => removeCgroupTree(ctr.dir), 100));
      }
      await sleep(500);
      if (performance.now() < nextScrape) continue;
      nextScrape += 1500;
      const s = await scrape(exp.url);
      statuses.push(s.reply.status);
      tally.feed(statuses.length, s.exp);
      if (s.exp) last = s.exp;
      note(`${statuses.length} scrapes, ${launched} containers, ${tally.text()}`);
    }
    const dropped = last ? select(last, 'kepler_node_cpu_dropped_joules_total', { level: 'container' }) : [];
    const droppedProc = last ? select(last, 'kepler_node_cpu_dropped_joules_total', { level: 'process' }) : [];
    const c = new Checks();
    c.add(
      statuses.every((x) => x === 200),
      `scrapes ${histogram(statuses)}`,
    );
    c.add(
      dropped.length > 0 && dropped.some((d) => d.value > 0),
      dropped.length ? `dropped{level=container}: ${dropped.map((d) => `${d.labels.zone}=${d.value.toFixed(3)} J`).join(', ')}` : 'kepler_node_cpu_dropped_joules_total absent',
    );
    if (droppedProc.length) c.info(`dropped{level=process}: ${droppedProc.map((d) => `${d.labels.zone}=${d.value.toFixed(3)} J`).join(', ')}`);
    c.add(tally.ok, tally.text());
    return c.result();
  },
};

export const FAULTS: Scenario[] = [
  f1KubeUnreachable,
  f2BasicAuthFlood,
  f3DurationBounds,
  f4HugeNumbers,
  f5Hwmon,
  f6UnicodeComm,
  f7HeaderInjection,
  f8AliasBomb,
  f9AetherSecret,
  f10ImplausibleCounter,
  f11SocketBackwards,
  f12LogAndNegotiation,
  f13Signals,
  f14TerminatedRetention,
  f15Dropped,
];
