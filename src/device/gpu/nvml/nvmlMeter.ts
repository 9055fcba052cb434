// The GPU meter over NVML. It depends on NVML only through NvmlApi, declared here: one method per
// C function, with the C calling convention kept (an nvmlReturn_t back, out parameters in buffers
// that the caller owns), so that the koffi binding (nvmlLibrary.ts) stays a thin list of
// prototypes and everything NVML-specific that is not a prototype is read here.
//
// A refresh reads each device every few seconds, with up to 8 GPUs and hundreds of processes:
// each device keeps its out-parameter buffers and grows them, and the samples are decoded from
// the buffers directly, without a struct decoder that would make an object per entry.

import type { GpuComputeMode, GpuDeviceInfo, GpuMeter, GpuProcessUtilization, GpuReading, GpuRunningProcess } from '../gpuMeter.js';
import type { DcgmActivity } from '../dcgmActivity.js';
import type { Logger } from '../../../logger/logger.js';

/** The nvmlReturn_t values the meter acts on (nvml.h). */
export const NVML = {
  SUCCESS: 0,
  UNINITIALIZED: 1,
  NOT_SUPPORTED: 3,
  NOT_FOUND: 6,
  INSUFFICIENT_SIZE: 7,
  DRIVER_NOT_LOADED: 9,
  FUNCTION_NOT_FOUND: 13,
  GPU_IS_LOST: 15,
  RESET_REQUIRED: 16,
  LIB_RM_VERSION_MISMATCH: 18,
} as const;

/** Answers that mean NVML's session is gone (the driver was unloaded, reloaded or upgraded). */
const SESSION_LOST: ReadonlySet<number> = new Set([NVML.UNINITIALIZED, NVML.DRIVER_NOT_LOADED, NVML.LIB_RM_VERSION_MISMATCH]);
/**
 * Answers that mean a GPU's handle is gone: it fell off the bus or was reset, or, when every GPU
 * answers so at once, the driver was reloaded under the session.
 */
const GPU_LOST: ReadonlySet<number> = new Set([NVML.GPU_IS_LOST, NVML.RESET_REQUIRED]);
/** While the session is lost, NVML is opened again at the next read, then at most this often. */
export const REOPEN_EVERY_MS = 10_000;

/** nvmlDevice_t, as the binding hands it back (koffi: the pointer as a bigint). */
export type NvmlDeviceHandle = unknown;

/** One of the nvmlDeviceGetComputeRunningProcesses versions: (device, unsigned int *infoCount, nvmlProcessInfo*_t *infos). */
export interface NvmlProcessFunction {
  readonly name: string;
  /** 1: nvmlProcessInfo_v1_t entries (16 bytes); 2: nvmlProcessInfo_v2_t (24); 3: 24 or 32 by driver (see processInfoStride). */
  readonly version: 1 | 2 | 3;
  call(device: NvmlDeviceHandle, infoCount: Buffer, infos: Buffer | null): number;
}

/**
 * What the meter needs of NVML. Each function returns its nvmlReturn_t; out parameters are buffers
 * in the C layout (little-endian). An optional member is absent when the library lacks the symbol.
 */
export interface NvmlApi {
  /** Where the library was loaded from, for logs. */
  readonly path: string;
  errorString(code: number): string;
  shutdown(): number;
  /**
   * Shuts NVML down, initializes it again and lists the devices anew (a reloaded driver gives new
   * handles); the reason when it cannot. Absent: the session cannot be opened again.
   */
  reopen?(): { devices: readonly NvmlDevice[] } | { reason: string };
  /** (device, unsigned long long *energy): mJ since the driver loaded. */
  readonly totalEnergyConsumption?: (device: NvmlDeviceHandle, energyMj: Buffer) => number;
  /** (device, unsigned int *power): mW. */
  readonly powerUsage?: (device: NvmlDeviceHandle, powerMw: Buffer) => number;
  /** The versions the library has, most recent first. */
  readonly computeRunningProcesses: readonly NvmlProcessFunction[];
  /** (device, nvmlProcessUtilizationSample_t *utilization, unsigned int *processSamplesCount, unsigned long long lastSeenTimeStamp). */
  readonly processUtilization?: (device: NvmlDeviceHandle, samples: Buffer | null, sampleCount: Buffer, lastSeenUs: number) => number;
  /** (device, nvmlComputeMode_t *mode). */
  readonly computeMode?: (device: NvmlDeviceHandle, mode: Buffer) => number;
  /** (device, unsigned int *currentMode, unsigned int *pendingMode). */
  readonly migMode?: (device: NvmlDeviceHandle, current: Buffer, pending: Buffer) => number;
}

