// H1-H8: what held in the first campaign, checked again.

import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { select } from '../support/exposition.js';
import { IdentityTally, MonotonicWatch, refreshErrors } from './identity.js';
import {
  cgroupPids,
  dockerCgroup,
  histogram,
  killCgroup,
  max,
  median,
  MiB,
  ms,
  openFileLimit,
  podCgroup,
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
  freePort,
} from './lib.js';
import { Checks, type Scenario } from './scenario.js';
import { liveRapl, makeSysfs, ManualRapl } from './trees.js';

const ZERO_INTERVAL = ['--monitor.interval=0s', '--monitor.staleness=0s'];

export const h1BadConfig: Scenario = {
  name: 'H1',
  did: '11 bad values: unknown meter, negative interval, bad listen address (flag and file), metricsLevel [nodes], non-YAML file, missing file, unknown flag, bad log level, maxTerminated -2, staleness "banana"',
  expected: 'each: exit 2 within 2 s, exactly one stderr line, naming the key or flag, no stack trace',
  limitSec: () => 90,
  async run({ scope }) {
    const dir = scope.tmpdir();
    const sysfs = makeSysfs(scope);
    new ManualRapl(sysfs, [{ dir: 'intel-rapl:0', name: 'package-0', maxRangeUj: 262_143_328_850, watts: 10 }]);
    const file = (name: string, text: string) => {
      const f = join(dir, name);
      writeFileSync(f, text);
      return `--config.file=${f}`;
    };
    const port = await freePort();
    const cases: { label: string; args: string[]; key: RegExp }[] = [
      { label: 'unknown meter', args: ['--cpu.preferred-meters=quantum'], key: /cpu\.preferred-?[mM]eters/ },
      { label: 'negative interval', args: ['--monitor.interval=-5s'], key: /monitor\.interval/ },
      { label: 'bad listen address', args: ['--web.listen-address=localhost:99999'], key: /web\.listen-?[aA]ddress/ },
      { label: 'metricsLevel [nodes]', args: [file('levels.yaml', 'exporter:\n  prometheus:\n    metricsLevel: [nodes]\n')], key: /metricsLevel/ },
      { label: 'non-YAML file', args: [file('garbage.yaml', 'monitor: {interval: [5s\n  ::: ]]] \t\n- - {\n')], key: /garbage\.yaml|config/ },
      { label: 'missing file', args: [`--config.file=${join(dir, 'does-not-exist.yaml')}`], key: /config\.file|does-not-exist/ },
      { label: 'unknown flag', args: ['--monitor.intervall=5s'], key: /monitor\.intervall/ },
      { label: 'bad log level', args: ['--log.level=loud'], key: /log\.level/ },
      { label: 'maxTerminated -2', args: [file('term.yaml', 'monitor:\n  maxTerminated: -2\n')], key: /maxTerminated/ },
      { label: 'listen address in file', args: [file('listen.yaml', 'web:\n  listenAddresses: [":abc"]\n')], key: /listenAddresses/ },
      { label: 'staleness banana', args: ['--monitor.staleness=banana'], key: /monitor\.staleness/ },
    ];
    const c = new Checks();
    const bad: string[] = [];
    let worst = 0;
    for (const k of cases) {
      const listen = k.args.some((a) => a.startsWith('--web.listen-address')) ? [] : [`--web.listen-address=127.0.0.1:${port}`];
      const r = await runToExit(scope, [...k.args, `--host.sysfs=${sysfs}`, ...listen], 4000);
      worst = Math.max(worst, r.ms);
      const problems: string[] = [];
      if (r.timedOut) problems.push('still running after 4 s');
      else if (r.code !== 2) problems.push(r.signal ? `killed by ${r.signal}` : `exit ${r.code}`);
      if (!r.timedOut && r.ms >= 2000) problems.push(`${r.ms.toFixed(0)} ms`);
      if (r.lines.length !== 1) problems.push(`${r.lines.length} lines`);
      if (!r.lines.some((l) => k.key.test(l))) problems.push(`no line names ${k.key.source}`);
      if (r.lines.some((l) => STACK_LINE.test(l))) problems.push('stack trace');
      if (problems.length) bad.push(`${k.label}: ${problems.join(', ')} [${shorten(r.lines[0] ?? '', 80)}]`);
    }
    c.add(bad.length === 0, `${cases.length - bad.length}/${cases.length} exit 2 with one line naming the key; slowest ${ms(worst)}`);
    for (const b of bad) c.add(false, b);
    return c.result();
  },
};

