// Fits kts-specpower (specpowerModel.ts) on SPECpower rows. Pure: rows in, parameters out.
// `npm run fit-model` runs it on data/specpower/train.csv and rewrites specpowerParameters.ts.

import { SPEC_LOAD_LEVELS, type ServerSpec } from './powerModel.js';
import { ERAS, eraOf, FEATURES, featuresOf, vendorGroupOf, type Era, type SpecpowerParameters, type VendorGroup } from './specpowerModel.js';
import type { SpecpowerRow } from './specpowerCsv.js';

/** Published (estimation.md) idle/max medians for 2020-2022 servers; AMD above Intel as in 2017-18 data. */
export const MODERN_IDLE_RATIO: Record<VendorGroup, number> = { amd: 0.26, other: 0.22 };
/** A shape cell with fewer rows than this borrows its neighbour's (same vendor, next era; then all vendors). */
const MIN_ROWS_PER_SHAPE = 3;
const LEVELS = SPEC_LOAD_LEVELS.length;

/** Rows with every level measured and a rising curve: the only ones a shape can be taken from. */
interface CompleteRow {
  spec: ServerSpec;
  watts: number[];
}
function complete(row: SpecpowerRow): CompleteRow | undefined {
  const w = row.watts;
  if (w.length !== LEVELS || !w.every((v) => v !== undefined && v > 0)) return undefined;
  const watts = w as number[];
  return watts[LEVELS - 1] > watts[0] ? { spec: row.spec, watts } : undefined;
}

export function fitSpecpowerModel(rows: readonly SpecpowerRow[], fittedOn: string): SpecpowerParameters {
  const usable = rows.map(complete).filter((r): r is CompleteRow => r !== undefined);
  if (usable.length < FEATURES.length * 3) {
    throw new Error(`fitting needs at least ${FEATURES.length * 3} rows with every load level measured; got ${usable.length}`);
  }
  const X = usable.map((r) => featuresOf(r.spec));
  const max = weightedLeastSquares(
    X,
    usable.map((r) => r.watts[LEVELS - 1]),
  );
  const idle = weightedLeastSquares(
    X,
    usable.map((r) => r.watts[0]),
  );
  return { max, idle, shape: fitShapes(usable), modernIdleRatio: { ...MODERN_IDLE_RATIO }, fittedOn };
}

function fitShapes(rows: CompleteRow[]): SpecpowerParameters['shape'] {
  const cells = new Map<string, number[][]>();
  for (const r of rows) {
    const w = r.watts;
    const g = w.map((v) => (v - w[0]) / (w[LEVELS - 1] - w[0]));
    const key = `${eraOf(r.spec.year)}/${vendorGroupOf(r.spec)}`;
    let cell = cells.get(key);
    if (!cell) cells.set(key, (cell = []));
    cell.push(g);
  }
  const all = rows.map((r) => r.watts.map((v) => (v - r.watts[0]) / (r.watts[LEVELS - 1] - r.watts[0])));
  const pick = (era: Era, vendor: VendorGroup): number[] => {
    // Same vendor in this era, else the nearest era with enough rows, else this era for all vendors.
    const order = [era, ...ERAS.filter((e) => e !== era).sort((a, b) => Math.abs(ERAS.indexOf(a) - ERAS.indexOf(era)) - Math.abs(ERAS.indexOf(b) - ERAS.indexOf(era)))];
    for (const e of order) {
      const c = cells.get(`${e}/${vendor}`);
      if (c && c.length >= MIN_ROWS_PER_SHAPE) return levelMedians(c);
    }
    return levelMedians(all);
  };
  const out = {} as SpecpowerParameters['shape'];
  for (const era of ERAS) out[era] = { amd: pick(era, 'amd'), other: pick(era, 'other') };
  return out;
}

/** Pure: the median of each column, rounded to 4 decimals, forced to be non-decreasing from 0 to 1. */
export function levelMedians(curves: number[][]): number[] {
  const out: number[] = [];
  for (let i = 0; i < LEVELS; i++) {
    const col = curves.map((c) => c[i]).sort((a, b) => a - b);
    const m = col.length % 2 ? col[(col.length - 1) / 2] : (col[col.length / 2 - 1] + col[col.length / 2]) / 2;
    out.push(Math.round(Math.min(1, Math.max(out[i - 1] ?? 0, m)) * 1e4) / 1e4);
  }
  out[0] = 0;
  out[LEVELS - 1] = 1;
  return out;
}

/**
 * Pure: argmin_b sum ((x.b - y) / y)^2, i.e. least squares on relative error, by the normal
 * equations (a handful of features, so Gaussian elimination with partial pivoting is plenty).
 * Coefficients are rounded to 6 significant digits so the committed file is readable.
 */
export function weightedLeastSquares(X: number[][], y: number[]): number[] {
  const k = X[0].length;
  const A = Array.from({ length: k }, () => new Array<number>(k + 1).fill(0));
  X.forEach((row, n) => {
    const w = 1 / (y[n] * y[n]);
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) A[i][j] += w * row[i] * row[j];
      A[i][k] += w * row[i] * y[n];
    }
  });
  for (let c = 0; c < k; c++) {
    let p = c;
    for (let r = c + 1; r < k; r++) if (Math.abs(A[r][c]) > Math.abs(A[p][c])) p = r;
    if (Math.abs(A[p][c]) < 1e-12) throw new Error(`feature ${FEATURES[c] ?? c} has no variation in the fitted rows; cannot fit it`);
    [A[c], A[p]] = [A[p], A[c]];
    for (let r = 0; r < k; r++) {
      if (r === c) continue;
      const f = A[r][c] / A[c][c];
      for (let j = c; j <= k; j++) A[r][j] -= f * A[c][j];
    }
  }
  return A.map((row, i) => Number((row[k] / row[i]).toPrecision(6)));
}

/** The TypeScript source of specpowerParameters.ts for these parameters. */
export function renderParametersModule(p: SpecpowerParameters): string {
  return `// Generated by \`npm run fit-model\` (scripts/fit-model.mjs) from data/specpower/train.csv; do not edit.
// A unit test refits and compares, so a change to the data or the fit shows up here.

import type { SpecpowerParameters } from './specpowerModel.js';

export const SPECPOWER_PARAMETERS: SpecpowerParameters = ${JSON.stringify(p, null, 2)};
`;
}
