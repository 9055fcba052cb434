// MIG instances' activity from dcgm-exporter. NVML has no per-process utilization in MIG mode; DCGM
// has each GPU instance's graphics engine activity (DCGM_FI_PROF_GR_ENGINE_ACTIVE, 0..1), which
// dcgm-exporter publishes on its /metrics. A poller in the background keeps the last answer, so
// a refresh never waits on the network: it reads what the poller has, or nothing.

import type { Logger } from '../../logger/logger.js';

const METRIC = 'DCGM_FI_PROF_GR_ENGINE_ACTIVE';
/** An answer older than this many intervals is no longer used. */
const STALE_INTERVALS = 3;
/** The abort reason of a poll that stop() cut short: not a failure to log. */
const STOPPED = new Error('stopped');

/** GPU (by UUID label, or by gpu index label without one) -> GPU instance id -> activity. */
export type EngineActivity = Map<string, Map<number, number>>;

/**
 * Pure: the DCGM_FI_PROF_GR_ENGINE_ACTIVE samples of a Prometheus text exposition, e.g.
 *   DCGM_FI_PROF_GR_ENGINE_ACTIVE{gpu="0",UUID="GPU-...",GPU_I_ID="1",GPU_I_PROFILE="1g.10gb"} 0.42
 * by GPU and GPU instance. Samples without a GPU instance (a GPU without MIG) or with a value that
 * is not a finite number are left out.
 */
export function parseEngineActivity(text: string): EngineActivity {
  const out: EngineActivity = new Map();
  for (let start = 0; start < text.length;) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    if (text.startsWith(METRIC, start) && text[start + METRIC.length] === '{') parseSample(text.slice(start + METRIC.length, end), out);
    start = end + 1;
  }
  return out;
}

function parseSample(rest: string, out: EngineActivity): void {
  const labels = parseLabels(rest);
  if (!labels) return;
  const instance = labels.values.get('GPU_I_ID');
  if (instance === undefined || !/^\d+$/.test(instance)) return;
  const gpu = labels.values.get('UUID') || labels.values.get('gpu');
  if (!gpu) return;
  // After the labels: the value, then an optional timestamp.
  const value = Number(rest.slice(labels.end).trim().split(/\s+/)[0]);
  if (!Number.isFinite(value)) return;
  let instances = out.get(gpu);
  if (!instances) out.set(gpu, (instances = new Map<number, number>()));
  instances.set(Number(instance), value);
}

/** `{a="x",b="y\"z"}` at the start of `s`: the labels and where the value begins; undefined when malformed. */
function parseLabels(s: string): { values: Map<string, string>; end: number } | undefined {
  const values = new Map<string, string>();
  let i = 1;
  for (;;) {
    while (s[i] === ' ' || s[i] === ',') i++;
    if (s[i] === '}') return { values, end: i + 1 };
    const eq = s.indexOf('=', i);
    if (eq < 0 || s[eq + 1] !== '"') return undefined;
    const name = s.slice(i, eq).trim();
    let value = '';
    let j = eq + 2;
    for (; j < s.length && s[j] !== '"'; j++) {
      if (s[j] === '\\' && j + 1 < s.length) {
        j++;
        value += s[j] === 'n' ? '\n' : s[j];
      } else {
        value += s[j];
      }
    }
    if (j >= s.length) return undefined;
    values.set(name, value);
    i = j + 1;
  }
}

export interface DcgmActivityOptions {
  /** dcgm-exporter's metrics URL, e.g. http://localhost:9400/metrics. */
  endpoint: string;
  intervalMs?: number;
  timeoutMs?: number;
  logger: Logger;
  fetch?: typeof fetch;
  /** Milliseconds, for the age of the last answer (Date.now by default). */
  now?: () => number;
}

export class DcgmActivity {
  private readonly endpoint: string;
  private readonly intervalMs: number;
  private readonly timeoutMs: number;
  private readonly log: Logger;
  private readonly fetch: typeof fetch;
  private readonly now: () => number;
  private last: { activity: EngineActivity; at: number } | undefined;
  /** undefined until the first poll ends: then whether the last poll got an answer. */
  private answering: boolean | undefined;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: AbortController | undefined;
  private running = false;

  constructor(opts: DcgmActivityOptions) {
    this.endpoint = opts.endpoint;
    this.intervalMs = opts.intervalMs ?? 5000;
    this.timeoutMs = opts.timeoutMs ?? 2000;
    this.log = opts.logger;
    this.fetch = opts.fetch ?? fetch;
    this.now = opts.now ?? Date.now;
  }

  /** Polls now and then every interval, until stop(). */
  start(): void {
    if (this.running) return;
    this.running = true;
    void this.loop();
  }

  stop(): void {
    this.running = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.inFlight?.abort(STOPPED);
  }

  /** The activity of a GPU's instances, by GPU instance id; undefined without a recent answer that has it. */
  activity(uuid: string, index: number): ReadonlyMap<number, number> | undefined {
    const last = this.last;
    if (!last || this.now() - last.at > STALE_INTERVALS * this.intervalMs) return undefined;
    return last.activity.get(uuid) ?? last.activity.get(String(index));
  }

  /** One poll: what start() runs every interval. Never rejects. */
  async refresh(): Promise<void> {
    // A controller of its own rather than AbortSignal.timeout(): stop() aborts the poll in flight too.
    const controller = new AbortController();
    this.inFlight = controller;
    const timeout = setTimeout(() => controller.abort(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
    timeout.unref();
    try {
      const res = await this.fetch(this.endpoint, { signal: controller.signal, headers: { accept: 'text/plain' } });
      if (!res.ok) {
        await res.body?.cancel();
        throw new Error(`HTTP ${res.status}`);
      }
      const activity = parseEngineActivity(await res.text());
      this.last = { activity, at: this.now() };
      if (this.answering === false) this.log.info('dcgm-exporter answers again', { endpoint: this.endpoint });
      this.answering = true;
    } catch (err) {
      if (controller.signal.reason === STOPPED) return;
      // Logged when it stops answering (or never did), not at every poll.
      if (this.answering !== false) {
        this.log.warn('dcgm-exporter does not answer: MIG instances have no activity until it does', { endpoint: this.endpoint, error: abortReason(controller, err) });
      }
      this.answering = false;
    } finally {
      clearTimeout(timeout);
      if (this.inFlight === controller) this.inFlight = undefined;
    }
  }

  private async loop(): Promise<void> {
    const started = this.now();
    await this.refresh();
    if (!this.running) return;
    const wait = Math.max(0, this.intervalMs - (this.now() - started));
    this.timer = setTimeout(() => void this.loop(), wait);
    this.timer.unref();
  }
}

/** The timeout's own message rather than fetch's generic "This operation was aborted". */
function abortReason(controller: AbortController, err: unknown): Error {
  const reason: unknown = controller.signal.reason;
  if (controller.signal.aborted && reason instanceof Error) return reason;
  return err instanceof Error ? err : new Error(String(err));
}
