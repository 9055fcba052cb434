// The NVML binding and meter against a fake libnvidia-ml.so.1 (harness/fake_nvml.c, compiled
// with gcc here): the real koffi binding, the real struct layouts, the real dlopen. Each test
// loads a copy of its own, driven through its own state file.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import type koffiModule from 'koffi';
import { captureLogger, type LogLine } from '../support/captureLogger.js';
import { buildFakeNvml, NVML_ERROR, type FakeNvml, type FakeNvmlOptions, type FakeNvmlState } from '../../harness/fakeNvml.js';
import { NVML_LIBRARY_CANDIDATES, openNvml } from '../../src/device/gpu/nvml/nvmlLibrary.js';
import {
  integratePower,
  mapComputeMode,
  advanceCounter,
  ENERGY_WRAP_UJ,
  PROCESS_INFO,
  processInfoStride,
  SENTINEL,
  REOPEN_EVERY_MS,
  UTILIZATION_SAMPLE,
  type NvmlMeter,
} from '../../src/device/gpu/nvml/nvmlMeter.js';

const H100 = { uuid: 'GPU-11111111-2222-3333-4444-555555555555', name: 'NVIDIA H100 80GB HBM3', energyMj: 1_000_000, powerMw: 300_000 };
const A100 = { uuid: 'GPU-aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee', name: 'NVIDIA A100-SXM4-40GB', energyMj: 2_500, powerMw: 60_000 };

interface Opened {
  fake: FakeNvml;
  meter: NvmlMeter;
  lines: LogLine[];
}

function fakeFor(t: TestContext, state: FakeNvmlState, opts: FakeNvmlOptions = {}): FakeNvml {
  const fake = buildFakeNvml(opts);
  t.after(() => fake.cleanup());
  fake.write(state);
  // Read by the fake at nvmlInit: each copy remembers the file it was opened with.
  process.env.FAKE_NVML_STATE = fake.statePath;
  return fake;
}

function open(t: TestContext, state: FakeNvmlState, opts: FakeNvmlOptions & { clock?: () => number; dcgm?: Parameters<typeof openNvml>[0]['dcgm'] } = {}): Opened {
  const fake = fakeFor(t, state, opts);
  const { logger, lines } = captureLogger();
  const opened = openNvml({ logger, libraryCandidates: [fake.libPath], clock: opts.clock, dcgm: opts.dcgm });
  if ('reason' in opened) assert.fail(opened.reason);
  t.after(() => opened.meter.close());
  return { fake, meter: opened.meter, lines };
}

const warnings = (lines: LogLine[]) => lines.filter((l) => l.level === 'WARN').map((l) => l.msg);
const pids = (list: readonly { pid: number }[] | undefined) => list?.map((p) => p.pid).sort((a, b) => a - b);

// ---------------------------------------------------------------------------------------------
// Pure parts and layouts

test('the offsets the meter reads are those of the nvml.h structs, laid out by the C ABI', () => {
  const koffi = createRequire(import.meta.url)('koffi') as typeof koffiModule;
  const v1 = koffi.struct({ pid: 'unsigned int', usedGpuMemory: 'unsigned long long' });
  const v2 = koffi.struct({ pid: 'unsigned int', usedGpuMemory: 'unsigned long long', gpuInstanceId: 'unsigned int', computeInstanceId: 'unsigned int' });
  const r535 = koffi.struct({
    pid: 'unsigned int',
    usedGpuMemory: 'unsigned long long',
    gpuInstanceId: 'unsigned int',
    computeInstanceId: 'unsigned int',
    usedGpuCcProtectedMemory: 'unsigned long long',
  });
  const sample = koffi.struct({
    pid: 'unsigned int',
    timeStamp: 'unsigned long long',
    smUtil: 'unsigned int',
    memUtil: 'unsigned int',
    encUtil: 'unsigned int',
    decUtil: 'unsigned int',
  });
  assert.deepEqual([koffi.sizeof(v1), koffi.sizeof(v2), koffi.sizeof(r535)], [16, 24, 32]);
  assert.equal(koffi.sizeof(r535), PROCESS_INFO.maxSize);
  assert.equal(koffi.offsetof(v2, 'pid'), PROCESS_INFO.pid);
  assert.equal(koffi.offsetof(v2, 'gpuInstanceId'), PROCESS_INFO.gpuInstanceId);
  assert.equal(koffi.sizeof(sample), UTILIZATION_SAMPLE.size);
  assert.equal(koffi.offsetof(sample, 'pid'), UTILIZATION_SAMPLE.pid);
  assert.equal(koffi.offsetof(sample, 'timeStamp'), UTILIZATION_SAMPLE.timeStamp);
  assert.equal(koffi.offsetof(sample, 'smUtil'), UTILIZATION_SAMPLE.smUtil);
});

