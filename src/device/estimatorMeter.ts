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
import { readHostProfile, type HostProfile } from '../estimation/hostProfile.js';
import { cpuTimesDelta, parseProcStat, type CpuTimes } from '../resource/procStat.js';
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
const STAT_REUSE_MS = 2;

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
  /** Settings that had no effect, for the log. */
  warnings: string[];
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
    const clock = this.opts.clock ?? monotonicMs;
    const statPath = join(this.opts.procfs, 'stat');
    const stat = new StatReader(this.opts.readProcStat ?? (() => readFileSync(statPath, 'utf8')), clock);
    try {
      stat.read(); // as every meter checks its zones can be read: never a silent zero later
    } catch (err) {
      throw new MeterUnavailableError(`estimator: cannot read the CPU load from ${statPath}: ${(err as Error).message}`, { cause: err });
    }
    const path = `estimator:${estimate.model.name}`;
    return ZONE_PARTS.map(([name, part]) => {
      const load = new ZoneLoad(estimate, stat);
      return new IntegratedPowerZone(name, 0, path, () => load.watts()[part] * 1e6, clock);
    });
  }

  /**
   * Each zone's power at zero load, W, by zone name: what the model itself says idle is
   * (monitor.idle.model baseline uses it rather than learning it from the estimate). Valid once
   * zones() has succeeded.
   */
  idleWatts(): Record<string, number> {
    const idle = machinePower(this.prepare().estimate, 0);
    return Object.fromEntries(ZONE_PARTS.map(([name, part]) => [name, idle[part]]));
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
    if (!model)
      throw new MeterUnavailableError(
        `estimator: unknown model "${modelName}"; known: ${knownModels()
          .map((m) => m.name)
          .join(', ')}`,
      );
    let host: HostProfile;
    try {
      host = readHostProfile({ procfs: this.opts.procfs, sysfs: this.opts.sysfs });
    } catch (err) {
      throw new MeterUnavailableError(`estimator: cannot learn the hardware: ${(err as Error).message}`, { cause: err });
    }
    const own = { ...host.spec, ...(s.tdpWatts > 0 ? { tdpWatts: s.tdpWatts } : {}) };
    const vm = s.virtualMachine === 'auto' ? host.virtualization.isVm : s.virtualMachine === 'true';
    const { host: server, share } = vm ? hostOfVirtualMachine(own, { hostCpus: s.hostCpus, coresPerChip: lookupCpuModel(own.cpuName)?.coresPerChip }) : { host: own, share: 1 };
    const calibration: Calibration = {
      ...(s.idleWatts > 0 ? { idleWatts: s.idleWatts } : {}),
      ...(s.maxWatts > 0 ? { maxWatts: s.maxWatts } : {}),
      ...(s.points.length ? { points: s.points } : {}),
    };
    const estimate: MachineEstimate = { model, server, share, calibration };
    const warnings: string[] = [];
    if (s.hostCpus > 0 && !vm)
      warnings.push(`estimator.hostCpus (${s.hostCpus}) is ignored: this machine is estimated as bare metal (set estimator.virtualMachine: true to use it)`);
    if (s.hostCpus > 0 && vm && s.hostCpus < own.threads) {
      warnings.push(`estimator.hostCpus (${s.hostCpus}) is less than this VM's ${own.threads} CPUs; using ${own.threads}`);
    }
    const round = (v: number) => Math.round(v * 100) / 100;
    this.estimate = estimate;
    this.described = {
      model: model.name,
      modelDescription: model.description,
      host,
      virtualMachine: vm,
      share,
      calibrated: Object.keys(calibration).length > 0,
      warnings,
      parameters: {
        ...model.parameters(server),
        machine_idle_watts: round(machinePower(estimate, 0).total),
        machine_max_watts: round(machinePower(estimate, 1).total),
      },
    };
    return { estimate, described: this.described };
  }
}

/** /proc/stat, read once for zones read within STAT_REUSE_MS of each other (one refresh). */
class StatReader {
  private last: CpuTimes | undefined;
  private lastMs = -Infinity;

  constructor(
    private readonly readText: () => string,
    private readonly clock: Clock,
  ) {}

  read(): CpuTimes {
    const now = this.clock();
    if (!this.last || now - this.lastMs >= STAT_REUSE_MS) {
      this.last = parseProcStat(this.readText());
      this.lastMs = now;
    }
    return this.last;
  }
}

/**
 * One zone's watts over its own interval: the load between this zone's previous reading and now.
 * Each zone keeps its own previous reading, so a zone read late (a GC pause between zones) still
 * covers exactly the time it integrates over, and an interval with no ticks keeps the last watts.
 */
class ZoneLoad {
  private prev: CpuTimes | undefined;
  private current: PowerBreakdown;

  constructor(
    private readonly estimate: MachineEstimate,
    private readonly stat: StatReader,
  ) {
    this.current = machinePower(estimate, 0);
  }

  watts(): PowerBreakdown {
    const times = this.stat.read();
    const p = this.prev;
    if (p && times !== p) {
      const d = cpuTimesDelta(p, times);
      if (Object.values(d).some((ticks) => ticks > 0)) this.current = machinePower(this.estimate, loadOfInterval(d));
    }
    this.prev = times;
    return this.current;
  }
}
