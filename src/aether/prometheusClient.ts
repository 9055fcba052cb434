// Instant queries against Prometheus's HTTP API (POST /api/v1/query), with the credentials the
// configuration names. Node's fetch; files holding secrets are read at each request so that a
// rotated token is picked up without a restart.

import { readFile } from 'node:fs/promises';
import type { Sample } from './instances.js';

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

  async query(promql: string, opts: QueryOptions): Promise<Sample[]> {
    const body = new URLSearchParams({ query: promql, time: String(opts.time), timeout: `${Math.max(1, Math.floor(opts.timeoutMs / 1000))}s` });
    const where = `Prometheus at ${this.baseUrl}`;
    const headers = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...(await this.authorization()) };
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}/api/v1/query`, {
        method: 'POST',
        headers,
        body,
        signal: opts.signal,
      });
    } catch (err) {
      throw transportError(where, err, opts.signal);
    }
    let payload: unknown;
    try {
      payload = await res.json();
    } catch (err) {
      if (opts.signal.aborted) throw transportError(where, err, opts.signal);
      throw new PrometheusError(
        `${where} answered HTTP ${res.status} with a body that is not JSON; is PROMETHEUS_URL the Prometheus server?`,
        res.ok ? 'bad_response' : statusFailure(res.status),
        { cause: err },
      );
    }
    return parseVector(payload, res.status, where);
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
  return p.data.result.map((r: { metric?: Record<string, string>; value?: [number, string] }) => ({
    labels: r.metric ?? {},
    value: Number(r.value?.[1]),
  }));
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
