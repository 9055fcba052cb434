// One scrape of a metrics endpoint for `kepler-ts top`: a GET with Node's http/https (TLS with a
// CA, a client certificate, a server name, or no verification; basic auth or an Authorization
// header; gzip accepted), then the checks that it is a Kepler exporter at all. Node's own http
// client rather than fetch: fetch takes no CA, client certificate or server name without a
// dependency (undici's Agent), and says "fetch failed" where the user needs ECONNREFUSED.
//
// Every failure becomes a ScrapeError whose message is one line that says what to do: the URL and
// the errno when it cannot be reached, whether credentials were sent when they are refused, the
// flag to use when the certificate is not trusted, and what the page looked like when it is not
// Kepler's. Its message is made printable when it is built: a reason phrase or an error page is
// the server's text, and goes to a terminal.

import { X509Certificate } from 'node:crypto';
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import { createSecureContext } from 'node:tls';
import { createGunzip } from 'node:zlib';
import { formatDuration } from '../config/duration.js';
import { familyNames, parseExposition, type Exposition } from './exposition.js';
import { scrapeAt, type Scrape } from './reading.js';
import { printable } from './text.js';

export type Credentials = { kind: 'basic'; username: string; password: string } | { kind: 'authorization'; type: string; credentials: string };

export interface TlsSettings {
  /** PEM text, not file names: the files are read (and their errors reported) when the flags are. */
  ca?: string;
  cert?: string;
  key?: string;
  serverName?: string;
  insecureSkipVerify: boolean;
}

export interface Target {
  /** Without credentials: it is quoted in messages. */
  url: URL;
  timeoutMs: number;
  credentials?: Credentials;
  tls: TlsSettings;
}

export type ScrapeFailure = 'unreachable' | 'timeout' | 'tls' | 'auth' | 'http' | 'not-kepler';

export class ScrapeError extends Error {
  override readonly name = 'ScrapeError';
  constructor(
    message: string,
    readonly failure: ScrapeFailure,
  ) {
    super(printable(message));
  }
}

/** What is wrong with TLS material (PEM text), and which of the three it is in. */
export interface TlsProblem {
  field: 'ca' | 'cert' | 'key';
  problem: string;
}

/** OpenSSL's reason without its code: "key values mismatch", not "error:05800074:x509 certificate routines::key values mismatch". */
function opensslReason(err: unknown): string {
  const message = (err instanceof Error ? err.message : String(err)).split('\n')[0];
  return printable(message.replace(/^error:[0-9A-Fa-f]+:[^:]*::?/, ''));
}

/**
 * Checks CA certificates, a client certificate and its key the way a request would load them,
 * so that a problem is found when the flags are read, with the flag's name, rather than thrown
 * out of the first request. undefined: nothing wrong.
 */
export function checkTlsMaterial(m: { ca?: string; cert?: string; key?: string }): TlsProblem | undefined {
  if (m.ca !== undefined) {
    // Node skips what is not a certificate in `ca` without a word: trusting nothing, silently.
    const blocks = m.ca.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
    if (blocks.length === 0) return { field: 'ca', problem: 'no PEM certificate in it (-----BEGIN CERTIFICATE-----)' };
    for (const block of blocks) {
      try {
        new X509Certificate(block);
      } catch (err) {
        return { field: 'ca', problem: `a certificate in it cannot be read (${opensslReason(err)})` };
      }
    }
  }
  const load = (field: TlsProblem['field'], options: { cert?: string; key?: string }, what: string): TlsProblem | undefined => {
    try {
      createSecureContext(options);
      return undefined;
    } catch (err) {
      return { field, problem: `${what} (${opensslReason(err)})` };
    }
  };
  return (
    (m.cert === undefined ? undefined : load('cert', { cert: m.cert }, 'not a PEM certificate')) ??
    (m.key === undefined ? undefined : load('key', { key: m.key }, 'not a PEM private key, or one encrypted with a passphrase (not supported)')) ??
    (m.cert === undefined || m.key === undefined ? undefined : load('key', { cert: m.cert, key: m.key }, 'not the key of the client certificate'))
  );
}

export interface Answer {
  body: string;
  contentType: string;
  /** ms since the epoch. */
  receivedAtMs: number;
}

/** The text format first: it is what every exporter speaks; OpenMetrics is read too. */
const ACCEPT = 'text/plain;version=0.0.4;q=1,application/openmetrics-text;version=1.0.0;q=0.5,*/*;q=0.1';
/** Far above any node's exposition (Kepler's with 10,000 processes is ~10 MB), low enough that a wrong URL cannot exhaust memory. */
export const MAX_BODY_BYTES = 64 * 1024 * 1024;

class TooLarge extends Error {}

