// Refits the kts-specpower model (src/estimation/specpowerFit.ts) and reports how it and the
// published baselines do on SPECpower rows it was not fitted on.
//   node scripts/fit-model.mjs [train.csv]          (npm run fit-model: builds first)
// 1. Held-out check, twice: fitted on rows up to 2016, scored on 2017-2018 (the newest servers,
//    the closest to what it will meet); and fitted on 4/5 of the rows, scored on the other fifth
//    (id mod 5 = 0). 2. The shipped fit: every row, written to src/estimation/specpowerParameters.ts.
import { readFileSync, writeFileSync } from 'node:fs';
import { parseSpecpowerCsv } from '../dist/src/estimation/specpowerCsv.js';
import { fitSpecpowerModel, renderParametersModule } from '../dist/src/estimation/specpowerFit.js';
import { SpecpowerModel } from '../dist/src/estimation/specpowerModel.js';
import { BASELINE_MODELS } from '../dist/src/estimation/modelRegistry.js';
import { evaluateModel, formatEvaluationLine } from '../dist/src/estimation/evaluate.js';

const file = process.argv[2] ?? 'data/specpower/train.csv';
const rows = parseSpecpowerCsv(readFileSync(file, 'utf8'), file);

const splits = [
  { name: 'year <= 2016 -> 2017-2018', fit: (r) => (r.spec.year ?? 0) <= 2016 },
  { name: 'id % 5 != 0 -> id % 5 = 0', fit: (r) => BigInt(r.id) % 5n !== 0n },
];
for (const s of splits) {
  const train = rows.filter(s.fit);
  const test = rows.filter((r) => !s.fit(r));
  const model = new SpecpowerModel(fitSpecpowerModel(train, s.name));
  console.log(`# fitted on ${train.length} rows, scored on ${test.length} held-out rows (${s.name})`);
  for (const m of [model, ...BASELINE_MODELS]) {
    const r = evaluateModel(m, test);
    console.log(`${formatEvaluationLine(r)}  per level: ${r.perLevel.map((v) => v.mape.toFixed(1)).join(' ')}`);
  }
}

const out = 'src/estimation/specpowerParameters.ts';
writeFileSync(out, renderParametersModule(fitSpecpowerModel(rows, `${rows.length} servers of ${file.split('/').pop()}`)));
console.log(`# wrote ${out} (fitted on all ${rows.length} rows)`);