test('integratePower is the trapezoid in whole µJ, and a non-positive interval adds nothing', () => {
  assert.equal(integratePower(0, 100, 200, 2), 300_000_000);
  assert.equal(integratePower(5, 0.0001, 0.0002, 0.001), 5); // 0.15 µJ rounds away
  assert.equal(integratePower(7, 0.001, 0.002, 0.001), 9); // 1.5 µJ rounds up
  assert.equal(integratePower(10, 100, 100, 0), 10);
  assert.equal(integratePower(10, 100, 100, -1), 10);
});

test('compute modes: default, exclusive thread and process, prohibited; unknown values are undefined', () => {
  assert.deepEqual([0, 1, 2, 3, 4].map(mapComputeMode), ['default', 'exclusive', 'prohibited', 'exclusive', undefined]);
});

test("the meter's counter: NVML's mJ since the last reading in µJ, past a driver reload, wrapping at 2^52 µJ; a small step back bills nothing", () => {
  assert.deepEqual(advanceCounter(5, 1000n, 1234n), { uj: 234_005, reset: false, lastMj: 1234n });
  // A counter of 2^43 mJ (over 100 days at 1 kW) is beyond a safe integer of µJ; its steps are not.
  assert.deepEqual(advanceCounter(0, 2n ** 43n, 2n ** 43n + 7n), { uj: 7000, reset: false, lastMj: 2n ** 43n + 7n });
  assert.deepEqual(advanceCounter(9_000, 50_000n, 40n), { uj: 49_000, reset: true, lastMj: 40n }, 'the driver reloaded: the 40 mJ since count');
  assert.deepEqual(
    advanceCounter(9_000, 50_000n, 49_990n),
    { uj: 9_000, reset: false, lastMj: 50_000n },
    'a glitch: nothing billed, and the counter continues from the higher reading',
  );
  assert.deepEqual(advanceCounter(ENERGY_WRAP_UJ - 1000, 0n, 3n), { uj: 2000, reset: false, lastMj: 3n });
});

test('processInfoStride tells 16-, 24- and 32-byte entries apart by how far the driver wrote', () => {
  for (const stride of [16, 24, 32] as const) {
    for (const count of [1, 3]) {
      const buf = Buffer.alloc(8 * 32, SENTINEL);
      for (let i = 0; i < count; i++) {
        const at = i * stride;
        buf.writeUInt32LE(1000 + i, at);
        buf.writeBigUInt64LE(1n << 30n, at + 8);
        if (stride >= 24) buf.writeUInt32LE(0xffffffff, at + 16).valueOf();
        if (stride >= 24) buf.writeUInt32LE(0xffffffff, at + 20);
        if (stride === 32) buf.writeBigUInt64LE(0n, at + 24);
      }
      assert.equal(processInfoStride(buf, count), stride, `${count} entries of ${stride} bytes`);
    }
  }
  assert.equal(processInfoStride(Buffer.alloc(64, SENTINEL), 0), 16);
});

// ---------------------------------------------------------------------------------------------
// Opening

