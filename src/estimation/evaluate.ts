// A model judged on measured servers: mean absolute percentage error of its whole-server watts
// against SPECpower results, over every row and load level that has a measurement. Pure.

import { SPEC_LOAD_LEVELS, type PowerModel } from './powerModel.js';
import type { SpecpowerRow } from './specpowerCsv.js';

export interface LevelError {
  /** Load level, 0 (active idle) to 1. */
  load: number;
  /** Mean absolute percentage error at this level; NaN when no row had a measurement here. */
  mape: number;
  /** Measurements that went into it. */
  count: number;
}

export interface EvaluationResult {
  model: string;
  /** Mean of |predicted - measured| / measured x 100 over every row x level with a measurement > 0; NaN when none. */
  mape: number;
  /** Rows with at least one measurement > 0. */
  rows: number;
  /** Measurements (row x level) that went into `mape`. */
  points: number;
  /** The error at each level of SPEC_LOAD_LEVELS, in that order. */
  perLevel: LevelError[];
}

export function evaluateModel(model: PowerModel, rows: readonly Pick<SpecpowerRow, 'spec' | 'watts'>[]): EvaluationResult {
  const sums = SPEC_LOAD_LEVELS.map(() => 0);
  const counts = SPEC_LOAD_LEVELS.map(() => 0);
  let used = 0;
  for (const row of rows) {
    let any = false;
    SPEC_LOAD_LEVELS.forEach((load, i) => {
      const actual = row.watts[i];
      if (actual === undefined || !Number.isFinite(actual) || actual <= 0) return;
      const predicted = model.predict(row.spec, load).total;
      sums[i] += (Math.abs(predicted - actual) / actual) * 100;
      counts[i] += 1;
      any = true;
    });
    if (any) used += 1;
  }
  const points = counts.reduce((a, b) => a + b, 0);
  const total = sums.reduce((a, b) => a + b, 0);
  return {
    model: model.name,
    mape: points > 0 ? total / points : NaN,
    rows: used,
    points,
    perLevel: SPEC_LOAD_LEVELS.map((load, i) => ({ load, mape: counts[i] > 0 ? sums[i] / counts[i] : NaN, count: counts[i] })),
  };
}

/** `<model> mape=<percent, 2 decimals> rows=<n>` */
export function formatEvaluationLine(r: Pick<EvaluationResult, 'model' | 'mape' | 'rows'>): string {
  return `${r.model} mape=${r.mape.toFixed(2)} rows=${r.rows}`;
}
