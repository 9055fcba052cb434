// The live page's server side (the shell at `/`, the bundle's assets with ETags and gzip) on a
// real HTTP server, and the page's pure functions (web/page/: formatting, what to show, merging
// the history), which need no browser. The page in a browser is test/e2e/page.test.ts.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, test, type TestContext } from 'node:test';
import type { ApiHistory, ApiHistoryPoint, ApiLevelName, ApiSnapshot } from '../../src/exporter/web/apiTypes.js';
import { LANDING_PAGE_CSP, landingPageHandler, renderLandingPage, type LandingInfo } from '../../src/server/landingPage.js';
import { DEFAULT_PAGE_DIR, loadPageAssets, matchesEtag, type PageAssets } from '../../src/server/pageAssets.js';
import type { Handler } from '../../src/server/webServer.js';
import { Poller } from '../../web/page/api.js';
import { backoffMs, banners, chartIds, defaultLevel, figures, healthBadge, levelFromHash, pollIntervalMs, shareOf } from '../../web/page/derive.js';
import { formatAge, formatCores, formatDuration, formatJoules, formatPercent, formatWatts, zoneLabel, zoneNames } from '../../web/page/format.js';
import { gpuSeries, layoutKey, mergeHistory, platformSeries, sinceOf, spanSec, timesSec, topOverWindow, workloadSeries, zoneSeries } from '../../web/page/history.js';

// ---------- a server for handlers ----------

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** Serves `routes` by exact path (404 otherwise) on 127.0.0.1; close() when done. */
async function serve(
  routes: { path: string; handler: Handler }[],
): Promise<{ get: (path: string, headers?: Record<string, string>, method?: string) => Promise<Answer>; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    const route = routes.find((r) => r.path === (req.url ?? '/').split('?')[0]);
    if (!route) {
      res.writeHead(404).end();
      return;
    }
    void route.handler(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  // node:http rather than fetch: fetch would ask for gzip itself and hide the encoding.
  const get = (path: string, headers: Record<string, string> = {}, method = 'GET') =>
    new Promise<Answer>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path, method, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      });
      req.on('error', reject);
      req.end();
    });
  return { get, close: () => new Promise((r) => server.close(() => r())) };
}

// ---------- page assets ----------