test('openNvml lists the GPUs with their names and UUIDs and logs them once, without warnings on a complete driver', (t) => {
  const { meter, lines, fake } = open(t, { gpus: [H100, A100] });
  assert.equal(meter.name, 'nvml');
  assert.deepEqual(meter.devices, [
    { index: 0, uuid: H100.uuid, name: H100.name, vendor: 'nvidia' },
    { index: 1, uuid: A100.uuid, name: A100.name, vendor: 'nvidia' },
  ]);
  const info = lines.filter((l) => l.level === 'INFO');
  assert.equal(info.length, 1);
  assert.equal(info[0].msg, 'NVML opened');
  assert.equal(info[0].fields.library, fake.libPath);
  assert.equal(info[0].fields.driver, '550.54.15-fake');
  assert.deepEqual(info[0].fields.gpus, [
    { index: 0, name: H100.name, uuid: H100.uuid },
    { index: 1, name: A100.name, uuid: A100.uuid },
  ]);
  assert.deepEqual(warnings(lines), []);
});

test('a missing library gives a reason that names every candidate', () => {
  const { logger, lines } = captureLogger();
  const candidates = ['/nonexistent/a/libnvidia-ml.so.1', '/nonexistent/b/libnvidia-ml.so.1'];
  const opened = openNvml({ logger, libraryCandidates: candidates });
  assert.ok('reason' in opened);
  assert.match(opened.reason, /^libnvidia-ml\.so\.1 not found \(tried: \/nonexistent\/a\/libnvidia-ml\.so\.1, \/nonexistent\/b\/libnvidia-ml\.so\.1\)/);
  assert.match(opened.reason, /GPU power is off; on Kubernetes mount the driver \(\/run\/nvidia\/driver\) or use the NVIDIA container toolkit/);
  assert.deepEqual(lines, []);
  assert.equal(NVML_LIBRARY_CANDIDATES[0], 'libnvidia-ml.so.1', 'the dynamic loader is asked first, by soname');
});

test('a file that is not a loadable library is named with its loader error', (t) => {
  const fake = fakeFor(t, { gpus: [H100] });
  const { logger } = captureLogger();
  const opened = openNvml({ logger, libraryCandidates: [fake.statePath] });
  assert.ok('reason' in opened);
  assert.match(opened.reason, new RegExp(`could not be loaded \\(${fake.statePath}: `));
});

test('an nvmlInit error gives a reason with nvmlErrorString', (t) => {
  const fake = fakeFor(t, { gpus: [H100], initError: NVML_ERROR.DRIVER_NOT_LOADED });
  const { logger } = captureLogger();
  const opened = openNvml({ logger, libraryCandidates: [fake.libPath] });
  assert.ok('reason' in opened);
  assert.match(opened.reason, /^nvmlInit failed: Driver Not Loaded/);
});

test('no GPU gives a reason', (t) => {
  const fake = fakeFor(t, { gpus: [] });
  const { logger } = captureLogger();
  const opened = openNvml({ logger, libraryCandidates: [fake.libPath] });
  assert.ok('reason' in opened);
  assert.match(opened.reason, /^no GPU \(nvmlDeviceGetCount = 0\)/);
});

test('a GPU that cannot be opened is left out with a warning; the others are read', (t) => {
  const { meter, lines } = open(t, { gpus: [H100, A100], failures: [{ fn: 'nvmlDeviceGetUUID', gpu: 0, code: NVML_ERROR.NO_PERMISSION }] });
  assert.deepEqual(
    meter.devices.map((d) => d.index),
    [1],
  );
  assert.deepEqual(warnings(lines), ['nvmlDeviceGetUUID failed on GPU 0: Insufficient Permissions: its power is not measured']);
  assert.equal(meter.read(0).energyUj, 0, 'the meter counts from its first reading');
});

