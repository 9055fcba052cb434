import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { allPanels, interpolate, loadDashboards, panelQueries, parseVariableQuery, queryVariables, variableNames, type Builtins, type Dashboard } from '../support/grafana.js';
import { needsGpu, needsPods } from '../support/dashboardQueries.js';

// Compiled to dist/test/unit/; the dashboards stay in the source tree.
const DIR = fileURLToPath(new URL('../../../dashboards/', import.meta.url));
const BOARDS = loadDashboards(DIR);
const board = (file: string): Dashboard => {
  const b = BOARDS.find((x) => x.file === file);
  assert.ok(b, `${file} not found in ${DIR}`);
  return b.dashboard;
};
const DS = { type: 'prometheus', uid: '${datasource}' };
const BUILTINS: Builtins = { rateInterval: '4s', interval: '1s', rangeSeconds: 40 };

type Obj = Record<string, unknown>;

/** Dummy values for every variable of the dashboard: a multi list for multi ones, All for namespace. */
function dummyValues(d: Dashboard): Record<string, string | string[]> {
  const values: Record<string, string | string[]> = {};
  for (const name of variableNames(d)) values[name] = 'x';
  for (const v of queryVariables(d)) values[v.name] = v.includeAll ? '$__all' : v.multi ? ['a', 'b.c'] : (v.current ?? 'x');
  return values;
}

// Metrics with a zone label: summing them over zones counts the same energy twice (package
// contains core, psys contains package).
const ZONED =
  /\bkepler_(?:node|process|container|vm|pod)_cpu_(?:joules_total|watts|active_joules_total|active_watts|idle_joules_total|idle_watts|unattributed_joules_total)\b(\{[^}]*\})?/g;
const AGGREGATION = /\b(?:sum|avg|min|max|count|topk|bottomk|quantile|stddev|stdvar|group)\s*(?:(?:by|without)\s*\([^)]*\)\s*)?\(/;

/** True when the expression aggregates a zoned metric with neither a zone matcher nor a by (zone) grouping. */
function sumsOverZones(expr: string): boolean {
  if (!AGGREGATION.test(expr)) return false;
  const groupsByZone = [...expr.matchAll(/\bby\s*\(([^)]*)\)/g)].some((m) => m[1].split(',').some((l) => l.trim() === 'zone'));
  if (groupsByZone) return false;
  return [...expr.matchAll(ZONED)].some((m) => !/\bzone\s*(?:=~|!~|!=|=)/.test(m[1] ?? ''));
}

const EXPECTED_TITLES: Record<string, string[]> = {
  'kepler-ts-node.json': [
    'Power now ($zone)',
    'Energy over the range by zone',
    'CPU usage now',
    'Power by zone',
    'Active and idle power ($zone)',
    'CPU usage',
    'Power gauge vs rate of the energy counter ($zone)',
    'Unattributed active power by level ($zone)',
    'Power meter',
    'CPU model',
    'Idle baseline by zone',
    'Platform power (at the wall) vs CPU power ($zone)',
  ],
  'kepler-ts-workloads.json': [
    'Top 10 pods by power ($zone)',
    'Top 10 containers by power ($zone)',
    'Top 10 processes by power ($zone)',
    'Top 10 virtual machines by power ($zone)',
    'Energy per namespace, last 24 h ($zone)',
    'Power outside containers ($zone)',
    'Container power ($zone)',
    'Pod power ($zone)',
    'Container energy over the range ($zone)',
    'Idle energy per namespace, last 24 h ($zone)',
    'Active and idle power per namespace ($zone)',
  ],
  'kepler-ts-gpu.json': [
    'GPU power now',
    'GPU energy over the range',
    'GPUs',
    'Power per GPU',
    'Active and idle power per GPU',
    'Energy over the range per GPU',
    'Idle baseline per GPU',
    'Top 10 pods by GPU power',
    'Top 10 containers by GPU power',
    'Top 10 processes by GPU power',
    'Unattributed active GPU power by level',
    'GPU power by pod',
  ],
  'kepler-ts-exporter.json': [
    'Up',
    'Time since last refresh',
    'Version',
    'Refresh',
    'Refresh duration (p50, p99)',
    'Mean refresh duration',
    'Refresh errors by kind',
    'Workloads tracked',
    'Refresh interval measured',
    'Time since last refresh, over time',
    'Scrapes',
    'Scrape duration',
    'Scrape size',
    'Scrapes per second',
    'Resources',
    'Resident memory',
    'Heap used',
    'CPU used by the exporter',
    'Process details',
    'External memory',
    'Open file descriptors',
    'Uptime',
  ],
};