function authorization(c: Credentials | undefined): string | undefined {
  if (!c) return undefined;
  if (c.kind === 'basic') return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
  return `${c.type} ${c.credentials}`;
}

function credentialsText(c: Credentials | undefined): string {
  if (!c) return 'no credentials were sent: give them with --user NAME (password in KEPLER_TOP_PASSWORD) or --http.config-file';
  if (c.kind === 'basic') return `basic auth was sent for user ${JSON.stringify(c.username)}: check the user name and password`;
  return `an Authorization header of type ${c.type} was sent: check the credentials`;
}

const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
]);
/** What a server that wants a client certificate answers a handshake without one (or with one it does not trust). */
const CLIENT_CERT_REFUSED = /CERTIFICATE_REQUIRED|HANDSHAKE_FAILURE|BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_UNKNOWN/;

/** One line for an error of the connection (DNS, TCP, TLS). */
export function transportError(t: Target, err: NodeJS.ErrnoException & { reason?: string }): ScrapeError {
  const where = t.url.href;
  const code = err.code ?? '';
  const host = t.url.hostname;
  // Node's HTTP parser: the answer is not HTTP (SSH, a database, TLS to a plain request).
  if (code.startsWith('HPE_')) {
    return new ScrapeError(`${where} answered something that is not HTTP (${code})${t.url.protocol === 'http:' ? ': is the port right, or does it serve https://?' : ''}`, 'http');
  }
  if (UNTRUSTED.has(code)) {
    return new ScrapeError(
      `TLS with ${where} failed: its certificate is not trusted (${code}): pass the CA that signed it with --tls.ca-file, or skip the check with --tls.insecure-skip-verify`,
      'tls',
    );
  }
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') return new ScrapeError(`TLS with ${where} failed: its certificate is not valid now (${code})`, 'tls');
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return new ScrapeError(
      `TLS with ${where} failed: its certificate is not for ${JSON.stringify(t.tls.serverName ?? host)} (${err.reason ?? code}): set --tls.server-name to a name it has`,
      'tls',
    );
  }
  if (/WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG|UNKNOWN_PROTOCOL/.test(code) || /wrong version number|packet length too long/.test(err.message)) {
    return new ScrapeError(`TLS with ${where} failed: the server does not speak TLS (${code || 'EPROTO'}): is it http://?`, 'tls');
  }
  if (CLIENT_CERT_REFUSED.test(code)) {
    const what = t.tls.cert ? 'refused our client certificate' : 'wants a client certificate: give one with --tls.cert-file and --tls.key-file';
    return new ScrapeError(`TLS with ${where} failed: the server ${what} (${code})`, 'tls');
  }
  if (code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS') || code === 'EPROTO') return new ScrapeError(`TLS with ${where} failed: ${err.message} (${code})`, 'tls');
  const why: Record<string, string> = {
    ECONNREFUSED: 'connection refused',
    ENOTFOUND: `host ${JSON.stringify(host)} not found`,
    EAI_AGAIN: `the name ${JSON.stringify(host)} cannot be looked up now`,
    EHOSTUNREACH: 'host unreachable',
    ENETUNREACH: 'network unreachable',
    ETIMEDOUT: 'connection timed out',
    ECONNRESET: t.url.protocol === 'http:' ? 'connection closed without an answer: does it serve https://?' : 'connection closed without an answer',
  };
  return new ScrapeError(`cannot reach ${where}: ${why[code] ?? err.message}${code ? ` (${code})` : ''}`, code === 'ETIMEDOUT' ? 'timeout' : 'unreachable');
}

/** The first line of a body, short, for a message. */
function firstLine(body: string): string {
  const line = Array.from(body.trim().split('\n')[0]?.trim() ?? '');
  return line.length > 80 ? `${line.slice(0, 77).join('')}...` : line.join('');
}

/** The body, at most MAX_BODY_BYTES of it once unzipped; rejects with TooLarge beyond. */
function readBody(res: IncomingMessage): Promise<string> {
  const encoding = (res.headers['content-encoding'] ?? '').toLowerCase();
  const gzip = encoding === 'gzip' || encoding === 'x-gzip';
  if (!gzip && Number(res.headers['content-length']) > MAX_BODY_BYTES) {
    res.resume();
    return Promise.reject(new TooLarge());
  }
  const stream: Readable = gzip ? res.pipe(createGunzip()) : res;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        stream.destroy(new TooLarge());
        if (stream !== res) res.destroy();
      } else chunks.push(c);
    });
    stream.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    stream.on('error', reject);
    res.on('error', reject);
  });
}

