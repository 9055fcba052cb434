// `kepler-ts top --http.config-file FILE`: the credentials and TLS settings of Prometheus's HTTP
// client configuration (the `http_config` of a scrape config, and promtool's --http.config.file),
// so that the file Prometheus already scrapes Kepler with works here unchanged:
//
//   basic_auth:    {username | username_file, password | password_file}
//   authorization: {type (default Bearer), credentials | credentials_file}
//   bearer_token, bearer_token_file (deprecated in Prometheus: an authorization of type Bearer)
//   tls_config:    {ca_file | ca, cert_file | cert, key_file | key, server_name, insecure_skip_verify}
//   follow_redirects, enable_http2: accepted and ignored (top follows no redirect; it says where to)
//
// As Prometheus does, relative file names are relative to the file's folder, and the contents of
// the secret files are trimmed. Everything is read once, here, so that a missing file is an error
// at start-up naming the key, not a failed scrape later.

import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import { checkTlsMaterial, type Credentials, type TlsSettings } from './scrape.js';

export interface HttpClientConfig {
  credentials?: Credentials;
  tls: Partial<TlsSettings>;
}

export class HttpConfigError extends Error {
  override readonly name = 'HttpConfigError';
}

const KEYS: Record<string, readonly string[]> = {
  '': ['basic_auth', 'authorization', 'bearer_token', 'bearer_token_file', 'tls_config', 'follow_redirects', 'enable_http2'],
  basic_auth: ['username', 'username_file', 'password', 'password_file'],
  authorization: ['type', 'credentials', 'credentials_file'],
  tls_config: ['ca_file', 'ca', 'cert_file', 'cert', 'key_file', 'key', 'server_name', 'insecure_skip_verify'],
};
/** Keys of Prometheus's client config that mean something top does not do: refused rather than silently ignored. */
const UNSUPPORTED = ['oauth2', 'proxy_url', 'no_proxy', 'proxy_from_environment', 'proxy_connect_header', 'http_headers', 'min_version', 'max_version'];

type Mapping = Record<string, unknown>;

