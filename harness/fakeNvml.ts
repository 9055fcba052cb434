// Test and benchmark helper: a fake libnvidia-ml.so.1 (fake_nvml.c, compiled here with gcc) and the state file
// that drives it. The binding under test loads it as it would load NVIDIA's: in-process by its
// absolute path (libPath), or in a child process through LD_LIBRARY_PATH (env).
//
// Each compiled variant (which functions are left out) is built once per process into a cache
// folder; every buildFakeNvml() copies it into a folder of its own, with its own state file. Two
// copies load side by side in one process even though they share the soname libnvidia-ml.so.1:
// dlopen() by a path that contains a slash matches loaded libraries by file (device and inode),
// not by soname, so each copy is a library of its own with its own state (checked by the tests).
// A dlopen() by the bare soname, though, returns whichever copy is loaded already.

import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface FakeGpu {
  uuid: string;
  name: string;
  energyMj: number;
  powerMw: number;
  /** Wall-clock ms (Date.now()) from which the energy counter advances at powerMw. */
  advanceFromMs?: number;
  computeMode?: 'default' | 'exclusive' | 'prohibited';
  mig?: boolean;
  /** false: nvmlDeviceGetTotalEnergyConsumption answers NVML_ERROR_NOT_SUPPORTED (pre-Volta). */
  energySupported?: boolean;
}

export interface FakeGpuProcess {
  gpu: number;
  pid: number;
  /** One utilization sample of this SM utilization; none when absent. */
  smUtil?: number;
  /** false: only in the utilization samples (it ended within the window). Default true. */
  running?: boolean;
  /** The MIG GPU instance (reported only on a GPU with mig: true). */
  gpuInstanceId?: number;
  /** The sample's timestamp (CLOCK_REALTIME µs); absent: the time of each call, so every read sees a new sample. */
  sampleTimeUs?: number;
}

export interface FakeNvmlState {
  gpus: FakeGpu[];
  processes?: FakeGpuProcess[];
  /** That function returns that nvmlReturn_t, on one GPU or (gpu absent) on all. */
  failures?: { fn: string; gpu?: number; code: number }[];
  /** nvmlInit_v2 returns it. */
  initError?: number;
  /**
   * The driver's load: when it changes, every device call of a session opened before answers
   * NVML_ERROR_GPU_IS_LOST until NVML is shut down and initialized again (a driver reload).
   */
  driverGeneration?: number;
}

export interface FakeNvml {
  dir: string;
  libPath: string;
  statePath: string;
  write(state: FakeNvmlState): void;
  /** LD_LIBRARY_PATH=dir, FAKE_NVML_STATE=statePath: for a child process. */
  env: Record<string, string>;
  cleanup(): void;
}

export interface FakeNvmlOptions {
  /** Optional functions to leave out of the library, e.g. ['nvmlDeviceGetTotalEnergyConsumption']. */
  omit?: string[];
  /**
   * Entry size of nvmlDeviceGetComputeRunningProcesses_v3: 24 (nvml.h today) by default, 32 as the
   * R535 drivers wrote (usedGpuCcProtectedMemory inside nvmlProcessInfo_t).
   */
  v3EntrySize?: 24 | 32;
}

/** nvmlReturn_t values, as nvml.h numbers them. */
export const NVML_ERROR = {
  SUCCESS: 0,
  UNINITIALIZED: 1,
  INVALID_ARGUMENT: 2,
  NOT_SUPPORTED: 3,
  NO_PERMISSION: 4,
  ALREADY_INITIALIZED: 5,
  NOT_FOUND: 6,
  INSUFFICIENT_SIZE: 7,
  INSUFFICIENT_POWER: 8,
  DRIVER_NOT_LOADED: 9,
  TIMEOUT: 10,
  IRQ_ISSUE: 11,
  LIBRARY_NOT_FOUND: 12,
  FUNCTION_NOT_FOUND: 13,
  CORRUPTED_INFOROM: 14,
  GPU_IS_LOST: 15,
  RESET_REQUIRED: 16,
  OPERATING_SYSTEM: 17,
  LIB_RM_VERSION_MISMATCH: 18,
  IN_USE: 19,
  MEMORY: 20,
  NO_DATA: 21,
  UNKNOWN: 999,
} as const;

const COMPUTE_MODE = { default: 0, exclusive: 3, prohibited: 2 } as const;
const NO_INSTANCE = 0xffffffff;
const SONAME = 'libnvidia-ml.so.1';