export const h2HostileMeter: Scenario = {
  name: 'H2',
  did: 'RAPL package energy_uj (no max_energy_range_uj) cycles through "abc", "-5", empty, a directory, backwards, vanished, "12abc", "1e9", "0x10" between good values; 20 scrapes',
  expected: 'every scrape 200, process stays up, no _joules_total ever goes down',
  limitSec: () => 90,
  async run({ scope, note }) {
    const sysfs = makeSysfs(scope);
    const pkg = 'intel-rapl:0';
    const tree = new ManualRapl(sysfs, [
      { dir: pkg, name: 'package-0', watts: 20 },
      { dir: 'intel-rapl:0:0', name: 'core', maxRangeUj: 262_143_328_850, watts: 10 },
      { dir: 'intel-rapl:0:2', name: 'dram', maxRangeUj: 65_712_999_613, watts: 3 },
    ]);
    const exp = await startExporter(scope, { args: [`--host.sysfs=${sysfs}`, '--cpu.preferred-meters=rapl', ...ZERO_INTERVAL] });
    const garbage = (text: string) => () => {
      tree.advance([pkg]);
      tree.put(pkg, text);
    };
    const good = () => tree.advance();
    const steps: [string, () => void][] = [
      ['good', good],
      ['"abc"', garbage('abc\n')],
      ['good', good],
      ['"-5"', garbage('-5\n')],
      ['good', good],
      ['empty', garbage('')],
      ['good', good],
      [
        'directory',
        () => {
          tree.advance([pkg]);
          tree.putDir(pkg);
        },
      ],
      ['good', good],
      [
        'backwards',
        () => {
          tree.advance([pkg]);
          tree.set(pkg, (tree.counters.get(pkg) ?? 0) - 3_000_000);
        },
      ],
      ['good', good],
      [
        'vanished',
        () => {
          tree.advance([pkg]);
          tree.remove(pkg);
        },
      ],
      ['good', good],
      ['"12abc"', garbage('12abc\n')],
      ['good', good],
      ['"1e9"', garbage('1e9\n')],
      ['good', good],
      ['"0x10"', garbage('0x10\n')],
      ['good', good],
      ['good', good],
    ];
    const watch = new MonotonicWatch();
    const statuses: number[] = [];
    let last;
    for (const [label, step] of steps) {
      await sleep(150);
      step();
      const s = await scrape(exp.url);
      statuses.push(s.reply.status);
      if (s.exp) {
        watch.add(s.exp);
        last = s.exp;
      }
      note(`${statuses.length} scrapes, last step ${label}: ${s.reply.status}`);
    }
    const c = new Checks();
    c.add(
      statuses.every((x) => x === 200),
      `statuses ${histogram(statuses)}`,
    );
    c.add(exp.alive(), exp.alive() ? 'still running' : `${exp.describeExit()}: ${shorten(exp.lastLine())}`);
    c.add(watch.decreases === 0, watch.text());
    c.info(`errors: zone_read ${refreshErrors(last, 'zone_read')}, counter_backwards ${refreshErrors(last, 'counter_backwards')}`);
    return c.result();
  },
};

