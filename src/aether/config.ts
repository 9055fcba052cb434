// The plugin's settings come from the environment, as the Go plugin's do: aether starts every
// plugin with its own environment, so these are set on aether's container. The first four are
// the Go plugin's; the rest are ours. Everything is checked before the go-plugin handshake, and
// every problem is reported at once, each naming the variable and what was expected.

import { readFileSync } from 'node:fs';
import { ConfigError } from '../config/config.js';
import { formatDuration, parseDuration } from '../config/duration.js';
import { HCLOG_LEVELS, type HclogLevel } from '../goplugin/hclogLogger.js';
import { isHeaderSafe } from './prometheusClient.js';

/** The providers aether knows; the Go plugin refuses anything else as "provider not found". */
export const AETHER_PROVIDERS = ['aws', 'azure', 'gcp', 'prometheus', 'custom'] as const;

/**
 * Which Kepler metric names to read. `current`: kepler-ts and Kepler 0.10+
 * (`kepler_container_cpu_joules_total{zone}`); `0.7`: Kepler 0.7 to 0.9
 * (`kepler_container_{core,dram}_joules_total{mode}`); `auto`: both, each container read from
 * the current family where it has one.
 */
export type MetricsFamilySetting = 'auto' | 'current' | '0.7';
const FAMILIES: readonly MetricsFamilySetting[] = ['auto', 'current', '0.7'];

export type PrometheusAuth =
  | { kind: 'none' }
  | { kind: 'bearer'; token?: string; tokenFile?: string }
  | { kind: 'basic'; username: string; password?: string; passwordFile?: string };

export interface AetherSourceConfig {
  /** `INTERVAL`: the window each Fetch reports, which must equal aether's scrapingInterval. */
  intervalMs: number;
  /** `PROVIDER`. */
  provider: string;
  prometheus: {
    /** Scheme, host, port and any path prefix, without a trailing slash. */
    baseUrl: string;
    auth: PrometheusAuth;
    /** `PROMETHEUS_TIMEOUT`: the most one Fetch waits for Prometheus. */
    timeoutMs: number;
  };
  metrics: MetricsFamilySetting;
  /** `REGION`: the region of containers whose labels name none. */
  defaultRegion?: string;
  logLevel: HclogLevel;
}

export const DEFAULT_PROMETHEUS_PORT = 9090;
export const DEFAULT_TIMEOUT_MS = 10_000;
const MIN_INTERVAL_MS = 1000;
/** aether waits on every Fetch (its first one blocks its start-up): minutes at most. */
const MAX_TIMEOUT_MS = 10 * 60_000;
/** The Fetch standard's "bad ports", which Node's fetch() will not connect to. */
const FETCH_BLOCKED_PORTS = new Set([
  1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104, 109, 110, 111, 113,
  115, 117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465, 512, 513, 514, 515, 526, 530, 531, 532, 540, 548, 554,
  556, 563, 587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665,
  6666, 6667, 6668, 6669, 6679, 6697, 10080,
]);
/** The port written in a URL's authority (after any credentials, and an IPv6 host in brackets). */
const EXPLICIT_PORT = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/?#]*@)?(?:\[[^\]]*\]|[^/:?#]*):(\d+)/i;

/** The URL text with any `user:password@` removed from its authority, for messages. Pure. */
export function withoutUserinfo(raw: string): string {
  return raw.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, '$1');
}

