// Version, revision and branch recorded by scripts/build-info.mjs at build time, and the names
// kepler_build_info gives the runtime's architecture.

import { readFileSync } from 'node:fs';

export interface BuildInfo {
  version: string;
  revision: string;
  branch: string;
}

export function readBuildInfo(): BuildInfo {
  for (const rel of ['../../build-info.json', '../../../package.json']) {
    try {
      const j = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as Partial<BuildInfo>;
      if (j.version) return { version: j.version, revision: j.revision ?? 'unknown', branch: j.branch ?? 'unknown' };
    } catch {
      // try the next
    }
  }
  return { version: 'unknown', revision: 'unknown', branch: 'unknown' };
}

/** Node's process.arch names that differ from Go's GOARCH; the others (arm, arm64, riscv64, s390x, loong64, ...) are the same. */
const GO_ARCH: Record<string, string> = { x64: 'amd64', ia32: '386', mipsel: 'mipsle', mips64el: 'mips64le' };

/**
 * Go's name (GOARCH) for a Node architecture, as Kepler's `arch` label reads (runtime.GOARCH), so
 * that queries and dashboards matching arch="amd64" keep working. Node says ppc64 for both byte
 * orders, Go ppc64le for the little-endian one (every Linux distribution's). Pure; an
 * architecture with no Go name keeps Node's.
 */
export function goArch(nodeArch: string, endianness: 'BE' | 'LE'): string {
  if (nodeArch === 'ppc64') return endianness === 'LE' ? 'ppc64le' : 'ppc64';
  return GO_ARCH[nodeArch] ?? nodeArch;
}
