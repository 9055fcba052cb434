// The koffi binding of NVIDIA's libnvidia-ml.so.1, loaded only when GPU monitoring is on: koffi
// (a native module) is required on the first openNvml(), not at import, so an exporter without
// GPUs never loads it. The prototypes are nvml.h's, except nvmlProcessInfo_t *, which is a
// void * here: its size depends on the driver (see processInfoStride in nvmlMeter.ts).
//
// Required: nvmlInit_v2, nvmlShutdown, nvmlErrorString, nvmlDeviceGetCount_v2,
// nvmlDeviceGetHandleByIndex_v2, nvmlDeviceGetName, nvmlDeviceGetUUID, and one of
// nvmlDeviceGetTotalEnergyConsumption / nvmlDeviceGetPowerUsage. Every other function is
// optional: a library without it loses only what it gives (NvmlMeter says what, once, at open).

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type koffiModule from 'koffi';
import type { Logger } from '../../../logger/logger.js';
import type { DcgmActivity } from '../dcgmActivity.js';
import { NVML, NvmlMeter, type NvmlApi, type NvmlDevice, type NvmlDeviceHandle, type NvmlProcessFunction } from './nvmlMeter.js';

type Koffi = typeof koffiModule;
type KoffiLibrary = ReturnType<Koffi['load']>;

/**
 * Where libnvidia-ml.so.1 is looked for, in order: by soname through the dynamic loader first
 * (LD_LIBRARY_PATH and ld.so.cache: what the NVIDIA container toolkit arranges), then where the
 * GPU operator's driver container (/run/nvidia/driver) and the distributions install it.
 */
export const NVML_LIBRARY_CANDIDATES: readonly string[] = [
  'libnvidia-ml.so.1',
  '/run/nvidia/driver/usr/lib64/libnvidia-ml.so.1',
  '/usr/lib64/libnvidia-ml.so.1',
  '/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1',
  '/usr/lib/aarch64-linux-gnu/libnvidia-ml.so.1',
  '/usr/lib/libnvidia-ml.so.1',
];

export interface OpenNvmlOptions {
  logger: Logger;
  /** Overrides NVML_LIBRARY_CANDIDATES (tests pass a fake's absolute path: LD_LIBRARY_PATH is read once, at process start). */
  libraryCandidates?: readonly string[];
  /** MIG instances' activity, for MIG devices; its owner starts and stops it. */
  dcgm?: DcgmActivity;
  /** Monotonic milliseconds, for integrating power (performance.now by default). */
  clock?: () => number;
}

// nvml.h buffer sizes: NVML_DEVICE_NAME_V2_BUFFER_SIZE, NVML_DEVICE_UUID_V2_BUFFER_SIZE,
// NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE.
const NAME_SIZE = 96;
const UUID_SIZE = 96;
const DRIVER_VERSION_SIZE = 80;

let koffi: Koffi | undefined;
/** koffi, loaded on first use, with nvmlDevice_t declared once (koffi's type names are process-wide). */
function loadKoffi(): Koffi {
  if (!koffi) {
    const k = createRequire(import.meta.url)('koffi') as Koffi;
    k.pointer('nvmlDevice_t', k.opaque('nvmlDevice_st'));
    koffi = k;
  }
  return koffi;
}

/**
 * Opens NVML and lists its GPUs. The reason, when there is none to read, is one sentence for the
 * log: the caller logs it once and runs without GPU power. On success this logs the library,
 * the driver and the GPUs once (info), and one warning per feature the library or a GPU lacks.
 */
