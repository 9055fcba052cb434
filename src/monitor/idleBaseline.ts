// A zone's idle power, learned from its meter: the power the zone draws at zero load. Kepler
// 0.10+ calls total x (1 - usage) idle, which is wrong for any real package (20 W at rest and
// 90 W at full load gives 8 W "idle" at 90 % usage); the zero-load power is instead the intercept,
// at usage 0, of the power the zone draws against the node's CPU usage ratio.
//
// Other consumers (turbo, memory traffic, a GPU on psys) only ever add power at a given usage, so
// the baseline is the intercept of the lower envelope of that cloud, not of its mean:
//
//   1. Each refresh interval lands in one cell of a (time slot x usage bin) grid: the window is
//      cut into SLOTS_PER_WINDOW slots; the cell accumulates time, energy and usage x time. Memory
//      is a fixed slots x bins grid whatever the refresh rate, and a slot is recycled whole when
//      the window moves past it.
//   2. A cell's mean power (energy / time, leaving out its lowest interval once it has three)
//      averages the interval-to-interval noise of the meter and of the usage sample away; a
//      bin's envelope is the time-weighted low quantile of its cells' means (never the single
//      lowest of two or more), which drops the slots in which something else drew power, rare
//      spikes, and rare glitches.
//   3. A Theil-Sen line through the bins' envelopes, its pairs weighted by their span (a median:
//      a bin or two off the line do not tilt it), intercept at usage 0, clamped to [0, the
//      envelope of the least-loaded bin]: see fitIdleBaseline().
//   4. Until the window holds enough spread of usage, the estimate says so ('lowest') and is the
//      envelope of the least-loaded bin: exact for a machine that only idles, an over-estimate
//      for one that never does.
//
// Pure: no I/O and no clock. Time is the nowSec each observation carries.
//
// Measured on synthetic series (a zone of 20 W at zero load, 90 W at full load; 300 seeds each;
// error at the 99th percentile): a node that idles and is loaded at times, fitted after 5 min,
// 5 % noise: 5.4 % at a 5 s refresh (worst 10 %), 0.4 % at 100 ms; after 10 min with 10 % noise
// and 5x spikes in 1 % of the intervals: 7.0 %, and with 0 W readings in another 0.5 %: 7.1 %;
// with a GPU adding 25 W 30 % of the time: 7.0 %. Usage swept 0..1: exact without noise, 9.9 %
// with 10 % noise at 5 s, 1.3 % with 3 % at 1 s. A step of the idle power is within 10 % after
// at most 565 s up (but for one seed in 200, 10.1 % off at 800 s through noise) and 145 s down.
// A concave power curve biases it high: Fan et al.'s curve swept 0..1, +13 %; the same node
// idling and loaded at times, +1 % (the idle bin anchors it).
//
// Cost (Node 20; a shared 2-core x86-64 VM where a bare `s += i * 0.5` loop runs at 7 ns per
// iteration, several times slower than a desktop core): observe() 30-50 ns; estimate() after an
// observe() 3 µs at a 5 s refresh and 10 µs with all 20 bins x 20 slots filled at 100 ms, most
// of it the Theil-Sen over 190 pairs of bins; 40 ns when cached (no observe() since). At a
// 100 ms refresh that is about 0.1 ms of CPU per second per zone on this VM.

export type IdleBaselineSource = 'fitted' | 'lowest';

export interface IdleBaselineEstimate {
  watts: number;
  source: IdleBaselineSource;
}

