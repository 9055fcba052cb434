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
 * The container level's unattributed energy of one interval (everything that ran outside a
 * container, plus what nothing explains), split for Kepler 0.7's pseudo containers: the part
 * kernel threads were billed at process level goes to `kernel_processes` (never more than there
 * is), the rest to `system_processes`. Per zone; kernel + system = unattributed exactly.
 */
export function splitOutsideContainers(unattributedUj: readonly number[], kernelThreadsUj: readonly number[]): { kernelUj: number[]; systemUj: number[] } {
  const kernelUj = unattributedUj.map((u, z) => Math.min(Math.max(u, 0), Math.max(kernelThreadsUj[z] ?? 0, 0)));
  return { kernelUj, systemUj: unattributedUj.map((u, z) => u - kernelUj[z]) };
}

/** Joules as a decimal string from an exact µJ count: full precision at any size. */
export function formatJoules(uj: bigint): string {
  // Fast path only below 2^33 J: there a double's spacing (at most 2^-20) is finer than 1 µJ, so
  // the shortest round-trip string of uj / 1e6 is the exact decimal. Between 2^33 J and 2^53 µJ
  // (about 10 days at 10 kW) it is not: 8589934592000001 µJ would print as 8589934592.000002.
  if (uj < 8_589_934_592_000_000n) return String(Number(uj) / 1e6);
  const whole = uj / 1_000_000n;
  const frac = (uj % 1_000_000n).toString().padStart(6, '0').replace(/0+$/, '');
  return frac ? `${whole}.${frac}` : `${whole}`;
}
