// End to end in a real browser: headless Chromium (the Debian package, driven by puppeteer-core)
// loads the live page from the real exporter, which reads a RAPL sysfs tree advancing with the
// real CPU work and real cgroups named as containerd names them: one container busy with
// stress-ng, one idle. The test reads the rendered DOM (the charts drawn, the busy container above
// the idle one in the containers' table, the unattributed row), checks that no request leaves the
// exporter and nothing is logged as an error, prints the load time, and takes a 1280x800
// screenshot (to $KEPLER_SCREENSHOT when set, e.g. docs/page.png for the README). Two more
// exporters: one estimating power (the banner names the model), one behind basic auth.
//
// The exporter reads the host's real cgroups, so containers of tests running beside this one may
// come and go in the table: the test asserts only the order of its own containers, and compares
// what the page shows with what the same snapshot drew, never with a second request.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import type { ApiSnapshot } from '../../src/exporter/web/apiTypes.js';
import { randomHex, randomUid } from '../../harness/ids.js';
import {
  cgroupV2Root,
  CGROUP_ROOT,
  freePort,
  removeCgroups,
  requireCommand,
  runInCgroup,
  startExporter,
  stopInCgroup,
  type CgroupProcess,
  type Exporter,
} from '../support/processes.js';
import { RaplTree } from '../support/raplTree.js';

// The browser's globals as the functions run in the page use them. This project compiles for Node
// (no DOM lib); declared here, they stay local to this file. (Casts to El, not helper functions: the
// functions are serialized and run in the page, where this file's functions do not exist.)
interface El {
  dataset: Record<string, string | undefined>;
  textContent: string | null;
  children: { length: number };
  querySelector(selector: string): El | null;
  querySelectorAll(selector: string): ArrayLike<El>;
  width?: number;
  height?: number;
}
declare const document: { body: El; querySelector(selector: string): El | null; querySelectorAll(selector: string): ArrayLike<El> };
declare const location: { hash: string };

const CHROMIUM = '/usr/bin/chromium';
const VIEWPORT = { width: 1280, height: 800 };

/** What a page did while the test looked: every request's URL and every error it logged. */
interface Recorded {
  requests: string[];
  errors: string[];
}

