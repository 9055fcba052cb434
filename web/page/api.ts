// Polling the exporter's JSON API from the page, gently: one request in flight per endpoint, a
// timeout on each (a busy node must not leave a request hanging), exponential backoff while it
// fails, and a single timer per endpoint, so requests never pile up on a slow node. URLs are
// relative to the page, so they go to the page's own origin and path prefix, under the same TLS
// and basic auth as the page itself. The API answers with Cache-Control: no-store, so no request
// is served from the browser's cache.

import { backoffMs } from './derive.js';

export interface PollerOptions<T> {
  /** The relative URL of the next request ("api/v1/snapshot?top=10"): asked before each one. */
  url: () => string;
  /** Abort a request after this long: a number, or one per URL (a large answer may take longer). */
  timeoutMs: number | ((url: string) => number);
  /** Wait between successful requests: asked after each one, as the exporter's interval may change. */
  intervalMs: () => number;
  onData: (data: T) => void;
  /** A failed request; `failures` counts the failures in a row, this one included. */
  onError: (message: string, failures: number) => void;
}

export class Poller<T> {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private inFlight: AbortController | undefined;
  private failures = 0;
  private stopped = false;

  constructor(private readonly opts: PollerOptions<T>) {}

  /** Asks at once, then on its own schedule. Calling it again asks at once (unless a request is in flight). */
  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** No more requests; the one in flight, if any, is aborted and reported to no one. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.inFlight?.abort();
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    if (!this.stopped) this.timer = setTimeout(() => void this.poll(), ms);
  }

  private async poll(): Promise<void> {
    if (this.inFlight) return;
    const abort = new AbortController();
    this.inFlight = abort;
    const url = this.opts.url();
    const timeoutMs = typeof this.opts.timeoutMs === 'number' ? this.opts.timeoutMs : this.opts.timeoutMs(url);
    const timeout = setTimeout(() => abort.abort(), timeoutMs);
    let data: T | undefined;
    let failure: string | undefined;
    try {
      const res = await fetch(url, { signal: abort.signal, headers: { Accept: 'application/json' } });
      if (!res.ok) throw new Error(await httpFailure(res));
      data = (await res.json()) as T;
    } catch (err) {
      failure = abort.signal.aborted ? `no answer within ${timeoutMs / 1000} s` : describeFailure(err);
    } finally {
      clearTimeout(timeout);
      this.inFlight = undefined;
    }
    if (this.stopped) return;
    if (failure !== undefined) {
      this.failures++;
      this.opts.onError(failure, this.failures);
      this.schedule(backoffMs(this.failures, this.opts.intervalMs()));
      return;
    }
    this.failures = 0;
    try {
      this.opts.onData(data as T);
    } finally {
      // Scheduled even when drawing failed: the page stays live, and the error reaches the console.
      this.schedule(this.opts.intervalMs());
    }
  }
}

/** "HTTP 503: no refresh has completed yet": the status, and the API's own `error` when it gave one. */
async function httpFailure(res: Response): Promise<string> {
  const status = `HTTP ${res.status}`;
  try {
    const body = (await res.json()) as { error?: unknown };
    return typeof body.error === 'string' ? `${status}: ${body.error}` : status;
  } catch {
    return status;
  }
}

function describeFailure(err: unknown): string {
  if (err instanceof SyntaxError) return 'the answer is not JSON';
  if (err instanceof TypeError) return 'the exporter cannot be reached';
  return err instanceof Error ? err.message : String(err);
}
