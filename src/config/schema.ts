// The YAML file's schema (shared/spec/config.md), in zod. Every value schema carries its own
// "expected ..." message, so that users never see zod's wording. Every key is optional and may be
// null (an empty section such as `rapl:`): missing keys keep their defaults.

import { isIPv6 } from 'node:net';
import { z } from 'zod';
import { METRICS_LEVELS } from './config.js';
import { formatDuration, parseDuration } from './duration.js';
import { findModel, knownModels } from '../estimation/modelRegistry.js';

const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
const METERS = ['rapl', 'hwmon', 'fake', 'estimator'] as const;
const LEVELS = METRICS_LEVELS as readonly ['node', 'process', 'container', 'vm', 'pod'];

const oneOf = (values: readonly [string, ...string[]]) => z.enum(values, `expected one of ${values.join(', ')}`);
const bool = z.boolean('expected true or false');
const str = z.string('expected a string');
const strings = z.array(str, 'expected a list of strings');
const number = (expected: string, ok: (n: number) => boolean) => z.number(expected).refine(ok, expected);

/** No machine part draws 100 kW; a bigger figure is a typo that would make every later number absurd. */
export const MAX_WATTS = 100_000;
const wattsUpTo = (expected: string) => number(expected, (n) => n >= 0 && n <= MAX_WATTS);
const watts = wattsUpTo(`expected a number of watts >= 0 and at most ${MAX_WATTS} (0 = from the model)`);
const MODEL_NAMES = knownModels().map((m) => m.name).join(', ');

const DURATION = 'expected a duration like 5s, 500ms or 1m30s';
const HOUR_MS = 3_600_000;

/** The range a duration key accepts: 0 (when it means "off") or minMs..maxMs. */
export interface DurationRange {
  zero: boolean;
  minMs: number;
  /** At most a day: Node's timers cannot wait past 2^31-1 ms (24.8 days) and fire at once instead. */
  maxMs: number;
}

/** Pure: why `ms` is outside `range`, as the end of an "expected ..." message; undefined when inside. */
export function durationProblem(ms: number, range: DurationRange): string | undefined {
  if (Number.isNaN(ms)) return DURATION;
  const allowed = `${range.zero ? '0, or ' : ''}${formatDuration(range.minMs)} to ${formatDuration(range.maxMs)}`;
  if (ms < 0) return `${DURATION} (not negative: ${allowed})`;
  if (ms === 0) return range.zero ? undefined : `${DURATION} (greater than 0: ${allowed})`;
  return ms >= range.minMs && ms <= range.maxMs ? undefined : `${DURATION} (${allowed})`;
}

/** A Go duration string, or a YAML number of seconds, within `range`; the output is milliseconds. */
const duration = (range: DurationRange) =>
  z.unknown().transform((v, ctx) => {
    let ms = NaN;
    if (typeof v === 'number') ms = v * 1000;
    else if (typeof v === 'string') {
      try {
        ms = parseDuration(v);
      } catch {
        // reported below
      }
    }
    const problem = durationProblem(ms, range);
    if (problem === undefined) return ms;
    ctx.issues.push({ code: 'custom', message: problem, input: v });
    return z.NEVER;
  });

const ADDRESS = 'expected [host]:port with port 0-65535, e.g. ":28282", "127.0.0.1:28282" or "[::1]:28282"';
/** Go's listen address syntax: host optional, IPv6 hosts in brackets. Port 0 = any free port. */
export function isListenAddress(s: string): boolean {
  const m = /^(?:\[([^\]]+)\]|([A-Za-z0-9_.-]*)):(\d{1,5})$/.exec(s);
  return m !== null && (m[1] === undefined || isIPv6(m[1])) && Number(m[3]) <= 65535;
}

/** A mapping whose keys are all optional and nullable; keys not listed are reported as unknown. */
const section = (shape: Record<string, z.ZodType>) =>
  z.strictObject(
    Object.fromEntries(Object.entries(shape).map(([k, s]) => [k, s.nullish()])),
    'expected a mapping of keys to values',
  );