test('dashboards: the four files load, sorted, with stable distinct uids', () => {
  assert.deepEqual(
    BOARDS.map((b) => b.file),
    ['kepler-ts-exporter.json', 'kepler-ts-gpu.json', 'kepler-ts-node.json', 'kepler-ts-workloads.json'],
  );
  assert.deepEqual(
    BOARDS.map((b) => b.dashboard.uid),
    ['kepler-ts-exporter', 'kepler-ts-gpu', 'kepler-ts-node', 'kepler-ts-workloads'],
  );
  assert.equal(new Set(BOARDS.map((b) => b.dashboard.title)).size, 4);
});

test('dashboards: importable model with a datasource input and variable', () => {
  for (const { file, dashboard: d } of BOARDS) {
    assert.equal(d.schemaVersion, 39, file);
    assert.ok((d.tags as string[]).includes('kepler-ts'), file);
    assert.ok(d.title.length > 0, file);
    const inputs = d.__inputs as Obj[];
    assert.ok(
      inputs.some((i) => i.name === 'DS_PROMETHEUS' && i.type === 'datasource' && i.pluginId === 'prometheus'),
      file,
    );
    assert.ok(d.templating, `${file}: no templating`);
    const list = d.templating.list as Obj[];
    const ds = list.find((v) => v.name === 'datasource');
    assert.ok(ds, `${file}: no datasource variable`);
    assert.equal(ds.type, 'datasource', file);
    assert.equal(ds.query, 'prometheus', file);
    for (const v of list.filter((x) => x.type === 'query')) assert.deepEqual(v.datasource, DS, `${file}: variable ${String(v.name)}`);
  }
});

test('dashboards: every panel and target uses ${datasource}; panel ids are unique; panels fit the grid', () => {
  for (const { file, dashboard: d } of BOARDS) {
    const panels = allPanels(d);
    const ids = panels.map((p) => p.id);
    assert.ok(
      ids.every((id) => typeof id === 'number'),
      `${file}: a panel without a numeric id`,
    );
    assert.equal(new Set(ids).size, ids.length, `${file}: duplicate panel ids ${ids.join(',')}`);
    for (const p of panels) {
      const where = `${file} / ${String(p.title)}`;
      const g = p.gridPos as { x: number; y: number; w: number; h: number };
      assert.ok(g && g.x >= 0 && g.w > 0 && g.x + g.w <= 24 && g.h > 0, `${where}: gridPos`);
      if (p.type === 'row') {
        assert.ok(!Array.isArray(p.targets) || p.targets.length === 0, `${where}: a row with targets`);
        continue;
      }
      assert.deepEqual(p.datasource, DS, where);
      const targets = p.targets as Obj[];
      assert.ok(Array.isArray(targets) && targets.length > 0, `${where}: no targets`);
      for (const t of targets) assert.deepEqual(t.datasource, DS, `${where} ${String(t.refId)}`);
    }
  }
});

