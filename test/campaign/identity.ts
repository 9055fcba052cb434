// The attribution identity at a scrape, and monotonic counters.
//
// THE IDENTITY. Per zone z and workload level L (process, container, vm, pod), at every scrape:
//
//     Σ_{series s of kepler_<L>_cpu_joules_total{zone=z} in the scrape} v(s)
//       + kepler_node_cpu_unattributed_joules_total{zone=z,level=L}
//       + kepler_node_cpu_dropped_joules_total{zone=z,level=L}
//     = kepler_node_cpu_active_joules_total{zone=z}
//
// within max(1e-9 x active, 1e-5 J) (the exporter keeps exact µJ; the slack is float parsing
// and summing). It holds whatever happened between scrapes (several refreshes, workloads that
// came and went unseen, terminated series that ended): a workload's series leaves the
// exposition exactly when its totals move into dropped (README, Metrics). It holds for every
// scraper alike, so it needs no pairing of series between scrapes.

import { seriesKey, select, type Exposition } from '../support/exposition.js';

export const LEVELS = ['process', 'container', 'vm', 'pod'] as const;
export type Level = (typeof LEVELS)[number];

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

/** One series of the sum: its key and value (the largest explain a failure). */
export interface Contribution {
  key: string;
  value: number;
}

/** Every (zone, level) check of one scrape, for the levels the exposition has. */
export function checkIdentity(cur: Exposition, levels: readonly Level[] = LEVELS): IdentityCheck[] {
  const out: IdentityCheck[] = [];
  for (const z of select(cur, 'kepler_node_cpu_active_joules_total')) {
    const zone = z.labels.zone;
    const active = z.value;
    for (const level of levels) {
      const unattributed = only(cur, 'kepler_node_cpu_unattributed_joules_total', { zone, level });
      if (unattributed === undefined) continue; // level not exported
      const dropped = only(cur, 'kepler_node_cpu_dropped_joules_total', { zone, level }) ?? 0;
      const series = select(cur, `kepler_${level}_cpu_joules_total`, { zone });
      let workloads = 0;
      for (const x of series) workloads += x.value;
      const residual = workloads + unattributed + dropped - active;
      const top = series
        .map((x) => ({ key: seriesKey(x), value: x.value }))
        .sort((p, q) => q.value - p.value)
        .slice(0, 3);
      out.push({ zone, level, workloads, unattributed, dropped, active, residual, ok: Math.abs(residual) <= Math.max(1e-9 * active, 1e-5), top });
    }
  }
  return out;
}

/** Summary of many checks: "N checks, M failed, max |residual| X J". */
export class IdentityTally {
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
        const top = c.top.map((t) => `${t.key.replace(/,?node_name="[^"]*"/, '').replace(/,?zone="[^"]*"/, '')} ${t.value.toFixed(3)}`).join(', ');
        this.first ??= `scrape ${scrapeNo} ${c.level}/${c.zone}: workloads ${c.workloads.toFixed(6)} + unattributed ${c.unattributed.toFixed(6)} + dropped ${c.dropped.toFixed(6)} ≠ active ${c.active.toFixed(6)} (off by ${c.residual.toFixed(6)} J; largest series: ${top || 'none'})`;
      }
    }
  }

  /** Checks the identity at a successful scrape (`check` false: skip it); a failed scrape is fed as undefined. */
  feed(scrapeNo: number, cur: Exposition | undefined, check = true): void {
    if (cur && check) this.add(scrapeNo, checkIdentity(cur, LEVELS));
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
