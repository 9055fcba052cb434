// The `/` page: the shell of the live page. It says server-side everything that needs no script
// (the node, the meter, its zones, that power is estimated, the endpoints), so the page is useful
// with scripts off or the bundle not built, and it holds the empty containers that the live page's
// script (web/page/, served from assets/) fills with figures, charts and the top workloads. Every
// URL in it is relative, so it works behind a reverse proxy's path prefix, and under the same TLS
// and basic auth as /metrics. No inline script or style: LANDING_PAGE_CSP forbids both.

import type { Handler } from './webServer.js';

export interface LandingInfo {
  version: string;
  nodeName: string;
  meter: string;
  zones: { name: string; path: string }[];
  /** Shown prominently when power is estimated rather than measured. */
  estimateNotice?: string;
  endpoints: { path: string; description: string }[];
  /** Whether the live page's bundle is served (PageAssets.available); without it the page says it is not built. */
  liveView?: boolean;
}

/**
 * The Content-Security-Policy the page is served with: everything from the exporter itself, no
 * inline script or style, no plugins, frames or forms. uPlot and the page set styles through the
 * CSSOM, which style-src does not restrict. `data:` images only for the empty favicon, which keeps
 * browsers from asking for /favicon.ico (a 404 in the console).
 */
export const LANDING_PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Headers of the `/` answer. no-cache: the shell names the assets, which change with each build. */
export const LANDING_PAGE_HEADERS: Readonly<Record<string, string>> = {
  'Content-Type': 'text/html; charset=utf-8',
  'Content-Security-Policy': LANDING_PAGE_CSP,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-cache',
};

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A relative href for an absolute endpoint path ("/metrics" -> "./metrics"), so a path prefix is kept. */
const relativeHref = (path: string) => (path.startsWith('/') ? `.${path}` : path);

export function renderLandingPage(info: LandingInfo): string {
  const live = info.liveView === true;
  const zones = info.zones.map((z) => `<li><code>${esc(z.name)}</code> from <code>${esc(z.path)}</code></li>`).join('');
  const links = info.endpoints.map((e) => `<li><a href="${esc(relativeHref(e.path))}">${esc(e.path)}</a>: ${esc(e.description)}</li>`).join('');
  const assets = live ? '<link rel="stylesheet" href="assets/app.css">\n<script defer src="assets/app.js"></script>\n' : '';
  const status = live
    ? '<p id="live-status" class="live-status">Loading the live view…</p>\n<noscript><p class="live-status">The live view needs JavaScript. The figures are also at <a href="./metrics">/metrics</a>.</p></noscript>'
    : '<p id="live-status" class="live-status">The live view is not built in this installation (no dist/page/: run <code>npm run build</code>). The figures are at <a href="./metrics">/metrics</a>.</p>';
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>kepler-ts · ${esc(info.nodeName)}</title>
<link rel="icon" href="data:,">
${assets}</head>
<body data-live="${live ? 'loading' : 'unavailable'}">
<header class="site-header">
<h1 class="brand">kepler-ts <span id="version" class="version">${esc(info.version)}</span></h1>
<p class="facts"><span>Power exporter for node <b id="node-name">${esc(info.nodeName)}</b></span> <span>Meter in use: <b id="meter-name">${esc(info.meter)}</b></span></p>
<span id="health" class="badge" hidden></span>
<span id="updated" class="updated"></span>
</header>
<div id="banners" class="banners">
${info.estimateNotice ? `<p class="banner estimate" data-banner="estimate"><b>Power is estimated, not measured.</b> ${esc(info.estimateNotice)}</p>` : ''}
</div>
<main id="live" class="live">
${status}
<section id="figures" class="figures" aria-label="Power now"></section>
<section id="power" class="panel power" aria-label="Node power"></section>
<section id="workloads" class="panel workloads" aria-label="Top workloads"></section>
</main>
<footer class="about">
<section><h2>Zones</h2>
<ul>${zones}</ul></section>
<section><h2>Endpoints</h2>
<ul>${links}</ul></section>
${live ? '<p class="notices">The live page bundles <a href="assets/NOTICES">uPlot</a> (MIT).</p>' : ''}
</footer>
</body></html>
`;
}

/** Serves the page rendered once from `info` (it changes only with a restart), with LANDING_PAGE_HEADERS. */
export function landingPageHandler(info: LandingInfo): Handler {
  const page = Buffer.from(renderLandingPage(info));
  return (_req, res) => {
    res.writeHead(200, { ...LANDING_PAGE_HEADERS, 'Content-Length': String(page.length) });
    res.end(page);
  };
}
