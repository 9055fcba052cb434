// The plugin's settings come from the environment, as the Go plugin's do: aether starts every
// plugin with its own environment, so these are set on aether's container. The first four are
// the Go plugin's; the rest are ours. Everything is checked before the go-plugin handshake, and
// every problem is reported at once, each naming the variable and what was expected: each
// variable's value by its zod schema (ENV), what involves several variables or files by code.

import { readFileSync } from 'node:fs';
// Named imports, not `z`: the namespace would bundle all of zod (its locales too) into the plugin.
import { NEVER, enum as zodEnum, string as zodString, type output, type ZodType } from 'zod';
import { ConfigError } from '../config/config.js';
import { formatDuration, parseDuration } from '../config/duration.js';
import { HCLOG_LEVELS, type HclogLevel } from '../goplugin/hclogLogger.js';
import { isHeaderSafe, type PrometheusAuth } from './prometheusClient.js';

/** The providers aether knows; the Go plugin refuses anything else as "provider not found". */
export const AETHER_PROVIDERS = ['aws', 'azure', 'gcp', 'prometheus', 'custom'] as const;

const FAMILIES = ['auto', 'current', '0.7'] as const;
/**
 * Which Kepler metric names to read. `current`: kepler-ts and Kepler 0.10+
 * (`kepler_container_cpu_joules_total{zone}`); `0.7`: Kepler 0.7 to 0.9
 * (`kepler_container_{core,dram}_joules_total{mode}`); `auto`: both, each container read from
 * the current family where it has one.
 */
export type MetricsFamilySetting = (typeof FAMILIES)[number];
const LOG_LEVELS = HCLOG_LEVELS as readonly [HclogLevel, ...HclogLevel[]];

export type { PrometheusAuth };

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
  1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104, 109, 110, 111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161, 179,
  389, 427, 465, 512, 513, 514, 515, 526, 530, 531, 532, 540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061, 6000,
  6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080,
]);
/** The port written in a URL's authority (after any credentials, and an IPv6 host in brackets). */
const EXPLICIT_PORT = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/?#]*@)?(?:\[[^\]]*\]|[^/:?#]*):(\d+)/i;

/** The URL text with any `user:password@` removed from its authority, for messages. Pure. */
export function withoutUserinfo(raw: string): string {
  // Everything up to the last '@': also without a scheme ("user:secret@prom:9090") and when the
  // password holds a '/' or '?' (which ends the authority for a URL parser, not for a person).
  return raw.replace(/^([a-z][a-z0-9+.-]*:\/\/)?.*@/is, '$1');
}

// ---------- one schema per variable ----------
// Each message names the variable and its value, and says what is expected. What depends on more
// than one variable (PROMETHEUS_URL with PROMETHEUS_PORT, the credentials) and reading the
// credentials files is code, below.

/** A variable that must be set; `schema` checks its value. */
const required = <T extends ZodType<unknown, string>>(name: string, example: string, schema: T) =>
  zodString({ error: () => `${name} is required (e.g. ${name}=${example})` }).pipe(schema);

/** A Go duration within minMs..maxMs; the output is milliseconds. */
const goDuration = (name: string, example: string, minMs: number, maxMs = Infinity) =>
  zodString().transform((raw, ctx) => {
    let ms: number;
    try {
      ms = parseDuration(raw);
    } catch {
      ctx.issues.push({ code: 'custom', input: raw, message: `${name}=${JSON.stringify(raw)} is not a Go duration (e.g. ${example}, 90s, 1h30m)` });
      return NEVER;
    }
    if (ms < minMs || ms > maxMs) {
      const bounds = maxMs === Infinity ? `at least ${formatDuration(minMs)}` : `${formatDuration(minMs)} to ${formatDuration(maxMs)}`;
      ctx.issues.push({ code: 'custom', input: raw, message: `${name}=${JSON.stringify(raw)} is out of range; expected ${bounds}` });
      return NEVER;
    }
    return ms;
  });

