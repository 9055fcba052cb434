// An HTTPS Redfish client for one BMC: logs in (a session, else basic auth), discovers its chassis
// and which power source each one has, and reads them. I/O only: which number is the chassis'
// power is chassisPower.ts' pure choice. The poller that owns a client calls readPower() at its
// own interval, one call at a time, and counts the RedfishError kinds.
//
// BMCs are slow, few-connection, rate-limited devices, so the client asks for as little as it
// can: the discovery (service root, chassis, their power sources) is cached and a poll only GETs
// the resources holding readings; it is done again after any error, when a cached source stops
// giving readings, and every REDISCOVER_MS (a power supply plugged into an empty bay).
// Requests go one at a time over one keep-alive connection.

import http from 'node:http';
import https from 'node:https';
import { rootCertificates } from 'node:tls';
import type { PlatformReading } from '../platformSource.js';
import { chassisReadings, isObject, link, memberLinks, psuPresent, SOURCE_TYPES, type ChassisResources, type PsuResources, type RedfishJson } from './chassisPower.js';

export interface BmcTarget {
  /** The BMC's id in the BMC file: the bmc_id label, and the name in error messages. */
  id: string;
  /** https://10.0.0.5, or http://... for labs without TLS. */
  endpoint: string;
  username: string;
  password: string;
  /** Skip certificate verification (and only that). */
  insecure: boolean;
  /** PEM of the BMC's own CA, trusted in addition to the system's roots. */
  ca?: Buffer;
  /** Bound on every request, connection to last byte. */
  timeoutMs: number;
}

export type RedfishErrorKind = 'timeout' | 'connect' | 'http' | 'auth' | 'parse';
export const REDFISH_ERROR_KINDS: readonly RedfishErrorKind[] = ['timeout', 'connect', 'http', 'auth', 'parse'];

/** A failed poll. Messages name the BMC and the URL path, never a credential or a session token. */
export class RedfishError extends Error {
  constructor(
    readonly kind: RedfishErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'RedfishError';
  }
}

/** A new PowerSupply in an empty bay, a replaced chassis: found at most this long after the fact. */
export const REDISCOVER_MS = 10 * 60_000;
/** Redfish resources are a few kB; a BMC sending more is broken, not verbose. */
const MAX_BODY_BYTES = 8 * 1024 * 1024;

interface Response {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

type Auth = { readonly kind: 'session'; readonly token: string; readonly location: string | undefined } | { readonly kind: 'basic' };

/** What a poll fetches for one chassis: the cached static resources and the paths holding readings. */
interface ChassisPlan {
  readonly chassis: RedfishJson;
  readonly source: 'psu' | 'environment' | 'powerControl' | 'none';
  /** Present supplies' resources (cached) and their Metrics paths (read each poll). */
  readonly psus: readonly { readonly psu: RedfishJson; readonly metricsPath: string | undefined }[];
  readonly environmentPath: string | undefined;
  readonly powerPath: string | undefined;
  readonly path: string;
}

/** Where to POST a login: DSP0266's Links.Sessions, else under the SessionService; none: basic auth. */
export function sessionsPath(root: RedfishJson): string | undefined {
  const links = root.Links;
  const fromLinks = isObject(links) ? link(links, 'Sessions') : undefined;
  if (fromLinks !== undefined) return fromLinks;
  const service = link(root, 'SessionService');
  return service === undefined ? undefined : `${service.replace(/\/+$/, '')}/Sessions`;
}

const SOURCE_OF: Readonly<Record<string, ChassisPlan['source']>> = {
  [SOURCE_TYPES.psu]: 'psu',
  [SOURCE_TYPES.environment]: 'environment',
  [SOURCE_TYPES.powerControl]: 'powerControl',
};

/** Node's socket and TLS errors, by code: enough to act on, nothing from the request itself. */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as NodeJS.ErrnoException).code;
  return code !== undefined && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
}

