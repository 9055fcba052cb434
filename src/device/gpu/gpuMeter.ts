// The GPU meter abstraction: what the monitor needs of a GPU each refresh, whatever reads it
// (NVML today). A meter lists its devices once at start; each refresh reads every device: its
// energy counter, how it shares its compute (mode, MIG), and who used it since the last read.
// The monitor turns the counters into deltas and splits them (monitor/gpuAccount.ts).

/** How a GPU shares its compute between processes (nvmlComputeMode_t). */
export type GpuComputeMode = 'default' | 'exclusive' | 'prohibited';

/** One GPU as listed at start; fixed for the meter's life. */
export interface GpuDeviceInfo {
  /** The device index (the `gpu` label). */
  readonly index: number;
  /** The `gpu_uuid` label, e.g. GPU-5f1c...; unique across nodes. */
  readonly uuid: string;
  /** The `gpu_name` label, e.g. NVIDIA H100 80GB HBM3. */
  readonly name: string;
  /** The `vendor` label: nvidia. */
  readonly vendor: string;
}

/** A process with a compute context on the GPU at the time of the read. */
export interface GpuRunningProcess {
  readonly pid: number;
  /** Its MIG GPU instance; undefined without MIG. */
  readonly gpuInstanceId?: number;
}

/** A process's SM utilization over the window since the device's previous read. */
export interface GpuProcessUtilization {
  readonly pid: number;
  /** Sum of the SM utilization (percent) of its samples in the window: a weight, not a percent. */
  readonly smUtil: number;
}

/** One device's reading. */
export interface GpuReading {
  /**
   * Energy counter in µJ, a safe integer >= 0 that wraps to 0 at GpuMeter.maxEnergyUj: the
   * energy since the meter's first reading of the device, from NVML's total energy counter, or,
   * where the device has no energy counter, the meter's own integral of its power readings.
   */
  readonly energyUj: number;
  /**
   * The device's own counter restarted since the previous read (a driver reload): energyUj went
   * on by the energy the restarted counter shows, so nothing is lost but the reload itself.
   */
  readonly counterReset?: boolean;
  /** True when energyUj is integrated from power readings (no energy counter on this device or driver). */
  readonly integrated: boolean;
  /** Instantaneous power in watts, when read (the integral needs it; otherwise informative). */
  readonly powerWatts?: number;
  /** undefined when the driver cannot say (then treated as default). */
  readonly computeMode?: GpuComputeMode;
  /** MIG mode is on: processes are split per GPU instance. */
  readonly mig: boolean;
  /** Compute processes now on the GPU; undefined when they cannot be listed (no attribution then). */
  readonly processes?: readonly GpuRunningProcess[];
  /**
   * SM utilization per process since the previous read of this device, processes that ended in
   * the window included; undefined when the driver cannot say (MIG, an old driver, an error),
   * empty when no process had a sample.
   */
  readonly utilization?: readonly GpuProcessUtilization[];
  /**
   * MIG: each GPU instance's graphics engine activity (dcgm-exporter's DCGM_FI_PROF_GR_ENGINE_ACTIVE,
   * 0..1), by GPU instance id; undefined when not known (no endpoint, or it has not answered).
   */
  readonly instanceActivity?: ReadonlyMap<number, number>;
}

export interface GpuMeter {
  /** The meter's name for logs: nvml. */
  readonly name: string;
  readonly devices: readonly GpuDeviceInfo[];
  /** Where every device's energyUj wraps to 0, µJ; 0: it never wraps. */
  readonly maxEnergyUj: number;
  /**
   * Reads the device of `devices[position]`. Throws when its energy (or power) cannot be read: the
   * monitor then keeps that GPU's totals flat and goes on with the others. A failure of an
   * optional reading (processes, utilization, mode) leaves that field undefined instead.
   */
  read(position: number): GpuReading;
  /**
   * The monitor kept the last reading of `devices[position]`: the next reading's utilization
   * starts after it. Without it (a refresh thrown away), the next reading's utilization covers
   * both intervals, as its energy does.
   */
  acknowledge(position: number): void;
  /** Releases the library (nvmlShutdown). */
  close(): void;
}
