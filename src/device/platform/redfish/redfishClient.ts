// An HTTPS Redfish client for one BMC: logs in (a session, else basic auth), discovers its chassis
// and which power source each one has, and reads them. I/O only: which number is the chassis'
// power is chassisPower.ts' pure choice. The poller that owns a client calls readPower() at its
// own interval, one call at a time, and counts the RedfishError kinds: the thrown one, and the
// per-chassis ones of lastPartialErrors() when some chassis read and others did not.
//
// BMCs are slow, few-connection, rate-limited devices, so the client asks for as little as it
// can: the discovery (service root, chassis, their power sources) is cached and a poll only GETs
// the resources holding readings; a chassis is discovered again after an error of its own, when
// its cached source stops giving readings, and everything after a poll that failed as a whole and
// every REDISCOVER_MS (a power supply plugged into an empty bay). Requests go one at a time over
// one keep-alive connection, and a whole poll is bounded by POLL_TIMEOUTS x timeoutMs.
//
// BMCs also have few session slots and lock accounts after refused logins: a session is DELETEd
// before it is dropped (re-login, a refused token, close()), a login POST is never sent twice, and
// after a refused login no client with the same endpoint and credentials logs in again for a
// back-off (LOGIN_BACKOFF_*): the application makes a new client after each refusal, so the
// back-off is the module's, not the client's. Credentials and tokens go to the endpoint's origin
// only: a redirect elsewhere is an error.

import http from 'node:http';
// https, tls and crypto when a client is made (Redfish configured), not with the exporter (lazyBuiltins.ts).
import { cryptoModule, httpsModule, tlsModule } from '../../../util/lazyBuiltins.js';
import type { BmcTargetConfig } from '../../../config/redfishBmcs.js';
import type { PlatformReading } from '../platformSource.js';
import { chassisReadings, isObject, link, memberLinks, psuPresent, SOURCE_TYPES, type ChassisResources, type PsuResources, type RedfishJson } from './chassisPower.js';

/** This node's BMC as the BMC file gives it (config/redfishBmcs.ts), and the bound on every request. */
export interface BmcTarget extends BmcTargetConfig {
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
/** The service root, with the trailing slash DSP0266 and gofish use (some BMCs redirect without it). */
const ROOT_PATH = '/redfish/v1/';
const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 307, 308]);
const MAX_REDIRECTS = 3;
/** A whole poll, discovery included, takes at most this many timeoutMs. */
const POLL_TIMEOUTS = 3;
/** A session's DELETE, and close() waiting for a login in flight, take at most min(timeoutMs, this). */
const CLEANUP_MAX_MS = 2000;
/** After a refused login: no login with the same credentials for this long, doubling to the max; reset by a login accepted. */
const LOGIN_BACKOFF_START_MS = 60_000;
const LOGIN_BACKOFF_MAX_MS = 15 * 60_000;

/**
 * Refused logins per `${endpoint}\0${username}\0${sha256(password)}`, for the whole process: the
 * application replaces a client after every 'auth' error (to read rotated credentials), and a new
 * client with the same credentials must not try them again at once; changed credentials are a new key.
 */
const loginBackoff = new Map<string, { untilMs: number; delayMs: number; reason: string }>();