test('dashboards: the panels the task lists are there', () => {
  for (const { file, dashboard: d } of BOARDS) {
    assert.deepEqual(
      allPanels(d).map((p) => p.title),
      EXPECTED_TITLES[file],
      file,
    );
    const queried = new Set(panelQueries(d).map((q) => q.panel));
    for (const p of allPanels(d)) if (p.type !== 'row') assert.ok(queried.has(p.title as string), `${file} / ${String(p.title)}: no query`);
  }
  // The metrics each board must show.
  const exprs = (file: string) =>
    panelQueries(board(file))
      .map((q) => q.expr)
      .join('\n');
  for (const m of [
    'kepler_node_cpu_watts',
    'kepler_node_cpu_active_watts',
    'kepler_node_cpu_idle_watts',
    'kepler_node_cpu_joules_total',
    'kepler_node_cpu_usage_ratio',
    'kepler_node_cpu_unattributed_joules_total',
    'kepler_exporter_meter_info',
    'kepler_node_cpu_info',
    'kepler_node_cpu_idle_baseline_watts',
  ])
    assert.ok(exprs('kepler-ts-node.json').includes(m), `node board lacks ${m}`);
  for (const m of [
    'kepler_pod_cpu_watts',
    'kepler_container_cpu_watts',
    'kepler_process_cpu_watts',
    'kepler_vm_cpu_watts',
    'kepler_pod_cpu_joules_total',
    'kepler_container_cpu_joules_total',
    'kepler_pod_cpu_idle_joules_total',
  ])
    assert.ok(exprs('kepler-ts-workloads.json').includes(m), `workloads board lacks ${m}`);
  for (const m of [
    'kepler_exporter_refresh_duration_seconds_bucket',
    'kepler_exporter_refresh_duration_seconds_sum',
    'kepler_exporter_refresh_errors_total',
    'kepler_exporter_scrape_duration_seconds',
    'kepler_exporter_scrape_size_bytes',
    'kepler_exporter_scrapes_total',
    'process_resident_memory_bytes',
    'nodejs_heap_size_used_bytes',
    'process_cpu_seconds_total',
    'kepler_exporter_workloads',
    'up{',
    'kepler_exporter_last_refresh_timestamp_seconds',
  ])
    assert.ok(exprs('kepler-ts-exporter.json').includes(m), `exporter board lacks ${m}`);
  for (const m of [
    'kepler_node_gpu_info',
    'kepler_node_gpu_watts',
    'kepler_node_gpu_active_watts',
    'kepler_node_gpu_idle_watts',
    'kepler_node_gpu_joules_total',
    'kepler_node_gpu_idle_baseline_watts',
    'kepler_node_gpu_unattributed_joules_total',
    'kepler_pod_gpu_joules_total',
    'kepler_pod_gpu_watts',
    'kepler_container_gpu_joules_total',
    'kepler_process_gpu_watts',
  ])
    assert.ok(exprs('kepler-ts-gpu.json').includes(m), `GPU board lacks ${m}`);
  // Only the GPU board reads GPU metrics: the others must return data on nodes without a GPU.
  for (const { file, dashboard: d } of BOARDS) {
    if (file === 'kepler-ts-gpu.json') for (const q of panelQueries(d)) assert.ok(needsGpu(q), `${file} / ${q.panel}: reads no GPU metric`);
    else for (const q of panelQueries(d)) assert.ok(!needsGpu(q), `${file} / ${q.panel}: reads a GPU metric`);
  }
  // With legacyMetrics on, Kepler 0.7's series share these names (with `mode`, without `gpu_uuid`):
  // a panel that sums them must select Kepler 0.11's, or it counts the GPU energy twice.
  for (const { file, dashboard: d } of BOARDS) {
    for (const q of panelQueries(d)) {
      for (const m of q.expr.matchAll(/\bkepler_(?:node|process|container|vm)_gpu_joules_total(\{[^}]*\})?/g)) {
        assert.ok(m[1]?.includes('gpu_uuid!=""'), `${file} / ${q.panel}: ${m[0]} without gpu_uuid!="" also sums the 0.7 series`);
      }
    }
  }
  // The GPU board's pod panels, which a run without pods leaves out with needsPods.
  assert.deepEqual(
    [
      ...new Set(
        panelQueries(board('kepler-ts-gpu.json'))
          .filter(needsPods)
          .map((q) => q.panel),
      ),
    ],
    ['Top 10 pods by GPU power', 'GPU power by pod'],
  );
  // No panel needs the estimator: its info metric is absent on a RAPL meter.
  for (const { dashboard: d } of BOARDS) for (const q of panelQueries(d)) assert.ok(!q.expr.includes('estimator'), q.panel);
});

