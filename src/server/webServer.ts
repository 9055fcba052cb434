// The HTTP(S) server behind /metrics and the landing page: one listener per
// --web.listen-address, TLS / basic auth / extra headers from the exporter-toolkit web config,
// exact-path routes, GET and HEAD only. Failures in a handler become a 500, never a crash, and
// close() finishes in bounded time even with scrapers holding keep-alive connections open.
// Basic auth's bcrypt checks run in worker threads (BcryptPool); when too many are under way a
// request is answered 429 at once instead of waiting.

import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type https from 'node:https';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { ConfigError } from '../config/config.js';
import { parseListenAddress, type ListenAddress } from '../config/listenAddress.js';
import type { Logger } from '../logger/logger.js';
import { BasicAuth } from './basicAuth.js';
import { BcryptPool } from './bcryptPool.js';
import { loadWebConfig, type ClientAuthType, type WebConfig } from './webConfig.js';
import { httpsModule } from '../util/lazyBuiltins.js';

export type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface RouteOptions {
  /**
   * Whether basic auth (when configured) guards the route; true when absent. false is for what
   * must answer without credentials and reveals nothing worth them (/healthz, for kubelet probes):
   * its answer then waits for no bcrypt check. TLS applies to every route alike.
   */
  auth?: boolean;
}

interface Route {
  handler: Handler;
  auth: boolean;
}

export interface WebServerOptions {
  listenAddresses: string[];
  /** Path of the exporter-toolkit web config; '' for plain HTTP without auth. */
  webConfigFile: string;
  logger: Logger;
}

export class WebServer {
  private readonly listen: (ListenAddress & { text: string })[];
  private readonly config: WebConfig;
  private readonly auth?: BasicAuth;
  private readonly bcrypt?: BcryptPool;
  private readonly logger: Logger;
  private readonly routes = new Map<string, Route>();
  private readonly servers: (http.Server | https.Server)[] = [];
  /** Every open socket, so close() can end those still open at its deadline. */
  private readonly sockets = new Set<Socket>();
  private closing = false;

  /** Throws ConfigError for a bad listen address or web config, before anything listens. */
  constructor(opts: WebServerOptions) {
    this.logger = opts.logger;
    if (opts.listenAddresses.length === 0) throw new ConfigError('web.listenAddresses: empty: at least one address is needed, e.g. ":28282"');
    this.listen = opts.listenAddresses.map((text) => {
      try {
        return { text, ...parseListenAddress(text) };
      } catch (err) {
        throw new ConfigError(`web.listenAddresses: ${(err as Error).message}`, { cause: err });
      }
    });
    this.config = opts.webConfigFile ? loadWebConfig(opts.webConfigFile) : { users: new Map(), headers: {}, warnings: [] };
    for (const w of this.config.warnings) this.logger.warn(w);
    if (this.config.users.size > 0) {
      const pool = new BcryptPool({ onError: (err) => this.logger.error('basic auth: bcrypt worker lost, its checks denied', { err }) });
      this.bcrypt = pool;
      this.auth = new BasicAuth(this.config.users, (password, hash) => pool.compare(password, hash));
    }
  }

  /** Basic auth's answers other than 'ok' since start; undefined without basic auth. */
  authStats(): { denied: number; busy: number } | undefined {
    return this.auth ? { ...this.auth.failures } : undefined;
  }

  private busySinceWarn = 0;
  private lastBusyWarnMs = -Infinity;

  private warnBusy(remote: string | undefined): void {
    this.busySinceWarn++;
    const now = performance.now();
    if (now - this.lastBusyWarnMs < 60_000) return;
    this.logger.warn('basic auth: requests refused with 429, too many unverified credentials to check (wrong passwords?)', {
      refused: this.busySinceWarn,
      last_remote: remote ?? 'unknown',
    });
    this.busySinceWarn = 0;
    this.lastBusyWarnMs = now;
  }

  /** Serve `handler` at exactly `path` (the query string is ignored). */
  route(path: string, handler: Handler, opts: RouteOptions = {}): void {
    this.routes.set(path, { handler, auth: opts.auth ?? true });
  }

  /** Listens on every address; rejects naming the address that failed (nothing stays open). */
  async start(): Promise<void> {
    if (this.servers.length > 0) throw new Error('web server already started');
    const onRequest = (req: IncomingMessage, res: ServerResponse): void => void this.handle(req, res);
    for (const addr of this.listen) {
      const server = this.createServer(onRequest);
      this.servers.push(server);
      try {
        await listenOn(server, addr);
      } catch (err) {
        await this.close(0);
        throw new Error(`cannot listen on ${JSON.stringify(addr.text)}: ${describeListenError(err)}`, { cause: err });
      }
      // Errors after listening (e.g. EMFILE on accept) must not crash the exporter.
      server.on('error', (err) => this.logger.error('web server error', { address: addr.text, err }));
      this.logger.info('web server listening', {
        address: addr.text,
        tls: this.config.tls !== undefined,
        basicAuth: this.auth !== undefined,
      });
    }
  }

  /** The bound addresses: the real port when listening on port 0. */
  addresses(): { address: string; port: number }[] {
    return this.servers.flatMap((s) => {
      const a = s.address();
      return a && typeof a === 'object' ? [{ address: a.address, port: a.port }] : [];
    });
  }