interface Response {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

interface Session {
  readonly kind: 'session';
  readonly token: string;
  /** Its URI, for the DELETE; undefined when the BMC told neither a Location nor an @odata.id. */
  readonly location: string | undefined;
}
type Auth = Session | { readonly kind: 'basic' };
const BASIC: Auth = { kind: 'basic' };

/** What a poll fetches for one chassis: the cached static resources and the paths holding readings. */
interface ChassisPlan {
  readonly chassis: RedfishJson;
  readonly source: 'psu' | 'environment' | 'powerControl' | 'none';
  /** Present supplies' resources (cached) and their Metrics paths (read each poll). */
  readonly psus: readonly { readonly psu: RedfishJson; readonly metricsPath: string | undefined }[];
  readonly environmentPath: string | undefined;
  readonly powerPath: string | undefined;
}

/** A chassis of the collection; no plan: discovered on the next poll (new, or its last read failed). */
interface ChassisSlot {
  readonly path: string;
  plan: ChassisPlan | undefined;
}

/**
 * Who sent a request, for what aborts it: a poll's own requests; a login POST, which close() lets
 * finish (briefly) so that the session it creates is deleted rather than leaked; a DELETE that
 * cleans up a session, bounded on its own and never aborted.
 */
type Role = 'poll' | 'login' | 'cleanup';

interface SendOptions {
  readonly body?: string;
  readonly role?: Role;
  readonly timeoutMs?: number;
  /** The status and headers, as soon as they arrive: a login's token is known before its body. */
  readonly onHeaders?: (status: number, headers: http.IncomingHttpHeaders) => void;
  readonly retried?: boolean;
}

interface InFlight {
  readonly role: Role;
  abort(err: RedfishError): void;
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

/** A URL for a message: without user information (a Location may carry some). */
function shown(url: URL): string {
  const u = new URL(url.href);
  u.username = '';
  u.password = '';
  return u.href;
}

/** Whether `p` settles within `ms`. */
async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([p.then(() => true as const), late]);
  } finally {
    clearTimeout(timer);
  }
}

export class RedfishClient {
  private readonly base: URL;
  /** The endpoint's path (`/bmc-3` behind a proxy), kept on every request; '' for none. */
  private readonly prefix: string;
  private readonly agent: http.Agent;
  private readonly backoffKey: string;
  private root: RedfishJson | undefined;
  private auth: Auth | undefined;
  private slots: ChassisSlot[] | undefined;
  private discoveredAtMs = 0;
  private closed = false;
  private partialErrors: readonly RedfishError[] = [];
  private readonly inFlight = new Set<InFlight>();
  /** Set when the poll ran out of time: its remaining requests fail at once with this. */
  private pollAborted: RedfishError | undefined;
  /** The last poll, settled or winding down after its deadline; the next waits for it. */
  private pollRunning: Promise<void> | undefined;
  /** A login under way (its POST and any clean-up), for close() to wait on. */
  private loginRunning: Promise<void> | undefined;

  constructor(private readonly target: BmcTarget) {
    this.base = new URL(target.endpoint);
    if (this.base.protocol !== 'https:' && this.base.protocol !== 'http:') throw new Error(`BMC ${target.id}: endpoint must be https:// or http://, not ${this.base.protocol}`);
    this.prefix = this.base.pathname.replace(/\/+$/, '');
    this.backoffKey = `${target.endpoint}\0${target.username}\0${cryptoModule().createHash('sha256').update(target.password).digest('hex')}`;
    // TLS settings live on the agent so that every pooled connection was verified the same way.
    // `ca` adds to the system's roots (Node's option alone would replace them).
    this.agent =
      this.base.protocol === 'https:'
        ? new (httpsModule().Agent)({
            keepAlive: true,
            maxSockets: 2,
            rejectUnauthorized: !target.insecure,
            ...(target.ca ? { ca: [...tlsModule().rootCertificates, target.ca.toString()] } : {}),
          })
        : new http.Agent({ keepAlive: true, maxSockets: 2 });
  }