export const fileSchema = section({
  log: section({ level: oneOf(LOG_LEVELS), format: oneOf(['text', 'json']) }),
  host: section({ sysfs: str, procfs: str }),
  monitor: section({
    // 0 refreshes only when scraped; below 100 ms the refresh loop would keep a core busy.
    interval: duration({ zero: true, minMs: 100, maxMs: 24 * HOUR_MS }),
    staleness: duration({ zero: true, minMs: 0, maxMs: 24 * HOUR_MS }),
    maxTerminated: number('expected an integer >= -1 (0 off, -1 unlimited)', (n) => Number.isInteger(n) && n >= -1),
    minTerminatedEnergyThreshold: number('expected a number of joules >= 0', (n) => n >= 0),
    terminatedRetention: duration({ zero: true, minMs: 0, maxMs: 24 * HOUR_MS }),
    maxZoneWatts: number(`expected a number of watts > 0 and at most ${MAX_WATTS}`, (n) => n > 0 && n <= MAX_WATTS),
  }),
  cpu: section({
    preferredMeters: z
      .array(oneOf(METERS), `expected a list of ${METERS.join(', ')}`)
      .min(1, `expected at least one of ${METERS.join(', ')}`),
  }),
  rapl: section({ zones: strings }),
  exporter: section({
    stdout: section({ enabled: bool }),
    prometheus: section({
      enabled: bool,
      debugCollectors: strings,
      metricsLevel: z.array(oneOf(LEVELS), `expected a list of ${LEVELS.join(', ')}`),
      legacyMetrics: bool,
    }),
  }),
  debug: section({ pprof: section({ enabled: bool }) }),
  web: section({
    configFile: str,
    listenAddresses: z
      .array(z.string(ADDRESS).refine(isListenAddress, ADDRESS), 'expected a list of addresses like ":28282"')
      .min(1, 'expected at least one address like ":28282"'),
  }),
  kube: section({
    enabled: bool,
    config: str,
    nodeName: str,
    podInformer: section({ mode: oneOf(['kubelet', 'apiserver']), pollInterval: duration({ zero: false, minMs: 1000, maxMs: 24 * HOUR_MS }) }),
    kubeletCAFile: str,
  }),
  experimental: section({
    platform: section({
      redfish: section({ enabled: bool, nodeName: str, configFile: str, httpTimeout: duration({ zero: false, minMs: 100, maxMs: 10 * 60_000 }) }),
    }),
    hwmon: section({ forceEnabled: bool, zones: strings }),
    gpu: section({ enabled: bool, idlePower: wattsUpTo(`expected a number of watts >= 0 and at most ${MAX_WATTS}`) }),
  }),
  estimator: section({
    model: z.string('expected a model name').refine((s) => s === '' || findModel(s) !== undefined, `expected one of ${MODEL_NAMES}`),
    tdpWatts: watts,
    idleWatts: watts,
    maxWatts: watts,
    points: z.array(
      z.strictObject(
        { load: number('expected a load between 0 and 1', (n) => n >= 0 && n <= 1), watts },
        'expected a point like {load: 0.5, watts: 180}',
      ),
      'expected a list of points like [{load: 0, watts: 90}, {load: 1, watts: 300}]',
    ),
    virtualMachine: z
      .union([z.boolean(), z.enum(['auto', 'true', 'false'])], 'expected auto, true or false')
      .transform((v) => String(v) as 'auto' | 'true' | 'false'),
    hostCpus: number('expected a whole number of CPUs >= 0 (0 = guess)', (n) => Number.isInteger(n) && n >= 0),
  }),
  dev: section({
    'fake-cpu-meter': section({
      enabled: bool,
      zones: strings,
      watts: z.record(z.string(), wattsUpTo(`expected a number of watts >= 0 and at most ${MAX_WATTS}`), 'expected a mapping of zone name to watts'),
    }),
  }),
});

/** YAML keys whose Config field has another name (durations become milliseconds). */
const RENAMED: Record<string, string> = {
  'monitor.interval': 'intervalMs',
  'monitor.staleness': 'stalenessMs',
  'monitor.terminatedRetention': 'terminatedRetentionMs',
  'kube.podInformer.pollInterval': 'pollIntervalMs',
  'experimental.platform.redfish.httpTimeout': 'httpTimeoutMs',
  'dev.fake-cpu-meter': 'fakeCpuMeter',
};

/** Maps a dotted YAML key to the dotted path of its Config field: "monitor.interval" -> "monitor.intervalMs". */
export function configPath(yamlKey: string): string {
  const parts = yamlKey.split('.');
  return parts.map((p, i) => RENAMED[parts.slice(0, i + 1).join('.')] ?? p).join('.');
}

/** One invalid value: `path` as users write it ("web.listenAddresses[1]"), `key` without indices. */
export interface Problem {
  path: string;
  key: string;
  value: unknown;
  expected: string;
}

export interface Checked {
  /** The valid values, YAML-shaped (durations in ms); only meaningful when `problems` is empty. */
  data: Record<string, unknown>;
  /** Full dotted paths of keys the schema does not know ("monitor.intervall"). */
  unknownKeys: string[];
  problems: Problem[];
}

/** Validates a parsed YAML document (or flag values in the same shape). Does not modify `input`. */
export function checkValues(input: unknown): Checked {
  const unknownKeys: string[] = [];
  const problems: Problem[] = [];
  const stripped = structuredClone(input);
  const first = fileSchema.safeParse(stripped, { error: () => 'expected a valid value' });
  if (first.success) return { data: first.data, unknownKeys, problems };
  for (const issue of first.error.issues) {
    if (issue.code === 'unrecognized_keys') {
      const parent = valueAt(stripped, issue.path) as Record<string, unknown>;
      for (const k of issue.keys) {
        unknownKeys.push([...issue.path, k].join('.'));
        delete parent[k];
      }
    } else {
      problems.push({
        path: formatPath(issue.path),
        key: issue.path.filter((p) => typeof p === 'string').join('.'),
        value: valueAt(input, issue.path),
        expected: issue.message,
      });
    }
  }
  // Only unknown keys: validate again without them to get the values.
  const data = problems.length === 0 ? fileSchema.parse(stripped) : {};
  return { data, unknownKeys, problems };
}

function valueAt(obj: unknown, path: readonly PropertyKey[]): unknown {
  return path.reduce<unknown>((o, k) => (o as Record<PropertyKey, unknown> | undefined)?.[k], obj);
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('');
}
