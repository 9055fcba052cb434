// The Prometheus exporter-toolkit web config file (--web.config-file), so the file a Kepler
// deployment already mounts works unchanged:
//
//   tls_server_config: {cert_file, key_file, cert, key, client_ca_file, client_ca,
//                       client_auth_type, min_version, max_version, cipher_suites, ...}
//   http_server_config: {headers, http2}
//   basic_auth_users: {user: bcrypt hash}
//
// Everything is read and checked here, once, so a bad file stops start-up with one line
// (ConfigError) instead of failing on the first scrape: the values by a zod schema, the files by
// code. Relative paths are relative to the web config file's directory, as exporter-toolkit
// resolves them. zod and yaml are loaded, and the schema built, when a file is first read
// (configLibraries.ts): most exporters have none.

import { readFileSync } from 'node:fs';
import { validateHeaderValue } from 'node:http';
import { dirname, resolve } from 'node:path';
import type { SecureVersion } from 'node:tls';
import type { z } from 'zod';
import { ConfigError } from '../config/config.js';
import { yamlLibrary, zodLibrary, type Zod } from '../config/configLibraries.js';
import { cryptoModule, tlsModule } from '../util/lazyBuiltins.js';

export const CLIENT_AUTH_TYPES = ['NoClientCert', 'RequestClientCert', 'RequireAnyClientCert', 'VerifyClientCertIfGiven', 'RequireAndVerifyClientCert'] as const;
export type ClientAuthType = (typeof CLIENT_AUTH_TYPES)[number];

const TLS_VERSIONS = {
  TLS10: 'TLSv1',
  TLS11: 'TLSv1.1',
  TLS12: 'TLSv1.2',
  TLS13: 'TLSv1.3',
} as const satisfies Record<string, SecureVersion>;

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

// ---------- the file's schema ----------
// Every value check is here; what zod cannot see (reading PEM files, parsing them, checking that
// the key matches the certificate) is in loadWebConfig. Each message is the part of the error line
// after the key: "invalid value <json>: expected <what>", or a sentence of its own.

const show = (v: unknown): string => JSON.stringify(v) ?? String(v);
/** zod's error parameter for a value outside what is allowed. */
const expected = (what: string) => ({ error: (iss: { input?: unknown }) => `invalid value ${show(iss.input)}: expected ${what}` });
/** An absent or null section is an empty one. */
const orEmpty = (v: unknown): unknown => v ?? {};
type TlsVersionName = keyof typeof TLS_VERSIONS;
const TLS_VERSION_NAMES = Object.keys(TLS_VERSIONS) as [TlsVersionName, ...TlsVersionName[]];
/** tls_server_config keys that Node.js cannot honour: accepted, with a warning. */
const IGNORED_TLS_KEYS = ['cipher_suites', 'curve_preferences', 'prefer_server_cipher_suites'] as const;
const BCRYPT_PROBLEM = 'value (not shown) is not a bcrypt hash: expected $2a$, $2b$ or $2y$, a cost of 04-31 and 53 characters, e.g. from "htpasswd -nBC 10 user"';
/** PEMs given as a file or inline: one of the two. */
const PEM_KEYS = [
  ['cert_file', 'cert'],
  ['key_file', 'key'],
  ['client_ca_file', 'client_ca'],
] as const;

