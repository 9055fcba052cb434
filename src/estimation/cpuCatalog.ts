// Published facts about CPUs, for a power model that has no meter to read: which microarchitecture
// a CPU is, when it became available, and its TDP. Pure lookups, no I/O. Sources: Intel ARK,
// AMD's EPYC product pages, Arm's and the Linux kernel's CPU part tables (arch/arm64/include/asm/
// cputype.h, arch/x86/include/asm/intel-family.h). Three ways in, from most to least exact:
//   microarchitectureOf / armCoreOf  - the CPUID family/model/stepping or the ARM implementer/part
//   lookupCpuModel                   - a table of common server and cloud SKUs by name
//   inferMicroarchitectureFromName   - naming rules, for SPECpower-style names the table lacks
//
// Architecture keys are those of the SPECpower training data (nehalem, sandybridge, ivybridge,
// haswell, broadwell, skylake, cascadelake, kabylake, coffeelake, core, opteron, epyc-gen1), with
// later generations added in the same style. AMD keys name a Zen generation after its EPYC
// (Zen = epyc-gen1, Zen 2 = epyc-gen2, ...), so a Ryzen gets the key of the EPYC with its core.
//
// `year` is when parts of that silicon first shipped, the server parts where the silicon was also
// sold as a Xeon or EPYC (SPECpower's `year` is a server's availability, which follows them).

import { armCoreYear } from '../resource/armCores.js';
import type { CpuVendor } from './powerModel.js';

/** A microarchitecture key (see the header) and the year its parts became available. */
export interface Microarchitecture {
  key: string;
  year: number;
}

// ---------- x86: CPUID family / model / stepping ----------

type ModelEntry = Microarchitecture | ((stepping: number | undefined) => Microarchitecture);

const m = (key: string, year: number): Microarchitecture => ({ key, year });

/** Intel family 6, by model number (decimal, as /proc/cpuinfo prints it). */
const INTEL_FAMILY6: ReadonlyMap<number, ModelEntry> = new Map<number, ModelEntry>([
  // Core (Merom/Conroe/Woodcrest, Penryn/Harpertown, Dunnington): the SPECpower key "core".
  [15, m('core', 2006)],
  [22, m('core', 2007)],
  [23, m('core', 2007)],
  [29, m('core', 2008)],
  // Nehalem, and Westmere counted as Nehalem (the SPECpower data does so).
  [26, m('nehalem', 2009)], // Nehalem-EP (Xeon 5500), Bloomfield
  [30, m('nehalem', 2009)], // Lynnfield (Xeon 3400)
  [31, m('nehalem', 2009)],
  [46, m('nehalem', 2010)], // Nehalem-EX (Xeon 7500)
  [37, m('nehalem', 2010)], // Westmere client (Clarkdale)
  [44, m('nehalem', 2010)], // Westmere-EP (Xeon 5600)
  [47, m('nehalem', 2011)], // Westmere-EX (Xeon E7-x8xx, April 2011)
  [42, m('sandybridge', 2011)], // client, Xeon E3-1200
  [45, m('sandybridge', 2012)], // Sandy Bridge-EP (Xeon E5)
  [58, m('ivybridge', 2012)], // client, Xeon E3-1200 v2
  [62, m('ivybridge', 2013)], // Ivy Bridge-EP/EX (Xeon E5/E7 v2)
  [60, m('haswell', 2013)], // client, Xeon E3-1200 v3
  [69, m('haswell', 2013)],
  [70, m('haswell', 2013)],
  [63, m('haswell', 2014)], // Haswell-EP (Xeon E5 v3)
  [61, m('broadwell', 2015)], // client (Broadwell-U)
  [71, m('broadwell', 2015)], // Broadwell-H, Xeon E3-1200 v4
  [86, m('broadwell', 2015)], // Broadwell-DE (Xeon D-1500)
  [79, m('broadwell', 2016)], // Broadwell-EP (Xeon E5 v4)
  [78, m('skylake', 2015)], // client
  [94, m('skylake', 2015)], // client, Xeon E3-1200 v5
  // Skylake-SP and Cascade Lake share model 85; the stepping tells them apart (Skylake-SP <= 4,
  // Cascade Lake 5 to 7). Cooper Lake (10, 11) keeps the Cascade Lake core, so it keeps the key.
  [85, (s) => (s === undefined || s < 5 ? m('skylake', 2017) : s >= 10 ? m('cascadelake', 2020) : m('cascadelake', 2019))],
  // Kaby Lake and its refreshes keep the Skylake core; the steppings name the refreshes.
  [142, (s) => (s !== undefined && s >= 12 ? m('cometlake', 2019) : s === 11 ? m('coffeelake', 2018) : m('kabylake', 2016))],
  [158, (s) => (s !== undefined && s <= 9 ? m('kabylake', 2017) : m('coffeelake', 2018))], // stepping 9: Xeon E3 v6; 10+: Xeon E-2100/2200
  [165, m('cometlake', 2020)],
  [166, m('cometlake', 2019)],
  [102, m('cannonlake', 2018)],
  [125, m('icelake', 2019)], // client
  [126, m('icelake', 2019)], // client
  [106, m('icelake', 2021)], // Ice Lake-SP (3rd gen Xeon Scalable)
  [108, m('icelake', 2022)], // Ice Lake-D (Xeon D-1700/2700, February 2022)
  [140, m('tigerlake', 2020)],
  [141, m('tigerlake', 2021)],
  [167, m('rocketlake', 2021)], // also Xeon E-2300
  [151, m('alderlake', 2021)],
  [154, m('alderlake', 2022)],
  [183, m('raptorlake', 2022)],
  [186, m('raptorlake', 2023)],
  [191, m('raptorlake', 2023)],
  [170, m('meteorlake', 2023)],
  [143, m('sapphirerapids', 2023)], // 4th gen Xeon Scalable
  [207, m('emeraldrapids', 2023)], // 5th gen Xeon Scalable
  [173, m('graniterapids', 2024)], // Xeon 6 P-cores
  [174, m('graniterapids', 2025)], // Granite Rapids-D
  [175, m('sierraforest', 2024)], // Xeon 6 E-cores
  // Atom-class server parts.
  [77, m('silvermont', 2013)], // Avoton (Atom C2000)
  [95, m('goldmont', 2017)], // Denverton (Atom C3000)
  [134, m('tremont', 2020)], // Snow Ridge (Atom P5900)
  [87, m('knightslanding', 2016)],
  [133, m('knightslanding', 2017)], // Knights Mill
]);