export interface IdleBaselineOptions {
  /**
   * How far back the learner looks, seconds; 600 (10 min) by default. Long enough that an
   * ordinary node (cron jobs, bursts, quiet moments) shows a spread of usage in it; short enough
   * that a change of hardware state (a BIOS power setting, C-states) is followed within one
   * window: a step down once about a tenth of each bin's time is new, a step up once about nine
   * tenths is (measured: at most 145 s and 565 s of the default 600 s).
   */
  windowSec?: number;
  /** Usage bins over [0, 1]; 20 (0.05 wide) by default: fine enough for a line, few enough to be cheap. */
  usageBins?: number;
  /**
   * The quantile of a bin's slot means that is its envelope; 0.1 by default, which skips the
   * slots in which other consumers added power for up to about nine tenths of a bin's time. A
   * GPU on psys is often busy exactly while the CPU idles: with a GPU adding 25 W 30 % of the
   * time in random runs (100 ms refresh, 60 seeds) the worst baseline was 6 % off at 0.1, 83 %
   * at 0.15 and 129 % at 0.25, where one window with the GPU on through most of the idle time is
   * enough. The price is the noise left in a slot mean: at a 5 s refresh with 10 % noise, 0.1
   * sits about 2 points lower than 0.25 (-2 % against 0 % on average), and a step up is followed
   * only once nine tenths of a bin's time is new (565 s against 505 s).
   */
  lowQuantile?: number;
  /** Seconds a bin needs in the window before it counts; 10 by default (two 5 s refreshes). */
  minBinSec?: number;
  /** Counted bins needed for a fit; 3 by default: two make a line, but leave nothing to check it against. */
  minFitBins?: number;
  /** Spread of usage (between the counted bins' mean usages) needed for a fit; 0.2 by default. */
  minFitSpread?: number;
}

/** Slots the window is cut into: the resolution at which old data leaves it (30 s of the default 600 s). */
export const SLOTS_PER_WINDOW = 20;

export const IDLE_BASELINE_DEFAULTS: Readonly<Required<IdleBaselineOptions>> = {
  windowSec: 600,
  usageBins: 20,
  lowQuantile: 0.1,
  minBinSec: 10,
  minFitBins: 3,
  minFitSpread: 0.2,
};

/** One usage bin over the window: where it sits and its lower envelope. */
export interface UsageBinEnvelope {
  /** The usage ratio of the slot whose mean power is the envelope (interpolated when between two). */
  usage: number;
  /** The bin's envelope, W: the low quantile of its slot means (never the lowest of two or more). */
  watts: number;
  /** Time the bin holds in the window, seconds. */
  seconds: number;
}

/** What fitIdleBaseline() concluded, with the line it used when it fitted one. */
export interface IdleBaselineFit extends IdleBaselineEstimate {
  /** W per unit of usage ratio; undefined unless fitted. */
  slope?: number;
  /** The intercept before the clamp, W; undefined unless fitted. */
  rawIntercept?: number;
  /** Bins that counted (held at least minBinSec). */
  binsUsed: number;
}

/**
 * The weighted q-quantile of the first n entries, found by selection (expected O(n), no sort)
 * and reordering them in place: the smallest value at which the cumulative weight of the values
 * at or below it reaches q of the total, or the mean of it and the next larger value when it
 * reaches q exactly (so that the median of an even count is the middle one, as usual). Entries
 * with a weight <= 0 are dropped. Undefined when no weight is positive.
 */
export function weightedQuantileInPlace(values: Float64Array, weights: Float64Array, n: number, q: number): number | undefined {
  let m = 0;
  let total = 0;
  for (let i = 0; i < n; i++) {
    if (!(weights[i] > 0)) continue;
    values[m] = values[i];
    weights[m] = weights[i];
    total += weights[i];
    m++;
  }
  if (m === 0) return undefined;
  const target = Math.min(1, Math.max(0, q)) * total;
  const tie = total * 1e-12;
  // [lo, hi] holds the candidates; `below` is the weight of every entry known to be smaller, and
  // nextAbove the smallest value known to be larger (NaN while none is).
  let lo = 0;
  let hi = m - 1;
  let below = 0;
  let nextAbove = NaN;
  for (;;) {
    const mid = (lo + hi) >> 1;
    const a = values[lo];
    const b = values[mid];
    const c = values[hi];
    const pivot = Math.max(Math.min(a, b), Math.min(Math.max(a, b), c));
    // Three-way partition: [lo, lt) < pivot, [lt, gt] = pivot, (gt, hi] > pivot.
    let lt = lo;
    let gt = hi;
    let i = lo;
    while (i <= gt) {
      const v = values[i];
      const w = weights[i];
      if (v < pivot) {
        values[i] = values[lt];
        weights[i] = weights[lt];
        values[lt] = v;
        weights[lt] = w;
        lt++;
        i++;
      } else if (v > pivot) {
        values[i] = values[gt];
        weights[i] = weights[gt];
        values[gt] = v;
        weights[gt] = w;
        gt--;
      } else {
        i++;
      }
    }
    let less = 0;
    for (let k = lo; k < lt; k++) less += weights[k];
    let equal = 0;
    for (let k = lt; k <= gt; k++) equal += weights[k];
    if (lt > lo && below + less >= target - tie) {
      hi = lt - 1;
      nextAbove = pivot;
      continue;
    }
    const cumulative = below + less + equal;
    // gt >= hi: nothing above the pivot is left, and only rounding kept the sum short of the target.
    if (cumulative >= target - tie || gt >= hi) {
      if (Math.abs(cumulative - target) > tie) return pivot;
      let next = nextAbove;
      for (let k = gt + 1; k <= hi; k++) if (!(values[k] >= next)) next = values[k];
      return Number.isNaN(next) ? pivot : (pivot + next) / 2;
    }
    below = cumulative;
    lo = gt + 1;
  }
}

