// The web server: listen addresses, the exporter-toolkit web config, basic auth, and a real
// HTTP(S) server on 127.0.0.1 with certificates made by the openssl CLI in a temp dir.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import http from 'node:http';
import https from 'node:https';
import bcrypt from 'bcryptjs';
import { ConfigError } from '../../src/config/config.js';
import type { LogFields, Logger } from '../../src/logger/logger.js';
import { parseListenAddress } from '../../src/config/listenAddress.js';
import { loadWebConfig } from '../../src/server/webConfig.js';
import { BasicAuth, parseBasic } from '../../src/server/basicAuth.js';
import { BcryptPool } from '../../src/server/bcryptPool.js';
import { WebServer } from '../../src/server/webServer.js';
import { selfSignedCertificate } from '../support/certificates.js';

// ---------- fixtures ----------

const dir = mkdtempSync(join(tmpdir(), 'kepler-ts-server-'));
const pem = (name: string): string => readFileSync(join(dir, name), 'utf8');

before(() => {
  selfSignedCertificate(dir, 'server', { cn: 'localhost', san: 'DNS:localhost,IP:127.0.0.1' });
  selfSignedCertificate(dir, 'client', { cn: 'scraper', san: 'DNS:scraper' }); // doubles as its own client CA
  selfSignedCertificate(dir, 'stranger', { cn: 'stranger', san: 'DNS:stranger' }); // a client cert no CA vouches for
  writeFileSync(join(dir, 'garbage.pem'), 'not a certificate\n');
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Writes a web config into the temp dir; its relative paths then resolve against that dir. */
function webConfig(name: string, yaml: string): string {
  const path = join(dir, name);
  writeFileSync(path, yaml);
  return path;
}

function testLogger(): { logger: Logger; lines: { level: string; msg: string; fields?: LogFields }[] } {
  const lines: { level: string; msg: string; fields?: LogFields }[] = [];
  const make = (): Logger => ({
    debug: (msg, fields) => lines.push({ level: 'debug', msg, fields }),
    info: (msg, fields) => lines.push({ level: 'info', msg, fields }),
    warn: (msg, fields) => lines.push({ level: 'warn', msg, fields }),
    error: (msg, fields) => lines.push({ level: 'error', msg, fields }),
    with: () => make(),
  });
  return { logger: make(), lines };
}

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request on a fresh connection (agent: false) unless an agent is given. */
function request(url: string, opts: https.RequestOptions = {}): Promise<Reply> {
  const mod = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(url, { agent: false, ...opts }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

async function startServer(webConfigFile = '', setup?: (s: WebServer) => void) {
  const log = testLogger();
  const server = new WebServer({ listenAddresses: ['127.0.0.1:0'], webConfigFile, logger: log.logger });
  server.route('/metrics', (_req, res) => {
    res.setHeader('Content-Type', 'text/plain');
    res.end('up 1\n');
  });
  setup?.(server);
  await server.start();
  const { port } = server.addresses()[0];
  return { server, log, port, http: `http://127.0.0.1:${port}`, https: `https://localhost:${port}` };
}

const basic = (user: string, password: string) => ({
  headers: { Authorization: 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64') },
});

// ---------- listen addresses ----------

describe('parseListenAddress', () => {
  test('accepts Go-style addresses', () => {
    assert.deepEqual(parseListenAddress(':28282'), { port: 28282 });
    assert.deepEqual(parseListenAddress('127.0.0.1:9100'), { host: '127.0.0.1', port: 9100 });
    assert.deepEqual(parseListenAddress('[::1]:28282'), { host: '::1', port: 28282 });
    assert.deepEqual(parseListenAddress('localhost:80'), { host: 'localhost', port: 80 });
    assert.deepEqual(parseListenAddress('0.0.0.0:65535'), { host: '0.0.0.0', port: 65535 });
    assert.deepEqual(parseListenAddress(':0'), { port: 0 }); // any free port, as in Go
  });

  test('rejects bad addresses, naming them', () => {
    const bad = ['28282', 'localhost', ':', '', ':70000', ':abc', ':-1', '::1:80', '[::1]', '[::1]80', '[zz]:80', 'bad host:80', 'a:b:1'];
    for (const s of bad) {
      assert.throws(
        () => parseListenAddress(s),
        (err: Error) => {
          assert.match(err.message, /^invalid listen address /);
          assert.ok(err.message.includes(JSON.stringify(s)), err.message);
          return true;
        },
        s,
      );
    }
  });
});

// ---------- web config ----------

describe('loadWebConfig', () => {
  test('relative paths resolve against the config file directory; defaults as exporter-toolkit', () => {
    const cfg = loadWebConfig(webConfig('ok.yml', 'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n'));
    assert.equal(cfg.tls?.cert, pem('server.crt'));
    assert.equal(cfg.tls?.key, pem('server.key'));
    assert.equal(cfg.tls?.minVersion, 'TLSv1.2');
    assert.equal(cfg.tls?.maxVersion, 'TLSv1.3');
    assert.equal(cfg.tls?.requestCert, false);
    assert.equal(cfg.users.size, 0);
    assert.deepEqual(cfg.warnings, []);
  });

  test('empty file and empty tls_server_config mean plain HTTP', () => {
    assert.equal(loadWebConfig(webConfig('empty.yml', '')).tls, undefined);
    assert.equal(loadWebConfig(webConfig('emptytls.yml', 'tls_server_config: {}\n')).tls, undefined);
  });

  test('client_auth_type maps onto Node options', () => {
    const cfg = loadWebConfig(
      webConfig(
        'mtls.yml',
        [
          'tls_server_config:',
          '  cert_file: server.crt',
          '  key_file: server.key',
          '  client_ca_file: client.crt',
          '  client_auth_type: RequireAndVerifyClientCert',
          '  min_version: TLS13',
        ].join('\n'),
      ),
    );
    assert.equal(cfg.tls?.ca, pem('client.crt'));
    assert.equal(cfg.tls?.requestCert, true);
    assert.equal(cfg.tls?.rejectUnauthorized, true);
    assert.equal(cfg.tls?.minVersion, 'TLSv1.3');
  });

  test('unknown keys and ignored TLS knobs come back as warnings naming the key', () => {
    const cfg = loadWebConfig(
      webConfig(
        'warn.yml',
        [
          'foo: 1',
          'tls_server_config:',
          '  cert_file: server.crt',
          '  key_file: server.key',
          '  bar: 2',
          '  cipher_suites: [TLS_AES_128_GCM_SHA256]',
          'http_server_config:',
          '  http2: false',
          '  baz: 3',
        ].join('\n'),
      ),
    );
    const w = cfg.warnings.join('\n');
    assert.match(w, /unknown key "foo"/);
    assert.match(w, /unknown key "tls_server_config\.bar"/);
    assert.match(w, /unknown key "http_server_config\.baz"/);
    assert.match(w, /tls_server_config\.cipher_suites ignored/);
    assert.equal(cfg.warnings.length, 4);
  });

  // [file name, yaml, text the message must contain (file path is always checked)]
  const cases: [string, string, string[]][] = [
    ['yaml.yml', 'tls_server_config: [\n', ['invalid YAML']],
    ['mapping.yml', 'tls_server_config: yes please\n', ['tls_server_config', '"yes please"', 'a mapping']],
    ['nocert.yml', 'tls_server_config:\n  cert_file: missing.crt\n  key_file: server.key\n', ['tls_server_config.cert_file', JSON.stringify(join(dir, 'missing.crt')), 'ENOENT']],
    ['nokey.yml', 'tls_server_config:\n  cert_file: server.crt\n', ['tls_server_config.key_file', 'missing']],
    ['nocertfile.yml', 'tls_server_config:\n  key_file: server.key\n', ['tls_server_config.cert_file', 'missing']],
    ['numcert.yml', 'tls_server_config:\n  cert_file: 123\n  key_file: server.key\n', ['tls_server_config.cert_file', '123', 'a string']],
    [
      'garbage.yml',
      'tls_server_config:\n  cert_file: garbage.pem\n  key_file: server.key\n',
      ['tls_server_config.cert_file', JSON.stringify(join(dir, 'garbage.pem')), 'not a PEM certificate'],
    ],
    [
      'mismatch.yml',
      'tls_server_config:\n  cert_file: server.crt\n  key_file: client.key\n',
      ['tls_server_config.key_file', JSON.stringify(join(dir, 'client.key')), 'does not match'],
    ],
    [
      'auth.yml',
      'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: Foo\n',
      ['tls_server_config.client_auth_type', 'invalid value "Foo"', 'NoClientCert', 'RequireAndVerifyClientCert'],
    ],
    [
      'capolicy.yml',
      'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_ca_file: client.crt\n',
      ['tls_server_config.client_auth_type', 'invalid value ""', 'client_ca_file'],
    ],
    [
      'minver.yml',
      'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  min_version: TLS14\n',
      ['tls_server_config.min_version', '"TLS14"', 'TLS10, TLS11, TLS12, TLS13'],
    ],
    [
      'minmax.yml',
      'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  min_version: TLS13\n  max_version: TLS12\n',
      ['tls_server_config.min_version', '"TLS13"', 'max_version'],
    ],
    [
      'sans.yml',
      'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_allowed_sans: [a]\n',
      ['tls_server_config.client_allowed_sans', 'not supported'],
    ],
    ['header.yml', 'http_server_config:\n  headers:\n    X-Foo: bar\n', ['http_server_config.headers.X-Foo', '"X-Foo"', 'Strict-Transport-Security']],
    ['headerval.yml', 'http_server_config:\n  headers:\n    X-Frame-Options: allow\n', ['http_server_config.headers.X-Frame-Options', '"allow"', 'deny, sameorigin']],
    ['http2.yml', 'http_server_config:\n  http2: maybe\n', ['http_server_config.http2', '"maybe"', 'true or false']],
    // Node refuses such a value in setHeader, so it would pass start-up and then fail every request.
    [
      'headercrlf.yml',
      'http_server_config:\n  headers:\n    Strict-Transport-Security: "max-age=1\\r\\nSet-Cookie: a=b"\n',
      ['http_server_config.headers.Strict-Transport-Security', '"max-age=1\\r\\nSet-Cookie: a=b"', 'without control characters (CR, LF, NUL)'],
    ],
    [
      'headernul.yml',
      'http_server_config:\n  headers:\n    Content-Security-Policy: "default-src \\0"\n',
      ['http_server_config.headers.Content-Security-Policy', '"default-src \\u0000"', 'without control characters'],
    ],
    [
      'headerlf.yml',
      'http_server_config:\n  headers:\n    x-xss-protection: "1;\\nmode=block"\n',
      ['http_server_config.headers.x-xss-protection', '"1;\\nmode=block"', 'without control characters'],
    ],
  ];
  for (const [name, yaml, expected] of cases) {
    test(`error: ${name}`, () => {
      const path = webConfig(name, yaml);
      assert.throws(
        () => loadWebConfig(path),
        (err: Error) => {
          assert.ok(err instanceof ConfigError, String(err));
          assert.ok(err.message.startsWith(`web config ${path}: `), err.message);
          assert.ok(!err.message.includes('\n'), `one line: ${err.message}`);
          for (const e of expected) assert.ok(err.message.includes(e), `${JSON.stringify(e)} in: ${err.message}`);
          return true;
        },
      );
    });
  }

  test('error: missing file names the file', () => {
    const path = join(dir, 'nope.yml');
    assert.throws(
      () => loadWebConfig(path),
      (err: Error) => err instanceof ConfigError && err.message === `web config ${path}: cannot read file: no such file (ENOENT)`,
    );
  });

  test('error: a cert/key mismatch keeps the TLS error as its cause', () => {
    const path = webConfig('mismatch-cause.yml', 'tls_server_config:\n  cert_file: server.crt\n  key_file: client.key\n');
    assert.throws(
      () => loadWebConfig(path),
      (err: Error) => err instanceof ConfigError && err.cause instanceof Error && err.message.includes(err.cause.message),
    );
  });

  test('error: the first of several problems, and the TLS checks only when TLS is asked for', () => {
    const path = webConfig('two.yml', 'http_server_config:\n  http2: maybe\nbasic_auth_users:\n  alice: hunter2\n');
    assert.throws(
      () => loadWebConfig(path),
      (err: Error) => err instanceof ConfigError && err.message.startsWith(`web config ${path}: http_server_config.http2: `),
    );
    const inline = loadWebConfig(
      webConfig('inline.yml', `tls_server_config:\n  cert: ${JSON.stringify(pem('server.crt'))}\n  key: ${JSON.stringify(pem('server.key'))}\n  key_file: ""\n`),
    );
    assert.equal(inline.tls?.cert, pem('server.crt'));
    const both = webConfig('both.yml', 'tls_server_config:\n  cert_file: server.crt\n  cert: x\n  key_file: server.key\n');
    assert.throws(
      () => loadWebConfig(both),
      (err: Error) => err.message === `web config ${both}: tls_server_config.cert_file: cannot be set together with cert`,
    );
    assert.equal(
      loadWebConfig(
        webConfig('req.yml', 'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireClientCert\n  client_ca_file: client.crt\n'),
      ).tls?.clientAuth,
      'RequireAnyClientCert',
    );
  });

  test('error: a non-bcrypt password names the user but never echoes the value', () => {
    const path = webConfig('hash.yml', 'basic_auth_users:\n  alice: hunter2\n');
    assert.throws(
      () => loadWebConfig(path),
      (err: Error) => {
        assert.ok(err instanceof ConfigError);
        assert.ok(err.message.startsWith(`web config ${path}: basic_auth_users.alice: `), err.message);
        assert.match(err.message, /not a bcrypt hash/);
        assert.ok(!err.message.includes('hunter2'), err.message);
        return true;
      },
    );
  });
});

// ---------- basic auth ----------

describe('BasicAuth', () => {
  test('parseBasic', () => {
    const enc = (s: string) => Buffer.from(s).toString('base64');
    assert.deepEqual(parseBasic(`Basic ${enc('a:b:c')}`), { user: 'a', password: 'b:c' });
    assert.deepEqual(parseBasic(`basic ${enc('a:')}`), { user: 'a', password: '' });
    assert.equal(parseBasic(`Basic ${enc('nocolon')}`), undefined);
    assert.equal(parseBasic('Bearer abc'), undefined);
    assert.equal(parseBasic(undefined), undefined);
  });

  test('caches successes only, and pays a compare for unknown users', async () => {
    const hash = bcrypt.hashSync('secret', 4);
    let compares = 0;
    const auth = new BasicAuth(new Map([['alice', hash]]), async (p, h) => {
      compares++;
      return bcrypt.compare(p, h);
    });
    const hdr = (u: string, p: string) => basic(u, p).headers.Authorization;
    assert.equal(await auth.check(hdr('alice', 'secret')), 'ok');
    assert.equal(await auth.check(hdr('alice', 'secret')), 'ok');
    assert.equal(compares, 1, 'second success served from the cache');
    assert.equal(await auth.check(hdr('alice', 'wrong')), 'denied');
    assert.equal(await auth.check(hdr('alice', 'wrong')), 'denied');
    assert.equal(compares, 3, 'failures are not cached');
    assert.equal(await auth.check(hdr('mallory', 'secret')), 'denied', "another user's password");
    assert.equal(compares, 4, 'unknown user still runs bcrypt');
    assert.equal(await auth.check(undefined), 'denied');
  });

  test('the cache is bounded', async () => {
    let compares = 0;
    const users = new Map(Array.from({ length: 150 }, (_, i) => [`u${i}`, 'h'] as [string, string]));
    const auth = new BasicAuth(users, () => {
      compares++;
      return Promise.resolve(true);
    });
    for (const u of users.keys()) assert.equal(await auth.check(basic(u, 'p').headers.Authorization), 'ok');
    assert.equal(await auth.check(basic('u149', 'p').headers.Authorization), 'ok');
    assert.equal(compares, 150, 'recent entry cached');
    assert.equal(await auth.check(basic('u0', 'p').headers.Authorization), 'ok');
    assert.equal(compares, 151, 'oldest entry evicted');
  });

  test('at most 4 compares run and 16 wait; more is "busy" at once, and cached credentials still pass', async () => {
    // Compares that finish only when the test says so.
    const running: { password: string; finish: (ok: boolean) => void }[] = [];
    const auth = new BasicAuth(
      new Map([
        ['alice', 'h'],
        ['bob', 'h'],
      ]),
      (password) => new Promise((finish) => running.push({ password, finish })),
    );
    const hdr = (u: string, p: string) => basic(u, p).headers.Authorization;
    const turn = () => new Promise((r) => setImmediate(r));
    const next = () => {
      const compare = running.shift();
      assert.ok(compare, 'a compare is running');
      return compare;
    };

    const first = auth.check(hdr('alice', 'secret'));
    await turn();
    next().finish(true);
    assert.equal(await first, 'ok');

    // From 30 addresses: the per-address share of the queue is not what limits here.
    const flood = Array.from({ length: 30 }, (_, i) => auth.check(hdr('alice', 'wrong'), `10.0.0.${i}`));
    await turn();
    assert.equal(running.length, 4, 'four compares at a time');
    assert.deepEqual(await Promise.all(flood.slice(20)), Array(10).fill('busy'), 'beyond 4 running + 16 waiting');
    assert.equal(await auth.check(hdr('alice', 'secret')), 'ok', 'a cache hit never waits');
    assert.equal(await auth.check(hdr('bob', 'secret')), 'busy', 'a check not cached yet does');
    assert.equal(await auth.check(undefined), 'denied', 'no credentials: no compare, no wait');

    // Each finished compare hands its place to a waiting check.
    let compares = 0;
    while (running.length > 0) {
      assert.ok(running.length <= 4);
      next().finish(false);
      compares++;
      await turn();
    }
    assert.equal(compares, 20);
    assert.deepEqual(await Promise.all(flood.slice(0, 20)), Array(20).fill('denied'));

    // Drained: a compare that throws is a denial and frees its place too.
    const broken = new BasicAuth(new Map([['alice', 'h']]), () => Promise.reject(new Error('worker gone')));
    for (let i = 0; i < 25; i++) assert.equal(await broken.check(hdr('alice', 'x')), 'denied');
  });
});

test('BasicAuth: one address floods at most 4 places of the queue; a scraper elsewhere still gets one', async () => {
  const running: { finish: (ok: boolean) => void }[] = [];
  const auth = new BasicAuth(new Map([['prometheus', 'h']]), () => new Promise((finish) => running.push({ finish })));
  const hdr = (p: string) => basic('prometheus', p).headers.Authorization;
  const turn = () => new Promise((r) => setImmediate(r));
  const next = () => {
    const compare = running.shift();
    assert.ok(compare, 'a compare is running');
    return compare;
  };
  const attacker = Array.from({ length: 30 }, () => auth.check(hdr('wrong'), '203.0.113.9'));
  await turn();
  assert.equal(running.length, 4, 'four compares run, whoever asked');
  assert.deepEqual(await Promise.all(attacker.slice(8)), Array(22).fill('busy'), '4 running + 4 waiting for this address, the rest refused');
  const scraper = auth.check(hdr('right'), '10.1.2.3'); // after a restart: not cached yet
  await turn();
  assert.equal(auth.failures.busy, 22, 'the scraper was not refused');
  // The scraper's check runs after the 4 running and the attacker's 4 waiting ones.
  for (let i = 0; i < 8; i++) {
    next().finish(false);
    await turn();
  }
  next().finish(true);
  assert.equal(await scraper, 'ok');
  assert.deepEqual(await Promise.all(attacker.slice(0, 8)), Array(8).fill('denied'));
  assert.deepEqual(auth.failures, { denied: 8, busy: 22 });
});

describe('BcryptPool', () => {
  test('compares bcrypt hashes in a worker thread; a bad hash is a mismatch', async () => {
    const pool = new BcryptPool();
    try {
      const hash = bcrypt.hashSync('secret', 4);
      const results = await Promise.all([pool.compare('secret', hash), pool.compare('wrong', hash), pool.compare('secret', 'not a hash')]);
      assert.deepEqual(results, [true, false, false]);
    } finally {
      await pool.close();
    }
    assert.equal(await pool.compare('secret', bcrypt.hashSync('secret', 4)), false, 'closed: fails closed');
  });

  test('a worker that dies fails its checks closed, is reported, and is replaced', async () => {
    const script = join(dir, 'crashy-worker.mjs');
    writeFileSync(
      script,
      [
        "import { parentPort } from 'node:worker_threads';",
        "parentPort.on('message', (m) => {",
        "  if (m.password === 'crash') process.exit(3);",
        "  parentPort.postMessage({ id: m.id, ok: m.password === 'good' });",
        '});',
      ].join('\n'),
    );
    const errors: Error[] = [];
    const pool = new BcryptPool({ size: 1, script: pathToFileURL(script), onError: (e) => errors.push(e) });
    try {
      assert.equal(await pool.compare('good', 'h'), true);
      // Both are with the one worker when it dies.
      assert.deepEqual(await Promise.all([pool.compare('crash', 'h'), pool.compare('good', 'h')]), [false, false]);
      assert.equal(errors.length, 1);
      assert.match(errors[0].message, /bcrypt worker exited with code 3/);
      assert.equal(await pool.compare('good', 'h'), true, 'a new worker took over');
    } finally {
      await pool.close();
    }
  });

  test('a worker script that cannot load fails checks closed, without crashing', async () => {
    const errors: Error[] = [];
    const pool = new BcryptPool({ script: pathToFileURL(join(dir, 'no-such-worker.js')), onError: (e) => errors.push(e) });
    try {
      assert.equal(await pool.compare('p', 'h'), false);
      assert.equal(await pool.compare('p', 'h'), false);
      assert.ok(errors.length >= 1);
      assert.ok(
        errors.every((e) => /bcrypt worker/.test(e.message)),
        errors.map(String).join('; '),
      );
    } finally {
      await pool.close();
    }
  });
});

// ---------- the server ----------

describe('WebServer over HTTP', () => {
  test('routes, query strings, HEAD, 404 and 405', async () => {
    const s = await startServer();
    try {
      const ok = await request(`${s.http}/metrics?debug=1`);
      assert.equal(ok.status, 200);
      assert.equal(ok.body, 'up 1\n');
      const head = await request(`${s.http}/metrics`, { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(head.body, '');
      const missing = await request(`${s.http}/nope`);
      assert.equal(missing.status, 404);
      assert.equal((await request(`${s.http}/metrics/`)).status, 404, 'exact match only');
      const post = await request(`${s.http}/metrics`, { method: 'POST' });
      assert.equal(post.status, 405);
      assert.equal(post.headers.allow, 'GET, HEAD');
    } finally {
      await s.server.close();
    }
  });

  test('a throwing handler gives 500, is logged, and the server keeps serving', async () => {
    const s = await startServer('', (srv) => {
      srv.route('/throw', () => {
        throw new Error('boom');
      });
      srv.route('/reject', () => Promise.reject(new Error('async boom')));
    });
    try {
      assert.equal((await request(`${s.http}/throw`)).status, 500);
      assert.equal((await request(`${s.http}/reject`)).status, 500);
      assert.equal((await request(`${s.http}/metrics`)).status, 200);
      const errors = s.log.lines.filter((l) => l.level === 'error');
      assert.equal(errors.length, 2);
      assert.equal((errors[0].fields?.err as Error).message, 'boom');
      assert.equal(errors[0].fields?.path, '/throw');
    } finally {
      await s.server.close();
    }
  });

  test('configured headers go on every response', async () => {
    const cfg = webConfig('headers.yml', ['http_server_config:', '  headers:', '    X-Frame-Options: deny', '    Strict-Transport-Security: max-age=31536000'].join('\n'));
    const s = await startServer(cfg);
    try {
      for (const path of ['/metrics', '/nope']) {
        const r = await request(`${s.http}${path}`);
        assert.equal(r.headers['x-frame-options'], 'deny', path);
        assert.equal(r.headers['strict-transport-security'], 'max-age=31536000', path);
      }
    } finally {
      await s.server.close();
    }
  });

  test('basic auth guards every route', async () => {
    const hash = bcrypt.hashSync('s3cret:x', 4);
    const cfg = webConfig('auth-ok.yml', `basic_auth_users:\n  alice: ${hash}\n`);
    const s = await startServer(cfg);
    try {
      const none = await request(`${s.http}/metrics`);
      assert.equal(none.status, 401);
      assert.equal(none.headers['www-authenticate'], 'Basic realm="kepler-ts"');
      assert.equal((await request(`${s.http}/nope`)).status, 401, 'no 404 before auth');
      assert.equal((await request(`${s.http}/metrics`, basic('alice', 'wrong'))).status, 401);
      assert.equal((await request(`${s.http}/metrics`, basic('bob', 's3cret:x'))).status, 401);
      const ok = await request(`${s.http}/metrics`, basic('alice', 's3cret:x'));
      assert.equal(ok.status, 200);
      assert.equal(ok.body, 'up 1\n');
    } finally {
      await s.server.close();
    }
  });

  test('a route with { auth: false } skips basic auth; other routes and unknown paths do not', async () => {
    const hash = bcrypt.hashSync('pw', 4);
    const cfg = webConfig('auth-open.yml', `basic_auth_users:\n  alice: ${hash}\n`);
    const s = await startServer(cfg, (srv) => srv.route('/open', (_req, res) => void res.end('open\n'), { auth: false }));
    try {
      const open = await request(`${s.http}/open?x=1`);
      assert.equal(open.status, 200);
      assert.equal(open.body, 'open\n');
      assert.equal((await request(`${s.http}/open`, basic('alice', 'wrong'))).status, 200, 'credentials are not even looked at');
      assert.equal((await request(`${s.http}/open`, { method: 'POST' })).status, 405);
      assert.equal((await request(`${s.http}/metrics`)).status, 401);
      assert.equal((await request(`${s.http}/nope`)).status, 401, 'still no 404 before auth');
    } finally {
      await s.server.close();
    }
  });

  test('a flood of wrong passwords: 429 beyond the cap, a verified scraper and { auth: false } answered meanwhile', async () => {
    // Cost 10, as htpasswd makes them: each check takes tens of ms, so the flood outlasts the probes.
    const hash = bcrypt.hashSync('s3cret', 10);
    const cfg = webConfig('auth-flood.yml', `basic_auth_users:\n  alice: ${hash}\n`);
    const s = await startServer(cfg, (srv) => srv.route('/open', (_req, res) => void res.end('open\n'), { auth: false }));
    try {
      assert.equal((await request(`${s.http}/metrics`, basic('alice', 's3cret'))).status, 200, 'verified once: cached');
      const arrived: number[] = [];
      const flood = Array.from({ length: 50 }, () => request(`${s.http}/metrics`, basic('alice', 'wrong')).then((r) => (arrived.push(r.status), r)));
      // The first answer comes once the flood is under way (a 429: the queue is full).
      await Promise.race(flood);
      const denied = () => arrived.filter((st) => st === 401).length;
      const legit = await request(`${s.http}/metrics`, basic('alice', 's3cret'));
      const deniedAtLegit = denied();
      const open = await request(`${s.http}/open`);
      const deniedAtOpen = denied();
      const replies = await Promise.all(flood);

      assert.equal(legit.status, 200);
      assert.equal(legit.body, 'up 1\n');
      assert.equal(open.status, 200);
      const busy = replies.filter((r) => r.status === 429);
      const total401 = replies.filter((r) => r.status === 401).length;
      assert.equal(busy.length + total401, 50, `statuses: ${replies.map((r) => r.status).join(' ')}`);
      assert.ok(busy.length > 0, 'requests beyond 4 running + 4 waiting from this one address are turned away');
      assert.ok(total401 >= 8, `the first 8 are all checked (${total401} were)`);
      for (const r of busy) {
        assert.equal(r.headers['retry-after'], '1');
        assert.equal(r.body, 'Too Many Requests\n');
      }
      // Robust against a slow machine: what matters is that they did not wait for the flood.
      assert.ok(deniedAtLegit < total401, `verified scraper answered after ${deniedAtLegit} of ${total401} denials`);
      assert.ok(deniedAtOpen < total401, `auth: false route answered after ${deniedAtOpen} of ${total401} denials`);
    } finally {
      await s.server.close();
    }
  });

  test('listening on all interfaces with ":0"', async () => {
    const server = new WebServer({ listenAddresses: [':0'], webConfigFile: '', logger: testLogger().logger });
    server.route('/metrics', (_req, res) => {
      res.end('ok');
    });
    await server.start();
    try {
      const { port } = server.addresses()[0];
      assert.equal((await request(`http://127.0.0.1:${port}/metrics`)).body, 'ok');
    } finally {
      await server.close();
    }
  });

  test('a taken port rejects naming the address, and nothing stays open', async () => {
    const first = await startServer();
    const addr = `127.0.0.1:${first.port}`;
    const second = new WebServer({ listenAddresses: ['127.0.0.1:0', addr], webConfigFile: '', logger: testLogger().logger });
    try {
      await assert.rejects(second.start(), new RegExp(`cannot listen on "${addr}": address already in use \\(EADDRINUSE\\)`));
      assert.deepEqual(second.addresses(), [], 'the address that did bind was closed again');
    } finally {
      await first.server.close();
    }
  });

  test('bad listen addresses and web configs fail in the constructor', () => {
    const logger = testLogger().logger;
    assert.throws(
      () => new WebServer({ listenAddresses: ['nope'], webConfigFile: '', logger }),
      (e: Error) => e instanceof ConfigError && /web\.listenAddresses: invalid listen address "nope"/.test(e.message),
    );
    assert.throws(() => new WebServer({ listenAddresses: [], webConfigFile: '', logger }), ConfigError);
    assert.throws(() => new WebServer({ listenAddresses: [':0'], webConfigFile: join(dir, 'nope.yml'), logger }), ConfigError);
  });

  test('the errors of the constructor keep the error they wrap as their cause', () => {
    const logger = testLogger().logger;
    assert.throws(
      () => new WebServer({ listenAddresses: ['nope'], webConfigFile: '', logger }),
      (e: Error) => e instanceof ConfigError && e.cause instanceof Error && e.cause.message.startsWith('invalid listen address "nope"'),
    );
    assert.throws(
      () => new WebServer({ listenAddresses: [':0'], webConfigFile: join(dir, 'nope.yml'), logger }),
      (e: Error) => e instanceof ConfigError && (e.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT',
    );
  });
});

describe('WebServer over HTTPS', () => {
  const tlsConfig = (name: string, extra: string[] = []) => webConfig(name, ['tls_server_config:', '  cert_file: server.crt', '  key_file: server.key', ...extra].join('\n'));

  test('answers https.get from a client that trusts the certificate', async () => {
    const s = await startServer(tlsConfig('tls.yml'));
    try {
      const body = await new Promise<string>((resolve, reject) => {
        https
          .get(`${s.https}/metrics`, { ca: pem('server.crt'), agent: false }, (res) => {
            assert.equal(res.statusCode, 200);
            let b = '';
            res.on('data', (c: Buffer) => (b += c.toString()));
            res.on('end', () => resolve(b));
          })
          .on('error', reject);
      });
      assert.equal(body, 'up 1\n');
      await assert.rejects(request(`${s.https}/metrics`), /self[- ]signed/i, 'untrusting client refuses');
    } finally {
      await s.server.close();
    }
  });

  test('RequireAndVerifyClientCert rejects clients without a trusted certificate', async () => {
    const s = await startServer(tlsConfig('mtls-verify.yml', ['  client_ca_file: client.crt', '  client_auth_type: RequireAndVerifyClientCert']));
    const ca = pem('server.crt');
    try {
      await assert.rejects(request(`${s.https}/metrics`, { ca }));
      await assert.rejects(request(`${s.https}/metrics`, { ca, cert: pem('stranger.crt'), key: pem('stranger.key') }));
      const ok = await request(`${s.https}/metrics`, { ca, cert: pem('client.crt'), key: pem('client.key') });
      assert.equal(ok.status, 200);
    } finally {
      await s.server.close();
    }
  });

  test('RequireAnyClientCert and VerifyClientCertIfGiven, which Node cannot express alone', async () => {
    const ca = pem('server.crt');
    const stranger = { ca, cert: pem('stranger.crt'), key: pem('stranger.key') };
    const any = await startServer(tlsConfig('mtls-any.yml', ['  client_auth_type: RequireAnyClientCert']));
    try {
      await assert.rejects(request(`${any.https}/metrics`, { ca }));
      assert.equal((await request(`${any.https}/metrics`, stranger)).status, 200, 'any certificate will do');
    } finally {
      await any.server.close();
    }
    const ifGiven = await startServer(tlsConfig('mtls-ifgiven.yml', ['  client_ca_file: client.crt', '  client_auth_type: VerifyClientCertIfGiven']));
    try {
      assert.equal((await request(`${ifGiven.https}/metrics`, { ca })).status, 200, 'no certificate is fine');
      await assert.rejects(request(`${ifGiven.https}/metrics`, stranger), 'an unverified one is not');
      const ok = await request(`${ifGiven.https}/metrics`, { ca, cert: pem('client.crt'), key: pem('client.key') });
      assert.equal(ok.status, 200);
    } finally {
      await ifGiven.server.close();
    }
  });
});

describe('WebServer.close', () => {
  test('returns promptly with an idle keep-alive connection open', async () => {
    const s = await startServer();
    const agent = new http.Agent({ keepAlive: true });
    try {
      assert.equal((await request(`${s.http}/metrics`, { agent })).status, 200);
      const t0 = Date.now();
      await s.server.close(4000);
      assert.ok(Date.now() - t0 < 500, `took ${Date.now() - t0} ms`);
    } finally {
      agent.destroy();
    }
  });

  test('lets an in-flight request finish', async () => {
    let entered!: () => void;
    const inHandler = new Promise<void>((r) => (entered = r));
    const s = await startServer('', (srv) =>
      srv.route('/slow', async (_req, res) => {
        entered();
        await new Promise((r) => setTimeout(r, 300));
        res.end('done');
      }),
    );
    const agent = new http.Agent({ keepAlive: true });
    try {
      const reply = request(`${s.http}/slow`, { agent });
      await inHandler;
      const t0 = Date.now();
      await s.server.close(4000);
      const took = Date.now() - t0;
      assert.equal((await reply).body, 'done');
      assert.ok(took >= 200 && took < 1500, `took ${took} ms`);
    } finally {
      agent.destroy();
    }
  });

  test('destroys a hung request at the deadline', async () => {
    const s = await startServer('', (srv) => srv.route('/hang', () => new Promise<void>(() => {})));
    const reply = request(`${s.http}/hang`);
    await new Promise((r) => setTimeout(r, 50));
    const t0 = Date.now();
    await s.server.close(1000);
    assert.ok(Date.now() - t0 < 1000, `took ${Date.now() - t0} ms`);
    await assert.rejects(reply);
  });
});
