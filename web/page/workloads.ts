// The workloads panel: a tab per level (processes, containers, pods, VMs), the table of the level's
// top workloads by watts with the unattributed share, and a chart of the first few over the
// history window, drawn in the colours of the table's swatches.

import type { ApiLevelName, ApiSnapshot, ApiWorkload } from '../../src/exporter/web/apiTypes.js';
import { API_LEVELS } from '../../src/exporter/web/apiTypes.js';
import { Chart, PALETTE } from './charts.js';
import { chartIds, LEVEL_LABELS, LEVEL_NOUNS, shareOf } from './derive.js';
import { h, setText } from './dom.js';
import { formatCores, formatDuration, formatJoules, formatPercent, formatWatts, zoneNames } from './format.js';
import { spanSec, timesSec, topOverWindow, workloadSeries, type HistoryState } from './history.js';

/** How many workloads the chart draws: one per colour. */
export const CHART_WORKLOADS = PALETTE.length;

/** What the unattributed row holds: CPU power (active, and idle given to none when idle is attributed) and GPU power. */
const UNATTRIBUTED_DETAIL: Record<ApiLevelName, string> = {
  process: 'CPU and GPU power no process carries: the kernel, processes gone between reads',
  container: 'CPU and GPU power outside every container: host processes, the kernel',
  pod: 'CPU and GPU power outside every pod: host processes, system containers, the kernel',
  vm: 'CPU and GPU power outside every VM: the host and its other processes',
};

export class WorkloadsPanel {
  private readonly tabs = new Map<ApiLevelName, { button: HTMLButtonElement; count: HTMLElement }>();
  private readonly summary: HTMLElement;
  private readonly head: HTMLTableRowElement;
  private readonly body: HTMLTableSectionElement;
  private readonly chart: Chart;
  private headKey = '';

  constructor(
    private readonly root: HTMLElement,
    onSelect: (level: ApiLevelName) => void,
  ) {
    const tablist = h('div', { class: 'tabs', attrs: { role: 'tablist' } });
    for (const level of API_LEVELS) {
      const count = h('span', { class: 'count' });
      const button = h('button', { attrs: { type: 'button', role: 'tab', 'aria-selected': 'false' }, data: { level } }, LEVEL_LABELS[level], count);
      button.addEventListener('click', () => onSelect(level));
      this.tabs.set(level, { button, count });
      tablist.append(button);
    }
    this.summary = h('span', { class: 'panel-sub' });
    this.head = h('tr');
    this.body = h('tbody');
    const table = h('table', { class: 'workload-table' }, h('thead', {}, this.head), this.body);
    const chartBox = h('div', { class: 'workload-chart' });
    root.replaceChildren(h('div', { class: 'panel-head' }, h('h2', { text: 'Top workloads' }), tablist, this.summary), h('div', { class: 'table-box' }, table), chartBox);
    this.chart = new Chart(chartBox, {
      key: 'workloads',
      title: '',
      height: 150,
      series: PALETTE.map((color, i) => ({ label: `#${i + 1}`, color })),
      legend: false,
    });
  }

  /**
   * The table for `level` from the snapshot: rows rebuilt (a dozen at most), text only. Rows carry
   * data-level and data-id: an id is unique only within its level.
   */
  render(s: ApiSnapshot, level: ApiLevelName): void {
    this.root.dataset.level = level;
    for (const [name, tab] of this.tabs) {
      tab.button.setAttribute('aria-selected', String(name === level));
      tab.button.classList.toggle('selected', name === level);
      setText(tab.count, String(s.levels[name]?.count ?? 0));
    }
    const data = s.levels[level];
    const names = zoneNames(s.zones);
    const headline = s.zones.map((z, i) => ({ z, i, name: names[i] })).filter(({ z }) => s.headlineZones.includes(z.name));
    const gpu = s.gpus.length > 0;
    // The exporter's first refresh (or one whose reading failed) has no interval: no watts yet.
    const waiting = !(s.intervalSec > 0);
    const watts = (w: number) => (waiting ? '–' : formatWatts(w));
    this.renderHead(
      headline.map(({ z, name }) => (name.key === z.name ? zoneColumn(z.name) : `${zoneColumn(z.name)} #${z.index}`)),
      headline.map(({ name }) => name.label),
      gpu,
    );
    setText(this.summary, `${data.count} running · ${waiting ? 'waiting for the first interval' : `${formatWatts(data.watts)} in all`}`);

    const rows: HTMLTableRowElement[] = data.top.map((w, rank) => this.row(level, w, rank, s.watts, headline, gpu, watts));
    if (data.top.length === 0) {
      rows.push(h('tr', { class: 'empty' }, h('td', { attrs: { colspan: String(6 + headline.length + (gpu ? 1 : 0)) }, text: `No ${LEVEL_NOUNS[level]} running.` })));
    }
    rows.push(
      h(
        'tr',
        { class: 'unattributed', data: { kind: 'unattributed' } },
        h('td', { class: 'rank' }),
        h(
          'td',
          { class: 'name', title: UNATTRIBUTED_DETAIL[level] },
          h('span', { class: 'workload', text: 'unattributed' }),
          h('span', { class: 'detail', text: UNATTRIBUTED_DETAIL[level] }),
        ),
        h('td', { class: 'num watts', text: watts(data.unattributedWatts) }),
        shareCell(shareOf(data.unattributedWatts, s.watts)),
        ...headline.map(() => h('td', { class: 'num dim', text: '' })),
        gpu ? h('td', { class: 'num dim', text: '' }) : null,
        h('td', { class: 'num dim', text: '' }),
        h('td', { class: 'num dim', text: '' }),
      ),
    );
    this.body.replaceChildren(...rows);
  }