/** A value that is not one of `values`: `NAME="value" <why>`. */
const oneOf = <const T extends readonly [string, ...string[]]>(name: string, values: T, why: string) =>
  zodEnum(values, { error: (iss) => `${name}=${JSON.stringify(iss.input)} ${why}` });

/**
 * The URL on its own: http(s), a host, no query or fragment. The Go plugin builds
 * `PROMETHEUS_URL + ":" + PROMETHEUS_PORT`; ours also takes a URL that has its port (and a path
 * prefix, and credentials) in it. Messages quote it without its credentials: aether re-logs
 * whatever the plugin says.
 */
const prometheusUrl = zodString().transform((raw, ctx) => {
  const shown = JSON.stringify(withoutUserinfo(raw));
  const problem = (message: string) => {
    ctx.issues.push({ code: 'custom', input: raw, message });
    return NEVER;
  };
  // URL drops a port that is the scheme's default (`:80`, `:443`), so read it from the text.
  const written = EXPLICIT_PORT.exec(raw)?.[1];
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    if (written !== undefined && Number(written) > 65535) return problem(`PROMETHEUS_URL=${shown} has port ${written}; expected a TCP port (1 to 65535)`);
    url = new URL('invalid:');
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') {
    return problem(`PROMETHEUS_URL=${shown} is not an http(s) URL; expected a scheme and host such as http://prometheus.monitoring or http://prometheus.monitoring:9090`);
  }
  if (url.search !== '' || url.hash !== '') return problem(`PROMETHEUS_URL=${shown} has a query or fragment; expected scheme, host, port and path prefix only`);
  return { url, written };
});

/** Every variable the plugin reads, in the order their problems are reported. */
const ENV = {
  INTERVAL: required('INTERVAL', '5m', goDuration('INTERVAL', '5m', MIN_INTERVAL_MS)),
  PROMETHEUS_TIMEOUT: goDuration('PROMETHEUS_TIMEOUT', '10s', 1, MAX_TIMEOUT_MS).default(DEFAULT_TIMEOUT_MS),
  PROVIDER: required('PROVIDER', 'gcp', oneOf('PROVIDER', AETHER_PROVIDERS, `is not a provider aether knows; expected one of ${AETHER_PROVIDERS.join(', ')}`)),
  KEPLER_METRICS: oneOf('KEPLER_METRICS', FAMILIES, 'is not valid; expected auto, current or 0.7').default('auto'),
  LOG_LEVEL: zodString()
    .transform((s) => s.toLowerCase())
    .pipe(oneOf('LOG_LEVEL', LOG_LEVELS, `is not valid; expected one of ${LOG_LEVELS.join(', ')}`))
    .default('info'),
  // Its form is checked by prometheusUrl after PROMETHEUS_PORT, as the two go together.
  PROMETHEUS_URL: required('PROMETHEUS_URL', 'http://prometheus.monitoring', zodString()),
  PROMETHEUS_PORT: zodString()
    .refine((s) => /^\d+$/.test(s) && Number(s) >= 1 && Number(s) <= 65535, { error: (iss) => `PROMETHEUS_PORT=${JSON.stringify(iss.input)} is not a TCP port (1 to 65535)` })
    .transform(Number)
    .optional(),
  PROMETHEUS_BEARER_TOKEN: zodString().optional(),
  PROMETHEUS_BEARER_TOKEN_FILE: zodString().optional(),
  PROMETHEUS_USERNAME: zodString().optional(),
  PROMETHEUS_PASSWORD: zodString().optional(),
  PROMETHEUS_PASSWORD_FILE: zodString().optional(),
  REGION: zodString().optional(),
};
type Env = { [K in keyof typeof ENV]: output<(typeof ENV)[K]> };

