// A platform source read in the background (a BMC over Redfish, ACPI's power_meter): one poll at
// a time, every pollInterval, each bounded by the reader's own timeout. The monitor only reads
// state(): the readings of the last poll and each source's energy, or no readings at all while
// the last poll failed or its readings are older than three poll intervals (an outage shows as
// missing series, never as a frozen old value). Each source's energy goes on through an outage:
// the first reading after it integrates the gap (platformEnergy.ts). A source missing from a
// good poll (a supply pulled for repair) keeps its total, and starts a new integral when it
// comes back: that time was not its.

import type { Logger } from '../../logger/logger.js';
import { advanceEnergy, plausibleWatts, restartEnergy, sourceKey, type SourceEnergy } from './platformEnergy.js';
import type { PlatformReading, PlatformSource, PlatformSourceState, PlatformState } from './platformSource.js';

/** What reads the power. Its errors carry a `kind` among the source's errorKinds. */
export interface PowerReader {
  readPower(): Promise<PlatformReading[]>;
  /** Problems of the last readPower() that did not stop it (one chassis of several), counted by kind. */
  lastPartialErrors?(): readonly unknown[];
  close(): Promise<void>;
}

export interface PolledPlatformOptions {
  name: 'redfish' | 'acpi';
  reader: PowerReader;
  /** Error kinds the reader reports; anything else counts as `other`. */
  errorKinds: readonly string[];
  pollIntervalMs: number;
  /** Fields that say which BMC or sensor, for the log (never credentials). */
  describe: Record<string, string>;
  logger: Logger;
  /** Monotonic ms. */
  clock?: () => number;
}

/** Readings older than this many poll intervals are not shown. */
const STALE_POLLS = 3;

export class PolledPlatform implements PlatformSource {
  readonly name: 'redfish' | 'acpi';
  readonly errorKinds: readonly string[];
  private readonly clock: () => number;
  private readonly energy = new Map<string, SourceEnergy>();
  private readings: readonly PlatformSourceState[] = [];
  private readonly errors: Record<string, number>;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private running = false;
  /** stop() was called: a poll that fails afterwards (its reader closed) is not an outage. */
  private stopped = false;
  /** The outage in progress: since when, and how many polls failed. */
  private outage: { sinceMs: number; failures: number } | undefined;
  /** A good poll found no power source (said once until one is found). */
  private saidEmpty = false;

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
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.opts.reader.close().catch(() => undefined);
  }

  state(): PlatformState {
    const oldest = this.clock() - STALE_POLLS * this.opts.pollIntervalMs;
    const fresh = this.readings.length > 0 && this.readings[0].readAtMs >= oldest;
    return { readings: fresh ? this.readings : [], errors: { ...this.errors } };
  }

  /** One poll, then the next one a pollInterval after this one started (never two at once). */
  pollOnce(): Promise<void> {
    if (this.polling) return this.polling;
    const started = this.clock();
    this.polling = this.poll()
      .catch((err: unknown) => this.opts.logger.error('platform poll failed', { ...this.opts.describe, err: message(err) }))
      .finally(() => {
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
      if (!this.stopped) this.failed(err);
      return;
    }
    for (const e of this.opts.reader.lastPartialErrors?.() ?? []) this.errors[this.kindOf(e)]++;
    const at = this.clock();
    const fresh: PlatformSourceState[] = [];
    const seen = new Set<string>();
    for (const r of readings) {
      if (!plausibleWatts(r.watts)) {
        this.errors[this.errorKinds.includes('parse') ? 'parse' : 'other']++;
        continue;
      }
      const key = sourceKey(r);
      seen.add(key);
      const e = advanceEnergy(this.energy.get(key), r, at);
      this.energy.set(key, e);
      fresh.push({ reading: r, energyUj: e.energyUj, readAtMs: at });
    }
    for (const [key, e] of this.energy) if (!seen.has(key) && e.last) this.energy.set(key, restartEnergy(e));
    this.readings = fresh;
    if (fresh.length === 0 && !this.saidEmpty) {
      this.saidEmpty = true;
      this.opts.logger.warn('platform power: the source answered with no power reading (no power supply, environment or power control metrics)', this.opts.describe);
    } else if (fresh.length > 0) this.saidEmpty = false;
    if (this.outage) {
      this.opts.logger.info('platform power readable again', {
        ...this.opts.describe,
        failed_polls: this.outage.failures,
        down_for: `${Math.round((at - this.outage.sinceMs) / 1000)}s`,
      });
      this.outage = undefined;
    }
  }

  private kindOf(err: unknown): string {
    return typeof err === 'object' && err !== null && 'kind' in err && typeof err.kind === 'string' && this.errorKinds.includes(err.kind) ? err.kind : 'other';
  }

  private failed(err: unknown): void {
    const kind = this.kindOf(err);
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
