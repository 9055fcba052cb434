// The configuration, declared once. Every key of Kepler's YAML (shared/spec/config.md) is one
// `key(schema, default, {yaml, flag})` in `configSchema` below: its value schema, its default, its
// YAML name where the Config field is named otherwise (durations become `...Ms` fields), and its
// command-line flag. From that one declaration come
//   - the Config type (config.ts) and defaultConfig() (defaults.ts),
//   - the YAML file's schema, whose unknown keys are reported by dotted path (checkValues),
//   - the flags and their --help text (flags.ts).
// Adding a key is adding one `key(...)` here.
//
// Every value schema carries its own "expected ..." message, so that users never see zod's
// wording. In the file every key is optional and may be null (an empty section such as `rapl:`):
// missing keys keep their defaults.

import { z } from 'zod';
import { chipRulesSchema, type ChipRule } from './chipRules.js';
import { formatDuration, parseDuration } from './duration.js';
import { DEFAULT_ESTIMATOR_MODEL, ESTIMATOR_MODEL_NAMES } from './estimatorModels.js';
import { checkListenAddress } from './listenAddress.js';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export const LOG_FORMATS = ['text', 'json'] as const;
export const METERS = ['rapl', 'hwmon', 'fake', 'passthrough', 'estimator'] as const;
export const METRICS_LEVELS = ['node', 'process', 'container', 'vm', 'pod'] as const;
/** Kepler's `go` and `process`; `nodejs` is ours. All three give the same Node.js runtime metrics here. */
export const DEBUG_COLLECTORS = ['go', 'process', 'nodejs'] as const;
const POD_INFORMER_MODES = ['kubelet', 'apiserver'] as const;
/** (ours) How the node's idle power is found: a learned baseline, or Kepler's total x (1 - usage). */
export const IDLE_MODELS = ['baseline', 'usage-ratio'] as const;
/** (ours) Who pays for the idle power: nobody (node level only), by CPU time, by CPU request, or evenly. */
export const IDLE_ATTRIBUTIONS = ['none', 'cpu', 'request', 'even'] as const;

// ---------- value schemas ----------

const oneOf = <const T extends readonly [string, ...string[]]>(values: T) => z.enum(values, `expected one of ${values.join(', ')}`);
const bool = z.boolean('expected true or false');
const str = z.string('expected a string');
const strings = z.array(str, 'expected a list of strings');
const number = (expected: string, ok: (n: number) => boolean) => z.number(expected).refine(ok, expected);

/** No machine part draws 100 kW; a bigger figure is a typo that would make every later number absurd. */
export const MAX_WATTS = 100_000;
const wattsUpTo = (expected: string) => number(expected, (n) => n >= 0 && n <= MAX_WATTS);
const watts = wattsUpTo(`expected a number of watts >= 0 and at most ${MAX_WATTS} (0 = from the model)`);
const anyWatts = wattsUpTo(`expected a number of watts >= 0 and at most ${MAX_WATTS}`);
const MODEL_NAMES: readonly string[] = ESTIMATOR_MODEL_NAMES;
/** Watts per zone name, e.g. {package: 35, dram: 4}. The names are checked against the meter's zones at start. */
const zoneWatts = (expected: string) =>
  z.record(z.string(), anyWatts, expected).superRefine((m, ctx) => {
    if (Object.keys(m).some((k) => k.trim() === '')) ctx.addIssue({ code: 'custom', message: `${expected} (a zone name is empty)` });
  });

const DURATION = 'expected a duration like 5s, 500ms or 1m30s';
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

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

/** The schemas made by duration(): their flags take a Go duration and --help prints the default as one. */
const DURATIONS = new WeakSet<z.ZodType>();

