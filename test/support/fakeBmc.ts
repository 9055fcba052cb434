// Test helper: a BMC speaking Redfish over HTTPS (real TLS, a self-signed certificate made by
// openssl) or plain HTTP, with resources in the shapes of DMTF's mockups (public-rackmount1 and
// friends): ServiceRoot, SessionService with Sessions, ChassisCollection, Chassis, PowerSubsystem,
// PowerSupplyCollection, PowerSupply, PowerSupplyMetrics, EnvironmentMetrics and the deprecated
// Power. No Redfish server package is reachable on the test machines; this is the lowest layer the
// exporter's client talks to, and test/support/sushy_power.py reads it with OpenStack's sushy to
// keep its shapes honest. The test changes the readings, the credentials and the faults between
// polls: per-path faults and redirects, delayed or hung answers, a login reset or cut after its
// headers, and a BMC mounted under a proxy's path prefix.

import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { makeCertificate } from './fakeKube.js';

export interface FakePsu {
  id: string;
  name?: string;
  /** InputPowerWatts.Reading; null: the BMC has no reading (DMTF allows null). */
  inputWatts: number | null;
  /** Status.State Absent: an empty bay (no Metrics link). */
  absent?: boolean;
  energyKwh?: number;
}

export interface FakeChassis {
  id: string;
  /** A PowerSubsystem with these supplies; undefined: no PowerSubsystem link. */
  psus?: FakePsu[];
  /** An EnvironmentMetrics resource with PowerWatts.Reading; undefined: no link. */
  environmentWatts?: number;
  environmentEnergyKwh?: number;
  /** The deprecated Power resource's PowerControl; undefined: no Power link. */
  powerControl?: { memberId: string; name?: string; consumedWatts: number; physicalContext?: string }[];
}

export interface FakeBmcOptions {
  username: string;
  password: string;
  /** Offer a SessionService (default true); without it the client must use basic auth. */
  sessions?: boolean;
  chassis: FakeChassis[];
  /** Plain HTTP instead of HTTPS. */
  plainHttp?: boolean;
  /**
   * Mounted under this path, as behind a reverse proxy (`/bmc-3`): only `${prefix}/redfish/...` is
   * served, and `url` ends with the prefix. The bodies' links and the Location headers keep the
   * BMC's own paths (/redfish/v1/...), as a proxy that rewrites nothing, unless prefixLinks.
   */
  prefix?: string;
  /** Behind the prefix, links and Location headers carry it too (a proxy that rewrites them). */
  prefixLinks?: boolean;
}

export interface FakeBmcRequest {
  method: string;
  /** The path asked for, prefix included, without a trailing slash. */
  path: string;
  /** The path exactly as asked for (a trailing slash kept), without the query. */
  rawPath: string;
  /** The credentials the request carried (valid or not). */
  auth: 'session' | 'basic' | 'none';
  /** The status answered; undefined while hanging. */
  status?: number;
}

interface Reply {
  status: number;
  /** JSON, or a string sent as is. */
  body?: unknown;
  headers?: Record<string, string>;
  /** Send the headers and the first bytes of the body, never the rest. */
  partial?: boolean;
}

const ROOT = '/redfish/v1';
const SESSIONS = `${ROOT}/SessionService/Sessions`;
const odata = (id: string) => ({ '@odata.id': id });
const collection = (id: string, type: string, name: string, members: string[]) => ({
  '@odata.type': `#${type}.${type}`,
  '@odata.id': id,
  Name: name,
  Members: members.map(odata),
  'Members@odata.count': members.length,
});