/** A device as listed at open. */
export interface NvmlDevice {
  readonly index: number;
  readonly uuid: string;
  readonly name: string;
  readonly handle: NvmlDeviceHandle;
}

export interface NvmlMeterOptions {
  logger: Logger;
  /** MIG instances' activity, from dcgm-exporter; started and stopped by its owner. */
  dcgm?: Pick<DcgmActivity, 'activity'>;
  /** Monotonic milliseconds, for the power integral. */
  clock?: () => number;
}

// nvml.h layouts (x86-64 and aarch64 Linux: unsigned int 4 bytes, unsigned long long 8 aligned to
// 8). nvmlProcessInfo_v1_t {pid, usedGpuMemory} is 16 bytes; nvmlProcessInfo_v2_t and today's
// nvmlProcessInfo_t add gpuInstanceId at 16 and computeInstanceId at 20: 24 bytes; the R535
// drivers' nvmlProcessInfo_t added usedGpuCcProtectedMemory at 24: 32 bytes.
// nvmlProcessUtilizationSample_t {pid; timeStamp at 8; smUtil at 16; memUtil, encUtil, decUtil}: 32.
export const PROCESS_INFO = { pid: 0, gpuInstanceId: 16, maxSize: 32 } as const;
export const UTILIZATION_SAMPLE = { size: 32, pid: 0, timeStamp: 8, smUtil: 16 } as const;
/** gpuInstanceId without MIG. */
export const NO_GPU_INSTANCE = 0xffffffff;
/** nvmlDeviceGetMigMode's NVML_DEVICE_MIG_ENABLE. */
const MIG_ENABLE = 1;
/** What a process-info buffer is filled with before nvmlDeviceGetComputeRunningProcesses_v3, to see how far the driver wrote. */
export const SENTINEL = 0xaa;

const INITIAL_ENTRIES = 64;
const RETRIES = 3;
const EMPTY: readonly GpuProcessUtilization[] = Object.freeze([]);

/** nvmlComputeMode_t -> the meter's mode: 0 default, 1 exclusive thread and 3 exclusive process, 2 prohibited. */
export function mapComputeMode(mode: number): GpuComputeMode | undefined {
  switch (mode) {
    case 0:
      return 'default';
    case 1:
    case 3:
      return 'exclusive';
    case 2:
      return 'prohibited';
    default:
      return undefined;
  }
}

/** The energy counter after one more power reading: trapezoid over dtSec, in whole µJ, wrapping at ENERGY_WRAP_UJ. */
export function integratePower(prevUj: number, prevWatts: number, watts: number, dtSec: number): number {
  if (!(dtSec > 0)) return prevUj;
  return (prevUj + Math.round(((prevWatts + watts) / 2) * dtSec * 1e6)) % ENERGY_WRAP_UJ;
}

/**
 * Where the meter's counters wrap, µJ (GpuMeter.maxEnergyUj): 2^52 µJ, 52 days at 1 kW. NVML's
 * own counter (an unsigned long long of mJ) outgrows a safe integer of µJ within months of a
 * driver load; the meter's counter is NVML's energy since the meter's first reading, kept below
 * this, and the monitor's counterDelta takes the wrap as it does a RAPL counter's.
 */
export const ENERGY_WRAP_UJ = 2 ** 52;

/**
 * The meter's counter after one more NVML reading: `prevUj` advanced by the mJ since `lastMj`, or,
 * when NVML's counter fell below half of it (the driver reloaded and it restarted from 0), by all
 * it shows. Exact in BigInt; wraps at ENERGY_WRAP_UJ. `lastMj` is what the next reading continues from.
 */
