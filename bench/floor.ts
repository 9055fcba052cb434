// The C floor: compiles bench/procfloor.c into a temporary directory with the machine's C compiler
// and runs it. Without a compiler the floor is skipped, with a message saying so.

import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { onCleanup } from './util.js';

export interface FloorRun {
  files: number;
  /** ms of each pass with a single read(2) per file. */
  one: number[];
  /** ms of each pass reading each file until EOF. */
  eof: number[];
}

/** The floor of a running exporter: one pass every interval over a window. */
export interface FloorEveryRun {
  files: number;
  passes: number;
  /** User + system CPU time the floor process used over the window, ms. */
  cpuMs: number;
}

export class CFloor {
  private constructor(
    private readonly binary: string,
    readonly compiler: string,
  ) {}

  /** Compiles the floor program; returns a reason string when it cannot. */
  static build(): CFloor | string {
    // dist/bench/floor.js -> bench/procfloor.c
    const source = fileURLToPath(new URL('../../bench/procfloor.c', import.meta.url));
    if (!existsSync(source)) return `source not found: ${source}`;
    const cc = [process.env.CC, 'cc', 'gcc', 'clang'].find((c) => c && spawnSync(c, ['--version'], { stdio: 'ignore' }).status === 0);
    if (!cc) return 'no C compiler found (tried $CC, cc, gcc, clang)';
    const dir = mkdtempSync(join(tmpdir(), 'kepler-bench-floor-'));
    onCleanup(() => rmSync(dir, { recursive: true, force: true }));
    const binary = join(dir, 'procfloor');
    const r = spawnSync(cc, ['-O2', '-o', binary, source], { encoding: 'utf8' });
    if (r.status !== 0) return `${cc} failed: ${(r.stderr || r.error?.message || '').trim().split('\n').slice(-3).join(' | ')}`;
    const version = spawnSync(cc, ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0].trim();
    return new CFloor(binary, `${cc} (${version})`);
  }

  /** Reads every /proc/<pid>/stat once per `intervalMs` for `seconds`, beside whatever runs meanwhile. */
  every(intervalMs: number, seconds: number, procfs = '/proc'): Promise<FloorEveryRun> {
    return new Promise((resolve, reject) => {
      const child = execFile(this.binary, ['--every', String(intervalMs), String(seconds), procfs], { encoding: 'utf8' }, (err, out) => {
        unregister();
        if (err) {
          reject(new Error(`procfloor --every failed: ${err.message}`));
          return;
        }
        try {
          resolve(JSON.parse(out) as FloorEveryRun);
        } catch (e) {
          reject(new Error(`procfloor --every printed ${JSON.stringify(out.slice(0, 200))}: ${(e as Error).message}`));
        }
      });
      const unregister = onCleanup(() => child.kill('SIGKILL'));
    });
  }

  run(iterations: number, procfs = '/proc'): FloorRun {
    const out = execFileSync(this.binary, [String(iterations), procfs], { encoding: 'utf8', maxBuffer: 16 << 20 });
    return JSON.parse(out) as FloorRun;
  }
}
