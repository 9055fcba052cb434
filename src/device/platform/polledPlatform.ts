// A platform source read in the background (a BMC over Redfish): one poll at a time, every
// pollInterval, each bounded by the reader's own timeout. The monitor only reads state(): the
// readings of the last poll and each source's energy, or no readings at all while the last poll
// failed (an outage shows as missing series, never as a frozen old value). Each source's energy
// goes on through the outage: the first reading after it integrates the gap (platformEnergy.ts).

import type { Logger } from '../../logger/logger.js';
import { advanceEnergy, sourceKey, type SourceEnergy } from './platformEnergy.js';
import type { PlatformReading, PlatformSource, PlatformSourceState, PlatformState } from './platformSource.js';

/** What reads the power: a Redfish client. Its errors carry a `kind` among the source's errorKinds. */
export interface PowerReader {
  readPower(): Promise<PlatformReading[]>;
  close(): Promise<void>;
}

export interface PolledPlatformOptions {
  name: 'redfish';
  reader: PowerReader;
  /** Error kinds the reader reports; anything else counts as `other`. */
  errorKinds: readonly string[];
  pollIntervalMs: number;
  /** Fields that say which BMC, for the log (never credentials). */
  describe: Record<string, string>;
  logger: Logger;
  /** Monotonic ms. */
  clock?: () => number;
}

export class PolledPlatform implements PlatformSource {
  readonly name: 'redfish';
  readonly errorKinds: readonly string[];
  private readonly clock: () => number;
  private readonly energy = new Map<string, SourceEnergy>();
  private readings: readonly PlatformSourceState[] = [];
  private readonly errors: Record<string, number>;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private running = false;
  /** The outage in progress: since when, and its first error (for the log). */
  private outage: { sinceMs: number; failures: number } | undefined;

  constructor(private readonly opts: PolledPlatformOptions) {
    this.name = opts.name;
    this.errorKinds = [...opts.errorKinds, 'other'];
    this.clock = opts.clock ?? (() => performance.now());
    this.errors = Object.fromEntries(this.errorKinds.map((k) => [k, 0]));
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    void this.pollOnce();
  }

  /** Stops polling; a poll in flight is not waited for: closing the reader ends its request. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.opts.reader.close().catch(() => undefined);
  }

  state(): PlatformState {
    return { readings: this.readings, errors: { ...this.errors } };
  }

  /** One poll, then the next one a pollInterval after this one started (never two at once). */
  pollOnce(): Promise<void> {
    if (this.polling) return this.polling;
    const started = this.clock();
    this.polling = this.poll().finally(() => {
      this.polling = undefined;
      if (!this.running) return;
      const wait = Math.max(0, this.opts.pollIntervalMs - (this.clock() - started));
      this.timer = setTimeout(() => void this.pollOnce(), wait);
      this.timer.unref();
    });
    return this.polling;
  }

  private async poll(): Promise<void> {
    let readings: PlatformReading[];
    try {
      readings = await this.opts.reader.readPower();
    } catch (err) {
      this.failed(err);
      return;
    }
    const at = this.clock();
    const fresh: PlatformSourceState[] = [];
    for (const r of readings) {
      const key = sourceKey(r);
      const e = advanceEnergy(this.energy.get(key), r, at);
      this.energy.set(key, e);
      fresh.push({ reading: r, energyUj: e.energyUj, readAtMs: at });
    }
    this.readings = fresh;
    if (this.outage) {
      this.opts.logger.info('platform power readable again', {
        ...this.opts.describe,
        failed_polls: this.outage.failures,
        down_for: `${Math.round((at - this.outage.sinceMs) / 1000)}s`,
      });
      this.outage = undefined;
    }
  }

  private failed(err: unknown): void {
    const kind = typeof err === 'object' && err !== null && 'kind' in err && typeof err.kind === 'string' && this.errorKinds.includes(err.kind) ? err.kind : 'other';
    this.errors[kind]++;
    // No frozen old value: the series disappear until a fresh reading.
    this.readings = [];
    if (this.outage) {
      this.outage.failures++;
      this.opts.logger.debug('platform power still unreadable', { ...this.opts.describe, kind, err: message(err) });
      return;
    }
    this.outage = { sinceMs: this.clock(), failures: 1 };
    this.opts.logger.warn('platform power unreadable; its series are left out until it reads again', { ...this.opts.describe, kind, err: message(err) });
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