export function advanceCounter(prevUj: number, lastMj: bigint, nowMj: bigint): { uj: number; reset: boolean; lastMj: bigint } {
  // A reload restarts the counter from 0: it falls to a fraction of what it was. A small step
  // back is a glitch, not energy: nothing is billed, and the counter continues from the higher
  // reading, so that the energy up to it is not billed twice when the counter catches up.
  if (nowMj < lastMj && nowMj * 2n >= lastMj) return { uj: prevUj, reset: false, lastMj };
  const reset = nowMj < lastMj;
  const deltaUj = (reset ? nowMj : nowMj - lastMj) * 1000n;
  return { uj: Number((BigInt(prevUj) + deltaUj) % BigInt(ENERGY_WRAP_UJ)), reset, lastMj: nowMj };
}

/**
 * The entry size nvmlDeviceGetComputeRunningProcesses_v3 used for `count` entries in a buffer
 * filled with SENTINEL beforehand: the R535 drivers wrote 32-byte entries (nvml.h of CUDA 12.2),
 * the others 24, and the function name did not change. The last entry ends with bytes the driver
 * always writes and that are never SENTINEL (computeInstanceId: 0xFFFFFFFF or a small id; the
 * high byte of a memory size), so the written length is count x size.
 */
export function processInfoStride(buf: Buffer, count: number): 16 | 24 | 32 {
  let written = Math.min(count * PROCESS_INFO.maxSize, buf.length);
  while (written > 0 && buf[written - 1] === SENTINEL) written--;
  if (written <= count * 16) return 16;
  if (written <= count * 24) return 24;
  return 32;
}

/** Per device: its handle, what it supports, its buffers and what the previous read left. */
interface DeviceState {
  readonly info: GpuDeviceInfo;
  /** Replaced when NVML is opened again after the driver was lost. */
  handle: NvmlDeviceHandle;
  /** Its last energy or power read answered that the GPU is lost. */
  lost: boolean;
  /** false: the energy is integrated from power readings. */
  energyCounter: boolean;
  processes: NvmlProcessFunction | undefined;
  utilization: boolean;
  integralUj: number;
  /** NVML's energy counter at the last reading, mJ; undefined before the first. */
  lastMj: bigint | undefined;
  /** The meter's counter (advanceCounter). */
  counterUj: number;
  lastWatts: number | undefined;
  lastAtMs: number;
  lastSeenUs: number;
  /** The newest sample of the last read, which acknowledge() makes the next window's start. */
  readSeenUs: number;
  lastMig: boolean;
  readonly u64: Buffer;
  readonly u32: Buffer;
  readonly u32b: Buffer;
  readonly count: Buffer;
  procBuf: Buffer;
  utilBuf: Buffer;
  readonly sums: Map<number, number>;
  /** The last code each optional function returned, to log a change once at debug. */
  readonly lastCodes: Map<string, number>;
}

const FN = {
  energy: 'nvmlDeviceGetTotalEnergyConsumption',
  power: 'nvmlDeviceGetPowerUsage',
  utilization: 'nvmlDeviceGetProcessUtilization',
  computeMode: 'nvmlDeviceGetComputeMode',
  mig: 'nvmlDeviceGetMigMode',
} as const;

const unsupported = (code: number): boolean => code === NVML.NOT_SUPPORTED || code === NVML.FUNCTION_NOT_FOUND;

export class NvmlMeter implements GpuMeter {
  readonly name = 'nvml';
  readonly maxEnergyUj = ENERGY_WRAP_UJ;
  readonly devices: readonly GpuDeviceInfo[];
  /** What works less well than it could, found at open: one line each, for the log. */
  readonly degraded: readonly string[];
  /** GPUs (by index) whose energy cannot be read at all (no counter, no power): left out of `devices`. */
  readonly unreadable: readonly number[];
  private states: DeviceState[];
  private readonly clock: () => number;
  private readonly log: Logger;
  private closed = false;
  /** Since when (clock ms) NVML's session has looked lost; undefined while it works. */
  private lostSinceMs: number | undefined;
  /** An answer said the session itself is gone (not only a GPU). */
  private sessionLost = false;
  private lastReopenMs = -Infinity;

