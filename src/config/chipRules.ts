// `experimental.hwmon.chipRules`: Kepler's rules for hwmon chips that expose voltage (in{N}) and
// current (curr{M}) sensors but no power sensor, such as the INA3221: which in{N} pairs with which
// curr{M}, so that power = in{N}_input (mV) x curr{M}_input (mA). The hwmon ABI numbers each sensor
// type on its own, so whether in1 goes with curr1 depends on the driver; a rule says it. The
// value schema lives here; the meter that applies the rules is src/device/hwmonPairing.ts.
//
// Kepler's shape, checked strictly: a rule is {name, pairings, skipVoltages, skipCurrents,
// useSameIndex}, every index an integer >= 0. Unknown keys in a rule are warned about like any
// other. Two rules for one chip, or a rule that pairs nothing (neither pairings nor
// useSameIndex), are refused: Kepler would take the first of two, and fall back to its own guess
// for the second case; neither is what the rule's author meant.

import { z } from 'zod';

/** One rule, as the Config holds it (every field present). */
export interface ChipRule {
  /** The chip's hwmon `name` file, e.g. ina3221; matched without regard to case. */
  name: string;
  /** Voltage index -> current index: in{N} pairs with curr{pairings[N]}. Ignored with useSameIndex. */
  pairings: Record<string, number>;
  /** Voltage indexes never paired (shunt voltages, auxiliary inputs). */
  skipVoltages: number[];
  /** Current indexes never paired (current-only channels, per-phase currents). */
  skipCurrents: number[];
  /** in{N} pairs with curr{N}. */
  useSameIndex: boolean;
}

const INDEX = 'expected a sensor index: an integer >= 0';
const isIndex = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
const indexes = (what: string) => z.array(z.number(INDEX).refine(isIndex, INDEX), `expected a list of ${what} indexes, e.g. [4, 5]`);

const PAIRINGS = 'expected a mapping of voltage index to current index, e.g. {1: 1, 2: 2}';
/** YAML gives the keys of `{1: 1}` as the strings "1". */
const pairings = z.unknown().transform((v, ctx): Record<string, number> => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    ctx.issues.push({ code: 'custom', message: PAIRINGS, input: v });
    return z.NEVER;
  }
  for (const [k, c] of Object.entries(v)) {
    if (!/^\d+$/.test(k) || !Number.isSafeInteger(Number(k)))
      ctx.issues.push({ code: 'custom', message: `${PAIRINGS} (the key ${JSON.stringify(k)} is not a voltage index)`, input: v, path: [k] });
    else if (!isIndex(c)) ctx.issues.push({ code: 'custom', message: `${PAIRINGS} (${INDEX} as the current index)`, input: c, path: [k] });
  }
  return v as Record<string, number>;
});

const RULE = 'expected a rule like {name: ina3221, useSameIndex: true} or {name: ina226, pairings: {1: 1}}';
const NAME = 'expected the chip name of its hwmon name file, e.g. ina3221';

const rule = z
  .strictObject(
    {
      name: z.string(NAME).trim().min(1, NAME),
      pairings: pairings.nullish(),
      skipVoltages: indexes('voltage').nullish(),
      skipCurrents: indexes('current').nullish(),
      useSameIndex: z.boolean('expected true or false').nullish(),
    },
    RULE,
  )
  .transform((r): ChipRule => ({
    name: r.name,
    pairings: r.pairings ?? {},
    skipVoltages: r.skipVoltages ?? [],
    skipCurrents: r.skipCurrents ?? [],
    useSameIndex: r.useSameIndex ?? false,
  }));

export const chipRulesSchema = z.array(rule, `expected a list of rules: ${RULE.replace('expected a rule like ', '')}`).superRefine((rules, ctx) => {
  const seen = new Map<string, number>();
  rules.forEach((r, i) => {
    const first = seen.get(r.name.toLowerCase());
    if (first !== undefined) ctx.addIssue({ code: 'custom', message: `expected one rule per chip (chipRules[${first}] is also for ${JSON.stringify(r.name)})`, path: [i, 'name'] });
    else seen.set(r.name.toLowerCase(), i);
    if (!r.useSameIndex && Object.keys(r.pairings).length === 0) {
      ctx.addIssue({ code: 'custom', message: 'expected pairings or useSameIndex: true (a rule with neither pairs nothing)', path: [i] });
    }
  });
});