  /**
   * The chart of the level's first workloads over the window; their colours are the table's
   * swatches. Series are the workloads of `level` by id: an id means nothing in another level.
   */
  renderChart(state: HistoryState, s: ApiSnapshot | undefined, level: ApiLevelName): void {
    // Before a snapshot with watts there is no table to match: the most energy over the window then.
    const ids = s && s.intervalSec > 0 ? chartIds(s.levels[level], CHART_WORKLOADS) : topOverWindow(state, level, CHART_WORKLOADS);
    const xs = timesSec(state);
    const series = workloadSeries(state, level, ids);
    this.chart.root.dataset.level = level;
    while (series.length < CHART_WORKLOADS) series.push(xs.map(() => null));
    const span = spanSec(state);
    const title = ids.length > 0 ? `Top ${LEVEL_NOUNS[level]} over time` : `No ${LEVEL_NOUNS[level]}`;
    this.chart.setData([xs, ...series], span > 0 ? `last ${formatDuration(Math.min(span, state.windowSec))} · watts` : '', title);
  }

  /** The heading: `zones` the headline zones' short names, `labels` their labels. */
  private renderHead(zones: string[], labels: string[], gpu: boolean): void {
    const key = JSON.stringify([zones, labels, gpu]);
    if (key === this.headKey) return;
    this.headKey = key;
    const th = (text: string, cls = '', title = '') => h('th', { class: cls, text, ...(title ? { title } : {}) });
    this.head.replaceChildren(
      th('#', 'rank'),
      th('workload', 'name'),
      th('watts', 'num', 'CPU watts over the zones to the right, plus GPU watts'),
      th('share of node', 'share'),
      ...zones.map((z, i) => th(z, 'num', `${labels[i]} watts`)),
      ...(gpu ? [th('GPU', 'num', 'GPU watts')] : []),
      th('cores', 'num', 'CPU cores busy: CPU seconds per second'),
      th('energy', 'num', 'since the exporter first saw it'),
    );
  }

  private row(level: ApiLevelName, w: ApiWorkload, rank: number, nodeWatts: number, headline: { i: number }[], gpu: boolean, watts: (w: number) => string): HTMLTableRowElement {
    const rankCell = h('td', { class: 'rank' });
    if (rank < CHART_WORKLOADS) {
      const swatch = h('i', { class: 'swatch' });
      swatch.style.background = PALETTE[rank];
      rankCell.append(swatch);
    }
    rankCell.append(String(rank + 1));
    return h(
      'tr',
      { data: { kind: 'workload', level, id: w.id } },
      rankCell,
      h(
        'td',
        { class: 'name', title: w.detail ? `${w.name}\n${w.detail}` : w.name },
        h('span', { class: 'workload', text: w.name }),
        h('span', { class: 'detail', text: w.detail }),
      ),
      h('td', { class: 'num watts', text: watts(w.watts) }),
      shareCell(shareOf(w.watts, nodeWatts)),
      ...headline.map(({ i }) => h('td', { class: 'num', text: watts(w.zoneWatts[i] ?? 0) })),
      gpu ? h('td', { class: 'num', text: watts(w.gpuWatts) }) : null,
      h('td', { class: 'num', text: formatCores(w.cpuCores) }),
      h('td', { class: 'num', text: formatJoules(w.joules) }),
    );
  }
}

/** A zone's column heading, short: the table is narrow ("package", "DRAM"). */
function zoneColumn(name: string): string {
  return name === 'dram' ? 'DRAM' : name;
}

/** A bar of the share, with the percentage beside it. */
function shareCell(share: number): HTMLTableCellElement {
  const fill = h('span', { class: 'bar-fill' });
  fill.style.width = `${(share * 100).toFixed(1)}%`;
  return h('td', { class: 'share' }, h('span', { class: 'bar' }, fill), h('span', { class: 'pct', text: formatPercent(share) }));
}