export const h3ForkStorm: Scenario = {
  name: 'H3',
  did: 'a pod container (kubepods/burstable/pod<uid>/<id>) runs 4 × `while :; do /bin/true; done`; exporter with interval 0s, staleness 0s, maxTerminated -1, threshold 0; one scrape a second',
  expected: 'every scrape 200; per zone and level, at every scrape, workloads + unattributed + dropped = active (see identity.ts)',
  limitSec: (o) => (o.quick ? 60 : 80),
  async run({ scope, quick, note }) {
    const { sysfs } = liveRapl(scope);
    const dir = scope.tmpdir();
    writeFileSync(join(dir, 'k.yaml'), 'monitor: {interval: 0s, staleness: 0s, maxTerminated: -1, minTerminatedEnergyThreshold: 0}\ncpu: {preferredMeters: [rapl]}\n');
    const exp = await startExporter(scope, { args: [`--config.file=${join(dir, 'k.yaml')}`, `--host.sysfs=${sysfs}`] });
    const parent = scenarioCgroupParent(scope);
    const pod = podCgroup(parent);
    const tally = new IdentityTally();
    tally.feed(0, (await scrape(exp.url)).exp);
    const pid0 = Number(readFileSync('/proc/sys/kernel/ns_last_pid', 'utf8'));
    const t0 = performance.now();
    runInCgroup(scope, pod.dir, 'for i in 1 2 3 4; do (while :; do /bin/true; done) & done; wait');
    const seconds = quick ? 12 : 20;
    const statuses: number[] = [];
    let wraps = 0;
    let lastPid = pid0;
    let forks = 0;
    let processSeries = 0;
    for (let i = 1; i <= seconds && !scope.closed; i++) {
      await sleep(1000);
      const s = await scrape(exp.url);
      const p = Number(readFileSync('/proc/sys/kernel/ns_last_pid', 'utf8'));
      forks += p >= lastPid ? p - lastPid : p + 32768 - lastPid;
      if (p < lastPid) wraps++;
      lastPid = p;
      statuses.push(s.reply.status);
      tally.feed(i, s.exp);
      if (s.exp) processSeries = Math.max(processSeries, select(s.exp, 'kepler_process_cpu_joules_total').length);
      note(`${i} scrapes, ${tally.text()}`);
    }
    const rate = forks / ((performance.now() - t0) / 1000);
    removeCgroupTree(pod.dir);
    const c = new Checks();
    c.add(
      statuses.every((x) => x === 200),
      `statuses ${histogram(statuses)}`,
    );
    c.add(rate > 100, `≈${rate.toFixed(0)} forks/s (pid wrapped ${wraps}×)`);
    c.add(tally.ok, tally.text());
    c.info(`up to ${processSeries} process series per scrape`);
    c.add(exp.alive(), exp.alive() ? 'exporter up' : exp.describeExit());
    return c.result();
  },
};

export const h4ParallelScrapes: Scenario = {
  name: 'H4',
  did: '2,350 parallel GET /metrics (or fd limit − 300) from one process, http.Agent maxSockets Infinity, no keep-alive',
  expected: 'all 200, process stays up, RSS after < RSS before + 100 MiB',
  limitSec: () => 180,
  async run({ scope, note }) {
    const { sysfs } = liveRapl(scope);
    const exp = await startExporter(scope, { args: [`--host.sysfs=${sysfs}`] });
    await scrape(exp.url);
    await sleep(600);
    await scrape(exp.url);
    await sleep(500);
    const before = exp.rssMiB() ?? NaN;
    const n = Math.min(2350, openFileLimit() - 300);
    const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, exp.rssMiB() ?? 0)), 200);
    const t0 = performance.now();
    note(`firing ${n} requests`);
    const replies = await Promise.all(Array.from({ length: n }, () => request(`${exp.url}/metrics`, { agent, timeoutMs: 120_000 })));
    const took = performance.now() - t0;
    clearInterval(sampler);
    agent.destroy();
    await sleep(1000);
    const after = exp.rssMiB() ?? NaN;
    const statuses = replies.map((r) => (r.status ? r.status : `error(${r.error?.slice(0, 30)})`));
    const c = new Checks();
    c.add(
      replies.every((r) => r.status === 200),
      `${n} requests in ${ms(took)}: ${histogram(statuses)}; latency median ${ms(median(replies.map((r) => r.ms)))}, max ${ms(max(replies.map((r) => r.ms)))}`,
    );
    const alive = exp.alive() && (await scrape(exp.url)).reply.status === 200;
    c.add(alive, alive ? 'still serving' : exp.describeExit());
    c.add(after < before + 100, `RSS ${MiB(before)} → ${MiB(after)} (peak ${MiB(peak)})`);
    return c.result();
  },
};