test('dashboards: the variables the task asks for, parseable, with allValue .* on every All', () => {
  const names = (file: string) => queryVariables(board(file)).map((v) => v.name);
  assert.deepEqual(names('kepler-ts-node.json'), ['job', 'node', 'zone']);
  assert.deepEqual(names('kepler-ts-workloads.json'), ['job', 'node', 'zone', 'namespace']);
  assert.deepEqual(names('kepler-ts-exporter.json'), ['job', 'instance']);
  assert.deepEqual(names('kepler-ts-gpu.json'), ['job', 'node', 'namespace']);
  for (const { file, dashboard: d } of BOARDS) {
    const seen = new Set(['datasource']);
    for (const v of queryVariables(d)) {
      const src = parseVariableQuery(v.query);
      assert.equal(src.kind, 'label_values', `${file} $${v.name}`);
      if (v.includeAll) assert.equal(v.allValue, '.*', `${file} $${v.name}`);
      // A variable's query only uses the variables above it.
      const earlier = Object.fromEntries([...seen].map((n) => [n, 'x']));
      assert.doesNotThrow(() => interpolate(v.query, earlier, BUILTINS), `${file} $${v.name}`);
      seen.add(v.name);
    }
    const zone = queryVariables(d).find((v) => v.name === 'zone');
    if (zone) {
      assert.equal(zone.current, 'package', file);
      assert.equal(zone.includeAll, false, file);
      assert.equal(zone.multi, false, file);
    }
  }
  const ns = queryVariables(board('kepler-ts-workloads.json')).find((v) => v.name === 'namespace');
  assert.ok(ns, 'no namespace variable');
  assert.deepEqual(parseVariableQuery(ns.query), { kind: 'label_values', label: 'pod_namespace', match: 'kepler_pod_cpu_joules_total{job=~"$job", node_name=~"$node"}' });
  assert.ok(ns.includeAll && ns.multi);
  // The GPU board lists the nodes that have GPUs, and the namespaces of pods that used one.
  const gpuVariables = queryVariables(board('kepler-ts-gpu.json'));
  assert.deepEqual(
    gpuVariables.map((v) => parseVariableQuery(v.query)),
    [
      { kind: 'label_values', label: 'job', match: 'kepler_node_gpu_joules_total' },
      { kind: 'label_values', label: 'node_name', match: 'kepler_node_gpu_joules_total{job=~"$job"}' },
      { kind: 'label_values', label: 'pod_namespace', match: 'kepler_pod_gpu_joules_total{job=~"$job", node_name=~"$node"}' },
    ],
  );
  for (const v of gpuVariables) assert.ok(v.includeAll && v.multi && v.current === '$__all', `GPU board $${v.name}`);
});