/** The schema, built on first use with the zod of configLibraries.ts; `z` is zod's namespace. */
function buildSchema(z: Zod['z']) {
  /** A mapping whose unknown keys are warned about (by loadWebConfig), not refused. */
  const mapping = <T extends z.ZodRawShape>(shape: T) => z.preprocess(orEmpty, z.object(shape, expected('a mapping')));
  /** An optional string of tls_server_config; empty counts as absent, as in Go. */
  const optionalString = z.preprocess((v) => (v === null || v === '' ? undefined : v), z.string(expected('a string')).optional());
  const tlsVersion = (dflt: TlsVersionName) => optionalString.pipe(z.enum(TLS_VERSION_NAMES, expected(`one of ${TLS_VERSION_NAMES.join(', ')}`)).default(dflt));

  const TLS_SHAPE = {
    cert_file: optionalString,
    cert: optionalString,
    key_file: optionalString,
    key: optionalString,
    client_ca_file: optionalString,
    client_ca: optionalString,
    // "RequireClientCert" is exporter-toolkit's older spelling of RequireAnyClientCert.
    client_auth_type: optionalString.pipe(z.enum([...CLIENT_AUTH_TYPES, 'RequireClientCert'], expected(`one of ${CLIENT_AUTH_TYPES.join(', ')}`)).optional()),
    // exporter-toolkit's defaults: TLS 1.2 minimum, TLS 1.3 maximum.
    min_version: tlsVersion('TLS12'),
    max_version: tlsVersion('TLS13'),
    // Failing closed: silently ignoring an allow-list would let in clients Kepler refuses.
    client_allowed_sans: z
      .unknown()
      .optional()
      .refine((v) => v === undefined || v === null, 'is not supported by kepler-ts; remove it or use a dedicated client CA'),
    cipher_suites: z.unknown().optional(),
    curve_preferences: z.unknown().optional(),
    prefer_server_cipher_suites: z.unknown().optional(),
  };

  const tlsSchema = mapping(TLS_SHAPE).superRefine((t, ctx) => {
    const problem = (key: string, message: string) => ctx.addIssue({ code: 'custom', path: [key], message });
    for (const [fileKey, inlineKey] of PEM_KEYS) {
      if (t[fileKey] !== undefined && t[inlineKey] !== undefined) problem(fileKey, `cannot be set together with ${inlineKey}`);
    }
    // "TLS10" < "TLS11" < ... compare correctly as strings.
    if (t.min_version > t.max_version) problem('min_version', `invalid value ${show(t.min_version)}: expected at most max_version (${t.max_version})`);
    // As in exporter-toolkit, a tls_server_config with nothing in it means plain HTTP.
    if (!tlsWanted(t)) return;
    const MISSING = 'missing: TLS needs cert_file (or cert) and key_file (or key)';
    if (t.cert_file === undefined && t.cert === undefined) problem('cert_file', MISSING);
    if (t.key_file === undefined && t.key === undefined) problem('key_file', MISSING);
    if ((t.client_ca_file !== undefined || t.client_ca !== undefined) && clientAuthOf(t) === 'NoClientCert') {
      problem('client_auth_type', `invalid value ${show(t.client_auth_type ?? '')}: expected a client certificate policy other than NoClientCert when client_ca_file is set`);
    }
  });

  const HTTP_SHAPE = {
    // Checked but without effect: the https server speaks HTTP/1.1, which Prometheus uses.
    http2: z.boolean(expected('true or false')).optional(),
    headers: z.preprocess(orEmpty, z.record(z.string(), z.unknown(), expected('a mapping'))).superRefine((headers, ctx) => {
      for (const [name, value] of Object.entries(headers)) {
        const problem = headerProblem(name, value);
        if (problem) ctx.addIssue({ code: 'custom', path: [name], message: problem });
      }
    }),
  };

  const ROOT_SHAPE = {
    tls_server_config: tlsSchema,
    http_server_config: mapping(HTTP_SHAPE),
    // The value is deliberately not echoed: a non-hash here is often a plain-text password.
    basic_auth_users: z.preprocess(orEmpty, z.record(z.string(), z.string(BCRYPT_PROBLEM).regex(BCRYPT, BCRYPT_PROBLEM), expected('a mapping'))),
  };

  return { webConfigSchema: mapping(ROOT_SHAPE), shapes: { root: ROOT_SHAPE, tls: TLS_SHAPE, http: HTTP_SHAPE } };
}