export function openNvml(opts: OpenNvmlOptions): { meter: NvmlMeter } | { reason: string } {
  let k: Koffi;
  try {
    k = loadKoffi();
  } catch (err) {
    return { reason: `koffi (the FFI module that loads NVML) cannot load here: ${(err as Error).message}; GPU power is off` };
  }
  const candidates = opts.libraryCandidates ?? NVML_LIBRARY_CANDIDATES;
  const loaded = loadLibrary(k, candidates);
  if ('reason' in loaded) return loaded;
  const { lib, path } = loaded;

  const required = bindRequired(lib);
  if ('missing' in required) return { reason: `${path} has no ${required.missing}: not NVML, or an NVML too old; GPU power is off` };
  const f = required.fns;
  const api = bindApi(lib, path, f, opts.logger);
  if (!api.totalEnergyConsumption && !api.powerUsage) {
    return { reason: `${path} has neither nvmlDeviceGetTotalEnergyConsumption nor nvmlDeviceGetPowerUsage: GPU power is off` };
  }

  const init = f.init();
  if (init !== NVML.SUCCESS) return { reason: `nvmlInit failed: ${f.errorString(init)}; GPU power is off` };
  const opened = listDevices(f, opts.logger);
  if ('reason' in opened) {
    f.shutdown();
    return opened;
  }
  const meter = new NvmlMeter(api, opened.devices, { logger: opts.logger, dcgm: opts.dcgm, clock: opts.clock });
  if (meter.devices.length === 0) {
    meter.close();
    return { reason: `neither nvmlDeviceGetTotalEnergyConsumption nor nvmlDeviceGetPowerUsage works on GPU ${meter.unreadable.join(', ')}: GPU power is off` };
  }
  opts.logger.info('NVML opened', {
    library: path.includes('/') ? path : (mappedFile(path) ?? path),
    driver: driverVersion(lib),
    gpus: meter.devices.map((d) => ({ index: d.index, name: d.name, uuid: d.uuid })),
  });
  for (const message of meter.degraded) opts.logger.warn(message);
  return { meter };
}

function loadLibrary(k: Koffi, candidates: readonly string[]): { lib: KoffiLibrary; path: string } | { reason: string } {
  const failures: string[] = [];
  for (const path of candidates) {
    try {
      return { lib: k.load(path), path };
    } catch (err) {
      // A file that is there but does not load (another architecture, a missing dependency) is
      // worth naming; "not found" is what the list of candidates already says.
      const message = (err as Error).message;
      if (!/no such file/i.test(message)) failures.push(`${path}: ${message}`);
    }
  }
  const tried = `tried: ${candidates.join(', ')}`;
  const why = failures.length > 0 ? `libnvidia-ml.so.1 could not be loaded (${failures.join('; ')}; ${tried})` : `libnvidia-ml.so.1 not found (${tried})`;
  return { reason: `${why}: GPU power is off; on Kubernetes mount the driver (/run/nvidia/driver) or use the NVIDIA container toolkit` };
}

interface RequiredFunctions {
  readonly init: () => number;
  readonly shutdown: () => number;
  readonly errorString: (code: number) => string;
  readonly count: (out: Buffer) => number;
  readonly handleByIndex: (index: number, out: [NvmlDeviceHandle]) => number;
  readonly name: (device: NvmlDeviceHandle, out: Buffer, length: number) => number;
  readonly uuid: (device: NvmlDeviceHandle, out: Buffer, length: number) => number;
}

type KoffiFunction = ReturnType<KoffiLibrary['func']>;

/** Koffi's lib.func throws on a missing symbol: undefined then. */
function optional(lib: KoffiLibrary, prototype: string): KoffiFunction | undefined {
  try {
    return lib.func(prototype);
  } catch {
    return undefined;
  }
}