export class FakeBmc {
  /** The endpoint a client is configured with: the origin, and the prefix when mounted under one. */
  readonly url: string;
  /** scheme://host:port, without the prefix. */
  readonly origin: string;
  readonly caPem: Buffer;
  /** The path of the CA (the self-signed certificate itself) for tools that take a file, like sushy. */
  readonly caFile: string;
  chassis: FakeChassis[];
  /** Accept requests and never answer. */
  hang = false;
  /** Answer 503 to everything. */
  down = false;
  /** Answer 200 with a body that is not JSON to everything but login. */
  badJson = false;
  /** Accept these requests (method, path without the prefix) and never answer them. */
  hangWhen: (method: string, path: string) => boolean = () => false;
  /** Answer these requests (method, path without the prefix) only after this many ms. */
  delayFor: (method: string, path: string) => number = () => 0;
  /** Per path (without the prefix or a trailing slash), for valid credentials: this status, or 200 with a body that is not JSON. */
  readonly faults = new Map<string, number | 'badJson'>();
  /** Per path: answer 401 once, even to a valid session (a BMC that dropped it for a moment). */
  readonly unauthorizedOnce = new Set<string>();
  /** Per raw path (without the prefix, trailing slash as asked): a redirect, before anything else. */
  readonly redirects = new Map<string, { status: number; location: string }>();
  /** The next login POST: close the connection when it arrives, creating nothing. */
  resetNextLogin = false;
  /** Logins: create the session, send its headers (X-Auth-Token, Location) and never the whole body. */
  hangLoginBody = false;
  /** The credentials accepted; a test may change them (a rotated password). */
  username: string;
  password: string;
  readonly requests: FakeBmcRequest[] = [];
  private readonly sessions = new Map<string, string>(); // token -> session id
  private nextSession = 1;
  private readonly prefix: string;
  private readonly prefixLinks: boolean;

  private constructor(
    private readonly server: http.Server | https.Server,
    opts: FakeBmcOptions,
    tls: { certFile: string; caPem: Buffer },
    private readonly sessionService: boolean,
  ) {
    this.prefix = (opts.prefix ?? '').replace(/\/+$/, '');
    this.prefixLinks = opts.prefixLinks ?? false;
    this.chassis = opts.chassis;
    this.username = opts.username;
    this.password = opts.password;
    this.caPem = tls.caPem;
    this.caFile = tls.certFile;
    const port = (server.address() as AddressInfo).port;
    this.origin = `${opts.plainHttp ? 'http' : 'https'}://127.0.0.1:${port}`;
    this.url = `${this.origin}${this.prefix}`;
  }

  /** Starts a BMC on 127.0.0.1 (a random port); its certificate is written under `dir`. */
  static async start(dir: string, opts: FakeBmcOptions): Promise<FakeBmc> {
    const cert = makeCertificate(dir, `bmc-${randomBytes(4).toString('hex')}`);
    const caPem = readFileSync(cert.certFile);
    let bmc: FakeBmc | undefined;
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      if (bmc) bmc.handle(req, res);
    };
    const server = opts.plainHttp ? http.createServer(handler) : https.createServer({ cert: caPem, key: readFileSync(cert.keyFile) }, handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    bmc = new FakeBmc(server, opts, { certFile: cert.certFile, caPem }, opts.sessions ?? true);
    return bmc;
  }

  activeSessions(): number {
    return this.sessions.size;
  }

