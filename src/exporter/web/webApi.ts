// The live page's JSON API: /api/v1/snapshot (the latest snapshot, top N workloads per level) and
// /api/v1/history (the ring of PowerHistory). Both read what the monitor already published: they
// never refresh, so neither a page left open nor many of them change how often the node is read,
// and a scrape of /metrics never waits on them. The pass over the workloads is made once per
// snapshot, whatever the number of pages polling and the `top` they ask for.

import type { IncomingMessage, ServerResponse } from 'node:http';
import zlib, { gzipSync } from 'node:zlib';
import type { Health } from '../../monitor/health.js';
import type { Snapshot } from '../../monitor/snapshot.js';
import { acceptsGzip } from '../prometheus/negotiation.js';
import type { ApiLevel, ApiLevelName, ApiMeter } from './apiTypes.js';
import type { PowerHistory } from './powerHistory.js';
import { levelsView, snapshotView } from './snapshotView.js';

export const DEFAULT_TOP = 10;
export const MAX_TOP = 100;

export interface WebApiOptions {
  /** The monitor's latest snapshot; never a refresh. */
  latest: () => Snapshot | undefined;
  history: PowerHistory;
  nodeName: string;
  version: string;
  /** The meter, asked at each request: its state can change (passthrough's host going away). */
  meter: () => ApiMeter;
  refreshIntervalSec: number;
  /** The health of now (as /healthz), for a snapshot or none. */
  health: (s: Snapshot | undefined) => Health;
  /** The monitor's clock: platform readings' ages. */
  monotonicNowMs?: () => number;
}

/** A request's mistake, answered 400 with its message. */
class BadRequest extends Error {}

export class WebApi {
  /** The levels of the latest snapshot, with the most rows any request may ask for. */
  private cached: { seq: number; levels: Record<ApiLevelName, ApiLevel> } | undefined;

  constructor(private readonly opts: WebApiOptions) {}

  readonly snapshot = (req: IncomingMessage, res: ServerResponse): void => {
    answer(req, res, () => {
      const top = intParam(req, 'top', DEFAULT_TOP, 1, MAX_TOP);
      const s = this.opts.latest();
      if (!s) return undefined;
      if (this.cached?.seq !== s.seq) this.cached = { seq: s.seq, levels: levelsView(s, MAX_TOP) };
      const levels = Object.fromEntries(Object.entries(this.cached.levels).map(([l, v]) => [l, { ...v, top: v.top.slice(0, top) }])) as Record<ApiLevelName, ApiLevel>;
      const ctx = {
        nodeName: this.opts.nodeName,
        version: this.opts.version,
        meter: this.opts.meter(),
        refreshIntervalSec: this.opts.refreshIntervalSec,
        health: this.opts.health(s),
        nowMonotonicMs: (this.opts.monotonicNowMs ?? (() => performance.now()))(),
      };
      return snapshotView(s, ctx, levels);
    });
  };

  readonly history = (req: IncomingMessage, res: ServerResponse): void => {
    answer(req, res, () => {
      const since = numberParam(req, 'since');
      return this.opts.history.view(since);
    });
  };
}

/** Writes `build()`'s JSON (503 before the first refresh, 400 for a bad parameter), gzipped when asked. */
function answer(req: IncomingMessage, res: ServerResponse, build: () => object | undefined): void {
  let status = 200;
  let body: object;
  try {
    const built = build();
    if (built === undefined) {
      status = 503;
      res.setHeader('Retry-After', '1');
      body = { error: 'no refresh has completed yet' };
    } else body = built;
  } catch (err) {
    if (!(err instanceof BadRequest)) throw err;
    status = 400;
    body = { error: err.message };
  }
  let payload = Buffer.from(JSON.stringify(body), 'utf8');
  const headers: Record<string, string> = {
    'Content-Type': 'application/json; charset=utf-8',
    // Live data: a cached answer would show a node frozen in time.
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  };
  if (payload.length > 1024 && acceptsGzip(req.headers['accept-encoding'])) {
    payload = gzipSync(payload, { level: zlib.constants.Z_BEST_SPEED });
    headers['Content-Encoding'] = 'gzip';
  }
  headers['Content-Length'] = String(payload.length);
  res.writeHead(status, headers);
  res.end(req.method === 'HEAD' ? undefined : payload);
}

function queryParam(req: IncomingMessage, name: string): string | null {
  return new URL(req.url ?? '/', 'http://localhost').searchParams.get(name);
}

function intParam(req: IncomingMessage, name: string, fallback: number, min: number, max: number): number {
  const raw = queryParam(req, name);
  if (raw === null || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new BadRequest(`query parameter ${name}=${JSON.stringify(raw)}: expected a whole number from ${min} to ${max}`);
  return n;
}

function numberParam(req: IncomingMessage, name: string): number | undefined {
  const raw = queryParam(req, name);
  if (raw === null || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n)) throw new BadRequest(`query parameter ${name}=${JSON.stringify(raw)}: expected a time in milliseconds since the epoch`);
  return n;
}
