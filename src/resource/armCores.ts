// ARM cores by the "CPU implementer" and "CPU part" of /proc/cpuinfo (the Linux kernel's
// arch/arm64/include/asm/cputype.h, Arm's documentation): the core's name, where cpuinfo gives
// none, its year, and a published per-core power figure where there is one. Pure lookups.

export interface ArmCore {
  /** Architecture key, e.g. "neoverse-n1", "cortex-a72". */
  key: string;
  /** For people and for a CPU name where /proc/cpuinfo has none, e.g. "ARM Neoverse-N1". */
  name: string;
  /** First year products with this core shipped. */
  year: number;
  /**
   * Rough watts of one busy core, where a figure has been published or measured; undefined
   * elsewhere rather than a guess. Approximate: it moves with clock, process and load.
   */
  coreWatts?: number;
}

const IMPLEMENTERS: ReadonlyMap<number, string> = new Map([
  [0x41, 'ARM'],
  [0x42, 'Broadcom'],
  [0x43, 'Cavium'],
  [0x46, 'Fujitsu'],
  [0x48, 'HiSilicon'],
  [0x4e, 'NVIDIA'],
  [0x50, 'APM'],
  [0x51, 'Qualcomm'],
  [0x61, 'Apple'],
  [0x6d, 'Microsoft'],
  [0xc0, 'Ampere'],
]);

type CoreFacts = [key: string, display: string, year: number, coreWatts?: number];

/** Keyed by implementer << 12 | part. */
const ARM_PARTS: ReadonlyMap<number, CoreFacts> = new Map<number, CoreFacts>([
  // Arm Ltd. (0x41)
  [0x41_c07, ['cortex-a7', 'Cortex-A7', 2013]],
  [0x41_d03, ['cortex-a53', 'Cortex-A53', 2014]],
  [0x41_d04, ['cortex-a35', 'Cortex-A35', 2017]],
  [0x41_d05, ['cortex-a55', 'Cortex-A55', 2018]],
  [0x41_d07, ['cortex-a57', 'Cortex-A57', 2014]],
  // Raspberry Pi 4 (BCM2711, 1.5 GHz): about 2.7 W idle and 6.4 W with all four cores busy at
  // the wall, so close to 1 W per busy core.
  [0x41_d08, ['cortex-a72', 'Cortex-A72', 2015, 1.0]],
  [0x41_d09, ['cortex-a73', 'Cortex-A73', 2016]],
  [0x41_d0a, ['cortex-a75', 'Cortex-A75', 2018]],
  [0x41_d0b, ['cortex-a76', 'Cortex-A76', 2018]],
  // Arm's Neoverse N1 reference design: 1.0 to 1.8 W per core at 2.6 to 3.1 GHz (7 nm); the
  // upper end is what a busy cloud core at about 3 GHz draws.
  [0x41_d0c, ['neoverse-n1', 'Neoverse-N1', 2020, 1.8]],
  [0x41_d0d, ['cortex-a77', 'Cortex-A77', 2020]],
  [0x41_d40, ['neoverse-v1', 'Neoverse-V1', 2022]],
  [0x41_d41, ['cortex-a78', 'Cortex-A78', 2020]],
  [0x41_d44, ['cortex-x1', 'Cortex-X1', 2021]],
  [0x41_d46, ['cortex-a510', 'Cortex-A510', 2022]],
  [0x41_d47, ['cortex-a710', 'Cortex-A710', 2022]],
  [0x41_d48, ['cortex-x2', 'Cortex-X2', 2022]],
  [0x41_d49, ['neoverse-n2', 'Neoverse-N2', 2022]],
  [0x41_d4d, ['cortex-a715', 'Cortex-A715', 2023]],
  [0x41_d4e, ['cortex-x3', 'Cortex-X3', 2023]],
  [0x41_d4f, ['neoverse-v2', 'Neoverse-V2', 2023]],
  [0x41_d80, ['cortex-a520', 'Cortex-A520', 2024]],
  [0x41_d81, ['cortex-a720', 'Cortex-A720', 2024]],
  [0x41_d82, ['cortex-x4', 'Cortex-X4', 2024]],
  // Others
  [0x43_0a1, ['thunderx', 'ThunderX', 2016]],
  [0x43_0af, ['thunderx2', 'ThunderX2', 2018]],
  [0x46_001, ['a64fx', 'A64FX', 2019]],
  [0x48_d01, ['tsv110', 'Kunpeng 920 (TaiShan v110)', 2019]],
  [0x4e_004, ['carmel', 'Carmel', 2018]],
  [0x50_000, ['x-gene', 'X-Gene', 2013]],
  [0x51_c00, ['falkor', 'Falkor', 2017]],
  [0x61_022, ['apple-m1', 'M1 Icestorm', 2020]],
  [0x61_023, ['apple-m1', 'M1 Firestorm', 2020]],
  [0x6d_d49, ['neoverse-n2', 'Azure Cobalt 100 (Neoverse-N2)', 2024]], // Microsoft's own implementer id
  [0xc0_ac3, ['ampereone', 'AmpereOne', 2023]],
  [0xc0_ac4, ['ampereone', 'AmpereOne A', 2024]],
]);

function hexOrNumber(v: number | string): number {
  if (typeof v === 'number') return v;
  const t = v.trim();
  // /proc/cpuinfo prints "0x41"; a bare "41" is taken as hex too, since the field always is.
  return /^(0x)?[0-9a-f]+$/i.test(t) ? parseInt(t.replace(/^0x/i, ''), 16) : NaN;
}

/**
 * The core of an ARM CPU from /proc/cpuinfo's "CPU implementer" and "CPU part" (numbers, or the
 * hex strings as printed). Undefined for a part the table does not know. AWS Graviton shows the
 * Arm core it is built on: Graviton 1 Cortex-A72, 2 Neoverse-N1, 3 Neoverse-V1, 4 Neoverse-V2.
 */
export function armCoreOf(implementer: number | string, part: number | string): ArmCore | undefined {
  const imp = hexOrNumber(implementer);
  const p = hexOrNumber(part);
  if (!Number.isInteger(imp) || !Number.isInteger(p) || imp < 0 || imp > 0xff || p < 0 || p > 0xfff) return undefined;
  const f = ARM_PARTS.get((imp << 12) | p);
  if (f === undefined) return undefined;
  const [key, display, year, coreWatts] = f;
  const maker = IMPLEMENTERS.get(imp) ?? `implementer 0x${imp.toString(16)}`;
  const name = display.startsWith(maker) ? display : `${maker} ${display}`;
  return coreWatts === undefined ? { key, name, year } : { key, name, year, coreWatts };
}

/** The year of the core with this architecture key ("cortex-a72"), or undefined. */
export function armCoreYear(key: string): number | undefined {
  for (const [, [k, , year]] of ARM_PARTS) if (k === key) return year;
  return undefined;
}
