// Test helper, run as a child process by test/e2e/cgroupNamespace.test.ts, started inside a
// private cgroup namespace as the exporter runs in a pod of a cgroup v2 node: the informer with
// and without the process level, reading the real /proc and /sys. Its arguments are pids to watch.
// First line out: the v2 line of /proc/<pid>/cgroup of itself (`self`), of pid 1 and of the
// watched pids, as read from here. Then for each line in: both informers refresh, and one line out
// says what they found, and which watched pids' stat files the process walk read.

import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { ResourceInformer } from '../../src/resource/resourceInformer.js';
import type { ResourceSample } from '../../src/resource/workloads.js';
import type { FileReader } from '../../src/util/fileReader.js';

export interface NamespacedHello {
  pid: number;
  /** The v2 path of /proc/<pid>/cgroup as read from inside the namespace, by pid (and `self`). */
  v2: Record<string, string>;
}

export interface ContainerRow {
  id: string;
  podId: string;
  runtime: string;
  cpuDeltaSec: number;
  cpuTotalSec: number;
  ended: boolean;
  /** The process mode's live processes of the container, their CPU seconds of the interval. */
  processSum: number;
}

export interface Summary {
  containers: ContainerRow[];
  errors: ResourceSample['errors'];
  processesSkipped: number;
}

export interface NamespacedSample {
  full: Summary;
  cgOnly: Summary;
  /** The watched pids whose /proc/<pid>/stat the process mode read in this refresh. */
  statRead: number[];
}

function v2Line(pid: string): string {
  try {
    const line = readFileSync(`/proc/${pid}/cgroup`, 'latin1')
      .split('\n')
      .find((l) => l.startsWith('0::'));
    return line === undefined ? '' : line.slice(3);
  } catch {
    return '';
  }
}

function summary(s: ResourceSample): Summary {
  const sums = new Map<string, number>();
  for (const p of s.processes) if (!p.ended && p.info.containerId) sums.set(p.info.containerId, (sums.get(p.info.containerId) ?? 0) + p.cpuDeltaSec);
  return {
    containers: s.containers.map((c) => ({
      id: c.info.id,
      podId: c.info.podId,
      runtime: c.info.runtime,
      cpuDeltaSec: c.cpuDeltaSec,
      cpuTotalSec: c.cpuTotalSec,
      ended: c.ended,
      processSum: sums.get(c.info.id) ?? 0,
    })),
    errors: s.errors,
    processesSkipped: s.processesSkipped ?? 0,
  };
}

const watched = process.argv.slice(2);
const full = new ResourceInformer({ procfs: '/proc', sysfs: '/sys' });
const cgOnly = new ResourceInformer({ procfs: '/proc', sysfs: '/sys', processes: false });

// Which stat files the walk reads: the one way to tell a skipped process from one read.
const statRead = new Set<number>();
const reader = (full as unknown as { reader: FileReader }).reader;
const readRaw = reader.readRaw.bind(reader);
reader.readRaw = (path: string): number => {
  const m = /^\/proc\/(\d+)\/stat$/.exec(path);
  if (m && watched.includes(m[1])) statRead.add(Number(m[1]));
  return readRaw(path);
};

const hello: NamespacedHello = { pid: process.pid, v2: Object.fromEntries(['self', '1', ...watched].map((p) => [p, v2Line(p)])) };
process.stdout.write(`${JSON.stringify(hello)}\n`);
for await (const line of createInterface({ input: process.stdin })) {
  if (line === '') continue;
  statRead.clear();
  const sample: NamespacedSample = { full: summary(full.refresh()), cgOnly: summary(cgOnly.refresh()), statRead: [...statRead].sort((a, b) => a - b) };
  process.stdout.write(`${JSON.stringify(sample)}\n`);
}