export class RedfishClient {
  private readonly base: URL;
  private readonly agent: http.Agent;
  private root: RedfishJson | undefined;
  private auth: Auth | undefined;
  private plans: ChassisPlan[] | undefined;
  private discoveredAtMs = 0;
  private closed = false;

  constructor(private readonly target: BmcTarget) {
    this.base = new URL(target.endpoint);
    if (this.base.protocol !== 'https:' && this.base.protocol !== 'http:') throw new Error(`BMC ${target.id}: endpoint must be https:// or http://, not ${this.base.protocol}`);
    // TLS settings live on the agent so that every pooled connection was verified the same way.
    // `ca` adds to the system's roots (Node's option alone would replace them).
    this.agent =
      this.base.protocol === 'https:'
        ? new https.Agent({ keepAlive: true, maxSockets: 2, rejectUnauthorized: !target.insecure, ...(target.ca ? { ca: [...rootCertificates, target.ca.toString()] } : {}) })
        : new http.Agent({ keepAlive: true, maxSockets: 2 });
  }

  /** Every chassis' readings, from the source chosen by chassisReadings. Throws RedfishError. */
  async readPower(): Promise<PlatformReading[]> {
    if (this.closed) throw new RedfishError('connect', `BMC ${this.target.id}: client closed`);
    try {
      this.root ??= await this.fetchRoot();
      this.auth ??= await this.login(this.root);
      if (this.plans === undefined || performance.now() - this.discoveredAtMs >= REDISCOVER_MS) return await this.discover(this.root);
      return await this.readPlanned(this.plans);
    } catch (err) {
      // After any failure the BMC may have changed (rebooted, reconfigured): find everything again.
      this.plans = undefined;
      this.root = undefined;
      if (err instanceof RedfishError && err.kind === 'auth') this.auth = undefined;
      throw err instanceof RedfishError ? err : new RedfishError('parse', `BMC ${this.target.id}: ${describe(err)}`);
    }
  }

  /** Ends the session (best effort: the BMC frees its few session slots) and the connections. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const auth = this.auth;
    this.auth = undefined;
    if (auth?.kind === 'session' && auth.location !== undefined) {
      await this.send('DELETE', auth.location, { 'X-Auth-Token': auth.token }).catch(() => undefined);
    }
    this.agent.destroy();
  }

  // ---------- discovery ----------

  /** The service root is readable without credentials (DSP0266); some BMCs want them anyway. */
  private async fetchRoot(): Promise<RedfishJson> {
    const path = '/redfish/v1';
    let res = await this.send('GET', path, {});
    if (res.status === 401) res = await this.send('GET', path, this.basicHeader());
    return this.json('GET', path, res);
  }

  private async discover(root: RedfishJson): Promise<PlatformReading[]> {
    const collectionPath = link(root, 'Chassis') ?? '/redfish/v1/Chassis';
    const collection = await this.get(collectionPath);
    const plans: ChassisPlan[] = [];
    const readings: PlatformReading[] = [];
    for (const path of memberLinks(collection)) {
      const found = await this.discoverChassis(path);
      plans.push(found.plan);
      readings.push(...found.readings);
    }
    this.plans = plans;
    this.discoveredAtMs = performance.now();
    return readings;
  }