/** fake_nvml.c, found from here whether this runs from harness/ or dist/harness/. */
function sourceFile(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'harness', 'fake_nvml.c');
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('harness/fake_nvml.c not found above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

let cacheDir: string | undefined;
const built = new Map<string, string>();

/** The compiled variant, built on first use. */
function compiled(opts: FakeNvmlOptions): string {
  const omit = [...(opts.omit ?? [])].sort();
  for (const fn of omit) if (!/^nvml\w+$/.test(fn)) throw new Error(`not an NVML function name: ${fn}`);
  const key = [...omit, `v3=${opts.v3EntrySize ?? 24}`].join(',');
  const cached = built.get(key);
  if (cached) return cached;
  if (!cacheDir) {
    const dir = mkdtempSync(join(tmpdir(), 'kepler-fake-nvml-build-'));
    cacheDir = dir;
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  const out = join(cacheDir, String(built.size), SONAME);
  const defines = omit.map((fn) => `-DOMIT_${fn}`);
  if (opts.v3EntrySize === 32) defines.push('-DFAKE_V3_STRIDE=32');
  mkdirSync(dirname(out), { recursive: true });
  execFileSync('gcc', ['-shared', '-fPIC', '-O2', '-Wall', '-Werror', ...defines, '-o', out, `-Wl,-soname,${SONAME}`, sourceFile()], { stdio: ['ignore', 'pipe', 'pipe'] });
  built.set(key, out);
  return out;
}

/** The state file's text (the format is described at the top of fake_nvml.c). */
export function stateText(state: FakeNvmlState): string {
  const lines: string[] = [];
  if (state.initError !== undefined) lines.push(`init_error ${state.initError}`);
  if (state.driverGeneration !== undefined) lines.push(`driver_generation ${state.driverGeneration}`);
  state.gpus.forEach((g, i) => {
    for (const field of [g.uuid, g.name]) if (/[\n#]/.test(field) || field === '') throw new Error(`bad fake GPU field ${JSON.stringify(field)}`);
    if (/\s/.test(g.uuid)) throw new Error(`a fake GPU's uuid has no spaces: ${g.uuid}`);
    const mode = COMPUTE_MODE[g.computeMode ?? 'default'];
    lines.push(`gpu ${i} ${g.uuid} ${int(g.energyMj)} ${int(g.powerMw)} ${int(g.advanceFromMs ?? 0)} ${mode} ${g.mig ? 1 : 0} ${g.energySupported === false ? 0 : 1} ${g.name}`);
  });
  for (const p of state.processes ?? []) {
    lines.push(
      `proc ${p.gpu} ${p.pid} ${p.gpuInstanceId ?? NO_INSTANCE} ${p.running === false ? 0 : 1} ${p.smUtil === undefined ? -1 : int(p.smUtil)} ${int(p.sampleTimeUs ?? 0)}`,
    );
  }
  for (const f of state.failures ?? []) lines.push(`fail ${f.fn} ${f.gpu ?? -1} ${f.code}`);
  return lines.join('\n') + '\n';
}

function int(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`the fake NVML takes whole numbers >= 0, got ${n}`);
  return String(n);
}

/** A fresh fake library in a folder of its own, with an empty state (no GPU) until write(). */
export function buildFakeNvml(opts: FakeNvmlOptions = {}): FakeNvml {
  const lib = compiled(opts);
  const dir = mkdtempSync(join(tmpdir(), 'kepler-fake-nvml-'));
  const libPath = join(dir, SONAME);
  copyFileSync(lib, libPath);
  const statePath = join(dir, 'state');
  let seq = 0;
  const write = (state: FakeNvmlState): void => {
    // Replaced, never rewritten in place: the library never reads half a file. Every version
    // keeps a name of its own (state.1, state.2, ...) so that its inode is never freed and
    // reused: the library tells versions apart by inode, as mtimes can be equal within a few ms.
    const version = `${statePath}.${++seq}`;
    writeFileSync(version, stateText(state));
    const tmp = `${statePath}.tmp`;
    rmSync(tmp, { force: true });
    linkSync(version, tmp);
    renameSync(tmp, statePath);
  };
  write({ gpus: [] });
  return {
    dir,
    libPath,
    statePath,
    write,
    env: { LD_LIBRARY_PATH: dir, FAKE_NVML_STATE: statePath },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
