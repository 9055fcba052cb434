// Writes the Prometheus text format (0.0.4) or OpenMetrics 1.0 from constant samples, the way
// Kepler's collectors emit const metrics from a snapshot. prom-client is built around stateful
// instruments that would have to be reset and refilled from each snapshot (and has no per-request
// format negotiation); writing the format directly is simpler and several times faster at
// tens of thousands of series.

export type MetricType = 'counter' | 'gauge' | 'histogram';

export const TEXT_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
export const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

export function escapeLabelValue(v: string): string {
  return /[\\"\n]/.test(v) ? v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : v;
}

/** Renders `a="x",b="y"` (no braces), so collectors can cache a workload's labels. */
export function renderLabels(labels: Record<string, string>): string {
  let out = '';
  for (const k in labels) out += `${out ? ',' : ''}${k}="${escapeLabelValue(labels[k])}"`;
  return out;
}

function escapeHelp(h: string): string {
  return h.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

export function formatValue(v: number | string): string {
  if (typeof v === 'string') return v;
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

export class ExpositionWriter {
  /** Each family's text, in the order first started. */
  private readonly parts: string[] = [];
  private readonly index = new Map<string, number>();
  private current = -1;

  constructor(readonly openMetrics: boolean) {}

  /**
   * Starts a metric family, or goes back to one already started: two collectors may write series
   * of one name (Kepler 0.7's kepler_node_gpu_joules_total and Kepler 0.11's), and a family's
   * samples must stay together under one HELP and TYPE (the first collector's). `name` is the
   * sample name for gauges and histograms, and the `_total` sample name for counters
   * (OpenMetrics names the family without `_total`).
   */
  family(name: string, type: MetricType, help: string): void {
    const fam = this.openMetrics && type === 'counter' && name.endsWith('_total') ? name.slice(0, -6) : name;
    const known = this.index.get(fam);
    if (known !== undefined) {
      this.current = known;
      return;
    }
    this.current = this.parts.push(`# HELP ${fam} ${escapeHelp(help)}\n# TYPE ${fam} ${type}\n`) - 1;
    this.index.set(fam, this.current);
  }

  /** One sample of the family last started; `labels` as rendered by renderLabels (may be empty). */
  sample(name: string, labels: string, value: number | string): void {
    this.parts[this.current] += labels ? `${name}{${labels}} ${formatValue(value)}\n` : `${name} ${formatValue(value)}\n`;
  }

  finish(): string {
    const out = this.parts.join('');
    return this.openMetrics ? `${out}# EOF\n` : out;
  }
}