/** weightedQuantileInPlace() on copies: the inputs are left alone. */
export function weightedQuantile(values: readonly number[], weights: readonly number[], q: number): number | undefined {
  const n = Math.min(values.length, weights.length);
  return weightedQuantileInPlace(new Float64Array(values.slice(0, n)), new Float64Array(weights.slice(0, n)), n, q);
}

/**
 * Weighted Theil-Sen line (Jaeckel's and Sievers' form): the slope is the median of the slopes
 * between every pair of points, each pair weighted by its distance in x; the intercept is the
 * median of y - slope x, each point weighted by its weight. The distance weighting matters here:
 * a node that idles and is loaded at times gives one bin near 0 and a cluster of bins at high
 * usage, and an unweighted median of slopes is then decided by the short, noisy pairs inside the
 * cluster rather than by the long pairs that span the cloud. As with any median, a minority of
 * points anywhere (a bin whose envelope another consumer raised) barely moves it; least squares
 * would follow them. Undefined with fewer than two distinct x.
 */
export function theilSenLine(xs: readonly number[], ys: readonly number[], weights?: readonly number[]): { slope: number; intercept: number } | undefined {
  const n = Math.min(xs.length, ys.length);
  const slopes = new Float64Array((n * (n - 1)) / 2);
  const spans = new Float64Array(slopes.length);
  let pairs = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const dx = xs[j] - xs[i];
      if (Math.abs(dx) <= 1e-12) continue;
      slopes[pairs] = (ys[j] - ys[i]) / dx;
      spans[pairs] = Math.abs(dx);
      pairs++;
    }
  }
  const slope = weightedQuantileInPlace(slopes, spans, pairs, 0.5);
  if (slope === undefined) return undefined;
  const offsets = new Float64Array(n);
  const pointWeights = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    offsets[i] = ys[i] - slope * xs[i];
    pointWeights[i] = weights === undefined ? 1 : weights[i];
  }
  const intercept = weightedQuantileInPlace(offsets, pointWeights, n, 0.5);
  return intercept === undefined ? undefined : { slope, intercept };
}

/**
 * The zero-load power from the bins' envelopes. Only bins with at least minBinSec count (a bin
 * passed through in one interval says little); without any such bin, every bin with data does.
 *
 * 'fitted' when at least minFitBins bins count and their usages span at least minFitSpread:
 * the Theil-Sen intercept, clamped to [0, the envelope of the least-loaded counted bin].
 *
 * The upper clamp: power does not fall as usage rises, so the power at zero load is at most the
 * power at the least load seen. It binds where the line overshoots at the low end: a zone whose
 * power hardly follows CPU usage (DRAM, psys with a busy GPU), where noise tilts the line down
 * and the level itself is the baseline; and a concave power curve (most packages: the first
 * cores woken cost the most), where a straight line through the whole range lands above the
 * low-usage data (on a Fan et al. curve swept 0..1 the line alone is about 37 % high, clamped
 * 13 %).
 * It is the least-loaded bin and not the lowest of all bins, nor the lowest power ever read:
 * those are the one value furthest down in the noise, and a single glitch (an interval read as
 * 0 W) in any sparse bin would pull the baseline to it, which simulation showed happening.
 * The lower clamp at 0 only guards a fit that a strongly convex curve, seen at high usage only,
 * pushes below zero.
 *
 * Otherwise 'lowest': the envelope of the least-loaded bin, that is the power at the lowest load
 * seen. Exact for a machine that only idles (to within the usage it idles at), and an
 * over-estimate, by the slope times that usage, for one that never does: nothing in the data of
 * a machine that never idles tells its idle power.
 */
