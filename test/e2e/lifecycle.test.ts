// The exporter's life as a DaemonSet sees it: start-up while Kubernetes is unreachable, and the
// signals a kubelet or an operator sends (SIGTERM during a slow start, twice during the stop,
// SIGHUP). Each case runs the real binary and waits on the real clock.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import { parseExposition, select } from '../support/exposition.js';
import { freePort, MAIN, startExporter, type Exporter } from '../support/processes.js';

const tmp = mkdtempSync(join(tmpdir(), 'kepler-lifecycle-'));
const tokenFile = join(tmp, 'token');
const NODE = 'node-1';
/** The fake meter: these cases are about the process, not about what it measures. */
const BASE = ['--cpu.preferred-meters=fake', `--kube.node-name=${NODE}`];

function kubeconfig(name: string, server: string): string {
  const file = join(tmp, name);
  writeFileSync(
    file,
    [
      'apiVersion: v1',
      'kind: Config',
      `clusters: [{name: c, cluster: {server: "${server}", insecure-skip-tls-verify: true}}]`,
      `users: [{name: u, user: {token-file: "${tokenFile}"}}]`,
      'contexts: [{name: c, context: {cluster: c, user: u}}]',
      'current-context: c',
      '',
    ].join('\n'),
  );
  return file;
}

/** Spawns the exporter without waiting for it to listen. */
function spawnExporter(args: string[]) {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; atMs: number }>((r) =>
    child.on('exit', (code, signal) => r({ code, signal, atMs: performance.now() })),
  );
  return { child, exited, stderr: () => err };
}

async function waitForLog(stderr: () => string, pattern: RegExp, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!pattern.test(stderr())) {
    if (Date.now() > until) throw new Error(`no log line matching ${pattern} within ${timeoutMs} ms: ${stderr()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A TCP server that accepts connections and never answers: an API server that hangs. */
function silentServer(): Promise<{ server: Server; port: number; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port, sockets })));
}

before(() => writeFileSync(tokenFile, 'token-1'));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('start-up while Kubernetes is unreachable', () => {
  const running: Exporter[] = [];
  after(() => running.forEach((e) => e.child.exitCode === null && e.child.kill('SIGKILL')));

  for (const [what, server] of [
    ['an API server that refuses connections', async () => `https://127.0.0.1:${await freePort()}`],
    ['an http:// API server URL', async () => `http://127.0.0.1:${await freePort()}`],
  ] as const) {
    it(`keeps running and serves every other metric with ${what}`, async () => {
      const port = await freePort();
      const config = kubeconfig(`kubeconfig-${port}`, await server());
      const e = await startExporter([...BASE, '--kube.enable', `--kube.config=${config}`, `--web.listen-address=127.0.0.1:${port}`], port);
      running.push(e);
      await new Promise((r) => setTimeout(r, 1500)); // a few retries later
      assert.equal(e.child.exitCode, null, `the exporter exited: ${e.stderr()}`);
      const x = parseExposition(await (await fetch(`${e.url}/metrics`)).text());
      assert.ok(select(x, 'kepler_node_cpu_joules_total').length > 0, 'node metrics are served');
      const failures = select(x, 'kepler_exporter_kube_errors_total').reduce((s, v) => s + v.value, 0);
      assert.ok(failures >= 1, 'the failed requests are counted');
      assert.match(e.stderr(), /level=WARN msg="kubelet unreachable; keeping the pod labels known so far and retrying/, 'the outage is logged');
      assert.equal((e.stderr().match(/unreachable/g) ?? []).length, 1, 'once');
    });
  }
});