/** A Go duration string, or a YAML number of seconds, within `range`; the output is milliseconds. */
const duration = (range: DurationRange) => {
  const schema = z.unknown().transform((v, ctx) => {
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
  DURATIONS.add(schema);
  return schema;
};

const ADDRESS = 'expected [host]:port with port 0-65535, e.g. ":28282", "127.0.0.1:28282" or "[::1]:28282"';
/** Go's listen address syntax (config/listenAddress.ts, the check the web server binds with). */
export function isListenAddress(s: string): boolean {
  return 'address' in checkListenAddress(s);
}

type MetricsLevelName = (typeof METRICS_LEVELS)[number];
const LEVELS = `expected a level or a list of levels: ${METRICS_LEVELS.join(', ')} (an empty list: all of them)`;
/**
 * Kepler's metricsLevel (config/level.go): one level name or a list of them, each trimmed and
 * lower-cased; an empty list means every level. Repeats count once.
 */
const metricsLevels = z.unknown().transform((v, ctx): MetricsLevelName[] => {
  const items = typeof v === 'string' ? [v] : Array.isArray(v) ? (v as unknown[]) : undefined;
  if (items === undefined) {
    ctx.issues.push({ code: 'custom', message: LEVELS, input: v });
    return z.NEVER;
  }
  if (items.length === 0) return [...METRICS_LEVELS];
  const out: MetricsLevelName[] = [];
  items.forEach((item, i) => {
    const name = typeof item === 'string' ? item.trim().toLowerCase() : undefined;
    const level = METRICS_LEVELS.find((l) => l === name);
    if (level === undefined) ctx.issues.push({ code: 'custom', message: `expected one of ${METRICS_LEVELS.join(', ')}`, input: item, path: typeof v === 'string' ? [] : [i] });
    else if (!out.includes(level)) out.push(level);
  });
  return out;
});

/**
 * Names of debug collectors, trimmed as Kepler's sanitize() does. Which names are known is checked
 * in load.ts, and only with the Prometheus exporter on: Kepler refuses an unknown one when its
 * Prometheus exporter starts, so a disabled exporter's list stops nothing. Typed string[] for the exporter.
 */
const debugCollectors = z.array(z.string(`expected one of ${DEBUG_COLLECTORS.join(', ')}`).trim(), `expected a list of ${DEBUG_COLLECTORS.join(', ')} (or [] for none)`);

/** An unknown debug collector's position in `names` and the message, or undefined when all are known. */
export function unknownDebugCollector(names: readonly string[]): { index: number; expected: string } | undefined {
  const known: readonly string[] = DEBUG_COLLECTORS;
  const index = names.findIndex((n) => !known.includes(n));
  return index < 0 ? undefined : { index, expected: `expected one of ${DEBUG_COLLECTORS.join(', ')}` };
}

/** Checked in load.ts when an experimental feature is on, as Kepler checks it (dcgmEndpoint.ts). */
const dcgmEndpoint = z.string('expected a URL string').trim();

// ---------- declarations: key() and section() ----------

/** The command-line flag that sets a key. Its type and repeatability follow from the key. */
export interface FlagSpec {
  /** Without the dashes: "monitor.interval". */
  name: string;
  help: string;
  /** Shown in --help instead of the default value. */
  defaultText?: string;
}

interface KeyOptions {
  /** The key's name in the YAML file, where the Config field is named otherwise. */
  yaml?: string;
  flag?: FlagSpec;
}

const KEYS = new WeakMap<z.ZodType, KeyOptions & { schema: z.ZodType; default: unknown }>();
const SECTIONS = new WeakMap<z.ZodType, { shape: z.ZodRawShape; yaml?: string }>();

/** One configuration key: its value schema, its default (a fresh copy each time) and where it comes from. */
function key<S extends z.ZodType>(schema: S, dflt: z.output<S>, opts: KeyOptions = {}): z.ZodDefault<S> {
  const withDefault = (schema as z.ZodType).default(() => structuredClone(dflt)) as unknown as z.ZodDefault<S>;
  KEYS.set(withDefault, { ...opts, schema, default: dflt });
  return withDefault;
}

/** A mapping of keys; absent, it holds its keys' defaults. */
function section<T extends z.ZodRawShape>(shape: T, opts: { yaml?: string } = {}) {
  const schema = z.object(shape).prefault({} as never);
  SECTIONS.set(schema, { shape, ...opts });
  return schema;
}

// ---------- the configuration ----------

/**
 * Every key, by its Config field name. The order is that of --help. `Config` (config.ts) is this
 * schema's output, and defaultConfig() is what it makes of `{}`.
 */
export const configSchema = z.object({
  log: section({
    level: key(oneOf(LOG_LEVELS), 'info', { flag: { name: 'log.level', help: 'Logging level: debug, info, warn, error' } }),
    format: key(oneOf(LOG_FORMATS), 'text', { flag: { name: 'log.format', help: 'Logging format: text or json' } }),
  }),
  host: section({
    sysfs: key(str, '/sys', { flag: { name: 'host.sysfs', help: 'Host sysfs path' } }),
    procfs: key(str, '/proc', { flag: { name: 'host.procfs', help: 'Host procfs path' } }),
  }),
  monitor: section({
    /** Refresh period in ms; 0 = refresh only when scraped. Below 100 ms the refresh loop would keep a core busy. */
    intervalMs: key(duration({ zero: true, minMs: 100, maxMs: DAY_MS }), 5000, {
      yaml: 'interval',
      flag: { name: 'monitor.interval', help: 'Refresh interval (0 = refresh only when scraped)' },
    }),
    /** A scrape finding the last snapshot older than this refreshes first. */
    stalenessMs: key(duration({ zero: true, minMs: 0, maxMs: DAY_MS }), 500, {
      yaml: 'staleness',
      flag: { name: 'monitor.staleness', help: '(ours) A scrape refreshes data older than this' },
    }),
    /** 0 off, N keep N, any negative value unlimited (as in Kepler). */
    maxTerminated: key(
      number('expected an integer (0 off, N keep N, negative unlimited)', (n) => Number.isSafeInteger(n)),
      500,
      {
        flag: { name: 'monitor.max-terminated', help: 'Terminated workloads kept at once (0 off, negative unlimited)' },
      },
    ),
    /** Joules; terminated workloads below it are not kept. */
    minTerminatedEnergyThreshold: key(
      number('expected a number of joules >= 0', (n) => n >= 0),
      10,
      {
        flag: { name: 'monitor.min-terminated-energy-threshold', help: '(ours) Joules below which terminated workloads are not kept' },
      },
    ),
    /**
     * (ours) How long a terminated workload stays exported after a scrape first showed it, ms.
     * 1m: at least two scrapes at Kepler's usual 30 s, so both servers of an HA pair see a workload end.
     */
    terminatedRetentionMs: key(duration({ zero: true, minMs: 0, maxMs: DAY_MS }), 60_000, {
      yaml: 'terminatedRetention',
      flag: { name: 'monitor.terminated-retention', help: '(ours) How long terminated workloads stay exported after a scrape first showed them' },
    }),
    /** (ours) A zone interval implying more watts than this is dropped as implausible. */
    maxZoneWatts: key(
      number(`expected a number of watts >= 0 and at most ${MAX_WATTS} (0: no ceiling)`, (n) => n >= 0 && n <= MAX_WATTS),
      5000,
      {
        flag: { name: 'monitor.max-zone-watts', help: '(ours) Watts above which a zone interval is dropped as a counter glitch' },
      },
    ),
    /** (ours) The node's idle power and who pays for it. */
    idle: section({
      model: key(oneOf(IDLE_MODELS), 'baseline', {
        flag: { name: 'monitor.idle.model', help: "(ours) Idle power: baseline (learned per zone) or usage-ratio (Kepler's total x (1 - CPU usage))" },
      }),
      /** Idle watts of the whole node per zone name, in place of the learned baseline; zones not listed are learned. */
      watts: key(
        zoneWatts('expected a mapping of zone name to watts, e.g. {package: 35, dram: 4}'),
        {},
        {
          flag: { name: 'monitor.idle.watts', help: '(ours) Idle watts of a zone (node total), repeatable: --monitor.idle.watts=package=35' },
        },
      ),
      attribution: key(oneOf(IDLE_ATTRIBUTIONS), 'none', {
        flag: { name: 'monitor.idle.attribution', help: '(ours) Who pays for idle power: none, cpu (CPU time), request (CPU requests, needs kube), even' },
      }),
    }),
  }),
  cpu: section({
    preferredMeters: key(z.array(oneOf(METERS), `expected a list of ${METERS.join(', ')}`).min(1, `expected at least one of ${METERS.join(', ')}`), ['rapl', 'hwmon'], {
      flag: { name: 'cpu.preferred-meters', help: '(ours) CPU meters to try, in order: rapl, hwmon, fake, passthrough, estimator' },
    }),
  }),
  rapl: section({
    zones: key(strings, [], { flag: { name: 'rapl.zones', help: '(ours) RAPL zones to keep (none = all)' } }),
  }),
  /** (ours) In a guest: the powercap tree the hypervisor's kepler-ts writes for this VM (Scaphandre's layout). */
  passthrough: section({
    dir: key(str, '/var/scaphandre', { flag: { name: 'passthrough.dir', help: "(ours) In a VM: the folder where the host's energy for this VM is mounted" } }),
  }),
  /** (ours) On a hypervisor: each VM's energy written as a powercap tree its guest can read. */
  vm: section({
    passthrough: section({
      enabled: key(bool, false, { flag: { name: 'vm.passthrough.enabled', help: "(ours) Write each VM's energy as a powercap tree for its guest" } }),
      dir: key(str, '/var/lib/libvirt/scaphandre', { flag: { name: 'vm.passthrough.dir', help: "(ours) Where the VMs' powercap trees are written, one folder per VM name" } }),
      keepMs: key(duration({ zero: true, minMs: 0, maxMs: DAY_MS }), 10 * 60_000, {
        yaml: 'keep',
        flag: { name: 'vm.passthrough.keep', help: "(ours) How long an ended VM's folder stays" },
      }),
    }),
  }),
  debug: section({
    pprof: section({
      enabled: key(bool, false, { flag: { name: 'debug.pprof', help: 'Enable the /debug/pprof/ endpoints' } }),
    }),
  }),
  web: section({
    configFile: key(str, '', { flag: { name: 'web.config-file', help: 'Path to an exporter-toolkit web config file (TLS, basic auth)' } }),
    listenAddresses: key(
      z.array(z.string(ADDRESS).refine(isListenAddress, ADDRESS), 'expected a list of addresses like ":28282"').min(1, 'expected at least one address like ":28282"'),
      [':28282'],
      { flag: { name: 'web.listen-address', help: 'Address to listen on, [host]:port' } },
    ),
  }),
  exporter: section({
    stdout: section({
      enabled: key(bool, false, { flag: { name: 'exporter.stdout', help: 'Enable the stdout exporter' } }),
    }),
    prometheus: section({
      enabled: key(bool, true, { flag: { name: 'exporter.prometheus', help: 'Enable the Prometheus exporter' } }),
      /** Kepler's `go` and `process` (and our `nodejs`) all give the Node.js runtime metrics (runtimeCollector.ts). */
      debugCollectors: key(debugCollectors, ['go']),
      /** (ours) Also export the legacy metric family of Kepler 0.7-0.9 (metrics.md). */
      legacyMetrics: key(bool, false, { flag: { name: 'exporter.prometheus.legacy-metrics', help: '(ours) Also export Kepler 0.7-0.9 metric names' } }),
      metricsLevel: key(metricsLevels, [...METRICS_LEVELS], {
        flag: { name: 'metrics', help: 'Metrics level to export, repeatable (the first replaces the default): node, process, container, vm, pod' },
      }),
    }),
  }),
  kube: section({
    enabled: key(bool, false, { flag: { name: 'kube.enable', help: 'Monitor Kubernetes' } }),
    config: key(str, '', { flag: { name: 'kube.config', help: 'Path to a kubeconfig (none = in-cluster)' } }),
    nodeName: key(str, '', { flag: { name: 'kube.node-name', help: 'Name of the Kubernetes node this runs on', defaultText: '$NODE_NAME' } }),
    podInformer: section({
      mode: key(oneOf(POD_INFORMER_MODES), 'kubelet'),
      pollIntervalMs: key(duration({ zero: false, minMs: 1000, maxMs: DAY_MS }), 15_000, { yaml: 'pollInterval' }),
    }),
    /** (ours) CA bundle that verifies the kubelet's serving certificate; empty = not verified, as in Kepler. */
    kubeletCAFile: key(str, '', {
      flag: { name: 'kube.kubelet-ca-file', help: '(ours) CA file that verifies the kubelet certificate (default: not verified, as in Kepler)' },
    }),
  }),
  /** (ours) The power estimator used where no meter works (shared/spec/estimation.md). */
  estimator: section({
    /** Model name (`kepler-ts model evaluate` lists them); '' = the built-in default. */
    model: key(
      z.string('expected a model name').refine((s) => s === '' || MODEL_NAMES.includes(s), `expected one of ${MODEL_NAMES.join(', ')}`),
      '',
      {
        flag: { name: 'estimator.model', help: '(ours) Power model used without a meter (see `kepler-ts model evaluate`)', defaultText: DEFAULT_ESTIMATOR_MODEL },
      },
    ),
    /** TDP of one CPU package in watts; 0 = from the CPU catalog, else from the core count. */
    tdpWatts: key(watts, 0, { flag: { name: 'estimator.tdp-watts', help: '(ours) TDP of one CPU package in watts (0 = from the CPU model)' } }),
    /** This machine's watts at idle / at full load (a VM: its share); 0 = from the model. */
    idleWatts: key(watts, 0, { flag: { name: 'estimator.idle-watts', help: "(ours) This machine's watts at idle (0 = from the model)" } }),
    maxWatts: key(watts, 0, { flag: { name: 'estimator.max-watts', help: "(ours) This machine's watts at full load (0 = from the model)" } }),
    /** Measured (load 0-1, watts) points of this machine; they override idle/max watts. */
    points: key(
      z.array(
        z.strictObject({ load: number('expected a load between 0 and 1', (n) => n >= 0 && n <= 1), watts }, 'expected a point like {load: 0.5, watts: 180}'),
        'expected a list of points like [{load: 0, watts: 90}, {load: 1, watts: 300}]',
      ),
      [],
    ),
    /** auto = detect (hypervisor CPU flag, DMI); true/false force it. */
    virtualMachine: key(
      z.union([z.boolean(), z.enum(['auto', 'true', 'false'])], 'expected auto, true or false').transform((v) => String(v) as 'auto' | 'true' | 'false'),
      'auto',
      { flag: { name: 'estimator.virtual-machine', help: '(ours) Estimate as a VM: auto, true or false' } },
    ),
    /** Logical CPUs of a VM's host; 0 = two packages of this CPU model. */
    hostCpus: key(
      number('expected a whole number of CPUs >= 0 (0 = guess)', (n) => Number.isInteger(n) && n >= 0),
      0,
      {
        flag: { name: 'estimator.host-cpus', help: "(ours) Logical CPUs of a VM's host (0 = guess from the CPU model)" },
      },
    ),
  }),
  experimental: section({
    platform: section({
      redfish: section({
        enabled: key(bool, false, { flag: { name: 'experimental.platform.redfish.enabled', help: 'Enable Redfish platform power monitoring' } }),
        nodeName: key(str, '', { flag: { name: 'experimental.platform.redfish.node-name', help: 'Node name for Redfish' } }),
        configFile: key(str, '', { flag: { name: 'experimental.platform.redfish.config-file', help: 'Path to the Redfish BMC configuration file' } }),
        httpTimeoutMs: key(duration({ zero: false, minMs: 100, maxMs: 10 * 60_000 }), 5000, { yaml: 'httpTimeout' }),
        /**
         * (ours) How often the BMC is read, in the background and never inside a refresh or a scrape:
         * BMCs answer in seconds and rate-limit. Not tied to httpTimeout: a read that outlasts the
         * interval delays the next one rather than overlapping it, so Kepler's files stay valid.
         */
        pollIntervalMs: key(duration({ zero: false, minMs: 1000, maxMs: 10 * 60_000 }), 10_000, {
          yaml: 'pollInterval',
          flag: { name: 'experimental.platform.redfish.poll-interval', help: '(ours) How often the BMC is read for platform power, in the background' },
        }),
      }),
    }),
    hwmon: section({
      /** Deprecated selector: true stands for cpu.preferredMeters [hwmon] (legacyMeterSelectors.ts). */
      forceEnabled: key(bool, false, {
        flag: { name: 'experimental.hwmon.force-enabled', help: 'Deprecated: use hwmon only, as cpu.preferredMeters [hwmon] (the estimator stays the fallback)' },
      }),
      /** Kepler 0.11's name of forceEnabled. */
      enabled: key(bool, false, { flag: { name: 'experimental.hwmon.enabled', help: 'Deprecated: Kepler 0.11 name of experimental.hwmon.force-enabled' } }),
      /** Zone names to keep; a GPU chip's zones (amdgpu, ...) are used only when named here. */
      zones: key(strings, [], { flag: { name: 'experimental.hwmon.zones', help: "hwmon zones to keep (none = all; a GPU chip's zones only when named here)" } }),
      /** How to pair voltage and current sensors of chips without power sensors (chipRules.ts). */
      chipRules: key(chipRulesSchema, [] as ChipRule[]),
    }),
    gpu: section({
      enabled: key(bool, false, { flag: { name: 'experimental.gpu.enabled', help: 'Enable GPU power monitoring' } }),
      idlePower: key(anyWatts, 0, { flag: { name: 'experimental.gpu.idle-power', help: 'GPU idle power in watts (0 = auto-detect)' } }),
      /** Kepler's dcgm-exporter URL: MIG instances' engine activity, which weighs their share of a GPU's energy. */
      dcgmEndpoint: key(dcgmEndpoint, '', {
        flag: { name: 'experimental.gpu.dcgm-endpoint', help: 'dcgm-exporter metrics URL, for MIG power attribution' },
      }),
    }),
  }),
  dev: section({
    fakeCpuMeter: section(
      {
        enabled: key(bool, false),
        zones: key(strings, []),
        /** (ours) Watts per zone name; zones not listed use a built-in default. */
        watts: key(z.record(z.string(), anyWatts, 'expected a mapping of zone name to watts'), {}),
      },
      { yaml: 'fake-cpu-meter' },
    ),
  }),
});

// ---------- what follows from the declarations ----------

/**
 * How a flag's text becomes a value: `bool` also takes --x and --no-x; `duration` is a Go duration;
 * `mapping` is a repeatable NAME=NUMBER (a key whose value is a mapping of names to numbers).
 */
export type ValueFlagType = 'string' | 'bool' | 'number' | 'duration' | 'mapping';

/** One declared key, as the file and the flags see it. */
export interface KeyDeclaration {
  /** Dotted YAML key: "monitor.interval". */
  yamlKey: string;
  /** Dotted path of its Config field: "monitor.intervalMs". */
  configPath: string;
  /** The value schema, without its default. */
  schema: z.ZodType;
  /** The default, in Config units (durations in ms). */
  default: unknown;
  /** A Go duration (or YAML seconds) in the file, milliseconds in the Config. */
  duration: boolean;
  flag?: FlagSpec & { type: ValueFlagType; repeatable: boolean };
}

const declarations: KeyDeclaration[] = [];
/** YAML keys whose Config field has another name: "monitor.interval" -> "intervalMs". */
const renamed = new Map<string, string>();

/** The file's schema for one section: strict (unknown keys are reported), every key nullish. */
function fileSection(shape: z.ZodRawShape, yamlPrefix: string[], configPrefix: string[]): z.ZodType {
  const fileShape: Record<string, z.ZodType> = {};
  for (const [field, node] of Object.entries(shape)) {
    const sec = SECTIONS.get(node as z.ZodType);
    const k = KEYS.get(node as z.ZodType);
    const yamlName = sec?.yaml ?? k?.yaml ?? field;
    const yamlPath = [...yamlPrefix, yamlName];
    const configPath = [...configPrefix, field];
    if (yamlName !== field) renamed.set(yamlPath.join('.'), field);
    if (sec) {
      fileShape[yamlName] = fileSection(sec.shape, yamlPath, configPath).nullish();
    } else if (k) {
      fileShape[yamlName] = k.schema.nullish();
      const duration = DURATIONS.has(k.schema);
      const type = flagType(duration, k.default);
      const flag = k.flag && { ...k.flag, type, repeatable: Array.isArray(k.default) || type === 'mapping' };
      declarations.push({ yamlKey: yamlPath.join('.'), configPath: configPath.join('.'), schema: k.schema, default: k.default, duration, ...(flag ? { flag } : {}) });
    } else {
      throw new Error(`config schema: ${configPath.join('.')} is neither a key() nor a section()`);
    }
  }
  return z.strictObject(fileShape, 'expected a mapping of keys to values');
}

function flagType(duration: boolean, dflt: unknown): ValueFlagType {
  if (duration) return 'duration';
  if (typeof dflt === 'boolean') return 'bool';
  if (typeof dflt === 'number') return 'number';
  if (typeof dflt === 'object' && dflt !== null && !Array.isArray(dflt)) return 'mapping';
  return 'string';
}

/** The YAML file's schema, derived from configSchema: YAML names, no defaults, unknown keys refused. */
export const fileSchema = fileSection(configSchema.shape, [], []);

/** Every key in declaration order, with its flag where it has one. */
export const KEY_DECLARATIONS: readonly KeyDeclaration[] = declarations;

/** Maps a dotted YAML key to the dotted path of its Config field: "monitor.interval" -> "monitor.intervalMs". */
export function configPath(yamlKey: string): string {
  const parts = yamlKey.split('.');
  return parts.map((p, i) => renamed.get(parts.slice(0, i + 1).join('.')) ?? p).join('.');
}

// ---------- validation ----------

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
  if (first.success) return { data: first.data as Record<string, unknown>, unknownKeys, problems };
  for (const issue of first.error.issues) {
    if (issue.code === 'unrecognized_keys') {
      const parent = valueAt(stripped, issue.path) as Record<string, unknown>;
      for (const k of issue.keys) {
        unknownKeys.push(formatPath([...issue.path, k]));
        // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- a key of a parsed YAML document (a plain object zod reads again), not a dictionary entry
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
  const data = problems.length === 0 ? (fileSchema.parse(stripped) as Record<string, unknown>) : {};
  return { data, unknownKeys, problems };
}

function valueAt(obj: unknown, path: readonly PropertyKey[]): unknown {
  return path.reduce<unknown>((o, k) => (o as Record<PropertyKey, unknown> | undefined)?.[k], obj);
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('');
}
