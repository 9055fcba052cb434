// A collector writes some metric families for one scrape, reading only the snapshot it is given
// (and static facts it learned at start-up). A new group of metrics is a new collector file.

import type { Snapshot } from '../../monitor/snapshot.js';
import type { ExpositionWriter } from './exposition.js';

export interface Collector {
  collect(snapshot: Snapshot, out: ExpositionWriter): void;
}

/** Help texts in Kepler's patterns (metrics.md). */
export const help = {
  energy: (device: string, level: string) => `Energy consumption of ${device} at ${level} level in joules`,
  power: (device: string, level: string) => `Power consumption of ${device} at ${level} level in watts`,
  stateEnergy: (device: string, state: string, level: string) => `Energy consumption of ${device} in ${state} state at ${level} level in joules`,
  statePower: (device: string, state: string, level: string) => `Power consumption of ${device} in ${state} state at ${level} level in watts`,
  cpuTime: (device: string, level: string) => `Total user and system time of ${device} at ${level} level in seconds`,
};
