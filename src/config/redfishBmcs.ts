// The BMC file of `experimental.platform.redfish.configFile`, in Kepler's format (Kepler's
// config/redfish/config.go and hack/redfish.yaml), so that a Kepler file works here unchanged:
//
//   nodes: {<node name>: <BMC id>}          which BMC measures which node; blades may share one
//   bmcs:
//     <BMC id>: {endpoint: https://10.0.0.5, username: monitor, password: secret, insecure: false}
//
// plus keys of ours: `caFile` (the BMC's own CA, PEM: BMCs mostly serve certificates of their own
// making, and `insecure` would stop checking them at all) and `usernameFile` / `passwordFile` (a
// Kubernetes Secret mounted as files; such a file wins over the inline value).
//
// The file is checked whole at start, as Kepler checks it: one file usually serves every node of a
// cluster, and a typo for one node then shows on every node at once, not only on the node it breaks
// when that node restarts. Only this node's entry is then read (bmcForNode), and its files with it.
// No message ever quotes a username or a password, nor the text of the files that hold them.
// zod and yaml are loaded when a file is first read (configLibraries.ts): most exporters have none.

import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Document } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from './config.js';
import { yamlLibrary, zodLibrary, type Zod } from './configLibraries.js';
import { cryptoModule } from '../util/lazyBuiltins.js';
import { hideUrlCredentials } from './hideCredentials.js';
import { httpUrlProblem } from './httpUrl.js';

/** What the Redfish client needs to reach this node's BMC. */
export interface BmcTargetConfig {
  /** The BMC id, the key under `bmcs` (the `bmc_id` label). */
  id: string;
  /** The BMC's base URL, without a trailing slash: `https://10.0.0.5:8443`. Requests add `/redfish/v1/...`. */
  endpoint: string;
  /** '' with password '': no credentials (a BMC open to anonymous reads, or a test one). */
  username: string;
  password: string;
  /** Skip certificate checks (Kepler's key). Never set together with `ca`. */
  insecure: boolean;
  /** The BMC's CA certificates (PEM), trusted beside the system's roots. */
  ca?: Buffer;
}

/** One entry of `bmcs`, as the file writes it; the files it names are read by bmcForNode. */
export interface BmcEntry {
  endpoint: string;
  username: string;
  password: string;
  /** Paths as written: relative ones are relative to the BMC file's folder. '' = not given. */
  usernameFile: string;
  passwordFile: string;
  caFile: string;
  insecure: boolean;
}

export interface BmcFile {
  path: string;
  /** Node name -> BMC id. */
  nodes: ReadonlyMap<string, string>;
  bmcs: ReadonlyMap<string, BmcEntry>;
  /** Unknown keys and overridden values, one line each, to log at start. */
  warnings: string[];
}

const KEY = 'experimental.platform.redfish.configFile';
function fail(path: string, what: string, cause?: unknown): never {
  throw new ConfigError(`config: ${KEY}: ${path}: ${what}`, cause === undefined ? undefined : { cause });
}

// ---------- the endpoint ----------

const ENDPOINT = "expected the BMC's http or https base URL, e.g. https://10.0.0.5 or https://bmc-1.example:8443";

/** Pure: why `endpoint` is not a usable BMC URL, as an "expected ..." message; undefined when it is. */
export function bmcEndpointProblem(endpoint: string): string | undefined {
  const ep = endpoint.trim();
  const because = (why: string) => `${ENDPOINT} (${why})`;
  if (ep === '') return because('it is required');
  const { why, path } = httpUrlProblem(ep, 'no credentials in the URL, where logs would show them: use username and password, or usernameFile and passwordFile');
  if (why !== undefined) return why === '' ? ENDPOINT : because(why);
  // Kepler's client (gofish) adds /redfish/v1/ to the endpoint, as ours does: given here, it would be there twice.
  if (/\/redfish(\/|$)/i.test(path)) return because('without /redfish/v1, which every request adds');
  return undefined;
}

// ---------- reading the YAML ----------

/**
 * The document as strings, nulls, lists and null-prototype mappings. Scalars keep the text they
 * were written with, as Kepler's YAML decoder gives a string field: a password written 0123 is
 * "0123", not the number 123, and `true` under `nodes` is the id "true".
 */