describe('signals', () => {
  it('stops with 0 and a log line on SIGTERM during a slow start (Kubernetes not answering)', async () => {
    const hung = await silentServer();
    try {
      const config = kubeconfig('kubeconfig-hung', `https://127.0.0.1:${hung.port}`);
      const p = spawnExporter([...BASE, '--kube.enable', `--kube.config=${config}`, `--web.listen-address=127.0.0.1:${await freePort()}`]);
      await waitForLog(p.stderr, /kubernetes pod metadata/, 10_000); // start-up now waits for the first sync
      const sent = performance.now();
      p.child.kill('SIGTERM');
      const r = await p.exited;
      assert.deepEqual([r.code, r.signal], [0, null], p.stderr());
      assert.ok(r.atMs - sent < 5000, `exited ${Math.round(r.atMs - sent)} ms after SIGTERM`);
      assert.match(p.stderr(), /msg=stopping signal=SIGTERM/);
      assert.doesNotMatch(p.stderr(), /kepler-ts started/, 'it never went on to listen');
    } finally {
      hung.sockets.forEach((s) => s.destroy());
      hung.server.close();
    }
  });

  it('a second SIGTERM during the stop is logged and does not turn the exit into 143', async () => {
    const port = await freePort();
    const e = await startExporter([...BASE, `--web.listen-address=127.0.0.1:${port}`], port);
    // A request that never completes keeps the graceful stop busy until its deadline.
    const slow = connect(port, '127.0.0.1');
    await new Promise((r) => slow.once('connect', r));
    slow.write('GET /metrics HTTP/1.1\r\nHost: x\r\n');
    await new Promise((r) => setTimeout(r, 100));
    e.child.kill('SIGTERM');
    await waitForLog(e.stderr, /msg=stopping/, 2000);
    e.child.kill('SIGTERM');
    const code = await e.exited;
    slow.destroy();
    assert.equal(code, 0, e.stderr());
    assert.match(e.stderr(), /already stopping; signal ignored.*signal=SIGTERM/);
  });

  it('SIGHUP is logged and ignored: the exporter keeps serving', async () => {
    const port = await freePort();
    const e = await startExporter([...BASE, `--web.listen-address=127.0.0.1:${port}`], port);
    try {
      e.child.kill('SIGHUP');
      await waitForLog(e.stderr, /SIGHUP ignored/, 2000);
      assert.equal((await fetch(`${e.url}/metrics`)).status, 200);
      assert.equal(e.child.exitCode, null);
    } finally {
      e.child.kill('SIGTERM');
      assert.equal(await e.exited, 0);
    }
  });
});

describe("Kepler's probes under Kepler's Helm chart", () => {
  it('/probe/livez and /probe/readyz answer 200 without credentials while /metrics asks for them', async () => {
    const webConfig = join(tmp, 'web-auth.yml');
    writeFileSync(webConfig, `basic_auth_users:\n  prom: ${bcrypt.hashSync('right-password', 4)}\n`);
    const port = await freePort();
    const e = await startExporter([...BASE, '--monitor.interval=200ms', `--web.config-file=${webConfig}`, `--web.listen-address=127.0.0.1:${port}`], port);
    try {
      // The kubelet probes the first refresh's readiness; give it one interval.
      let ready = await fetch(`${e.url}/probe/readyz`);
      for (let i = 0; i < 20 && ready.status !== 200; i++) {
        await new Promise((r) => setTimeout(r, 100));
        ready = await fetch(`${e.url}/probe/readyz`);
      }
      const body = await ready.text();
      assert.equal(ready.status, 200, body);
      assert.equal((JSON.parse(body) as { status: string }).status, 'ok');
      const live = await fetch(`${e.url}/probe/livez`);
      assert.equal(live.status, 200);
      assert.equal(((await live.json()) as { meter: string }).meter, 'fake');
      assert.equal((await fetch(`${e.url}/metrics`)).status, 401, 'the probes are open, the metrics are not');
      const landing = await (await fetch(`${e.url}/`, { headers: { authorization: `Basic ${Buffer.from('prom:right-password').toString('base64')}` } })).text();
      assert.match(landing, /\/probe\/readyz/, 'the landing page lists the probes');
    } finally {
      e.child.kill('SIGTERM');
      await e.exited;
    }
  });
});
