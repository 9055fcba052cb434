// kts-specpower: its arithmetic on hand-made parameters, its fit (exact on noise-free data, and the
// committed parameters are the fit of data/specpower/train.csv), how it does on servers it was
// not fitted on next to the published curves, and the machine-level estimate (VM share,
// calibration from configuration, load from /proc/stat deltas).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { evaluateModel } from '../../src/estimation/evaluate.js';
import { hostOfVirtualMachine, loadOfInterval, machinePower, type MachineEstimate } from '../../src/estimation/machineEstimate.js';
import { BASELINE_MODELS, DEFAULT_MODEL_NAME, findModel, knownModels } from '../../src/estimation/modelRegistry.js';
import type { ServerSpec } from '../../src/estimation/powerModel.js';
import { parseSpecpowerCsv } from '../../src/estimation/specpowerCsv.js';
import { fitSpecpowerModel, levelMedians, weightedLeastSquares } from '../../src/estimation/specpowerFit.js';
import { eraOf, featuresOf, FEATURES, interpolate, SpecpowerModel, type SpecpowerParameters } from '../../src/estimation/specpowerModel.js';
import { SPECPOWER_PARAMETERS } from '../../src/estimation/specpowerParameters.js';
import { near } from '../support/assertions.js';

const TRAIN = join(process.cwd(), 'data', 'specpower', 'train.csv');

function server(over: Partial<ServerSpec> = {}): ServerSpec {
  return { cpuName: 'Intel Xeon Gold 6140', vendor: 'intel', year: 2017, chips: 2, cores: 36, threads: 72, tdpWatts: 140, memGb: 192, ...over };
}

const LINEAR = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1];
const SQUARE = LINEAR.map((l) => l * l);
function params(over: Partial<SpecpowerParameters> = {}): SpecpowerParameters {
  const shape = { amd: LINEAR, other: SQUARE };
  return {
    //     const cpuW memGb chips pre09 09-11 pre09c amd
    max: [10, 1, 0.5, 20, 0, 0, 0, -0.2],
    idle: [5, 0.1, 0.1, 10, 0, 0, 0, 0],
    shape: { pre2009: shape, '2009-2011': shape, '2012-2016': shape, '2017+': shape },
    modernIdleRatio: { amd: 0.3, other: 0.2 },
    fittedOn: 'hand-made',
    ...over,
  };
}

