import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../src/config/config.js';
import { bmcEndpointProblem, bmcForNode, loadBmcFile, type BmcFile } from '../../src/config/redfishBmcs.js';
import { selfSignedCertificate } from '../support/certificates.js';

// Every password of these files: none may appear in any message.
const SECRETS = ['s3cr3t-inline', 'from-the-file-pw', '0123', 'admin-pw-2'];

const dir = mkdtempSync(join(tmpdir(), 'kepler-ts-bmcs-'));
test.after(() => {
  rmSync(dir, { recursive: true, force: true });
});
let n = 0;
/** Writes `text` to a new file of the temp dir; returns its path. */
function write(text: string, name = `redfish-${++n}.yaml`): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** Asserts a one-line ConfigError naming the key and every part, and quoting no password. */
function rejects(fn: () => unknown, ...parts: string[]): string {
  let message = '';
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
    message = e.message;
    return true;
  });
  assert.ok(!message.includes('\n'), `not one line: ${message}`);
  assert.ok(message.startsWith('config: experimental.platform.redfish.configFile: '), message);
  for (const part of parts) assert.ok(message.includes(part), `${JSON.stringify(message)} lacks ${JSON.stringify(part)}`);
  for (const secret of SECRETS) assert.ok(!message.includes(secret), `${JSON.stringify(message)} quotes a password`);
  return message;
}

const bad = (yaml: string, ...parts: string[]) => {
  const path = write(yaml);
  return rejects(() => loadBmcFile(path), path, ...parts);
};

// Kepler's own example (hack/redfish.yaml), unchanged.
const KEPLER_EXAMPLE = `# Node to BMC mapping
nodes:
  fedora: sushy-static # development environment; use hostname as the node name

bmcs:
  sushy-static:
    endpoint: http://127.0.0.1:8000
    username: ""
    password: ""
    insecure: true
`;

const CLUSTER = `nodes:
  worker-1: dell-1
  worker-2: dell-2
  blade-1: chassis
  blade-2: chassis
bmcs:
  dell-1:
    endpoint: https://idrac-1.mgmt.example/
    username: monitor
    password: s3cr3t-inline
    insecure: false
  dell-2:
    endpoint: https://idrac-2.mgmt.example:8443
    username: 1234
    password: 0123
  chassis:
    endpoint: http://[fd00::5]:8000
    username: ADMIN
    password: admin-pw-2
    insecure: yes
`;

test("Kepler's example file loads, and its node's BMC has no credentials", () => {
  const path = write(KEPLER_EXAMPLE);
  const file = loadBmcFile(path);
  assert.deepEqual(file.warnings, []);
  assert.deepEqual(bmcForNode(file, 'fedora', path), { id: 'sushy-static', endpoint: 'http://127.0.0.1:8000', username: '', password: '', insecure: true });
});

test('a valid file: each node gets its BMC; scalars keep the text they were written with', () => {
  const path = write(CLUSTER);
  const file = loadBmcFile(path);
  assert.deepEqual(file.warnings, []);
  assert.deepEqual([...file.nodes.keys()], ['worker-1', 'worker-2', 'blade-1', 'blade-2']);
  // The trailing slash goes: the client adds /redfish/v1/.
  assert.deepEqual(bmcForNode(file, 'worker-1', path), { id: 'dell-1', endpoint: 'https://idrac-1.mgmt.example', username: 'monitor', password: 's3cr3t-inline', insecure: false });
  // A password written 0123 is "0123", as Kepler's YAML decoder reads it into a string, not 123.
  assert.deepEqual(bmcForNode(file, 'worker-2', path), { id: 'dell-2', endpoint: 'https://idrac-2.mgmt.example:8443', username: '1234', password: '0123', insecure: false });
  // Blades share their chassis' BMC; Kepler's decoder also takes yes for a bool.
  assert.deepEqual(bmcForNode(file, 'blade-2', path), bmcForNode(file, 'blade-1', path));
  assert.equal(bmcForNode(file, 'blade-1', path).insecure, true);
});

test('this node not in the file: the message names it and the nodes the file has', () => {
  const path = write(CLUSTER);
  const file = loadBmcFile(path);
  rejects(() => bmcForNode(file, 'worker-9', path), path, 'nodes', '"worker-9"', '"worker-1", "worker-2", "blade-1", "blade-2"');
  rejects(() => bmcForNode(file, '', path), 'node name is empty', 'experimental.platform.redfish.nodeName');
  // A long list is cut short.
  const many = Array.from({ length: 14 }, (_, i) => `  node-${i}: b`).join('\n');
  const big = write(`nodes:\n${many}\nbmcs: {b: {endpoint: "https://b"}}\n`);
  rejects(() => bmcForNode(loadBmcFile(big), 'x', big), '"node-9" and 4 more');
});