export function loadAetherSourceConfig(env: NodeJS.ProcessEnv): AetherSourceConfig {
  const problems: string[] = [];
  // Each variable alone, so that every bad one is reported, and the good ones still checked together.
  const values: Partial<Env> = {};
  for (const name of Object.keys(ENV) as (keyof Env)[]) {
    const raw = env[name]?.trim();
    const r = ENV[name].safeParse(raw === '' ? undefined : raw);
    if (r.success) (values as Record<string, unknown>)[name] = r.data;
    else problems.push(r.error.issues[0].message);
  }
  const url = values.PROMETHEUS_URL === undefined ? undefined : prometheusUrl.safeParse(values.PROMETHEUS_URL);
  if (url?.success === false) problems.push(url.error.issues[0].message);
  const target = url?.success ? prometheusTarget(url.data, values.PROMETHEUS_PORT, problems) : undefined;
  const auth = prometheusAuth(values, target?.userinfo, problems);

  const { INTERVAL: intervalMs, PROVIDER: provider, PROMETHEUS_TIMEOUT: timeoutMs, KEPLER_METRICS: metrics, LOG_LEVEL: logLevel } = values;
  if (
    problems.length > 0 ||
    intervalMs === undefined ||
    provider === undefined ||
    target === undefined ||
    timeoutMs === undefined ||
    metrics === undefined ||
    logLevel === undefined
  ) {
    throw new ConfigError(`invalid environment:\n  - ${problems.join('\n  - ')}`);
  }
  return {
    intervalMs,
    provider,
    prometheus: { baseUrl: target.baseUrl, auth, timeoutMs },
    metrics,
    defaultRegion: values.REGION,
    logLevel,
  };
}

/** PROMETHEUS_URL with PROMETHEUS_PORT (which must agree with a port in the URL, or be unset). */
function prometheusTarget(
  { url, written }: { url: URL; written?: string },
  port: number | undefined,
  problems: string[],
): { baseUrl: string; userinfo?: { username: string; password: string } } | undefined {
  if (written !== undefined && port !== undefined && Number(written) !== port) {
    problems.push(`PROMETHEUS_URL has port ${written} but PROMETHEUS_PORT=${port}; set one of them`);
    return undefined;
  }
  // Like the Go plugin, a URL without a port means port 9090, even for https.
  if (written === undefined) url.port = String(port ?? DEFAULT_PROMETHEUS_PORT);
  const effective = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  if (FETCH_BLOCKED_PORTS.has(effective)) {
    problems.push(
      `Prometheus port ${effective} (PROMETHEUS_URL/PROMETHEUS_PORT) is one the Fetch standard blocks, and Node.js refuses to connect to it; expose Prometheus on another port`,
    );
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

/** Which credentials, from variables that exclude or need each other; the files must be readable. */
function prometheusAuth(env: Partial<Env>, userinfo: { username: string; password: string } | undefined, problems: string[]): PrometheusAuth {
  const token = env.PROMETHEUS_BEARER_TOKEN;
  const tokenFile = env.PROMETHEUS_BEARER_TOKEN_FILE;
  const username = env.PROMETHEUS_USERNAME ?? userinfo?.username;
  const password = env.PROMETHEUS_PASSWORD ?? userinfo?.password;
  const passwordFile = env.PROMETHEUS_PASSWORD_FILE;

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
  for (const [name, file] of [
    ['PROMETHEUS_BEARER_TOKEN_FILE', tokenFile],
    ['PROMETHEUS_PASSWORD_FILE', passwordFile],
  ] as const) {
    if (file === undefined) continue;
    try {
      readFileSync(file);
    } catch (err) {
      problems.push(`${name}=${JSON.stringify(file)} cannot be read: ${(err as Error).message}`);
    }
  }
  // The values sent, which may come from PROMETHEUS_URL: named after the variable that sets them.
  for (const [name, value] of [
    ['PROMETHEUS_BEARER_TOKEN', token],
    ['PROMETHEUS_PASSWORD', password],
    ['PROMETHEUS_USERNAME', username],
  ] as const) {
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
