// Test helpers: assertions shared by the tests.

import assert from 'node:assert/strict';

/**
 * |actual - expected| <= tolerance (1e-9 unless given), naming `what` when it fails; an absent or
 * non-finite `actual` fails. `near(a, b, 'what')` is `near(a, b, 1e-9, 'what')`.
 */
export function near(actual: number | undefined, expected: number, what: string): void;
export function near(actual: number | undefined, expected: number, tolerance?: number, what?: string): void;
export function near(actual: number | undefined, expected: number, toleranceOrWhat: number | string = 1e-9, what = ''): void {
  const tolerance = typeof toleranceOrWhat === 'number' ? toleranceOrWhat : 1e-9;
  if (typeof toleranceOrWhat === 'string') what = toleranceOrWhat;
  assert.ok(actual !== undefined && Number.isFinite(actual) && Math.abs(actual - expected) <= tolerance, `${what}: expected ${expected} ± ${tolerance}, got ${actual}`);
}

/** The last element of `xs`; fails, naming `what`, when there is none. */
export function lastOf<T>(xs: readonly T[], what: string): T {
  const x = xs.at(-1);
  assert.ok(x !== undefined, `no ${what}`);
  return x;
}
