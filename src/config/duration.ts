// Go duration strings (time.ParseDuration): "5s", "500ms", "1m30s", "1.5h", "250us", "0".

const UNIT_NS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  µs: 1e3, // U+00B5 micro sign
  μs: 1e3, // U+03BC Greek mu
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};
const PART = /(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g;
const WHOLE = /^[-+]?(?:(?:(?:\d+\.?\d*|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+|0)$/;

/** Parses a Go duration string into milliseconds (may be fractional, e.g. 250us = 0.25). Throws if invalid. */
export function parseDuration(s: string): number {
  if (!WHOLE.test(s)) throw new Error(`invalid duration ${JSON.stringify(s)}`);
  let ns = 0;
  // Summed in whole nanoseconds, as Go does, so that "1.1s" is exactly 1100 ms.
  for (const [, num, unit] of s.matchAll(PART)) ns += Math.round(Number(num) * UNIT_NS[unit]);
  if (!Number.isFinite(ns)) throw new Error(`invalid duration ${JSON.stringify(s)}: out of range`);
  return (s.startsWith('-') ? -ns : ns) / 1e6;
}

/** Formats milliseconds the way Go prints a duration: "0s", "500ms", "5s", "1m30s", "1h0m0s". */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (Math.abs(ms) < 1000) return `${ms}ms`;
  const sign = ms < 0 ? '-' : '';
  let rest = Math.abs(ms);
  const h = Math.floor(rest / 3600e3);
  rest -= h * 3600e3;
  const m = Math.floor(rest / 60e3);
  const s = (rest - m * 60e3) / 1000;
  return sign + (h ? `${h}h${m}m${s}s` : m ? `${m}m${s}s` : `${s}s`);
}
