// The exporter's health as /healthz reports it, from the latest snapshot. Pure.
//   ok             refreshes keep coming and every zone reads and advances
//   degraded       some zone has been unreadable, or has read without advancing (a frozen
//                  counter, a sensor stuck at 0 W), for FAILING_AFTER refreshes: its totals are
//                  flat (HTTP 200: the other zones and every workload metric are still right)
//   meter_failing  every zone has been unreadable for FAILING_AFTER refreshes: the meter produces
//                  nothing (503, so that a liveness probe restarts the exporter, which then picks
//                  a meter it can read, or the estimator). A zone that reads but does not advance
//                  is never worse than degraded: a restart would pick it again.
//   stale          no refresh for a while: the loop is stuck (503)

import type { Snapshot } from './snapshot.js';

/** Consecutive unusable readings after which a zone counts as failing (not a one-off glitch). */
export const FAILING_AFTER = 3;

export type HealthStatus = 'ok' | 'degraded' | 'meter_failing' | 'stale';

export interface Health {
  status: HealthStatus;
  /** Whether /healthz answers 200. */
  healthy: boolean;
  /** `zone/index` of the zones unreadable, or read without advancing, for FAILING_AFTER refreshes. */
  failingZones: string[];
}

/** How long without a refresh reads as a stuck loop: three intervals, and at least a minute. */
export function staleAfterMs(intervalMs: number): number {
  return Math.max(3 * intervalMs, 60_000);
}

/** `nowMs` on the monitor's monotonic clock (Snapshot.monotonicMs). */
export function assessHealth(s: Snapshot | undefined, nowMs: number, intervalMs: number): Health {
  // Healthy while refreshes keep coming: a stuck loop is what a liveness probe should catch.
  // With interval 0 refreshes happen only on scrapes, so their age says nothing.
  if (s === undefined || (intervalMs > 0 && nowMs - s.monotonicMs >= staleAfterMs(intervalMs))) {
    return { status: intervalMs === 0 && s === undefined ? 'ok' : 'stale', healthy: intervalMs === 0, failingZones: [] };
  }
  const unreadable = s.zones.map((_, i) => (s.health.zoneFailures[i] ?? 0) >= FAILING_AFTER);
  const stalled = s.zones.map((_, i) => (s.health.zoneStalls[i] ?? 0) >= FAILING_AFTER);
  const failingZones = s.zones.filter((_, i) => unreadable[i] || stalled[i]).map((z) => `${z.name}/${z.index}`);
  if (failingZones.length === 0) return { status: 'ok', healthy: true, failingZones };
  if (s.zones.length > 0 && unreadable.every(Boolean)) return { status: 'meter_failing', healthy: false, failingZones };
  return { status: 'degraded', healthy: true, failingZones };
}

/**
 * Kepler's Kubernetes probes (/probe/livez, /probe/readyz), from the /healthz assessment `h`.
 *   ready  as /healthz: a refresh has completed and it is healthy (with interval 0, from the start:
 *          a pod left out of its Service's endpoints would never be scraped into readiness).
 *   live   the same, except that before the first refresh it has as long as a stalled loop would
 *          (staleAfterMs) to complete one: a restart then would only start over. After that,
 *          no refresh at all is a loop that is stuck, or a refresh that throws every time.
 */
export function probeAnswer(probe: 'live' | 'ready', h: Health, s: Snapshot | undefined, sinceStartMs: number, intervalMs: number): boolean {
  if (probe === 'ready') return h.healthy;
  return h.healthy || (s === undefined && sinceStartMs < staleAfterMs(intervalMs));
}