test('a node whose BMC is missing: refused at load, as Kepler does, naming the node and the id', () => {
  bad('nodes: {worker-1: dell-1, worker-2: dell-9}\nbmcs: {dell-1: {endpoint: "https://a"}}\n', 'nodes.worker-2', '"dell-9"', 'no such BMC in bmcs', '"dell-1"');
  // bmcForNode checks too, for a BmcFile built otherwise.
  const file: BmcFile = { path: 'x.yaml', nodes: new Map([['n', 'gone']]), bmcs: new Map(), warnings: [] };
  rejects(() => bmcForNode(file, 'n', 'x.yaml'), 'nodes.n', 'BMC "gone" is not in bmcs');
});

test('a file without nodes or BMCs, or of the wrong shape, is refused', () => {
  bad('', 'the file is empty', 'nodes and bmcs');
  bad('# comments only\n', 'the file is empty');
  bad('bmcs: {a: {endpoint: "https://a"}}\n', 'nodes: no nodes');
  bad('nodes: {n: a}\n', 'bmcs: no BMCs');
  bad('- a\n- b\n', 'expected a mapping with nodes and bmcs');
  bad('nodes: [a, b]\nbmcs: {a: {endpoint: "https://a"}}\n', 'nodes: expected a mapping of node name to BMC id');
  bad('nodes: {n: a}\nbmcs: [a]\n', 'bmcs: expected a mapping');
  bad('nodes: {n: a}\nbmcs: {a: https://a}\n', 'bmcs.a: expected a mapping with endpoint');
  bad('nodes: {n: }\nbmcs: {a: {endpoint: "https://a"}}\n', 'nodes.n: expected the id of a BMC in bmcs ("a")');
  bad('nodes: {n: a}\nbmcs: {a: {endpoint: "https://a", insecure: maybe}}\n', 'bmcs.a.insecure', '"maybe"', 'expected true or false');
  bad('nodes: {n: a\nbmcs: {}\n', 'invalid YAML');
});

test('bad endpoints are refused, naming the key; credentials in a URL are never quoted', () => {
  bad('nodes: {n: a}\nbmcs: {a: {username: u, password: s3cr3t-inline}}\n', 'bmcs.a.endpoint', 'it is required');
  bad('nodes: {n: a}\nbmcs: {a: {endpoint: "ftp://bmc"}}\n', 'bmcs.a.endpoint', '"ftp://bmc"', 'not http or https');
  bad('nodes: {n: a}\nbmcs: {a: {endpoint: "bmc-1.example"}}\n', 'bmcs.a.endpoint', "expected the BMC's http or https base URL");
  bad('nodes: {n: a}\nbmcs: {a: {endpoint: "https://"}}\n', 'bmcs.a.endpoint', 'a host is required');
  bad('nodes: {n: a}\nbmcs: {a: {endpoint: "https://bmc:99999"}}\n', 'bmcs.a.endpoint', 'not 1-65535');
  bad('nodes: {n: a}\nbmcs: {a: {endpoint: "https://bmc/redfish/v1"}}\n', 'bmcs.a.endpoint', 'without /redfish/v1');
  bad('nodes: {n: a}\nbmcs: {a: {endpoint: "https://bmc?x=1"}}\n', 'bmcs.a.endpoint', 'no query string');
  const m = bad('nodes: {n: a}\nbmcs: {a: {endpoint: "https://root:admin-pw-2@bmc"}}\n', 'bmcs.a.endpoint', 'no credentials in the URL', 'https://***@bmc');
  assert.ok(!m.includes('root'), m);
  // Every other BMC's entry is checked too, not only this node's.
  bad('nodes: {n: a}\nbmcs: {a: {endpoint: "https://a"}, b: {endpoint: "gopher://b"}}\n', 'bmcs.b.endpoint');
  assert.equal(bmcEndpointProblem('https://10.0.0.5'), undefined);
  assert.equal(bmcEndpointProblem('http://bmc.example:8000/proxy/node-1'), undefined, 'a path prefix (a proxy) is allowed');
});

test('a username without a password, or the reverse, is refused without quoting either', () => {
  bad('nodes: {n: a}\nbmcs: {a: {endpoint: "https://a", username: monitor}}\n', 'bmcs.a', 'a username without a password');
  bad('nodes: {n: a}\nbmcs: {a: {endpoint: "https://a", password: s3cr3t-inline}}\n', 'bmcs.a', 'a password without a username');
  bad('nodes: {n: a}\nbmcs: {a: {endpoint: "https://a", username: monitor, password: [s3cr3t-inline]}}\n', 'bmcs.a.password', 'expected a string');
});