describe('kts-specpower arithmetic', () => {
  const m = new SpecpowerModel(params());
  it('idle and full load are the linear features; between them the era/vendor shape', () => {
    const s = server(); // cpuW 280, mem 192, chips 2
    const max = 10 + 280 + 96 + 40;
    const idle = 5 + 28 + 19.2 + 20;
    near(m.predict(s, 0).total, idle, 1e-9, 'idle');
    near(m.predict(s, 1).total, max, 1e-9, 'max');
    // Intel uses the square shape: 0.25 is between 0.2 (0.04) and 0.3 (0.09): 0.065.
    near(m.predict(s, 0.25).total, idle + (max - idle) * 0.065, 1e-9, '25 %');
    // AMD: the cpuW_amd term and the linear shape.
    const amd = server({ vendor: 'amd' });
    near(m.predict(amd, 1).total, max - 0.2 * 280, 1e-9, 'amd max');
    near(m.predict(amd, 0.25).total, idle + (max - 0.2 * 280 - idle) * 0.25, 1e-9, 'amd 25 %');
  });
  it('loads outside 0-1 are clamped, parts add up to the total', () => {
    const s = server();
    assert.equal(m.predict(s, 7).total, m.predict(s, 1).total);
    assert.equal(m.predict(s, -1).total, m.predict(s, 0).total);
    assert.equal(m.predict(s, NaN).total, m.predict(s, 0).total);
    for (const l of [0, 0.33, 1]) {
      const p = m.predict(s, l);
      near(p.cpu + p.memory + p.other, p.total, 1e-9, `sum at ${l}`);
      assert.ok(p.cpu > 0 && p.memory > 0 && p.other >= 0);
    }
    // Memory: 0.284 W/GB x 192 GB = 54.5 W, but at most 30 % of idle (72.2 W): 21.7 W.
    near(m.predict(s, 0).memory, 0.3 * (5 + 28 + 19.2 + 20), 1e-9, 'memory cap');
  });
  it('hardware from 2020 on, or of unknown year, idles at the published modern ratio; 2019 uses the fit', () => {
    assert.equal(m.parameters(server({ year: 2019 })).mode, 'fitted');
    assert.equal(m.parameters(server({ year: 2020 })).mode, 'modern');
    const s = server({ year: 2021 });
    const max = 10 + 280 + 96 + 40;
    near(m.predict(s, 0).total, 0.2 * max, 1e-9, 'intel 2021');
    near(m.predict({ ...s, year: undefined }, 0).total, 0.2 * max, 1e-9, 'unknown year');
    near(m.predict({ ...s, vendor: 'amd' }, 0).total, 0.3 * (max - 56), 1e-9, 'amd 2021');
    assert.equal(m.parameters(s).mode, 'modern');
    assert.equal(m.parameters(server()).mode, 'fitted');
  });
  it('small systems (package budget under 40 W) use the Teads curve on TDP plus memory and board', () => {
    const pi: ServerSpec = { cpuName: 'ARM Cortex-A72', vendor: 'arm', chips: 1, cores: 4, threads: 4, tdpWatts: 6, memGb: 4 };
    const other = 2 + 0.284 * 4;
    near(m.predict(pi, 0).total, 0.12 * 6 + other, 1e-9, 'pi idle');
    near(m.predict(pi, 1).total, 1.02 * 6 + other, 1e-9, 'pi max');
    near(m.predict(pi, 0.3).total, (0.32 + (0.75 - 0.32) * 0.5) * 6 + other, 1e-9, 'pi 30 %');
    assert.equal(m.parameters(pi).mode, 'small-system');
  });
  it('eras, features and interpolation', () => {
    assert.deepEqual([2005, 2008, 2009, 2011, 2012, 2016, 2017, 2030, undefined].map(eraOf), [
      'pre2009',
      'pre2009',
      '2009-2011',
      '2009-2011',
      '2012-2016',
      '2012-2016',
      '2017+',
      '2017+',
      '2017+',
    ]);
    assert.deepEqual(featuresOf(server({ year: 2010, vendor: 'amd' })), [1, 280, 192, 2, 0, 280, 0, 280]);
    assert.equal(featuresOf(server()).length, FEATURES.length);
    assert.equal(interpolate([0, 1], [2, 4], 0.25), 2.5);
    assert.equal(interpolate([0, 1], [2, 4], 5), 4);
  });
});

describe('kts-specpower fit', () => {
  it('weighted least squares recovers exact coefficients', () => {
    const truth = [3, -2, 0.5];
    const X = Array.from({ length: 12 }, (_, i) => [1, i, (i * i) % 7]);
    const y = X.map((r) => r.reduce((s, v, j) => s + v * truth[j], 0) + 100);
    const b = weightedLeastSquares(X, y);
    near(b[0], truth[0] + 100, 1e-6, 'b0');
    near(b[1], truth[1], 1e-6, 'b1');
    near(b[2], truth[2], 1e-6, 'b2');
    assert.throws(
      () =>
        weightedLeastSquares(
          [
            [1, 0],
            [1, 0],
            [1, 0],
          ],
          [1, 2, 3],
        ),
      /no variation/,
    );
  });
  it('level medians are monotone from 0 to 1', () => {
    assert.deepEqual(levelMedians([LINEAR, LINEAR, SQUARE]), LINEAR);
    const bumpy = LINEAR.map((v, i) => (i === 5 ? 0.3 : v));
    const m = levelMedians([bumpy]);
    assert.ok(
      m.every((v, i) => i === 0 || v >= m[i - 1]),
      String(m),
    );
  });
  it('the committed parameters are the fit of data/specpower/train.csv', () => {
    const rows = parseSpecpowerCsv(readFileSync(TRAIN, 'utf8'), TRAIN);
    const refit = fitSpecpowerModel(rows, SPECPOWER_PARAMETERS.fittedOn);
    assert.deepEqual(refit, SPECPOWER_PARAMETERS, 'run `npm run fit-model` after changing the data or the fit');
  });
  it('on the 2017-2018 servers, fitted only on older ones, it beats every published curve', () => {
    const rows = parseSpecpowerCsv(readFileSync(TRAIN, 'utf8'), TRAIN);
    const train = rows.filter((r) => (r.spec.year ?? 0) <= 2016);
    const test = rows.filter((r) => (r.spec.year ?? 0) > 2016);
    assert.ok(test.length >= 50, `${test.length} held-out rows`);
    const own = evaluateModel(new SpecpowerModel(fitSpecpowerModel(train, 'to 2016')), test);
    for (const b of BASELINE_MODELS) {
      const base = evaluateModel(b, test);
      assert.ok(own.mape < base.mape, `kts-specpower ${own.mape.toFixed(1)} % vs ${b.name} ${base.mape.toFixed(1)} %`);
    }
    assert.ok(own.mape < 20, `kts-specpower held-out error ${own.mape.toFixed(1)} %`);
  });
  it('is registered, first, and is the default', () => {
    assert.equal(knownModels()[0].name, 'kts-specpower');
    assert.equal(DEFAULT_MODEL_NAME, 'kts-specpower');
    assert.ok(findModel(DEFAULT_MODEL_NAME) instanceof SpecpowerModel);
  });
});

