// Test helper: every query of the dashboards of dashboards/, with their variables filled in as
// Grafana fills them, run against a real Prometheus; each must return data.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { interpolate, loadDashboards, panelQueries, parseVariableQuery, queryVariables, type PanelQuery } from './grafana.js';
import type { PrometheusServer } from './prometheus.js';

/**
 * Queries that read the idle shares of workloads, which exist only with monitor.idle.attribution
 * set (cpu, request or even): the idle power test runs them, the default-settings test the rest.
 */
export function needsIdleAttribution(q: PanelQuery): boolean {
  return /_cpu_idle_joules_total|unattributed_idle_joules_total/.test(q.expr);
}

/**
 * Queries of GPU metrics (kepler_<level>_gpu_*: the GPU dashboard, kepler-ts-gpu.json), which only
 * an exporter with a GPU meter (experimental.gpu.enabled on a node with an NVIDIA GPU) has.
 * assertPanelsReturnData leaves them out unless asked with `{ gpu: true }`.
 */
export function needsGpu(q: PanelQuery): boolean {
  return /\bkepler_(?:node|process|container|pod|vm)_gpu_/.test(q.expr);
}

/**
 * Queries of platform power (kepler_platform_*), which only an exporter with a BMC
 * (experimental.platform.redfish) or an ACPI power_meter has. assertPanelsReturnData leaves them
 * out unless asked with `{ platform: true }`.
 */
export function needsPlatform(q: PanelQuery): boolean {
  return /\bkepler_platform_/.test(q.expr);
}

/**
 * Queries of the pod level (kepler_pod_*), which has series only for processes in a pod's cgroup:
 * on a machine without Kubernetes-style cgroups, select `(q) => !needsPods(q)`.
 */
export function needsPods(q: PanelQuery): boolean {
  return /\bkepler_pod_/.test(q.expr);
}

export interface PanelsOptions {
  /** Also run the queries of GPU metrics (needsGpu); default false, so that an exporter without GPUs passes. */
  gpu?: boolean;
  /** Also run the queries of platform metrics (needsPlatform); default false. */
  platform?: boolean;
}

/**
 * Runs the panel queries that `select` picks, at time `t`, twice as users meet them: each variable
 * at "All" where it has one, then at its first value. Queries of GPU metrics run only with
 * `options.gpu`. Returns how many ran.
 */
export async function assertPanelsReturnData(
  prom: PrometheusServer,
  t: number,
  rangeSeconds: number,
  select: (q: PanelQuery) => boolean,
  options: PanelsOptions = {},
): Promise<number> {
  const boards = loadDashboards(join(process.cwd(), 'dashboards'));
  assert.ok(boards.length >= 3, 'the node, workloads and exporter dashboards');
  const builtins = { rateInterval: '10s', interval: '2s', rangeSeconds };
  let queries = 0;
  for (const { file, dashboard } of boards) {
    const variables = queryVariables(dashboard);
    const picked = panelQueries(dashboard).filter((q) => select(q) && (options.gpu === true || !needsGpu(q)) && (options.platform === true || !needsPlatform(q)));
    if (picked.length === 0) continue;
    for (const pick of ['all', 'first'] as const) {
      const values: Record<string, string | string[]> = {};
      for (const v of variables) {
        const src = parseVariableQuery(interpolate(v.query, values, builtins, variables));
        const found = src.kind === 'label_values' ? await prom.labelValues(src.label, src.match) : (await prom.query(src.expr, t)).map((s) => JSON.stringify(s.metric));
        // Pod namespaces are empty without the Kubernetes integration; every other variable has values.
        if (v.name !== 'namespace') assert.ok(found.length > 0, `${file}: variable ${v.name} (${v.query}) has values`);
        if (v.includeAll && (pick === 'all' || found.length === 0)) values[v.name] = v.allValue !== undefined ? '$__all' : found;
        else values[v.name] = v.current && found.includes(v.current) ? v.current : found[0];
      }
      for (const q of picked) {
        const expr = interpolate(q.expr, values, builtins, variables);
        const r = await prom.query(expr, t);
        assert.ok(r.length > 0, `${file} / ${q.panel} / ${q.refId} (${pick}): no data for ${expr}`);
        queries++;
      }
    }
  }
  return queries;
}
