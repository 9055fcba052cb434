// Instant queries against Prometheus's HTTP API (POST /api/v1/query), with the credentials the
// configuration names, over node:http(s): an answer is read as it arrives, chunk by chunk, each
// chunk once (fetch() copies each into a stream of its own). Files holding secrets are read at
// each request so that a rotated token is picked up without a restart.

import { readFile } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createGunzip, createInflate } from 'node:zlib';
import type { Sample } from './instances.js';
import { VectorReader } from './vectorReader.js';

/** The credentials sent to Prometheus; config.ts builds them from the environment. */
export type PrometheusAuth =
  { kind: 'none' } | { kind: 'bearer'; token?: string; tokenFile?: string } | { kind: 'basic'; username: string; password?: string; passwordFile?: string };

/** What went wrong, so that the gRPC layer can answer with the right status code. */
export type PrometheusFailure = 'unavailable' | 'timeout' | 'cancelled' | 'unauthenticated' | 'denied' | 'rejected' | 'bad_response';

export class PrometheusError extends Error {
  override readonly name = 'PrometheusError';
  constructor(
    message: string,
    readonly failure: PrometheusFailure,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export interface QueryOptions {
  /** Unix seconds to evaluate at. */
  time: number;
  signal: AbortSignal;
  /** Told to Prometheus too, so that it gives up on a slow query when we do. */
  timeoutMs: number;
}

export class PrometheusClient {
  constructor(
    readonly baseUrl: string,
    private readonly auth: PrometheusAuth,
  ) {}

  /** The instant vector of `promql`. */
  async query(promql: string, opts: QueryOptions): Promise<Sample[]> {
    const samples: Sample[] = [];
    await this.stream(promql, opts, (s) => samples.push(s));
    return samples;
  }

  /**
   * The instant vector of `promql`, each series handed to `onSample` as its part of the answer
   * arrives (see vectorReader.ts), so that no answer is ever held whole. Resolves once the answer
   * has been read to its end and checked; where it rejects, the samples handed over belong to an
   * answer that failed. With `readAfter`, the query is sent at once but a successful answer is
   * read only once `readAfter` has settled: meanwhile it waits in the socket (the client stops
   * reading it), and Prometheus, whose write waits, holds the rest.
   */
  async stream(promql: string, opts: QueryOptions, onSample: (sample: Sample) => void, readAfter?: Promise<unknown>): Promise<void> {
    const body = new URLSearchParams({ query: promql, time: String(opts.time), timeout: `${Math.max(1, Math.floor(opts.timeoutMs / 1000))}s` }).toString();
    const where = `Prometheus at ${this.baseUrl}`;
    const headers = {
      'content-type': 'application/x-www-form-urlencoded',
      'content-length': String(Buffer.byteLength(body)),
      accept: 'application/json',
      'accept-encoding': 'gzip, deflate',
      ...(await this.authorization()),
    };
    let res: IncomingMessage;
    try {
      res = await post(new URL(`${this.baseUrl}/api/v1/query`), headers, body, opts.signal);
    } catch (err) {
      throw transportError(where, err, opts.signal);
    }
    const status = res.statusCode ?? 0;
    const ok = status >= 200 && status < 300;
    const notJson = (err: unknown) =>
      new PrometheusError(`${where} answered HTTP ${status} with a body that is not JSON; is PROMETHEUS_URL the Prometheus server?`, ok ? 'bad_response' : statusFailure(status), {
        cause: err,
      });
    // An error's answer is small, and explained whole by parseVector; a vector is read as it arrives.
    if (ok) await readAfter?.catch(() => undefined);
    let handing: { error: unknown } | undefined;
    const reader = ok
      ? new VectorReader((series) => {
          try {
            onSample(toSample(series));
          } catch (error) {
            handing ??= { error };
          }
        })
      : undefined;
    const whole: Buffer[] = [];
    let payload: unknown;
    try {
      for await (const chunk of decoded(res)) {
        if (!reader) whole.push(chunk as Buffer);
        else reader.push(chunk as Buffer);
        if (handing) break;
      }
      if (handing) throw handing.error;
      payload = reader ? reader.finish() : parseJson(Buffer.concat(whole));
    } catch (err) {
      if (handing) throw handing.error;
      if (opts.signal.aborted) throw transportError(where, err, opts.signal);
      // Not JSON, or not the gzip it said it was; anything else is the connection (cut halfway).
      if (err instanceof SyntaxError || String((err as { code?: unknown }).code).startsWith('Z_')) throw notJson(err);
      throw transportError(where, err, opts.signal);
    } finally {
      res.destroy();
    }
    // Whatever the reader left in the answer (all of it when it is not a vector).
    for (const s of parseVector(payload, status, where)) onSample(s);
  }

  private async authorization(): Promise<Record<string, string>> {
    const a = this.auth;
    if (a.kind === 'bearer') {
      const token = a.token ?? (await readSecret(a.tokenFile, 'PROMETHEUS_BEARER_TOKEN_FILE'));
      return { authorization: `Bearer ${token}` };
    }
    if (a.kind === 'basic') {
      const password = a.password ?? (await readSecret(a.passwordFile, 'PROMETHEUS_PASSWORD_FILE'));
      return { authorization: `Basic ${Buffer.from(`${a.username}:${password}`).toString('base64')}` };
    }
    return {};
  }
}

/** Redirects followed, as fetch() follows them (it gives up after 20). */
const MAX_REDIRECTS = 20;

/**
 * POSTs `body` and resolves with the answer once its headers have arrived; its body is then read
 * as the caller reads it (the socket is paused meanwhile). One connection per query, closed after
 * it: a Fetch every few minutes gains nothing from keeping them. Aborting `signal` destroys the
 * request and its answer. A 307 or 308 redirect is followed with the same POST, as fetch()
 * follows it, without the credentials where it leads to another origin.
 */
async function post(url: URL, headers: Record<string, string>, body: string, signal: AbortSignal): Promise<IncomingMessage> {
  for (let redirects = 0; ; redirects++) {
    const res = await postOnce(url, headers, body, signal);
    const location = res.headers.location;
    if ((res.statusCode !== 307 && res.statusCode !== 308) || !location || redirects >= MAX_REDIRECTS) return res;
    const next = new URL(location, url);
    if (next.protocol !== 'http:' && next.protocol !== 'https:') return res;
    res.destroy();
    if (next.origin !== url.origin) {
      const { authorization: _dropped, ...rest } = headers;
      headers = rest;
    }
    url = next;
  }
}

function postOnce(url: URL, headers: Record<string, string>, body: string, signal: AbortSignal): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(url, { method: 'POST', headers, signal, agent: false }, (res) => {
      // Errors of an answer not yet read are thrown to its reader, never left unhandled.
      res.on('error', () => undefined);
      resolve(res);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The body of `res`, decompressed where Prometheus compressed it (as fetch() did: gzip, deflate). */
function decoded(res: IncomingMessage): AsyncIterable<unknown> {
  const encoding = (res.headers['content-encoding'] ?? '').trim().toLowerCase();
  const inflate = encoding === 'gzip' || encoding === 'x-gzip' ? createGunzip() : encoding === 'deflate' ? createInflate() : undefined;
  if (!inflate) return res;
  res.on('error', (err) => inflate.destroy(err));
  return res.pipe(inflate);
}

/** JSON as fetch()'s json() reads it: UTF-8, without a byte order mark. */
function parseJson(bytes: Buffer): unknown {
  const text = bytes.toString('utf8');
  return JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
}

/** The result of a successful instant query is a vector; anything else is explained. */
export function parseVector(payload: unknown, httpStatus: number, where: string): Sample[] {
  const p = payload as { status?: string; error?: string; errorType?: string; data?: { resultType?: string; result?: unknown } };
  if (p?.status === 'error' || httpStatus >= 400) {
    const why = p?.error ? `${p.errorType ?? 'error'}: ${p.error}` : `HTTP ${httpStatus}`;
    throw new PrometheusError(`${where} refused the query (${why})`, statusFailure(httpStatus));
  }
  if (p?.status !== 'success' || p.data?.resultType !== 'vector' || !Array.isArray(p.data.result)) {
    throw new PrometheusError(`${where} answered something other than an instant vector`, 'bad_response');
  }
  return p.data.result.map(toSample);
}

/** One element of an instant vector's result. */
function toSample(series: unknown): Sample {
  const r = series as { metric?: Record<string, string>; value?: [number, string] } | null;
  return { labels: r?.metric ?? {}, value: Number(r?.value?.[1]) };
}

function statusFailure(status: number): PrometheusFailure {
  if (status === 401) return 'unauthenticated';
  if (status === 403) return 'denied';
  if (status === 503 || status === 502 || status === 504) return 'unavailable';
  return 'rejected';
}

function transportError(where: string, err: unknown, signal: AbortSignal): PrometheusError {
  if (signal.aborted) {
    // The caller aborts with an Error that says why (its deadline, or the host cancelling).
    const reason = signal.reason instanceof Error ? signal.reason.message : 'cancelled';
    return new PrometheusError(`${where}: ${reason}`, 'timeout', { cause: err });
  }
  // fetch() wraps the socket error ("connect ECONNREFUSED 10.0.0.9:9090", "other side closed") in `cause`.
  const cause = (err as { cause?: { message?: string } }).cause;
  return new PrometheusError(`${where} cannot be reached: ${cause?.message ?? (err as Error).message}`, 'unavailable', { cause: err });
}

async function readSecret(file: string | undefined, name: string): Promise<string> {
  // loadAetherConfig() never builds bearer or basic auth without the secret or its file.
  if (file === undefined) throw new PrometheusError(`${name} is not set, nor the secret itself`, 'unauthenticated');
  let secret: string;
  try {
    secret = (await readFile(file, 'utf8')).trim();
  } catch (err) {
    throw new PrometheusError(`${name}=${file} cannot be read: ${(err as Error).message}`, 'unauthenticated', { cause: err });
  }
  if (!isHeaderSafe(secret)) throw new PrometheusError(`${name}=${file} holds characters an HTTP header cannot carry`, 'unauthenticated');
  return secret;
}

/** Visible ASCII and spaces only: anything else makes fetch() refuse the Authorization header. */
export function isHeaderSafe(value: string): boolean {
  return /^[\x20-\x7e]*$/.test(value);
}