export function loadAetherSourceConfig(env: NodeJS.ProcessEnv): AetherSourceConfig {
  const problems: string[] = [];
  const get = (name: string): string | undefined => {
    const v = env[name]?.trim();
    return v === undefined || v === '' ? undefined : v;
  };
  const required = (name: string, example: string): string | undefined => {
    const v = get(name);
    if (v === undefined) problems.push(`${name} is required (e.g. ${name}=${example})`);
    return v;
  };

  const intervalMs = duration(required('INTERVAL', '5m'), 'INTERVAL', '5m', problems, MIN_INTERVAL_MS);
  const timeoutMs = duration(get('PROMETHEUS_TIMEOUT'), 'PROMETHEUS_TIMEOUT', '10s', problems, 1, MAX_TIMEOUT_MS) ?? DEFAULT_TIMEOUT_MS;

  const provider = required('PROVIDER', 'gcp');
  if (provider !== undefined && !(AETHER_PROVIDERS as readonly string[]).includes(provider)) {
    problems.push(`PROVIDER=${JSON.stringify(provider)} is not a provider aether knows; expected one of ${AETHER_PROVIDERS.join(', ')}`);
  }

  const metrics = get('KEPLER_METRICS') ?? 'auto';
  if (!(FAMILIES as readonly string[]).includes(metrics)) {
    problems.push(`KEPLER_METRICS=${JSON.stringify(metrics)} is not valid; expected auto, current or 0.7`);
  }

  const logLevel = (get('LOG_LEVEL') ?? 'info').toLowerCase();
  if (!(HCLOG_LEVELS as readonly string[]).includes(logLevel)) {
    problems.push(`LOG_LEVEL=${JSON.stringify(logLevel)} is not valid; expected one of ${HCLOG_LEVELS.join(', ')}`);
  }

  const target = prometheusTarget(required('PROMETHEUS_URL', 'http://prometheus.monitoring'), get('PROMETHEUS_PORT'), problems);
  const auth = prometheusAuth(get, target?.userinfo, problems);

  if (problems.length > 0 || intervalMs === undefined || provider === undefined || target === undefined) {
    throw new ConfigError(`invalid environment:\n  - ${problems.join('\n  - ')}`);
  }
  return {
    intervalMs,
    provider,
    prometheus: { baseUrl: target.baseUrl, auth, timeoutMs },
    metrics: metrics as MetricsFamilySetting,
    defaultRegion: get('REGION'),
    logLevel: logLevel as HclogLevel,
  };
}

function duration(raw: string | undefined, name: string, example: string, problems: string[], minMs: number, maxMs = Infinity): number | undefined {
  if (raw === undefined) return undefined;
  let ms: number;
  try {
    ms = parseDuration(raw);
  } catch {
    problems.push(`${name}=${JSON.stringify(raw)} is not a Go duration (e.g. ${example}, 90s, 1h30m)`);
    return undefined;
  }
  if (ms < minMs || ms > maxMs) {
    const bounds = maxMs === Infinity ? `at least ${formatDuration(minMs)}` : `${formatDuration(minMs)} to ${formatDuration(maxMs)}`;
    problems.push(`${name}=${JSON.stringify(raw)} is out of range; expected ${bounds}`);
    return undefined;
  }
  return ms;
}

/**
 * The Go plugin builds `PROMETHEUS_URL + ":" + PROMETHEUS_PORT`. Ours also takes a URL that has
 * its port (and a path prefix, and credentials) in it; PROMETHEUS_PORT then must agree or be unset.
 */
