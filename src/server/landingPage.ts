// The `/` page: what this exporter is, which meter it reads, and its endpoints.

export interface LandingInfo {
  version: string;
  nodeName: string;
  meter: string;
  zones: { name: string; path: string }[];
  /** Shown prominently when power is estimated rather than measured. */
  estimateNotice?: string;
  endpoints: { path: string; description: string }[];
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function renderLandingPage(info: LandingInfo): string {
  const zones = info.zones.map((z) => `<li><code>${esc(z.name)}</code> from <code>${esc(z.path)}</code></li>`).join('');
  const links = info.endpoints.map((e) => `<li><a href="${esc(e.path)}">${esc(e.path)}</a>: ${esc(e.description)}</li>`).join('');
  return `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>kepler-ts</title></head>
<body>
<h1>kepler-ts ${esc(info.version)}</h1>
<p>Power exporter for node <b>${esc(info.nodeName)}</b>.</p>
<p>Meter in use: <b>${esc(info.meter)}</b></p>
${info.estimateNotice ? `<p><b>Power is estimated, not measured.</b> ${esc(info.estimateNotice)}</p>\n` : ''}
<ul>${zones}</ul>
<h2>Endpoints</h2>
<ul>${links}</ul>
</body></html>
`;
}