describe('machine estimate', () => {
  const model = new SpecpowerModel(params());
  const bare: MachineEstimate = { model, server: server(), share: 1, calibration: {} };
  it('bare metal is the whole server', () => {
    for (const l of [0, 0.5, 1]) assert.deepEqual(machinePower(bare, l), model.predict(server(), l));
  });
  it('a VM is its vCPUs share of a two-socket host of the same CPU', () => {
    const vm = server({ chips: 1, cores: 2, threads: 4, memGb: 16 });
    const cat = hostOfVirtualMachine(vm, { coresPerChip: 24 });
    assert.equal(cat.host.chips, 2);
    assert.equal(cat.host.threads, 96); // 2 x 24 cores x 2 (SMT seen in the VM)
    assert.equal(cat.host.cores, 48);
    assert.equal(cat.host.memGb, (16 / 4) * 96);
    assert.equal(cat.share, 4 / 96);
    const est: MachineEstimate = { model, server: cat.host, share: cat.share, calibration: {} };
    near(machinePower(est, 0.5).total, (model.predict(cat.host, 0.5).total * 4) / 96, 1e-9, 'vm watts');
    // The config's hostCpus wins; no catalog entry: 2 x 64 threads; never smaller than the VM.
    assert.equal(hostOfVirtualMachine(vm, { hostCpus: 192 }).share, 4 / 192);
    assert.equal(hostOfVirtualMachine(vm, {}).host.threads, 128);
    assert.equal(hostOfVirtualMachine(server({ threads: 256, cores: 128 }), { hostCpus: 8 }).share, 1);
  });
  it('calibration: idle and max watts remap the curve; one alone keeps the model ratio', () => {
    const i0 = machinePower(bare, 0).total;
    const m0 = machinePower(bare, 1).total;
    const g = (machinePower(bare, 0.4).total - i0) / (m0 - i0);
    const both = { ...bare, calibration: { idleWatts: 100, maxWatts: 300 } };
    near(machinePower(both, 0).total, 100, 1e-9, 'idle');
    near(machinePower(both, 1).total, 300, 1e-9, 'max');
    near(machinePower(both, 0.4).total, 100 + 200 * g, 1e-9, '40 %');
    const onlyMax = { ...bare, calibration: { maxWatts: 500 } };
    near(machinePower(onlyMax, 0).total, (500 * i0) / m0, 1e-9, 'idle from ratio');
    const p = machinePower(both, 0.4);
    near(p.cpu + p.memory + p.other, p.total, 1e-9, 'parts');
  });
  it('calibration: measured points replace the curve, one point scales it', () => {
    const pts = {
      ...bare,
      calibration: {
        points: [
          { load: 1, watts: 400 },
          { load: 0.2, watts: 150 },
          { load: 0.6, watts: 250 },
        ],
      },
    };
    near(machinePower(pts, 0.2).total, 150, 1e-9, 'at a point');
    near(machinePower(pts, 0.4).total, 200, 1e-9, 'between');
    near(machinePower(pts, 0).total, 150 - 0.2 * 250, 1e-9, 'extrapolated below');
    const one = { ...bare, calibration: { points: [{ load: 0.5, watts: 2 * machinePower(bare, 0.5).total }] } };
    near(machinePower(one, 0.9).total, 2 * machinePower(bare, 0.9).total, 1e-9, 'scaled');
  });
  it('load from /proc/stat deltas leaves stolen time out', () => {
    const z = { user: 0, nice: 0, system: 0, idle: 0, iowait: 0, irq: 0, softirq: 0, steal: 0 };
    assert.equal(loadOfInterval({ ...z, user: 30, system: 10, idle: 60 }), 0.4);
    assert.equal(loadOfInterval({ ...z, user: 40, idle: 40, steal: 20 }), 0.5);
    assert.equal(loadOfInterval({ ...z, iowait: 10, idle: 10 }), 0);
    assert.equal(loadOfInterval(z), 0);
  });
});
