// The live page's script and stylesheet, as scripts/bundle-page.mjs built them into dist/page/,
// served at /assets/app.js and /assets/app.css. Read once at start, with a gzip copy and a strong
// ETag each: the page revalidates on every load (Cache-Control: no-cache) and gets a 304 without a
// body while the exporter has not been rebuilt. A missing bundle (a tree built by tsc alone) is not
// an error: `available` is false and the landing page says the live view is not built. The gzip
// copy and the ETags are made when an asset is first asked for: most exporters are only scraped,
// and hashing at start loaded node:crypto (lazyBuiltins.ts) and zlib's level-9 state for nothing.

import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import Negotiator from 'negotiator';
import { cryptoModule } from '../util/lazyBuiltins.js';
import type { Handler } from './webServer.js';

/** Where the bundle is: compiled, this file is dist/src/server/pageAssets.js, the bundle dist/page/. */
export const DEFAULT_PAGE_DIR = fileURLToPath(new URL('../../page/', import.meta.url));

/** URL path, file in the bundle's folder, Content-Type. NOTICES holds the licences of what app.js bundles. */
const FILES = [
  { path: '/assets/app.js', file: 'app.js', type: 'text/javascript; charset=utf-8', required: true },
  { path: '/assets/app.css', file: 'app.css', type: 'text/css; charset=utf-8', required: true },
  { path: '/assets/NOTICES', file: 'NOTICES', type: 'text/plain; charset=utf-8', required: false },
] as const;

interface Representation {
  body: Buffer;
  etag: string;
}

interface Asset {
  type: string;
  identity: Representation;
  gzip: Representation;
}

export interface PageAssets {
  /** Routes for the web server: exact paths, GET and HEAD. Empty when the bundle is missing. */
  routes: { path: string; handler: Handler }[];
  /** True when the script and the stylesheet were both read: the landing page may load them. */
  available: boolean;
  /** Why the bundle is not available (for one log line), when it is not. */
  problem?: string;
}

/** Reads the bundle in `dir` (dist/page/ by default). Never throws: a missing or unreadable bundle gives `available: false`. */
export function loadPageAssets(dir: string = DEFAULT_PAGE_DIR): PageAssets {
  const assets: { path: string; asset: () => Asset }[] = [];
  for (const f of FILES) {
    let body: Buffer;
    try {
      body = readFileSync(join(dir, f.file));
    } catch (err) {
      if (!f.required) continue;
      const e = err as NodeJS.ErrnoException;
      return { routes: [], available: false, problem: `the live page is not built (${f.file}: ${e.code ?? e.message}); run npm run build` };
    }
    assets.push({ path: f.path, asset: lazily(() => prepare(body, f.type)) });
  }
  return { routes: assets.map(({ path, asset }) => ({ path, handler: assetHandler(asset) })), available: true };
}

/** `make()` on the first call, its result on every call. */
function lazily<T>(make: () => T): () => T {
  let value: { v: T } | undefined;
  return () => (value ??= { v: make() }).v;
}

function prepare(body: Buffer, type: string): Asset {
  // A strong ETag per representation: the gzip bytes are another representation of the same file.
  const tag = cryptoModule().createHash('sha256').update(body).digest('base64url').slice(0, 27);
  return { type, identity: { body, etag: `"${tag}"` }, gzip: { body: gzipSync(body, { level: 9 }), etag: `"${tag}-gz"` } };
}

function assetHandler(prepared: () => Asset): Handler {
  return (req: IncomingMessage, res: ServerResponse) => {
    const asset = prepared();
    const rep = acceptsGzip(req.headers['accept-encoding']) ? asset.gzip : asset.identity;
    res.setHeader('Content-Type', asset.type);
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('Vary', 'Accept-Encoding');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('ETag', rep.etag);
    if (rep === asset.gzip) res.setHeader('Content-Encoding', 'gzip');
    if (matchesEtag(req.headers['if-none-match'], rep.etag)) {
      res.statusCode = 304;
      res.end();
      return;
    }
    res.statusCode = 200;
    res.setHeader('Content-Length', rep.body.length);
    res.end(rep.body);
  };
}

/**
 * If-None-Match compares weakly (RFC 9110 13.1.2): `W/"x"` matches `"x"`; `*` matches anything.
 * A list that names either representation's tag would do for a cache, but only the one about to
 * be sent counts: a cache holding the gzip bytes must not be told they are the identity ones.
 */
export function matchesEtag(ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false;
  return ifNoneMatch.split(',').some((t) => {
    const tag = t.trim();
    return tag === '*' || tag.replace(/^W\//, '') === etag;
  });
}

/** Encodings in our order of preference: gzip wins a tie with identity. */
const ENCODINGS = ['gzip', 'identity'];

/**
 * Whether to gzip, as /metrics decides (exporter/prometheus/negotiation.ts, which this layer may
 * not import): the client's q for gzip (or `*`) is above 0 and at least identity's. No header: no gzip.
 */
export function acceptsGzip(acceptEncoding: string | undefined): boolean {
  const headers = acceptEncoding === undefined ? {} : { 'accept-encoding': acceptEncoding };
  // negotiator 1.x takes `preferred` to break ties by our order; @types/negotiator (0.6) lacks it.
  const negotiator = new Negotiator({ headers }) as unknown as { encodings(available: string[], opts: { preferred: string[] }): string[] };
  return negotiator.encodings(ENCODINGS, { preferred: ENCODINGS })[0] === 'gzip';
}
