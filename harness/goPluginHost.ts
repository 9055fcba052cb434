// Harness: aether's side of a source plugin, played by the real hashicorp/go-plugin client, for
// the tests and the benchmark. harness/aether-host/main.go ("aether-host") is built with the
// Debian Go toolchain and packages (GOPATH mode, no network) and reports what it sees as JSON
// lines; this module builds it, runs it against a plugin executable and parses its output.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { InstanceRequest, Metric as WireMetric, ResourceEmissions } from '../src/aether/instances.js';

/** What `apt-get install` needs for the host to build (go-plugin's package omits grpc). */
export const GO_HOST_PACKAGES = 'golang-go golang-github-hashicorp-go-plugin-dev golang-google-grpc-dev golang-golang-x-net-dev';

const GOPATH = '/usr/share/gocode';

/** harness/aether-host in the source tree, found from here whether run from harness/ or dist/harness/. */
function hostSourceDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'harness', 'aether-host');
    if (existsSync(join(candidate, 'main.go')) && existsSync(join(dir, 'package.json'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('harness/aether-host/main.go not found above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

/** The environment `go` runs in: GOPATH mode over the Debian packages, a cache any user can write. */
function goEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, GOPATH, GO111MODULE: 'off', GOCACHE: join(tmpdir(), `kepler-ts-gocache-${process.getuid?.() ?? 'user'}`) };
  delete env.GOFLAGS;
  return env;
}

/** Whether a `go` command is on PATH (tests skip only when it is not). */
export function goAvailable(): boolean {
  const r = spawnSync('go', ['version'], { env: goEnv(), encoding: 'utf8' });
  return r.status === 0;
}

let built: Promise<string> | undefined;

/** Builds aether-host once per test process and returns the binary's path. */
export function buildGoHost(): Promise<string> {
  built ??= new Promise<string>((resolve, reject) => {
    const dir = mkdtempSync(join(tmpdir(), 'aether-host-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    const out = join(dir, 'aether-host');
    const child = spawn('go', ['build', '-o', out, '.'], { cwd: hostSourceDir(), env: goEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', (err: NodeJS.ErrnoException) => {
      const why = err.code === 'ENOENT' ? '`go` is not installed' : `cannot run go: ${err.message}`;
      reject(new Error(`building the go-plugin test host: ${why}; install the Debian packages ${GO_HOST_PACKAGES}`));
    });
    child.on('close', (code) => {
      if (code === 0) resolve(out);
      else reject(new Error(`building the go-plugin test host failed (go build exit ${code}); it needs the Debian packages ${GO_HOST_PACKAGES} under ${GOPATH}:\n${output}`));
    });
  });
  return built;
}

// The host prints aether's messages as the plugin sends them (src/aether/instances.ts), with
// proto field names, except that a missing sub-message shows as null.
export type { ResourceEmissions };

export type Metric = Omit<WireMetric, 'emissions'> & {
  /** null when the plugin left the field out: aether would crash on it. */
  emissions: ResourceEmissions | null;
};

export type Instance = Omit<InstanceRequest, 'EmbodiedEmissions' | 'metrics'> & {
  /** null when the plugin left the field out. */
  embodied_emissions: ResourceEmissions | null;
  /** A null value is a map entry without its Metric. */
  metrics: Record<string, Metric | null>;
};

/** A gRPC failure as the host reports it: the status message and the code's name (`Unavailable`). */
interface RpcError {
  error: string;
  code: string;
}

export type HostEvent =
  | { event: 'error'; stage: 'start' | 'dispense'; error: string }
  | { event: 'started'; protocol: string; network: 'tcp' | 'unix'; address: string; pid: number }
  | ({ event: 'ping'; ok: false } & RpcError)
  | { event: 'ping'; ok: true }
  | { event: 'health'; service: string; status: string }
  | ({ event: 'health'; service: string } & RpcError)
  | { event: 'fetch'; n: number; ms: number; instances: Instance[] }
  | ({ event: 'fetch'; n: number; ms: number } & RpcError)
  | { event: 'stop'; ok: true }
  | ({ event: 'stop'; ok: false } & RpcError)
  | { event: 'stdio'; opened: boolean; error: string; code?: string; closedBeforeKill: boolean }
  | { event: 'stdio-data'; channel: number; data: string }
  /** exitCode -1 and signal `killed` mean go-plugin had to SIGKILL the plugin after Shutdown. */
  | { event: 'kill'; ms: number; exited: boolean; exitCode?: number; signal?: string };

export type HostEventOf<E extends HostEvent['event']> = Extract<HostEvent, { event: E }>;

export interface HostRun {
  code: number | null;
  events: HostEvent[];
  stdout: string;
  stderr: string;
}

export interface HostOptions {
  /** The plugin executable, run as aether runs it: the file itself, no arguments. */
  plugin: string;
  /** aether-host flags: -fetches N, -every D, -fetch-timeout D, -start-timeout D, -stdio, -stop, -cookie V. */
  args?: string[];
  /** The host's environment, which the plugin inherits (go-plugin adds the cookie and ports). */
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

/** Runs aether-host against a plugin and returns its exit code, parsed events and raw output. */
export async function runGoHost(opts: HostOptions): Promise<HostRun> {
  const host = await buildGoHost();
  const timeoutMs = opts.timeoutMs ?? 60_000;
  return new Promise<HostRun>((resolve, reject) => {
    // stdin is /dev/null: go-plugin hands the host's stdin to the plugin.
    // A bare name would be looked up in PATH; aether always passes a path.
    const child = spawn(host, [...(opts.args ?? []), resolvePath(opts.plugin)], { env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`aether-host did not finish within ${timeoutMs} ms (plugin ${opts.plugin})\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      try {
        resolve({ code, events: parseEvents(stdout), stdout, stderr });
      } catch (err) {
        reject(err);
      }
    });
  });
}

function parseEvents(stdout: string): HostEvent[] {
  return stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      try {
        return JSON.parse(l) as HostEvent;
      } catch {
        throw new Error(`aether-host printed a line that is not JSON: ${l}`);
      }
    });
}

/** The events of one kind, in order. */
export function eventsOf<E extends HostEvent['event']>(run: HostRun, event: E): HostEventOf<E>[] {
  return run.events.filter((e): e is HostEventOf<E> => e.event === event);
}

/** One hclog JSON line of the host's stderr. */
export interface HostLogLine {
  '@level': string;
  '@message': string;
  '@timestamp': string;
  /** `aether` for the host's own lines, `aether.<plugin file name>` for re-emitted plugin lines, or the plugin's own `@module` (its key overrides the host's). */
  '@module'?: string;
  /** Added by go-plugin to a re-emitted plugin line: the plugin's @timestamp, in hclog's 3-digit format. */
  timestamp?: string;
  [key: string]: unknown;
}

/**
 * Parses the host's stderr (hclog JSON lines). go-plugin 1.0.1 re-logs a plugin stderr line that
 * is hclog JSON at its @level, with its other keys as fields; any other line (including one whose
 * @timestamp has not exactly six fractional digits) is re-logged at debug with the raw text as
 * @message. Lines that are not JSON at all are kept as `{'@level': '', '@message': line}`.
 */
export function pluginLogLines(stderr: string): HostLogLine[] {
  return stderr
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      try {
        const v = JSON.parse(l) as unknown;
        if (v !== null && typeof v === 'object' && !Array.isArray(v)) return v as HostLogLine;
      } catch {
        // not hclog output (a Go panic, say): keep the raw text
      }
      return { '@level': '', '@message': l, '@timestamp': '' };
    });
}