  /** Probes each device's functions once (one call each) and decides how to read it. */
  constructor(
    private readonly api: NvmlApi,
    devices: readonly NvmlDevice[],
    private readonly opts: NvmlMeterOptions,
  ) {
    this.clock = opts.clock ?? (() => performance.now());
    this.log = opts.logger;
    this.states = devices.map((d) => this.newState(d));
    const probe = this.probe();
    this.degraded = probe.degraded;
    this.unreadable = probe.unreadable;
    this.states = this.states.filter((s) => !probe.unreadable.includes(s.info.index));
    this.devices = this.states.map((s) => s.info);
  }

  read(position: number): GpuReading {
    const d = this.states[position];
    if (!d) throw new RangeError(`no GPU at position ${position} (${this.states.length} listed)`);
    if (this.closed) throw new Error('the NVML meter is closed');
    if (this.sessionLost || this.states.every((s) => s.lost)) this.reopen();
    let energyUj: number;
    let powerWatts: number | undefined;
    let counterReset = false;
    if (d.energyCounter) {
      ({ uj: energyUj, reset: counterReset } = this.readCounter(d));
    } else {
      powerWatts = this.readPower(d);
      energyUj = this.integrate(d, powerWatts);
    }
    d.lost = false;
    const mig = this.readMig(d);
    return {
      energyUj,
      integrated: !d.energyCounter,
      ...(counterReset ? { counterReset } : {}),
      powerWatts,
      computeMode: this.readComputeMode(d),
      mig,
      processes: this.readProcesses(d, mig),
      utilization: mig ? undefined : this.readUtilization(d),
      instanceActivity: mig ? this.opts.dcgm?.activity(d.info.uuid, d.info.index) : undefined,
    };
  }

  acknowledge(position: number): void {
    const d = this.states[position];
    if (d) d.lastSeenUs = Math.max(d.lastSeenUs, d.readSeenUs);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const code = this.api.shutdown();
    if (code !== NVML.SUCCESS) this.log.debug('nvmlShutdown failed', { error: this.api.errorString(code) });
  }

  private newState(d: NvmlDevice): DeviceState {
    return {
      info: { index: d.index, uuid: d.uuid, name: d.name, vendor: 'nvidia' },
      handle: d.handle,
      lost: false,
      energyCounter: this.api.totalEnergyConsumption !== undefined,
      processes: this.api.computeRunningProcesses[0],
      utilization: this.api.processUtilization !== undefined,
      integralUj: 0,
      lastMj: undefined,
      counterUj: 0,
      lastWatts: undefined,
      lastAtMs: 0,
      lastSeenUs: 0,
      readSeenUs: 0,
      lastMig: false,
      u64: Buffer.alloc(8),
      u32: Buffer.alloc(4),
      u32b: Buffer.alloc(4),
      count: Buffer.alloc(4),
      procBuf: Buffer.alloc(INITIAL_ENTRIES * PROCESS_INFO.maxSize),
      utilBuf: Buffer.alloc(INITIAL_ENTRIES * UTILIZATION_SAMPLE.size),
      sums: new Map(),
      lastCodes: new Map(),
    };
  }