type Plain = string | null | Plain[] | { [key: string]: Plain };

function plain(node: unknown, doc: Document, path: string): Plain {
  const { isAlias, isMap, isScalar, isSeq } = yamlLibrary();
  if (isAlias(node)) return plain(node.resolve(doc), doc, path);
  if (isScalar(node)) {
    const v = node.value;
    if (v === null || v === undefined) return null;
    if (typeof v === 'string') return v;
    // Every parsed scalar has its source; the fallback is for nodes built otherwise.
    return node.source ?? (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint' ? String(v) : '');
  }
  if (isSeq(node)) return node.items.map((item) => plain(item, doc, path));
  if (isMap(node)) {
    const out = Object.create(null) as Record<string, Plain>;
    for (const pair of node.items) {
      const key = isAlias(pair.key) ? pair.key.resolve(doc) : pair.key;
      const name = isScalar(key) ? plain(key, doc, path) : undefined;
      if (typeof name !== 'string') fail(path, 'expected keys that are plain names, not mappings or lists');
      out[name] = plain(pair.value, doc, path);
    }
    return out;
  }
  return null; // an empty document, or a value left out (`password:`)
}

const isMapping = (v: Plain | undefined): v is Record<string, Plain> => typeof v === 'object' && v !== null && !Array.isArray(v);

// ---------- validation ----------

const TRUE = /^(true|yes|on)$/i;
const FALSE = /^(false|no|off)$/i;

/** One `bmcs` entry. Messages are "expected ..." lines; values are shown only for keys in SHOWN. Built on first use. */
function buildEntrySchema(z: Zod['z']) {
  const text = (expected: string) => z.string(expected).nullish();
  return z
    .object(
      {
        endpoint: z.string(ENDPOINT).nullish(),
        username: text('expected a string'),
        password: text('expected a string'),
        usernameFile: text('expected a file path'),
        passwordFile: text('expected a file path'),
        caFile: text('expected a file path (PEM certificates)'),
        // Kepler's decoder takes YAML 1.1's yes/no/on/off for a bool too.
        insecure: z
          .string('expected true or false')
          .refine((s) => TRUE.test(s) || FALSE.test(s), 'expected true or false')
          .nullish(),
      },
      'expected a mapping with endpoint, username, password and insecure',
    )
    .transform((e): BmcEntry => ({
      endpoint: (e.endpoint ?? '').trim().replace(/\/+$/, ''),
      username: e.username ?? '',
      password: e.password ?? '',
      usernameFile: (e.usernameFile ?? '').trim(),
      passwordFile: (e.passwordFile ?? '').trim(),
      caFile: (e.caFile ?? '').trim(),
      insecure: TRUE.test(e.insecure ?? ''),
    }));
}

let entrySchema: z.ZodType<BmcEntry> | undefined;
const bmcEntrySchema = (): z.ZodType<BmcEntry> => (entrySchema ??= buildEntrySchema(zodLibrary().z));

const BMC_KEYS = ['endpoint', 'username', 'password', 'usernameFile', 'passwordFile', 'caFile', 'insecure'];
/** Keys whose value may be quoted in a message; never username or password. */
const SHOWN = new Set(['endpoint', 'insecure', 'usernameFile', 'passwordFile', 'caFile']);

/** A value for an error message: JSON, URL credentials hidden, short enough for one line. */
function show(v: unknown): string {
  const s = hideUrlCredentials(JSON.stringify(v) ?? String(v));
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** Names for a message: the first ten, then how many more. */
function listNames(names: Iterable<string>): string {
  const all = [...names].map((n) => JSON.stringify(n));
  if (all.length === 0) return 'none';
  return all.length <= 10 ? all.join(', ') : `${all.slice(0, 10).join(', ')} and ${all.length - 10} more`;
}

/** Node's "ENOENT: no such file or directory, open 'x'" without the path, which the message names already. */
const reason = (e: unknown) => (e as Error).message.replace(/, \w+ '.*'$/, '');

/**
 * Reads and checks the BMC file. Throws ConfigError, one line naming the file and the YAML key:
 * "config: experimental.platform.redfish.configFile: <path>: <key>: <what is wrong>".
 */
export function loadBmcFile(path: string): BmcFile {
  let source: string;
  try {
    source = readFileSync(path, 'utf8');
  } catch (e) {
    return fail(path, `cannot read: ${reason(e)}`, e);
  }
  const doc = yamlLibrary().parseDocument(source);
  const [error] = doc.errors;
  if (error) {
    // The first line only: the rest quotes the file, which may be a password's line.
    const at = error.linePos ? `line ${error.linePos[0].line}, column ${error.linePos[0].col}: ` : '';
    fail(path, `${at}invalid YAML: ${error.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}`);
  }
  const warnings = doc.warnings.map((w) => `config: ${KEY}: ${path}: ${w.message.split('\n')[0]}`);
  try {
    doc.toJS(); // refuses documents whose aliases expand without bound ("billion laughs") before plain() walks them
  } catch (e) {
    fail(path, `invalid YAML: ${(e as Error).message.split('\n')[0]}`, e);
  }
  const top = plain(doc.contents, doc, path);
  if (top === null) return fail(path, 'the file is empty: expected a mapping with nodes and bmcs');
  if (!isMapping(top)) return fail(path, 'expected a mapping with nodes and bmcs');
  for (const k of Object.keys(top)) if (k !== 'nodes' && k !== 'bmcs') warnings.push(`config: ${KEY}: ${path}: unknown key ${JSON.stringify(k)} (ignored)`);

  const rawBmcs = top.bmcs ?? null;
  if (rawBmcs !== null && !isMapping(rawBmcs)) fail(path, 'bmcs: expected a mapping of BMC id to {endpoint, username, password, insecure}');
  const bmcs = new Map<string, BmcEntry>();
  for (const [id, raw] of Object.entries(rawBmcs ?? {})) {
    const at = `bmcs.${id}`;
    const parsed = bmcEntrySchema().safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = typeof issue.path[0] === 'string' ? issue.path[0] : undefined;
      const value = field !== undefined && isMapping(raw) ? raw[field] : undefined;
      fail(path, `${field ? `${at}.${field}` : at}: ${field !== undefined && SHOWN.has(field) ? `invalid value ${show(value)}: ` : ''}${issue.message}`);
    }
    const entry = parsed.data;
    for (const k of Object.keys(raw as object)) if (!BMC_KEYS.includes(k)) warnings.push(`config: ${KEY}: ${path}: unknown key ${JSON.stringify(`${at}.${k}`)} (ignored)`);
    const problem = bmcEndpointProblem(entry.endpoint);
    if (problem !== undefined) fail(path, `${at}.endpoint: invalid value ${show(entry.endpoint)}: ${problem}`);
    // As Kepler: a username without a password, or the reverse, is a mistake rather than a choice.
    const hasUser = entry.username.trim() !== '' || entry.usernameFile !== '';
    const hasPassword = entry.password.trim() !== '' || entry.passwordFile !== '';
    if (hasUser && !hasPassword) fail(path, `${at}: a username without a password: expected password or passwordFile too (or neither)`);
    if (!hasUser && hasPassword) fail(path, `${at}: a password without a username: expected username or usernameFile too (or neither)`);
    if (entry.caFile !== '' && entry.insecure) fail(path, `${at}.caFile: given with insecure: true, which skips the certificate checks it is for: expected one of them`);
    if (entry.caFile !== '' && entry.endpoint.toLowerCase().startsWith('http:'))
      fail(path, `${at}.caFile: given with an http endpoint, which has no certificate: expected an https endpoint`);
    for (const [inline, file] of [
      ['username', 'usernameFile'],
      ['password', 'passwordFile'],
    ] as const) {
      if (entry[inline] !== '' && entry[file] !== '') warnings.push(`config: ${KEY}: ${path}: ${at}: both ${inline} and ${file} are given: ${file} is used`);
    }
    bmcs.set(id, entry);
  }
  if (bmcs.size === 0) fail(path, 'bmcs: no BMCs: expected a mapping of BMC id to {endpoint, username, password, insecure}');

  const rawNodes = top.nodes ?? null;
  if (rawNodes !== null && !isMapping(rawNodes)) fail(path, 'nodes: expected a mapping of node name to BMC id');
  const nodes = new Map<string, string>();
  for (const [node, id] of Object.entries(rawNodes ?? {})) {
    if (typeof id !== 'string' || id === '') fail(path, `nodes.${node}: expected the id of a BMC in bmcs (${listNames(bmcs.keys())})`);
    if (!bmcs.has(id)) fail(path, `nodes.${node}: invalid value ${show(id)}: no such BMC in bmcs (it has ${listNames(bmcs.keys())})`);
    nodes.set(node, id);
  }
  if (nodes.size === 0) fail(path, 'nodes: no nodes: expected a mapping of node name to BMC id');
  return { path, nodes, bmcs, warnings };
}

/**
 * This node's BMC, with its credential and CA files read (relative paths are relative to the BMC
 * file's folder). Called again, it reads them again: a rotated Secret is picked up. Throws
 * ConfigError naming the node and the nodes the file has, or the file or key that is wrong.
 */
export function bmcForNode(file: BmcFile, nodeName: string, path: string): BmcTargetConfig {
  if (nodeName === '') fail(path, 'the node name is empty: set experimental.platform.redfish.nodeName or kube.nodeName (NODE_NAME)');
  const id = file.nodes.get(nodeName);
  if (id === undefined) return fail(path, `nodes: no entry for this node ${JSON.stringify(nodeName)} (the file has ${listNames(file.nodes.keys())})`);
  const entry = file.bmcs.get(id);
  if (entry === undefined) return fail(path, `nodes.${nodeName}: BMC ${JSON.stringify(id)} is not in bmcs (it has ${listNames(file.bmcs.keys())})`);
  const at = `bmcs.${id}`;
  const dir = dirname(path);
  const read = (key: string, p: string): Buffer => {
    const full = resolve(dir, p);
    try {
      return readFileSync(full);
    } catch (e) {
      return fail(path, `${at}.${key}: cannot read ${JSON.stringify(full)}: ${reason(e)}`, e);
    }
  };
  // `echo secret > file` and `kubectl create secret --from-file` leave a newline no BMC password has.
  const secret = (key: string, p: string) =>
    read(key, p)
      .toString('utf8')
      .replace(/[\r\n]+$/, '');
  const username = entry.usernameFile !== '' ? secret('usernameFile', entry.usernameFile) : entry.username;
  const password = entry.passwordFile !== '' ? secret('passwordFile', entry.passwordFile) : entry.password;
  if (username.trim() !== '' && password.trim() === '')
    fail(path, `${at}: the password is empty${entry.passwordFile !== '' ? ` (passwordFile ${JSON.stringify(entry.passwordFile)})` : ''}`);
  if (username.trim() === '' && password.trim() !== '')
    fail(path, `${at}: the username is empty${entry.usernameFile !== '' ? ` (usernameFile ${JSON.stringify(entry.usernameFile)})` : ''}`);
  const target: BmcTargetConfig = { id, endpoint: entry.endpoint, username, password, insecure: entry.insecure };
  if (entry.caFile !== '') {
    const ca = read('caFile', entry.caFile);
    const problem = pemProblem(ca);
    if (problem !== undefined) fail(path, `${at}.caFile: ${JSON.stringify(resolve(dir, entry.caFile))}: ${problem}`);
    target.ca = ca;
  }
  return target;
}

/** Pure: why `pem` is not a bundle of PEM certificates; undefined when every one parses. */
export function pemProblem(pem: Buffer): string | undefined {
  const blocks = pem.toString('latin1').match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) return 'expected PEM certificates (-----BEGIN CERTIFICATE-----), found none';
  const { X509Certificate } = cryptoModule();
  for (const [i, block] of blocks.entries()) {
    try {
      new X509Certificate(block);
    } catch (e) {
      return `certificate ${i + 1} of ${blocks.length} is not valid: ${(e as Error).message.split('\n')[0]}`;
    }
  }
  return undefined;
}