async function openPage(browser: Browser, auth?: { username: string; password: string }): Promise<{ page: Page; recorded: Recorded }> {
  const page = await browser.newPage();
  await page.setViewport(VIEWPORT);
  if (auth) await page.authenticate(auth);
  const recorded: Recorded = { requests: [], errors: [] };
  page.on('request', (r) => recorded.requests.push(r.url()));
  page.on('console', (m) => {
    if (m.type() === 'error') recorded.errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => recorded.errors.push(`page: ${e instanceof Error ? e.message : String(e)}`));
  page.on('requestfailed', (r) => {
    const reason = r.failure()?.errorText ?? '';
    // The page aborts its own requests (a timeout on a busy machine, a navigation away): not an error.
    if (reason === 'net::ERR_ABORTED' && r.url().startsWith(new URL(page.url()).origin)) return;
    recorded.errors.push(`request failed: ${r.url()} ${reason}`);
  });
  return { page, recorded };
}

/** Loads the page and waits until it has drawn its first snapshot and history; returns the load times, ms. */
async function load(page: Page, url: string): Promise<{ loadMs: number; readyMs: number }> {
  const start = Date.now();
  const res = await page.goto(url, { waitUntil: 'load' });
  const loadMs = Date.now() - start;
  assert.equal(res?.status(), 200);
  await page.waitForSelector('body[data-live="ready"]', { timeout: 20_000 });
  // data-ready-ms: the page's own clock (performance.now(), from the navigation's start).
  return { loadMs, readyMs: await page.evaluate(() => Number(document.body.dataset.readyMs)) };
}

/** Every request went to the exporter (`data:` URLs are the empty favicon, which is no request at all). */
function assertOnlyOrigin(recorded: Recorded, origin: string): void {
  const away = recorded.requests.filter((u) => !u.startsWith(`${origin}/`) && !u.startsWith('data:'));
  assert.deepEqual(away, [], 'requests that left the exporter');
  assert.ok(recorded.requests.some((u) => u.includes('/api/v1/snapshot')) && recorded.requests.some((u) => u.includes('/api/v1/history')), recorded.requests.join('\n'));
}

describe('the live page in headless Chromium', { timeout: 240_000 }, () => {
  const v2 = cgroupV2Root();
  const tmp = mkdtempSync(join(tmpdir(), 'kepler-page-'));
  const sysfs = join(tmp, 'sys');
  const pod = randomUid();
  const podSlice = join(v2, 'kubepods.slice', 'kubepods-besteffort.slice', `kubepods-besteffort-pod${pod.replace(/-/g, '_')}.slice`);
  const ids = { busy: randomHex(64), idle: randomHex(64), hostile: randomHex(64) };
  const containers: CgroupProcess[] = [];
  const exporters: Exporter[] = [];
  let tree: RaplTree;
  let browser: Browser;

  before(async () => {
    requireCommand('stress-ng');
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium (scripts/test.sh does)`);
    mkdirSync(join(sysfs, 'fs'), { recursive: true });
    symlinkSync(CGROUP_ROOT, join(sysfs, 'fs', 'cgroup'));
    tree = new RaplTree(sysfs, [
      { dir: 'intel-rapl:0', name: 'package-0', zone: 'package', idleWatts: 18, maxWatts: 65, maxRangeUj: 262_143_328_850 },
      { dir: 'intel-rapl:0:2', name: 'dram', zone: 'dram', idleWatts: 4, maxWatts: 9, maxRangeUj: 65_712_999_613 },
    ]);
    // Two containers of one pod, as containerd names them under the systemd cgroup driver.
    const busyDir = join(podSlice, `cri-containerd-${ids.busy}.scope`);
    containers.push(runInCgroup(busyDir, 'exec stress-ng --cpu 1 --cpu-method int64 --timeout 300 -q', { CONTAINER_NAME: 'busy-worker' }));
    containers.push(runInCgroup(join(podSlice, `cri-containerd-${ids.idle}.scope`), 'exec sleep 300', { CONTAINER_NAME: 'idle-sidecar' }));
    tree.start(100);
    tree.resume();
    browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  });

  after(async () => {
    await browser?.close();
    tree?.stop();
    for (const e of exporters) if (e.child.exitCode === null) e.child.kill('SIGKILL');
    for (const c of containers) stopInCgroup(c);
    await removeCgroups([...containers.map((c) => c.dir), podSlice, dirname(podSlice), dirname(dirname(podSlice))]);
    rmSync(tmp, { recursive: true, force: true });
  });

  async function exporter(args: string[]): Promise<Exporter> {
    const port = await freePort();
    const e = await startExporter([...args, '--monitor.interval=1s', `--web.listen-address=127.0.0.1:${port}`], port);
    exporters.push(e);
    return e;
  }

  describe('on a RAPL meter with containers', () => {
    let e: Exporter;
    let page: Page;
    let recorded: Recorded;
    let times: { loadMs: number; readyMs: number };

    before(async () => {
      // The tree's idle watts: the exporter would otherwise learn an idle baseline under stress-ng's load.
      e = await exporter([`--host.sysfs=${sysfs}`, '--cpu.preferred-meters=rapl', '--kube.node-name=worker-1', '--monitor.idle.watts=package=18', '--monitor.idle.watts=dram=4']);
      // History points are at least 3 s apart: let a few gather before the page asks for them.
      await new Promise((r) => setTimeout(r, 12_000));
      ({ page, recorded } = await openPage(browser));
      times = await load(page, `${e.url}/`);
      console.log(`# page loaded in ${times.loadMs} ms; first figures and charts drawn at ${times.readyMs} ms`);
    });

    after(async () => {
      await page?.close();
    });

    it('serves the shell with its CSP, and the bundle with ETags', async () => {
      const shell = await fetch(`${e.url}/`);
      assert.match(shell.headers.get('content-security-policy') ?? '', /default-src 'self'/);
      const js = await fetch(`${e.url}/assets/app.js`);
      assert.equal(js.status, 200);
      assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8');
      const again = await fetch(`${e.url}/assets/app.js`, { headers: { 'if-none-match': js.headers.get('etag') ?? '' } });
      assert.equal(again.status, 304);
    });

    it('draws a chart per zone with points, and the workloads chart', async () => {
      await page.waitForFunction(() => Number(document.querySelector('[data-chart="zone:package"]')?.dataset.points) >= 3, { timeout: 20_000 });
      const charts = await page.$$eval('figure[data-chart]', (figs) =>
        (figs as unknown as El[]).map((f) => {
          const canvas = f.querySelector('canvas');
          return { key: f.dataset.chart, points: Number(f.dataset.points), width: canvas?.width ?? 0, height: canvas?.height ?? 0 };
        }),
      );
      assert.deepEqual(charts.map((c) => c.key).sort(), ['workloads', 'zone:dram', 'zone:package']);
      for (const c of charts) {
        assert.ok(c.width > 100 && c.height > 50, `${c.key}: a canvas of ${c.width}x${c.height}`);
        assert.ok(c.points >= 3, `${c.key}: ${c.points} points`);
      }
      const figures = await page.$$eval('[data-figure]', (list) => (list as unknown as El[]).map((f) => f.dataset.figure));
      assert.deepEqual(figures, ['node', 'zone:package', 'zone:dram']);
    });

    it('opens the containers tab, with the busy container above the idle one and the unattributed row last', async () => {
      assert.equal(await page.$eval('#workloads', (e) => (e as unknown as El).dataset.level), 'container', 'containers run: their tab opens');
      // Other tests' containers may share the table (and outdraw the idle one): only the order of
      // this test's own is asserted. Stress-ng takes its interval or two to count.
      await page.waitForFunction(
        (busy, idle) => {
          const rows = document.querySelectorAll('#workloads tbody tr[data-kind="workload"]');
          const ids = Array.from(rows, (tr) => tr.dataset.id);
          const b = ids.indexOf(busy);
          const i = ids.indexOf(idle);
          return b >= 0 && (i < 0 || b < i);
        },
        { timeout: 20_000 },
        ids.busy,
        ids.idle,
      );
      const table = await page.$eval('#workloads', (w) => {
        const el = w as unknown as El;
        return {
          rows: Array.from(el.querySelectorAll('tbody tr'), (tr) => ({
            kind: tr.dataset.kind,
            level: tr.dataset.level,
            id: tr.dataset.id,
            name: tr.querySelector('.workload')?.textContent,
            watts: tr.querySelector('.watts')?.textContent,
          })),
          summary: el.querySelector('.panel-sub')?.textContent ?? '',
          tab: el.querySelector('button[data-level="container"] .count')?.textContent ?? '',
        };
      });
      const ours = table.rows.filter((r) => r.id === ids.busy || r.id === ids.idle || r.id === ids.hostile);
      assert.equal(ours[0]?.id, ids.busy, "the busy container first among the test's own");
      assert.equal(ours[0].name, 'busy-worker');
      assert.equal(ours[0].level, 'container');
      assert.match(ours[0].watts ?? '', /^[\d.]+ k?W$/);
      assert.equal(table.rows[table.rows.length - 1].kind, 'unattributed');
      // The count as the page's own snapshot drew it, in the summary and on the tab alike: both containers at least.
      const count = Number(/^(\d+) running/.exec(table.summary)?.[1]);
      assert.ok(count >= 2, `${table.summary}: the test's two containers at least`);
      assert.equal(table.tab, String(count), `the tab's count and the summary's, of one snapshot: ${table.tab} / ${table.summary}`);
    });

    it('takes a screenshot at 1280x800', async () => {
      // Half a minute of history (points are 3 s apart), for a picture worth looking at.
      await page.waitForFunction(() => Number(document.querySelector('[data-chart="zone:package"]')?.dataset.points) >= 10, { timeout: 40_000 });
      const path = resolve(process.env.KEPLER_SCREENSHOT ?? join(tmp, 'page.png'));
      mkdirSync(dirname(path), { recursive: true });
      await page.screenshot({ path, type: 'png' });
      assert.ok(readFileSync(path).subarray(1, 4).toString() === 'PNG', `${path} is a PNG`);
      console.log(`# screenshot: ${path}`);
    });

    it('switches tabs and keeps the tab in the URL', async () => {
      await page.click('#workloads button[data-level="process"]');
      assert.equal(await page.evaluate(() => location.hash), '#process');
      assert.equal(await page.$eval('#workloads', (e) => (e as unknown as El).dataset.level), 'process');
      // A link naming a tab opens it: loaded afresh in a new page, not a fragment change of this one.
      const fresh = await openPage(browser);
      try {
        await load(fresh.page, `${e.url}/#vm`);
        assert.equal(await fresh.page.$eval('#workloads', (e) => (e as unknown as El).dataset.level), 'vm');
        assert.equal(await fresh.page.$eval('[data-chart="workloads"]', (e) => (e as unknown as El).dataset.level), 'vm');
        assertOnlyOrigin(fresh.recorded, e.url);
        assert.deepEqual(fresh.recorded.errors, []);
      } finally {
        await fresh.page.close();
      }
    });

    it('asked nothing of any other origin, and logged no error', () => {
      assertOnlyOrigin(recorded, e.url);
      assert.deepEqual(recorded.errors, []);
    });
  });

  describe('estimating power', () => {
    it('shows the estimate banner with the model', async () => {
      const empty = join(tmp, 'empty-sys');
      mkdirSync(join(empty, 'fs'), { recursive: true });
      symlinkSync(CGROUP_ROOT, join(empty, 'fs', 'cgroup'));
      const e = await exporter([`--host.sysfs=${empty}`, '--cpu.preferred-meters=rapl']);
      const { page, recorded } = await openPage(browser);
      try {
        await load(page, `${e.url}/`);
        const snapshot = (await (await fetch(`${e.url}/api/v1/snapshot`)).json()) as ApiSnapshot;
        assert.equal(snapshot.meter.estimated, true);
        const banner = await page.$eval('#banners [data-banner="estimate"]', (e) => (e as unknown as El).textContent ?? '');
        assert.match(banner, /^Power is estimated, not measured\./);
        assert.ok(snapshot.meter.model && banner.includes(snapshot.meter.model), `the banner names the model ${snapshot.meter.model}: ${banner}`);
        assert.match(await page.$eval('#meter-name', (e) => (e as unknown as El).textContent ?? ''), /estimated/);
        assertOnlyOrigin(recorded, e.url);
        assert.deepEqual(recorded.errors, []);
      } finally {
        await page.close();
      }
    });
  });

  describe('behind basic auth', () => {
    it('asks for credentials for the page, its assets and its API, and works with them', async () => {
      // A container whose name is markup: it must show as text.
      containers.push(
        runInCgroup(join(podSlice, `cri-containerd-${ids.hostile}.scope`), 'exec sleep 300', { CONTAINER_NAME: '<img src=x onerror="document.body.dataset.pwned=1">' }),
      );
      const webConfig = join(tmp, 'web.yml');
      writeFileSync(webConfig, `basic_auth_users:\n  viewer: ${bcrypt.hashSync('right-password', 4)}\n`);
      const e = await exporter(['--cpu.preferred-meters=fake', `--web.config-file=${webConfig}`]);
      for (const path of ['/', '/assets/app.js', '/assets/app.css', '/api/v1/snapshot', '/api/v1/history']) {
        assert.equal((await fetch(`${e.url}${path}`)).status, 401, path);
      }
      const { page, recorded } = await openPage(browser, { username: 'viewer', password: 'right-password' });
      try {
        await load(page, `${e.url}/#container`);
        await page.waitForFunction((id) => document.querySelector(`#workloads tr[data-id="${id}"]`) !== null, { timeout: 20_000 }, ids.hostile);
        const name = await page.$eval(`#workloads tr[data-id="${ids.hostile}"] .workload`, (e) => ({
          text: (e as unknown as El).textContent,
          children: (e as unknown as El).children.length,
        }));
        assert.deepEqual(name, { text: '<img src=x onerror="document.body.dataset.pwned=1">', children: 0 });
        assert.equal(await page.evaluate(() => document.body.dataset.pwned), undefined);
        // The zone charts come with the first history point (the fake meter's zones).
        await page.waitForSelector('figure[data-chart^="zone:"] canvas', { timeout: 20_000 });
        assertOnlyOrigin(recorded, e.url);
        assert.deepEqual(recorded.errors, []);
      } finally {
        await page.close();
      }
    });
  });
});
