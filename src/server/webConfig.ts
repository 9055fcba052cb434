// The Prometheus exporter-toolkit web config file (--web.config-file), so the file a Kepler
// deployment already mounts works unchanged:
//
//   tls_server_config: {cert_file, key_file, cert, key, client_ca_file, client_ca,
//                       client_auth_type, min_version, max_version, cipher_suites, ...}
//   http_server_config: {headers, http2}
//   basic_auth_users: {user: bcrypt hash}
//
// Everything is read and checked here, once, so a bad file stops start-up with one line
// (ConfigError) instead of failing on the first scrape. Relative paths are relative to the web
// config file's directory, as exporter-toolkit resolves them.

import { readFileSync } from 'node:fs';
import { validateHeaderValue } from 'node:http';
import { dirname, resolve } from 'node:path';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { createSecureContext, type SecureVersion } from 'node:tls';
import { parse } from 'yaml';
import { ConfigError } from '../config/config.js';

export const CLIENT_AUTH_TYPES = [
  'NoClientCert',
  'RequestClientCert',
  'RequireAnyClientCert',
  'VerifyClientCertIfGiven',
  'RequireAndVerifyClientCert',
] as const;
export type ClientAuthType = (typeof CLIENT_AUTH_TYPES)[number];

const TLS_VERSIONS: Record<string, SecureVersion> = {
  TLS10: 'TLSv1',
  TLS11: 'TLSv1.1',
  TLS12: 'TLSv1.2',
  TLS13: 'TLSv1.3',
};

// exporter-toolkit only lets these security headers be set, some with fixed values; we keep the
// same list so a file valid for Kepler is valid here and one rejected there is rejected here.
const ALLOWED_HEADERS: Record<string, string[] | null> = {
  'Strict-Transport-Security': null,
  'X-Content-Type-Options': ['nosniff'],
  'X-Frame-Options': ['deny', 'sameorigin'],
  'X-XSS-Protection': null,
  'Content-Security-Policy': null,
};

// $2a$/$2b$/$2y$, two-digit cost 04..31, 22 characters of salt + 31 of hash.
const BCRYPT = /^\$2[aby]\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}$/;

/** Options for https.createServer, plus the client-certificate policy WebServer enforces. */
export interface WebTlsOptions {
  cert: string;
  key: string;
  ca?: string;
  requestCert: boolean;
  rejectUnauthorized: boolean;
  minVersion: SecureVersion;
  maxVersion: SecureVersion;
  /** Node has no "require a certificate but do not verify it" (RequireAnyClientCert) nor
   *  "verify only if given" (VerifyClientCertIfGiven); WebServer checks those per connection. */
  clientAuth: ClientAuthType;
}

export interface WebConfig {
  tls?: WebTlsOptions;
  /** user -> bcrypt hash; empty means no authentication. */
  users: Map<string, string>;
  headers: Record<string, string>;
  warnings: string[];
}

type YamlMap = Record<string, unknown>;