  /** Walks one chassis' sources in the issue's order, fetching a later one only when the earlier gave nothing. */
  private async discoverChassis(path: string): Promise<{ plan: ChassisPlan; readings: PlatformReading[] }> {
    const chassis = await this.get(path);
    const psus: { psu: RedfishJson; metricsPath: string | undefined; metrics: RedfishJson | undefined }[] = [];
    const subsystem = await this.getOptional(link(chassis, 'PowerSubsystem'));
    const supplies = await this.getOptional(link(subsystem, 'PowerSupplies'));
    for (const psuPath of supplies ? memberLinks(supplies) : []) {
      const psu = await this.getOptional(psuPath);
      if (psu === undefined) continue;
      const metricsPath = psuPresent(psu) ? link(psu, 'Metrics') : undefined;
      psus.push({ psu, metricsPath, metrics: await this.getOptional(metricsPath) });
    }
    const environmentPath = link(chassis, 'EnvironmentMetrics');
    const powerPath = link(chassis, 'Power');
    const res: { -readonly [K in keyof ChassisResources]: ChassisResources[K] } = { chassis, psus: psus.map(({ psu, metrics }) => ({ psu, metrics })) };
    let readings = chassisReadings(this.target.id, res);
    if (readings.length === 0) {
      res.environmentMetrics = await this.getOptional(environmentPath);
      readings = chassisReadings(this.target.id, res);
    }
    if (readings.length === 0) {
      res.power = await this.getOptional(powerPath);
      readings = chassisReadings(this.target.id, res);
    }
    const source = readings.length === 0 ? 'none' : (SOURCE_OF[readings[0].sourceType] ?? 'none');
    return { plan: { path, chassis, source, psus: psus.map(({ psu, metricsPath }) => ({ psu, metricsPath })), environmentPath, powerPath }, readings };
  }

  /** A poll on the cached discovery: only the resources that hold readings. */
  private async readPlanned(plans: ChassisPlan[]): Promise<PlatformReading[]> {
    const readings: PlatformReading[] = [];
    for (let i = 0; i < plans.length; i++) {
      const plan = plans[i];
      if (plan.source === 'none') continue;
      let found = await this.readPlan(plan);
      if (found.length === 0) {
        // The source that had readings has none now (a supply pulled, a sensor gone): choose again.
        const again = await this.discoverChassis(plan.path);
        plans[i] = again.plan;
        found = again.readings;
      }
      readings.push(...found);
    }
    return readings;
  }

  private async readPlan(plan: ChassisPlan): Promise<PlatformReading[]> {
    const bmc = this.target.id;
    switch (plan.source) {
      case 'psu': {
        const psus: PsuResources[] = [];
        for (const { psu, metricsPath } of plan.psus) psus.push({ psu, metrics: metricsPath === undefined ? undefined : await this.get(metricsPath) });
        return chassisReadings(bmc, { chassis: plan.chassis, psus });
      }
      case 'environment':
        return plan.environmentPath === undefined ? [] : chassisReadings(bmc, { chassis: plan.chassis, environmentMetrics: await this.get(plan.environmentPath) });
      case 'powerControl':
        return plan.powerPath === undefined ? [] : chassisReadings(bmc, { chassis: plan.chassis, power: await this.get(plan.powerPath) });
      case 'none':
        return [];
    }
  }

  // ---------- authentication ----------

  private basicHeader(): Record<string, string> {
    return { Authorization: `Basic ${Buffer.from(`${this.target.username}:${this.target.password}`).toString('base64')}` };
  }

  private authHeaders(): Record<string, string> {
    if (this.auth?.kind === 'session') return { 'X-Auth-Token': this.auth.token };
    return this.basicHeader();
  }

  /** A session when the service offers one; basic auth when it has no SessionService. */
  private async login(root: RedfishJson): Promise<Auth> {
    const path = sessionsPath(root);
    if (path === undefined) return { kind: 'basic' };
    const body = JSON.stringify({ UserName: this.target.username, Password: this.target.password });
    const res = await this.send('POST', path, { 'Content-Type': 'application/json' }, body);
    // A link to a service that is not there, or refuses POST: many older BMCs. Basic auth it is.
    if (res.status === 404 || res.status === 405 || res.status === 501) return { kind: 'basic' };
    this.check('POST', path, res);
    const token = res.headers['x-auth-token'];
    if (typeof token !== 'string' || token === '') return { kind: 'basic' };
    const location = typeof res.headers.location === 'string' ? new URL(res.headers.location, this.base).pathname : this.sessionIdOf(res.body);
    return { kind: 'session', token, location };
  }

  /** The session's URI from the body when the BMC sent no Location header. */
  private sessionIdOf(body: Buffer): string | undefined {
    try {
      const parsed: unknown = JSON.parse(body.toString('utf8'));
      return isObject(parsed) && typeof parsed['@odata.id'] === 'string' ? parsed['@odata.id'] : undefined;
    } catch {
      return undefined;
    }
  }

