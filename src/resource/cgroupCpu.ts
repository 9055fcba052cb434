// Container CPU from cgroup accounting, under <host.sysfs>/fs/cgroup: cgroup v2 at its root (or at
// unified/ on hybrid hosts) reading cpu.stat usage_usec, and v1 cpuacct (cpuacct/ or
// cpu,cpuacct/) reading cpuacct.usage (ns). The cgroup counter includes processes that started and
// ended between two refreshes, which a sum over live processes never sees.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { outsideNamespace } from './cgroupNamespace.js';
import type { CgroupLine } from './containerId.js';
import type { FileReader } from '../util/fileReader.js';

export interface CgroupLayout {
  /** Mount point of the v2 hierarchy, if any. */
  v2Root?: string;
  /** Mount point of the v1 cpuacct controller, if any. */
  v1CpuacctRoot?: string;
}

export function detectCgroupLayout(sysfs: string): CgroupLayout {
  const root = join(sysfs, 'fs', 'cgroup');
  const layout: CgroupLayout = {};
  if (existsSync(join(root, 'cgroup.controllers'))) layout.v2Root = root;
  else if (existsSync(join(root, 'unified', 'cgroup.controllers'))) layout.v2Root = join(root, 'unified');
  for (const dir of ['cpuacct', 'cpu,cpuacct', 'cpuacct,cpu']) {
    if (existsSync(join(root, dir, 'cpuacct.usage'))) {
      layout.v1CpuacctRoot = join(root, dir);
      break;
    }
  }
  return layout;
}

export interface CgroupCpuSource {
  file: string;
  kind: 'v2' | 'v1';
}

/**
 * The accounting file of the cgroup a container id was found in: the line it was found on
 * first, then any other line whose path holds the same id. Undefined when none exists. The paths
 * are tree paths (cgroupNamespace.ts maps the v2 line's); one that climbs out of the reader's
 * cgroup namespace (`/../..`) has no place under a mount point and is skipped: joined, its `..`s
 * would name another directory.
 */
export function cgroupCpuSource(layout: CgroupLayout, foundOn: CgroupLine, lines: CgroupLine[], id: string): CgroupCpuSource | undefined {
  const candidates = [foundOn, ...lines.filter((l) => l !== foundOn && l.path.includes(id))];
  for (const line of candidates) {
    if (outsideNamespace(line.path)) continue;
    let src: CgroupCpuSource | undefined;
    if (line.hierarchy === '0' && layout.v2Root) src = { file: join(layout.v2Root, line.path, 'cpu.stat'), kind: 'v2' };
    else if (line.controllers.includes('cpuacct') && layout.v1CpuacctRoot) src = { file: join(layout.v1CpuacctRoot, line.path, 'cpuacct.usage'), kind: 'v1' };
    if (src && existsSync(src.file)) return src;
  }
  return undefined;
}

/** Pure: CPU seconds from a cpu.stat (v2) or cpuacct.usage (v1) file's text. */
export function parseCgroupCpuSeconds(text: string, kind: 'v2' | 'v1'): number {
  if (kind === 'v1') {
    const t = text.trim();
    if (!/^\d+$/.test(t)) throw new Error(`cpuacct.usage: expected nanoseconds, got ${JSON.stringify(t.slice(0, 40))}`);
    return safeInteger(t, 'cpuacct.usage') / 1e9;
  }
  const m = /(?:^|\n)usage_usec (\d+)/.exec(text);
  if (!m) throw new Error('cpu.stat: no usage_usec line');
  return safeInteger(m[1], 'cpu.stat usage_usec') / 1e6;
}

function safeInteger(digits: string, what: string): number {
  const n = Number(digits);
  if (!Number.isSafeInteger(n)) throw new Error(`${what}: ${digits.length} digits, out of range`);
  return n;
}

export function readCgroupCpuSeconds(reader: FileReader, src: CgroupCpuSource): number {
  return parseCgroupCpuSeconds(reader.readText(src.file), src.kind);
}