  /** One call of each optional function per device, at open: NOT_SUPPORTED turns the feature off for good. */
  private probe(): { degraded: string[]; unreadable: number[] } {
    const api = this.api;
    // Messages by what degrades, each with the GPUs it applies to, so 8 identical GPUs make one line.
    const groups = new Map<string, number[]>();
    const note = (message: string, gpu: number) => {
      const list = groups.get(message);
      if (list) list.push(gpu);
      else groups.set(message, [gpu]);
    };
    const libraryWide: string[] = [];
    const unreadable: number[] = [];
    if (!api.totalEnergyConsumption) libraryWide.push(`${FN.energy} not found in ${api.path}: GPU energy is integrated from ${FN.power}`);
    if (!api.powerUsage) libraryWide.push(`${FN.power} not found in ${api.path}: a GPU without an energy counter cannot be read`);
    if (api.computeRunningProcesses.length === 0) {
      libraryWide.push(`nvmlDeviceGetComputeRunningProcesses (_v3, _v2, v1) not found in ${api.path}: GPU energy is not attributed to processes`);
    }
    if (!api.processUtilization) libraryWide.push(`${FN.utilization} not found in ${api.path}: the energy of a GPU is split equally between its processes`);
    if (!api.computeMode) libraryWide.push(`${FN.computeMode} not found in ${api.path}: GPUs are taken as in the default compute mode`);
    if (!api.migMode) libraryWide.push(`${FN.mig} not found in ${api.path}: MIG is taken as off`);

    for (const d of this.states) {
      const gpu = d.info.index;
      const energy = api.totalEnergyConsumption?.(d.handle, d.u64) ?? NVML.FUNCTION_NOT_FOUND;
      if (unsupported(energy)) d.energyCounter = false;
      const power = d.energyCounter ? NVML.SUCCESS : (api.powerUsage?.(d.handle, d.u32) ?? NVML.FUNCTION_NOT_FOUND);
      if (unsupported(power)) {
        unreadable.push(gpu);
        note(`neither ${FN.energy} nor ${FN.power} works on GPU %s: its power is not measured`, gpu);
        continue;
      }
      if (api.totalEnergyConsumption && !d.energyCounter) note(`${FN.energy} not supported on GPU %s: energy is integrated from ${FN.power}`, gpu);
      d.processes = this.probeProcesses(d, note);
      const mig = this.readMig(d);
      // MIG devices have no per-process utilization (NOT_SUPPORTED): not a loss, dcgm-exporter's activity replaces it.
      if (api.processUtilization && !mig) {
        d.count.writeUInt32LE(0, 0);
        if (unsupported(api.processUtilization(d.handle, null, d.count, 0))) {
          d.utilization = false;
          note(`${FN.utilization} not supported on GPU %s: its energy is split equally between its processes`, gpu);
        }
      }
      if (api.computeMode && unsupported(api.computeMode(d.handle, d.u32))) note(`${FN.computeMode} not supported on GPU %s: taken as the default compute mode`, gpu);
    }
    const degraded = [...libraryWide];
    for (const [message, gpus] of groups) degraded.push(message.replace('%s', gpus.join(', ')));
    return { degraded, unreadable };
  }

  /** The most recent process function the device answers (FUNCTION_NOT_FOUND: try the previous version). */
  private probeProcesses(d: DeviceState, note: (message: string, gpu: number) => void): NvmlProcessFunction | undefined {
    const versions = this.api.computeRunningProcesses;
    for (const fn of versions) {
      d.count.writeUInt32LE(0, 0);
      const code = fn.call(d.handle, d.count, null);
      if (code === NVML.FUNCTION_NOT_FOUND) continue;
      if (code === NVML.NOT_SUPPORTED) {
        note(`${fn.name} not supported on GPU %s: its energy is not attributed to processes`, d.info.index);
        return undefined;
      }
      return fn;
    }
    if (versions.length > 0) note(`${versions.map((v) => v.name).join(', ')}: function not found on GPU %s: its energy is not attributed to processes`, d.info.index);
    return undefined;
  }

  /** The error of a failed energy or power read; notes a lost session or GPU for reopen(). */
  private fail(d: DeviceState, fn: string, code: number): Error {
    if (SESSION_LOST.has(code)) this.sessionLost = true;
    if (GPU_LOST.has(code)) d.lost = true;
    if (this.sessionLost || this.states.every((s) => s.lost)) this.lostSinceMs ??= this.clock();
    return new Error(`${fn} failed on GPU ${d.info.index}: ${this.api.errorString(code)}`);
  }