  /**
   * Stops accepting, lets in-flight requests finish, and destroys what is still open after 3/4 of
   * `deadlineMs`, so it resolves within the deadline. Idle keep-alive sockets close at once.
   */
  async close(deadlineMs = 4000): Promise<void> {
    this.closing = true;
    const force = setTimeout(
      () => {
        for (const s of this.sockets) s.destroy();
      },
      Math.floor(deadlineMs * 0.75),
    );
    try {
      // server.close() also closes idle keep-alive connections (Node >= 19); its callback runs
      // once every connection is gone (with an error if it never listened, which is fine here).
      await Promise.all(this.servers.map((s) => new Promise<void>((done) => s.close(() => done()))));
    } finally {
      clearTimeout(force);
      // After the requests: one still being answered may need its bcrypt check.
      await this.bcrypt?.close();
    }
  }

  private createServer(onRequest: (req: IncomingMessage, res: ServerResponse) => void): http.Server | https.Server {
    const tls = this.config.tls;
    let server: http.Server | https.Server;
    if (tls) {
      const { clientAuth, ...options } = tls;
      // https (with tls and crypto) is loaded only here, with TLS configured (lazyBuiltins.ts).
      server = httpsModule().createServer(options, onRequest);
      // Before the HTTP layer sees the socket: the two policies Node's options cannot express.
      server.prependListener('secureConnection', (s: TLSSocket) => {
        if (clientCertAcceptable(s, clientAuth)) return;
        this.logger.debug('TLS client certificate refused', { policy: clientAuth, remote: s.remoteAddress });
        s.destroy();
      });
      server.on('tlsClientError', (err) => this.logger.debug('TLS handshake failed', { err }));
    } else {
      server = http.createServer(onRequest);
    }
    server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
    return server;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = requestPath(req.url);
    try {
      for (const [name, value] of Object.entries(this.config.headers)) res.setHeader(name, value);
      if (this.closing) {
        // Shutting down: answer, then close, so the connection does not outlive the server.
        res.setHeader('Connection', 'close');
      } else {
        // Started before close(): once answered its keep-alive socket is idle, so close it then.
        res.once('finish', () => {
          if (this.closing) setImmediate(() => this.servers.forEach((s) => s.closeIdleConnections()));
        });
      }
      const route = path === undefined ? undefined : this.routes.get(path);
      // Auth first, as exporter-toolkit does: without credentials even a 404 reveals nothing.
      if (this.auth && route?.auth !== false) {
        const result = await this.auth.check(req.headers.authorization, req.socket.remoteAddress ?? '');
        if (result === 'busy') {
          // Not checked: too many checks under way (a flood of wrong passwords, most likely).
          // One WARN a minute at most: a flood would otherwise flood the log too.
          this.warnBusy(req.socket.remoteAddress);
          res.setHeader('Retry-After', '1');
          sendText(res, 429, 'Too Many Requests\n');
          return;
        }
        if (result !== 'ok') {
          res.setHeader('WWW-Authenticate', 'Basic realm="kepler-ts"');
          sendText(res, 401, 'Unauthorized\n');
          return;
        }
      }
      if (!route) {
        sendText(res, 404, '404 page not found\n');
        return;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.setHeader('Allow', 'GET, HEAD');
        sendText(res, 405, 'Method Not Allowed\n');
        return;
      }
      await route.handler(req, res); // Node drops the body of HEAD responses itself.
    } catch (err) {
      this.logger.error('HTTP handler failed', { path, method: req.method, err });
      if (!res.headersSent) sendText(res, 500, 'Internal Server Error\n');
      else res.destroy(); // Half-sent: cutting it off is the only way to signal the failure.
    }
  }
}

function listenOn(server: http.Server, addr: ListenAddress): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    // No host: Node binds "::" dual-stack (or 0.0.0.0 without IPv6), like Go's ":port".
    server.listen({ port: addr.port, host: addr.host }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function describeListenError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'EADDRINUSE') return 'address already in use (EADDRINUSE)';
  if (e.code === 'EACCES') return 'permission denied (EACCES); ports below 1024 need root or CAP_NET_BIND_SERVICE';
  if (e.code === 'EADDRNOTAVAIL') return 'no such local address (EADDRNOTAVAIL)';
  if (e.code === 'ENOTFOUND') return 'host name not found (ENOTFOUND)';
  return e.message ?? String(err);
}

/** RequireAnyClientCert needs some certificate; VerifyClientCertIfGiven rejects an unverified one. */
function clientCertAcceptable(s: TLSSocket, policy: ClientAuthType): boolean {
  const given = Object.keys(s.getPeerCertificate() ?? {}).length > 0;
  if (policy === 'RequireAnyClientCert') return given;
  if (policy === 'VerifyClientCertIfGiven') return !given || s.authorized;
  return true; // The others are enforced (or not required) by Node's own options.
}

/** The path of an origin-form ("/metrics?x") or absolute-form ("http://h/metrics") target. */
function requestPath(url: string | undefined): string | undefined {
  const target = url ?? '/';
  if (target.startsWith('/')) return target.split('?')[0];
  try {
    return new URL(target).pathname;
  } catch {
    return undefined;
  }
}

function sendText(res: ServerResponse, status: number, body: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.end(body);
}
