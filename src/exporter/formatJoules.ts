// How every exporter writes energy: joules as a decimal string from the monitor's exact µJ
// integers, so a counter past 2^53 µJ (days at 10 kW) still shows every microjoule.

/** Joules as a decimal string from an exact µJ count: full precision at any size. */
export function formatJoules(uj: bigint): string {
  // Fast path only below 2^33 J: there a double's spacing (at most 2^-20) is finer than 1 µJ, so
  // the shortest round-trip string of uj / 1e6 is the exact decimal. Between 2^33 J and 2^53 µJ
  // (about 10 days at 10 kW) it is not: 8589934592000001 µJ would print as 8589934592.000002.
  if (uj < 8_589_934_592_000_000n) return String(Number(uj) / 1e6);
  const whole = uj / 1_000_000n;
  const frac = (uj % 1_000_000n).toString().padStart(6, '0').replace(/0+$/, '');
  return frac ? `${whole}.${frac}` : `${whole}`;
}