export function fitIdleBaseline(bins: readonly UsageBinEnvelope[], opts: Readonly<Required<IdleBaselineOptions>> = IDLE_BASELINE_DEFAULTS): IdleBaselineFit | undefined {
  const withData = bins.filter((b) => b.seconds > 0 && Number.isFinite(b.watts) && Number.isFinite(b.usage));
  if (withData.length === 0) return undefined;
  const counted = withData.filter((b) => b.seconds >= opts.minBinSec);
  const used = counted.length > 0 ? counted : withData;
  let leastLoaded = used[0];
  let maxUsage = -Infinity;
  for (const b of used) {
    if (b.usage < leastLoaded.usage) leastLoaded = b;
    maxUsage = Math.max(maxUsage, b.usage);
  }
  if (counted.length >= opts.minFitBins && maxUsage - leastLoaded.usage >= opts.minFitSpread) {
    const line = theilSenLine(
      counted.map((b) => b.usage),
      counted.map((b) => b.watts),
      counted.map((b) => b.seconds),
    );
    if (line !== undefined) {
      const watts = Math.min(leastLoaded.watts, Math.max(0, line.intercept));
      return { watts, source: 'fitted', slope: line.slope, rawIntercept: line.intercept, binsUsed: counted.length };
    }
  }
  return { watts: leastLoaded.watts, source: 'lowest', binsUsed: used.length };
}

/** Resolves options against the defaults, falling back to a default for any value that makes no sense. */
export function resolveIdleBaselineOptions(opts: IdleBaselineOptions = {}): Required<IdleBaselineOptions> {
  const d = IDLE_BASELINE_DEFAULTS;
  const positive = (v: number | undefined, fallback: number): number => (v !== undefined && Number.isFinite(v) && v > 0 ? v : fallback);
  return {
    windowSec: positive(opts.windowSec, d.windowSec),
    usageBins: Math.max(1, Math.round(positive(opts.usageBins, d.usageBins))),
    lowQuantile: opts.lowQuantile !== undefined && opts.lowQuantile >= 0 && opts.lowQuantile <= 1 ? opts.lowQuantile : d.lowQuantile,
    minBinSec: opts.minBinSec !== undefined && Number.isFinite(opts.minBinSec) && opts.minBinSec >= 0 ? opts.minBinSec : d.minBinSec,
    minFitBins: Math.max(2, Math.round(positive(opts.minFitBins, d.minFitBins))),
    minFitSpread: opts.minFitSpread !== undefined && Number.isFinite(opts.minFitSpread) && opts.minFitSpread >= 0 ? opts.minFitSpread : d.minFitSpread,
  };
}

/** One zone's learner: feed it every refresh interval, read the baseline whenever. */
export class IdleBaseline {
  private readonly opts: Required<IdleBaselineOptions>;
  private readonly slotSec: number;
  private readonly bins: number;
  /** Per ring row, the absolute slot index (floor(nowSec / slotSec)) its cells hold; NaN when empty. */
  private readonly rowSlot: Float64Array;
  /** Per cell (row x bins + bin): seconds, joules, usage x seconds, and the number of intervals. */
  private readonly cellSec: Float64Array;
  private readonly cellJoules: Float64Array;
  private readonly cellUsageSec: Float64Array;
  private readonly cellIntervals: Float64Array;
  /** Per cell, its lowest-power interval: power, seconds and usage, so that the mean can leave it out. */
  private readonly cellMinWatts: Float64Array;
  private readonly cellMinSec: Float64Array;
  private readonly cellMinUsage: Float64Array;
  /**
   * Per bin, its envelope as last computed, and whether a cell of it changed since: an interval
   * changes one cell, so estimate() redoes one bin, not all of them (all of them once per slot,
   * when the window moves).
   */
  private readonly binUsage: Float64Array;
  private readonly binWatts: Float64Array;
  private readonly binSec: Float64Array;
  private readonly binStale: Uint8Array;
  /** Scratch for one bin's slot means, their weights and usages; the selection reorders the first two. */
  private readonly slotWatts = new Float64Array(SLOTS_PER_WINDOW);
  private readonly slotWeights = new Float64Array(SLOTS_PER_WINDOW);
  private readonly slotWattsInOrder = new Float64Array(SLOTS_PER_WINDOW);
  private readonly slotUsage = new Float64Array(SLOTS_PER_WINDOW);
  private latestSec = -Infinity;
  private latestSlot = NaN;
  private cached: IdleBaselineEstimate | undefined;
  private dirty = false;

