// The node's power over the history window: a chart per CPU zone (active watts, and idle watts
// stacked above them, so the top edge is the zone's total), one of the GPUs (the same, summed over
// them) and one of the platform power (a line per source) when the node has them. The charts are made when the first history arrives and
// again only when its layout changes (a GPU or platform source appears); every poll updates them.

import type uPlot from 'uplot';
import { Chart, PALETTE } from './charts.js';
import { h, setText } from './dom.js';
import { formatDuration, zoneNames } from './format.js';
import { gpuSeries, layoutKey, platformSeries, spanSec, timesSec, zoneSeries, type HistoryState } from './history.js';

const ACTIVE = { color: '#e8590c', fill: 'rgba(232, 89, 12, 0.28)' };
const IDLE = { color: '#868e96', fill: 'rgba(134, 142, 150, 0.20)' };
/** Chart heights: taller while few charts share the panel, so a laptop screen holds them all. */
const chartHeight = (charts: number) => (charts <= 2 ? 150 : charts === 3 ? 124 : 100);

export class PowerCharts {
  private layout = '';
  private zones: Chart[] = [];
  private gpu: Chart | undefined;
  private platform: Chart | undefined;
  private readonly heading: HTMLElement;
  private readonly status: HTMLElement;
  private readonly grid: HTMLElement;

  constructor(root: HTMLElement) {
    this.heading = h('span', { class: 'panel-sub' });
    this.status = h('p', { class: 'panel-status' });
    this.status.hidden = true;
    this.grid = h('div', { class: 'chart-stack' });
    root.replaceChildren(h('div', { class: 'panel-head' }, h('h2', { text: 'Node power' }), this.heading), this.status, this.grid);
  }

  update(state: HistoryState): void {
    if (layoutKey(state) !== this.layout) this.build(state);
    const xs = timesSec(state);
    state.zones.forEach((_z, i) => {
      const { active, total } = zoneSeries(state, i);
      this.zones[i].setData([xs, total, active]);
    });
    if (this.gpu) {
      const { active, total } = gpuSeries(state);
      this.gpu.setData([xs, total, active]);
    }
    this.platform?.setData([xs, ...platformSeries(state)]);
    const span = spanSec(state);
    setText(this.heading, span > 0 ? `last ${formatDuration(Math.min(span, state.windowSec))} · watts` : 'waiting for the first interval');
  }

  /** Says why the charts are not moving (the history cannot be read), or nothing. */
  setStatus(text: string | undefined): void {
    this.status.hidden = text === undefined;
    setText(this.status, text ?? '');
  }

  private build(state: HistoryState): void {
    for (const c of [...this.zones, this.gpu, this.platform]) c?.destroy();
    this.layout = layoutKey(state);
    const height = chartHeight(state.zones.length + (state.gpus.length > 0 ? 1 : 0) + (state.platform.length > 0 ? 1 : 0));
    const names = zoneNames(state.zones);
    this.zones = state.zones.map((_z, i) => stackedChart(this.grid, `zone:${names[i].key}`, names[i].label, height));
    this.gpu = state.gpus.length > 0 ? stackedChart(this.grid, 'gpu', state.gpus.length === 1 ? 'GPU' : `GPUs (${state.gpus.length})`, height) : undefined;
    this.platform =
      state.platform.length > 0
        ? new Chart(this.grid, {
            key: 'platform',
            title: 'Platform',
            height,
            series: state.platform.map((p, i) => ({ label: p.name, color: PALETTE[i % PALETTE.length] })),
            legend: true,
          })
        : undefined;
  }
}

/**
 * A chart of active watts with idle watts stacked above: its data are [x, total, active]. Idle is
 * drawn as the band between the total and the active line; its legend says idle watts.
 */
function stackedChart(parent: HTMLElement, key: string, title: string, height: number): Chart {
  const idleOf = (d: uPlot.AlignedData, i: number, idx: number) => {
    if (i !== 0) return d[2][idx];
    const total = d[1][idx];
    return total === null || total === undefined ? null : total - (d[2][idx] ?? 0);
  };
  return new Chart(parent, {
    key,
    title,
    height,
    series: [
      { label: 'idle', color: IDLE.color },
      { label: 'active', color: ACTIVE.color, fill: ACTIVE.fill },
    ],
    bands: [{ between: [0, 1], fill: IDLE.fill }],
    legend: true,
    legendValue: idleOf,
  });
}
