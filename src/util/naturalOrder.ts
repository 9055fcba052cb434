// The order of sysfs names with numbers in them: intel-rapl:0:2 before intel-rapl:1:0, hwmon2
// before hwmon10, in1_input before in10_input. `localeCompare(b, 'en', { numeric: true })` gave
// it before, but calling it loads ICU's collation data: about 3 MiB of the Node.js binary's pages
// stay resident for the exporter's life, for a sort of a few names at start.

const isDigit = (c: number): boolean => c >= 48 && c <= 57;

/**
 * Pure: compares runs of digits by their value (leading zeros aside, the shorter run first among
 * equal values) and everything else by UTF-16 code unit. A comparator for Array.prototype.sort.
 */
export function compareNatural(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(j);
    if (isDigit(ca) && isDigit(cb)) {
      let ei = i;
      let ej = j;
      while (ei < a.length && isDigit(a.charCodeAt(ei))) ei++;
      while (ej < b.length && isDigit(b.charCodeAt(ej))) ej++;
      // Without leading zeros, the longer run is the larger number; equal lengths compare digit by digit.
      let si = i;
      let sj = j;
      while (si < ei - 1 && a.charCodeAt(si) === 48) si++;
      while (sj < ej - 1 && b.charCodeAt(sj) === 48) sj++;
      if (ei - si !== ej - sj) return ei - si - (ej - sj);
      for (let k = 0; k < ei - si; k++) {
        const d = a.charCodeAt(si + k) - b.charCodeAt(sj + k);
        if (d !== 0) return d;
      }
      if (ei - i !== ej - j) return ei - i - (ej - j);
      i = ei;
      j = ej;
    } else {
      if (ca !== cb) return ca - cb;
      i++;
      j++;
    }
  }
  return a.length - i - (b.length - j);
}