test('two fake libraries (same soname, different paths) load side by side in one process, each with its own state', (t) => {
  const first = open(t, { gpus: [H100] });
  const second = open(t, { gpus: [A100, H100] }, { omit: ['nvmlDeviceGetComputeMode'] });
  assert.notEqual(first.fake.libPath, second.fake.libPath);
  assert.deepEqual(
    first.meter.devices.map((d) => d.uuid),
    [H100.uuid],
  );
  assert.deepEqual(
    second.meter.devices.map((d) => d.uuid),
    [A100.uuid, H100.uuid],
  );
  assert.equal(first.meter.read(0).computeMode, 'default');
  assert.equal(second.meter.read(0).computeMode, undefined);
});

// ---------------------------------------------------------------------------------------------
// Energy

test("the energy counter is read in mJ and reported in µJ from the meter's first reading, past a driver reload", (t) => {
  const { meter, fake } = open(t, { gpus: [H100, A100] });
  const r = meter.read(0);
  assert.equal(r.energyUj, 0);
  assert.equal(r.integrated, false);
  assert.equal(r.powerWatts, undefined);
  assert.equal(meter.read(1).energyUj, 0);
  fake.write({ gpus: [{ ...H100, energyMj: 1_000_250 }, A100] });
  assert.deepEqual([meter.read(0).energyUj, meter.read(0).counterReset], [250_000, undefined]);
  // The driver reloads: NVML's counter restarts from 0, and shows 40 J since.
  fake.write({ gpus: [{ ...H100, energyMj: 40_000 }, A100] });
  const reloaded = meter.read(0);
  assert.deepEqual([reloaded.energyUj, reloaded.counterReset], [40_250_000, true]);
  assert.equal(meter.read(0).counterReset, undefined);
});

test('a counter that advances from a wall-clock time needs no rewriting', (t) => {
  const from = Date.now() - 10_000;
  const { meter } = open(t, { gpus: [{ ...H100, energyMj: 5_000, powerMw: 50_000, advanceFromMs: from }] });
  const first = meter.read(0).energyUj;
  const until = Date.now() + 100;
  while (Date.now() < until) {
    /* let the wall clock move */
  }
  // 100 ms or a little more at 50 W: 5 J.
  const second = meter.read(0).energyUj;
  assert.ok(second - first >= 5_000_000 && second - first < 7_000_000, `${first} -> ${second}`);
});

test('a GPU without an energy counter (NOT_SUPPORTED) has its power integrated, and a warning says so', (t) => {
  let now = 0;
  const { meter, lines, fake } = open(t, { gpus: [{ ...H100, energySupported: false, powerMw: 100_000 }, A100] }, { clock: () => now });
  assert.deepEqual(warnings(lines), ['nvmlDeviceGetTotalEnergyConsumption not supported on GPU 0: energy is integrated from nvmlDeviceGetPowerUsage']);
  const first = meter.read(0);
  assert.deepEqual([first.energyUj, first.integrated, first.powerWatts], [0, true, 100]);
  now = 2000;
  fake.write({ gpus: [{ ...H100, energySupported: false, powerMw: 200_000 }, A100] });
  const second = meter.read(0);
  assert.deepEqual([second.energyUj, second.integrated, second.powerWatts], [300_000_000, true, 200]);
  assert.equal(meter.read(1).integrated, false);
});

test('a library without nvmlDeviceGetTotalEnergyConsumption integrates power, with a warning naming the function', (t) => {
  let now = 1000;
  const { meter, lines } = open(t, { gpus: [H100] }, { omit: ['nvmlDeviceGetTotalEnergyConsumption'], clock: () => now });
  const warn = warnings(lines);
  assert.equal(warn.length, 1);
  assert.match(warn[0], /^nvmlDeviceGetTotalEnergyConsumption not found in .*libnvidia-ml\.so\.1: GPU energy is integrated from nvmlDeviceGetPowerUsage$/);
  assert.equal(meter.read(0).energyUj, 0);
  now = 1500;
  assert.deepEqual(meter.read(0), { ...meter.read(0), energyUj: 150_000_000, integrated: true, powerWatts: 300 });
});

