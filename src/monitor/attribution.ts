// The arithmetic of attribution.md sections 2 and 3, in integer microjoules so that every
// invariant holds exactly: node total = active + idle, and per level, the workloads' shares plus
// the unattributed remainder = node active. Pure functions: no I/O, no clock.

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

export interface LevelShares {
  /** sharesUj[w][z]: energy of workload w in zone z this interval. */
  sharesUj: number[][];
  /** unattributedUj[z]: active energy no workload of the level explains. */
  unattributedUj: number[];
}

/**
 * Shares of the zones' active energy for one level (processes, containers, VMs or pods):
 * workload w gets floor(A_z x c_w / D) with D = max(node active CPU, sum of c over the level), so
 * the shares never exceed A_z even when accounting skew makes the workloads' CPU time exceed the
 * node's. What is left is returned as the unattributed remainder, never spread over survivors.
 */
export function attributeLevel(activeUj: readonly number[], cpuDeltaSec: readonly number[], nodeActiveCpuSec: number): LevelShares {
  let sum = 0;
  for (const c of cpuDeltaSec) sum += c;
  const d = Math.max(nodeActiveCpuSec, sum);
  const unattributedUj = [...activeUj];
  const sharesUj = cpuDeltaSec.map((c) =>
    activeUj.map((a, z) => {
      if (d <= 0 || c <= 0) return 0;
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