  /**
   * NVML opened again, at most every REOPEN_EVERY_MS, while its session looks lost (an answer
   * said so, or every GPU answered that it is lost: one lost GPU alone is a GPU off the bus,
   * which opening NVML again would not bring back). Each GPU gets its new handle by UUID; its
   * counter goes on past the reload (advanceCounter), so the energy since is billed and no total
   * goes down.
   */
  private reopen(): void {
    const now = this.clock();
    if (!this.api.reopen || now - this.lastReopenMs < REOPEN_EVERY_MS) return;
    this.lastReopenMs = now;
    const opened = this.api.reopen();
    if ('reason' in opened) {
      this.log.debug('NVML could not be opened again', { reason: opened.reason });
      return;
    }
    const byUuid = new Map(opened.devices.map((d) => [d.uuid, d]));
    const missing: number[] = [];
    for (const d of this.states) {
      const found = byUuid.get(d.info.uuid);
      if (found) {
        d.handle = found.handle;
        d.lost = false;
      } else missing.push(d.info.index);
    }
    const lostSec = Math.round((now - (this.lostSinceMs ?? now)) / 1000);
    this.lostSinceMs = undefined;
    this.sessionLost = false;
    this.log.info('NVML opened again after the driver was lost', { lost_for: `${lostSec}s`, gpus: this.states.length - missing.length });
    if (missing.length > 0) this.log.warn('GPUs not found after NVML was opened again: their totals stay flat', { gpus: missing.join(',') });
  }

  /** Logs an optional function's failure at debug, once per change of its code: the monitor counts the consequences. */
  private optionalFailed(d: DeviceState, fn: string, code: number): void {
    if (d.lastCodes.get(fn) === code) return;
    d.lastCodes.set(fn, code);
    if (code !== NVML.SUCCESS) this.log.debug('NVML call failed', { fn, gpu: d.info.index, error: this.api.errorString(code) });
  }

  /** The meter's counter, from 0 at the first reading; a failed reading leaves a gap that the next one spans. */
  private readCounter(d: DeviceState): { uj: number; reset: boolean } {
    const code = this.api.totalEnergyConsumption?.(d.handle, d.u64) ?? NVML.FUNCTION_NOT_FOUND;
    if (code !== NVML.SUCCESS) throw this.fail(d, FN.energy, code);
    const mj = d.u64.readBigUInt64LE(0);
    const next = d.lastMj === undefined ? { uj: 0, reset: false, lastMj: mj } : advanceCounter(d.counterUj, d.lastMj, mj);
    d.lastMj = next.lastMj;
    d.counterUj = next.uj;
    return next;
  }

  private readPower(d: DeviceState): number {
    const code = this.api.powerUsage?.(d.handle, d.u32) ?? NVML.FUNCTION_NOT_FOUND;
    if (code !== NVML.SUCCESS) throw this.fail(d, FN.power, code);
    return d.u32.readUInt32LE(0) / 1000;
  }

  /** The integral starts at 0 with the first reading; a failed reading leaves a gap that the next one spans. */
  private integrate(d: DeviceState, watts: number): number {
    const now = this.clock();
    if (d.lastWatts !== undefined) d.integralUj = integratePower(d.integralUj, d.lastWatts, watts, (now - d.lastAtMs) / 1000);
    d.lastWatts = watts;
    d.lastAtMs = now;
    return d.integralUj;
  }

  private readMig(d: DeviceState): boolean {
    const fn = this.api.migMode;
    if (!fn) return false;
    const code = fn(d.handle, d.u32, d.u32b);
    // NOT_SUPPORTED: a GPU without MIG, the common case. Another error keeps the last mode known.
    if (code === NVML.SUCCESS) d.lastMig = d.u32.readUInt32LE(0) === MIG_ENABLE;
    else if (code === NVML.NOT_SUPPORTED) d.lastMig = false;
    else this.optionalFailed(d, FN.mig, code);
    return d.lastMig;
  }

  private readComputeMode(d: DeviceState): GpuComputeMode | undefined {
    const fn = this.api.computeMode;
    if (!fn) return undefined;
    const code = fn(d.handle, d.u32);
    this.optionalFailed(d, FN.computeMode, code);
    return code === NVML.SUCCESS ? mapComputeMode(d.u32.readInt32LE(0)) : undefined;
  }