function prometheusTarget(
  raw: string | undefined,
  rawPort: string | undefined,
  problems: string[],
): { baseUrl: string; userinfo?: { username: string; password: string } } | undefined {
  let port: number | undefined;
  if (rawPort !== undefined) {
    port = Number(rawPort);
    if (!/^\d+$/.test(rawPort) || port < 1 || port > 65535) {
      problems.push(`PROMETHEUS_PORT=${JSON.stringify(rawPort)} is not a TCP port (1 to 65535)`);
      port = undefined;
    }
  }
  if (raw === undefined) return undefined;
  // aether re-logs whatever the plugin says: a URL is only ever quoted without its credentials.
  const shown = JSON.stringify(withoutUserinfo(raw));
  // URL drops a port that is the scheme's default (`:80`, `:443`), so read it from the text.
  const written = EXPLICIT_PORT.exec(raw)?.[1];
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    if (written !== undefined && Number(written) > 65535) {
      problems.push(`PROMETHEUS_URL=${shown} has port ${written}; expected a TCP port (1 to 65535)`);
      return undefined;
    }
    url = new URL('invalid:');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:' || url.hostname === '') {
    problems.push(`PROMETHEUS_URL=${shown} is not an http(s) URL; expected a scheme and host such as http://prometheus.monitoring or http://prometheus.monitoring:9090`);
    return undefined;
  }
  if (url.search !== '' || url.hash !== '') {
    problems.push(`PROMETHEUS_URL=${shown} has a query or fragment; expected scheme, host, port and path prefix only`);
    return undefined;
  }
  if (written !== undefined && port !== undefined && Number(written) !== port) {
    problems.push(`PROMETHEUS_URL has port ${written} but PROMETHEUS_PORT=${port}; set one of them`);
    return undefined;
  }
  // Like the Go plugin, a URL without a port means port 9090, even for https.
  if (written === undefined) url.port = String(port ?? DEFAULT_PROMETHEUS_PORT);
  const effective = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  if (FETCH_BLOCKED_PORTS.has(effective)) {
    problems.push(`Prometheus port ${effective} (PROMETHEUS_URL/PROMETHEUS_PORT) is one the Fetch standard blocks, and Node.js refuses to connect to it; expose Prometheus on another port`);
    return undefined;
  }
  let userinfo: { username: string; password: string } | undefined;
  try {
    if (url.username !== '') userinfo = { username: decodeURIComponent(url.username), password: decodeURIComponent(url.password) };
  } catch {
    problems.push('PROMETHEUS_URL has credentials that are not valid percent-encoding; write a literal % as %25');
    return undefined;
  }
  url.username = '';
  url.password = '';
  return { baseUrl: url.toString().replace(/\/+$/, ''), userinfo };
}

function prometheusAuth(
  get: (name: string) => string | undefined,
  userinfo: { username: string; password: string } | undefined,
  problems: string[],
): PrometheusAuth {
  const token = get('PROMETHEUS_BEARER_TOKEN');
  const tokenFile = get('PROMETHEUS_BEARER_TOKEN_FILE');
  const username = get('PROMETHEUS_USERNAME') ?? userinfo?.username;
  const password = get('PROMETHEUS_PASSWORD') ?? userinfo?.password;
  const passwordFile = get('PROMETHEUS_PASSWORD_FILE');

  if (token !== undefined && tokenFile !== undefined) {
    problems.push('PROMETHEUS_BEARER_TOKEN and PROMETHEUS_BEARER_TOKEN_FILE are both set; set one');
  }
  if (password !== undefined && passwordFile !== undefined) {
    problems.push('PROMETHEUS_PASSWORD and PROMETHEUS_PASSWORD_FILE are both set; set one');
  }
  const bearer = token !== undefined || tokenFile !== undefined;
  const basic = username !== undefined || password !== undefined || passwordFile !== undefined;
  if (bearer && basic) {
    problems.push('both a bearer token (PROMETHEUS_BEARER_TOKEN*) and basic auth (PROMETHEUS_USERNAME/PASSWORD or credentials in PROMETHEUS_URL) are set; set one');
    return { kind: 'none' };
  }
  for (const [name, file] of [['PROMETHEUS_BEARER_TOKEN_FILE', tokenFile], ['PROMETHEUS_PASSWORD_FILE', passwordFile]] as const) {
    if (file === undefined) continue;
    try {
      readFileSync(file);
    } catch (err) {
      problems.push(`${name}=${JSON.stringify(file)} cannot be read: ${(err as Error).message}`);
    }
  }
  for (const [name, value] of [['PROMETHEUS_BEARER_TOKEN', token], ['PROMETHEUS_PASSWORD', password], ['PROMETHEUS_USERNAME', username]] as const) {
    if (value !== undefined && !isHeaderSafe(value)) problems.push(`${name} holds characters an HTTP header cannot carry (expected printable ASCII)`);
  }
  if (bearer) return { kind: 'bearer', token, tokenFile };
  if (!basic) return { kind: 'none' };
  if (username === undefined) {
    problems.push('PROMETHEUS_PASSWORD(_FILE) is set without PROMETHEUS_USERNAME');
    return { kind: 'none' };
  }
  if (password === undefined && passwordFile === undefined) {
    problems.push('PROMETHEUS_USERNAME is set without PROMETHEUS_PASSWORD or PROMETHEUS_PASSWORD_FILE');
  }
  return { kind: 'basic', username, password, passwordFile };
}
