// loadConfig(): built-in defaults, then the YAML file (--config.file), then command-line flags.

import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { ConfigError, type Config } from './config.js';
import { defaultConfig } from './defaults.js';
import { helpText, parseFlags } from './flags.js';
import { hideUrlCredentials } from './hideCredentials.js';
import { effectivePreferredMeters, setsHwmonSelector } from './legacyMeterSelectors.js';
import { dcgmEndpointProblem } from './dcgmEndpoint.js';
import { checkValues, configPath, unknownDebugCollector } from './schema.js';

export type LoadResult = { kind: 'run'; config: Config; warnings: string[]; configFile?: string } | { kind: 'help'; text: string } | { kind: 'version' };

/**
 * Builds the configuration from the command line (argv without node and script), the environment
 * (NODE_NAME) and the file named by --config.file. Throws ConfigError, whose message is one line.
 */
export function loadConfig(argv: string[], env: NodeJS.ProcessEnv = process.env, readFile: (path: string) => string = (path) => readFileSync(path, 'utf8')): LoadResult {
  const flags = parseFlags(argv);
  if (flags.help) return { kind: 'help', text: helpText() };
  if (flags.version) return { kind: 'version' };

  const config = defaultConfig();
  const warnings: string[] = [];
  if (flags.configFile !== undefined) merge(config, readYaml(flags.configFile, readFile, warnings));
  // experimental.hwmon.forceEnabled and Kepler 0.11's .enabled are one setting: a flag of either overrides the file's.
  if (setsHwmonSelector(flags.values)) Object.assign(config.experimental.hwmon, { forceEnabled: false, enabled: false });
  merge(config, flags.values);
  if (config.kube.nodeName === '') config.kube.nodeName = env.NODE_NAME ?? '';
  checkCrossField(config);
  const meters = effectivePreferredMeters(config);
  config.cpu.preferredMeters = meters.preferredMeters;
  warnings.push(...meters.warnings);
  return { kind: 'run', config, warnings, ...(flags.configFile !== undefined ? { configFile: flags.configFile } : {}) };
}

function readYaml(file: string, readFile: (path: string) => string, warnings: string[]): Record<string, unknown> {
  let text: string;
  try {
    text = readFile(file);
  } catch (e) {
    // Node's "ENOENT: no such file or directory, open 'x.yaml'": the path is already named.
    const reason = (e as Error).message.replace(/, \w+ '.*'$/, '');
    throw new ConfigError(`flag --config.file: cannot read ${JSON.stringify(file)}: ${reason}`, { cause: e });
  }
  const doc = parseDocument(text);
  const [error] = doc.errors;
  if (error) {
    const at = error.linePos ? ` line ${error.linePos[0].line}, column ${error.linePos[0].col}:` : '';
    const reason = error.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
    throw new ConfigError(`config: ${file}:${at} invalid YAML: ${reason}`);
  }
  for (const w of doc.warnings) warnings.push(`config: ${file}: ${w.message.split('\n')[0]}`);

  let parsed: unknown;
  try {
    parsed = doc.toJS() ?? {}; // empty or comments only: {}
  } catch (e) {
    // The yaml library refuses documents whose aliases expand without bound ("billion laughs").
    throw new ConfigError(`config: ${file}: invalid YAML: ${(e as Error).message.split('\n')[0]}`, { cause: e });
  }
  const { data, unknownKeys, problems } = checkValues(parsed);
  if (problems.length > 0) {
    const p = problems[0];
    throw new ConfigError(`config: ${file}: ${p.path ? `${p.path}: ` : ''}invalid value ${show(p.value)}: ${p.expected}`);
  }
  for (const key of unknownKeys) warnings.push(`config: ${file}: unknown key ${JSON.stringify(key)} (ignored)`);
  return data;
}