function amdMicroarchitecture(family: number, model: number): Microarchitecture | undefined {
  switch (family) {
    case 0x0f: // K8
      return m('opteron', model >= 0x40 ? 2006 : 2003);
    case 0x10: // K10: Barcelona 2007, Shanghai 2008, Istanbul 2009, Magny-Cours/Lisbon 2010
      return m('opteron', model <= 2 ? 2007 : model <= 5 ? 2008 : model <= 8 ? 2009 : 2010);
    case 0x15: // Bulldozer family: Interlagos 2011, Abu Dhabi 2012; later models are APUs
      return m('opteron', model <= 0x01 ? 2011 : model <= 0x1f ? 2012 : model <= 0x3f ? 2014 : 2015);
    case 0x16: // Jaguar (Opteron X2100)
      return m('opteron', 2013);
    case 0x17: // Zen, Zen+ below 0x30; Zen 2 from 0x30 (Rome 0x31, Matisse 0x71, Renoir 0x60)
      if (model < 0x30) return m('epyc-gen1', model < 0x08 ? 2017 : model < 0x18 ? 2018 : model < 0x20 ? 2019 : 2020);
      return m('epyc-gen2', model >= 0x60 && model < 0x70 ? 2020 : model >= 0x90 ? 2022 : 2019);
    case 0x18: // Hygon Dhyana: a licensed Zen core
      return m('epyc-gen1', 2018);
    case 0x19: // Zen 3 and Zen 4 share the family; the model range decides
      if (model <= 0x0f) return m('epyc-gen3', 2021); // Milan (0x01), Chagall
      if (model <= 0x1f) return m('epyc-gen4', 2022); // Genoa (0x11), Storm Peak
      if (model <= 0x2f) return m('epyc-gen3', 2020); // Vermeer
      if (model <= 0x3f) return m('epyc-gen3', 2021); // Trento
      if (model <= 0x4f) return m('epyc-gen3', 2022); // Rembrandt
      if (model <= 0x5f) return m('epyc-gen3', 2021); // Cezanne
      if (model <= 0x6f) return m('epyc-gen4', 2022); // Raphael
      if (model <= 0x7f) return m('epyc-gen4', 2023); // Phoenix
      if (model >= 0xa0 && model <= 0xaf) return m('bergamo', 2023); // Bergamo, Siena (Zen 4c)
      return undefined;
    case 0x1a: // Zen 5: Turin, Granite Ridge, Strix
      return m('epyc-gen5', 2024);
    default:
      return undefined;
  }
}

/**
 * The microarchitecture of an x86 CPU from its CPUID signature as /proc/cpuinfo prints it
 * ("cpu family", "model", "stepping"), or undefined when the table does not know it. Only Intel
 * family 6 and AMD families 0x0f to 0x1a are covered. A hypervisor that shows a made-up CPU
 * ("QEMU Virtual CPU", family 6 model 6) gets undefined, not a guess.
 */
export function microarchitectureOf(vendor: CpuVendor, family: number, model: number, stepping?: number): Microarchitecture | undefined {
  if (!Number.isInteger(family) || !Number.isInteger(model)) return undefined;
  if (vendor === 'intel') {
    if (family !== 6) return undefined;
    const e = INTEL_FAMILY6.get(model);
    return typeof e === 'function' ? e(stepping) : e;
  }
  if (vendor === 'amd') return amdMicroarchitecture(family, model);
  return undefined;
}

// ---------- ARM: "CPU implementer" / "CPU part" (resource/armCores.ts) ----------

export { armCoreOf, type ArmCore } from '../resource/armCores.js';

// ---------- names ----------

/**
 * A CPU name with the decoration vendors add taken out, so that the same chip reads the same
 * from /proc/cpuinfo, lscpu, DMI and SPECpower: "Intel(R) Xeon(R) Gold 6140 CPU @ 2.30GHz" and
 * "Intel Xeon Gold 6140 2.30 GHz (Intel Turbo Boost Technology up to 3.70 GHz)" both become
 * "Intel Xeon Gold 6140"; "AMD EPYC 7763 64-Core Processor" becomes "AMD EPYC 7763".
 */
