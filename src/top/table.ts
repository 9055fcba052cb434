// What `kepler-ts top` prints: a header (node, meter, exporter, the node's power per zone, GPUs,
// platform, the level and sort) and the table of a level's workloads, fitted to a width. Lines
// are cut, never wrapped: a wrapped line would push the table down a terminal and break the
// columns of a script reading --once. The columns are fixed for a level, whatever the exporter
// (the headline zones are the meter's): so the same command gives the same columns against Kepler
// and kepler-ts. Pure: styles are named here and turned into ANSI codes by the terminal.

import { formatDuration } from '../config/duration.js';
import type { Level, PlatformPower, Reading, Row } from './reading.js';
import { fit, padEnd, padStart, printable, splitAt, textWidth } from './text.js';

export { fit, printable } from './text.js';

export const SORT_KEYS = ['watts', 'energy', 'name'] as const;
export type SortKey = (typeof SORT_KEYS)[number];

/** What the user chose to look at. */
export interface View {
  level: Level;
  sort: SortKey;
}

export type LineStyle = 'title' | 'text' | 'columns' | 'status' | 'note';

export interface ScreenLine {
  text: string;
  style: LineStyle;
}

export interface ScreenOptions {
  /** Columns available; Infinity for no limit (a script reading --once). */
  width: number;
  /** Lines available for the whole screen; undefined: as many as the rows need. */
  height?: number;
  /** At most this many rows. */
  top?: number;
  /** The time between scrapes, said in the title of the live view; undefined: one table (--once). */
  intervalMs?: number;
  /** Show the keys that switch level and sort. */
  keys: boolean;
  /** Marks a cut name: "…" where the terminal speaks UTF-8, "~" otherwise. */
  ellipsis: string;
  /** A problem to show above the table (the live view's failed scrape). */
  status?: string;
  /** Formats a time of day; local HH:MM:SS by default. */
  clock?: (ms: number) => string;
}

export const LEVEL_TITLES: Record<Level, string> = { process: 'processes', container: 'containers', pod: 'pods', vm: 'VMs' };

const GAP = '  ';

// ---------- numbers and text ----------

export function formatWatts(w: number | undefined): string {
  if (w === undefined || !Number.isFinite(w)) return '-';
  return w.toFixed(2);
}

/** Joules with a unit that keeps them short: 812.4 J, 12.35 kJ, 4.56 MJ, 1.23 GJ. */
export function formatEnergy(j: number): string {
  if (!Number.isFinite(j)) return '-';
  if (Math.abs(j) < 1e3) return `${j.toFixed(1)} J`;
  for (const [scale, unit] of [
    [1e6, 'kJ'],
    [1e9, 'MJ'],
    [1e12, 'GJ'],
  ] as const) {
    if (Math.abs(j) < scale) return `${(j / (scale / 1e3)).toFixed(2)} ${unit}`;
  }
  return `${(j / 1e12).toFixed(2)} TJ`;
}

// ---------- sorting ----------

const byName = (a: Row, b: Row): number => a.name.localeCompare(b.name) || a.key.localeCompare(b.key, undefined, { numeric: true });
/** Larger first; unknown (undefined) last. */
const desc = (a: number | undefined, b: number | undefined): number => (a === undefined ? (b === undefined ? 0 : 1) : b === undefined ? -1 : b - a);

export function sortRows(rows: readonly Row[], sort: SortKey): Row[] {
  const cmp: Record<SortKey, (a: Row, b: Row) => number> = {
    watts: (a, b) => desc(a.watts, b.watts) || desc(a.energyJ, b.energyJ) || byName(a, b),
    energy: (a, b) => desc(a.energyJ, b.energyJ) || desc(a.watts, b.watts) || byName(a, b),
    name: byName,
  };
  return [...rows].sort(cmp[sort]);
}

// ---------- columns ----------

interface Column {
  title: string;
  width: number;
  align: 'left' | 'right';
  cell: (r: Row) => string;
  /** Dropped first when the width is short: higher first; 0 never. */
  dropOrder: number;
}