  /** The BMC forgets every session (a timeout, a BMC reset): tokens get 401 from now on. */
  forgetSessions(): void {
    this.sessions.clear();
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const method = req.method ?? 'GET';
    const rawFull = (req.url ?? '/').split('?')[0];
    // Behind a prefix only what is under it is the BMC's; the rest is the proxy's 404.
    const inside = this.prefix === '' || rawFull === this.prefix || rawFull.startsWith(`${this.prefix}/`);
    const rawPath = inside ? rawFull.slice(this.prefix.length) || '/' : undefined;
    // Redfish paths are the same with or without a trailing slash (sushy asks for /redfish/v1/).
    const normalize = (p: string) => p.replace(/(.)\/+$/, '$1');
    const token = req.headers['x-auth-token'];
    const basic = req.headers.authorization?.startsWith('Basic ') ? req.headers.authorization.slice(6) : undefined;
    const record: FakeBmcRequest = { method, path: normalize(rawFull), rawPath: rawFull, auth: typeof token === 'string' ? 'session' : basic !== undefined ? 'basic' : 'none' };
    this.requests.push(record);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = rawPath === undefined ? undefined : normalize(rawPath);
      if (this.hang || (path !== undefined && this.hangWhen(method, path))) return; // the connection stays open, the answer never comes
      if (method === 'POST' && path === SESSIONS && this.resetNextLogin) {
        this.resetNextLogin = false;
        req.socket.destroy();
        return;
      }
      const answer = () => {
        // A real BMC acts on the request whether or not the client is still there to hear the answer.
        const reply: Reply =
          rawPath === undefined || path === undefined
            ? { status: 404, body: redfishError('Base.1.8.ResourceMissingAtURI', 'Not under the proxy prefix.') }
            : (this.redirect(rawPath) ?? this.reply(method, path, typeof token === 'string' ? token : undefined, basic, Buffer.concat(chunks).toString('utf8')));
        record.status = reply.status;
        if (res.destroyed) return;
        let text = reply.body === undefined ? '' : typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
        const headers = { ...reply.headers };
        if (this.prefixLinks && this.prefix !== '') {
          text = text.replaceAll('"/redfish/', `"${this.prefix}/redfish/`);
          if (headers.Location?.startsWith('/redfish/')) headers.Location = `${this.prefix}${headers.Location}`;
        }
        res.writeHead(reply.status, { 'Content-Type': 'application/json', 'OData-Version': '4.0', ...headers });
        if (reply.partial) res.write(text.slice(0, 8));
        else res.end(text);
      };
      const delay = path === undefined ? 0 : this.delayFor(method, path);
      if (delay > 0) setTimeout(answer, delay);
      else answer();
    });
  }

  private redirect(rawPath: string): Reply | undefined {
    const r = this.redirects.get(rawPath);
    return r === undefined ? undefined : { status: r.status, headers: { Location: r.location } };
  }

  private reply(method: string, path: string, token: string | undefined, basic: string | undefined, body: string): Reply {
    if (this.down) return { status: 503, body: redfishError('Base.1.8.ServiceTemporarilyUnavailable', 'The service is temporarily unavailable.') };

    // Open to everyone, as DSP0266 says: the service root, and the login itself.
    if (method === 'GET' && (path === '/redfish' || path === ROOT)) return { status: 200, body: this.badJson ? '<html>oops' : this.serviceRoot() };
    if (method === 'POST' && path === SESSIONS) {
      if (!this.sessionService) return { status: 404, body: redfishError('Base.1.8.ResourceMissingAtURI', 'No SessionService here.') };
      return this.login(body);
    }

    const sessionOk = token !== undefined && this.sessions.has(token);
    const basicOk = basic !== undefined && basic === Buffer.from(`${this.username}:${this.password}`).toString('base64');
    const unauthorized: Reply = { status: 401, body: redfishError('Base.1.8.InsufficientPrivilege', 'Unauthorized.'), headers: { 'WWW-Authenticate': 'Basic realm="BMC"' } };
    if (!sessionOk && !basicOk) return unauthorized;
    if (this.unauthorizedOnce.delete(path)) return unauthorized;
    const fault = this.faults.get(path);
    if (fault === 'badJson') return { status: 200, body: '{"@odata.id": "truncated' };
    if (fault === 401) return unauthorized;
    if (fault === 403) return { status: 403, body: redfishError('Base.1.8.InsufficientPrivilege', 'Forbidden.') };
    if (fault !== undefined) return { status: fault, body: redfishError('Base.1.8.InternalError', `HTTP ${fault}.`) };

    if (method === 'DELETE' && path.startsWith(`${SESSIONS}/`)) {
      const id = path.slice(SESSIONS.length + 1);
      const entry = [...this.sessions].find(([, sid]) => sid === id);
      if (!entry) return { status: 404, body: redfishError('Base.1.8.ResourceMissingAtURI', 'No such session.') };
      this.sessions.delete(entry[0]);
      return { status: 204 };
    }
    if (method !== 'GET') return { status: 405, body: redfishError('Base.1.8.OperationNotAllowed', 'Not allowed.') };
    if (this.badJson) return { status: 200, body: '{"@odata.id": "truncated' };
    const resource = this.resource(path);
    return resource === undefined ? { status: 404, body: redfishError('Base.1.8.ResourceMissingAtURI', `No resource at ${path}.`) } : { status: 200, body: resource };
  }

  private login(body: string): Reply {
    let creds: unknown;
    try {
      creds = JSON.parse(body);
    } catch {
      return { status: 400, body: redfishError('Base.1.8.MalformedJSON', 'Malformed JSON.') };
    }
    const c = creds as { UserName?: unknown; Password?: unknown };
    if (c.UserName !== this.username || c.Password !== this.password) return { status: 401, body: redfishError('Base.1.8.NoValidSession', 'Invalid credentials.') };
    const id = String(this.nextSession++);
    const token = randomBytes(16).toString('hex');
    this.sessions.set(token, id);
    const uri = `${SESSIONS}/${id}`;
    return {
      status: 201,
      body: { '@odata.type': '#Session.v1_3_0.Session', '@odata.id': uri, Id: id, Name: `User Session ${id}`, UserName: this.username },
      headers: { 'X-Auth-Token': token, Location: uri },
      partial: this.hangLoginBody,
    };
  }

  private serviceRoot(): object {
    return {
      '@odata.type': '#ServiceRoot.v1_15_0.ServiceRoot',
      '@odata.id': `${ROOT}/`,
      Id: 'RootService',
      Name: 'Root Service',
      RedfishVersion: '1.15.0',
      UUID: '92384634-2938-2342-8820-489239905423',
      Chassis: odata(`${ROOT}/Chassis`),
      ...(this.sessionService ? { SessionService: odata(`${ROOT}/SessionService`), Links: { Sessions: odata(SESSIONS) } } : { Links: {} }),
    };
  }

  /** The resource at `path`, built from the current chassis list; undefined: 404. */
  private resource(path: string): object | undefined {
    if (this.sessionService && path === `${ROOT}/SessionService`) {
      return {
        '@odata.type': '#SessionService.v1_1_8.SessionService',
        '@odata.id': path,
        Id: 'SessionService',
        Name: 'Session Service',
        ServiceEnabled: true,
        SessionTimeout: 30,
        Sessions: odata(SESSIONS),
      };
    }
    if (this.sessionService && path === SESSIONS) {
      return collection(
        path,
        'SessionCollection',
        'Session Collection',
        [...this.sessions.values()].map((id) => `${SESSIONS}/${id}`),
      );
    }
    if (path === `${ROOT}/Chassis`)
      return collection(
        path,
        'ChassisCollection',
        'Chassis Collection',
        this.chassis.map((c) => `${ROOT}/Chassis/${c.id}`),
      );
    const m = /^\/redfish\/v1\/Chassis\/([^/]+)(?:\/(.*))?$/.exec(path);
    if (!m) return undefined;
    const ch = this.chassis.find((c) => c.id === decodeURIComponent(m[1]));
    if (!ch) return undefined;
    const base = `${ROOT}/Chassis/${ch.id}`;
    const rest = m[2] ?? '';
    if (rest === '') return chassisResource(ch, base);
    if (rest === 'EnvironmentMetrics' && ch.environmentWatts !== undefined) {
      return {
        '@odata.type': '#EnvironmentMetrics.v1_3_0.EnvironmentMetrics',
        '@odata.id': path,
        Id: 'EnvironmentMetrics',
        Name: `Chassis ${ch.id} Environment Metrics`,
        PowerWatts: { DataSourceUri: `${base}/Sensors/TotalPower`, Reading: ch.environmentWatts },
        ...(ch.environmentEnergyKwh === undefined ? {} : { EnergykWh: { DataSourceUri: `${base}/Sensors/TotalEnergy`, Reading: ch.environmentEnergyKwh } }),
      };
    }
    if (rest === 'Power' && ch.powerControl) {
      return {
        '@odata.type': '#Power.v1_7_1.Power',
        '@odata.id': path,
        Id: 'Power',
        Name: 'Power',
        PowerControl: ch.powerControl.map((pc, i) => ({
          '@odata.id': `${path}#/PowerControl/${i}`,
          MemberId: pc.memberId,
          Name: pc.name ?? 'System Power Control',
          PowerConsumedWatts: pc.consumedWatts,
          ...(pc.physicalContext === undefined ? {} : { PhysicalContext: pc.physicalContext }),
          PowerCapacityWatts: 1600,
          PowerMetrics: { IntervalInMin: 1, MinConsumedWatts: pc.consumedWatts, MaxConsumedWatts: pc.consumedWatts, AverageConsumedWatts: pc.consumedWatts },
          Status: { State: 'Enabled', Health: 'OK' },
        })),
        'PowerControl@odata.count': ch.powerControl.length,
      };
    }
    if (!ch.psus) return undefined;
    const subsystem = `${base}/PowerSubsystem`;
    const supplies = `${subsystem}/PowerSupplies`;
    if (rest === 'PowerSubsystem') {
      return {
        '@odata.type': '#PowerSubsystem.v1_1_0.PowerSubsystem',
        '@odata.id': subsystem,
        Id: 'PowerSubsystem',
        Name: 'Power Subsystem for Chassis',
        CapacityWatts: 2000,
        PowerSupplies: odata(supplies),
        Status: { State: 'Enabled', Health: 'OK' },
      };
    }
    if (rest === 'PowerSubsystem/PowerSupplies')
      return collection(
        supplies,
        'PowerSupplyCollection',
        'Power Supply Collection',
        ch.psus.map((p) => `${supplies}/${p.id}`),
      );
    const p = /^PowerSubsystem\/PowerSupplies\/([^/]+)(\/Metrics)?$/.exec(rest);
    const psu = p ? ch.psus.find((s) => s.id === decodeURIComponent(p[1])) : undefined;
    if (!p || !psu) return undefined;
    const psuPath = `${supplies}/${psu.id}`;
    if (p[2] === undefined) {
      return {
        '@odata.type': '#PowerSupply.v1_5_0.PowerSupply',
        '@odata.id': psuPath,
        Id: psu.id,
        Name: psu.name ?? `Power Supply ${psu.id}`,
        Status: psu.absent ? { State: 'Absent' } : { State: 'Enabled', Health: 'OK' },
        ...(psu.absent ? {} : { Manufacturer: 'Contoso Power', Model: 'RKS-440DC', PowerCapacityWatts: 1000, Metrics: odata(`${psuPath}/Metrics`) }),
      };
    }
    if (psu.absent) return undefined;
    return {
      '@odata.type': '#PowerSupplyMetrics.v1_1_0.PowerSupplyMetrics',
      '@odata.id': `${psuPath}/Metrics`,
      Id: 'Metrics',
      Name: `Metrics for Power Supply ${psu.id}`,
      InputPowerWatts: { DataSourceUri: `${base}/Sensors/${psu.id}InputPower`, Reading: psu.inputWatts },
      OutputPowerWatts: { DataSourceUri: `${base}/Sensors/${psu.id}OutputPower`, Reading: psu.inputWatts === null ? null : Math.round(psu.inputWatts * 0.92 * 100) / 100 },
      ...(psu.energyKwh === undefined ? {} : { EnergykWh: { DataSourceUri: `${base}/Sensors/${psu.id}Energy`, Reading: psu.energyKwh } }),
      Status: { State: 'Enabled', Health: 'OK' },
    };
  }
}

function chassisResource(ch: FakeChassis, base: string): object {
  return {
    '@odata.type': '#Chassis.v1_23_0.Chassis',
    '@odata.id': base,
    Id: ch.id,
    Name: `Computer System Chassis ${ch.id}`,
    ChassisType: 'RackMount',
    Manufacturer: 'Contoso',
    PowerState: 'On',
    Status: { State: 'Enabled', Health: 'OK' },
    ...(ch.psus ? { PowerSubsystem: odata(`${base}/PowerSubsystem`) } : {}),
    ...(ch.environmentWatts !== undefined ? { EnvironmentMetrics: odata(`${base}/EnvironmentMetrics`) } : {}),
    ...(ch.powerControl ? { Power: odata(`${base}/Power`) } : {}),
    Links: {},
  };
}

/** DSP0266's error body. */
function redfishError(code: string, message: string): object {
  return { error: { code, message, '@Message.ExtendedInfo': [{ MessageId: code, Message: message, Severity: 'Critical' }] } };
}