export const h5Slowloris: Scenario = {
  name: 'H5',
  did: '500 connections send a request line, then one header byte every 5 s; a normal scrape each second meanwhile',
  expected: 'every normal scrape 200 within 1 s',
  limitSec: (o) => (o.quick ? 60 : 90),
  async run({ scope, quick, note }) {
    const { sysfs } = liveRapl(scope);
    const exp = await startExporter(scope, { args: [`--host.sysfs=${sysfs}`] });
    const sockets: Socket[] = [];
    let closedByServer = 0;
    scope.defer('destroy slowloris sockets', () => sockets.forEach((s) => s.destroy()));
    for (let i = 0; i < 500; i++) {
      const s = connect(exp.port, '127.0.0.1');
      s.on('error', () => undefined);
      s.on('close', () => closedByServer++);
      s.on('connect', () => s.write('GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n'));
      sockets.push(s);
    }
    const drip = setInterval(() => sockets.forEach((s) => !s.destroyed && s.write('a')), 5000);
    scope.defer('stop the drip', () => clearInterval(drip));
    const seconds = quick ? 15 : 30;
    const lat: number[] = [];
    const statuses: number[] = [];
    await sleep(1000);
    for (let i = 0; i < seconds && !scope.closed; i++) {
      const s = await scrape(exp.url, { timeoutMs: 10_000 });
      lat.push(s.reply.ms);
      statuses.push(s.reply.status);
      note(`${i + 1} scrapes, max ${ms(max(lat))}`);
      await sleep(1000);
    }
    clearInterval(drip);
    const open = sockets.filter((s) => !s.destroyed).length;
    sockets.forEach((s) => s.destroy());
    const c = new Checks();
    c.add(statuses.every((x) => x === 200) && max(lat) < 1000, `${lat.length} scrapes during ${seconds} s: ${histogram(statuses)}, median ${ms(median(lat))}, max ${ms(max(lat))}`);
    c.info(`slow connections still open at the end ${open}/500 (closed by the server: ${closedByServer})`);
    c.add(exp.alive(), exp.alive() ? 'exporter up' : exp.describeExit());
    return c.result();
  },
};

export const h6Sigterm: Scenario = {
  name: 'H6',
  did: 'start the exporter, scrape, wait 1 s, SIGTERM',
  expected: 'exit 0 in < 0.5 s',
  limitSec: () => 40,
  async run({ scope }) {
    const { sysfs } = liveRapl(scope);
    const exp = await startExporter(scope, { args: [`--host.sysfs=${sysfs}`] });
    await scrape(exp.url);
    await sleep(1000);
    const t0 = performance.now();
    exp.signal('SIGTERM');
    const ex = await exp.waitExit(8000);
    const c = new Checks();
    if (!ex) {
      c.add(false, 'still running 8 s after SIGTERM');
      return c.result();
    }
    const took = ex.at - t0;
    c.add(ex.code === 0 && took < 500, `${exp.describeExit()} after ${ms(took)}`);
    return c.result();
  },
};

export const h7MemoryChurn: Scenario = {
  name: 'H7',
  did: '1,050 containers (docker-<id>.scope cgroups, one sleeping process each) created and removed in 7 waves of 150, two scrapes after each creation and removal',
  expected: 'every scrape 200; each wave seen; RSS at the end within +20 MiB of RSS after the first wave',
  limitSec: () => 300,
  async run({ scope, note }) {
    const { sysfs } = liveRapl(scope);
    const exp = await startExporter(scope, { args: [`--host.sysfs=${sysfs}`] });
    const parent = scenarioCgroupParent(scope);
    const statuses: number[] = [];
    const seen: number[] = [];
    let afterFirst = NaN;
    const scrapeTwice = async () => {
      let running = 0;
      for (let i = 0; i < 2; i++) {
        await sleep(700);
        const s = await scrape(exp.url);
        statuses.push(s.reply.status);
        if (s.exp) running = Math.max(running, select(s.exp, 'kepler_exporter_workloads', { level: 'container', state: 'running' })[0]?.value ?? 0);
      }
      return running;
    };
    for (let wave = 0; wave < 7 && !scope.closed; wave++) {
      const dirs: string[] = [];
      for (let i = 0; i < 150; i++) {
        const { dir } = dockerCgroup(parent);
        runInCgroup(scope, dir, 'exec sleep 3600');
        dirs.push(dir);
      }
      for (let t = 0; t < 100 && dirs.some((d) => cgroupPids(d).length === 0); t++) await sleep(100);
      seen.push(await scrapeTwice());
      for (const d of dirs) killCgroup(d);
      for (const d of dirs) removeCgroupTree(d);
      await scrapeTwice();
      if (wave === 0) afterFirst = exp.rssMiB() ?? NaN;
      note(`wave ${wave + 1}/7: ${seen.at(-1)} containers seen, RSS ${MiB(exp.rssMiB())}`);
    }
    await sleep(1500);
    statuses.push((await scrape(exp.url)).reply.status);
    const end = exp.rssMiB() ?? NaN;
    const c = new Checks();
    c.add(
      statuses.every((x) => x === 200),
      `${statuses.length} scrapes: ${histogram(statuses)}`,
    );
    c.add(
      seen.every((n) => n >= 150),
      `running containers seen per wave: ${seen.join(', ')}`,
    );
    c.add(end - afterFirst < 20, `RSS after wave 1 ${MiB(afterFirst)}, at the end ${MiB(end)} (${(end - afterFirst).toFixed(1)} MiB)`);
    c.add(exp.alive(), exp.alive() ? 'exporter up' : exp.describeExit());
    return c.result();
  },
};

