// What every power model sees and answers. A model predicts a whole server's AC power (watts at
// the wall, as SPECpower_ssj2008 measures it) from its load and what can be learned about its
// hardware. Models are pure: no I/O, so they are evaluated on CSV rows and used at run time alike.

import type { CpuVendor } from '../resource/hostCpu.js';

export type { CpuVendor };

/** A server as a model sees it. Unknown facts are left undefined, never guessed here. */
export interface ServerSpec {
  /** CPU model name as /proc/cpuinfo or SPECpower prints it, e.g. "Intel Xeon Platinum 8180". */
  cpuName: string;
  vendor: CpuVendor;
  /** Microarchitecture key, e.g. "skylake", "cascadelake", "epyc-gen2", "neoverse-n1" (cpuCatalog.ts). */
  architecture?: string;
  /** Year the hardware became available. */
  year?: number;
  /** CPU packages (sockets). */
  chips: number;
  /** Physical cores, all packages together. */
  cores: number;
  /** Logical CPUs (hardware threads), all packages together. */
  threads: number;
  /** Thermal design power of one package, watts. */
  tdpWatts?: number;
  memGb: number;
  psuCount?: number;
}

/** Watts by part; `total` is the whole server. Parts a model cannot separate are folded into `other`. */
export interface PowerBreakdown {
  total: number;
  /** CPU packages. */
  cpu: number;
  /** Memory. */
  memory: number;
  /** Everything else: board, fans, disks, power-supply losses. */
  other: number;
}

export interface PowerModel {
  /** Short name used on the command line, in the config and in the `path` label (estimator:<name>). */
  readonly name: string;
  /** One line for humans: where the model comes from. */
  readonly description: string;
  /** Whole-server watts at `load` (0 = active idle, 1 = full load, clamped to [0, 1]). */
  predict(spec: ServerSpec, load: number): PowerBreakdown;
  /** The numbers the model used for this server, for the info metric and the log. */
  parameters(spec: ServerSpec): Record<string, number | string>;
}

/** SPECpower load levels: active idle, then 10 % to 100 %. */
export const SPEC_LOAD_LEVELS: readonly number[] = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1];

export function clampLoad(load: number): number {
  return Number.isFinite(load) ? Math.min(1, Math.max(0, load)) : 0;
}