type Schema = ReturnType<typeof buildSchema>;
/** tls_server_config as the schema gives it. */
interface TlsSection {
  cert_file?: string;
  cert?: string;
  key_file?: string;
  key?: string;
  client_ca_file?: string;
  client_ca?: string;
  client_auth_type?: ClientAuthType | 'RequireClientCert';
  min_version: TlsVersionName;
  max_version: TlsVersionName;
  client_allowed_sans?: unknown;
  cipher_suites?: unknown;
  curve_preferences?: unknown;
  prefer_server_cipher_suites?: unknown;
}

let schema: Schema | undefined;
const webConfigSchema = (): Schema => (schema ??= buildSchema(zodLibrary().z));

function tlsWanted(t: TlsSection): boolean {
  return PEM_KEYS.some(([fileKey, inlineKey]) => t[fileKey] !== undefined || t[inlineKey] !== undefined) || t.client_auth_type !== undefined;
}

function clientAuthOf(t: TlsSection): ClientAuthType {
  return t.client_auth_type === 'RequireClientCert' ? 'RequireAnyClientCert' : (t.client_auth_type ?? 'NoClientCert');
}

/** Why a header of http_server_config.headers is refused; undefined when it is fine. */
function headerProblem(name: string, value: unknown): string | undefined {
  const canonical = canonicalHeader(name);
  if (!canonical) return `invalid value ${show(name)}: expected one of the headers ${Object.keys(ALLOWED_HEADERS).join(', ')}`;
  if (typeof value !== 'string') return `invalid value ${show(value)}: expected a string`;
  const allowed = ALLOWED_HEADERS[canonical];
  if (allowed && !allowed.includes(value)) return `invalid value ${show(value)}: expected one of ${allowed.join(', ')}`;
  // Node checks again in setHeader, on every response: a value it refuses would pass start-up
  // and then turn every request into a 500.
  if (!isHeaderValue(canonical, value)) {
    return `invalid value ${show(value)}: expected a header value without control characters (CR, LF, NUL) or characters above U+00FF`;
  }
  return undefined;
}

function canonicalHeader(name: string): string | undefined {
  return Object.keys(ALLOWED_HEADERS).find((h) => h.toLowerCase() === name.toLowerCase());
}

// ---------- loading ----------

