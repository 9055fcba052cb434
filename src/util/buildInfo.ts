// Version, revision and branch recorded by scripts/build-info.mjs at build time.

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
