// RAPL through the powercap sysfs class (<sysfs>/class/powercap/*), as attribution.md section 1
// specifies: a zone is any entry with a `name` file; `package-0` is zone `package` index 0; names
// without a suffix are indexed in order of appearance; a (name, index) present under both
// `intel-rapl:` and `intel-rapl-mmio:` is read from `intel-rapl:`; sockets are summed.

import { join } from 'node:path';
import { AggregatedZone } from './aggregatedZone.js';
import { MeterUnavailableError, type EnergyMeter, type EnergyZone } from './energyZone.js';
import { FileReader, parseCounter } from '../util/fileReader.js';
import { listMeterDir, readCounterFile } from './sysfsFiles.js';
import { compareNatural } from '../util/naturalOrder.js';

export interface RaplMeterOptions {
  sysfs: string;
  /** Keep only zones with these names (case-insensitive); empty keeps all. */
  zoneFilter: string[];
  /** An absolute folder laid out as <sysfs>/class/powercap to read instead of it (the passthrough meter's tree). */
  powercapDir?: string;
  /** Put before each zone's `path` label (the passthrough meter's `passthrough:`); its files are still read from the folder itself. */
  pathPrefix?: string;
}

/** One powercap entry as found on disk, before de-duplication and aggregation. */
export interface PowercapEntry {
  dir: string; // entry name, e.g. intel-rapl:0:1
  name: string; // content of its name file, e.g. package-0, dram
}

export interface PlannedZone {
  name: string;
  index: number;
  dir: string;
}

/**
 * Pure: turns powercap entries into zones with indexes, de-duplicating intel-rapl-mmio.
 * Entries are taken in natural order of their directory names (intel-rapl:0:2 before intel-rapl:1:0).
 */
export function planRaplZones(entries: PowercapEntry[], zoneFilter: string[]): PlannedZone[] {
  const sorted = [...entries].sort((a, b) => compareNatural(a.dir, b.dir));
  // intel-rapl: entries first, so that on a (name, index) clash the mmio copy is the one dropped.
  const isMmio = (e: PowercapEntry) => e.dir.startsWith('intel-rapl-mmio');
  const ordered = [...sorted.filter((e) => !isMmio(e)), ...sorted.filter(isMmio)];
  const nextIndex = new Map<string, number>();
  const seen = new Set<string>();
  const keep = new Set(zoneFilter.map((z) => z.toLowerCase()));
  const out: PlannedZone[] = [];
  for (const e of ordered) {
    const raw = e.name.trim().toLowerCase();
    const m = /^(.+)-(\d+)$/.exec(raw);
    let name: string;
    let index: number;
    if (m) {
      name = m[1];
      index = Number(m[2]);
    } else {
      // Unsuffixed names (core, dram, psys) count per name within each control type.
      const key = `${isMmio(e) ? 'mmio' : 'rapl'}/${raw}`;
      name = raw;
      index = nextIndex.get(key) ?? 0;
      nextIndex.set(key, index + 1);
    }
    const id = `${name}/${index}`;
    if (seen.has(id)) continue;
    seen.add(id);
    if (keep.size > 0 && !keep.has(name)) continue;
    out.push({ name, index, dir: e.dir });
  }
  return out;
}

/** One RAPL counter file. */
export class RaplZone implements EnergyZone {
  private max = -1;

  constructor(
    readonly name: string,
    readonly index: number,
    readonly path: string,
    private readonly reader: FileReader,
    /** Where its files are; the path label itself unless that carries a prefix. */
    private readonly dir: string = path,
  ) {}

  energy(): number {
    return readCounterFile(this.reader, join(this.dir, 'energy_uj'));
  }

  maxEnergy(): number {
    // Read once: the range is a property of the hardware. Unreadable means unknown (0).
    if (this.max < 0) {
      const file = join(this.dir, 'max_energy_range_uj');
      try {
        this.max = parseCounter(this.reader.readText(file), file);
      } catch {
        this.max = 0;
      }
    }
    return this.max;
  }
}

export class RaplMeter implements EnergyMeter {
  readonly name = 'rapl';
  private readonly reader = new FileReader(256);

  constructor(private readonly opts: RaplMeterOptions) {}

  zones(): EnergyZone[] {
    const base = this.opts.powercapDir ?? join(this.opts.sysfs, 'class', 'powercap');
    const dirs = listMeterDir(base, "no RAPL on this machine, e.g. a cloud VM, or the host's /sys is not mounted");
    const entries: PowercapEntry[] = [];
    for (const dir of dirs) {
      try {
        entries.push({ dir, name: this.reader.readText(join(base, dir, 'name')) });
      } catch {
        // Control types (intel-rapl, dtpm) have no name file: not zones.
      }
    }
    const planned = planRaplZones(entries, this.opts.zoneFilter);
    if (planned.length === 0) {
      const filter = this.opts.zoneFilter.length ? ` matching rapl.zones [${this.opts.zoneFilter.join(', ')}]` : '';
      throw new MeterUnavailableError(`${base}: no RAPL zones${filter}`);
    }
    const readable: RaplZone[] = [];
    const problems: string[] = [];
    for (const p of planned) {
      const dir = join(base, p.dir);
      const zone = new RaplZone(p.name, p.index, `${this.opts.pathPrefix ?? ''}${dir}`, this.reader, dir);
      try {
        zone.energy();
        zone.maxEnergy();
        readable.push(zone);
      } catch (err) {
        problems.push((err as Error).message);
      }
    }
    if (readable.length === 0) throw new MeterUnavailableError(problems[0]);
    return aggregateByName(readable);
  }
}

/** Zones of one name on several sockets become one AggregatedZone; single ones stay as they are. */
export function aggregateByName(zones: EnergyZone[]): EnergyZone[] {
  const groups = new Map<string, EnergyZone[]>();
  for (const z of zones) {
    const g = groups.get(z.name);
    if (g) g.push(z);
    else groups.set(z.name, [z]);
  }
  return [...groups.values()].map((g) => (g.length === 1 ? g[0] : new AggregatedZone(g)));
}