  private readProcesses(d: DeviceState, mig: boolean): GpuRunningProcess[] | undefined {
    const fn = d.processes;
    if (!fn) return undefined;
    for (let attempt = 0; attempt < RETRIES; attempt++) {
      const room = d.procBuf.length / PROCESS_INFO.maxSize;
      d.count.writeUInt32LE(room, 0);
      if (fn.version === 3) d.procBuf.fill(SENTINEL);
      const code = fn.call(d.handle, d.count, d.procBuf);
      const n = d.count.readUInt32LE(0);
      if (code === NVML.INSUFFICIENT_SIZE) {
        // Room for all of them, at the largest entry size whatever the version, plus some growth.
        d.procBuf = Buffer.alloc(Math.max(n + 16, room * 2) * PROCESS_INFO.maxSize);
        continue;
      }
      this.optionalFailed(d, fn.name, code);
      if (code !== NVML.SUCCESS) return undefined;
      const stride = fn.version === 1 ? 16 : fn.version === 2 ? 24 : processInfoStride(d.procBuf, n);
      const out = new Array<GpuRunningProcess>(n);
      for (let i = 0; i < n; i++) {
        const at = i * stride;
        const pid = d.procBuf.readUInt32LE(at + PROCESS_INFO.pid);
        const gi = stride >= 24 ? d.procBuf.readUInt32LE(at + PROCESS_INFO.gpuInstanceId) : NO_GPU_INSTANCE;
        out[i] = mig && gi !== NO_GPU_INSTANCE ? { pid, gpuInstanceId: gi } : { pid };
      }
      return out;
    }
    this.optionalFailed(d, fn.name, NVML.INSUFFICIENT_SIZE);
    return undefined;
  }

  /** SM utilization summed per pid over the samples newer than the previous read's; the window then moves to the newest. */
  private readUtilization(d: DeviceState): readonly GpuProcessUtilization[] | undefined {
    const fn = this.api.processUtilization;
    if (!fn || !d.utilization) return undefined;
    for (let attempt = 0; attempt < RETRIES; attempt++) {
      const room = d.utilBuf.length / UTILIZATION_SAMPLE.size;
      d.count.writeUInt32LE(room, 0);
      const code = fn(d.handle, d.utilBuf, d.count, d.lastSeenUs);
      // NOT_FOUND: no sample newer than lastSeen, i.e. no process used the GPU in the window.
      if (code === NVML.NOT_FOUND) {
        this.optionalFailed(d, FN.utilization, NVML.SUCCESS);
        return EMPTY;
      }
      const n = d.count.readUInt32LE(0);
      if (code === NVML.INSUFFICIENT_SIZE) {
        d.utilBuf = Buffer.alloc(Math.max(n + 16, room * 2) * UTILIZATION_SAMPLE.size);
        continue;
      }
      this.optionalFailed(d, FN.utilization, code);
      if (code !== NVML.SUCCESS) return undefined;
      return this.sumSamples(d, Math.min(n, room));
    }
    this.optionalFailed(d, FN.utilization, NVML.INSUFFICIENT_SIZE);
    return undefined;
  }

  private sumSamples(d: DeviceState, n: number): GpuProcessUtilization[] {
    const buf = d.utilBuf;
    const sums = d.sums;
    const since = d.lastSeenUs;
    let newest = since;
    sums.clear();
    for (let i = 0; i < n; i++) {
      const at = i * UTILIZATION_SAMPLE.size;
      const ts = buf.readUInt32LE(at + UTILIZATION_SAMPLE.timeStamp) + buf.readUInt32LE(at + UTILIZATION_SAMPLE.timeStamp + 4) * 2 ** 32;
      // Only newer samples are asked for; one the driver returns anyway would be counted twice.
      if (ts <= since) continue;
      if (ts > newest) newest = ts;
      const pid = buf.readUInt32LE(at + UTILIZATION_SAMPLE.pid);
      sums.set(pid, (sums.get(pid) ?? 0) + buf.readUInt32LE(at + UTILIZATION_SAMPLE.smUtil));
    }
    // The window moves on only when the monitor keeps this reading (acknowledge): a refresh
    // thrown away leaves its samples to the next, which then covers both intervals' energy.
    d.readSeenUs = newest;
    const out: GpuProcessUtilization[] = [];
    for (const [pid, smUtil] of sums) out.push({ pid, smUtil });
    return out;
  }
}
