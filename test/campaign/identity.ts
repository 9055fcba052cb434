// The attribution identity between two consecutive scrapes, and monotonic counters.
//
// THE IDENTITY. Per zone z and workload level L (process, container, vm, pod), between scrape
// k-1 and scrape k (each scrape is one refresh: run the exporter with
// --monitor.interval=0s --monitor.staleness=0s and scrape one request at a time):
//
//     Σ_{series s of L present at k} ( v_k(s) − v_{k-1}(pred(s)) )
//       + Δ kepler_node_cpu_unattributed_joules_total{zone=z,level=L}
//       + Δ kepler_node_cpu_dropped_joules_total{zone=z,level=L}      (absent: 0)
//     = Δ kepler_node_cpu_active_joules_total{zone=z}
//
// within max(1e-6 x |Δactive|, 1 µJ) (the exporter keeps exact µJ; the slack is float parsing).
//
// The identity also holds when several refreshes happen between two scrapes (a timer interval
// shorter than the scrape interval): totals are cumulative, a workload that came and went unseen
// between the scrapes is either shown as terminated at k (its whole total counts from 0) or
// not shown at all (its energy is in Δdropped), and one shown at k-1 that ended unshown adds
// its energy since k-1 to Δdropped. F15 relies on this; H3 and F4 scrape with interval 0s.
//
// pred(s) is the series at k-1 that s continues, with value 0 when there is none (a workload
// first shown at k: every total starts at zero). A series present at k-1 and gone at k (a
// terminated series shown for the last time, or a workload that ended and was not kept) is
// "left at its last value": it adds nothing. What such a workload used after the last scrape
// that showed it is what the dropped counter is for.
//
// Finding pred(s): workloads are identified by pid (process), container_id, vm_id or pod_id.
// Within one identity, in this order:
//   1. a series with exactly the same labels at k-1 (running -> running);
//   2. otherwise a running series of the same identity at k-1 that has no exact match at k:
//      the same workload ended (running -> terminated, preferring the one whose other labels
//      are equal) or relabelled (a process that exec'd has a new comm and exe);
//   3. otherwise, when the identity has no series at all at k-1 but had some at one of the
//      three scrapes before, the series with exactly the same labels there: a series missing
//      from one or a few scrapes (a process whose stat could not be read that time) resumes
//      from its last value ("left at its last value" while it was away);
//   4. otherwise none (0).
// Each series at k-1 is a predecessor at most once. The sum is linear, so when a pid is reused
// within an interval (old process terminated, new one running with the same labels) the
// pairing may swap, but the sum is the same. The one case this cannot see: a reused pid whose
// old process was *not* kept as terminated (dropped) and whose new process has exactly the old
// labels; it is rare (pid_max is 32768 and most pids are exported only after using CPU).

import { seriesKey, select, type Exposition, type Sample } from '../support/exposition.js';

export const LEVELS = ['process', 'container', 'vm', 'pod'] as const;
export type Level = (typeof LEVELS)[number];

const ID_LABEL: Record<Level, string> = { process: 'pid', container: 'container_id', vm: 'vm_id', pod: 'pod_id' };

export interface IdentityCheck {
  zone: string;
  level: Level;
  workloads: number;
  unattributed: number;
  dropped: number;
  active: number;
  residual: number;
  ok: boolean;
  /** The largest workload deltas (for a failure's explanation). */
  top: Contribution[];
}

function only(e: Exposition, name: string, match: Record<string, string>): number | undefined {
  const s = select(e, name, match);
  return s.length ? s[0].value : undefined;
}

/** One series' part of a workload delta: its key, its value now, and its predecessor's (or 0). */
export interface Contribution {
  key: string;
  now: number;
  before: number;
}

/** Σ of this interval's workload deltas of one level and zone, pairing series as described above. */
export function workloadDelta(prev: Exposition, cur: Exposition, level: Level, zone: string, parts: Contribution[] = [], older: readonly Exposition[] = []): number {
  const name = `kepler_${level}_cpu_joules_total`;
  const idOf = (s: Sample) => s.labels[ID_LABEL[level]] ?? '';
  const group = (e: Exposition) => {
    const g = new Map<string, Map<string, Sample>>();
    for (const s of select(e, name, { zone })) {
      const id = idOf(s);
      let m = g.get(id);
      if (!m) g.set(id, (m = new Map()));
      m.set(seriesKey(s), s);
    }
    return g;
  };
  const before = group(prev);
  const now = group(cur);
  const earlier = older.slice(0, 3).map(group);
  let delta = 0;
  for (const [id, nowSeries] of now) {
    const prevSeries = before.get(id) ?? new Map<string, Sample>();
    // Rule 3: absent at k-1, back from an earlier scrape.
    const away = before.has(id) ? undefined : earlier.find((g) => g.has(id))?.get(id);
    const unmatchedNow: Sample[] = [];
    for (const [k, s] of nowSeries) {
      const p = prevSeries.get(k) ?? away?.get(k);
      if (p) {
        delta += s.value - p.value;
        parts.push({ key: k, now: s.value, before: p.value });
      } else unmatchedNow.push(s);
    }
    const candidates = [...prevSeries.entries()].filter(([k, s]) => !nowSeries.has(k) && s.labels.state !== 'terminated').map(([, s]) => s);
    // Terminated first: they are the likeliest continuation of a running series gone at k.
    unmatchedNow.sort((a, b) => (a.labels.state === 'terminated' ? 0 : 1) - (b.labels.state === 'terminated' ? 0 : 1));
    for (const s of unmatchedNow) {
      const sameButState = seriesKey(s, ['state']);
      let i = candidates.findIndex((c) => seriesKey(c, ['state']) === sameButState);
      if (i < 0) i = candidates.length ? 0 : -1;
      const p = i >= 0 ? candidates.splice(i, 1)[0] : undefined;
      delta += s.value - (p?.value ?? 0);
      parts.push({ key: seriesKey(s), now: s.value, before: p?.value ?? 0 });
    }
  }
  return delta;
}