/** The columns of a level: NAME, ID (PID), WATTS, one per headline zone, GPU when the node has one, ENERGY. */
export function columns(reading: Reading, level: Level): Column[] {
  const rows = reading.levels[level].rows;
  const idTitle = level === 'process' ? 'PID' : 'ID';
  const idWidth = Math.min(Math.max(idTitle.length, ...rows.map((r) => textWidth(printable(r.id)))), 12);
  const cols: Column[] = [
    { title: 'NAME', width: 0, align: 'left', cell: (r) => printable(r.name), dropOrder: 0 },
    { title: idTitle, width: idWidth, align: level === 'process' ? 'right' : 'left', cell: (r) => printable(r.id), dropOrder: 1 },
    { title: 'WATTS', width: 8, align: 'right', cell: (r) => formatWatts(r.watts), dropOrder: 0 },
  ];
  reading.headlineZones.forEach((zone, z) => {
    const title = printable(zone.toUpperCase());
    cols.push({ title, width: Math.max(textWidth(title), 7), align: 'right', cell: (r) => formatWatts(r.zoneWatts[z]), dropOrder: 2 });
  });
  if (reading.gpus.length > 0) cols.push({ title: 'GPU', width: 7, align: 'right', cell: (r) => formatWatts(r.gpuWatts), dropOrder: 3 });
  cols.push({ title: 'ENERGY', width: 10, align: 'right', cell: (r) => formatEnergy(r.energyJ), dropOrder: 4 });
  return cols;
}

/** Drops columns until NAME gets at least `minName` columns (or nothing is left to drop), and sizes NAME. */
function fitColumns(cols: Column[], width: number, names: readonly string[]): Column[] {
  const longest = Math.max(4, ...names.map(textWidth));
  const minName = Math.min(longest, 16);
  let kept = cols;
  const others = (cs: Column[]) => cs.reduce((a, c) => a + (c.title === 'NAME' ? 0 : c.width + GAP.length), 0);
  while (width - others(kept) < minName) {
    const drop = Math.max(...kept.map((c) => c.dropOrder));
    if (drop === 0) break;
    const i = kept.findLastIndex((c) => c.dropOrder === drop);
    kept = kept.filter((_, j) => j !== i);
  }
  const nameWidth = Number.isFinite(width) ? Math.max(4, Math.min(longest, width - others(kept))) : longest;
  // NAME takes what is left, so that the numbers stand at the right edge of a wide terminal.
  const spread = Number.isFinite(width) ? Math.max(nameWidth, width - others(kept)) : nameWidth;
  return kept.map((c) => (c.title === 'NAME' ? { ...c, width: spread } : c));
}

function renderRow(cells: string[], cols: Column[], ellipsis: string): string {
  return cols
    .map((c, i) => {
      const text = fit(cells[i], c.width, ellipsis);
      return c.align === 'left' ? padEnd(text, c.width) : padStart(text, c.width);
    })
    .join(GAP)
    .trimEnd();
}

// ---------- the header ----------

/** `text` on at most `max` lines of `width`, broken at spaces where it can be (the last line is cut later). */
function wrapped(text: string, width: number, max: number): string[] {
  const lines: string[] = [];
  let rest = text;
  while (textWidth(rest) > width && lines.length < max - 1) {
    const [head] = splitAt(rest, width);
    // The last space that fits, when it leaves more than half the line; else a cut at the width.
    const at = rest.lastIndexOf(' ', head.length);
    const cut = at >= 0 && textWidth(rest.slice(0, at)) > width / 2 ? at : head.length;
    lines.push(rest.slice(0, cut));
    rest = rest.slice(cut).trimStart();
  }
  return [...lines, rest];
}

const defaultClock = (ms: number): string => new Date(ms).toTimeString().slice(0, 8);

function powerText(watts: number | undefined, active: number | undefined, idle: number | undefined): string {
  const split = active === undefined && idle === undefined ? '' : ` (${formatWatts(active)} active, ${formatWatts(idle)} idle)`;
  return `${formatWatts(watts)} W${split}`;
}

/**
 * `title  item  item ...` on as few lines as `width` allows, breaking between items (a zone's
 * figures stay together); the lines after the first are indented under the first item.
 */
function packed(title: string, items: readonly string[], width: number): ScreenLine[] {
  const indent = ' '.repeat(textWidth(title));
  const lines: string[] = [];
  let line = title;
  for (const [n, item] of items.map(printable).entries()) {
    const candidate = `${line}${GAP}${item}`;
    if (n > 0 && textWidth(candidate) > width) {
      lines.push(line);
      line = `${indent}${GAP}${item}`;
    } else line = candidate;
  }
  lines.push(line);
  return lines.map((text) => ({ text, style: 'text' }));
}

/** Platform readings listed in the header, at most; the rest are counted. */
const PLATFORM_SHOWN = 4;

function platformItems(platform: readonly PlatformPower[]): string[] {
  const items = platform.slice(0, PLATFORM_SHOWN).map((p) => `${p.name} ${formatWatts(p.watts)} W`);
  if (platform.length > PLATFORM_SHOWN) items.push(`(${platform.length - PLATFORM_SHOWN} more)`);
  return items;
}

