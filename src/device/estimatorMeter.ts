// The estimator: a meter for machines with nothing to read (cloud VMs, ARM boards, pods that may
// not read powercap). It learns the hardware once (hostProfile.ts), asks a power model what this
// machine draws at the CPU load of each interval (machineEstimate.ts), and integrates that into
// energy counters like any meter's, so the active/idle split, attribution and every export work
// unchanged. Its zones' path is `estimator:<model>`, so no one mistakes them for measurements.

import type { Config } from '../config/config.js';
import { DEFAULT_MODEL_NAME, findModel, knownModels } from '../estimation/modelRegistry.js';
import { hostOfVirtualMachine, loadOfInterval, machinePower, type Calibration, type MachineEstimate } from '../estimation/machineEstimate.js';
import type { PowerBreakdown } from '../estimation/powerModel.js';
import { lookupCpuModel } from '../estimation/cpuCatalog.js';
import { readHostProfile, type HostProfile } from '../resource/hostProfile.js';
import { parseProcStat, type CpuTimes } from '../resource/procStat.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MeterUnavailableError, type EnergyMeter, type EnergyZone } from './energyZone.js';
import { IntegratedPowerZone, monotonicMs, type Clock } from './integratedPowerZone.js';

/** Zone name -> the part of the machine's power it reports. */
const ZONE_PARTS: readonly (readonly [string, keyof PowerBreakdown])[] = [
  ['package', 'cpu'],
  ['dram', 'memory'],
  ['platform', 'total'],
];
/** Zones read within this many ms of each other share one /proc/stat reading. */
const SAMPLE_REUSE_MS = 2;

export interface EstimatorMeterOptions {
  procfs: string;
  sysfs: string;
  settings: Config['estimator'];
  clock?: Clock;
  /** Reads /proc/stat; injectable for tests. */
  readProcStat?: () => string;
}

/** What the estimator is doing, for the info metric, the landing page and the log. */
export interface EstimatorDescription {
  model: string;
  modelDescription: string;
  host: HostProfile;
  virtualMachine: boolean;
  /** This machine's share of the server the model is asked about. */
  share: number;
  calibrated: boolean;
  /** Model parameters for the server it is asked about, plus the machine's own idle/max watts. */
  parameters: Record<string, string | number>;
}

export class EstimatorMeter implements EnergyMeter {
  readonly name = 'estimator';
  private estimate: MachineEstimate | undefined;
  private described: EstimatorDescription | undefined;

  constructor(private readonly opts: EstimatorMeterOptions) {}

  zones(): EnergyZone[] {
    const { estimate } = this.prepare();
    const sampler = new LoadSampler(estimate, this.opts.readProcStat ?? (() => readFileSync(join(this.opts.procfs, 'stat'), 'utf8')), this.opts.clock ?? monotonicMs);
    const path = `estimator:${estimate.model.name}`;
    return ZONE_PARTS.map(([name, part]) => new IntegratedPowerZone(name, 0, path, () => sampler.watts()[part] * 1e6, this.opts.clock ?? monotonicMs));
  }

  /** Valid once zones() has succeeded. */
  description(): EstimatorDescription {
    return this.prepare().described;
  }

  private prepare(): { estimate: MachineEstimate; described: EstimatorDescription } {
    if (this.estimate && this.described) return { estimate: this.estimate, described: this.described };
    const s = this.opts.settings;
    const modelName = s.model || DEFAULT_MODEL_NAME;
    const model = findModel(modelName);
    if (!model) throw new MeterUnavailableError(`estimator: unknown model "${modelName}"; known: ${knownModels().map((m) => m.name).join(', ')}`);
    let host: HostProfile;
    try {
      host = readHostProfile({ procfs: this.opts.procfs, sysfs: this.opts.sysfs });
    } catch (err) {
      throw new MeterUnavailableError(`estimator: cannot learn the hardware: ${(err as Error).message}`);
    }
    const own = { ...host.spec, ...(s.tdpWatts > 0 ? { tdpWatts: s.tdpWatts } : {}) };
    const vm = s.virtualMachine === 'auto' ? host.virtualization.isVm : s.virtualMachine === 'true';
    const { server, share } = vm
      ? (({ host: h, share: sh }) => ({ server: h, share: sh }))(hostOfVirtualMachine(own, { hostCpus: s.hostCpus, coresPerChip: lookupCpuModel(own.cpuName)?.coresPerChip }))
      : { server: own, share: 1 };
    const calibration: Calibration = {
      ...(s.idleWatts > 0 ? { idleWatts: s.idleWatts } : {}),
      ...(s.maxWatts > 0 ? { maxWatts: s.maxWatts } : {}),
      ...(s.points.length ? { points: s.points } : {}),
    };
    const estimate: MachineEstimate = { model, server, share, calibration };
    const round = (v: number) => Math.round(v * 100) / 100;
    this.estimate = estimate;
    this.described = {
      model: model.name,
      modelDescription: model.description,
      host,
      virtualMachine: vm,
      share,
      calibrated: Object.keys(calibration).length > 0,
      parameters: {
        ...model.parameters(server),
        machine_idle_watts: round(machinePower(estimate, 0).total),
        machine_max_watts: round(machinePower(estimate, 1).total),
      },
    };
    return { estimate, described: this.described };
  }
}

/** The machine's watts over the interval since the previous reading of /proc/stat. */
class LoadSampler {
  private prev: CpuTimes | undefined;
  private lastMs = -Infinity;
  private current: PowerBreakdown;

  constructor(
    private readonly estimate: MachineEstimate,
    private readonly read: () => string,
    private readonly clock: Clock,
  ) {
    this.current = machinePower(estimate, 0);
  }

  watts(): PowerBreakdown {
    const now = this.clock();
    if (now - this.lastMs < SAMPLE_REUSE_MS) return this.current;
    const times = parseProcStat(this.read());
    if (this.prev) {
      const p = this.prev;
      const d = Object.fromEntries(Object.keys(times).map((k) => [k, Math.max(0, times[k as keyof CpuTimes] - p[k as keyof CpuTimes])])) as unknown as CpuTimes;
      this.current = machinePower(this.estimate, loadOfInterval(d));
    }
    this.prev = times;
    this.lastMs = now;
    return this.current;
  }
}
