// Test helper: a BMC speaking Redfish over HTTPS (real TLS, a self-signed certificate made by
// openssl) or plain HTTP, with resources in the shapes of DMTF's mockups (public-rackmount1 and
// friends): ServiceRoot, SessionService with Sessions, ChassisCollection, Chassis, PowerSubsystem,
// PowerSupplyCollection, PowerSupply, PowerSupplyMetrics, EnvironmentMetrics and the deprecated
// Power. No Redfish server package is reachable on the test machines; this is the lowest layer the
// exporter's client talks to, and test/support/sushy_power.py reads it with OpenStack's sushy to
// keep its shapes honest. The test changes the readings, the credentials and the faults between
// polls.

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
  powerControl?: { memberId: string; name?: string; consumedWatts: number }[];
}

export interface FakeBmcOptions {
  username: string;
  password: string;
  /** Offer a SessionService (default true); without it the client must use basic auth. */
  sessions?: boolean;
  chassis: FakeChassis[];
  /** Plain HTTP instead of HTTPS. */
  plainHttp?: boolean;
}

export interface FakeBmcRequest {
  method: string;
  path: string;
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
  readonly url: string;
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
  /** The credentials accepted; a test may change them (a rotated password). */
  username: string;
  password: string;
  readonly requests: FakeBmcRequest[] = [];
  private readonly sessions = new Map<string, string>(); // token -> session id
  private nextSession = 1;

  private constructor(
    private readonly server: http.Server | https.Server,
    opts: FakeBmcOptions,
    tls: { certFile: string; caPem: Buffer },
    private readonly sessionService: boolean,
  ) {
    this.chassis = opts.chassis;
    this.username = opts.username;
    this.password = opts.password;
    this.caPem = tls.caPem;
    this.caFile = tls.certFile;
    const port = (server.address() as AddressInfo).port;
    this.url = `${opts.plainHttp ? 'http' : 'https'}://127.0.0.1:${port}`;
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
    // Redfish paths are the same with or without a trailing slash (sushy asks for /redfish/v1/).
    const path = (req.url ?? '/').split('?')[0].replace(/(.)\/+$/, '$1');
    const token = req.headers['x-auth-token'];
    const basic = req.headers.authorization?.startsWith('Basic ') ? req.headers.authorization.slice(6) : undefined;
    const record: FakeBmcRequest = { method, path, auth: typeof token === 'string' ? 'session' : basic !== undefined ? 'basic' : 'none' };
    this.requests.push(record);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (this.hang) return; // the connection stays open, the answer never comes
      const reply = this.reply(method, path, typeof token === 'string' ? token : undefined, basic, Buffer.concat(chunks).toString('utf8'));
      record.status = reply.status;
      const text = reply.body === undefined ? '' : typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
      res.writeHead(reply.status, { 'Content-Type': 'application/json', 'OData-Version': '4.0', ...reply.headers });
      res.end(text);
    });
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
    if (!sessionOk && !basicOk) return { status: 401, body: redfishError('Base.1.8.InsufficientPrivilege', 'Unauthorized.'), headers: { 'WWW-Authenticate': 'Basic realm="BMC"' } };

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
