// The exporter's health as /healthz reports it, from the latest snapshot. Pure.
//   ok             refreshes keep coming and every zone reads
//   degraded       some zone has been unusable for FAILING_AFTER refreshes: its totals are flat
//                  (HTTP 200: the other zones and every workload metric are still right)
//   meter_failing  every zone has: the meter produces nothing (503, so that a liveness probe
//                  restarts the exporter, which then picks a working meter or the estimator)
//   stale          no refresh for a while: the loop is stuck (503)

import type { Snapshot } from './snapshot.js';

/** Consecutive unusable readings after which a zone counts as failing (not a one-off glitch). */
export const FAILING_AFTER = 3;

export type HealthStatus = 'ok' | 'degraded' | 'meter_failing' | 'stale';

export interface Health {
  status: HealthStatus;
  /** Whether /healthz answers 200. */
  healthy: boolean;
  /** `zone/index` of the failing zones. */
  failingZones: string[];
}

export function assessHealth(s: Snapshot | undefined, nowMs: number, intervalMs: number): Health {
  // Healthy while refreshes keep coming: a stuck loop is what a liveness probe should catch.
  // With interval 0 refreshes happen only on scrapes, so their age says nothing.
  const maxAgeMs = Math.max(3 * intervalMs, 60_000);
  if (s === undefined || (intervalMs > 0 && nowMs - s.timestampMs >= maxAgeMs)) {
    return { status: intervalMs === 0 && s === undefined ? 'ok' : 'stale', healthy: intervalMs === 0, failingZones: [] };
  }
  const failingZones = s.zones.filter((_, i) => (s.health.zoneFailures[i] ?? 0) >= FAILING_AFTER).map((z) => `${z.name}/${z.index}`);
  if (failingZones.length === 0) return { status: 'ok', healthy: true, failingZones };
  if (failingZones.length < s.zones.length) return { status: 'degraded', healthy: true, failingZones };
  return { status: 'meter_failing', healthy: false, failingZones };
}