test('dashboards: every expr uses only defined variables and builtins', () => {
  for (const { file, dashboard: d } of BOARDS) {
    const values = dummyValues(d);
    const queries = panelQueries(d);
    assert.ok(queries.length >= 9, `${file}: ${queries.length} queries`);
    for (const q of queries) {
      let out = '';
      assert.doesNotThrow(() => (out = interpolate(q.expr, values, BUILTINS, queryVariables(d))), `${file} / ${q.panel} ${q.refId}`);
      assert.ok(!/\$\w|\[\[/.test(out), `${file} / ${q.panel}: left ${out}`);
    }
  }
});

test('dashboards: no expr sums zoned metrics over zones', () => {
  for (const { file, dashboard: d } of BOARDS) {
    for (const q of panelQueries(d)) assert.ok(!sumsOverZones(q.expr), `${file} / ${q.panel}: ${q.expr}`);
  }
  // The check itself.
  assert.ok(sumsOverZones('sum(kepler_node_cpu_watts)'));
  assert.ok(sumsOverZones('sum by (node_name) (rate(kepler_node_cpu_joules_total{node_name=~"$node"}[5m]))'));
  assert.ok(sumsOverZones('topk(10, sum by (pod_id) (kepler_pod_cpu_watts{zonex="a"}))'));
  assert.ok(!sumsOverZones('sum by (zone) (kepler_node_cpu_watts)'));
  assert.ok(!sumsOverZones('sum by (node_name, zone) (kepler_node_cpu_watts{job="k"})'));
  assert.ok(!sumsOverZones('sum(kepler_node_cpu_watts{zone="$zone"})'));
  assert.ok(!sumsOverZones('kepler_node_cpu_watts'));
  assert.ok(!sumsOverZones('avg(kepler_node_cpu_usage_ratio)'));
  assert.ok(!sumsOverZones('count by (model_name) (kepler_node_cpu_info)'));
});

test('dashboards: panels over a fixed window or the range are instant', () => {
  for (const { file, dashboard: d } of BOARDS) {
    for (const q of panelQueries(d)) {
      if (/\[(\$__range|1d)\]/.test(q.expr)) assert.ok(q.instant, `${file} / ${q.panel}`);
      if (q.expr.startsWith('topk(')) assert.ok(q.instant, `${file} / ${q.panel}: topk over a range gives more than k series`);
    }
    for (const p of allPanels(d))
      if (p.type === 'table' || p.type === 'bargauge') for (const t of p.targets as Obj[]) assert.equal(t.instant, true, `${file} / ${String(p.title)}`);
  }
});

// ---------------------------------------------------------------- hand-written cases

const SYNTHETIC: Dashboard = {
  uid: 'x',
  title: 'X',
  templating: {
    list: [
      { name: 'datasource', type: 'datasource', query: 'prometheus' },
      { name: 'job', type: 'query', query: 'label_values(up, job)', includeAll: true, multi: true, allValue: '.*', current: { text: ['All'], value: ['$__all'] } },
      {
        name: 'node',
        type: 'query',
        query: { query: 'label_values(kepler_node_cpu_joules_total{job=~"$job"}, node_name)', refId: 'V' },
        multi: true,
        allValue: null,
        current: { value: ['n1', 'n2'] },
      },
      { name: 'zone', type: 'query', definition: 'label_values(zone)', query: 'label_values(zone)', current: { text: 'package', value: 'package' } },
      { name: 'step', type: 'interval', query: '1m,5m' },
      { name: 'top', type: 'query', query: 'query_result(topk(3, x))', regex: '/pid="(\\d+)"/' },
    ],
  },
  panels: [
    { id: 1, type: 'timeseries', title: 'A', targets: [{ refId: 'A', expr: 'up' }, { refId: 'B', expr: 'hidden', hide: true }, { refId: 'C', expr: '' }, { refId: 'D' }] },
    { id: 2, type: 'row', title: 'open row', collapsed: false, panels: [] },
    {
      id: 3,
      type: 'stat',
      title: 'B',
      targets: [
        { expr: 'x', instant: true, range: false },
        { refId: 'Z', expr: 'y', instant: true, range: true },
      ],
    },
    {
      id: 4,
      type: 'row',
      title: 'closed row',
      collapsed: true,
      panels: [
        {
          id: 5,
          type: 'table',
          title: 'nested',
          targets: [
            { refId: 'A', expr: 'nested_metric', instant: true },
            { refId: 'B', expr: 'gone', hide: true },
          ],
        },
        { id: 6, type: 'text', title: 'text' },
      ],
    },
  ],
};

test('panelQueries: every target with an expr, nested rows included, hidden ones skipped', () => {
  assert.deepEqual(panelQueries(SYNTHETIC), [
    { panel: 'A', refId: 'A', expr: 'up', instant: false },
    { panel: 'B', refId: 'A', expr: 'x', instant: true },
    { panel: 'B', refId: 'Z', expr: 'y', instant: false },
    { panel: 'nested', refId: 'A', expr: 'nested_metric', instant: true },
  ]);
  assert.deepEqual(
    allPanels(SYNTHETIC).map((p) => p.id),
    [1, 2, 3, 4, 5, 6],
  );
});

test('queryVariables: query variables in order, string or object queries', () => {
  assert.deepEqual(queryVariables(SYNTHETIC), [
    { name: 'job', query: 'label_values(up, job)', includeAll: true, allValue: '.*', multi: true, current: '$__all' },
    { name: 'node', query: 'label_values(kepler_node_cpu_joules_total{job=~"$job"}, node_name)', includeAll: false, multi: true, current: 'n1' },
    { name: 'zone', query: 'label_values(zone)', includeAll: false, multi: false, current: 'package' },
    { name: 'top', query: 'query_result(topk(3, x))', includeAll: false, multi: false },
  ]);
  assert.deepEqual(variableNames(SYNTHETIC), ['datasource', 'job', 'node', 'zone', 'step', 'top']);
});

test('parseVariableQuery: label_values and query_result', () => {
  assert.deepEqual(parseVariableQuery('label_values(job)'), { kind: 'label_values', label: 'job' });
  assert.deepEqual(parseVariableQuery(' label_values( kepler_node_cpu_joules_total{job=~"a,b", x="(}"} , node_name ) '), {
    kind: 'label_values',
    label: 'node_name',
    match: 'kepler_node_cpu_joules_total{job=~"a,b", x="(}"}',
  });
  assert.deepEqual(parseVariableQuery('label_values(up, instance)'), { kind: 'label_values', label: 'instance', match: 'up' });
  assert.deepEqual(parseVariableQuery('query_result(count by (zone) (kepler_node_cpu_watts))', '/zone="([^"]+)"/'), {
    kind: 'query_result',
    expr: 'count by (zone) (kepler_node_cpu_watts)',
    regex: '/zone="([^"]+)"/',
  });
  assert.deepEqual(parseVariableQuery('query_result(up)'), { kind: 'query_result', expr: 'up' });
  for (const bad of ['metrics(kepler_.*)', 'label_names()', 'label_values()', 'label_values(up, )', 'label_values(, job)', 'label_values(a-b)', 'query_result()', 'up']) {
    assert.throws(
      () => parseVariableQuery(bad),
      (e: unknown) => e instanceof Error && e.message.includes(JSON.stringify(bad)),
      bad,
    );
  }
});

test('interpolate: the three syntaxes, single values', () => {
  const v = { zone: 'package', job: 'kepler' };
  assert.equal(interpolate('a{zone="$zone"} b{zone="${zone}"} c{zone="[[zone]]"}', v, BUILTINS), 'a{zone="package"} b{zone="package"} c{zone="package"}');
  assert.equal(interpolate('up{job=~"$job"}', v, BUILTINS), 'up{job=~"kepler"}');
  // A single value inside a regex matcher is escaped; in an equality matcher it is not.
  assert.equal(interpolate('x{a=~"$n", b="$n", c!~"$n"}', { n: 'w-1.lan' }, BUILTINS), 'x{a=~"w-1\\\\.lan", b="w-1.lan", c!~"w-1\\\\.lan"}');
  // Quotes and backslashes in an equality matcher keep the string valid.
  assert.equal(interpolate('x{a="$n"}', { n: 'say "hi" \\o/' }, BUILTINS), 'x{a="say \\"hi\\" \\\\o/"}');
  // In a raw string, one backslash.
  assert.equal(interpolate('x{a=~`$n`}', { n: 'a.b' }, BUILTINS), 'x{a=~`a\\.b`}');
});

test('interpolate: multi values and All', () => {
  const vars = [{ name: 'namespace', allValue: '.*' }, { name: 'node' }];
  assert.equal(interpolate('x{node_name=~"$node"}', { node: ['a', 'b.c', 'd|e'] }, BUILTINS, vars), 'x{node_name=~"(a|b\\\\.c|d\\\\|e)"}');
  assert.equal(interpolate('x{node_name=~"$node"}', { node: ['a.b'] }, BUILTINS), 'x{node_name=~"a\\\\.b"}');
  assert.equal(interpolate('x{ns=~"$namespace"}', { namespace: '$__all' }, BUILTINS, vars), 'x{ns=~".*"}');
  assert.equal(interpolate('x{ns=~"${namespace}"}', { namespace: ['$__all'] }, BUILTINS, vars), 'x{ns=~".*"}');
  assert.throws(() => interpolate('x{n=~"$node"}', { node: '$__all' }, BUILTINS, vars), /\$node is All but has no allValue/);
  assert.throws(() => interpolate('x{n=~"$node"}', { node: '$__all' }, BUILTINS), /\$node is All/);
});

test('interpolate: formats', () => {
  const v = { node: ['a.b', 'c'] };
  assert.equal(interpolate('${node:raw}', v, BUILTINS), 'a.b,c');
  assert.equal(interpolate('${node:pipe}', v, BUILTINS), 'a.b|c');
  assert.equal(interpolate('[[node:csv]]', v, BUILTINS), 'a.b,c');
  assert.equal(interpolate('x{n=~"${node:regex}"}', v, BUILTINS), 'x{n=~"(a\\\\.b|c)"}');
  assert.equal(interpolate('${node:regex}', { node: 'a.b' }, BUILTINS), 'a\\.b');
  assert.equal(interpolate('x{n=~"${node:raw}"}', { node: 'a.b' }, BUILTINS), 'x{n=~"a.b"}');
  assert.throws(() => interpolate('${node:glob}', v, BUILTINS), /unsupported format "glob"/);
});

test('interpolate: builtins, longest names first', () => {
  assert.equal(interpolate('rate(x[$__rate_interval])', {}, BUILTINS), 'rate(x[4s])');
  assert.equal(interpolate('rate(x[${__interval}])', {}, BUILTINS), 'rate(x[1s])');
  assert.equal(interpolate('increase(x[$__range]) / $__range_s', {}, BUILTINS), 'increase(x[40s]) / 40');
  assert.equal(interpolate('$__range_ms $__interval_ms $__rate_interval_ms', {}, { rateInterval: '1m30s', interval: '500ms', rangeSeconds: 3600.4 }), '3600400 500 90000');
  assert.equal(interpolate('$namespace $name', { name: 'n', namespace: 'ns' }, BUILTINS), 'ns n');
  // A capture group reference of label_replace is no variable.
  assert.equal(interpolate('label_replace(up, "a", "$1", "job", "(.*)")', {}, BUILTINS), 'label_replace(up, "a", "$1", "job", "(.*)")');
  // A $ ending a regex is no variable either.
  assert.equal(interpolate('x{a=~"^k.*$"}', {}, BUILTINS), 'x{a=~"^k.*$"}');
});

test('interpolate: unknown variables throw, naming them', () => {
  assert.throws(
    () => interpolate('x{a="$nope"}', { name: 'n' }, BUILTINS),
    (e: unknown) => e instanceof Error && e.message.includes('$nope'),
  );
  assert.throws(
    () => interpolate('x{a="${nope}", b="[[other]]"}', {}, BUILTINS),
    (e: unknown) => e instanceof Error && e.message.includes('$nope, $other'),
  );
  // $name does not stand in for $namespace.
  assert.throws(() => interpolate('$namespace', { name: 'n' }, BUILTINS), /\$namespace/);
  assert.throws(() => interpolate('$__from', {}, BUILTINS), /\$__from/);
});
