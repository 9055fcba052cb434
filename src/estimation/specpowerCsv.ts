// Reads SPECpower_ssj2008 results in the columns of shared/data/specpower/train.csv: one server a
// row, its hardware as a ServerSpec and its measured wall power at the 11 SPECpower load levels.
// Errors name the file, the line and the column.

import { CsvError, parse } from 'csv-parse/sync';
import type { CpuVendor, ServerSpec } from './powerModel.js';

/** Watt columns in SPEC_LOAD_LEVELS order: active idle, then 10 % to 100 %. */
export const SPECPOWER_WATT_COLUMNS: readonly string[] = ['w_idle', 'w_10', 'w_20', 'w_30', 'w_40', 'w_50', 'w_60', 'w_70', 'w_80', 'w_90', 'w_100'];

/** Columns that must be in the header. `vendor`, `model`, `year`, `architecture`, `tdp_w`, `psu_count` are optional. */
export const SPECPOWER_REQUIRED_COLUMNS: readonly string[] = ['id', 'cpu_name', 'cpu_chips', 'cpu_cores', 'cpu_threads', 'mem_gb', ...SPECPOWER_WATT_COLUMNS];

export interface SpecpowerRow {
  id: string;
  /** Line of the file where the row ends (1 is the header). */
  line: number;
  spec: ServerSpec;
  /** Measured watts at the 11 levels of SPEC_LOAD_LEVELS; undefined where the cell is empty or nan. */
  watts: (number | undefined)[];
}

export class SpecpowerCsvError extends Error {
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly column: string | undefined,
    detail: string,
  ) {
    super(`${file}${line !== undefined ? `:${line}` : ''}: ${column !== undefined ? `column "${column}": ` : ''}${detail}`);
    this.name = 'SpecpowerCsvError';
  }
}

/** CPU vendor from a CPU model name such as "Intel Xeon Platinum 8180" or "Quad-Core AMD Opteron(r) 8376". */
export function vendorFromCpuName(cpuName: string): CpuVendor {
  const n = cpuName.toLowerCase();
  if (/\b(intel|xeon|pentium|celeron|atom|core\s*(i[3579]|2|solo|duo))\b/.test(n)) return 'intel';
  if (/\b(amd|opteron|epyc|ryzen|athlon|threadripper)\b/.test(n)) return 'amd';
  if (/\b(arm|ampere|altra|graviton\d*|neoverse|cavium|thunderx\d*|kunpeng|cortex|a64fx)\b/.test(n)) return 'arm';
  return 'other';
}

const MISSING = new Set(['', 'nan', 'na', 'n/a', 'null', 'none']);

function isMissing(cell: string | undefined): boolean {
  return cell === undefined || MISSING.has(cell.trim().toLowerCase());
}

/**
 * Parses SPECpower CSV text. `file` names the source in error messages. Throws SpecpowerCsvError on
 * a missing required column, a value that is not a number where one is required, a row of the
 * wrong length, or no data rows. Empty or `nan` watt cells are allowed and come back undefined.
 */
export function parseSpecpowerCsv(text: string, file: string): SpecpowerRow[] {
  let records: { info: { lines: number }; record: string[] }[];
  try {
    records = parse(text, { info: true, bom: true, trim: true, skip_empty_lines: true }) as unknown as typeof records;
  } catch (err) {
    if (err instanceof CsvError) {
      const line = typeof err.lines === 'number' ? err.lines : undefined;
      throw new SpecpowerCsvError(file, line, undefined, `not valid CSV: ${err.message}`);
    }
    throw err;
  }
  if (records.length === 0) throw new SpecpowerCsvError(file, undefined, undefined, 'empty file, expected a header line and data rows');

  const header = records[0].record;
  const index = new Map<string, number>();
  header.forEach((name, i) => {
    const first = index.get(name);
    if (first !== undefined) {
      throw new SpecpowerCsvError(file, records[0].info.lines, name, `appears twice in the header (columns ${first + 1} and ${i + 1}): expected each column once`);
    }
    index.set(name, i);
  });
  const missing = SPECPOWER_REQUIRED_COLUMNS.filter((c) => !index.has(c));
  if (missing.length > 0) {
    throw new SpecpowerCsvError(
      file,
      records[0].info.lines,
      undefined,
      `missing required column${missing.length > 1 ? 's' : ''} ${missing.map((c) => `"${c}"`).join(', ')} in the header`,
    );
  }
  if (records.length === 1) throw new SpecpowerCsvError(file, undefined, undefined, 'no data rows after the header');

  return records.slice(1).map(({ info, record }) => {
    const line = info.lines;
    const cell = (column: string): string | undefined => {
      const i = index.get(column);
      return i === undefined ? undefined : record[i];
    };
    const number = (column: string, raw: string, what: string, ok: (v: number) => boolean): number => {
      const v = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(v) || !ok(v)) {
        throw new SpecpowerCsvError(file, line, column, `expected ${what}, got "${raw}"`);
      }
      return v;
    };
    const required = (column: string, what: string, ok: (v: number) => boolean): number => {
      const raw = cell(column) ?? '';
      if (isMissing(raw)) throw new SpecpowerCsvError(file, line, column, `expected ${what}, got an empty value`);
      return number(column, raw, what, ok);
    };
    const optional = (column: string, what: string, ok: (v: number) => boolean): number | undefined => {
      const raw = cell(column);
      return raw === undefined || isMissing(raw) ? undefined : number(column, raw, what, ok);
    };
    const positiveInt = (v: number) => Number.isInteger(v) && v > 0;
    const positive = (v: number) => v > 0;
    const nonNegative = (v: number) => v >= 0;

    const cpuName = cell('cpu_name') ?? '';
    const architecture = cell('architecture');
    const spec: ServerSpec = {
      cpuName,
      vendor: vendorFromCpuName(cpuName),
      architecture: architecture === undefined || isMissing(architecture) ? undefined : architecture.toLowerCase(),
      year: optional('year', 'a year (whole number)', positiveInt),
      chips: required('cpu_chips', 'a positive whole number of CPU packages', positiveInt),
      cores: required('cpu_cores', 'a positive whole number of cores', positiveInt),
      threads: required('cpu_threads', 'a positive whole number of threads', positiveInt),
      tdpWatts: optional('tdp_w', 'a positive TDP in watts', positive),
      memGb: required('mem_gb', 'memory in GB (a number >= 0)', nonNegative),
      psuCount: optional('psu_count', 'a whole number of power supplies', (v) => Number.isInteger(v) && v >= 0),
    };
    const watts = SPECPOWER_WATT_COLUMNS.map((c) => optional(c, 'watts (a number >= 0, or empty/nan)', nonNegative));
    return { id: cell('id') ?? '', line, spec, watts };
  });
}