test('a GPU with neither an energy counter nor power readings is left out with a warning; with no GPU left, a reason', (t) => {
  const noEnergy = { ...H100, energySupported: false };
  const powerless = { fn: 'nvmlDeviceGetPowerUsage', gpu: 0, code: NVML_ERROR.NOT_SUPPORTED };
  const { meter, lines } = open(t, { gpus: [noEnergy, A100], failures: [powerless] });
  assert.deepEqual(
    meter.devices.map((d) => d.index),
    [1],
  );
  assert.deepEqual(meter.unreadable, [0]);
  assert.deepEqual(warnings(lines), ['neither nvmlDeviceGetTotalEnergyConsumption nor nvmlDeviceGetPowerUsage works on GPU 0: its power is not measured']);
  assert.equal(meter.read(0).energyUj, 0);

  const fake = fakeFor(t, { gpus: [noEnergy], failures: [powerless] });
  const { logger } = captureLogger();
  const opened = openNvml({ logger, libraryCandidates: [fake.libPath] });
  assert.ok('reason' in opened);
  assert.equal(opened.reason, 'neither nvmlDeviceGetTotalEnergyConsumption nor nvmlDeviceGetPowerUsage works on GPU 0: GPU power is off');
});

test('an NVML error on the energy counter of GPU 1 makes read(1) throw, naming the function, the GPU and the error; GPU 0 reads on', (t) => {
  const { meter, fake } = open(t, { gpus: [H100, A100] });
  assert.equal(meter.read(1).energyUj, 0);
  fake.write({ gpus: [H100, A100], failures: [{ fn: 'nvmlDeviceGetTotalEnergyConsumption', gpu: 1, code: NVML_ERROR.GPU_IS_LOST }] });
  assert.throws(() => meter.read(1), { message: 'nvmlDeviceGetTotalEnergyConsumption failed on GPU 1: GPU is lost' });
  assert.equal(meter.read(0).energyUj, 0);
  fake.write({ gpus: [H100, { ...A100, energyMj: A100.energyMj + 7 }] });
  assert.equal(meter.read(1).energyUj, 7000, 'the energy used while it failed is counted once it reads again');
});

test('a driver reload: the old session answers GPU is lost, NVML is opened again (at most every 10 s), and each counter goes on past its restart', (t) => {
  let now = 0;
  const { meter, fake, lines } = open(t, { gpus: [H100, A100] }, { clock: () => now });
  meter.read(0);
  meter.read(1);
  fake.write({ gpus: [{ ...H100, energyMj: H100.energyMj + 5 }, A100] });
  assert.equal(meter.read(0).energyUj, 5000);
  // The driver is unloaded: the old session's handles are gone, and NVML cannot start.
  fake.write({ gpus: [H100, A100], driverGeneration: 1, initError: NVML_ERROR.DRIVER_NOT_LOADED });
  assert.throws(() => meter.read(0), { message: 'nvmlDeviceGetTotalEnergyConsumption failed on GPU 0: GPU is lost' });
  now = 500;
  assert.throws(() => meter.read(0), /GPU is lost/, 'one GPU lost is not a lost session: not opened again');
  assert.throws(() => meter.read(1), /GPU is lost/);
  now = 1000;
  assert.throws(() => meter.read(0), /Uninitialized/, 'every GPU lost: opened again at once, and that failed');
  // The driver is back, its counters restarted near 0.
  fake.write({
    gpus: [
      { ...H100, energyMj: 30 },
      { ...A100, energyMj: 4 },
    ],
    driverGeneration: 1,
  });
  now = 1000 + REOPEN_EVERY_MS / 2;
  assert.throws(() => meter.read(1), /Uninitialized/, 'not tried again before the interval');
  now = 1000 + REOPEN_EVERY_MS;
  const r0 = meter.read(0);
  assert.deepEqual([r0.energyUj, r0.counterReset], [35_000, true], 'the 30 mJ since the reload are counted');
  const r1 = meter.read(1);
  assert.deepEqual([r1.energyUj, r1.counterReset], [4000, true]);
  assert.equal(meter.read(0).counterReset, undefined);
  assert.deepEqual(
    lines.filter((l) => l.level !== 'DEBUG' && /opened again/.test(l.msg)).map((l) => [l.level, l.fields.gpus]),
    [['INFO', 2]],
  );
});