  /** A request with credentials; an expired session is renewed once and the request sent once more. */
  private async authorized(method: string, path: string): Promise<Response> {
    const res = await this.send(method, path, this.authHeaders());
    if (res.status !== 401 || this.auth?.kind !== 'session' || this.root === undefined) return res;
    this.auth = undefined;
    this.auth = await this.login(this.root);
    return this.send(method, path, this.authHeaders());
  }

  // ---------- requests ----------

  private async get(path: string): Promise<RedfishJson> {
    return this.json('GET', path, await this.authorized('GET', path));
  }

  /** A linked resource that may be missing: no link, or a link to nothing (404), is no resource. */
  private async getOptional(path: string | undefined): Promise<RedfishJson | undefined> {
    if (path === undefined) return undefined;
    const res = await this.authorized('GET', path);
    return res.status === 404 ? undefined : this.json('GET', path, res);
  }

  private check(method: string, path: string, res: Response): void {
    if (res.status >= 200 && res.status < 300) return;
    const where = `BMC ${this.target.id}: ${method} ${path}`;
    if (res.status === 401 || res.status === 403) throw new RedfishError('auth', `${where}: HTTP ${res.status}, credentials refused`);
    throw new RedfishError('http', `${where}: HTTP ${res.status}`);
  }

  private json(method: string, path: string, res: Response): RedfishJson {
    this.check(method, path, res);
    let parsed: unknown;
    try {
      parsed = JSON.parse(res.body.toString('utf8'));
    } catch (err) {
      throw new RedfishError('parse', `BMC ${this.target.id}: ${method} ${path}: not JSON (${describe(err)})`);
    }
    if (!isObject(parsed)) throw new RedfishError('parse', `BMC ${this.target.id}: ${method} ${path}: not a JSON object`);
    return parsed;
  }

  /**
   * One HTTP exchange, bounded by timeoutMs in all: a BMC that accepts the connection and never
   * answers (or trickles) times out too, not just an idle socket. A pooled connection the BMC
   * closed while idle fails at once with ECONNRESET: the request is sent once more on a new one.
   */
  private send(method: string, path: string, headers: Record<string, string>, body?: string, retried = false): Promise<Response> {
    const url = new URL(path, this.base);
    const where = `BMC ${this.target.id}: ${method} ${url.pathname}`;
    const timeoutMs = this.target.timeoutMs;
    return new Promise<Response>((resolve, reject) => {
      let settled = false;
      const settle = (err: RedfishError | undefined, res?: Response) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) {
          req.destroy();
          reject(err);
        } else if (res) resolve(res);
      };
      const req = (url.protocol === 'https:' ? https : http).request(url, {
        method,
        agent: this.agent,
        timeout: timeoutMs,
        headers: { Accept: 'application/json', 'OData-Version': '4.0', ...headers, ...(body === undefined ? {} : { 'Content-Length': Buffer.byteLength(body) }) },
      });
      const timer = setTimeout(() => settle(new RedfishError('timeout', `${where}: no answer within ${timeoutMs} ms`)), timeoutMs);
      req.on('timeout', () => settle(new RedfishError('timeout', `${where}: connection idle for ${timeoutMs} ms`)));
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (settled) return;
        if (!retried && req.reusedSocket && err.code === 'ECONNRESET') {
          settled = true;
          clearTimeout(timer);
          this.send(method, path, headers, body, true).then(resolve, reject);
          return;
        }
        settle(new RedfishError('connect', `${where}: ${describe(err)}`));
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BODY_BYTES) settle(new RedfishError('parse', `${where}: answer over ${MAX_BODY_BYTES} bytes`));
          else chunks.push(chunk);
        });
        res.on('error', (err) => settle(new RedfishError('connect', `${where}: ${describe(err)}`)));
        res.on('aborted', () => settle(new RedfishError('connect', `${where}: connection closed mid-answer`)));
        res.on('end', () => settle(undefined, { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      });
      req.end(body);
    });
  }
}