/** One GET of the target; resolves with a 2xx answer, rejects with a ScrapeError. */
export function get(t: Target, now: () => number = Date.now): Promise<Answer> {
  const where = t.url.href;
  const https = t.url.protocol === 'https:';
  const headers: Record<string, string> = { accept: ACCEPT, 'accept-encoding': 'gzip', 'user-agent': 'kepler-ts-top' };
  const auth = authorization(t.credentials);
  if (auth) headers.authorization = auth;
  const tls = https
    ? {
        rejectUnauthorized: !t.tls.insecureSkipVerify,
        ...(t.tls.ca ? { ca: t.tls.ca } : {}),
        ...(t.tls.cert ? { cert: t.tls.cert } : {}),
        ...(t.tls.key ? { key: t.tls.key } : {}),
        ...(t.tls.serverName ? { servername: t.tls.serverName } : {}),
      }
    : {};
  return new Promise((resolve, reject) => {
    let settled = false;
    let req: ClientRequest | undefined;
    const fail = (err: ScrapeError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req?.destroy();
      reject(err);
    };
    const timer = setTimeout(() => fail(new ScrapeError(`cannot reach ${where}: no answer within ${formatDuration(t.timeoutMs)} (timeout)`, 'timeout')), t.timeoutMs);
    const onAnswer = (res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      const statusText = `${status} ${res.statusMessage ?? ''}`.trim();
      if (status === 401 || status === 403) {
        res.resume();
        fail(new ScrapeError(`${where} refused the request (${statusText}): ${credentialsText(t.credentials)}`, 'auth'));
        return;
      }
      if (status >= 300 && status < 400) {
        res.resume();
        const location = res.headers.location;
        fail(new ScrapeError(`${where} answered ${statusText}${location ? `, to ${location}: use that as --url` : ''}`, 'http'));
        return;
      }
      readBody(res).then(
        (body) => {
          if (status < 200 || status >= 300) {
            const line = firstLine(body);
            fail(new ScrapeError(`${where} answered ${statusText}${line ? `: ${line}` : ''}`, 'http'));
            return;
          }
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve({ body, contentType: res.headers['content-type'] ?? '', receivedAtMs: now() });
        },
        (err: unknown) => {
          if (err instanceof TooLarge) {
            const mib = MAX_BODY_BYTES / 1024 / 1024;
            fail(new ScrapeError(`${where} answered ${statusText} with more than ${mib} MiB, more than any metrics page: is --url right?`, 'http'));
          } else fail(new ScrapeError(`${where} answered ${statusText}, but its body cannot be read: ${err instanceof Error ? err.message : String(err)}`, 'http'));
        },
      );
    };
    try {
      req = (https ? httpsRequest : httpRequest)(t.url, { method: 'GET', headers, agent: false, ...tls }, onAnswer);
    } catch (err) {
      // Node throws here, not on the request, for TLS material it cannot load (the flags are checked
      // when read: this is the last resort).
      const e = err as NodeJS.ErrnoException;
      fail(new ScrapeError(`cannot make a request to ${where}: ${e.message}${e.code ? ` (${e.code})` : ''}`, https ? 'tls' : 'unreachable'));
      return;
    }
    req.on('error', (err: NodeJS.ErrnoException) => fail(transportError(t, err)));
    req.end();
  });
}

/** Throws unless the page has a kepler_* family, saying what it looked like instead. */
export function checkKepler(e: Exposition, answer: Answer, where: string): void {
  const families = familyNames(e);
  if ([...families].some((f) => f.startsWith('kepler_'))) return;
  const not = `${where} is not a Kepler exporter`;
  if (answer.body.trim() === '') throw new ScrapeError(`${not}: it answered an empty page`, 'not-kepler');
  if (families.size === 0) {
    const bad = e.malformed[0];
    const line = bad ? ` (line ${bad.line}: ${JSON.stringify(firstLine(bad.text))})` : '';
    throw new ScrapeError(`${not}: it answered ${answer.contentType || 'a page'} that is not the Prometheus text format${line}`, 'not-kepler');
  }
  const prefixes = new Map<string, number>();
  for (const f of families) {
    const p = /^[^_]+_/.exec(f)?.[0] ?? f;
    prefixes.set(p, (prefixes.get(p) ?? 0) + 1);
  }
  const most = [...prefixes].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, 4);
  const summary = most.map(([p, n]) => `${p.endsWith('_') ? `${p}*` : p} ${n}`).join(', ');
  const n = families.size;
  throw new ScrapeError(`${not}: it answered ${n} metric ${n === 1 ? 'family' : 'families'}, none named kepler_* (${summary})`, 'not-kepler');
}

/** GET, parse, check: one scrape of a Kepler exporter. */
export async function scrapeKepler(t: Target, now: () => number = Date.now): Promise<Scrape> {
  const answer = await get(t, now);
  const exposition = parseExposition(answer.body);
  checkKepler(exposition, answer, t.url.href);
  return scrapeAt(exposition, answer.receivedAtMs);
}