function bindRequired(lib: KoffiLibrary): { fns: RequiredFunctions } | { missing: string } {
  const prototypes = {
    init: 'int nvmlInit_v2(void)',
    shutdown: 'int nvmlShutdown(void)',
    errorString: 'const char *nvmlErrorString(int result)',
    count: 'int nvmlDeviceGetCount_v2(unsigned int *deviceCount)',
    handleByIndex: 'int nvmlDeviceGetHandleByIndex_v2(unsigned int index, _Out_ nvmlDevice_t *device)',
    name: 'int nvmlDeviceGetName(nvmlDevice_t device, char *name, unsigned int length)',
    uuid: 'int nvmlDeviceGetUUID(nvmlDevice_t device, char *uuid, unsigned int length)',
  } as const;
  const fns: Record<string, unknown> = {};
  for (const [key, prototype] of Object.entries(prototypes)) {
    const fn = optional(lib, prototype);
    if (!fn) return { missing: /(\w+)\(/.exec(prototype)?.[1] ?? prototype };
    fns[key] = fn;
  }
  return { fns: fns as unknown as RequiredFunctions };
}

function bindApi(lib: KoffiLibrary, path: string, f: RequiredFunctions, logger: Logger): NvmlApi {
  const fn = (prototype: string) => optional(lib, prototype);
  const processes: NvmlProcessFunction[] = [];
  const versions = [
    ['nvmlDeviceGetComputeRunningProcesses_v3', 3],
    ['nvmlDeviceGetComputeRunningProcesses_v2', 2],
    ['nvmlDeviceGetComputeRunningProcesses', 1],
  ] as const;
  for (const [name, version] of versions) {
    const call: NvmlProcessFunction['call'] | undefined = fn(`int ${name}(nvmlDevice_t device, unsigned int *infoCount, void *infos)`);
    if (call) processes.push({ name, version, call });
  }
  return {
    path,
    errorString: f.errorString,
    shutdown: f.shutdown,
    reopen: () => {
      f.shutdown();
      const init = f.init();
      return init === NVML.SUCCESS ? listDevices(f, logger) : { reason: `nvmlInit failed: ${f.errorString(init)}` };
    },
    totalEnergyConsumption: fn('int nvmlDeviceGetTotalEnergyConsumption(nvmlDevice_t device, unsigned long long *energy)'),
    powerUsage: fn('int nvmlDeviceGetPowerUsage(nvmlDevice_t device, unsigned int *power)'),
    computeRunningProcesses: processes,
    processUtilization: fn('int nvmlDeviceGetProcessUtilization(nvmlDevice_t device, void *utilization, unsigned int *processSamplesCount, unsigned long long lastSeenTimeStamp)'),
    computeMode: fn('int nvmlDeviceGetComputeMode(nvmlDevice_t device, int *mode)'),
    migMode: fn('int nvmlDeviceGetMigMode(nvmlDevice_t device, unsigned int *currentMode, unsigned int *pendingMode)'),
  };
}

/** The GPUs with their names and UUIDs; one that cannot be opened is left out with a warning. */
function listDevices(f: RequiredFunctions, logger: Logger): { devices: NvmlDevice[] } | { reason: string } {
  const count = Buffer.alloc(4);
  const code = f.count(count);
  if (code !== NVML.SUCCESS) return { reason: `nvmlDeviceGetCount failed: ${f.errorString(code)}; GPU power is off` };
  const n = count.readUInt32LE(0);
  if (n === 0) return { reason: 'no GPU (nvmlDeviceGetCount = 0): GPU power is off' };
  const devices: NvmlDevice[] = [];
  const text = Buffer.alloc(Math.max(NAME_SIZE, UUID_SIZE));
  const problems: string[] = [];
  for (let index = 0; index < n; index++) {
    const out: [NvmlDeviceHandle] = [null];
    let step = 'nvmlDeviceGetHandleByIndex';
    let rc = f.handleByIndex(index, out);
    let name = '';
    let uuid = '';
    if (rc === NVML.SUCCESS) {
      step = 'nvmlDeviceGetName';
      rc = f.name(out[0], text.fill(0), NAME_SIZE);
      name = cString(text);
    }
    if (rc === NVML.SUCCESS) {
      step = 'nvmlDeviceGetUUID';
      rc = f.uuid(out[0], text.fill(0), UUID_SIZE);
      uuid = cString(text);
    }
    if (rc !== NVML.SUCCESS) {
      const problem = `${step} failed on GPU ${index}: ${f.errorString(rc)}`;
      problems.push(problem);
      logger.warn(`${problem}: its power is not measured`);
      continue;
    }
    devices.push({ index, name, uuid, handle: out[0] });
  }
  if (devices.length === 0) return { reason: `no GPU could be opened (${problems.join('; ')}): GPU power is off` };
  return { devices };
}

function driverVersion(lib: KoffiLibrary): string | undefined {
  const fn = optional(lib, 'int nvmlSystemGetDriverVersion(char *version, unsigned int length)');
  if (!fn) return undefined;
  const buf = Buffer.alloc(DRIVER_VERSION_SIZE);
  return fn(buf, DRIVER_VERSION_SIZE) === NVML.SUCCESS ? cString(buf) : undefined;
}

/**
 * The file the dynamic loader chose for a library loaded by soname, from /proc/self/maps (e.g.
 * /usr/lib/x86_64-linux-gnu/libnvidia-ml.so.550.54.15); undefined unless exactly one is mapped.
 */
function mappedFile(soname: string): string | undefined {
  const stem = soname.replace(/\.so(\..*)?$/, '.so');
  try {
    const files = new Set<string>();
    for (const line of readFileSync('/proc/self/maps', 'utf8').split('\n')) {
      const file = line.slice(line.indexOf('/'));
      if (line.includes('/') && file.slice(file.lastIndexOf('/') + 1).startsWith(stem)) files.add(file);
    }
    return files.size === 1 ? [...files][0] : undefined;
  } catch {
    return undefined;
  }
}

function cString(buf: Buffer): string {
  const end = buf.indexOf(0);
  return buf.toString('utf8', 0, end < 0 ? buf.length : end);
}