test('a power read error on an integrated GPU throws, and the next reading spans the gap', (t) => {
  let now = 0;
  const gpu = { ...H100, energySupported: false, powerMw: 100_000 };
  const { meter, fake } = open(t, { gpus: [gpu] }, { clock: () => now });
  meter.read(0);
  now = 1000;
  fake.write({ gpus: [gpu], failures: [{ fn: 'nvmlDeviceGetPowerUsage', code: NVML_ERROR.UNKNOWN }] });
  assert.throws(() => meter.read(0), { message: 'nvmlDeviceGetPowerUsage failed on GPU 0: Unknown Error' });
  now = 3000;
  fake.write({ gpus: [gpu] });
  assert.equal(meter.read(0).energyUj, 300_000_000);
});

test('read() after close() throws; close() twice is harmless', (t) => {
  const { meter } = open(t, { gpus: [H100] });
  meter.close();
  meter.close();
  assert.throws(() => meter.read(0), /closed/);
  assert.throws(() => meter.read(5), /no GPU at position 5/);
});

// ---------------------------------------------------------------------------------------------
// Processes, utilization, modes

test('running processes are listed, without a GPU instance when MIG is off', (t) => {
  const { meter } = open(t, {
    gpus: [H100, A100],
    processes: [
      { gpu: 0, pid: 101 },
      { gpu: 0, pid: 102 },
      { gpu: 1, pid: 201 },
    ],
  });
  const r = meter.read(0);
  assert.deepEqual(r.processes, [{ pid: 101 }, { pid: 102 }]);
  assert.equal(r.mig, false);
  assert.deepEqual(meter.read(1).processes, [{ pid: 201 }]);
});

for (const variant of [
  { label: 'nvmlDeviceGetComputeRunningProcesses_v3 with 24-byte entries', opts: {} },
  { label: 'nvmlDeviceGetComputeRunningProcesses_v3 with the R535 drivers\u2019 32-byte entries', opts: { v3EntrySize: 32 as const } },
  { label: 'nvmlDeviceGetComputeRunningProcesses_v2 (no _v3)', opts: { omit: ['nvmlDeviceGetComputeRunningProcesses_v3'] } },
  {
    label: 'nvmlDeviceGetComputeRunningProcesses v1 (16-byte entries)',
    opts: { omit: ['nvmlDeviceGetComputeRunningProcesses_v3', 'nvmlDeviceGetComputeRunningProcesses_v2'] },
  },
]) {
  test(`many processes through ${variant.label}: every pid, buffers grown`, (t) => {
    const processes = Array.from({ length: 150 }, (_, i) => ({ gpu: 0, pid: 1000 + i, smUtil: i % 7 }));
    const { meter, lines } = open(t, { gpus: [H100], processes }, variant.opts);
    assert.deepEqual(warnings(lines), []);
    const r = meter.read(0);
    assert.deepEqual(
      pids(r.processes),
      processes.map((p) => p.pid),
    );
    assert.deepEqual(
      pids(r.utilization),
      processes.map((p) => p.pid),
    );
    assert.deepEqual(r.processes?.[0], { pid: 1000 });
  });
}

test('without any running-process function there is no process list, and a warning says so', (t) => {
  const omit = ['nvmlDeviceGetComputeRunningProcesses_v3', 'nvmlDeviceGetComputeRunningProcesses_v2', 'nvmlDeviceGetComputeRunningProcesses'];
  const { meter, lines } = open(t, { gpus: [H100], processes: [{ gpu: 0, pid: 5, smUtil: 10 }] }, { omit });
  assert.deepEqual(warnings(lines).length, 1);
  assert.match(warnings(lines)[0], /^nvmlDeviceGetComputeRunningProcesses \(_v3, _v2, v1\) not found in .*: GPU energy is not attributed to processes$/);
  const r = meter.read(0);
  assert.equal(r.processes, undefined);
  assert.deepEqual(r.utilization, [{ pid: 5, smUtil: 10 }]);
});

