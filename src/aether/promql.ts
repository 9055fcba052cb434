// The PromQL the plugin runs, per metric family. Pure: the window and names in, query text out.
//
// Energy in a window is `increase()` over the joules counters (the Go plugin's
// `sum_over_time` adds up counter readings, which is not energy). `increase()` counts resets
// and extrapolates to the window's edges, so the windows of successive Fetches add up.

export type MetricsFamily = 'current' | '0.7';
export type EnergyResource = 'cpu' | 'memory';

export interface FamilyQueries {
  family: MetricsFamily;
  /** Joules per container in the window, per resource. */
  energy: Record<EnergyResource, string>;
  /** Series whose labels name each pod (current family only: its container series carry pod_id alone). */
  pods?: string;
}

/** Kepler 0.7's pseudo containers hold what no container used; they are not workloads to bill. */
const PSEUDO_CONTAINERS = 'system_processes|kernel_processes';

export function familyQueries(family: MetricsFamily, windowMs: number): FamilyQueries {
  const w = promDuration(windowMs);
  if (family === 'current') {
    // `zone` goes: aether has a zone of its own (the cloud zone), and one zone is selected anyway.
    const zoned = (zone: string) => `sum without (zone) (increase(kepler_container_cpu_joules_total{zone="${zone}"}[${w}]))`;
    return {
      family,
      energy: { cpu: zoned('package'), memory: zoned('dram') },
      pods: `group by (pod_id, pod_name, pod_namespace) (last_over_time(kepler_pod_cpu_joules_total[${w}]))`,
    };
  }
  // 0.7 splits each domain by `mode` (dynamic, idle); like the Go plugin, a container's energy is both.
  const moded = (domain: string) => `sum without (mode) (increase(kepler_container_${domain}_joules_total{container_id!~"${PSEUDO_CONTAINERS}"}[${w}]))`;
  return { family, energy: { cpu: moded('core'), memory: moded('dram') } };
}

/** A PromQL range: whole seconds where it can be ("300s"), else milliseconds. */
export function promDuration(ms: number): string {
  const whole = Math.round(ms);
  return whole % 1000 === 0 ? `${whole / 1000}s` : `${whole}ms`;
}
