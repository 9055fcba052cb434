// The arithmetic of attribution.md sections 2 and 3, in integer microjoules so that every
// invariant holds exactly: node total = active + idle, and per level, the workloads' shares plus
// the unattributed remainder = node active (and, with monitor.idle.attribution, the workloads'
// idle shares plus the unattributed idle = node idle). Pure functions: no I/O, no clock.

export interface ActiveIdle {
  activeUj: number;
  idleUj: number;
}

/** Splits a zone's energy delta by the node usage ratio of the same interval. */
export function splitActiveIdle(deltaUj: number, usageRatio: number): ActiveIdle {
  const u = Math.min(1, Math.max(0, usageRatio));
  const activeUj = Math.round(deltaUj * u);
  return { activeUj, idleUj: deltaUj - activeUj };
}

/**
 * Splits a zone's energy delta by its idle baseline (monitor.idle.model: baseline): idle is what
 * the zone draws at zero load over the interval, never more than the interval's energy, and
 * active is the rest. Unlike the usage-ratio split, idle does not collapse under load: a package
 * drawing 20 W at zero load and 90 W at 90 % usage has 20 W of idle and 70 W of active power.
 */
export function splitByBaseline(deltaUj: number, idleWatts: number, elapsedSec: number): ActiveIdle {
  const budget = Math.round(Math.max(0, idleWatts) * Math.max(0, elapsedSec) * 1e6);
  const idleUj = Number.isFinite(budget) ? Math.min(deltaUj, budget) : deltaUj;
  return { activeUj: deltaUj - idleUj, idleUj };
}

/** Who pays for the node's idle energy (monitor.idle.attribution). */
export type IdleAttribution = 'none' | 'cpu' | 'request' | 'even';

/** What a workload brings to the idle split. */
export interface IdleWeighed {
  readonly cpuDeltaSec: number;
  readonly cpuTotalSec: number;
  /** CPU request in cores; 0 or absent: none (processes and VMs never have one). */
  readonly cpuRequestCores?: number;
}

/** The weights of one level's idle split, and the least denominator (see attributeLevel). */
export interface IdleBasis {
  readonly weights: number[];
  readonly floor: number;
}

/**
 * The weights with which a level's workloads share the node's idle energy of one interval:
 * - cpu: the interval's CPU time, over the same denominator as the active energy (node active
 *   CPU, or the level's sum when skew puts it above): idle goes with the CPU time as active energy
 *   does, and the idle share of CPU time no workload of the level explains (daemons outside
 *   containers, at container level) stays unattributed rather than being spread over the others.
 * - request: the CPU request in cores (containers, pods), among the workloads that have one:
 *   allocation by reservation. Workloads without a request, and so every process and VM, get none.
 * - even: 1 for each workload that has used CPU since the exporter saw it (running, or ended in
 *   this interval). One that never ran (a sleeping daemon, most kernel threads) reserves nothing
 *   and has no process series to carry the share.
 */
export function idleBasis(policy: Exclude<IdleAttribution, 'none'>, workloads: readonly IdleWeighed[], nodeActiveCpuSec: number): IdleBasis {
  switch (policy) {
    case 'cpu':
      return { weights: workloads.map((w) => w.cpuDeltaSec), floor: nodeActiveCpuSec };
    case 'request':
      return { weights: workloads.map((w) => (w.cpuRequestCores !== undefined && Number.isFinite(w.cpuRequestCores) && w.cpuRequestCores > 0 ? w.cpuRequestCores : 0)), floor: 0 };
    case 'even':
      return { weights: workloads.map((w) => (w.cpuTotalSec > 0 ? 1 : 0)), floor: 0 };
  }
}

export interface LevelShares {
  /**
   * sharesUj[w][z]: energy of workload w in zone z this interval. Read-only: the workloads billed
   * nothing share one row of zeros (most processes sleep through most intervals).
   */
  sharesUj: (readonly number[])[];
  /** unattributedUj[z]: active energy no workload of the level explains. */
  unattributedUj: number[];
}

/**
 * Shares of the zones' active energy for one level (processes, containers, VMs or pods):
 * workload w gets floor(A_z x c_w / D) with D = max(node active CPU, sum of c over the level), so
 * the shares never exceed A_z even when accounting skew makes the workloads' CPU time exceed the
 * node's. What is left is returned as the unattributed remainder, never spread over survivors.
 * The idle split uses it too, with the zones' idle energy and an IdleBasis's weights and floor.
 */
export function attributeLevel(activeUj: readonly number[], cpuDeltaSec: readonly number[], nodeActiveCpuSec: number): LevelShares {
  let sum = 0;
  for (const c of cpuDeltaSec) sum += c;
  const d = Math.max(nodeActiveCpuSec, sum);
  const unattributedUj = [...activeUj];
  const none: readonly number[] = activeUj.map(() => 0);
  const sharesUj = cpuDeltaSec.map((c) =>
    d <= 0 || c <= 0
      ? none
      : activeUj.map((a, z) => {
          const s = Math.floor((a * c) / d);
          unattributedUj[z] -= s;
          return s;
        }),
  );
  return { sharesUj, unattributedUj };
}

/**
 * `totalUj` in whole µJ over weights, by largest remainder: each gets floor(total x w / W), and
 * the µJ left go one each to the largest remainders (the first on a tie). The result adds up to
 * `totalUj` exactly, and equals the weights when they add up to it. Equal weights when they are
 * all 0. Exact (BigInt) whatever the magnitudes.
 */
export function apportion(totalUj: number, weights: readonly number[]): number[] {
  if (weights.length === 0) return [];
  const ws = weights.map((w) => BigInt(Math.max(0, Math.round(w))));
  let sum = ws.reduce((a, b) => a + b, 0n);
  if (sum === 0n) {
    ws.fill(1n);
    sum = BigInt(ws.length);
  }
  const total = BigInt(totalUj);
  const shares = ws.map((w) => (total * w) / sum);
  let left = total - shares.reduce((a, b) => a + b, 0n);
  const byRemainder = ws.map((w, i) => ({ i, r: (total * w) % sum })).sort((a, b) => (a.r === b.r ? a.i - b.i : a.r > b.r ? -1 : 1));
  for (const { i } of byRemainder) {
    if (left <= 0n) break;
    shares[i]++;
    left--;
  }
  return shares.map(Number);
}

/**
 * A summed zone's interval over its parts (sockets), from each part's own delta: part k gets
 * its delta (the zone's delta apportioned by them, should they not add up to it), and of that
 * its share of the zone's active energy. Per part active + idle = its delta, and the parts add
 * up to the zone's active and idle exactly; a part's active never exceeds its delta.
 */
export function splitOverParts(zone: ActiveIdle, partDeltasUj: readonly number[]): ActiveIdle[] {
  const totals = apportion(zone.activeUj + zone.idleUj, partDeltasUj);
  const active = apportion(zone.activeUj, totals);
  return totals.map((t, k) => ({ activeUj: active[k], idleUj: t - active[k] }));
}