/** Every (zone, level) check between two scrapes, for the levels the exposition has. */
export function checkIdentity(prev: Exposition, cur: Exposition, levels: readonly Level[] = LEVELS, older: readonly Exposition[] = []): IdentityCheck[] {
  const out: IdentityCheck[] = [];
  for (const z of select(cur, 'kepler_node_cpu_active_joules_total')) {
    const zone = z.labels.zone;
    const a0 = only(prev, 'kepler_node_cpu_active_joules_total', { zone });
    if (a0 === undefined) continue;
    const active = z.value - a0;
    for (const level of levels) {
      const u1 = only(cur, 'kepler_node_cpu_unattributed_joules_total', { zone, level });
      const u0 = only(prev, 'kepler_node_cpu_unattributed_joules_total', { zone, level });
      if (u1 === undefined || u0 === undefined) continue; // level not exported
      const d1 = only(cur, 'kepler_node_cpu_dropped_joules_total', { zone, level }) ?? 0;
      const d0 = only(prev, 'kepler_node_cpu_dropped_joules_total', { zone, level }) ?? 0;
      const parts: Contribution[] = [];
      const workloads = workloadDelta(prev, cur, level, zone, parts, older);
      parts.sort((a, b) => Math.abs(b.now - b.before) - Math.abs(a.now - a.before));
      const residual = workloads + (u1 - u0) + (d1 - d0) - active;
      out.push({
        zone,
        level,
        workloads,
        unattributed: u1 - u0,
        dropped: d1 - d0,
        active,
        residual,
        ok: Math.abs(residual) <= Math.max(1e-6 * Math.abs(active), 1e-6),
        top: parts.slice(0, 3),
      });
    }
  }
  return out;
}

/** Summary of many checks: "N checks, M failed, max |residual| X J". */
export class IdentityTally {
  /** Scrapes before the previous one, most recent first (for rule 3). */
  private history: Exposition[] = [];
  private prev: Exposition | undefined;
  checks = 0;
  failed = 0;
  maxResidual = 0;
  first: string | undefined;
  levels = new Set<string>();

  add(scrapeNo: number, checks: IdentityCheck[]): void {
    for (const c of checks) {
      this.checks++;
      this.levels.add(c.level);
      this.maxResidual = Math.max(this.maxResidual, Math.abs(c.residual));
      if (!c.ok) {
        this.failed++;
        const top = c.top
          .map((t) => `${t.key.replace(/,?node_name="[^"]*"/, '').replace(/,?zone="[^"]*"/, '')} ${t.before.toFixed(3)}→${t.now.toFixed(3)}`)
          .join(', ');
        this.first ??=
          `scrape ${scrapeNo} ${c.level}/${c.zone}: workloads ${c.workloads.toFixed(6)} + unattributed ${c.unattributed.toFixed(6)} + dropped ${c.dropped.toFixed(6)} ≠ active ${c.active.toFixed(6)} (off by ${c.residual.toFixed(6)} J; largest series deltas: ${top || 'none'})`;
      }
    }
  }

  /**
   * Feeds every successful scrape in order; checks the identity against the previous one when
   * `check` is true (false for a scrape whose interval is not meant to satisfy it). A failed
   * scrape is fed as undefined: the next one is then not checked.
   */
  feed(scrapeNo: number, cur: Exposition | undefined, check = true): void {
    if (cur && this.prev && check) this.add(scrapeNo, checkIdentity(this.prev, cur, LEVELS, this.history));
    if (this.prev) this.history = [this.prev, ...this.history].slice(0, 3);
    if (!cur) this.history = [];
    this.prev = cur;
  }

  get ok(): boolean {
    return this.checks > 0 && this.failed === 0;
  }

  text(): string {
    if (this.checks === 0) return 'identity: no checks (no level exported?)';
    return `identity ${this.checks - this.failed}/${this.checks} ok over levels ${[...this.levels].join(',')}, max |residual| ${this.maxResidual.toExponential(2)} J${this.first ? `; first failure: ${this.first}` : ''}`;
  }
}

/** Tracks the highest value each counter series (by its full labels) has shown; reports decreases. */
export class MonotonicWatch {
  private readonly seen = new Map<string, number>();
  decreases = 0;
  worst: string | undefined;
  private worstDrop = 0;

  constructor(private readonly filter: (name: string) => boolean = (n) => n.endsWith('_joules_total')) {}

  add(e: Exposition): void {
    for (const s of e.samples) {
      if (!this.filter(s.name)) continue;
      const k = seriesKey(s);
      const before = this.seen.get(k);
      if (before !== undefined && s.value < before - 1e-9) {
        this.decreases++;
        if (before - s.value > this.worstDrop) {
          this.worstDrop = before - s.value;
          this.worst = `${k}: ${before} -> ${s.value}`;
        }
      }
      if (before === undefined || s.value > before) this.seen.set(k, s.value);
    }
  }

  text(): string {
    return this.decreases === 0 ? `no counter went down (${this.seen.size} series)` : `${this.decreases} decreases, worst ${this.worst}`;
  }
}

/** kepler_exporter_refresh_errors_total{kind} (undefined when the kind is not exported). */
export function refreshErrors(e: Exposition | undefined, kind: string): number | undefined {
  if (!e) return undefined;
  return only(e, 'kepler_exporter_refresh_errors_total', { kind });
}