  /**
   * Every chassis' readings, from the source chosen by chassisReadings. Throws RedfishError: when
   * the poll fails as a whole, when every chassis failed (the first one's error), when it takes
   * longer than POLL_TIMEOUTS x timeoutMs (kind timeout), and at once (kind auth) while a login
   * with these credentials is backed off. Chassis that failed while others read are in lastPartialErrors().
   */
  async readPower(): Promise<PlatformReading[]> {
    if (this.closed) throw this.closedError();
    this.partialErrors = [];
    // A poll abandoned at its deadline had its requests aborted: it ends within a DELETE's bound.
    if (this.pollRunning !== undefined) await this.pollRunning;
    if (this.closed) throw this.closedError();
    this.pollAborted = undefined;
    if (this.auth === undefined) this.checkBackoff();
    const limitMs = POLL_TIMEOUTS * this.target.timeoutMs;
    const poll = this.poll();
    this.pollRunning = poll.then(
      () => undefined,
      () => undefined,
    );
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const err = new RedfishError('timeout', `BMC ${this.target.id}: the poll took longer than ${limitMs} ms (${POLL_TIMEOUTS} x the HTTP timeout)`);
        this.pollAborted = err;
        this.abortInFlight(err, ['poll', 'login']);
        reject(err);
      }, limitMs);
    });
    try {
      const { readings, errors } = await Promise.race([poll, deadline]);
      this.partialErrors = errors;
      return readings;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The per-chassis errors of the last readPower() that returned: chassis that failed while others read. */
  lastPartialErrors(): RedfishError[] {
    return [...this.partialErrors];
  }

  /**
   * Ends the session (best effort: the BMC frees its few session slots) and the connections. A
   * poll's requests in flight are aborted and every later one fails at once ('connect', closed);
   * a login in flight may finish for min(timeoutMs, 2 s) so that the session it creates is deleted;
   * the DELETE itself is bounded by min(timeoutMs, 2 s).
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const err = this.closedError();
    this.abortInFlight(err, ['poll']);
    const login = this.loginRunning;
    if (login !== undefined && !(await settlesWithin(login, this.cleanupMs()))) {
      this.abortInFlight(err, ['login']);
      await login;
    }
    await this.dropSession();
    this.agent.destroy();
  }

  private async poll(): Promise<{ readings: PlatformReading[]; errors: RedfishError[] }> {
    try {
      this.root ??= await this.fetchRoot();
      if (this.auth === undefined) await this.login(this.root);
      if (this.slots === undefined || performance.now() - this.discoveredAtMs >= REDISCOVER_MS) {
        this.slots = await this.discover(this.root);
        this.discoveredAtMs = performance.now();
      }
      return await this.readSlots(this.slots);
    } catch (err) {
      // After a failure of the whole poll the BMC may have changed (rebooted, reconfigured): find everything again.
      this.slots = undefined;
      this.root = undefined;
      const e = err instanceof RedfishError ? err : new RedfishError('parse', `BMC ${this.target.id}: ${describe(err)}`);
      // A session the BMC refuses is of no more use: freed (DELETE) before it is forgotten.
      if (e.kind === 'auth') await this.dropSession();
      throw e;
    }
  }

  // ---------- discovery ----------

  /** The service root is readable without credentials (DSP0266); some BMCs want them anyway. */
  private async fetchRoot(): Promise<RedfishJson> {
    let { res, url } = await this.exchange('GET', ROOT_PATH, () => ({}));
    if (res.status === 401) {
      ({ res, url } = await this.exchange('GET', ROOT_PATH, () => this.basicHeader()));
      if (res.status === 401) this.refused(`GET ${url.pathname}: HTTP 401, credentials refused`);
    }
    return this.json('GET', url, res);
  }

  /** The chassis collection, each member to be discovered on its own. */
  private async discover(root: RedfishJson): Promise<ChassisSlot[]> {
    const collection = await this.get(link(root, 'Chassis') ?? '/redfish/v1/Chassis');
    return memberLinks(collection).map((path) => ({ path, plan: undefined }));
  }

  /**
   * A poll over the chassis: a known source is read, an unknown one discovered. A chassis' own
   * failure (HTTP status, bad JSON, a timeout) costs only its readings, and it is discovered again
   * on the next poll; when every chassis failed, the first error is the poll's.
   */
  private async readSlots(slots: ChassisSlot[]): Promise<{ readings: PlatformReading[]; errors: RedfishError[] }> {
    const readings: PlatformReading[] = [];
    const errors: RedfishError[] = [];
    for (const slot of slots) {
      try {
        let found = slot.plan === undefined ? [] : await this.readPlan(slot.plan);
        if (slot.plan === undefined || (found.length === 0 && slot.plan.source !== 'none')) {
          // New, failed last time, or the source that had readings has none now (a supply pulled): choose again.
          const again = await this.discoverChassis(slot.path);
          slot.plan = again.plan;
          found = again.readings;
        }
        readings.push(...found);
      } catch (err) {
        if (!this.chassisOwn(err)) throw err;
        slot.plan = undefined;
        errors.push(err);
      }
    }
    if (errors.length > 0 && errors.length === slots.length) throw errors[0];
    return { readings, errors };
  }

  /** An error of one chassis' resources, not of the BMC, the session or this poll. */
  private chassisOwn(err: unknown): err is RedfishError {
    if (!(err instanceof RedfishError) || this.closed || this.pollAborted !== undefined) return false;
    return err.kind === 'http' || err.kind === 'parse' || err.kind === 'timeout';
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
    return { plan: { chassis, source, psus: psus.map(({ psu, metricsPath }) => ({ psu, metricsPath })), environmentPath, powerPath }, readings };
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

  /** Throws 'auth' without a word to the BMC while these credentials are backed off. */
  private checkBackoff(): void {
    const b = loginBackoff.get(this.backoffKey);
    const leftMs = b === undefined ? 0 : b.untilMs - performance.now();
    if (b !== undefined && leftMs > 0) {
      throw new RedfishError('auth', `BMC ${this.target.id}: ${b.reason}; not trying these credentials again for ${Math.ceil(leftMs / 1000)} s`);
    }
  }

  /** The BMC refused the credentials: backed off (60 s, doubling to 15 min), kind auth. */
  private refused(reason: string): never {
    const prev = loginBackoff.get(this.backoffKey);
    const delayMs = prev === undefined ? LOGIN_BACKOFF_START_MS : Math.min(prev.delayMs * 2, LOGIN_BACKOFF_MAX_MS);
    loginBackoff.set(this.backoffKey, { untilMs: performance.now() + delayMs, delayMs, reason });
    throw new RedfishError('auth', `BMC ${this.target.id}: ${reason}`);
  }

  /** Logs in (sets this.auth), tracked for close(). */
  private async login(root: RedfishJson): Promise<void> {
    const running = this.loginOnce(root);
    const tracked = running.then(
      () => undefined,
      () => undefined,
    );
    this.loginRunning = tracked;
    try {
      await running;
    } finally {
      if (this.loginRunning === tracked) this.loginRunning = undefined;
    }
  }

  /**
   * A session when the service offers one; basic auth when it has no SessionService. The POST is
   * sent once, never again on a connection error: it may have created a session. When its answer
   * stops after the headers, the session they name is deleted.
   */
  private async loginOnce(root: RedfishJson): Promise<void> {
    const path = sessionsPath(root);
    if (path === undefined) {
      this.auth = BASIC;
      return;
    }
    this.checkBackoff();
    const url = this.url(path);
    const body = JSON.stringify({ UserName: this.target.username, Password: this.target.password });
    let early: Session | undefined;
    let res: Response;
    try {
      res = await this.send(
        'POST',
        url,
        { 'Content-Type': 'application/json' },
        {
          body,
          role: 'login',
          onHeaders: (status, headers) => {
            if (status >= 200 && status < 300) early = this.sessionOf(headers, undefined, url);
          },
        },
      );
    } catch (err) {
      if (early !== undefined) await this.deleteSession(early);
      throw err;
    }
    // A link to a service that is not there, or refuses POST: many older BMCs. Basic auth it is.
    if (res.status === 404 || res.status === 405 || res.status === 501) {
      this.auth = BASIC;
      return;
    }
    if (res.status === 401 || res.status === 403) this.refused(`POST ${url.pathname}: HTTP ${res.status}, credentials refused`);
    this.check('POST', url, res);
    loginBackoff.delete(this.backoffKey);
    const session = this.sessionOf(res.headers, res.body, url);
    if (session === undefined) {
      this.auth = BASIC;
      return;
    }
    if (this.closed) {
      // close() came while the BMC was answering: the session is not kept, so not left behind either.
      await this.deleteSession(session);
      throw this.closedError();
    }
    this.auth = session;
  }

  /** The session in a login's answer: its token, and its URI from Location, else from the body's @odata.id. */
  private sessionOf(headers: http.IncomingHttpHeaders, body: Buffer | undefined, url: URL): Session | undefined {
    const token = headers['x-auth-token'];
    if (typeof token !== 'string' || token === '') return undefined;
    let location: string | undefined;
    if (typeof headers.location === 'string' && headers.location !== '') {
      try {
        const at = new URL(headers.location, url);
        if (at.origin === this.base.origin) location = at.pathname;
      } catch {
        // not a URL: the body may say
      }
    }
    location ??= body === undefined ? undefined : this.sessionIdOf(body);
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

  private cleanupMs(): number {
    return Math.min(this.target.timeoutMs, CLEANUP_MAX_MS);
  }

  /** Best effort, bounded by min(timeoutMs, 2 s): the BMC frees the slot now, not at its own timeout. */
  private async deleteSession(session: Session): Promise<void> {
    if (session.location === undefined) return;
    try {
      await this.send('DELETE', this.url(session.location), { 'X-Auth-Token': session.token }, { role: 'cleanup', timeoutMs: this.cleanupMs() });
    } catch {
      // the BMC forgot it already, or cannot be reached: its session timeout ends it
    }
  }

  /** Forgets the credentials in use, deleting the session first. */
  private async dropSession(): Promise<void> {
    const auth = this.auth;
    this.auth = undefined;
    if (auth?.kind === 'session') await this.deleteSession(auth);
  }

  /**
   * A request with credentials; a session the BMC no longer accepts (401) is deleted, renewed once
   * and the request sent once more. 401 to basic auth: the credentials were refused (backed off).
   */
  private async authorized(method: string, path: string): Promise<{ res: Response; url: URL }> {
    const first = await this.exchange(method, path, () => this.authHeaders());
    if (first.res.status !== 401) {
      if (this.auth?.kind === 'basic') loginBackoff.delete(this.backoffKey); // basic auth's "login" was accepted
      return first;
    }
    if (this.auth?.kind === 'session' && this.root !== undefined) {
      await this.dropSession();
      await this.login(this.root);
      return this.exchange(method, path, () => this.authHeaders());
    }
    if (this.auth?.kind === 'basic') this.refused(`${method} ${first.url.pathname}: HTTP 401, credentials refused`);
    return first;
  }

  // ---------- requests ----------

  private async get(path: string): Promise<RedfishJson> {
    const { res, url } = await this.authorized('GET', path);
    return this.json('GET', url, res);
  }

  /** A linked resource that may be missing: no link, or a link to nothing (404), is no resource. */
  private async getOptional(path: string | undefined): Promise<RedfishJson | undefined> {
    if (path === undefined) return undefined;
    const { res, url } = await this.authorized('GET', path);
    return res.status === 404 ? undefined : this.json('GET', url, res);
  }

  /** 401 is a refusal of the credentials; 403 (a resource this account may not read) is not. */
  private check(method: string, url: URL, res: Response): void {
    if (res.status >= 200 && res.status < 300) return;
    const where = `BMC ${this.target.id}: ${method} ${url.pathname}`;
    if (res.status === 401) throw new RedfishError('auth', `${where}: HTTP 401, credentials refused`);
    throw new RedfishError('http', `${where}: HTTP ${res.status}`);
  }

  private json(method: string, url: URL, res: Response): RedfishJson {
    this.check(method, url, res);
    let parsed: unknown;
    try {
      parsed = JSON.parse(res.body.toString('utf8'));
    } catch (err) {
      throw new RedfishError('parse', `BMC ${this.target.id}: ${method} ${url.pathname}: not JSON (${describe(err)})`);
    }
    if (!isObject(parsed)) throw new RedfishError('parse', `BMC ${this.target.id}: ${method} ${url.pathname}: not a JSON object`);
    return parsed;
  }

  /** A path the BMC linked (or ours), as a URL on the endpoint: its path prefix kept. */
  private url(path: string): URL {
    let url: URL;
    try {
      url = new URL(path, this.base);
    } catch {
      throw new RedfishError('parse', `BMC ${this.target.id}: not a link: ${JSON.stringify(path.slice(0, 200))}`);
    }
    return this.prefixed(url);
  }

  /**
   * Behind a proxy (`https://proxy/bmc-3`) the BMC still links /redfish/v1/...: such a path on
   * the endpoint's origin gets the prefix, unless it has it already.
   */
  private prefixed(url: URL): URL {
    if (this.prefix !== '' && url.origin === this.base.origin && url.pathname.startsWith('/redfish') && !url.pathname.startsWith(`${this.prefix}/`)) {
      url.pathname = `${this.prefix}${url.pathname}`;
    }
    return url;
  }

  /** A request; a GET follows up to MAX_REDIRECTS redirects on the endpoint's origin, never elsewhere. */
  private async exchange(method: string, path: string, headers: () => Record<string, string>): Promise<{ res: Response; url: URL }> {
    let url = this.url(path);
    for (let redirects = 0; ; redirects++) {
      const res = await this.send(method, url, headers());
      const location = res.headers.location;
      if (method !== 'GET' || !REDIRECT_STATUSES.has(res.status) || typeof location !== 'string' || location === '') return { res, url };
      const where = `BMC ${this.target.id}: ${method} ${url.pathname}: HTTP ${res.status}`;
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        throw new RedfishError('http', `${where} to a Location that is not a URL`);
      }
      if (next.origin !== this.base.origin) throw new RedfishError('http', `${where} to another origin, not followed (credentials stay with the BMC): ${shown(next)}`);
      if (redirects >= MAX_REDIRECTS) throw new RedfishError('http', `${where}: more than ${MAX_REDIRECTS} redirects`);
      url = this.prefixed(next);
    }
  }

  private closedError(): RedfishError {
    return new RedfishError('connect', `BMC ${this.target.id}: client closed`);
  }

  private abortInFlight(err: RedfishError, roles: readonly Role[]): void {
    for (const r of [...this.inFlight]) if (roles.includes(r.role)) r.abort(err);
  }

  /**
   * One HTTP exchange, bounded by timeoutMs in all: a BMC that accepts the connection and never
   * answers (or trickles) times out too, not just an idle socket. A pooled connection the BMC
   * closed while idle fails at once with ECONNRESET: a GET or DELETE is sent once more on a new
   * one, a POST never (the BMC may have acted on it). Only to the endpoint's origin; after close()
   * or the poll's deadline, only a session's clean-up.
   */
  private send(method: string, url: URL, headers: Record<string, string>, opts: SendOptions = {}): Promise<Response> {
    const where = `BMC ${this.target.id}: ${method} ${url.pathname}`;
    const role = opts.role ?? 'poll';
    if (url.origin !== this.base.origin) return Promise.reject(new RedfishError('http', `${where}: not on the endpoint's origin (${url.origin}), not sent`));
    if (role !== 'cleanup') {
      if (this.closed) return Promise.reject(new RedfishError('connect', `${where}: client closed`));
      if (this.pollAborted !== undefined) return Promise.reject(this.pollAborted);
    }
    const timeoutMs = opts.timeoutMs ?? this.target.timeoutMs;
    const body = opts.body;
    return new Promise<Response>((resolve, reject) => {
      let settled = false;
      const entry: InFlight = { role, abort: (err) => settle(err) };
      const settle = (err: RedfishError | undefined, res?: Response) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.inFlight.delete(entry);
        if (err) {
          req.destroy();
          reject(err);
        } else if (res) resolve(res);
      };
      const req = (url.protocol === 'https:' ? httpsModule() : http).request(url, {
        method,
        agent: this.agent,
        timeout: timeoutMs,
        headers: { Accept: 'application/json', 'OData-Version': '4.0', ...headers, ...(body === undefined ? {} : { 'Content-Length': Buffer.byteLength(body) }) },
      });
      const timer = setTimeout(() => settle(new RedfishError('timeout', `${where}: no answer within ${timeoutMs} ms`)), timeoutMs);
      this.inFlight.add(entry);
      req.on('timeout', () => settle(new RedfishError('timeout', `${where}: connection idle for ${timeoutMs} ms`)));
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (settled) return;
        if (method !== 'POST' && !opts.retried && req.reusedSocket && err.code === 'ECONNRESET') {
          settled = true;
          clearTimeout(timer);
          this.inFlight.delete(entry);
          this.send(method, url, headers, { ...opts, retried: true }).then(resolve, reject);
          return;
        }
        settle(new RedfishError('connect', `${where}: ${describe(err)}`));
      });
      req.on('response', (res) => {
        opts.onHeaders?.(res.statusCode ?? 0, res.headers);
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
