// What a campaign scenario is: a name for --only, what it does and what it expects (both shown
// even when it times out), a time limit, and a run that reports what it observed.

import type { Scope } from './lib.js';

export interface Ctx {
  quick: boolean;
  /** Soak length in minutes (10, 1 with --quick, or --soak-minutes). */
  soakMinutes: number;
  scope: Scope;
  /** Figures gathered so far: shown in the row if the scenario times out. A function, not a method: scenarios destructure it. */
  note: (s: string) => void;
}

export interface Observation {
  observed: string;
  pass: boolean;
}

export interface Scenario {
  name: string;
  did: string;
  expected: string;
  limitSec(ctx: Pick<Ctx, 'quick' | 'soakMinutes'>): number;
  run(ctx: Ctx): Promise<Observation>;
}

/** Joins the parts of an observation, marking each failed check. */
export class Checks {
  private parts: string[] = [];
  pass = true;

  /** Records a figure; when `ok` is false the scenario fails and the part is marked ✗. */
  add(ok: boolean, text: string): void {
    if (!ok) this.pass = false;
    this.parts.push(ok ? text : `✗ ${text}`);
  }

  info(text: string): void {
    this.parts.push(text);
  }

  result(): Observation {
    return { observed: this.parts.join('; '), pass: this.pass };
  }
}