export const h8ChurnSoak: Scenario = {
  name: 'H8',
  did: 'soak: containers (docker and pod cgroups, stress-ng 3-10 s at 30 %) and short processes coming and going, at most 4 containers at once; one scrape a second',
  expected: 'no scrape fails; no _joules_total series ever decreases; RSS growth over the second half < 10 MiB; refresh_errors{kind="refresh"} stays 0',
  limitSec: (o) => o.soakMinutes * 60 + 120,
  async run({ scope, soakMinutes, note }) {
    const { sysfs } = liveRapl(scope);
    const exp = await startExporter(scope, { args: [`--host.sysfs=${sysfs}`] });
    const parent = scenarioCgroupParent(scope);
    const durationMs = soakMinutes * 60_000;
    const t0 = performance.now();
    const watch = new MonotonicWatch();
    const statuses: (number | string)[] = [];
    const rss: { t: number; v: number }[] = [];
    let refreshErr = 0;
    let maxRefreshErr = 0;
    let started = 0;
    let procs = 0;
    const alive = new Set<string>();
    let nextChurn = 0;
    while (performance.now() - t0 < durationMs && !scope.closed) {
      const now = performance.now() - t0;
      if (now >= nextChurn) {
        nextChurn = now + 1500;
        if (alive.size < 4) {
          const where = started % 2 === 0 ? dockerCgroup(parent).dir : podCgroup(parent).dir;
          const secs = 3 + Math.floor(Math.random() * 8);
          const child = runInCgroup(scope, where, `stress-ng --cpu 1 --cpu-load 30 --timeout ${secs}s -q; sleep 0.2`);
          alive.add(where);
          started++;
          child.on('exit', () => {
            removeCgroupTree(where);
            alive.delete(where);
          });
        }
        scope.spawn('sh', ['-c', 'i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done']);
        procs++;
      }
      const s = await scrape(exp.url, { timeoutMs: 10_000 });
      statuses.push(s.reply.status || 'error');
      if (s.exp) {
        watch.add(s.exp);
        refreshErr = refreshErrors(s.exp, 'refresh') ?? 0;
        maxRefreshErr = Math.max(maxRefreshErr, refreshErr);
      }
      const r = exp.rssMiB();
      if (r !== undefined) rss.push({ t: performance.now() - t0, v: r });
      if (statuses.length % 10 === 0) note(`${statuses.length} scrapes, ${started} containers, RSS ${MiB(r)}, ${watch.text()}`);
      await sleep(1000);
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
    const mid = rss.filter((x) => Math.abs(x.t - durationMs / 2) < 3000).map((x) => x.v);
    const last = rss.slice(-5).map((x) => x.v);
    const growth = mean(last) - mean(mid);
    const c = new Checks();
    c.add(
      statuses.every((x) => x === 200),
      `${statuses.length} scrapes: ${histogram(statuses)}`,
    );
    c.add(watch.decreases === 0, watch.text());
    c.add(rss.length > 10 && growth < 10, `RSS mid ${MiB(mean(mid))} → end ${MiB(mean(last))} (${growth.toFixed(1)} MiB; first ${MiB(rss[0]?.v)})`);
    c.add(maxRefreshErr === 0, `refresh errors ${maxRefreshErr}`);
    c.info(`${started} containers, ${procs} short processes over ${(durationMs / 60000).toFixed(0)} min`);
    c.add(exp.alive(), exp.alive() ? 'exporter up' : exp.describeExit());
    return c.result();
  },
};

export const HELD: Scenario[] = [h1BadConfig, h2HostileMeter, h3ForkStorm, h4ParallelScrapes, h5Slowloris, h6Sigterm, h7MemoryChurn, h8ChurnSoak];
