// /proc/stat: the aggregate `cpu` line, in clock ticks, and the node usage ratio of an interval.

export interface CpuTimes {
  user: number;
  nice: number;
  system: number;
  idle: number;
  iowait: number;
  irq: number;
  softirq: number;
  steal: number;
}

/** Parses the first (aggregate) `cpu ` line of /proc/stat. Throws with a message on malformed input. */
export function parseProcStat(text: string): CpuTimes {
  const start = text.startsWith('cpu ') ? 0 : text.indexOf('\ncpu ') + 1;
  if (start < 0 || !text.startsWith('cpu ', start)) throw new Error('no aggregate "cpu" line');
  const end = text.indexOf('\n', start);
  const fields = text
    .slice(start + 4, end < 0 ? undefined : end)
    .trim()
    .split(/\s+/);
  if (fields.length < 4) throw new Error(`aggregate "cpu" line has ${fields.length} fields, expected at least 4`);
  const n = fields.slice(0, 8).map((f) => {
    if (!/^\d+$/.test(f)) throw new Error(`aggregate "cpu" line: ${JSON.stringify(f.slice(0, 40))} is not a tick count`);
    const ticks = Number(f);
    // A value a double cannot hold exactly (or Infinity) would make every ratio NaN.
    if (!Number.isSafeInteger(ticks)) throw new Error(`aggregate "cpu" line: a tick count of ${f.length} digits is out of range`);
    return ticks;
  });
  const [user, nice, system, idle, iowait = 0, irq = 0, softirq = 0, steal = 0] = n;
  return { user, nice, system, idle, iowait, irq, softirq, steal };
}

export interface CpuInterval {
  /** Ticks the CPUs were busy (total - idle - iowait), over all CPUs. */
  activeTicks: number;
  totalTicks: number;
  /** active / total, in [0, 1]; 0 when no time passed. */
  usageRatio: number;
}

/**
 * Pure: usage of the interval between two readings. Counters that went backwards (a hot-unplugged
 * CPU takes its ticks with it) are clamped to zero so the ratio stays within [0, 1].
 */
export function cpuInterval(prev: CpuTimes, cur: CpuTimes): CpuInterval {
  const d = cpuTimesDelta(prev, cur);
  const idle = d.idle + d.iowait;
  const total = d.user + d.nice + d.system + idle + d.irq + d.softirq + d.steal;
  const active = total - idle;
  return { activeTicks: active, totalTicks: total, usageRatio: total > 0 ? active / total : 0 };
}

/** Pure: ticks per field between two readings, clamped at zero (see cpuInterval). */
export function cpuTimesDelta(prev: CpuTimes, cur: CpuTimes): CpuTimes {
  const d = (k: keyof CpuTimes) => Math.max(0, cur[k] - prev[k]);
  return { user: d('user'), nice: d('nice'), system: d('system'), idle: d('idle'), iowait: d('iowait'), irq: d('irq'), softirq: d('softirq'), steal: d('steal') };
}