export function loadWebConfig(path: string): WebConfig {
  const where = `web config ${path}`;
  const fail = (key: string, what: string, cause?: unknown): never => {
    throw new ConfigError(`${where}: ${key}: ${what}`, cause === undefined ? undefined : { cause });
  };

  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`${where}: cannot read file: ${reason(err)}`, { cause: err });
  }
  let doc: unknown;
  try {
    doc = yamlLibrary().parse(text);
  } catch (err) {
    throw new ConfigError(`${where}: invalid YAML: ${String((err as { message?: unknown }).message).split('\n')[0]}`, { cause: err });
  }

  const { webConfigSchema: rootSchema, shapes } = webConfigSchema();
  const parsed = rootSchema.safeParse(doc, { error: (iss) => `invalid value ${show(iss.input)}` });
  if (!parsed.success) {
    const [issue] = parsed.error.issues;
    throw new ConfigError(`${where}: ${issue.path.length > 0 ? issue.path.map(String).join('.') : '(top level)'}: ${issue.message}`);
  }
  const { tls_server_config: t, http_server_config: http, basic_auth_users: users } = parsed.data;

  const warnings = unknownKeys(doc, where, shapes);
  for (const k of IGNORED_TLS_KEYS) {
    if (t[k] !== undefined && t[k] !== null) warnings.push(`${where}: tls_server_config.${k} ignored: Node.js uses OpenSSL's defaults`);
  }

  // --- TLS: the files, and what only parsing them tells ---
  let tls: WebTlsOptions | undefined;
  if (tlsWanted(t)) {
    const dir = dirname(resolve(path));
    // A PEM from a file (resolved against the config's directory) or given inline.
    const pem = ([fileKey, inlineKey]: (typeof PEM_KEYS)[number]): Pem | undefined => {
      const inline = t[inlineKey];
      if (inline !== undefined) return { text: inline, source: '(inline)', key: `tls_server_config.${inlineKey}` };
      const file = t[fileKey];
      if (file === undefined) return undefined;
      const abs = resolve(dir, file);
      const key = `tls_server_config.${fileKey}`;
      try {
        return { text: readFileSync(abs, 'utf8'), source: JSON.stringify(abs), key };
      } catch (err) {
        return fail(key, `cannot read ${JSON.stringify(abs)}: ${reason(err)}`, err);
      }
    };
    // The schema made sure that a certificate and a key are given.
    const cert = pem(PEM_KEYS[0]);
    const key = pem(PEM_KEYS[1]);
    if (!cert || !key) throw new Error(`${where}: tls_server_config passed the schema without a certificate and a key`);
    const ca = pem(PEM_KEYS[2]);
    const clientAuth = clientAuthOf(t);
    const { X509Certificate, createPrivateKey } = cryptoModule();
    checkPem(cert, 'certificate', (p) => new X509Certificate(p), fail);
    checkPem(key, 'private key', (p) => createPrivateKey(p), fail);
    if (ca) checkPem(ca, 'CA certificate', (p) => new X509Certificate(p), fail);
    try {
      tlsModule().createSecureContext({ cert: cert.text, key: key.text });
    } catch (err) {
      fail(key.key, `${key.source} does not match ${cert.key} ${cert.source}: ${(err as Error).message}`, err);
    }
    tls = {
      cert: cert.text,
      key: key.text,
      ...(ca ? { ca: ca.text } : {}),
      requestCert: clientAuth !== 'NoClientCert',
      // Only RequireAndVerifyClientCert maps onto Node directly; VerifyClientCertIfGiven must let
      // cert-less clients through, so WebServer rejects its unverified certificates itself.
      rejectUnauthorized: clientAuth === 'RequireAndVerifyClientCert',
      minVersion: TLS_VERSIONS[t.min_version],
      maxVersion: TLS_VERSIONS[t.max_version],
      clientAuth,
    };
  }

  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(http.headers)) {
    const canonical = canonicalHeader(name);
    if (canonical === undefined) throw new Error(`${where}: header ${JSON.stringify(name)} passed the schema but is not one exporter-toolkit allows`);
    headers[canonical] = value as string;
  }

  return { ...(tls ? { tls } : {}), users: new Map(Object.entries(users)), headers, warnings };
}

/** Warnings for the keys of the three known mappings that the schema does not know. */
function unknownKeys(doc: unknown, where: string, shapes: Schema['shapes']): string[] {
  const warnings: string[] = [];
  const check = (value: unknown, prefix: string, shape: object): void => {
    if (typeof value !== 'object' || value === null) return;
    for (const k of Object.keys(value)) if (!(k in shape)) warnings.push(`${where}: unknown key "${prefix}${k}" ignored`);
  };
  const root = (doc ?? {}) as Record<string, unknown>;
  check(root, '', shapes.root);
  check(root.tls_server_config, 'tls_server_config.', shapes.tls);
  check(root.http_server_config, 'http_server_config.', shapes.http);
  return warnings;
}

interface Pem {
  text: string;
  source: string;
  key: string;
}

function checkPem(p: Pem, what: string, parsePem: (text: string) => unknown, fail: (key: string, what: string, cause?: unknown) => never): void {
  try {
    parsePem(p.text);
  } catch (err) {
    fail(p.key, `${p.source} is not a PEM ${what}: ${(err as Error).message}`, err);
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

function reason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ENOENT') return 'no such file (ENOENT)';
  if (e.code === 'EACCES') return 'permission denied (EACCES)';
  if (e.code === 'EISDIR') return 'is a directory (EISDIR)';
  return e.message ?? String(err);
}