function headerLines(reading: Reading, view: View, o: ScreenOptions): ScreenLine[] {
  const clock = o.clock ?? defaultClock;
  const title = [
    reading.nodeName ? `node ${reading.nodeName}` : '',
    `meter ${reading.meter}`,
    reading.exporter,
    clock(reading.atMs),
    o.intervalMs === undefined ? '' : `every ${formatDuration(o.intervalMs)}`,
  ].filter(Boolean);
  const lines: ScreenLine[] = [{ text: printable(title.join(GAP)), style: 'title' }];
  if (reading.zones.length > 0) {
    const zones = reading.zones.map((z) => `${z.zone} ${powerText(z.watts, z.activeWatts, z.idleWatts)}`);
    const usage = reading.usageRatio === undefined ? [] : [`usage ${(reading.usageRatio * 100).toFixed(1)}%`];
    lines.push(...packed('CPU', [...zones, ...usage], o.width));
  }
  if (reading.gpus.length > 0) {
    lines.push(
      ...packed(
        'GPU',
        reading.gpus.map((g) => `${[g.gpu, g.name].filter(Boolean).join(' ')} ${powerText(g.watts, g.activeWatts, g.idleWatts)}`),
        o.width,
      ),
    );
  }
  if (reading.platform.length > 0) lines.push(...packed('PLATFORM', platformItems(reading.platform), o.width));
  const rows = reading.levels[view.level].rows;
  const about = [`${LEVEL_TITLES[view.level]}: ${rows.length} running`, `sort: ${view.sort}`];
  if (reading.waiting) about.push('watts from energy counters: waiting for them to move');
  else if (reading.source === 'counters') about.push('watts from energy counters');
  if (o.keys) about.push('keys: p c k v (Tab) level, s sort, q quit');
  lines.push({ text: about.join(GAP), style: 'text' });
  if (o.status) lines.push(...wrapped(printable(o.status), o.width, 2).map((text): ScreenLine => ({ text, style: 'status' })));
  return lines;
}

// ---------- the screen ----------

/** The header and the table of `view.level`, each line at most `o.width` columns. */
export function renderScreen(reading: Reading, view: View, o: ScreenOptions): ScreenLine[] {
  const lines = headerLines(reading, view, o);
  const level = reading.levels[view.level];
  const cut = (l: ScreenLine): ScreenLine => ({ ...l, text: Number.isFinite(o.width) ? fit(l.text, o.width, o.ellipsis) : l.text });
  if (!level.exported || level.rows.length === 0) {
    // Kepler leaves out a family without series: an absent level may just have nothing running.
    const why = level.exported ? `no running ${LEVEL_TITLES[view.level]}` : `no ${view.level} series at this endpoint: none running, or the level is not exported (metricsLevel)`;
    lines.push({ text: '', style: 'text' }, { text: why, style: 'note' });
    return (o.height === undefined ? lines : lines.slice(0, o.height)).map(cut);
  }
  const extra = level.unattributed ? [level.unattributed] : [];
  let rows = sortRows(level.rows, view.sort);
  if (o.top !== undefined) rows = rows.slice(0, o.top);
  // One blank line and the column titles between the header and the rows.
  if (o.height !== undefined) rows = rows.slice(0, Math.max(0, o.height - lines.length - 2 - extra.length));
  const cols = fitColumns(
    columns(reading, view.level),
    o.width,
    [...rows, ...extra].map((r) => printable(r.name)),
  );
  lines.push({ text: '', style: 'text' });
  lines.push({
    text: renderRow(
      cols.map((c) => c.title),
      cols,
      o.ellipsis,
    ),
    style: 'columns',
  });
  for (const r of [...rows, ...extra])
    lines.push({
      text: renderRow(
        cols.map((c) => c.cell(r)),
        cols,
        o.ellipsis,
      ),
      style: r === level.unattributed ? 'note' : 'text',
    });
  return (o.height === undefined ? lines : lines.slice(0, o.height)).map(cut);
}

const ANSI: Record<LineStyle, [string, string]> = {
  title: ['\x1b[1m', '\x1b[0m'],
  text: ['', ''],
  columns: ['\x1b[7m', '\x1b[0m'],
  status: ['\x1b[1;31m', '\x1b[0m'],
  note: ['\x1b[2m', '\x1b[0m'],
};

/** A line with its style as ANSI codes; the column titles' bar spans `width`. */
export function styled(line: ScreenLine, width: number): string {
  const [on, off] = ANSI[line.style];
  const text = line.style === 'columns' && Number.isFinite(width) ? padEnd(line.text, width) : line.text;
  return on ? `${on}${text}${off}` : text;
}