test('usernameFile and passwordFile: read relative to the file, trailing newline trimmed, and they win over the inline values', () => {
  write('reader\n', 'user.txt');
  write('from-the-file-pw\r\n', 'pass.txt');
  const path = write(`nodes: {n: a}
bmcs:
  a:
    endpoint: https://a
    username: inline-user
    password: s3cr3t-inline
    usernameFile: user.txt
    passwordFile: ${join(dir, 'pass.txt')}
`);
  const file = loadBmcFile(path);
  assert.deepEqual(file.warnings, [
    `config: experimental.platform.redfish.configFile: ${path}: bmcs.a: both username and usernameFile are given: usernameFile is used`,
    `config: experimental.platform.redfish.configFile: ${path}: bmcs.a: both password and passwordFile are given: passwordFile is used`,
  ]);
  const target = bmcForNode(file, 'n', path);
  assert.equal(target.username, 'reader');
  assert.equal(target.password, 'from-the-file-pw');
  // Read again on each call: a rotated Secret is picked up.
  write('admin-pw-2\n', 'pass.txt');
  assert.equal(bmcForNode(file, 'n', path).password, 'admin-pw-2');
  // The files alone are enough; a space inside a password is kept.
  write('pass with  space \n', 'pass2.txt');
  const only = write('nodes: {n: a}\nbmcs: {a: {endpoint: "https://a", usernameFile: user.txt, passwordFile: pass2.txt}}\n');
  assert.equal(bmcForNode(loadBmcFile(only), 'n', only).password, 'pass with  space ');
});

test('credential files that are missing or empty are refused, naming the key and the path, never the content', () => {
  const missing = write('nodes: {n: a}\nbmcs: {a: {endpoint: "https://a", username: u, passwordFile: nope.txt}}\n');
  rejects(() => bmcForNode(loadBmcFile(missing), 'n', missing), 'bmcs.a.passwordFile', 'cannot read', JSON.stringify(join(dir, 'nope.txt')), 'ENOENT');
  write('\n', 'empty.txt');
  const empty = write('nodes: {n: a}\nbmcs: {a: {endpoint: "https://a", username: u, passwordFile: empty.txt}}\n');
  rejects(() => bmcForNode(loadBmcFile(empty), 'n', empty), 'bmcs.a', 'the password is empty', '"empty.txt"');
  write('s3cr3t-inline\n', 'lonely.txt');
  const noUser = write('nodes: {n: a}\nbmcs: {a: {endpoint: "https://a", usernameFile: empty.txt, passwordFile: lonely.txt}}\n');
  rejects(() => bmcForNode(loadBmcFile(noUser), 'n', noUser), 'bmcs.a', 'the username is empty');
});

test("caFile: the BMC's own CA is read as PEM; not PEM, with insecure, or on http is refused", () => {
  const { certFile } = selfSignedCertificate(dir, 'bmc-ca', { cn: 'bmc-ca', san: 'DNS:bmc.example' });
  const path = write(`nodes: {n: a}\nbmcs: {a: {endpoint: "https://bmc.example", username: u, password: s3cr3t-inline, caFile: bmc-ca.crt}}\n`);
  const target = bmcForNode(loadBmcFile(path), 'n', path);
  assert.deepEqual(target.ca, readFileSync(certFile));
  assert.equal(target.insecure, false);
  write('not a certificate\n', 'junk.crt');
  const junk = write('nodes: {n: a}\nbmcs: {a: {endpoint: "https://a", caFile: junk.crt}}\n');
  rejects(() => bmcForNode(loadBmcFile(junk), 'n', junk), 'bmcs.a.caFile', 'junk.crt', 'expected PEM certificates');
  write('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', 'broken.crt');
  const broken = write('nodes: {n: a}\nbmcs: {a: {endpoint: "https://a", caFile: broken.crt}}\n');
  rejects(() => bmcForNode(loadBmcFile(broken), 'n', broken), 'bmcs.a.caFile', 'certificate 1 of 1 is not valid');
  bad('nodes: {n: a}\nbmcs: {a: {endpoint: "https://a", caFile: bmc-ca.crt, insecure: true}}\n', 'bmcs.a.caFile', 'insecure: true');
  bad('nodes: {n: a}\nbmcs: {a: {endpoint: "http://a", caFile: bmc-ca.crt}}\n', 'bmcs.a.caFile', 'http endpoint');
});

test('unknown keys are warned about and ignored, as in the main configuration', () => {
  const path = write('nodes: {n: a}\nbmcs: {a: {endpoint: "https://a", username: u, password: s3cr3t-inline, timeout: 5s}}\nnodeID: n\n');
  const file = loadBmcFile(path);
  assert.deepEqual(file.warnings, [
    `config: experimental.platform.redfish.configFile: ${path}: unknown key "nodeID" (ignored)`,
    `config: experimental.platform.redfish.configFile: ${path}: unknown key "bmcs.a.timeout" (ignored)`,
  ]);
  // A misspelt password key leaves the username alone: refused, and the value is not quoted.
  bad('nodes: {n: a}\nbmcs: {a: {endpoint: "https://a", username: u, pasword: s3cr3t-inline}}\n', 'a username without a password');
});

test('a missing or unreadable file is refused, naming it', () => {
  const path = join(dir, 'absent.yaml');
  rejects(() => loadBmcFile(path), path, 'cannot read', 'ENOENT');
  // YAML errors quote the file after their first line; only the first line is kept.
  const m = bad('nodes: {n: a}\nbmcs:\n  a: {endpoint: "https://a", username: u, password: "s3cr3t-inline}\n', 'invalid YAML');
  assert.ok(!m.includes('s3cr3t'), m);
});
