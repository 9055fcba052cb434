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