/** Reads and checks an HTTP client config file; `readFile` returns a file's text or throws. */
export function loadHttpConfig(file: string, readFile: (path: string) => string): HttpClientConfig {
  const fail = (key: string, what: string): never => {
    throw new HttpConfigError(`--http.config-file ${file}: ${key ? `${key}: ` : ''}${what}`);
  };
  // The file itself from the working directory; the files it names from its folder.
  const self = resolve(file);
  const folder = dirname(self);
  const read = (key: string, path: string): string => {
    const full = resolve(folder, path);
    try {
      return readFile(full);
    } catch (err) {
      return fail(key, `cannot read ${full}: ${(err as NodeJS.ErrnoException).code ?? (err instanceof Error ? err.message : String(err))}`);
    }
  };
  let doc: unknown;
  try {
    doc = parse(read('', self));
  } catch (err) {
    if (err instanceof HttpConfigError) throw err;
    fail('', `not valid YAML: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
  }
  const mapping = (key: string, v: unknown): Mapping => {
    if (v === null || v === undefined) return {};
    if (typeof v !== 'object' || Array.isArray(v)) return fail(key, `expected a mapping, got ${JSON.stringify(v)}`);
    const m = v as Mapping;
    const allowed = KEYS[key];
    for (const k of Object.keys(m)) {
      const path = key ? `${key}.${k}` : k;
      if (UNSUPPORTED.includes(k)) fail(path, 'not supported by kepler-ts top');
      if (!allowed.includes(k)) fail(path, `unknown key (expected one of ${allowed.join(', ')})`);
    }
    return m;
  };
  const str = (key: string, v: unknown): string | undefined => {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') return fail(key, `expected a string, got ${JSON.stringify(v)}`);
    return v;
  };
  /** A value given inline or in a file, at most one of the two. */
  const oneOf = (section: string, m: Mapping, inline: string, fileKey: string, trim: boolean): string | undefined => {
    const value = str(`${section}.${inline}`, m[inline]);
    const path = str(`${section}.${fileKey}`, m[fileKey]);
    if (value !== undefined && path !== undefined) fail(section, `at most one of ${inline} and ${fileKey}`);
    if (path === undefined) return value;
    const text = read(`${section}.${fileKey}`, path);
    return trim ? text.trim() : text;
  };

  const top = mapping('', doc);
  const out: HttpClientConfig = { tls: {} };
  const basic = top.basic_auth === undefined ? undefined : mapping('basic_auth', top.basic_auth);
  const auth = top.authorization === undefined ? undefined : mapping('authorization', top.authorization);
  const bearer = str('bearer_token', top.bearer_token);
  const bearerFile = str('bearer_token_file', top.bearer_token_file);
  if ([basic, auth, bearer ?? bearerFile].filter((x) => x !== undefined).length > 1) fail('', 'at most one of basic_auth, authorization and bearer_token');
  if (bearer !== undefined && bearerFile !== undefined) fail('', 'at most one of bearer_token and bearer_token_file');

  if (basic) {
    const username = oneOf('basic_auth', basic, 'username', 'username_file', true);
    if (!username) fail('basic_auth', 'username (or username_file) is required');
    out.credentials = { kind: 'basic', username: username ?? '', password: oneOf('basic_auth', basic, 'password', 'password_file', true) ?? '' };
  }
  if (auth) {
    const type = str('authorization.type', auth.type) ?? 'Bearer';
    if (type.toLowerCase() === 'basic') fail('authorization.type', 'Basic is not allowed here: use basic_auth');
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(type)) fail('authorization.type', `${JSON.stringify(type)} is not an authorization scheme`);
    const credentials = oneOf('authorization', auth, 'credentials', 'credentials_file', true);
    if (credentials === undefined) fail('authorization', 'credentials (or credentials_file) is required');
    out.credentials = { kind: 'authorization', type, credentials: credentials ?? '' };
  }
  if (bearer !== undefined) out.credentials = { kind: 'authorization', type: 'Bearer', credentials: bearer };
  if (bearerFile !== undefined) out.credentials = { kind: 'authorization', type: 'Bearer', credentials: read('bearer_token_file', bearerFile).trim() };

  if (top.tls_config !== undefined) {
    const t = mapping('tls_config', top.tls_config);
    const ca = oneOf('tls_config', t, 'ca', 'ca_file', false);
    const cert = oneOf('tls_config', t, 'cert', 'cert_file', false);
    const key = oneOf('tls_config', t, 'key', 'key_file', false);
    if ((cert === undefined) !== (key === undefined)) fail('tls_config', 'a client certificate needs both cert_file and key_file');
    const bad = checkTlsMaterial({ ca, cert, key });
    if (bad) {
      const named = { ca: ['ca_file', 'ca'], cert: ['cert_file', 'cert'], key: ['key_file', 'key'] }[bad.field];
      fail(`tls_config.${t[named[0]] === undefined ? named[1] : named[0]}`, bad.problem);
    }
    const serverName = str('tls_config.server_name', t.server_name);
    const insecure = t.insecure_skip_verify;
    if (insecure !== undefined && typeof insecure !== 'boolean') fail('tls_config.insecure_skip_verify', `expected true or false, got ${JSON.stringify(insecure)}`);
    out.tls = {
      ...(ca === undefined ? {} : { ca }),
      ...(cert === undefined ? {} : { cert }),
      ...(key === undefined ? {} : { key }),
      ...(serverName ? { serverName } : {}),
      ...(insecure === undefined ? {} : { insecureSkipVerify: insecure as boolean }),
    };
  }
  for (const k of ['follow_redirects', 'enable_http2']) {
    if (top[k] !== undefined && typeof top[k] !== 'boolean') fail(k, `expected true or false, got ${JSON.stringify(top[k])}`);
  }
  return out;
}