  constructor(opts?: IdleBaselineOptions) {
    this.opts = resolveIdleBaselineOptions(opts);
    this.slotSec = this.opts.windowSec / SLOTS_PER_WINDOW;
    this.bins = this.opts.usageBins;
    this.rowSlot = new Float64Array(SLOTS_PER_WINDOW).fill(NaN);
    const cells = SLOTS_PER_WINDOW * this.bins;
    this.cellSec = new Float64Array(cells);
    this.cellJoules = new Float64Array(cells);
    this.cellUsageSec = new Float64Array(cells);
    this.cellIntervals = new Float64Array(cells);
    this.cellMinWatts = new Float64Array(cells);
    this.cellMinSec = new Float64Array(cells);
    this.cellMinUsage = new Float64Array(cells);
    this.binUsage = new Float64Array(this.bins);
    this.binWatts = new Float64Array(this.bins);
    this.binSec = new Float64Array(this.bins);
    this.binStale = new Uint8Array(this.bins);
  }

  /**
   * One refresh interval: the node's CPU usage ratio (0..1) and the zone's mean power over it.
   * nowSec: a monotonic time in seconds (a time earlier than one already seen counts as that
   * one). Ignored: elapsedSec <= 0, any non-finite value, a usage ratio outside [0, 1] and a
   * negative power, none of which a sane meter and sampler produce.
   */
  observe(usageRatio: number, watts: number, elapsedSec: number, nowSec: number): void {
    if (!(elapsedSec > 0) || !Number.isFinite(elapsedSec) || !Number.isFinite(usageRatio) || !Number.isFinite(watts) || !Number.isFinite(nowSec)) return;
    if (usageRatio < 0 || usageRatio > 1 || watts < 0) return;
    this.latestSec = Math.max(this.latestSec, nowSec);
    const slot = Math.floor(this.latestSec / this.slotSec);
    const row = ((slot % SLOTS_PER_WINDOW) + SLOTS_PER_WINDOW) % SLOTS_PER_WINDOW;
    if (this.rowSlot[row] !== slot) {
      // The row held a slot that has left the window (or nothing): recycle it whole.
      const start = row * this.bins;
      const end = start + this.bins;
      this.cellSec.fill(0, start, end);
      this.cellJoules.fill(0, start, end);
      this.cellUsageSec.fill(0, start, end);
      this.cellIntervals.fill(0, start, end);
      this.rowSlot[row] = slot;
    }
    if (slot !== this.latestSlot) {
      // The window moved: any row may have left it.
      this.binStale.fill(1);
      this.latestSlot = slot;
    }
    const bin = Math.min(this.bins - 1, Math.floor(usageRatio * this.bins));
    const cell = row * this.bins + bin;
    if (this.cellIntervals[cell] === 0 || watts < this.cellMinWatts[cell]) {
      this.cellMinWatts[cell] = watts;
      this.cellMinSec[cell] = elapsedSec;
      this.cellMinUsage[cell] = usageRatio;
    }
    this.cellSec[cell] += elapsedSec;
    this.cellJoules[cell] += watts * elapsedSec;
    this.cellUsageSec[cell] += usageRatio * elapsedSec;
    this.cellIntervals[cell]++;
    this.binStale[bin] = 1;
    this.dirty = true;
  }

  /** The zone's zero-load power; undefined before any usable observation. Cached until the next observe(). */
  estimate(): IdleBaselineEstimate | undefined {
    if (this.dirty) {
      const fit = fitIdleBaseline(this.envelopes(), this.opts);
      this.cached = fit === undefined ? undefined : { watts: fit.watts, source: fit.source };
      this.dirty = false;
    }
    return this.cached;
  }

  /** Each usage bin's envelope over the slots still in the window, lowest usage first; bins without data are left out. */
  envelopes(): UsageBinEnvelope[] {
    const out: UsageBinEnvelope[] = [];
    for (let bin = 0; bin < this.bins; bin++) {
      if (this.binStale[bin] === 1) this.refreshBin(bin);
      if (this.binSec[bin] > 0) out.push({ usage: this.binUsage[bin], watts: this.binWatts[bin], seconds: this.binSec[bin] });
    }
    return out;
  }

