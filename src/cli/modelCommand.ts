// `kepler-ts model evaluate --specpower FILE [--model NAME]`: judges the power models on measured
// SPECpower servers, one line per model: `<model> mape=<percent> rows=<n>`.
// Exit codes: 0 done, 2 usage or input error (message on stderr naming the input and what was expected).

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { evaluateModel, formatEvaluationLine } from '../estimation/evaluate.js';
import { findModel, knownModels } from '../estimation/modelRegistry.js';
import type { PowerModel } from '../estimation/powerModel.js';
import { parseSpecpowerCsv, SpecpowerCsvError } from '../estimation/specpowerCsv.js';

export interface ModelCommandIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** The file's text; throws when it cannot be read. */
  readFile(path: string): string;
}

export function nodeIo(): ModelCommandIo {
  return {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    readFile: (p) => readFileSync(p, 'utf8'),
  };
}

export function modelUsage(models: readonly PowerModel[]): string {
  const width = Math.max(...models.map((m) => m.name.length));
  return [
    'Usage: kepler-ts model evaluate --specpower FILE [--model NAME]',
    '',
    'Evaluates power models against measured SPECpower_ssj2008 servers and prints one line per model:',
    '  <model> mape=<mean absolute percentage error over every server x load level> rows=<servers used>',
    '',
    'Options:',
    '  --specpower FILE  SPECpower results as CSV, in the columns of train.csv (id, cpu_name, cpu_chips,',
    '                    cpu_cores, cpu_threads, mem_gb, w_idle, w_10 ... w_100; optional year,',
    '                    architecture, tdp_w, psu_count)',
    '  --model NAME      evaluate only this model',
    '  -h, --help        print this help',
    '',
    'Models:',
    ...models.map((m) => `  ${m.name.padEnd(width)}  ${m.description}`),
    '',
  ].join('\n');
}

export function runModelCommand(argv: string[], io: ModelCommandIo = nodeIo(), models: PowerModel[] = knownModels()): number {
  const fail = (message: string): number => {
    io.stderr(`kepler-ts model: ${message}\n`);
    return 2;
  };
  const [sub, ...rest] = argv;
  if (sub === '--help' || sub === '-h' || sub === 'help') {
    io.stdout(modelUsage(models));
    return 0;
  }
  if (sub === undefined) return fail(`expected a subcommand: evaluate (see kepler-ts model --help)`);
  if (sub !== 'evaluate') return fail(`unknown subcommand "${sub}": expected evaluate (see kepler-ts model --help)`);

  let values: { specpower?: string; model?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: rest,
      options: {
        specpower: { type: 'string' },
        model: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    return fail(`evaluate: ${err instanceof Error ? err.message : String(err)}; expected --specpower FILE [--model NAME]`);
  }
  if (values.help) {
    io.stdout(modelUsage(models));
    return 0;
  }
  if (values.specpower === undefined || values.specpower === '') {
    return fail('evaluate: missing --specpower FILE: expected a SPECpower CSV such as data/specpower/train.csv');
  }
  let selected = models;
  if (values.model !== undefined) {
    const m = findModel(values.model, models);
    if (!m) return fail(`evaluate: unknown model "${values.model}" in --model: expected one of ${models.map((x) => x.name).join(', ')}`);
    selected = [m];
  }

  const file = values.specpower;
  let text: string;
  try {
    text = io.readFile(file);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    return fail(`evaluate: cannot read --specpower file ${file}: ${why}`);
  }
  let rows;
  try {
    rows = parseSpecpowerCsv(text, file);
  } catch (err) {
    if (err instanceof SpecpowerCsvError) return fail(`evaluate: ${err.message}`);
    throw err;
  }
  const results = selected.map((model) => evaluateModel(model, rows));
  if (results.some((r) => r.points === 0)) {
    return fail(`evaluate: ${file}: no measured watts (every w_idle ... w_100 cell is empty, nan or 0): expected at least one row with a measurement`);
  }
  for (const r of results) io.stdout(`${formatEvaluationLine(r)}\n`);
  return 0;
}