test('a failing process list is undefined, logged at debug only once, and the reading goes on', (t) => {
  const { meter, lines, fake } = open(t, { gpus: [H100], processes: [{ gpu: 0, pid: 5 }] });
  fake.write({ gpus: [H100], processes: [{ gpu: 0, pid: 5 }], failures: [{ fn: 'nvmlDeviceGetComputeRunningProcesses_v3', code: NVML_ERROR.NO_PERMISSION }] });
  const before = lines.length;
  for (let i = 0; i < 3; i++) {
    const r = meter.read(0);
    assert.equal(r.processes, undefined);
    assert.equal(r.energyUj, 0);
  }
  const logged = lines.slice(before);
  assert.deepEqual(
    logged.map((l) => [l.level, l.fields.fn, l.fields.error]),
    [['DEBUG', 'nvmlDeviceGetComputeRunningProcesses_v3', 'Insufficient Permissions']],
  );
});

test('utilization is summed per pid over the samples newer than the last acknowledged read, ended processes included', (t) => {
  const at = Date.now() * 1000 - 1_000_000;
  const { meter, fake } = open(t, {
    gpus: [H100],
    processes: [
      { gpu: 0, pid: 10, smUtil: 30, sampleTimeUs: at },
      { gpu: 0, pid: 10, smUtil: 20, running: false, sampleTimeUs: at + 1 },
      { gpu: 0, pid: 11, smUtil: 5, sampleTimeUs: at + 2 },
      { gpu: 0, pid: 12, smUtil: 40, running: false, sampleTimeUs: at + 3 },
      { gpu: 0, pid: 13 },
    ],
  });
  const first = meter.read(0);
  assert.deepEqual(first.processes, [{ pid: 10 }, { pid: 11 }, { pid: 13 }]);
  assert.deepEqual(
    [...(first.utilization ?? [])].sort((a, b) => a.pid - b.pid),
    [
      { pid: 10, smUtil: 50 },
      { pid: 11, smUtil: 5 },
      { pid: 12, smUtil: 40 },
    ],
  );
  // Not acknowledged (the monitor threw that refresh away): the next read covers the same samples.
  assert.deepEqual(meter.read(0).utilization?.length, 3);
  meter.acknowledge(0);
  // Acknowledged: the same samples are not counted again; NVML answers NOT_FOUND, i.e. no use in the window.
  assert.deepEqual(meter.read(0).utilization, []);
  meter.acknowledge(0);
  fake.write({
    gpus: [H100],
    processes: [
      { gpu: 0, pid: 10, smUtil: 30, sampleTimeUs: at },
      { gpu: 0, pid: 11, smUtil: 7, sampleTimeUs: at + 10 },
    ],
  });
  assert.deepEqual(meter.read(0).utilization, [{ pid: 11, smUtil: 7 }]);
});

test('a GPU without per-process utilization (NOT_SUPPORTED) reads it as undefined, with a warning', (t) => {
  const { meter, lines } = open(t, {
    gpus: [H100, A100],
    processes: [{ gpu: 1, pid: 3, smUtil: 1 }],
    failures: [{ fn: 'nvmlDeviceGetProcessUtilization', gpu: 0, code: NVML_ERROR.NOT_SUPPORTED }],
  });
  assert.deepEqual(warnings(lines), ['nvmlDeviceGetProcessUtilization not supported on GPU 0: its energy is split equally between its processes']);
  assert.equal(meter.read(0).utilization, undefined);
  assert.deepEqual(meter.read(1).utilization, [{ pid: 3, smUtil: 1 }]);
});