  /** Cells holding data in the window: the memory in use, at most SLOTS_PER_WINDOW x usageBins whatever the refresh rate. */
  get heldCells(): number {
    let n = 0;
    for (let row = 0; row < SLOTS_PER_WINDOW; row++) {
      if (!this.inWindow(row)) continue;
      for (let bin = 0; bin < this.bins; bin++) if (this.cellSec[row * this.bins + bin] > 0) n++;
    }
    return n;
  }

  /** Slots are whole: the window is the latest slot and the SLOTS_PER_WINDOW - 1 before it. */
  private inWindow(row: number): boolean {
    return this.rowSlot[row] > this.latestSlot - SLOTS_PER_WINDOW;
  }

  private refreshBin(bin: number): void {
    let n = 0;
    let seconds = 0;
    for (let row = 0; row < SLOTS_PER_WINDOW; row++) {
      const cell = row * this.bins + bin;
      const s = this.cellSec[cell];
      if (s <= 0 || !this.inWindow(row)) continue;
      seconds += s;
      let sec = s;
      let joules = this.cellJoules[cell];
      let usageSec = this.cellUsageSec[cell];
      // A slot's mean leaves out its lowest interval once it has three or more (and that one is
      // under half its time): one interval read as 0 W (a rejected or stuck counter read) then
      // cannot drag the slot down, and the slot's noise loses its lowest draw, which offsets a
      // little of the downward pull of taking a low quantile of noisy means.
      const minSec = this.cellMinSec[cell];
      if (this.cellIntervals[cell] >= 3 && minSec < 0.5 * s) {
        sec -= minSec;
        joules -= this.cellMinWatts[cell] * minSec;
        usageSec -= this.cellMinUsage[cell] * minSec;
      }
      const w = joules / sec;
      this.slotWatts[n] = w;
      this.slotWattsInOrder[n] = w;
      this.slotWeights[n] = sec;
      this.slotUsage[n] = usageSec / sec;
      n++;
    }
    this.binSec[bin] = seconds;
    if (n === 0) {
      this.binStale[bin] = 0;
      return;
    }
    // Never the single lowest slot of two or more: a slot that glitches dragged down cannot
    // become the envelope of a bin that has only a few slots, as in a sweep, where a bin gets
    // one or two intervals per pass. It binds only where the quantile falls on the lowest slot,
    // that is with fewer than about ten slots of like weight.
    let lowest = Infinity;
    let second = Infinity;
    for (let k = 0; k < n; k++) {
      const v = this.slotWattsInOrder[k];
      if (v < lowest) {
        second = lowest;
        lowest = v;
      } else if (v < second) second = v;
    }
    const quantile = weightedQuantileInPlace(this.slotWatts, this.slotWeights, n, this.opts.lowQuantile) ?? lowest;
    const watts = n >= 2 ? Math.max(quantile, second) : quantile;
    this.binWatts[bin] = watts;
    this.binUsage[bin] = this.usageAtEnvelope(n, watts);
    this.binStale[bin] = 0;
  }

  /**
   * The usage of the slot the envelope is, or interpolated between the two it lies between: the
   * bin's point is that slot's (usage, power). The bin's mean usage would not do: within a bin
   * 0.05 wide, the slots of lower usage draw less, so a low quantile leans to them, and pairing
   * it with the mean usage tilts every bin the same way (about -2 % on the intercept).
   */
  private usageAtEnvelope(n: number, watts: number): number {
    let below = -1;
    let above = -1;
    for (let k = 0; k < n; k++) {
      const v = this.slotWattsInOrder[k];
      if (v <= watts && (below < 0 || v > this.slotWattsInOrder[below])) below = k;
      if (v >= watts && (above < 0 || v < this.slotWattsInOrder[above])) above = k;
    }
    if (below < 0) return this.slotUsage[above];
    if (above < 0) return this.slotUsage[below];
    const lo = this.slotWattsInOrder[below];
    const hi = this.slotWattsInOrder[above];
    if (hi <= lo) return this.slotUsage[below];
    return this.slotUsage[below] + ((this.slotUsage[above] - this.slotUsage[below]) * (watts - lo)) / (hi - lo);
  }
}
