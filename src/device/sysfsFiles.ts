// Reading meter files under sysfs, with errors that tell a user what to do about them.

import { readdirSync } from 'node:fs';
import { MeterUnavailableError } from './energyZone.js';
import { errnoCode, parseCounter, type FileReader } from '../util/fileReader.js';

export function describeReadError(file: string, err: unknown): Error {
  switch (errnoCode(err)) {
    case 'EACCES':
    case 'EPERM':
      return new Error(`${file}: permission denied (root only since CVE-2020-8694)`, { cause: err });
    case 'ENOENT':
      return new Error(`${file}: no such file (zone gone, or /sys/devices/virtual/powercap masked by the container runtime)`, { cause: err });
    default:
      return err instanceof Error ? new Error(err.message, { cause: err }) : new Error(String(err));
  }
}

/** A counter or sensor file holding one non-negative integer; throws a message naming the file. */
export function readCounterFile(reader: FileReader, file: string): number {
  try {
    return parseCounter(reader.readText(file), file);
  } catch (err) {
    throw describeReadError(file, err);
  }
}

/** The entries of a meter's class folder, or MeterUnavailableError saying why there are none. */
export function listMeterDir(dir: string, whyMissing: string): string[] {
  try {
    return readdirSync(dir);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') throw new MeterUnavailableError(`${dir}: not found (${whyMissing})`, { cause: err });
    throw new MeterUnavailableError(describeReadError(dir, err).message, { cause: err });
  }
}