export function loadWebConfig(path: string): WebConfig {
  const where = `web config ${path}`;
  const fail = (key: string, what: string): never => {
    throw new ConfigError(`${where}: ${key}: ${what}`);
  };
  const invalid = (key: string, value: unknown, expected: string): never =>
    fail(key, `invalid value ${show(value)}: expected ${expected}`);

  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`${where}: cannot read file: ${reason(err)}`);
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new ConfigError(`${where}: invalid YAML: ${String((err as Error).message).split('\n')[0]}`);
  }

  const warnings: string[] = [];
  // A mapping (absent = empty); keys outside `known` are warned about (null: any key is fine).
  const section = (value: unknown, key: string, known: string[] | null): YamlMap => {
    if (value === undefined || value === null) return {};
    if (typeof value !== 'object' || Array.isArray(value)) return invalid(key, value, 'a mapping');
    const prefix = key === '(top level)' ? '' : `${key}.`;
    for (const k of Object.keys(value)) {
      if (known && !known.includes(k)) warnings.push(`${where}: unknown key "${prefix}${k}" ignored`);
    }
    return value as YamlMap;
  };
  // An optional string of tls_server_config; empty counts as absent, as in Go.
  const str = (name: string): string | undefined => {
    const v = tlsMap[name];
    if (v === undefined || v === null || v === '') return undefined;
    return typeof v === 'string' ? v : invalid(`tls_server_config.${name}`, v, 'a string');
  };

  const root = section(doc, '(top level)', ['tls_server_config', 'http_server_config', 'basic_auth_users']);
  const tlsMap = section(root.tls_server_config, 'tls_server_config', [
    'cert_file', 'key_file', 'cert', 'key', 'client_ca_file', 'client_ca', 'client_auth_type',
    'min_version', 'max_version', 'cipher_suites', 'curve_preferences', 'prefer_server_cipher_suites',
    'client_allowed_sans',
  ]);
  const httpMap = section(root.http_server_config, 'http_server_config', ['headers', 'http2']);
  const usersMap = section(root.basic_auth_users, 'basic_auth_users', null);
  const headersMap = section(httpMap.headers, 'http_server_config.headers', null);

  // --- TLS ---
  const dir = dirname(resolve(path));
  // A PEM from a file (resolved against the config's directory) or given inline.
  const pem = (fileKey: string, inlineKey: string): { text: string; source: string; key: string } | undefined => {
    const file = str(fileKey);
    const inline = str(inlineKey);
    if (file !== undefined && inline !== undefined) {
      fail(`tls_server_config.${fileKey}`, `cannot be set together with ${inlineKey}`);
    }
    if (inline !== undefined) return { text: inline, source: '(inline)', key: `tls_server_config.${inlineKey}` };
    if (file === undefined) return undefined;
    const abs = resolve(dir, file);
    const key = `tls_server_config.${fileKey}`;
    try {
      return { text: readFileSync(abs, 'utf8'), source: JSON.stringify(abs), key };
    } catch (err) {
      return fail(key, `cannot read ${JSON.stringify(abs)}: ${reason(err)}`);
    }
  };
  const cert = pem('cert_file', 'cert');
  const key = pem('key_file', 'key');
  const ca = pem('client_ca_file', 'client_ca');
  const authText = str('client_auth_type');
  // "RequireClientCert" is exporter-toolkit's older spelling of RequireAnyClientCert.
  const clientAuth = authText === 'RequireClientCert' ? 'RequireAnyClientCert' : (authText ?? 'NoClientCert');
  if (!(CLIENT_AUTH_TYPES as readonly string[]).includes(clientAuth)) {
    invalid('tls_server_config.client_auth_type', authText, `one of ${CLIENT_AUTH_TYPES.join(', ')}`);
  }
  const version = (name: 'min_version' | 'max_version', dflt: string): string => {
    const v = str(name) ?? dflt;
    if (!(v in TLS_VERSIONS)) invalid(`tls_server_config.${name}`, v, `one of ${Object.keys(TLS_VERSIONS).join(', ')}`);
    return v;
  };
  // exporter-toolkit's defaults: TLS 1.2 minimum, TLS 1.3 maximum.
  const minVersion = version('min_version', 'TLS12');
  const maxVersion = version('max_version', 'TLS13');
  // "TLS10" < "TLS11" < ... compare correctly as strings.
  if (minVersion > maxVersion) invalid('tls_server_config.min_version', minVersion, `at most max_version (${maxVersion})`);
  // Failing closed: silently ignoring an allow-list would let in clients Kepler refuses.
  if (tlsMap.client_allowed_sans !== undefined && tlsMap.client_allowed_sans !== null) {
    fail('tls_server_config.client_allowed_sans', 'is not supported by kepler-ts; remove it or use a dedicated client CA');
  }
  for (const k of ['cipher_suites', 'curve_preferences', 'prefer_server_cipher_suites']) {
    if (tlsMap[k] !== undefined && tlsMap[k] !== null) {
      warnings.push(`${where}: tls_server_config.${k} ignored: Node.js uses OpenSSL's defaults`);
    }
  }

  let tls: WebTlsOptions | undefined;
  // As in exporter-toolkit, a tls_server_config with nothing in it means plain HTTP.
  if (cert || key || ca || authText !== undefined) {
    if (!cert) fail('tls_server_config.cert_file', 'missing: TLS needs cert_file (or cert) and key_file (or key)');
    if (!key) fail('tls_server_config.key_file', 'missing: TLS needs cert_file (or cert) and key_file (or key)');
    if (ca && clientAuth === 'NoClientCert') {
      invalid('tls_server_config.client_auth_type', authText ?? '', 'a client certificate policy other than NoClientCert when client_ca_file is set');
    }
    checkPem(cert!, 'certificate', (t) => new X509Certificate(t), fail);
    checkPem(key!, 'private key', (t) => createPrivateKey(t), fail);
    if (ca) checkPem(ca, 'CA certificate', (t) => new X509Certificate(t), fail);
    try {
      createSecureContext({ cert: cert!.text, key: key!.text });
    } catch (err) {
      fail(key!.key, `${key!.source} does not match ${cert!.key} ${cert!.source}: ${(err as Error).message}`);
    }
    tls = {
      cert: cert!.text,
      key: key!.text,
      ...(ca ? { ca: ca.text } : {}),
      requestCert: clientAuth !== 'NoClientCert',
      // Only RequireAndVerifyClientCert maps onto Node directly; VerifyClientCertIfGiven must let
      // cert-less clients through, so WebServer rejects its unverified certificates itself.
      rejectUnauthorized: clientAuth === 'RequireAndVerifyClientCert',
      minVersion: TLS_VERSIONS[minVersion],
      maxVersion: TLS_VERSIONS[maxVersion],
      clientAuth: clientAuth as ClientAuthType,
    };
  }

  // --- HTTP ---
  // http2 is checked but has no effect: the https server speaks HTTP/1.1, which Prometheus uses.
  if (httpMap.http2 !== undefined && typeof httpMap.http2 !== 'boolean') {
    invalid('http_server_config.http2', httpMap.http2, 'true or false');
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(headersMap)) {
    const k = `http_server_config.headers.${name}`;
    const canonical = Object.keys(ALLOWED_HEADERS).find((h) => h.toLowerCase() === name.toLowerCase());
    if (!canonical) invalid(k, name, `one of the headers ${Object.keys(ALLOWED_HEADERS).join(', ')}`);
    if (typeof value !== 'string') invalid(k, value, 'a string');
    const allowed = ALLOWED_HEADERS[canonical!];
    if (allowed && !allowed.includes(value as string)) invalid(k, value, `one of ${allowed.join(', ')}`);
    // Node checks again in setHeader, on every response: a value it refuses would pass start-up
    // and then turn every request into a 500.
    if (!isHeaderValue(canonical!, value as string)) {
      invalid(k, value, 'a header value without control characters (CR, LF, NUL) or characters above U+00FF');
    }
    headers[canonical!] = value as string;
  }

  // --- Basic auth ---
  const users = new Map<string, string>();
  for (const [user, hash] of Object.entries(usersMap)) {
    // The value is deliberately not echoed: a non-hash here is often a plain-text password.
    if (typeof hash !== 'string' || !BCRYPT.test(hash)) {
      fail(`basic_auth_users.${user}`, 'value (not shown) is not a bcrypt hash: expected $2a$, $2b$ or $2y$, a cost of 04-31 and 53 characters, e.g. from "htpasswd -nBC 10 user"');
    }
    users.set(user, hash as string);
  }

  return { ...(tls ? { tls } : {}), users, headers, warnings };
}

function checkPem(
  p: { text: string; source: string; key: string },
  what: string,
  parsePem: (text: string) => unknown,
  fail: (key: string, what: string) => never,
): void {
  try {
    parsePem(p.text);
  } catch (err) {
    fail(p.key, `${p.source} is not a PEM ${what}: ${(err as Error).message}`);
  }
}

/** What Node's http module accepts as a header value (ERR_INVALID_CHAR otherwise). */
function isHeaderValue(name: string, value: string): boolean {
  try {
    validateHeaderValue(name, value);
    return true;
  } catch {
    return false;
  }
}

function show(v: unknown): string {
  return JSON.stringify(v) ?? String(v);
}

function reason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ENOENT') return 'no such file (ENOENT)';
  if (e.code === 'EACCES') return 'permission denied (EACCES)';
  if (e.code === 'EISDIR') return 'is a directory (EISDIR)';
  return e.message ?? String(err);
}