test('compute modes are read at each refresh', (t) => {
  const { meter, fake } = open(t, { gpus: [H100, { ...A100, computeMode: 'exclusive' }] });
  assert.equal(meter.read(0).computeMode, 'default');
  assert.equal(meter.read(1).computeMode, 'exclusive');
  fake.write({ gpus: [{ ...H100, computeMode: 'prohibited' }, A100] });
  assert.equal(meter.read(0).computeMode, 'prohibited');
  assert.equal(meter.read(1).computeMode, 'default');
});

test('a library without nvmlDeviceGetComputeMode or nvmlDeviceGetMigMode warns once each and reads undefined / no MIG', (t) => {
  const { meter, lines } = open(t, { gpus: [{ ...H100, mig: true }] }, { omit: ['nvmlDeviceGetComputeMode', 'nvmlDeviceGetMigMode'] });
  const warn = warnings(lines);
  assert.equal(warn.length, 3);
  assert.match(warn[0], /^nvmlDeviceGetComputeMode not found in .*: GPUs are taken as in the default compute mode$/);
  assert.match(warn[1], /^nvmlDeviceGetMigMode not found in .*: MIG is taken as off$/);
  // Taken as a GPU without MIG, it is asked for per-process utilization, which a MIG GPU does not have.
  assert.equal(warn[2], 'nvmlDeviceGetProcessUtilization not supported on GPU 0: its energy is split equally between its processes');
  const r = meter.read(0);
  assert.equal(r.computeMode, undefined);
  assert.equal(r.mig, false);
});

test('MIG: processes carry their GPU instance, utilization is undefined, instance activity comes from DCGM', (t) => {
  const asked: [string, number][] = [];
  const activity = new Map([
    [1, 0.5],
    [2, 0.25],
  ]);
  const dcgm = {
    activity: (uuid: string, index: number) => {
      asked.push([uuid, index]);
      return activity;
    },
  } as unknown as Parameters<typeof openNvml>[0]['dcgm'];
  const { meter, lines } = open(
    t,
    {
      gpus: [{ ...H100, mig: true }, A100],
      processes: [
        { gpu: 0, pid: 7, gpuInstanceId: 1, smUtil: 50 },
        { gpu: 0, pid: 8, gpuInstanceId: 2 },
        { gpu: 1, pid: 9, gpuInstanceId: 5, smUtil: 3 },
      ],
    },
    { dcgm },
  );
  assert.deepEqual(warnings(lines), []);
  const r = meter.read(0);
  assert.equal(r.mig, true);
  assert.deepEqual(r.processes, [
    { pid: 7, gpuInstanceId: 1 },
    { pid: 8, gpuInstanceId: 2 },
  ]);
  assert.equal(r.utilization, undefined);
  assert.equal(r.instanceActivity, activity);
  assert.deepEqual(asked, [[H100.uuid, 0]]);
  const plain = meter.read(1);
  assert.equal(plain.mig, false);
  assert.deepEqual(plain.processes, [{ pid: 9 }]);
  assert.equal(plain.instanceActivity, undefined);
  assert.deepEqual(plain.utilization, [{ pid: 9, smUtil: 3 }]);
});

test('MIG without a DCGM poller has no instance activity', (t) => {
  const { meter } = open(t, { gpus: [{ ...H100, mig: true }], processes: [{ gpu: 0, pid: 7, gpuInstanceId: 3 }] });
  const r = meter.read(0);
  assert.equal(r.instanceActivity, undefined);
  assert.deepEqual(r.processes, [{ pid: 7, gpuInstanceId: 3 }]);
});

test('a MIG mode error keeps the last mode known', (t) => {
  const { meter, fake } = open(t, { gpus: [{ ...H100, mig: true }] });
  assert.equal(meter.read(0).mig, true);
  fake.write({ gpus: [{ ...H100, mig: true }], failures: [{ fn: 'nvmlDeviceGetMigMode', code: NVML_ERROR.UNKNOWN }] });
  assert.equal(meter.read(0).mig, true);
  fake.write({ gpus: [H100], failures: [{ fn: 'nvmlDeviceGetMigMode', code: NVML_ERROR.NOT_SUPPORTED }] });
  assert.equal(meter.read(0).mig, false);
});
