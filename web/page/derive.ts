// What the page shows, derived from a snapshot and the state of its requests: the banners, the
// figures, the tab to open, the table's rows, and how often to ask. Pure, no DOM, so the unit tests
// (compiled for Node) check them as they are.

import type { ApiHealth, ApiLevel, ApiLevelName, ApiSnapshot } from '../../src/exporter/web/apiTypes.js';
import { API_LEVELS } from '../../src/exporter/web/apiTypes.js';
import { formatAge, formatClock, formatPercent, formatWatts, zoneLabel, zoneNames } from './format.js';

/** Poll no faster than 1 s, no slower than 5 s, and no faster than the exporter refreshes. */
export function pollIntervalMs(refreshIntervalSec: number | undefined): number {
  const sec = Number.isFinite(refreshIntervalSec) ? (refreshIntervalSec as number) : 0;
  return Math.round(Math.min(5, Math.max(1, sec)) * 1000);
}

/** Wait after `failures` failed requests in a row: doubling from `baseMs`, at most 30 s. */
export function backoffMs(failures: number, baseMs = 1000): number {
  if (failures <= 0) return baseMs;
  return Math.min(30_000, baseMs * 2 ** Math.min(failures - 1, 15));
}

/** The level a URL hash names ("#container"), if any. */
export function levelFromHash(hash: string): ApiLevelName | undefined {
  const name = hash.replace(/^#/, '').toLowerCase();
  return (API_LEVELS as readonly string[]).includes(name) ? (name as ApiLevelName) : undefined;
}

/** The tab opened when the URL names none: containers when any run, else processes. */
export function defaultLevel(s: ApiSnapshot): ApiLevelName {
  return (s.levels.container?.count ?? 0) > 0 ? 'container' : 'process';
}

/** Each level's tab, and the level in a sentence ("No VMs running."). */
export const LEVEL_LABELS: Record<ApiLevelName, string> = { process: 'Processes', container: 'Containers', pod: 'Pods', vm: 'VMs' };
export const LEVEL_NOUNS: Record<ApiLevelName, string> = { process: 'processes', container: 'containers', pod: 'pods', vm: 'VMs' };

export type BannerKind = 'estimate' | 'health' | 'platform' | 'offline';

export interface Banner {
  kind: BannerKind;
  title: string;
  text: string;
}

/** The state of the page's requests, as the banners need it. */
export interface Connection {
  /** When the first of the current run of failures happened (ms since the epoch); undefined while answering. */
  failingSinceMs?: number;
  /** The last failure, as a sentence. */
  error?: string;
}

/** The health problems to name, as sentences: failing zones and platform sources. Empty when none. */
export function healthProblems(h: ApiHealth): string[] {
  const out: string[] = [];
  if (h.failingZones.length > 0) out.push(`Zones unreadable or not advancing: ${h.failingZones.join(', ')}.`);
  if (h.failingPlatform.length > 0) out.push(platformProblem(h.failingPlatform));
  return out;
}

/** "Platform power from redfish: no fresh reading.": the platform sources in an outage. */
function platformProblem(sources: string[]): string {
  return `Platform power from ${sources.join(', ')}: no fresh reading.`;
}

const HEALTH_MEANING: Record<string, string> = {
  degraded: 'Some meters are failing; their power is missing from the figures.',
  meter_failing: 'No zone of the meter can be read.',
  stale: 'The exporter has stopped refreshing.',
};

/** The banners to show, most important first: the exporter unreachable, its health, then estimation. */
export function banners(s: ApiSnapshot | undefined, conn: Connection, nowMs: number): Banner[] {
  const out: Banner[] = [];
  if (conn.failingSinceMs !== undefined) {
    const since = `since ${formatClock(conn.failingSinceMs)} (${formatAge((nowMs - conn.failingSinceMs) / 1000)})`;
    out.push({
      kind: 'offline',
      title: 'No fresh data from the exporter',
      text: `${since}${conn.error ? `: ${conn.error}` : ''}. ${s ? 'The figures below are the last it sent; the page keeps asking.' : 'The page keeps asking.'}`,
    });
  }
  if (s && s.health.status !== 'ok') {
    const problems = healthProblems(s.health);
    const meaning = HEALTH_MEANING[s.health.status] ?? '';
    out.push({ kind: 'health', title: `Health: ${s.health.status.replace(/_/g, ' ')}`, text: [meaning, ...problems].filter(Boolean).join(' ') });
  } else if (s && s.health.failingPlatform.length > 0) {
    // The node's health does not count platform power, yet a source in an outage is worth saying.
    out.push({ kind: 'platform', title: platformProblem(s.health.failingPlatform), text: 'Missing from the figures and charts until a reading comes.' });
  }
  if (s?.meter.estimated) {
    const notice = sentence(s.meter.notice ?? '');
    // The exporter's notice names the model; say it when it does not.
    const model = s.meter.model && !notice.includes(s.meter.model) ? `Model: ${s.meter.model}.` : '';
    out.push({ kind: 'estimate', title: 'Power is estimated, not measured.', text: [model, notice].filter(Boolean).join(' ') });
  }
  return out;
}

/** Text as a sentence: a capital first letter and a full stop. */
function sentence(text: string): string {
  const t = text.trim();
  if (!t) return '';
  return `${t[0].toUpperCase()}${t.slice(1)}${/[.!?]$/.test(t) ? '' : '.'}`;
}

/** The health badge: its text and its colour class. */
export function healthBadge(s: ApiSnapshot): { text: string; tone: 'ok' | 'warn' | 'bad' } {
  const status = s.health.status;
  if (status === 'ok') return { text: 'healthy', tone: 'ok' };
  return { text: status.replace(/_/g, ' '), tone: status === 'degraded' ? 'warn' : 'bad' };
}

export interface Figure {
  /** Stable key, for the DOM (data-figure). */
  key: string;
  label: string;
  value: string;
  detail: string;
  /** The longer explanation, as a tooltip. */
  title?: string;
}

/** Platform sources shown as figures of their own; the rest share one. */
export const PLATFORM_FIGURES = 4;

/**
 * The row of figures: the node, each zone, the GPUs and each platform source, when present. A
 * snapshot without an interval (the exporter's first refresh, or one whose reading failed) has no
 * watts: its figures say so rather than 0 W (the page shows the previous snapshot's instead, when it
 * has one).
 */
export function figures(s: ApiSnapshot): Figure[] {
  const waiting = !(s.intervalSec > 0);
  const w = (watts: number) => (waiting ? '–' : formatWatts(watts));
  const split = (active: number, idle: number) => (waiting ? 'waiting for the first interval' : `active ${formatWatts(active)} · idle ${formatWatts(idle)}`);
  const sum = [...s.headlineZones.map(zoneLabel), ...(s.gpus.length ? ['GPUs'] : [])].join(' + ');
  const out: Figure[] = [
    {
      key: 'node',
      label: 'Node',
      value: w(s.watts),
      detail: waiting ? 'waiting for the first interval' : `CPU ${formatPercent(s.usageRatio)} busy · ${sum}`,
      title: `The node's power: ${sum}`,
    },
  ];
  const names = zoneNames(s.zones);
  s.zones.forEach((z, i) => {
    out.push({ key: `zone:${names[i].key}`, label: names[i].label, value: w(z.watts), detail: split(z.activeWatts, z.idleWatts) });
  });
  if (s.gpus.length > 0) {
    const total = (f: (g: (typeof s.gpus)[number]) => number) => s.gpus.reduce((a, g) => a + f(g), 0);
    const label = s.gpus.length === 1 ? 'GPU' : `GPUs (${s.gpus.length})`;
    out.push({
      key: 'gpu',
      label,
      value: w(total((g) => g.watts)),
      detail: split(
        total((g) => g.activeWatts),
        total((g) => g.idleWatts),
      ),
    });
  }
  // One figure per source, never a sum: PSUs and the chassis, or Redfish and ACPI, measure the same power.
  const shown = s.platform.slice(0, PLATFORM_FIGURES);
  for (const p of shown) {
    out.push({
      key: `platform:${p.id}`,
      label: p.name || p.source,
      value: formatWatts(p.watts),
      detail: `${p.source} · read ${formatAge(p.ageSec)}`,
      title: `Platform power from ${p.source} (${p.id}). Sources may measure the same power: they are not added up.`,
    });
  }
  const rest = s.platform.slice(shown.length);
  if (rest.length > 0) {
    const list = rest.map((p) => `${p.name || p.id} ${formatWatts(p.watts)}`);
    out.push({ key: 'platform:more', label: 'Platform', value: `+${rest.length} more`, detail: list.join(' · '), title: list.join('\n') });
  }
  return out;
}

/** The workloads the chart of a level draws: the table's first `n`, so its colours match the table's. */
export function chartIds(level: ApiLevel | undefined, n: number): string[] {
  return (level?.top ?? []).slice(0, n).map((w) => w.id);
}

/** A share in 0..1 for the table's bars: of the node's watts, 0 when the node drew none. */
export function shareOf(watts: number, nodeWatts: number): number {
  if (!(nodeWatts > 0) || !(watts > 0)) return 0;
  return Math.min(1, watts / nodeWatts);
}