describe('page assets (/assets/app.js, /assets/app.css)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kepler-ts-page-'));
  const script = `(()=>{document.title="x"})();\n${'// padding so gzip has something to do\n'.repeat(50)}`;
  let assets: PageAssets;
  let server: Awaited<ReturnType<typeof serve>>;

  before(async () => {
    writeFileSync(join(dir, 'app.js'), script);
    writeFileSync(join(dir, 'app.css'), 'body{margin:0}\n');
    writeFileSync(join(dir, 'NOTICES'), 'uplot 1.6.32 (MIT)\n');
    assets = loadPageAssets(dir);
    server = await serve(assets.routes);
  });
  after(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('loads the script, the stylesheet and the notices, and says the live view is available', () => {
    assert.equal(assets.available, true);
    assert.equal(assets.problem, undefined);
    assert.deepEqual(assets.routes.map((r) => r.path).sort(), ['/assets/NOTICES', '/assets/app.css', '/assets/app.js']);
  });

  test('answers the bytes with their type, nosniff, a strong ETag and no-cache, without gzip unless asked', async () => {
    const js = await server.get('/assets/app.js');
    assert.equal(js.status, 200);
    assert.equal(js.body.toString(), script);
    assert.equal(js.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal(js.headers['x-content-type-options'], 'nosniff');
    assert.equal(js.headers['cache-control'], 'no-cache');
    assert.equal(js.headers['content-encoding'], undefined);
    assert.equal(js.headers['content-length'], String(Buffer.byteLength(script)));
    assert.equal(js.headers.vary, 'Accept-Encoding');
    assert.match(js.headers.etag ?? '', /^"[A-Za-z0-9_-]{27}"$/, 'a strong ETag: quoted, no W/');
    const css = await server.get('/assets/app.css');
    assert.equal(css.headers['content-type'], 'text/css; charset=utf-8');
    assert.equal(css.body.toString(), 'body{margin:0}\n');
    assert.notEqual(css.headers.etag, js.headers.etag);
    assert.equal((await server.get('/assets/NOTICES')).headers['content-type'], 'text/plain; charset=utf-8');
  });

  test('gzips when Accept-Encoding rates gzip above 0 and at least as high as identity, with its own ETag', async () => {
    const plain = await server.get('/assets/app.js');
    const gz = await server.get('/assets/app.js', { 'accept-encoding': 'gzip, deflate, br' });
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.equal(gunzipSync(gz.body).toString(), script);
    assert.ok(gz.body.length < plain.body.length, `gzip ${gz.body.length} B < ${plain.body.length} B`);
    assert.notEqual(gz.headers.etag, plain.headers.etag, 'the gzip bytes are another representation');
    for (const [header, gzip] of [
      ['gzip;q=0', false],
      ['identity;q=1, gzip;q=0.5', false],
      ['*', true],
      ['br', false],
      ['gzip;q=0.5, identity;q=0.5', true],
    ] as const) {
      const r = await server.get('/assets/app.css', { 'accept-encoding': header });
      assert.equal(r.headers['content-encoding'] === 'gzip', gzip, `Accept-Encoding: ${header}`);
    }
  });

  test('answers 304 without a body to If-None-Match naming the representation it would send', async () => {
    const plain = await server.get('/assets/app.js');
    const gz = await server.get('/assets/app.js', { 'accept-encoding': 'gzip' });
    const etag = plain.headers.etag ?? '';
    for (const inm of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
      const r = await server.get('/assets/app.js', { 'if-none-match': inm });
      assert.equal(r.status, 304, `If-None-Match: ${inm}`);
      assert.equal(r.body.length, 0);
      assert.equal(r.headers.etag, etag);
    }
    assert.equal((await server.get('/assets/app.js', { 'if-none-match': '"other"' })).status, 200);
    // The gzip tag does not validate the identity bytes, nor the other way round.
    assert.equal((await server.get('/assets/app.js', { 'if-none-match': gz.headers.etag ?? '' })).status, 200);
    assert.equal((await server.get('/assets/app.js', { 'if-none-match': gz.headers.etag ?? '', 'accept-encoding': 'gzip' })).status, 304);
  });

  test('HEAD answers the headers without the body', async () => {
    const r = await server.get('/assets/app.css', {}, 'HEAD');
    assert.equal(r.status, 200);
    assert.equal(r.body.length, 0);
    assert.equal(r.headers['content-length'], '15');
  });

  test('If-None-Match compares weakly and understands lists and *', () => {
    assert.equal(matchesEtag(undefined, '"a"'), false);
    assert.equal(matchesEtag('"a"', '"a"'), true);
    assert.equal(matchesEtag('W/"a"', '"a"'), true);
    assert.equal(matchesEtag(' "b" ,  "a" ', '"a"'), true);
    assert.equal(matchesEtag('"b"', '"a"'), false);
    assert.equal(matchesEtag('*', '"a"'), true);
  });

  test('a missing bundle is not an error: not available, no routes, and a reason to log', () => {
    const empty = mkdtempSync(join(tmpdir(), 'kepler-ts-page-empty-'));
    try {
      const none = loadPageAssets(join(empty, 'nothing-here'));
      assert.equal(none.available, false);
      assert.deepEqual(none.routes, []);
      assert.match(none.problem ?? '', /not built.*app\.js.*ENOENT.*npm run build/);
      // The script without its stylesheet is not a page either; NOTICES alone is optional.
      writeFileSync(join(empty, 'app.js'), 'x');
      assert.equal(loadPageAssets(empty).available, false);
      writeFileSync(join(empty, 'app.css'), 'y');
      const both = loadPageAssets(empty);
      assert.equal(both.available, true);
      assert.deepEqual(both.routes.map((r) => r.path).sort(), ['/assets/app.css', '/assets/app.js']);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  test('by default it reads dist/page/, where npm run build puts the bundle', () => {
    assert.match(DEFAULT_PAGE_DIR, /[/\\]dist[/\\]page[/\\]?$/);
    if (existsSync(join(DEFAULT_PAGE_DIR, 'app.js'))) assert.equal(loadPageAssets().available, true);
  });
});

// ---------- the shell ----------

const INFO: LandingInfo = {
  version: '1.2.3',
  nodeName: 'node-<b>1</b>',
  meter: 'rapl',
  zones: [{ name: 'package', path: '/sys/class/powercap/intel-rapl:0' }],
  endpoints: [
    { path: '/metrics', description: 'Prometheus metrics' },
    { path: '/probe/readyz', description: "Kepler's readiness probe" },
  ],
  liveView: true,
};

describe('the shell at /', () => {
  test('escapes everything it was given', () => {
    const html = renderLandingPage({
      ...INFO,
      nodeName: '<script>alert(1)</script>',
      meter: 'x" onload="y',
      estimateNotice: "<img src=x onerror='z'>",
      zones: [{ name: '<i>', path: '&path' }],
      endpoints: [{ path: '/a"b', description: '<u>d</u>' }],
    });
    assert.doesNotMatch(html, /<script>alert|<img|<i>|<u>|onload="y/);
    assert.match(html, /&#60;script&#62;alert\(1\)&#60;\/script&#62;/);
    assert.match(html, /&#38;path/);
    assert.match(html, /href="\.\/a&#34;b"/);
  });

  test('says power is estimated, with the notice, only when it is', () => {
    const estimated = renderLandingPage({ ...INFO, estimateNotice: 'from CPU usage with the kts-specpower model' });
    assert.match(estimated, /<b>Power is estimated, not measured\.<\/b> from CPU usage with the kts-specpower model/);
    assert.match(estimated, /data-banner="estimate"/);
    assert.doesNotMatch(renderLandingPage(INFO), /estimated/);
  });

  test('lists the zones and the endpoints, /probe/readyz included, with relative links', () => {
    const html = renderLandingPage(INFO);
    assert.match(html, /<a href="\.\/metrics">\/metrics<\/a>: Prometheus metrics/);
    assert.match(html, /<a href="\.\/probe\/readyz">\/probe\/readyz<\/a>/);
    assert.match(html, /<code>package<\/code> from <code>\/sys\/class\/powercap\/intel-rapl:0<\/code>/);
    assert.match(html, /<title>kepler-ts · node-&#60;b&#62;1&#60;\/b&#62;<\/title>/);
  });

  test('loads the bundle by relative URLs, with no inline script or style, and holds the containers the script fills', () => {
    const html = renderLandingPage(INFO);
    assert.match(html, /<link rel="stylesheet" href="assets\/app\.css">/);
    assert.match(html, /<script defer src="assets\/app\.js"><\/script>/);
    assert.equal(html.match(/<script/g)?.length, 1, 'one script element, with src');
    assert.doesNotMatch(html, /<style|\sstyle=|\son[a-z]+=/i, 'nothing the CSP would block');
    assert.doesNotMatch(html, /(src|href)="\/[^/]/, 'no absolute paths: a reverse proxy prefix must be kept');
    for (const id of ['node-name', 'meter-name', 'version', 'health', 'updated', 'banners', 'live-status', 'figures', 'power', 'workloads']) {
      assert.match(html, new RegExp(`id="${id}"`), `#${id}`);
    }
    assert.match(html, /<body data-live="loading">/);
  });

  test('without the bundle it loads no script and says the live view is not built', () => {
    for (const info of [
      { ...INFO, liveView: false },
      { ...INFO, liveView: undefined },
    ]) {
      const html = renderLandingPage(info);
      assert.doesNotMatch(html, /<script|<link rel="stylesheet"/);
      assert.match(html, /live view is not built/);
      assert.match(html, /<body data-live="unavailable">/);
      assert.match(html, /\/probe\/readyz/);
    }
  });

  test('is served with its CSP: only its own origin, no inline script or style', async () => {
    assert.match(LANDING_PAGE_CSP, /default-src 'self'/);
    assert.match(LANDING_PAGE_CSP, /script-src 'self'(;|$)/);
    assert.match(LANDING_PAGE_CSP, /frame-ancestors 'none'/);
    assert.doesNotMatch(LANDING_PAGE_CSP, /unsafe|\*|https?:/);
    const server = await serve([{ path: '/', handler: landingPageHandler(INFO) }]);
    try {
      const r = await server.get('/');
      assert.equal(r.status, 200);
      assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
      assert.equal(r.headers['content-security-policy'], LANDING_PAGE_CSP);
      assert.equal(r.headers['x-content-type-options'], 'nosniff');
      assert.equal(r.body.toString(), renderLandingPage(INFO));
      assert.equal(r.headers['content-length'], String(r.body.length));
    } finally {
      await server.close();
    }
  });
});

// ---------- the page's pure functions ----------

function snapshot(over: Partial<ApiSnapshot> = {}): ApiSnapshot {
  const level = (count: number) => ({ count, watts: 0, unattributedWatts: 1, top: [] });
  return {
    nodeName: 'n1',
    version: '1',
    meter: { name: 'rapl', estimated: false },
    health: { status: 'ok', failingZones: [], failingPlatform: [] },
    seq: 3,
    timestampMs: 1_700_000_000_000,
    intervalSec: 1,
    refreshIntervalSec: 1,
    usageRatio: 0.25,
    headlineZones: ['package', 'dram'],
    watts: 40,
    zones: [
      { name: 'package', index: 0, path: 'p', watts: 30, activeWatts: 10, idleWatts: 20, joules: 300 },
      { name: 'dram', index: 0, path: 'd', watts: 10, activeWatts: 2, idleWatts: 8, joules: 100 },
    ],
    gpus: [],
    platform: [],
    levels: { process: level(40), container: level(0), pod: level(0), vm: level(0) },
    ...over,
  };
}

describe('the page: formatting', () => {
  test('watts, joules, cores and percentages with three significant digits at most', () => {
    assert.deepEqual([0, 0.001, 4.271, 42.71, 427.1, 4271, -3, NaN].map(formatWatts), ['0 W', '0 W', '4.27 W', '42.7 W', '427 W', '4.27 kW', '-3 W', '–']);
    assert.deepEqual([0, 950, 12_345, 4.56e6, 1.234e9].map(formatJoules), ['0 J', '950 J', '12.3 kJ', '4.56 MJ', '1.23 GJ']);
    assert.deepEqual([0, 0.001, 0.05, 1.98, 12.44].map(formatCores), ['0', '0', '0.05', '1.98', '12.4']);
    assert.deepEqual([0, 0.004, 0.25, 0.999].map(formatPercent), ['0 %', '0.4 %', '25 %', '100 %']);
  });

  test('durations and ages, coarse', () => {
    assert.deepEqual([0, 42, 89, 90, 900, 3900, 7200, 200_000].map(formatDuration), ['0 s', '42 s', '89 s', '2 min', '15 min', '1 h 5 min', '2 h', '2 d']);
    assert.equal(formatAge(0.4), 'just now');
    assert.equal(formatAge(5), '5 s ago');
  });

  test('zones as a person reads them, with their index when the name repeats', () => {
    assert.equal(zoneLabel('package'), 'CPU package');
    assert.equal(zoneLabel('dram'), 'DRAM');
    assert.equal(zoneLabel('mystery'), 'mystery');
    assert.deepEqual(
      zoneNames([
        { name: 'package', index: 0 },
        { name: 'power1', index: 1 },
        { name: 'power1', index: 2 },
        { name: 'x', index: 0 },
        { name: 'x', index: 0 },
      ]),
      [
        { key: 'package', label: 'CPU package' },
        { key: 'power1#1', label: 'power1 #1' },
        { key: 'power1#2', label: 'power1 #2' },
        { key: 'x#0', label: 'x #0' },
        { key: 'x#0.4', label: 'x #0' },
      ],
    );
  });
});

describe('the page: what it shows and how often it asks', () => {
  test('polls at the refresh interval, within 1 to 5 s, and backs off to 30 s while failing', () => {
    assert.deepEqual([0, 0.2, 1, 2.5, 5, 60, undefined, NaN].map(pollIntervalMs), [1000, 1000, 1000, 2500, 5000, 5000, 1000, 1000]);
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5, 6, 100].map((f) => backoffMs(f, 1000)),
      [1000, 1000, 2000, 4000, 8000, 16000, 30000, 30000],
    );
    assert.equal(backoffMs(2, 5000), 10000);
  });

  test('the tab: the URL hash when it names a level, else containers when any run, else processes', () => {
    assert.equal(levelFromHash('#container'), 'container');
    assert.equal(levelFromHash('#VM'), 'vm');
    assert.equal(levelFromHash('#nothing'), undefined);
    assert.equal(levelFromHash(''), undefined);
    assert.equal(defaultLevel(snapshot()), 'process');
    const s = snapshot();
    s.levels.container.count = 2;
    assert.equal(defaultLevel(s), 'container');
  });

  test('banners: the exporter not answering (since when), failing health, platform sources without readings, estimated power with its model', () => {
    assert.deepEqual(banners(snapshot(), {}, 0), []);
    const estimated = snapshot({ meter: { name: 'estimator', estimated: true, model: 'kts-specpower', notice: 'from CPU usage.' } });
    const [b] = banners(estimated, {}, 0);
    assert.equal(b.kind, 'estimate');
    assert.equal(b.title, 'Power is estimated, not measured.');
    assert.equal(b.text, 'Model: kts-specpower. From CPU usage.');
    // The exporter's notice names the model already: said once.
    const named = snapshot({ meter: { name: 'estimator', estimated: true, model: 'kts-specpower', notice: 'Model kts-specpower for 2 x Xeon' } });
    assert.equal(banners(named, {}, 0)[0].text, 'Model kts-specpower for 2 x Xeon.');
    const failing = snapshot({ health: { status: 'degraded', failingZones: ['dram/0'], failingPlatform: [] } });
    const health = banners(failing, {}, 0);
    assert.equal(health.length, 1);
    assert.equal(health[0].kind, 'health');
    assert.equal(health[0].title, 'Health: degraded');
    assert.match(health[0].text, /Zones unreadable or not advancing: dram\/0\.$/);
    // The node is healthy, yet a platform source is in an outage: a red banner of its own, naming it.
    const platform = banners(snapshot({ health: { status: 'ok', failingZones: [], failingPlatform: ['redfish', 'acpi'] } }), {}, 0);
    assert.equal(platform.length, 1);
    assert.equal(platform[0].kind, 'platform');
    assert.equal(platform[0].title, 'Platform power from redfish, acpi: no fresh reading.');
    // Unhealthy as well: one banner says both.
    const both = banners(snapshot({ health: { status: 'degraded', failingZones: ['dram/0'], failingPlatform: ['redfish'] } }), {}, 0);
    assert.deepEqual(
      both.map((b) => b.kind),
      ['health'],
    );
    assert.match(both[0].text, /dram\/0\. Platform power from redfish: no fresh reading\.$/);
    const since = new Date(2024, 0, 1, 10, 0, 0).getTime();
    const offline = banners(snapshot(), { failingSinceMs: since, error: 'no answer within 5 s' }, since + 65_000);
    assert.equal(offline[0].kind, 'offline');
    assert.match(offline[0].text, /^since 10:00:00 \(65 s ago\): no answer within 5 s\. The figures below are the last it sent/);
    assert.equal(healthBadge(failing).tone, 'warn');
    assert.equal(healthBadge(snapshot({ health: { status: 'meter_failing', failingZones: [], failingPlatform: [] } })).text, 'meter failing');
  });

  test('figures: the node, each zone with active and idle, then GPUs and each platform source when present', () => {
    const plain = figures(snapshot());
    assert.deepEqual(
      plain.map((f) => [f.key, f.value]),
      [
        ['node', '40 W'],
        ['zone:package', '30 W'],
        ['zone:dram', '10 W'],
      ],
    );
    assert.equal(plain[0].detail, 'CPU 25 % busy · CPU package + DRAM');
    assert.equal(plain[1].detail, 'active 10 W · idle 20 W');
    const full = figures(
      snapshot({
        gpus: [{ index: 0, uuid: 'u', name: 'H200', watts: 100, activeWatts: 40, idleWatts: 60, joules: 1 }],
        platform: [
          { source: 'redfish', id: 'redfish/bmc/1/PowerControl/0', name: '1 Chassis', watts: 300, ageSec: 4 },
          { source: 'redfish', id: 'redfish/bmc/1/PowerSupplies/0', name: '1 PSU1', watts: 150, ageSec: 4 },
        ],
      }),
    );
    // Each source on its own: the chassis and its PSUs measure the same power, a sum would count it twice.
    assert.deepEqual(
      full.slice(3).map((f) => [f.key, f.label, f.value, f.detail]),
      [
        ['gpu', 'GPU', '100 W', 'active 40 W · idle 60 W'],
        ['platform:redfish/bmc/1/PowerControl/0', '1 Chassis', '300 W', 'redfish · read 4 s ago'],
        ['platform:redfish/bmc/1/PowerSupplies/0', '1 PSU1', '150 W', 'redfish · read 4 s ago'],
      ],
    );
    // Four at most; the rest on one figure, named, not added up.
    const many = figures(snapshot({ platform: [1, 2, 3, 4, 5, 6].map((n) => ({ source: 'acpi', id: `acpi/${n}`, name: `meter ${n}`, watts: n * 10, ageSec: 1 })) }));
    assert.deepEqual(
      many.slice(3).map((f) => [f.key, f.value]),
      [
        ['platform:acpi/1', '10 W'],
        ['platform:acpi/2', '20 W'],
        ['platform:acpi/3', '30 W'],
        ['platform:acpi/4', '40 W'],
        ['platform:more', '+2 more'],
      ],
    );
    assert.equal(many[many.length - 1].detail, 'meter 5 50 W · meter 6 60 W');
  });

  test('figures: zones of the same name are told apart by their index', () => {
    const zone = (name: string, index: number, watts: number) => ({ name, index, path: `${name}${index}`, watts, activeWatts: watts, idleWatts: 0, joules: 0 });
    const list = figures(snapshot({ headlineZones: ['power1'], zones: [zone('power1', 1, 5), zone('power1', 2, 7)] }));
    assert.deepEqual(
      list.slice(1).map((f) => [f.key, f.label, f.value]),
      [
        ['zone:power1#1', 'power1 #1', '5 W'],
        ['zone:power1#2', 'power1 #2', '7 W'],
      ],
    );
  });

  test('figures: a snapshot without an interval (the first refresh) waits for one rather than showing 0 W', () => {
    const first = figures(snapshot({ intervalSec: 0, watts: 0, gpus: [{ index: 0, uuid: 'u', name: 'H200', watts: 0, activeWatts: 0, idleWatts: 0, joules: 0 }] }));
    assert.deepEqual(
      first.map((f) => [f.key, f.value, f.detail]),
      [
        ['node', '–', 'waiting for the first interval'],
        ['zone:package', '–', 'waiting for the first interval'],
        ['zone:dram', '–', 'waiting for the first interval'],
        ['gpu', '–', 'waiting for the first interval'],
      ],
    );
  });

  test('bars are the share of the node, within 0..1', () => {
    assert.equal(shareOf(10, 40), 0.25);
    assert.equal(shareOf(50, 40), 1);
    assert.equal(shareOf(5, 0), 0);
    assert.equal(shareOf(-1, 40), 0);
  });
});

describe('the page: its copy of the history', () => {
  const EMPTY_TOP: Record<ApiLevelName, [number, number][]> = { process: [], container: [], pod: [], vm: [] };
  const point = (t: number, active: number, top: Partial<Record<ApiLevelName, [number, number][]>> = {}): ApiHistoryPoint => ({
    t,
    sec: 3,
    active: [active],
    idle: [10],
    gpu: [],
    gpuIdle: [],
    platform: [],
    top: { ...EMPTY_TOP, ...top },
  });
  const answer = (points: ApiHistoryPoint[], workloads: ApiHistory['workloads'] = {}, over: Partial<ApiHistory> = {}): ApiHistory => ({
    windowSec: 900,
    minStepSec: 3,
    zones: [{ name: 'package', index: 0 }],
    gpus: [],
    platform: [],
    workloads,
    points,
    ...over,
  });

  test('appends what follows its last point, skips what it holds, and asks from there', () => {
    const a = mergeHistory(undefined, answer([point(1000, 1), point(4000, 2)]));
    assert.equal(sinceOf(undefined), undefined);
    assert.equal(sinceOf(a), 4000);
    const b = mergeHistory(a, answer([point(4000, 99), point(7000, 3)]));
    assert.deepEqual(
      b.points.map((p) => [p.t, p.active[0]]),
      [
        [1000, 1],
        [4000, 2],
        [7000, 3],
      ],
    );
    assert.equal(a.points.length, 2, 'the state it was given is unchanged');
    assert.deepEqual(timesSec(b), [1, 4, 7]);
    assert.deepEqual(zoneSeries(b, 0), { active: [1, 2, 3], total: [11, 12, 13] });
    assert.equal(spanSec(b), 9);
  });

  test('drops points older than the window', () => {
    const s = mergeHistory(undefined, answer([point(1000, 1), point(5000, 2), point(9000, 3)], {}, { windowSec: 5 }));
    assert.deepEqual(
      s.points.map((p) => p.t),
      [5000, 9000],
    );
  });

  test('holds workloads by id, whatever key each answer used, and forgets names no point uses', () => {
    const w = (id: string) => ({ id, name: `name-${id}`, detail: '' });
    const first = mergeHistory(undefined, answer([point(1000, 1, { container: [[1, 5]] })], { '1': w('aaa') }, { windowSec: 5 }));
    // The next answer numbers the same container 7, and a new one 1.
    const next = mergeHistory(
      first,
      answer(
        [
          point(4000, 1, { container: [[7, 6]] }),
          point(7000, 1, {
            container: [
              [7, 8],
              [1, 2],
            ],
          }),
        ],
        { '7': w('aaa'), '1': w('bbb') },
        { windowSec: 5 },
      ),
    );
    assert.deepEqual(workloadSeries(next, 'container', ['aaa', 'bbb']), [
      [6, 8],
      [null, 2],
    ]);
    assert.deepEqual(topOverWindow(next, 'container', 1), ['aaa']);
    assert.equal(next.names.container.get('aaa')?.name, 'name-aaa');
    const later = mergeHistory(next, answer([point(12_000, 1)], {}, { windowSec: 5 }));
    assert.equal(later.names.container.size, 0, 'the points that named them left the window');
  });

  test('holds workloads by level and id: the same id in two levels is two workloads', () => {
    const s = mergeHistory(
      undefined,
      answer([point(1000, 1, { process: [[1, 5]], vm: [[2, 7]] })], {
        '1': { id: 'x', name: 'a process', detail: '' },
        '2': { id: 'x', name: 'a VM', detail: '' },
      }),
    );
    assert.deepEqual(workloadSeries(s, 'process', ['x']), [[5]]);
    assert.deepEqual(workloadSeries(s, 'vm', ['x']), [[7]]);
    assert.deepEqual(workloadSeries(s, 'container', ['x']), [[null]]);
    assert.equal(s.names.process.get('x')?.name, 'a process');
    assert.equal(s.names.vm.get('x')?.name, 'a VM');
  });

  test('a platform source the exporter adds later: held points keep their place, with no value for it', () => {
    const platform = (ids: string[]) => ({ platform: ids.map((id) => ({ id, name: id })) });
    const a = mergeHistory(
      undefined,
      answer(
        [
          { ...point(1000, 1), platform: [100] },
          { ...point(4000, 2), platform: [110] },
        ],
        {},
        platform(['chassis']),
      ),
    );
    // The exporter read a PSU from 7000 on; it answers only what follows since=4000.
    const b = mergeHistory(a, answer([{ ...point(7000, 3), platform: [120, 60] }], {}, platform(['chassis', 'psu1'])));
    assert.equal(sinceOf(b), 7000);
    assert.deepEqual(
      b.points.map((p) => p.t),
      [1000, 4000, 7000],
      'nothing held is lost',
    );
    assert.deepEqual(
      b.platform.map((p) => p.id),
      ['chassis', 'psu1'],
    );
    assert.deepEqual(platformSeries(b), [
      [100, 110, 120],
      [null, null, 60],
    ]);
    assert.notEqual(layoutKey(a), layoutKey(b), 'the charts are made again with the new series');
  });

  test('an answer whose columns differ in order (the exporter restarted) is matched by id, and what only the held points have is kept', () => {
    const over = {
      zones: [{ name: 'package', index: 0 }],
      platform: [
        { id: 'psu1', name: 'psu1' },
        { id: 'psu2', name: 'psu2' },
      ],
      gpus: [{ index: 0, name: 'H200' }],
    };
    const held = mergeHistory(undefined, answer([{ ...point(1000, 1), gpu: [50], gpuIdle: [20], platform: [10, 20] }], {}, over));
    // Restarted: a DRAM zone is read first now, the GPU is gone, and psu2 is read before psu1.
    const restarted = {
      zones: [
        { name: 'dram', index: 0 },
        { name: 'package', index: 0 },
      ],
      platform: [
        { id: 'psu2', name: 'psu2' },
        { id: 'psu1', name: 'psu1' },
      ],
      gpus: [],
    };
    const merged = mergeHistory(held, answer([{ ...point(60_000, 0), active: [3, 4], idle: [1, 2], platform: [21, 11] }], {}, restarted));
    assert.deepEqual(
      merged.points.map((p) => p.t),
      [1000, 60_000],
    );
    assert.deepEqual(
      merged.zones.map((z) => z.name),
      ['dram', 'package'],
    );
    assert.deepEqual(
      merged.platform.map((p) => p.id),
      ['psu2', 'psu1'],
    );
    assert.deepEqual(
      merged.gpus.map((g) => g.index),
      [0],
      'the GPU stays while a point has its watts',
    );
    // A gap lies between the two points (57 s apart, 3 s each): a null in every series.
    assert.deepEqual(zoneSeries(merged, 0), { active: [null, null, 3], total: [null, null, 4] });
    assert.deepEqual(zoneSeries(merged, 1), { active: [1, null, 4], total: [11, null, 6] });
    assert.deepEqual(platformSeries(merged), [
      [20, null, 21],
      [10, null, 11],
    ]);
    assert.deepEqual(gpuSeries(merged), { active: [50, null, null], total: [70, null, null] });
    // Once no point has its watts, the GPU is dropped.
    const later = mergeHistory(merged, answer([{ ...point(2_000_000, 0), active: [3, 4], idle: [1, 2], platform: [21, 11] }], {}, restarted));
    assert.deepEqual(later.gpus, []);
    assert.equal(layoutKey(later), layoutKey(restarted));
  });

  test('columns that cannot be matched (an id twice) drop what is held, and the next request asks for the whole ring', () => {
    const a = mergeHistory(undefined, answer([point(1000, 1), point(4000, 2)]));
    const twice = {
      zones: [
        { name: 'package', index: 0 },
        { name: 'package', index: 0 },
      ],
    };
    const b = mergeHistory(a, answer([{ ...point(7000, 3), active: [3, 4], idle: [0, 0] }], {}, twice));
    assert.equal(b.refetch, true);
    assert.equal(sinceOf(b), undefined, 'the whole ring next');
    const full = mergeHistory(
      b,
      answer(
        [
          { ...point(1000, 1), active: [1, 1], idle: [0, 0] },
          { ...point(4000, 2), active: [2, 2], idle: [0, 0] },
          { ...point(7000, 3), active: [3, 4], idle: [0, 0] },
        ],
        {},
        twice,
      ),
    );
    assert.equal(full.refetch, undefined);
    assert.deepEqual(
      full.points.map((p) => p.t),
      [1000, 4000, 7000],
    );
    assert.equal(sinceOf(full), 7000);
  });

  test('the GPUs are drawn as the zones: active, and idle above it, summed over the GPUs', () => {
    const two = {
      gpus: [
        { index: 0, name: 'H200' },
        { index: 1, name: 'H200' },
      ],
    };
    const s = mergeHistory(
      undefined,
      answer(
        [
          { ...point(1000, 1), gpu: [100, 50], gpuIdle: [60, 60] },
          { ...point(4000, 1), gpu: [10, 0], gpuIdle: [60, 55] },
        ],
        {},
        two,
      ),
    );
    assert.deepEqual(gpuSeries(s), { active: [150, 10], total: [270, 125] });
    // An exporter from before gpuIdle: idle 0.
    const old = mergeHistory(undefined, answer([{ ...point(1000, 1), gpu: [100, 50], gpuIdle: undefined as unknown as number[] }], {}, two));
    assert.deepEqual(gpuSeries(old), { active: [150], total: [150] });
  });

  test('a gap longer than 2.5 points (the exporter did not answer) breaks every line, at the start of the point after it', () => {
    const s = mergeHistory(undefined, answer([point(1000, 1), point(4000, 2), point(11_000, 3), point(30_000, 4), point(33_000, 5)], { '1': { id: 'w', name: 'w', detail: '' } }));
    // 4000 -> 11000 is 7 s: 2.33 points, no gap; 11000 -> 30000 is 19 s: a gap, at 27 s.
    assert.deepEqual(timesSec(s), [1, 4, 11, 27, 30, 33]);
    assert.deepEqual(zoneSeries(s, 0).active, [1, 2, 3, null, 4, 5]);
    assert.deepEqual(workloadSeries(s, 'process', ['w']), [[null, null, null, null, null, null]]);
  });

  test("the workload chart draws the table's first workloads", () => {
    const w = (id: string) => ({ id, name: id, detail: '', watts: 1, zoneWatts: [], gpuWatts: 0, joules: 0, cpuCores: 0 });
    assert.deepEqual(chartIds({ count: 3, watts: 3, unattributedWatts: 0, top: [w('a'), w('b'), w('c')] }, 2), ['a', 'b']);
    assert.deepEqual(chartIds(undefined, 2), []);
  });
});

describe('the page: polling a slow or failing exporter', () => {
  /** A fetch whose answers the test gives, when it likes, and a clock it moves (node:test's mock timers). */
  function harness(t: TestContext) {
    // Date too: a request's time is the mock clock's when its timer fired.
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
    const calls: { at: number; url: string; answer: (r: Response | Error) => void }[] = [];
    const realFetch = globalThis.fetch;
    globalThis.fetch = (input: string | URL | Request, init?: RequestInit) =>
      new Promise<Response>((resolve, reject) => {
        calls.push({ at: Date.now(), url: input instanceof Request ? input.url : input.toString(), answer: (r) => (r instanceof Error ? reject(r) : resolve(r)) });
        init?.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
      });
    t.after(() => {
      globalThis.fetch = realFetch;
    });
    // Promise callbacks run between timer ticks, as in a browser; setImmediate is not mocked.
    const settle = () => new Promise((r) => setImmediate(r));
    const advance = async (ms: number) => {
      for (let i = 0; i < ms; i += 100) {
        await settle();
        t.mock.timers.tick(100);
      }
      await settle();
    };
    return { calls, advance, settle };
  }
  const json = (status: number, body: object) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

  test('one request at a time: a slow answer delays the next request, never doubles it', async (t) => {
    const { calls, advance } = harness(t);
    const got: number[] = [];
    const poller = new Poller<{ n: number }>({
      url: () => 'api/v1/snapshot',
      timeoutMs: 5000,
      intervalMs: () => 1000,
      onData: (d) => got.push(d.n),
      onError: () => assert.fail('no failure'),
    });
    poller.start();
    await advance(3000);
    assert.equal(calls.length, 1, 'the first is still unanswered: no second');
    const answeredAt = Date.now();
    calls[0].answer(json(200, { n: 1 }));
    await advance(900);
    assert.equal(calls.length, 1, 'the next waits a whole interval after the answer');
    await advance(100);
    assert.equal(calls.length, 2);
    assert.equal(calls[1].at - answeredAt, 1000);
    assert.deepEqual(got, [1]);
    poller.stop();
  });

  test('a request unanswered within the timeout is aborted, and failures back off up to 30 s', async (t) => {
    const { calls, advance } = harness(t);
    const errors: string[] = [];
    const poller = new Poller({
      url: () => 'api/v1/history',
      timeoutMs: 5000,
      intervalMs: () => 1000,
      onData: () => assert.fail('no data'),
      onError: (m, n) => errors.push(`${n}: ${m}`),
    });
    poller.start();
    await advance(130_000);
    poller.stop();
    // Each request times out after 5 s; then waits of 1, 2, 4, 8, 16, 30, 30 s.
    assert.deepEqual(
      calls.map((c) => c.at - calls[0].at),
      [0, 6000, 13_000, 22_000, 35_000, 56_000, 91_000, 126_000],
    );
    assert.deepEqual(errors.slice(0, 2), ['1: no answer within 5 s', '2: no answer within 5 s']);
  });

  test('a timeout per URL: the whole history may take 30 s, an increment 5 s', async (t) => {
    const { calls, advance } = harness(t);
    const errors: string[] = [];
    let since: number | undefined;
    const poller = new Poller<{ n: number }>({
      url: () => (since === undefined ? 'api/v1/history' : `api/v1/history?since=${since}`),
      timeoutMs: (url) => (url.includes('since=') ? 5000 : 30_000),
      intervalMs: () => 1000,
      onData: (d) => (since = d.n),
      onError: (m) => errors.push(m),
    });
    poller.start();
    await advance(29_000);
    calls[0].answer(json(200, { n: 7 }));
    await advance(1000);
    assert.deepEqual(errors, [], 'the full ring answered within its 30 s');
    assert.equal(calls[1].url, 'api/v1/history?since=7');
    await advance(5000);
    poller.stop();
    assert.deepEqual(errors, ['no answer within 5 s']);
  });

  test("failures say why (the API's own reason, not JSON, unreachable); a success resets the backoff", async (t) => {
    const { calls, advance } = harness(t);
    const events: string[] = [];
    const poller = new Poller<{ n: number }>({
      url: () => 'api/v1/snapshot',
      timeoutMs: 5000,
      intervalMs: () => 1000,
      onData: (d) => events.push(`data ${d.n}`),
      onError: (m, n) => events.push(`${n}: ${m}`),
    });
    poller.start();
    const answers = [
      json(503, { error: 'no refresh has completed yet' }),
      new Response('<html>', { status: 200 }),
      new TypeError('fetch failed'),
      json(200, { n: 1 }),
      json(200, { n: 2 }),
    ];
    for (const a of answers) {
      // Answer each request as soon as it is made.
      const before = calls.length;
      for (let waited = 0; calls.length === before && waited < 60_000; waited += 100) await advance(100);
      calls[calls.length - 1].answer(a);
    }
    await advance(100);
    poller.stop();
    assert.deepEqual(events, ['1: HTTP 503: no refresh has completed yet', '2: the answer is not JSON', '3: the exporter cannot be reached', 'data 1', 'data 2']);
    // Waits of 1, 2, 4 s after the failures, then the 1 s interval after a success.
    assert.deepEqual(
      calls.slice(1).map((c, i) => c.at - calls[i].at),
      [1000, 2000, 4000, 1000],
    );
  });

  test('stop() aborts the request in flight and asks nothing more', async (t) => {
    const { calls, advance } = harness(t);
    const events: string[] = [];
    const poller = new Poller({ url: () => 'api/v1/snapshot', timeoutMs: 5000, intervalMs: () => 1000, onData: () => events.push('data'), onError: (m) => events.push(m) });
    poller.start();
    await advance(100);
    poller.stop();
    await advance(60_000);
    assert.equal(calls.length, 1);
    assert.deepEqual(events, [], 'an aborted request after stop() is reported to no one');
  });
});