/** Copies the set values of a YAML-shaped object onto the config; lists replace, mappings merge. */
function merge(target: object, source: Record<string, unknown>, prefix = ''): void {
  const t = target as Record<string, unknown>;
  for (const [key, value] of Object.entries(source)) {
    if (value === undefined || value === null) continue;
    const yamlKey = prefix ? `${prefix}.${key}` : key;
    const name = configPath(yamlKey).split('.').pop() as string;
    if (isMapping(value) && isMapping(t[name])) merge(t[name], value, yamlKey);
    else t[name] = value;
  }
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkCrossField(c: Config): void {
  if (c.kube.enabled && c.kube.nodeName === '') {
    throw new ConfigError('config: kube.nodeName: invalid value "": required when kube.enabled is true; set kube.nodeName in the file, --kube.node-name or NODE_NAME');
  }
  if (c.monitor.idle.attribution === 'request' && !c.kube.enabled) {
    throw new ConfigError(
      'config: monitor.idle.attribution: invalid value "request": requires kube.enabled true (CPU requests come from the Kubernetes pod informer); set kube.enabled (--kube.enable) or choose none, cpu or even',
    );
  }
  const e = c.estimator;
  if (e.idleWatts > 0 && e.maxWatts > 0 && e.maxWatts <= e.idleWatts) {
    throw new ConfigError(`config: estimator.maxWatts: invalid value ${e.maxWatts}: expected more than estimator.idleWatts (${e.idleWatts})`);
  }
  if (e.points.length > 0 && (e.idleWatts > 0 || e.maxWatts > 0)) {
    throw new ConfigError('config: estimator.points: given together with estimator.idleWatts/maxWatts: expected one of them (points describe the whole curve)');
  }
  const points = [...e.points].sort((a, b) => a.load - b.load);
  for (let i = 0; i < points.length; i++) {
    if (points[i].watts <= 0) throw new ConfigError(`config: estimator.points: invalid value ${points[i].watts} W at load ${points[i].load}: expected watts > 0`);
    if (i > 0 && points[i].load === points[i - 1].load) {
      throw new ConfigError(`config: estimator.points: load ${points[i].load} appears twice: expected one watts value per load`);
    }
    if (i > 0 && points[i].watts < points[i - 1].watts) {
      throw new ConfigError(
        `config: estimator.points: ${points[i].watts} W at load ${points[i].load} is less than ${points[i - 1].watts} W at load ${points[i - 1].load}: expected watts not to fall as load rises`,
      );
    }
  }
  const prometheus = c.exporter.prometheus;
  const unknown = prometheus.enabled ? unknownDebugCollector(prometheus.debugCollectors) : undefined;
  if (unknown) {
    throw new ConfigError(`config: exporter.prometheus.debugCollectors[${unknown.index}]: invalid value ${show(prometheus.debugCollectors[unknown.index])}: ${unknown.expected}`);
  }
  // Kepler checks the endpoint only when an experimental feature is on (it drops the section
  // otherwise), so a file that sets it with every feature off starts in both.
  const x = c.experimental;
  const dcgm = x.gpu.dcgmEndpoint;
  const dcgmProblem = x.gpu.enabled || x.hwmon.enabled || x.hwmon.forceEnabled || x.platform.redfish.enabled ? dcgmEndpointProblem(dcgm) : undefined;
  if (dcgmProblem !== undefined) throw new ConfigError(`config: experimental.gpu.dcgmEndpoint: invalid value ${show(dcgm)}: ${dcgmProblem}`);
  const redfish = c.experimental.platform.redfish;
  if (redfish.enabled && redfish.configFile === '') {
    throw new ConfigError(
      'config: experimental.platform.redfish.configFile: invalid value "": required when experimental.platform.redfish.enabled is true; set it in the file or with --experimental.platform.redfish.config-file',
    );
  }
}

/** A value for an error message: JSON, shortened so that the message stays one readable line. */
function show(v: unknown): string {
  // JSON has no Infinity or NaN (YAML's .inf and .nan): written as numbers, not as null.
  const s = hideUrlCredentials(typeof v === 'number' ? String(v) : (JSON.stringify(v) ?? String(v)));
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
