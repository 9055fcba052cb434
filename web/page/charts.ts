// One uPlot time chart in a <figure>, with the page's own compact legend in its caption (the values
// under the cursor, or the latest ones). Made once and updated in place with setData: a poll
// never builds a chart again. Its width follows its box (ResizeObserver).

import uPlot from 'uplot';
import { h, setText } from './dom.js';
import { formatClock, formatTimeTicks, formatWatts } from './format.js';

export interface SeriesSpec {
  label: string;
  /** Line colour. */
  color: string;
  /** Fill from the line down to zero, if any. */
  fill?: string;
}

export interface ChartSpec {
  /** Stable name, in data-chart, for tests and styles: "zone:package", "gpu", "workloads". */
  key: string;
  title: string;
  height: number;
  series: SeriesSpec[];
  /** Fills between two series: [upper, lower] as indices of `series` (0-based), with a colour. */
  bands?: { between: [number, number]; fill: string }[];
  /** Whether the caption shows each series with its value. */
  legend: boolean;
  /** The legend's value of series `i` at data index `idx` (default: its own value there). */
  legendValue?: (data: uPlot.AlignedData, i: number, idx: number) => number | null | undefined;
}

/** The colours of lines that stand for different things (workloads, GPUs, platform sources). */
export const PALETTE = ['#1971c2', '#e8590c', '#2f9e44', '#9c36b5', '#f59f00', '#0c8599', '#c2255c', '#5c940d'];

export class Chart {
  readonly root: HTMLElement;
  private readonly plotBox: HTMLElement;
  private readonly title: HTMLElement;
  private readonly subtitle: HTMLElement;
  private readonly legendValues: HTMLElement[] = [];
  private readonly legendTime: HTMLElement;
  private readonly plot: uPlot;
  private readonly resize: ResizeObserver;
  private data: uPlot.AlignedData;

  constructor(
    parent: HTMLElement,
    private readonly spec: ChartSpec,
  ) {
    this.title = h('span', { class: 'chart-title', text: spec.title });
    this.subtitle = h('span', { class: 'chart-sub' });
    this.legendTime = h('span', { class: 'legend-time' });
    const legend = h('span', { class: 'legend' });
    if (spec.legend) {
      spec.series.forEach((s) => {
        const value = h('b', { text: '–' });
        this.legendValues.push(value);
        const swatch = h('i', { class: 'swatch' });
        swatch.style.background = s.color;
        legend.append(h('span', { class: 'legend-item' }, swatch, `${s.label} `, value));
      });
    }
    legend.append(this.legendTime);
    this.plotBox = h('div', { class: 'plot' });
    this.root = h('figure', { class: 'chart', data: { chart: spec.key, points: '0' } }, h('figcaption', {}, this.title, this.subtitle, legend), this.plotBox);
    parent.append(this.root);
    this.data = [[], ...spec.series.map(() => [])];
    this.plot = new uPlot(this.options(Math.max(200, this.plotBox.clientWidth)), this.data, this.plotBox);
    this.resize = new ResizeObserver(() => {
      const width = Math.floor(this.plotBox.clientWidth);
      if (width > 0 && width !== this.plot.width) this.plot.setSize({ width, height: spec.height });
    });
    this.resize.observe(this.plotBox);
  }

  /** New data: x in seconds since the epoch, then one array per series; the caption's title too, when it changes with the data. */
  setData(data: uPlot.AlignedData, subtitle = '', title = this.spec.title): void {
    this.data = data;
    this.plot.setData(data);
    this.root.dataset.points = String(data[0].length);
    setText(this.title, title);
    setText(this.subtitle, subtitle);
    this.showLegend(this.plot.cursor.idx ?? undefined);
  }

  /** Removes the chart (its series changed: a GPU or platform source came or went). */
  destroy(): void {
    this.resize.disconnect();
    this.plot.destroy();
    this.root.remove();
  }

  /** The legend's values at `idx` (under the cursor), or the latest ones when the cursor is away. */
  private showLegend(idx: number | undefined): void {
    const n = this.data[0].length;
    if (!this.spec.legend || n === 0) return;
    const at = idx ?? n - 1;
    this.legendValues.forEach((el, i) => {
      const v = this.spec.legendValue ? this.spec.legendValue(this.data, i, at) : this.data[i + 1][at];
      setText(el, v === null || v === undefined ? '–' : formatWatts(v));
    });
    setText(this.legendTime, idx === undefined ? '' : `at ${formatClock(this.data[0][at] * 1000)}`);
  }

  private options(width: number): uPlot.Options {
    const axis = { stroke: '#5f6b7a', font: '11px system-ui, sans-serif', grid: { stroke: '#e9ecef', width: 1 }, ticks: { stroke: '#dee2e6', width: 1, size: 4 } };
    return {
      width,
      height: this.spec.height,
      padding: [8, 8, 0, 0],
      legend: { show: false },
      // Zooming by dragging is off: the next poll's setData would undo it at once.
      cursor: { drag: { x: false, y: false }, points: { size: 6 } },
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
      axes: [
        { ...axis, size: 26, space: 70, values: (_u, splits) => formatTimeTicks(splits) },
        { ...axis, size: 52, space: 24, values: (_u, splits) => splits.map((v) => formatWatts(v)) },
      ],
      // spanGaps false: a null (a gap in the history, a workload out of the top) breaks the line.
      series: [
        {},
        ...this.spec.series.map((s) => ({ label: s.label, stroke: s.color, width: 1.5, spanGaps: false, points: { show: false }, ...(s.fill ? { fill: s.fill } : {}) })),
      ],
      bands: (this.spec.bands ?? []).map((b) => ({ series: [b.between[0] + 1, b.between[1] + 1] as uPlot.Band.Bounds, fill: b.fill })),
      hooks: { setCursor: [(u) => this.showLegend(u.cursor.idx ?? undefined)] },
    };
  }
}