export function normaliseCpuName(name: string): string {
  return name
    .replace(/\((?:R|TM|C)\)|®|™/gi, '')
    .replace(/,.*$/, '') // ", Dell SKU [338-BNCG]"
    .replace(/\([^)]*\)|\[[^\]]*\]/g, ' ') // "(2.30GHz)", "(Intel Turbo Boost ...)"
    .replace(/@\s*\d+(?:\.\d+)?\s*[GM]Hz/gi, ' ')
    .replace(/\b\d+(?:\.\d+)?\s*[GM]Hz\b/gi, ' ')
    .replace(/\b(?:\d+|Dual|Quad|Six|Eight|Twelve|Sixteen)-Core\b/gi, ' ')
    .replace(/\b(?:CPU|Processors?)\b/gi, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

// ---------- the SKU table ----------

/** What the table knows of one SKU. */
export interface CpuModelFacts {
  /** The SKU as the table names it, e.g. "Xeon Gold 6140". */
  sku: string;
  /**
   * TDP of one package in watts. For a cloud-only SKU (8259CL, 7R13, ...) the vendor publishes
   * none; the table then gives the TDP of `sibling`, the retail SKU with the same die and core
   * count and the closest base clock, and says so in `tdpSource`.
   */
  tdpWatts: number;
  tdpSource: 'published' | 'sibling';
  sibling?: string;
  /** Cores of one package. */
  coresPerChip: number;
  year: number;
  architecture: string;
}

interface SkuRow {
  re: RegExp;
  facts: CpuModelFacts;
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** `match` is the part of the normalised name to find as whole words (case-insensitive). */
function row(sku: string, match: string, suffixes: string, tdpWatts: number, coresPerChip: number, year: number, architecture: string, sibling?: string): SkuRow {
  // Words joined by any run of blanks; optional same-silicon suffixes (Intel M/L memory tiers, AMD
  // P single-socket parts: same cores and TDP); nothing word-like or '+' may follow.
  const words = match.split(' ').map(esc).join('\\s*');
  const re = new RegExp(`(?<![\\w-])${words}${suffixes === '' ? '' : `[${suffixes}]?`}(?![\\w+])`, 'i');
  const facts: CpuModelFacts =
    sibling === undefined
      ? { sku, tdpWatts, tdpSource: 'published', coresPerChip, year, architecture }
      : { sku, tdpWatts, tdpSource: 'sibling', sibling, coresPerChip, year, architecture };
  return { re, facts };
}

/** Xeon Scalable: "Platinum 8180" etc. 1st and 2nd gen M/L parts share cores and TDP. */
function xeon(tier: string, num: string, tdp: number, cores: number, year: number, arch: string, sibling?: string): SkuRow {
  const memoryTiers = (arch === 'skylake' || arch === 'cascadelake') && sibling === undefined ? 'ML' : '';
  return row(`Xeon ${tier} ${num}`, `${tier} ${num}`, memoryTiers, tdp, cores, year, arch, sibling);
}

/** Xeon E3/E5/E7 by number and "v2".."v6" (undefined: the first generation, which has no "v"). */
function xeonE(num: string, v: number | undefined, tdp: number, cores: number, year: number, arch: string, sibling?: string): SkuRow {
  const sku = `Xeon ${num}${v === undefined ? '' : ` v${v}`}`;
  // "E5-2699 v4", "E5-2699v4", "E5-2699 V4"; without a version, no "vN" may follow.
  const version = v === undefined ? '(?![\\w+]|\\s*v\\d)' : `\\s*v${v}(?![\\w+])`;
  const facts: CpuModelFacts =
    sibling === undefined
      ? { sku, tdpWatts: tdp, tdpSource: 'published', coresPerChip: cores, year, architecture: arch }
      : { sku, tdpWatts: tdp, tdpSource: 'sibling', sibling, coresPerChip: cores, year, architecture: arch };
  return { re: new RegExp(`(?<![\\w-])${esc(num)}${version}`, 'i'), facts };
}

function epyc(num: string, tdp: number, cores: number, year: number, arch: string, sibling?: string): SkuRow {
  return row(`EPYC ${num}`, `EPYC ${num}`, sibling === undefined ? 'P' : '', tdp, cores, year, arch, sibling);
}

const SKX = 'skylake';
const CLX = 'cascadelake';
const ICX = 'icelake';
const SPR = 'sapphirerapids';
const EMR = 'emeraldrapids';

const SKUS: readonly SkuRow[] = [
  // Intel Xeon E5 v1 to v4 (Sandy Bridge-EP 2012 to Broadwell-EP 2016), the SPECpower staples.
  xeonE('E5-2620', undefined, 95, 6, 2012, 'sandybridge'),
  xeonE('E5-2630', undefined, 95, 6, 2012, 'sandybridge'),
  xeonE('E5-2650', undefined, 95, 8, 2012, 'sandybridge'),
  xeonE('E5-2660', undefined, 95, 8, 2012, 'sandybridge'),
  xeonE('E5-2670', undefined, 115, 8, 2012, 'sandybridge'),
  xeonE('E5-2680', undefined, 130, 8, 2012, 'sandybridge'),
  xeonE('E5-2690', undefined, 135, 8, 2012, 'sandybridge'),
  xeonE('E5-2650', 2, 95, 8, 2013, 'ivybridge'),
  xeonE('E5-2660', 2, 95, 10, 2013, 'ivybridge'),
  xeonE('E5-2670', 2, 115, 10, 2013, 'ivybridge'),
  xeonE('E5-2680', 2, 115, 10, 2013, 'ivybridge'),
  xeonE('E5-2697', 2, 130, 12, 2013, 'ivybridge'),
  xeonE('E5-2630', 3, 85, 8, 2014, 'haswell'),
  xeonE('E5-2650', 3, 105, 10, 2014, 'haswell'),
  xeonE('E5-2660', 3, 105, 10, 2014, 'haswell'),
  xeonE('E5-2670', 3, 120, 12, 2014, 'haswell'),
  xeonE('E5-2680', 3, 120, 12, 2014, 'haswell'),
  xeonE('E5-2690', 3, 135, 12, 2014, 'haswell'),
  xeonE('E5-2698', 3, 135, 16, 2014, 'haswell'),
  xeonE('E5-2699', 3, 145, 18, 2014, 'haswell'),
  xeonE('E5-2676', 3, 120, 12, 2014, 'haswell', 'Xeon E5-2680 v3'), // AWS (c4, m4)
  xeonE('E5-2620', 4, 85, 8, 2016, 'broadwell'),
  xeonE('E5-2630', 4, 85, 10, 2016, 'broadwell'),
  xeonE('E5-2650', 4, 105, 12, 2016, 'broadwell'),
  xeonE('E5-2680', 4, 120, 14, 2016, 'broadwell'),
  xeonE('E5-2690', 4, 135, 14, 2016, 'broadwell'),
  xeonE('E5-2697', 4, 145, 18, 2016, 'broadwell'),
  xeonE('E5-2698', 4, 135, 20, 2016, 'broadwell'),
  xeonE('E5-2699', 4, 145, 22, 2016, 'broadwell'),
  xeonE('E5-2686', 4, 145, 18, 2016, 'broadwell', 'Xeon E5-2697 v4'), // AWS (m4, r4, i3, p3)
  xeonE('E5-2673', 4, 135, 20, 2016, 'broadwell', 'Xeon E5-2698 v4'), // Azure (Dv3, Ev3)
  // Xeon 5500/5600 (Nehalem-EP 2009, Westmere-EP 2010).
  row('Xeon X5570', 'X5570', '', 95, 4, 2009, 'nehalem'),
  row('Xeon E5520', 'E5520', '', 80, 4, 2009, 'nehalem'),
  row('Xeon L5520', 'L5520', '', 60, 4, 2009, 'nehalem'),
  row('Xeon E5620', 'E5620', '', 80, 4, 2010, 'nehalem'),
  row('Xeon L5640', 'L5640', '', 60, 6, 2010, 'nehalem'),
  row('Xeon X5650', 'X5650', '', 95, 6, 2010, 'nehalem'),
  row('Xeon X5670', 'X5670', '', 95, 6, 2010, 'nehalem'),
  row('Xeon X5675', 'X5675', '', 95, 6, 2011, 'nehalem'),
  // Xeon E3 and E (single socket).
  xeonE('E3-1230', 5, 80, 4, 2015, 'skylake'),
  xeonE('E3-1240', 5, 80, 4, 2015, 'skylake'),
  xeonE('E3-1230', 6, 72, 4, 2017, 'kabylake'),
  row('Xeon E-2176G', 'E-2176G', '', 80, 6, 2018, 'coffeelake'),
  row('Xeon E-2278G', 'E-2278G', '', 80, 8, 2019, 'coffeelake'),
  row('Xeon E-2288G', 'E-2288G', '', 95, 8, 2019, 'coffeelake'),
  row('Xeon E-2388G', 'E-2388G', '', 95, 8, 2021, 'rocketlake'),

  // 1st gen Xeon Scalable, Skylake-SP (July 2017).
  xeon('Platinum', '8180', 205, 28, 2017, SKX),
  xeon('Platinum', '8176', 165, 28, 2017, SKX),
  xeon('Platinum', '8170', 165, 26, 2017, SKX),
  xeon('Platinum', '8168', 205, 24, 2017, SKX),
  xeon('Platinum', '8160', 150, 24, 2017, SKX),
  xeon('Platinum', '8153', 125, 16, 2017, SKX),
  xeon('Gold', '6154', 200, 18, 2017, SKX),
  xeon('Gold', '6152', 140, 22, 2017, SKX),
  xeon('Gold', '6148', 150, 20, 2017, SKX),
  xeon('Gold', '6146', 165, 12, 2017, SKX),
  xeon('Gold', '6142', 150, 16, 2017, SKX),
  xeon('Gold', '6140', 140, 18, 2017, SKX),
  xeon('Gold', '6138', 125, 20, 2017, SKX),
  xeon('Gold', '6132', 140, 14, 2017, SKX),
  xeon('Gold', '6130', 125, 16, 2017, SKX),
  xeon('Gold', '6126', 125, 12, 2017, SKX),
  xeon('Gold', '5122', 105, 4, 2017, SKX),
  xeon('Gold', '5120', 105, 14, 2017, SKX),
  xeon('Gold', '5118', 105, 12, 2017, SKX),
  xeon('Gold', '5117', 105, 14, 2017, SKX),
  xeon('Silver', '4116', 85, 12, 2017, SKX),
  xeon('Silver', '4114', 85, 10, 2017, SKX),
  xeon('Silver', '4110', 85, 8, 2017, SKX),
  xeon('Silver', '4108', 85, 8, 2017, SKX),
  xeon('Bronze', '3106', 85, 8, 2017, SKX),
  xeon('Bronze', '3104', 85, 6, 2017, SKX),
  // Cloud-only Skylake-SP: AWS m5/r5 (8175M), c5 (8124M), z1d (8151); Azure (8171M).
  xeon('Platinum', '8175M', 205, 24, 2017, SKX, 'Xeon Platinum 8168'),
  xeon('Platinum', '8124M', 200, 18, 2017, SKX, 'Xeon Gold 6154'),
  xeon('Platinum', '8151', 165, 12, 2017, SKX, 'Xeon Gold 6146'),
  xeon('Platinum', '8171M', 165, 26, 2017, SKX, 'Xeon Platinum 8170'),

  // 2nd gen, Cascade Lake (April 2019; the "R" refresh February 2020).
  xeon('Platinum', '9282', 400, 56, 2019, CLX),
  xeon('Platinum', '8280', 205, 28, 2019, CLX),
  xeon('Platinum', '8276', 165, 28, 2019, CLX),
  xeon('Platinum', '8270', 205, 26, 2019, CLX),
  xeon('Platinum', '8268', 205, 24, 2019, CLX),
  xeon('Platinum', '8260', 165, 24, 2019, CLX),
  xeon('Gold', '6254', 200, 18, 2019, CLX),
  xeon('Gold', '6252', 150, 24, 2019, CLX),
  xeon('Gold', '6248', 150, 20, 2019, CLX),
  xeon('Gold', '6246', 165, 12, 2019, CLX),
  xeon('Gold', '6242', 150, 16, 2019, CLX),
  xeon('Gold', '6240', 150, 18, 2019, CLX),
  xeon('Gold', '6238', 140, 22, 2019, CLX),
  xeon('Gold', '6230', 125, 20, 2019, CLX),
  xeon('Gold', '5220', 125, 18, 2019, CLX),
  xeon('Gold', '5218', 125, 16, 2019, CLX),
  xeon('Gold', '5217', 115, 8, 2019, CLX),
  xeon('Gold', '5215', 85, 10, 2019, CLX),
  xeon('Silver', '4216', 100, 16, 2019, CLX),
  xeon('Silver', '4214', 85, 12, 2019, CLX),
  xeon('Silver', '4210', 85, 10, 2019, CLX),
  xeon('Silver', '4208', 85, 8, 2019, CLX),
  xeon('Bronze', '3204', 85, 6, 2019, CLX),
  xeon('Gold', '6248R', 205, 24, 2020, CLX),
  xeon('Gold', '6240R', 165, 24, 2020, CLX),
  xeon('Gold', '6230R', 150, 26, 2020, CLX),
  xeon('Gold', '6226R', 150, 16, 2020, CLX),
  xeon('Gold', '5218R', 125, 20, 2020, CLX),
  xeon('Silver', '4210R', 100, 10, 2020, CLX),
  // Cloud-only Cascade Lake: AWS m5/r5 (8259CL), c5 (8275CL); Azure Dv4/Ev4 (8272CL).
  xeon('Platinum', '8259CL', 165, 24, 2019, CLX, 'Xeon Platinum 8260'),
  xeon('Platinum', '8275CL', 205, 24, 2019, CLX, 'Xeon Platinum 8268'),
  xeon('Platinum', '8272CL', 205, 26, 2019, CLX, 'Xeon Platinum 8270'),

  // 3rd gen, Ice Lake-SP (April 2021).
  xeon('Platinum', '8380', 270, 40, 2021, ICX),
  xeon('Platinum', '8368', 270, 38, 2021, ICX),
  xeon('Platinum', '8362', 265, 32, 2021, ICX),
  xeon('Platinum', '8360Y', 250, 36, 2021, ICX),
  xeon('Platinum', '8358', 250, 32, 2021, ICX),
  xeon('Platinum', '8352Y', 205, 32, 2021, ICX),
  xeon('Gold', '6348', 235, 28, 2021, ICX),
  xeon('Gold', '6338', 205, 32, 2021, ICX),
  xeon('Gold', '6336Y', 185, 24, 2021, ICX),
  xeon('Gold', '6330', 205, 28, 2021, ICX),
  xeon('Gold', '6326', 185, 16, 2021, ICX),
  xeon('Gold', '5320', 185, 26, 2021, ICX),
  xeon('Gold', '5318Y', 165, 24, 2021, ICX),
  xeon('Silver', '4316', 150, 20, 2021, ICX),
  xeon('Silver', '4314', 135, 16, 2021, ICX),
  xeon('Silver', '4310', 120, 12, 2021, ICX),
  // Cloud-only Ice Lake: AWS m6i/c6i/r6i (8375C).
  xeon('Platinum', '8375C', 265, 32, 2021, ICX, 'Xeon Platinum 8362'),

  // 4th gen, Sapphire Rapids (January 2023).
  xeon('Platinum', '8490H', 350, 60, 2023, SPR),
  xeon('Platinum', '8480+', 350, 56, 2023, SPR),
  xeon('Platinum', '8470', 350, 52, 2023, SPR),
  xeon('Platinum', '8468', 350, 48, 2023, SPR),
  xeon('Platinum', '8462Y+', 300, 32, 2023, SPR),
  xeon('Platinum', '8460Y+', 300, 40, 2023, SPR),
  xeon('Platinum', '8458P', 350, 44, 2023, SPR),
  xeon('Platinum', '8452Y', 300, 36, 2023, SPR),
  xeon('Gold', '6454S', 270, 32, 2023, SPR),
  xeon('Gold', '6448Y', 225, 32, 2023, SPR),
  xeon('Gold', '6438Y+', 205, 32, 2023, SPR),
  xeon('Gold', '6430', 270, 32, 2023, SPR),
  xeon('Gold', '6426Y', 185, 16, 2023, SPR),
  xeon('Gold', '5420+', 205, 28, 2023, SPR),
  xeon('Gold', '5418Y', 185, 24, 2023, SPR),
  xeon('Gold', '5416S', 150, 16, 2023, SPR),
  xeon('Silver', '4416+', 165, 20, 2023, SPR),
  xeon('Silver', '4410Y', 150, 12, 2023, SPR),
  // Cloud-only Sapphire Rapids: AWS m7i/c7i/r7i (8488C); Google C3 (8481C, 48 cores a socket as
  // the C3 bare-metal shapes show them: 192 vCPUs on 2 sockets).
  xeon('Platinum', '8488C', 350, 48, 2023, SPR, 'Xeon Platinum 8468'),
  xeon('Platinum', '8481C', 350, 48, 2023, SPR, 'Xeon Platinum 8468'),

  // 5th gen, Emerald Rapids (December 2023).
  xeon('Platinum', '8592+', 350, 64, 2023, EMR),
  xeon('Platinum', '8580', 350, 60, 2023, EMR),
  xeon('Platinum', '8570', 350, 56, 2023, EMR),
  xeon('Platinum', '8568Y+', 350, 48, 2023, EMR),
  xeon('Platinum', '8562Y+', 300, 32, 2023, EMR),
  xeon('Gold', '6548Y+', 250, 32, 2023, EMR),
  xeon('Gold', '6530', 270, 32, 2023, EMR),
  xeon('Gold', '5520+', 205, 28, 2023, EMR),
  xeon('Silver', '4514Y', 150, 16, 2023, EMR),

  // Xeon 6: Granite Rapids (P-cores, September 2024), Sierra Forest (E-cores, June 2024).
  row('Xeon 6980P', 'Xeon 6980P', '', 500, 128, 2024, 'graniterapids'),
  row('Xeon 6972P', 'Xeon 6972P', '', 500, 96, 2024, 'graniterapids'),
  row('Xeon 6960P', 'Xeon 6960P', '', 500, 72, 2024, 'graniterapids'),
  row('Xeon 6952P', 'Xeon 6952P', '', 400, 96, 2024, 'graniterapids'),
  row('Xeon 6780E', 'Xeon 6780E', '', 330, 144, 2024, 'sierraforest'),
  row('Xeon 6766E', 'Xeon 6766E', '', 250, 144, 2024, 'sierraforest'),

  // AMD EPYC 7001, Naples (June 2017). 155/170 W parts at their 170 W (DDR4-2666) setting.
  epyc('7601', 180, 32, 2017, 'epyc-gen1'),
  epyc('7551', 180, 32, 2017, 'epyc-gen1'),
  epyc('7501', 170, 32, 2017, 'epyc-gen1'),
  epyc('7451', 180, 24, 2017, 'epyc-gen1'),
  epyc('7401', 170, 24, 2017, 'epyc-gen1'),
  epyc('7351', 170, 16, 2017, 'epyc-gen1'),
  epyc('7301', 170, 16, 2017, 'epyc-gen1'),
  epyc('7281', 170, 16, 2017, 'epyc-gen1'),
  epyc('7251', 120, 8, 2017, 'epyc-gen1'),
  epyc('7571', 180, 32, 2018, 'epyc-gen1', 'EPYC 7601'), // AWS m5a/r5a

  // EPYC 7002, Rome (August 2019).
  epyc('7H12', 280, 64, 2019, 'epyc-gen2'),
  epyc('7742', 225, 64, 2019, 'epyc-gen2'),
  epyc('7702', 200, 64, 2019, 'epyc-gen2'),
  epyc('7642', 225, 48, 2019, 'epyc-gen2'),
  epyc('7552', 200, 48, 2019, 'epyc-gen2'),
  epyc('7542', 225, 32, 2019, 'epyc-gen2'),
  epyc('7502', 180, 32, 2019, 'epyc-gen2'),
  epyc('7452', 155, 32, 2019, 'epyc-gen2'),
  epyc('7402', 180, 24, 2019, 'epyc-gen2'),
  epyc('7352', 155, 24, 2019, 'epyc-gen2'),
  epyc('7302', 155, 16, 2019, 'epyc-gen2'),
  epyc('7282', 120, 16, 2019, 'epyc-gen2'),
  epyc('7272', 120, 12, 2019, 'epyc-gen2'),
  epyc('7262', 155, 8, 2019, 'epyc-gen2'),
  epyc('7252', 120, 8, 2019, 'epyc-gen2'),
  epyc('7F72', 240, 24, 2020, 'epyc-gen2'),
  epyc('7F52', 240, 16, 2020, 'epyc-gen2'),
  epyc('7F32', 180, 8, 2020, 'epyc-gen2'),
  // Cloud-only Rome: AWS c5a/c5ad (7R32), Google N2D/C2D-era (7B12), Azure HBv2 (7V12).
  epyc('7R32', 225, 48, 2020, 'epyc-gen2', 'EPYC 7642'),
  epyc('7B12', 225, 64, 2020, 'epyc-gen2', 'EPYC 7742'),
  epyc('7V12', 225, 64, 2020, 'epyc-gen2', 'EPYC 7742'),

  // EPYC 7003, Milan (March 2021); Milan-X (March 2022).
  epyc('7763', 280, 64, 2021, 'epyc-gen3'),
  epyc('7713', 225, 64, 2021, 'epyc-gen3'),
  epyc('7663', 240, 56, 2021, 'epyc-gen3'),
  epyc('7643', 225, 48, 2021, 'epyc-gen3'),
  epyc('75F3', 280, 32, 2021, 'epyc-gen3'),
  epyc('7543', 225, 32, 2021, 'epyc-gen3'),
  epyc('7513', 200, 32, 2021, 'epyc-gen3'),
  epyc('7453', 225, 28, 2021, 'epyc-gen3'),
  epyc('74F3', 240, 24, 2021, 'epyc-gen3'),
  epyc('7443', 200, 24, 2021, 'epyc-gen3'),
  epyc('7413', 180, 24, 2021, 'epyc-gen3'),
  epyc('73F3', 240, 16, 2021, 'epyc-gen3'),
  epyc('7343', 190, 16, 2021, 'epyc-gen3'),
  epyc('7313', 155, 16, 2021, 'epyc-gen3'),
  epyc('72F3', 180, 8, 2021, 'epyc-gen3'),
  epyc('7773X', 280, 64, 2022, 'epyc-gen3'),
  epyc('7573X', 280, 32, 2022, 'epyc-gen3'),
  // Cloud-only Milan: AWS m6a/c6a/r6a (7R13), Google T2D/N2D (7B13), Azure (7V13).
  epyc('7R13', 225, 48, 2021, 'epyc-gen3', 'EPYC 7643'),
  epyc('7B13', 280, 64, 2021, 'epyc-gen3', 'EPYC 7763'),
  epyc('7V13', 280, 64, 2021, 'epyc-gen3', 'EPYC 7763'),

  // EPYC 9004, Genoa (November 2022); Genoa-X (June 2023); Bergamo (June 2023, Zen 4c); EPYC 8004,
  // Siena (September 2023, Zen 4c).
  epyc('9654', 360, 96, 2022, 'epyc-gen4'),
  epyc('9634', 290, 84, 2022, 'epyc-gen4'),
  epyc('9554', 360, 64, 2022, 'epyc-gen4'),
  epyc('9534', 280, 64, 2022, 'epyc-gen4'),
  epyc('9474F', 360, 48, 2022, 'epyc-gen4'),
  epyc('9454', 290, 48, 2022, 'epyc-gen4'),
  epyc('9374F', 320, 32, 2022, 'epyc-gen4'),
  epyc('9354', 280, 32, 2022, 'epyc-gen4'),
  epyc('9334', 210, 32, 2022, 'epyc-gen4'),
  epyc('9274F', 320, 24, 2022, 'epyc-gen4'),
  epyc('9254', 200, 24, 2022, 'epyc-gen4'),
  epyc('9224', 200, 24, 2022, 'epyc-gen4'),
  epyc('9174F', 320, 16, 2022, 'epyc-gen4'),
  epyc('9124', 200, 16, 2022, 'epyc-gen4'),
  epyc('9684X', 400, 96, 2023, 'epyc-gen4'),
  epyc('9754', 360, 128, 2023, 'bergamo'),
  epyc('9734', 340, 112, 2023, 'bergamo'),
  epyc('8534P', 200, 64, 2023, 'bergamo'),
  // Cloud-only Genoa: AWS m7a/c7a/r7a (9R14, 96 cores a socket: m7a.48xlarge is 192 cores, no SMT).
  epyc('9R14', 360, 96, 2023, 'epyc-gen4', 'EPYC 9654'),

  // EPYC 9005, Turin (October 2024; 9965 is Zen 5c).
  epyc('9965', 500, 192, 2024, 'epyc-gen5'),
  epyc('9755', 500, 128, 2024, 'epyc-gen5'),
  epyc('9655', 400, 96, 2024, 'epyc-gen5'),
  epyc('9555', 360, 64, 2024, 'epyc-gen5'),
  epyc('9355', 280, 32, 2024, 'epyc-gen5'),

  // Ampere Altra (Neoverse-N1, 2020) and Altra Max (2021).
  row('Ampere Altra Q80-33', 'Q80-33', '', 250, 80, 2020, 'neoverse-n1'),
  row('Ampere Altra Q80-30', 'Q80-30', '', 210, 80, 2020, 'neoverse-n1'),
  row('Ampere Altra Max M128-30', 'M128-30', '', 250, 128, 2021, 'neoverse-n1'),
];

/**
 * Published facts for a CPU by its name (as /proc/cpuinfo, lscpu, DMI or SPECpower print it), or
 * undefined when the table does not have the SKU. The table holds common server and cloud SKUs,
 * not every part: a miss is normal, and callers fall back to CPUID and to estimates.
 */
export function lookupCpuModel(name: string): CpuModelFacts | undefined {
  const n = normaliseCpuName(name);
  if (n === '') return undefined;
  for (const r of SKUS) if (r.re.test(n)) return { ...r.facts };
  return undefined;
}

/** Every SKU the table holds, for tests and for the `model` command's listing. */
export function catalogSkus(): CpuModelFacts[] {
  return SKUS.map((r) => ({ ...r.facts }));
}

// ---------- naming rules ----------

function intelFromName(n: string): Microarchitecture | undefined {
  let x: RegExpExecArray | null;

  // Xeon Scalable: the second digit of the number is the generation.
  if ((x = /\b(Platinum|Gold|Silver|Bronze)\s*(\d)(\d)\d\d([A-Z+]*)/i.exec(n))) {
    const [, , first, gen, suffix] = x;
    if (first === '9') return gen === '2' ? m('cascadelake', 2019) : undefined; // Platinum 9200
    switch (gen) {
      case '1':
        return m('skylake', 2017);
      case '2':
        return m('cascadelake', /R/i.test(suffix) ? 2020 : 2019);
      case '3': // Cooper Lake (83xxH, 63xxH, 53xxH) keeps the Cascade Lake core
        return /H/i.test(suffix) ? m('cascadelake', 2020) : m('icelake', 2021);
      case '4':
        return m('sapphirerapids', 2023);
      case '5':
        return m('emeraldrapids', 2023);
      default:
        return undefined;
    }
  }
  // Xeon 6: "Xeon 6980P" (P-cores) and "Xeon 6780E" (E-cores).
  if ((x = /\bXeon\s+(?:6\s+)?6\d{3}([PE])\b/i.exec(n))) {
    return x[1].toUpperCase() === 'P' ? m('graniterapids', 2024) : m('sierraforest', 2024);
  }
  // Xeon E3/E5/E7, "v2".."v6" or none.
  if ((x = /(?<![\w-])E([357])-\d{4}[A-Z]*\s*(?:v(\d))?\b/i.exec(n))) {
    const line = x[1];
    const v = x[2] === undefined ? 1 : Number(x[2]);
    const table: Record<string, Record<number, Microarchitecture>> = {
      '3': { 1: m('sandybridge', 2011), 2: m('ivybridge', 2012), 3: m('haswell', 2013), 4: m('broadwell', 2015), 5: m('skylake', 2015), 6: m('kabylake', 2017) },
      '5': { 1: m('sandybridge', 2012), 2: m('ivybridge', 2013), 3: m('haswell', 2014), 4: m('broadwell', 2016) },
      '7': { 1: m('nehalem', 2011), 2: m('ivybridge', 2014), 3: m('haswell', 2015), 4: m('broadwell', 2016) },
    };
    return table[line][v];
  }
  // Xeon E-2100 .. E-2400.
  if ((x = /(?<![\w-])E-2(\d)\d\d/i.exec(n))) {
    return ({ '1': m('coffeelake', 2018), '2': m('coffeelake', 2019), '3': m('rocketlake', 2021), '4': m('raptorlake', 2023) } as Record<string, Microarchitecture>)[x[1]];
  }
  // Xeon D.
  if ((x = /(?<![\w-])D-(\d)(\d)\d\d/i.exec(n))) {
    const s = x[1] + x[2];
    if (s === '15') return m('broadwell', 2015);
    if (s === '16') return m('broadwell', 2019);
    if (s === '21') return m('skylake', 2018);
    if (s === '17' || s === '27') return m('icelake', 2022);
    return undefined;
  }
  // Xeon W.
  if ((x = /(?<![\w-])W-(\d)(\d)\d\d/i.exec(n))) {
    const s = x[1] + x[2];
    return (
      {
        '21': m('skylake', 2017),
        '31': m('skylake', 2019),
        '22': m('cascadelake', 2019),
        '32': m('cascadelake', 2019),
        '33': m('icelake', 2021),
        '12': m('cometlake', 2020),
        '13': m('rocketlake', 2021),
      } as Record<string, Microarchitecture>
    )[s];
  }
  if (/(?<![\w-])w[3579]-[23][45]\d\d/i.test(n)) return m('sapphirerapids', 2023);

  // Xeon before E3/E5 naming: an optional letter and four digits, "X5670", "E5420", "5160".
  if ((x = /(?<![\w-])([EXLW]?)([3567])(\d)\d\d(?![\w.-])/i.exec(n)) && (/\bXeon\b/i.test(n) || x[1] !== '')) {
    const series = x[2] + x[3];
    const old: Record<string, Microarchitecture> = {
      '30': m('core', 2006), // Conroe (3000)
      '31': m('core', 2008), // Wolfdale (3100)
      '32': m('core', 2007), // Kentsfield (3200)
      '33': m('core', 2008), // Yorkfield (3300)
      '34': m('nehalem', 2009), // Lynnfield (3400)
      '51': m('core', 2006), // Woodcrest
      '52': m('core', 2007), // Wolfdale-DP
      '53': m('core', 2006), // Clovertown
      '54': m('core', 2007), // Harpertown
      '55': m('nehalem', 2009), // Gainestown
      '56': m('nehalem', 2010), // Westmere-EP
      '65': m('nehalem', 2010), // Nehalem-EX, 2 sockets
      '72': m('core', 2007), // Tigerton
      '73': m('core', 2007), // Tigerton
      '74': m('core', 2008), // Dunnington
      '75': m('nehalem', 2010), // Nehalem-EX (Beckton)
    };
    // 5000, 7000, 7100 (NetBurst) are absent on purpose: no key fits them.
    return old[series];
  }

  // Core i3/i5/i7/i9: the generation is the number's first digit, or first two from the 10th on.
  if ((x = /\bCore\s*i[3579]-?\s*(\d{3,5})([A-Z]*\d?)/i.exec(n))) {
    const digits = x[1];
    const suffix = x[2].toUpperCase();
    if (digits.length === 3) return m('nehalem', digits[0] === '9' ? 2008 : digits[0] === '7' || digits[0] === '8' ? 2009 : 2010);
    const gen = digits[0] === '1' ? Number(digits.slice(0, 2)) : Number(digits[0]);
    const mobile = /^(G\d|U|H|HK|HS|HX|P|Y)/.test(suffix);
    const byGen: Record<number, Microarchitecture | undefined> = {
      2: m('sandybridge', 2011),
      3: m('ivybridge', 2012),
      4: m('haswell', 2013),
      5: m('broadwell', 2015),
      6: m('skylake', 2015),
      7: m('kabylake', 2017),
      8: m('coffeelake', 2017),
      9: m('coffeelake', 2018),
      10: /^G\d/.test(suffix) ? m('icelake', 2019) : m('cometlake', 2020),
      11: mobile ? m('tigerlake', 2020) : m('rocketlake', 2021),
      12: m('alderlake', 2021),
      13: m('raptorlake', 2022),
      14: m('raptorlake', 2023),
    };
    return byGen[gen];
  }
  if ((x = /\bCore\s+Ultra\s+[579]\s+(\d)\d\d([A-Z]*)/i.exec(n))) {
    if (x[1] === '1') return m('meteorlake', 2023);
    if (x[1] === '2') return /^V/i.test(x[2]) ? m('lunarlake', 2024) : m('arrowlake', 2024);
    return undefined;
  }
  if (/\bCore\s*2\b/i.test(n)) return m('core', 2006);
  if ((x = /\bAtom\s+C([23])\d{3}/i.exec(n))) return x[1] === '2' ? m('silvermont', 2013) : m('goldmont', 2017);
  return undefined;
}

function amdFromName(n: string): Microarchitecture | undefined {
  let x: RegExpExecArray | null;
  // EPYC: the last digit is the generation (7xx1 .. 7xx3, 9xx4, 9xx5); cloud SKUs keep it (7R13).
  if ((x = /\bEPYC\s+(\d)([0-9A-Z])([0-9A-Z])(\d)([A-Z]*)/i.exec(n))) {
    const [, series, second, , gen, suffix] = x;
    const xSuffix = /X/i.test(suffix);
    if (series === '7') {
      if (gen === '1') return m('epyc-gen1', 2017);
      if (gen === '2') return m('epyc-gen2', 2019);
      if (gen === '3') return m('epyc-gen3', xSuffix ? 2022 : 2021);
      return undefined;
    }
    if (series === '9') {
      if (gen === '4') return second === '7' ? m('bergamo', 2023) : m('epyc-gen4', xSuffix ? 2023 : 2022);
      if (gen === '5') return m('epyc-gen5', 2024);
      return undefined;
    }
    if (series === '8' && gen === '4') return m('bergamo', 2023); // Siena, Zen 4c
    if (series === '4' && gen === '4') return m('epyc-gen4', 2024); // EPYC 4004
    if (series === '3' && gen === '1') return m('epyc-gen1', 2018); // EPYC Embedded 3000
    return undefined;
  }
  if ((x = /\bOpteron\s+(A1\d{3}|X\d{4}|\d{3,4})/i.exec(n))) {
    const num = x[1].toUpperCase();
    if (num.startsWith('A1')) return m('cortex-a57', 2016); // Opteron A1100 "Seattle" is ARM
    if (num.startsWith('X')) return m('opteron', 2013);
    if (num.length === 3) return m('opteron', 2004); // K8: 2xx, 8xx
    const [a, b, c] = num;
    if (a === '2' || a === '8') {
      if (b === '2') return m('opteron', 2006);
      if (b === '3') return m('opteron', Number(c) >= 7 ? 2008 : 2007); // Barcelona, then Shanghai (x37x..x39x)
      if (b === '4') return m('opteron', 2009);
    }
    if (a === '1' || a === '3' || a === '4' || a === '6') {
      if (b === '1') return m('opteron', 2010);
      if (b === '2') return m('opteron', 2011);
      if (b === '3') return m('opteron', 2012);
    }
    return m('opteron', 2009);
  }
  if (/\bOpteron\b/i.test(n)) return m('opteron', 2009);
  // Ryzen Threadripper: 1000/2000 Zen(+), 3000 Zen 2, 5000 Zen 3, 7000 Zen 4, 9000 Zen 5.
  if ((x = /\bThreadripper\s+(?:PRO\s+)?(\d)\d{3}/i.exec(n))) {
    return (
      {
        '1': m('epyc-gen1', 2017),
        '2': m('epyc-gen1', 2018),
        '3': m('epyc-gen2', 2019),
        '5': m('epyc-gen3', 2022),
        '7': m('epyc-gen4', 2023),
        '9': m('epyc-gen5', 2025),
      } as Record<string, Microarchitecture>
    )[x[1]];
  }
  // Ryzen desktop parts; mobile parts from the 7000 series on name their core in the third digit.
  if ((x = /\bRyzen\s+[3579]\s+(?:PRO\s+)?(\d)\d(\d)\d([A-Z]*)/i.exec(n))) {
    const [, gen, third, suffix] = x;
    const mobile = /^(U|H|HS|HX)$/i.test(suffix);
    if (gen === '7' && mobile) return ({ '2': m('epyc-gen2', 2022), '3': m('epyc-gen3', 2023), '4': m('epyc-gen4', 2023) } as Record<string, Microarchitecture>)[third];
    const apuZenPlus = gen === '3' && /^(G|GE|U|H)$/i.test(suffix); // Picasso: Zen+
    if (apuZenPlus) return m('epyc-gen1', 2019);
    return (
      {
        '1': m('epyc-gen1', 2017),
        '2': m('epyc-gen1', 2018),
        '3': m('epyc-gen2', 2019),
        '4': m('epyc-gen2', 2020),
        '5': m('epyc-gen3', 2020),
        '6': m('epyc-gen3', 2022),
        '7': m('epyc-gen4', 2022),
        '8': m('epyc-gen4', 2024),
        '9': m('epyc-gen5', 2024),
      } as Record<string, Microarchitecture>
    )[gen];
  }
  if (/\bHygon\b/i.test(n)) return m('epyc-gen1', 2018);
  return undefined;
}

function armFromName(n: string): Microarchitecture | undefined {
  let x: RegExpExecArray | null;
  if ((x = /\bNeoverse[\s-]*([NVE]\d)\b/i.exec(n))) {
    const key = `neoverse-${x[1].toLowerCase()}`;
    const years: Record<string, number> = { 'neoverse-e1': 2019, 'neoverse-n1': 2020, 'neoverse-v1': 2022, 'neoverse-n2': 2022, 'neoverse-v2': 2023 };
    return years[key] === undefined ? undefined : m(key, years[key]);
  }
  if ((x = /\bCortex[\s-]*([AX]\d+)\b/i.exec(n))) {
    const key = `cortex-${x[1].toLowerCase()}`;
    const year = armCoreYear(key);
    return year === undefined ? undefined : m(key, year);
  }
  if (/\bAltra\s+Max\b/i.test(n)) return m('neoverse-n1', 2021);
  if (/\bAltra\b/i.test(n)) return m('neoverse-n1', 2020);
  if (/\bAmpereOne\b/i.test(n)) return m('ampereone', 2023);
  if ((x = /\bGraviton\s*(\d)?\b/i.exec(n))) {
    return ({ '1': m('cortex-a72', 2018), '2': m('neoverse-n1', 2020), '3': m('neoverse-v1', 2022), '4': m('neoverse-v2', 2024) } as Record<string, Microarchitecture>)[
      x[1] ?? '1'
    ];
  }
  if (/\bNVIDIA\s+Grace\b/i.test(n)) return m('neoverse-v2', 2023);
  if (/\bCobalt\s*100\b/i.test(n)) return m('neoverse-n2', 2024);
  if (/\bAxion\b/i.test(n)) return m('neoverse-v2', 2024);
  if (/\bThunderX2\b/i.test(n)) return m('thunderx2', 2018);
  if (/\bThunderX\b/i.test(n)) return m('thunderx', 2016);
  if (/\bKunpeng\s*920\b/i.test(n)) return m('tsv110', 2019);
  if (/\bA64FX\b/i.test(n)) return m('a64fx', 2019);
  // Raspberry Pi boards: the board's year, not the core's.
  if (/\bRaspberry Pi 5\b/i.test(n)) return m('cortex-a76', 2023);
  if (/\bRaspberry Pi (4|400|Compute Module 4)\b/i.test(n)) return m('cortex-a72', 2019);
  if (/\bRaspberry Pi 3\b/i.test(n)) return m('cortex-a53', 2016);
  if (/\bRaspberry Pi Zero 2\b/i.test(n)) return m('cortex-a53', 2021);
  return undefined;
}

/**
 * The microarchitecture a CPU name implies by the vendors' naming rules, for names the SKU table
 * does not hold (most SPECpower rows): "Intel Xeon E5-2699 v4" is Broadwell, "Intel Xeon Gold
 * 6230" Cascade Lake, "AMD EPYC 7742" Zen 2. Undefined when the name does not tell (NetBurst
 * Xeons, "Intel Xeon 3.8GHz", Pentium, Celeron, unknown vendors).
 */
export function inferMicroarchitectureFromName(name: string): Microarchitecture | undefined {
  const n = normaliseCpuName(name);
  if (n === '') return undefined;
  return amdFromName(n) ?? armFromName(n) ?? intelFromName(n);
}
