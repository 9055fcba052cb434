// kepler-aether-source, the aether source plugin, piece by piece: its environment, where a
// container runs, the PromQL it runs, how samples become aether instances, its hclog lines, the
// go-plugin handshake, and its Prometheus client and Fetch against a real local HTTP server.

import { after, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync, gzipSync } from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import { fromJSON } from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import { loadAetherSourceConfig, withoutUserinfo, type AetherSourceConfig, type PrometheusAuth } from '../../src/aether/config.js';
import { containerEnergies, FamilyEnergies, joulesToKwh, mergeFamilies, toInstance, usedEnergy, type FamilySamples, type Sample } from '../../src/aether/instances.js';
import { KeplerSource } from '../../src/aether/keplerSource.js';
import { PrometheusClient, PrometheusError, type PrometheusFailure } from '../../src/aether/prometheusClient.js';
import { familyQueries, promDuration, type MetricsFamily } from '../../src/aether/promql.js';
import { placementOf, regionFromNodeName } from '../../src/aether/region.js';
import { AETHER_SOURCE_HANDSHAKE, AETHER_SOURCE_PROTO, sourceServiceDefinition } from '../../src/aether/sourceService.js';
import { VectorReader } from '../../src/aether/vectorReader.js';
import { ConfigError } from '../../src/config/config.js';
import { handshakeLine, hasMagicCookie, hostAcceptsVersion, portRange } from '../../src/goplugin/handshake.js';
import { createHclogLogger, hclogTimestamp, type HclogLevel } from '../../src/goplugin/hclogLogger.js';
import { EMPTY_PROTO, GO_PLUGIN_PROTO, HEALTH_PROTO, InternalServices } from '../../src/goplugin/internalServices.js';
import { FieldWriter, HEALTH_CHECK_REQUEST, readFields } from '../../src/goplugin/messages.js';

const tmp = mkdtempSync(join(tmpdir(), 'kepler-aether-test-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Writes `content` to a fresh file under the test's temp dir and returns its path. */
function secretFile(name: string, content: string): string {
  const path = join(tmp, name);
  writeFileSync(path, content);
  return path;
}

// ---------------------------------------------------------------------------------------------
// 1. Configuration from the environment
// ---------------------------------------------------------------------------------------------

/** The Go plugin's required variables, as a user sets them. */
const GO_ENV = { INTERVAL: '5m', PROVIDER: 'gcp', PROMETHEUS_URL: 'http://localhost' };
const configWith = (vars: NodeJS.ProcessEnv): AetherSourceConfig => loadAetherSourceConfig({ ...GO_ENV, ...vars });

/** Asserts that loading `env` fails with a ConfigError whose message has every part; returns the message. */
function configRejects(env: NodeJS.ProcessEnv, ...parts: string[]): string {
  let message = '';
  assert.throws(
    () => loadAetherSourceConfig(env),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
      message = e.message;
      return true;
    },
  );
  for (const part of parts) assert.ok(message.includes(part), `${JSON.stringify(message)} lacks ${JSON.stringify(part)}`);
  return message;
}

/** The TCP port a URL connects to, default ports included. */
function effectivePort(url: string): number {
  const u = new URL(url);
  return u.port !== '' ? Number(u.port) : u.protocol === 'https:' ? 443 : 80;
}

describe('aether source config', () => {
  it('takes the Go plugin environment and fills in our defaults', () => {
    const c = loadAetherSourceConfig(GO_ENV);
    assert.deepEqual(c, {
      intervalMs: 300_000,
      provider: 'gcp',
      prometheus: { baseUrl: 'http://localhost:9090', auth: { kind: 'none' }, timeoutMs: 10_000 },
      metrics: 'auto',
      defaultRegion: undefined,
      logLevel: 'info',
    });
  });

  it('reads INTERVAL as a Go duration', () => {
    assert.equal(configWith({ INTERVAL: '1h30m' }).intervalMs, 90 * 60_000);
    assert.equal(configWith({ INTERVAL: '90s' }).intervalMs, 90_000);
    configRejects({ ...GO_ENV, INTERVAL: '5' }, 'INTERVAL="5"', 'Go duration');
    configRejects({ ...GO_ENV, INTERVAL: 'five minutes' }, 'INTERVAL', 'Go duration');
    configRejects({ ...GO_ENV, INTERVAL: '500ms' }, 'INTERVAL="500ms"', 'out of range', 'at least 1s');
  });

  it('accepts the providers aether knows and names them when PROVIDER is another', () => {
    for (const provider of ['aws', 'azure', 'gcp', 'prometheus', 'custom']) assert.equal(configWith({ PROVIDER: provider }).provider, provider);
    configRejects({ ...GO_ENV, PROVIDER: 'openstack' }, 'PROVIDER="openstack"', 'aws, azure, gcp, prometheus, custom');
  });

  it('appends PROMETHEUS_PORT (default 9090) to a PROMETHEUS_URL without a port, https too', () => {
    assert.equal(configWith({ PROMETHEUS_PORT: '9091' }).prometheus.baseUrl, 'http://localhost:9091');
    assert.equal(configWith({ PROMETHEUS_URL: 'https://prom.example.com' }).prometheus.baseUrl, 'https://prom.example.com:9090');
    assert.equal(configWith({ PROMETHEUS_URL: 'https://prom.example.com', PROMETHEUS_PORT: '8443' }).prometheus.baseUrl, 'https://prom.example.com:8443');
  });

  it('takes a full URL with port and path prefix, dropping a trailing slash', () => {
    const url = 'http://prometheus.monitoring:9091/prometheus/';
    assert.equal(configWith({ PROMETHEUS_URL: url }).prometheus.baseUrl, 'http://prometheus.monitoring:9091/prometheus');
    assert.equal(configWith({ PROMETHEUS_URL: url, PROMETHEUS_PORT: '9091' }).prometheus.baseUrl, 'http://prometheus.monitoring:9091/prometheus');
  });

  it('never quotes the credentials of a PROMETHEUS_URL it refuses (aether re-logs the message)', () => {
    for (const url of ['http://user:secret@host:70000', 'http://user:s3cr@t@prom.example.com/x?q=1', 'ftp://user:secret@host', 'user:secret@prom:9090', 'http://u:pa/secret@h']) {
      const m = configRejects({ ...GO_ENV, PROMETHEUS_URL: url }, 'PROMETHEUS_URL');
      assert.ok(!m.includes('secret') && !m.includes('s3cr'), m);
    }
    configRejects({ ...GO_ENV, PROMETHEUS_URL: 'http://user:secret@host:70000' }, 'PROMETHEUS_URL="http://host:70000"', 'port 70000', '1 to 65535');
    assert.equal(withoutUserinfo('https://a:b@[::1]:9090/p'), 'https://[::1]:9090/p');
    assert.equal(withoutUserinfo('http://prom:9090'), 'http://prom:9090');
  });

  it('refuses a URL port that conflicts with PROMETHEUS_PORT, naming both', () => {
    configRejects({ ...GO_ENV, PROMETHEUS_URL: 'http://prom:9091', PROMETHEUS_PORT: '9090' }, 'PROMETHEUS_URL', '9091', 'PROMETHEUS_PORT=9090');
  });

  // WHATWG URL drops a scheme's default port (`url.port` is '' for :80 and :443): the written port must still win.
  it('keeps a default port written out in PROMETHEUS_URL (:80, :443)', () => {
    assert.equal(effectivePort(configWith({ PROMETHEUS_URL: 'http://prom.example.com:80' }).prometheus.baseUrl), 80);
    assert.equal(effectivePort(configWith({ PROMETHEUS_URL: 'https://prom.example.com:443/prometheus' }).prometheus.baseUrl), 443);
    configRejects({ ...GO_ENV, PROMETHEUS_URL: 'https://prom.example.com:443', PROMETHEUS_PORT: '9090' }, 'PROMETHEUS_URL', '443', 'PROMETHEUS_PORT');
  });

  it('refuses a PROMETHEUS_URL that is not scheme, host, port and path', () => {
    for (const url of ['prometheus.monitoring', 'ftp://prom', 'prometheus:9090']) {
      configRejects({ ...GO_ENV, PROMETHEUS_URL: url }, `PROMETHEUS_URL=${JSON.stringify(url)}`, 'http(s) URL');
    }
    configRejects({ ...GO_ENV, PROMETHEUS_URL: 'http://prom:9090/?x=1' }, 'PROMETHEUS_URL', 'query or fragment');
  });

  it('refuses a PROMETHEUS_PORT that is not a TCP port', () => {
    for (const port of ['abc', '0', '65536', '90.5']) configRejects({ ...GO_ENV, PROMETHEUS_PORT: port }, `PROMETHEUS_PORT=${JSON.stringify(port)}`, '1 to 65535');
  });

  it('turns credentials in PROMETHEUS_URL into basic auth and removes them from the base URL', () => {
    const c = configWith({ PROMETHEUS_URL: 'https://alice:s%3Acr%40t@prom.example.com:9443/prometheus' });
    assert.equal(c.prometheus.baseUrl, 'https://prom.example.com:9443/prometheus');
    assert.deepEqual(c.prometheus.auth, { kind: 'basic', username: 'alice', password: 's:cr@t', passwordFile: undefined });
  });

  describe('Prometheus credentials', () => {
    const auth = (vars: NodeJS.ProcessEnv): PrometheusAuth => configWith(vars).prometheus.auth;
    const tokenFile = secretFile('token', 'abc\n');
    const passwordFile = secretFile('password', 's3cret\n');
    const missing = join(tmp, 'no-such-file');

    it('takes a bearer token or a bearer token file', () => {
      assert.deepEqual(auth({ PROMETHEUS_BEARER_TOKEN: 'abc' }), { kind: 'bearer', token: 'abc', tokenFile: undefined });
      assert.deepEqual(auth({ PROMETHEUS_BEARER_TOKEN_FILE: tokenFile }), { kind: 'bearer', token: undefined, tokenFile });
    });

    it('takes a username with a password or a password file', () => {
      assert.deepEqual(auth({ PROMETHEUS_USERNAME: 'alice', PROMETHEUS_PASSWORD: 'pw' }), { kind: 'basic', username: 'alice', password: 'pw', passwordFile: undefined });
      assert.deepEqual(auth({ PROMETHEUS_USERNAME: 'alice', PROMETHEUS_PASSWORD_FILE: passwordFile }), {
        kind: 'basic',
        username: 'alice',
        password: undefined,
        passwordFile,
      });
    });

    it('refuses settings that exclude each other', () => {
      configRejects({ ...GO_ENV, PROMETHEUS_BEARER_TOKEN: 'abc', PROMETHEUS_BEARER_TOKEN_FILE: tokenFile }, 'PROMETHEUS_BEARER_TOKEN and PROMETHEUS_BEARER_TOKEN_FILE');
      configRejects(
        { ...GO_ENV, PROMETHEUS_USERNAME: 'alice', PROMETHEUS_PASSWORD: 'pw', PROMETHEUS_PASSWORD_FILE: passwordFile },
        'PROMETHEUS_PASSWORD and PROMETHEUS_PASSWORD_FILE',
      );
      configRejects(
        { ...GO_ENV, PROMETHEUS_BEARER_TOKEN: 'abc', PROMETHEUS_USERNAME: 'alice', PROMETHEUS_PASSWORD: 'pw' },
        'PROMETHEUS_BEARER_TOKEN',
        'PROMETHEUS_USERNAME',
        'set one',
      );
      configRejects({ ...GO_ENV, PROMETHEUS_BEARER_TOKEN: 'abc', PROMETHEUS_URL: 'http://alice:pw@prom' }, 'PROMETHEUS_BEARER_TOKEN', 'PROMETHEUS_URL');
    });

    it('names a credentials file that cannot be read', () => {
      configRejects({ ...GO_ENV, PROMETHEUS_BEARER_TOKEN_FILE: missing }, `PROMETHEUS_BEARER_TOKEN_FILE=${JSON.stringify(missing)}`, 'cannot be read');
      configRejects({ ...GO_ENV, PROMETHEUS_USERNAME: 'alice', PROMETHEUS_PASSWORD_FILE: missing }, `PROMETHEUS_PASSWORD_FILE=${JSON.stringify(missing)}`, 'cannot be read');
    });

    it('refuses a password without a username and a username without a password', () => {
      configRejects({ ...GO_ENV, PROMETHEUS_PASSWORD: 'pw' }, 'PROMETHEUS_PASSWORD', 'without PROMETHEUS_USERNAME');
      configRejects({ ...GO_ENV, PROMETHEUS_PASSWORD_FILE: passwordFile }, 'without PROMETHEUS_USERNAME');
      configRejects({ ...GO_ENV, PROMETHEUS_USERNAME: 'alice' }, 'PROMETHEUS_USERNAME is set without PROMETHEUS_PASSWORD');
    });
  });

  it('reads KEPLER_METRICS, LOG_LEVEL, REGION and PROMETHEUS_TIMEOUT', () => {
    for (const family of ['auto', 'current', '0.7']) assert.equal(configWith({ KEPLER_METRICS: family }).metrics, family);
    configRejects({ ...GO_ENV, KEPLER_METRICS: 'v0.7' }, 'KEPLER_METRICS="v0.7"', 'auto, current or 0.7');

    assert.equal(configWith({ LOG_LEVEL: 'DEBUG' }).logLevel, 'debug');
    assert.equal(configWith({ LOG_LEVEL: 'trace' }).logLevel, 'trace');
    configRejects({ ...GO_ENV, LOG_LEVEL: 'verbose' }, 'LOG_LEVEL="verbose"', 'trace, debug, info, warn, error');

    assert.equal(configWith({ REGION: 'europe-west4' }).defaultRegion, 'europe-west4');

    assert.equal(configWith({ PROMETHEUS_TIMEOUT: '30s' }).prometheus.timeoutMs, 30_000);
    assert.equal(configWith({ PROMETHEUS_TIMEOUT: '500ms' }).prometheus.timeoutMs, 500);
    configRejects({ ...GO_ENV, PROMETHEUS_TIMEOUT: '10' }, 'PROMETHEUS_TIMEOUT="10"', 'Go duration');
  });

  it('refuses what would fail every Fetch: bad percent-encoding, header-breaking secrets, blocked ports, huge timeouts', () => {
    configRejects({ ...GO_ENV, PROMETHEUS_URL: 'http://user:50%@prom' }, 'PROMETHEUS_URL', 'percent-encoding', '%25');
    configRejects({ ...GO_ENV, PROMETHEUS_BEARER_TOKEN: 'abc\u0007def' }, 'PROMETHEUS_BEARER_TOKEN', 'HTTP header');
    configRejects({ ...GO_ENV, PROMETHEUS_USERNAME: 'alice', PROMETHEUS_PASSWORD: 'line\nbreak' }, 'PROMETHEUS_PASSWORD', 'HTTP header');
    // Node's fetch() refuses the Fetch standard's "bad ports": the message must say so at start-up.
    configRejects({ ...GO_ENV, PROMETHEUS_URL: 'http://prom:6000' }, 'port 6000', 'blocks');
    configRejects({ ...GO_ENV, PROMETHEUS_PORT: '10080' }, 'port 10080');
    configRejects({ ...GO_ENV, PROMETHEUS_TIMEOUT: '48h' }, 'PROMETHEUS_TIMEOUT="48h"', 'out of range', '10m0s');
    assert.equal(configWith({ PROMETHEUS_TIMEOUT: '10m' }).prometheus.timeoutMs, 600_000);
  });

  it('names each missing required variable', () => {
    const message = configRejects({});
    for (const name of ['INTERVAL', 'PROVIDER', 'PROMETHEUS_URL']) assert.match(message, new RegExp(`${name} is required \\(e\\.g\\. ${name}=`));
  });

  it('treats an empty or blank variable as unset, and keeps the defaults of the optional ones', () => {
    const c = configWith({ PROMETHEUS_TIMEOUT: '', KEPLER_METRICS: '  ', LOG_LEVEL: '', PROMETHEUS_PORT: ' ', REGION: ' eu-west-1 ' });
    assert.equal(c.prometheus.timeoutMs, 10_000);
    assert.equal(c.metrics, 'auto');
    assert.equal(c.logLevel, 'info');
    assert.equal(c.prometheus.baseUrl, 'http://localhost:9090');
    assert.equal(c.defaultRegion, 'eu-west-1');
    configRejects({ ...GO_ENV, INTERVAL: ' ' }, 'INTERVAL is required');
  });

  it('takes the auth type from prometheusClient.ts, which does not import config.ts back', () => {
    const client = readFileSync(fileURLToPath(new URL('../../../src/aether/prometheusClient.ts', import.meta.url)), 'utf8');
    assert.doesNotMatch(client, /from '\.\/config\.js'/);
  });

  it('reports several problems in one message', () => {
    const message = configRejects(
      { INTERVAL: 'often', PROVIDER: 'openstack', PROMETHEUS_URL: 'http://prom', PROMETHEUS_PORT: '70000', KEPLER_METRICS: 'latest' },
      'INTERVAL="often"',
      'PROVIDER="openstack"',
      'PROMETHEUS_PORT="70000"',
      'KEPLER_METRICS="latest"',
    );
    assert.equal(message.split('\n').filter((l) => l.trimStart().startsWith('- ')).length, 4, message);
  });
});

// ---------------------------------------------------------------------------------------------
// 2. Region and zone of a container
// ---------------------------------------------------------------------------------------------

describe('aether source region', () => {
  it("reads the Go plugin's node name examples", () => {
    assert.equal(regionFromNodeName('gke-gc0-apps-us-central1-default-f0c26727-1irq'), 'us-central1');
    assert.equal(regionFromNodeName('gke-gc0-apps-europe-west1-default-ca15cfa4-hrb7'), 'europe-west1');
    assert.equal(regionFromNodeName('ip-192-168-29-157.eu-north-1.compute.internal'), 'eu-north-1');
    assert.equal(regionFromNodeName('ip-10-12-12-154.eu-central-1.compute.internal'), 'eu-central-1');
  });

  it('knows us-east-1 from its ec2.internal names, and names no region it cannot see', () => {
    assert.equal(regionFromNodeName('ip-10-0-0-1.ec2.internal'), 'us-east-1');
    assert.equal(regionFromNodeName('gke-prod-default-pool-1a2b3c4d-xyz1'), undefined);
    assert.equal(regionFromNodeName('worker-1'), undefined);
    assert.equal(regionFromNodeName('10.0.0.5:28282'), undefined);
    assert.equal(regionFromNodeName('10.0.0.5'), undefined);
    assert.equal(regionFromNodeName('[fd00::5]:28282'), undefined);
  });

  const everything = {
    region: 'from-region-label',
    topology_kubernetes_io_region: 'from-topology',
    topology_kubernetes_io_zone: 'from-topology-a',
    instance: 'gke-c-us-west1-pool-1a2b3c4d-xyz1',
    node_name: 'ip-10-0-0-1.eu-north-1.compute.internal',
  };
  /** `everything` without the labels named. */
  const without = (...names: string[]) => Object.fromEntries(Object.entries(everything).filter(([k]) => !names.includes(k)));

  it('takes a second DNS label as the region only where it looks like one', () => {
    assert.equal(regionFromNodeName('worker-1.lab.example.com'), undefined);
    assert.equal(regionFromNodeName('ip-10-0-0-1.us-gov-west-1.compute.internal'), 'us-gov-west-1');
    assert.equal(regionFromNodeName('node-7.ap-southeast-2.compute.internal'), 'ap-southeast-2');
  });

  it('takes the region label, then topology labels, then REGION, then instance, then node_name', () => {
    assert.equal(placementOf(everything, 'europe-west4').region, 'from-region-label');
    assert.equal(placementOf(without('region'), 'europe-west4').region, 'from-topology');
    assert.equal(placementOf(without('region', 'topology_kubernetes_io_region'), 'europe-west4').region, 'europe-west4');
    assert.equal(placementOf(without('region', 'topology_kubernetes_io_region')).region, 'us-west1');
    assert.equal(placementOf(without('region', 'topology_kubernetes_io_region', 'instance')).region, 'eu-north-1');
    assert.deepEqual(placementOf({}), { zone: undefined });
  });

  it('takes the zone from topology zone labels, whatever gave the region', () => {
    assert.deepEqual(placementOf(without('region')), { region: 'from-topology', zone: 'from-topology-a', from: 'label topology_kubernetes_io_region' });
    assert.equal(placementOf({ node_name: 'worker-1', label_topology_kubernetes_io_zone: 'eu-west-1b' }, 'eu-west-1').zone, 'eu-west-1b');
    assert.equal(placementOf({ failure_domain_beta_kubernetes_io_zone: 'us-east-1a' }).zone, 'us-east-1a');
  });

  it("reads kube-state-metrics' and the deprecated failure-domain region labels", () => {
    assert.equal(placementOf({ label_topology_kubernetes_io_region: 'eu-west-1' }).region, 'eu-west-1');
    assert.equal(placementOf({ failure_domain_beta_kubernetes_io_region: 'us-east-2' }).region, 'us-east-2');
  });

  it('falls through an instance that is a scrape address (IP:port) to node_name', () => {
    const labels = { instance: '10.0.0.5:28282', node_name: 'ip-192-168-29-157.eu-north-1.compute.internal' };
    assert.deepEqual(placementOf(labels), { region: 'eu-north-1', zone: undefined, from: 'label node_name' });
  });

  // A host:port instance is a scrape address, never a node name: its second DNS label is a namespace.
  it('falls through an instance that is a DNS scrape address (host:port) to node_name', () => {
    const labels = { instance: 'kepler.monitoring.svc:28282', node_name: 'ip-192-168-29-157.eu-north-1.compute.internal' };
    assert.equal(placementOf(labels).region, 'eu-north-1');
  });
});

// ---------------------------------------------------------------------------------------------
// 3. PromQL
// ---------------------------------------------------------------------------------------------

describe('aether source PromQL', () => {
  const FIVE_MINUTES = 300_000;

  it('reads the current family with increase() per zone, without the zone label', () => {
    const q = familyQueries('current', FIVE_MINUTES);
    assert.equal(q.family, 'current');
    for (const [resource, zone] of [
      ['cpu', 'package'],
      ['memory', 'dram'],
    ] as const) {
      const query = q.energy[resource];
      assert.match(query, /^sum without \(zone\) \(/, query);
      assert.ok(query.includes(`increase(kepler_container_cpu_joules_total{zone="${zone}"}[300s])`), query);
    }
    assert.ok(q.pods !== undefined);
    assert.match(q.pods, /kepler_pod_cpu_joules_total/);
    assert.match(q.pods, /\(pod_id, pod_name, pod_namespace\)/);
    assert.ok(q.pods.includes('[300s]'), q.pods);
  });

  it('reads Kepler 0.7 with increase() summed over modes, without its pseudo containers', () => {
    const q = familyQueries('0.7', FIVE_MINUTES);
    assert.equal(q.family, '0.7');
    assert.equal(q.pods, undefined);
    for (const [resource, domain] of [
      ['cpu', 'core'],
      ['memory', 'dram'],
    ] as const) {
      const query = q.energy[resource];
      assert.match(query, /^sum without \(mode\) \(increase\(/, query);
      assert.match(query, new RegExp(`kepler_container_${domain}_joules_total\\{container_id!~"system_processes\\|kernel_processes"\\}\\[300s\\]`), query);
      assert.doesNotMatch(query, /sum_over_time|rate\(/);
    }
  });

  it('writes the window in whole seconds where it can, else milliseconds', () => {
    assert.equal(promDuration(300_000), '300s');
    assert.equal(promDuration(5_400_000), '5400s');
    assert.equal(promDuration(1500), '1500ms');
    assert.ok(familyQueries('0.7', 1500).energy.cpu.includes('[1500ms]'));
  });

  const promtool = spawnSync('promtool', ['--version']).status === 0;
  it('writes queries that Prometheus parses (promtool check rules)', { skip: !promtool && 'promtool is not installed' }, () => {
    const queries = (['current', '0.7'] as MetricsFamily[]).flatMap((f) => {
      const q = familyQueries(f, 90_000);
      return [q.energy.cpu, q.energy.memory, ...(q.pods ? [q.pods] : [])];
    });
    const rules = ['groups:', '  - name: aether', '    rules:', ...queries.flatMap((q, i) => [`      - record: q${i}`, `        expr: ${JSON.stringify(q)}`])];
    const file = secretFile('rules.yml', rules.join('\n') + '\n');
    const r = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /SUCCESS: 5 rules found/);
  });
});

// ---------------------------------------------------------------------------------------------
// 4. From samples to instances
// ---------------------------------------------------------------------------------------------

const sample = (value: number, labels: Record<string, string>): Sample => ({ labels, value });

/** Samples of one family; `cpu`/`memory` take `[labels, joules]` pairs. */
function familySamples(
  family: MetricsFamily,
  cpu: [Record<string, string>, number][],
  memory: [Record<string, string>, number][] = [],
  pods: Record<string, string>[] = [],
): FamilySamples {
  const series = (pairs: [Record<string, string>, number][]) => pairs.map(([labels, joules]) => sample(joules, labels));
  return { family, energy: { cpu: series(cpu), memory: series(memory) }, pods: pods.map((labels) => sample(1, labels)) };
}

/** A current-family container series as Prometheus returns it from the energy queries. */
const currentSeries = (id: string, extra: Record<string, string> = {}) => ({
  container_id: id,
  container_name: `name-${id}`,
  runtime: 'containerd',
  node_name: 'gke-c-europe-west1-pool-1a2b3c4d-xyz1',
  pod_id: `pod-${id}`,
  instance: '10.0.0.5:28282',
  job: 'kepler',
  state: 'running',
  ...extra,
});

/** A Kepler 0.7 container series as Prometheus returns it from the energy queries. */
const legacySeries = (id: string) => ({
  container_id: id,
  container_name: `legacy-${id}`,
  container_namespace: 'shop',
  pod_name: `legacy-pod-${id}`,
  instance: 'ip-10-0-0-1.eu-north-1.compute.internal',
  job: 'kepler',
});

describe('aether source instances', () => {
  it('converts joules to kWh', () => {
    assert.equal(joulesToKwh(7.2e6), 2);
    assert.equal(joulesToKwh(3.6e6), 1);
    assert.equal(joulesToKwh(0), 0);
  });

  it("sums a container's running and terminated series", () => {
    const running = currentSeries('c1');
    const terminated = currentSeries('c1', { state: 'terminated' });
    const c = containerEnergies(
      familySamples(
        'current',
        [
          [running, 1000],
          [terminated, 500],
        ],
        [
          [running, 200],
          [terminated, 100],
        ],
      ),
    ).get('c1');
    assert.ok(c);
    assert.deepEqual(c.joules, { cpu: 1500, memory: 300 });
    assert.equal(c.duplicates, 0);
    assert.equal('state' in c.labels, false);
  });

  it('counts once, the larger, a container scraped twice (series differing only in job)', () => {
    const a = currentSeries('c1', { job: 'kepler' });
    const b = currentSeries('c1', { job: 'kepler-again' });
    const c = containerEnergies(
      familySamples(
        'current',
        [
          [a, 1000],
          [b, 900],
        ],
        [
          [a, 100],
          [b, 90],
        ],
      ),
    ).get('c1');
    assert.ok(c);
    assert.deepEqual(c.joules, { cpu: 1000, memory: 100 });
    assert.equal(c.duplicates, 1);
    assert.equal(c.labels.job, 'kepler');
  });

  it("sums a container's series whose labels changed under one scrape target, and names it from the most complete", () => {
    // kepler-ts exports a container before its pod informer knows it, then with its names.
    const before = currentSeries('c1', { container_name: '', pod_id: '' });
    const afterwards = currentSeries('c1');
    const c = containerEnergies(
      familySamples(
        'current',
        [
          [before, 100],
          [afterwards, 200],
        ],
        [
          [before, 10],
          [afterwards, 20],
        ],
      ),
    ).get('c1');
    assert.ok(c);
    assert.deepEqual(c.joules, { cpu: 300, memory: 30 });
    assert.equal(c.duplicates, 0);
    assert.equal(c.name, 'name-c1');
    assert.equal(c.labels.pod_id, 'pod-c1');
    // The same in the 0.7 family, where pod_name arrives.
    const unnamed = { ...legacySeries('c2'), pod_name: '' };
    const named = legacySeries('c2');
    const l = containerEnergies(
      familySamples('0.7', [
        [named, 50],
        [unnamed, 25],
      ]),
    ).get('c2');
    assert.deepEqual([l?.joules.cpu, l?.labels.pod_name], [75, 'legacy-pod-c2']);
  });

  it('keeps a pod name over a row of the same pod without one, in either order', () => {
    const named = { pod_id: 'pod-c1', pod_name: 'web-0', pod_namespace: 'shop' };
    const unnamed = { pod_id: 'pod-c1' };
    for (const rows of [
      [named, unnamed],
      [unnamed, named],
    ]) {
      const c = containerEnergies(familySamples('current', [[currentSeries('c1'), 10]], [], rows)).get('c1');
      assert.deepEqual([c?.labels.pod_name, c?.labels.pod_namespace], ['web-0', 'shop']);
    }
  });

  it('names the pod of a current-family container from the pod samples', () => {
    const samples = familySamples(
      'current',
      [
        [currentSeries('c1'), 10],
        [currentSeries('c2'), 20],
      ],
      [],
      [
        { pod_id: 'pod-c1', pod_name: 'web-0', pod_namespace: 'shop' },
        { pod_id: 'pod-other', pod_name: 'db-0', pod_namespace: 'data' },
      ],
    );
    const byId = containerEnergies(samples);
    assert.equal(byId.get('c1')?.labels.pod_name, 'web-0');
    assert.equal(byId.get('c1')?.labels.pod_namespace, 'shop');
    assert.equal(byId.get('c2')?.labels.pod_name, undefined, 'c2 has no pod sample');
  });

  it('falls back to the container id for a container without a name, and skips series without an id', () => {
    const byId = containerEnergies(
      familySamples('current', [
        [currentSeries('c1', { container_name: '' }), 10],
        [{ job: 'kepler' }, 99],
      ]),
    );
    assert.deepEqual([...byId.keys()], ['c1']);
    assert.equal(byId.get('c1')?.name, 'c1');
  });

  it('prefers the current family for a container in both, and keeps 0.7-only containers', () => {
    const current = containerEnergies(familySamples('current', [[currentSeries('both'), 100]]));
    const legacy = containerEnergies(
      familySamples('0.7', [
        [legacySeries('both'), 999],
        [legacySeries('old'), 50],
      ]),
    );
    const merged = mergeFamilies(current, legacy);
    assert.deepEqual(
      merged.map((c) => [c.id, c.family, c.joules.cpu]),
      [
        ['both', 'current', 100],
        ['old', '0.7', 50],
      ],
    );
  });

  it('calls a container with energy in either resource used, and one with none not', () => {
    const [idle, memoryOnly] = ['idle', 'memory-only'].map((id) => currentSeries(id));
    const byId = containerEnergies(
      familySamples(
        'current',
        [
          [idle, 0],
          [memoryOnly, 0],
        ],
        [
          [idle, 0],
          [memoryOnly, 3],
        ],
      ),
    );
    const idleEnergy = byId.get('idle');
    const memoryOnlyEnergy = byId.get('memory-only');
    assert.ok(idleEnergy && memoryOnlyEnergy);
    assert.equal(usedEnergy(idleEnergy), false);
    assert.equal(usedEnergy(memoryOnlyEnergy), true);
  });

  it('makes an aether instance with kWh, emissions on every metric, and the series labels', () => {
    const labels = currentSeries('c1', { state: 'terminated' });
    const [c] = containerEnergies(familySamples('current', [[labels, 7.2e6]], [[labels, 1.8e6]], [{ pod_id: 'pod-c1', pod_name: 'web-0', pod_namespace: 'shop' }])).values();
    const instance = toInstance(c, { provider: 'gcp', updatedAt: 1_700_000_000 });
    const { state: _state, ...seriesLabels } = labels;
    const expectedLabels = { ...seriesLabels, pod_name: 'web-0', pod_namespace: 'shop' };
    const metric = (name: string, energy: number) => ({
      name,
      resource_type: name,
      energy,
      updated_at: 1_700_000_000,
      labels: expectedLabels,
      emissions: { value: 0, unit: '' },
      usage: 0,
      unit_amount: 0,
      unit: '',
    });
    assert.deepEqual(instance, {
      id: 'c1',
      provider: 'gcp',
      service: 'kepler',
      name: 'name-c1',
      region: 'europe-west1',
      zone: '',
      kind: '',
      EmbodiedEmissions: { value: 0, unit: '' },
      metrics: { cpu: metric('cpu', 2), memory: metric('memory', 0.5) },
      labels: expectedLabels,
      status: 'running',
    });
  });

  it('gives 0.7 instances their name, the REGION default, and no mode label', () => {
    const series = { ...legacySeries('c7'), instance: '10.0.0.9:9102' };
    const [c] = containerEnergies(familySamples('0.7', [[series, 3.6e6]], [[series, 0]])).values();
    const instance = toInstance(c, { provider: 'aws', updatedAt: 42, defaultRegion: 'eu-west-1' });
    assert.equal(instance.name, 'legacy-c7');
    assert.equal(instance.provider, 'aws');
    assert.equal(instance.region, 'eu-west-1');
    assert.equal(instance.metrics.cpu.energy, 1);
    assert.equal(instance.metrics.memory.energy, 0);
    for (const labels of [instance.labels, instance.metrics.cpu.labels, instance.metrics.memory.labels]) {
      for (const gone of ['zone', 'state', 'mode']) assert.equal(gone in labels, false, `label ${gone}`);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// 5. hclog lines
// ---------------------------------------------------------------------------------------------

const HCLOG_TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

/** A logger that writes into an array; `lines` are the parsed JSON objects. */
function capturedLogger(level: HclogLevel, nowMs?: () => number) {
  const raw: string[] = [];
  const logger = createHclogLogger({ level, module: 'kepler-aether-source', write: (line) => raw.push(line), nowMs });
  const lines = () =>
    raw.map((line) => {
      assert.ok(line.endsWith('\n') && line.indexOf('\n') === line.length - 1, `not one line: ${JSON.stringify(line)}`);
      return JSON.parse(line) as Record<string, unknown>;
    });
  return { logger, lines };
}

describe('aether source hclog logger', () => {
  it('writes one JSON object per line with hclog keys', () => {
    const { logger, lines } = capturedLogger('info', () => 1_700_000_000_123.456);
    logger.info('fetched container energy', { instances: 3 });
    assert.deepEqual(lines(), [
      { '@level': 'info', '@message': 'fetched container energy', '@module': 'kepler-aether-source', '@timestamp': '2023-11-14T22:13:20.123456Z', instances: 3 },
    ]);
  });

  it('writes timestamps with exactly six fractional digits', () => {
    assert.equal(hclogTimestamp(1_700_000_000_123.456), '2023-11-14T22:13:20.123456Z');
    assert.equal(hclogTimestamp(1_700_000_000_000), '2023-11-14T22:13:20.000000Z');
    assert.equal(hclogTimestamp(Date.UTC(2026, 0, 2, 3, 4, 5, 6) + 0.007), '2026-01-02T03:04:05.006007Z');
    const { logger, lines } = capturedLogger('info');
    logger.info('now');
    assert.match(String(lines()[0]['@timestamp']), HCLOG_TIMESTAMP);
  });

  it('drops lines below its level', () => {
    const { logger, lines } = capturedLogger('warn');
    logger.trace('t');
    logger.debug('d');
    logger.info('i');
    logger.warn('w');
    logger.error('e');
    assert.deepEqual(
      lines().map((l) => [l['@level'], l['@message']]),
      [
        ['warn', 'w'],
        ['error', 'e'],
      ],
    );

    const trace = capturedLogger('trace');
    trace.logger.trace('t');
    assert.equal(trace.lines()[0]['@level'], 'trace');
  });

  it('adds `with` fields to every line of the derived logger only', () => {
    const { logger, lines } = capturedLogger('debug');
    const fetchLog = logger.with({ component: 'fetch', attempt: 1 });
    fetchLog.info('a', { attempt: 2 });
    logger.info('b');
    const [a, b] = lines();
    assert.equal(a.component, 'fetch');
    assert.equal(a.attempt, 2, 'a call field wins over a bound one');
    assert.equal('component' in b, false);
  });

  it('writes an Error as its message', () => {
    const { logger, lines } = capturedLogger('info');
    logger.error('fetch failed', { error: new Error('connect ECONNREFUSED 127.0.0.1:9090') });
    assert.equal(lines()[0].error, 'connect ECONNREFUSED 127.0.0.1:9090');
  });
});

// ---------------------------------------------------------------------------------------------
// 6. go-plugin handshake
// ---------------------------------------------------------------------------------------------

describe('aether source handshake', () => {
  it('prints CORE|APP|NETWORK|ADDRESS|PROTOCOL and no sixth field', () => {
    const tcp = handshakeLine(1, { network: 'tcp', address: '127.0.0.1:10001' });
    assert.equal(tcp, '1|1|tcp|127.0.0.1:10001|grpc\n');
    const unix = handshakeLine(AETHER_SOURCE_HANDSHAKE.appProtocolVersion, { network: 'unix', address: '/tmp/plugin123' });
    assert.ok(unix.endsWith('|grpc\n'));
    assert.deepEqual(unix.trimEnd().split('|'), ['1', '1', 'unix', '/tmp/plugin123', 'grpc']);
  });

  it("checks the host's PLUGIN_PROTOCOL_VERSIONS", () => {
    const accepts = (versions?: string) => hostAcceptsVersion(versions === undefined ? {} : { PLUGIN_PROTOCOL_VERSIONS: versions }, AETHER_SOURCE_HANDSHAKE);
    assert.equal(accepts('1'), true);
    assert.equal(accepts('2,1'), true);
    assert.equal(accepts(' 2, 1 '), true);
    assert.equal(accepts('2'), false);
    assert.equal(accepts(undefined), true);
  });

  it("checks aether's magic cookie", () => {
    assert.equal(hasMagicCookie({ AETHER_SOURCE_PLUGIN: '9cf50efe-f360-4c46-997f-e1ce7317adaf' }, AETHER_SOURCE_HANDSHAKE), true);
    assert.equal(hasMagicCookie({ AETHER_SOURCE_PLUGIN: 'something-else' }, AETHER_SOURCE_HANDSHAKE), false);
    assert.equal(hasMagicCookie({}, AETHER_SOURCE_HANDSHAKE), false);
  });

  it("takes the host's port range, or go-plugin's default for a missing or bad one", () => {
    assert.deepEqual(portRange({ PLUGIN_MIN_PORT: '20000', PLUGIN_MAX_PORT: '20010' }), { min: 20000, max: 20010 });
    assert.deepEqual(portRange({}), { min: 10000, max: 25000 });
    assert.deepEqual(portRange({ PLUGIN_MIN_PORT: '30000', PLUGIN_MAX_PORT: '20000' }), { min: 10000, max: 25000 });
    assert.deepEqual(portRange({ PLUGIN_MIN_PORT: 'low', PLUGIN_MAX_PORT: '20000' }), { min: 10000, max: 25000 });
  });
});

// ---------------------------------------------------------------------------------------------
// A local HTTP server posing as Prometheus
// ---------------------------------------------------------------------------------------------

interface Received {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  form: URLSearchParams;
}
/** What the server answers; 'hang' never answers. */
type Reply = { status?: number; contentType?: string; body: string } | 'hang';

/** A node:http server on 127.0.0.1 recording each request; closed when the test ends. */
async function httpServer(t: TestContext, reply: (req: Received) => Reply) {
  const received: Received[] = [];
  let open = 0;
  const server = createServer((req, res) => {
    open++;
    res.on('close', () => open--);
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const r: Received = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, form: new URLSearchParams(body) };
      received.push(r);
      const answer = reply(r);
      if (answer === 'hang') return;
      res.writeHead(answer.status ?? 200, { 'content-type': answer.contentType ?? 'application/json' });
      res.end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  /** `open()`: requests not yet answered or abandoned by the client. */
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received, open: () => open };
}

const json = (payload: unknown, status = 200): Reply => ({ status, body: JSON.stringify(payload) });
const vectorReply = (samples: Sample[]): Reply =>
  json({ status: 'success', data: { resultType: 'vector', result: samples.map((s) => ({ metric: s.labels, value: [1_700_000_000, String(s.value)] })) } });

/** Asserts that `promise` rejects with a PrometheusError of `failure` whose message has every part. */
async function rejectsWith(promise: Promise<unknown>, failure: PrometheusFailure, ...parts: string[]): Promise<PrometheusError> {
  let error: PrometheusError | undefined;
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(e instanceof PrometheusError, `expected a PrometheusError, got ${String(e)}`);
    error = e;
    return true;
  });
  assert.ok(error);
  assert.equal(error.failure, failure, error.message);
  for (const part of parts) assert.ok(error.message.includes(part), `${JSON.stringify(error.message)} lacks ${JSON.stringify(part)}`);
  return error;
}

// ---------------------------------------------------------------------------------------------
// 7. Prometheus client
// ---------------------------------------------------------------------------------------------

describe('aether source Prometheus client', () => {
  const QUERY = 'sum without (zone) (increase(kepler_container_cpu_joules_total{zone="package"}[300s]))';
  /** One query at a fixed time, with a signal that never fires unless given. */
  const ask = (client: PrometheusClient, signal = new AbortController().signal) => client.query(QUERY, { time: 1_700_000_000, signal, timeoutMs: 10_000 });
  const NONE: PrometheusAuth = { kind: 'none' };

  it('POSTs the query and time as a form to <base>/api/v1/query and parses the vector', async (t) => {
    const server = await httpServer(t, () => vectorReply([sample(123.5, { container_id: 'c1' }), sample(0, { container_id: 'c2' })]));
    const samples = await ask(new PrometheusClient(`${server.url}/prometheus`, NONE));
    assert.deepEqual(samples, [sample(123.5, { container_id: 'c1' }), sample(0, { container_id: 'c2' })]);
    const [req] = server.received;
    assert.equal(req.method, 'POST');
    assert.equal(req.path, '/prometheus/api/v1/query');
    assert.equal(req.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.equal(req.form.get('query'), QUERY);
    assert.equal(req.form.get('time'), '1700000000');
    assert.equal(req.headers.authorization, undefined);
  });

  it('sends a bearer token, re-reading a token file at each query', async (t) => {
    const server = await httpServer(t, () => vectorReply([]));
    await ask(new PrometheusClient(server.url, { kind: 'bearer', token: 'abc' }));
    const tokenFile = secretFile('rotating-token', 'first\n');
    const fromFile = new PrometheusClient(server.url, { kind: 'bearer', tokenFile });
    await ask(fromFile);
    writeFileSync(tokenFile, 'second\n');
    await ask(fromFile);
    assert.deepEqual(
      server.received.map((r) => r.headers.authorization),
      ['Bearer abc', 'Bearer first', 'Bearer second'],
    );
  });

  it("fails as 'unauthenticated' when a token file cannot be read or holds what a header cannot carry", async (t) => {
    const server = await httpServer(t, () => vectorReply([]));
    await rejectsWith(
      ask(new PrometheusClient(server.url, { kind: 'bearer', tokenFile: join(tmp, 'no-such-token') })),
      'unauthenticated',
      'PROMETHEUS_BEARER_TOKEN_FILE',
      'cannot be read',
    );
    const broken = secretFile('broken-token', 'abc\ndef\n');
    await rejectsWith(ask(new PrometheusClient(server.url, { kind: 'bearer', tokenFile: broken })), 'unauthenticated', 'HTTP header');
    assert.equal(server.received.length, 0, 'nothing was sent');
  });

  it('sends basic auth from a password or a password file', async (t) => {
    const server = await httpServer(t, () => vectorReply([]));
    await ask(new PrometheusClient(server.url, { kind: 'basic', username: 'alice', password: 's:cr@t' }));
    await ask(new PrometheusClient(server.url, { kind: 'basic', username: 'alice', passwordFile: secretFile('basic-password', 'from-file\n') }));
    const basic = (userPass: string) => `Basic ${Buffer.from(userPass).toString('base64')}`;
    assert.deepEqual(
      server.received.map((r) => r.headers.authorization),
      [basic('alice:s:cr@t'), basic('alice:from-file')],
    );
  });

  it("turns Prometheus's error payload into a 'rejected' failure with its text", async (t) => {
    const server = await httpServer(t, () => json({ status: 'error', errorType: 'bad_data', error: 'parse error' }, 400));
    await rejectsWith(ask(new PrometheusClient(server.url, NONE)), 'rejected', 'parse error', server.url);
  });

  it('tells unauthenticated (401) and unavailable (503) apart', async (t) => {
    const unauthorized = await httpServer(t, () => ({ status: 401, contentType: 'text/plain', body: 'Unauthorized\n' }));
    await rejectsWith(ask(new PrometheusClient(unauthorized.url, NONE)), 'unauthenticated');
    const unavailable = await httpServer(t, () => ({ status: 503, contentType: 'text/plain', body: 'Service Unavailable' }));
    await rejectsWith(ask(new PrometheusClient(unavailable.url, NONE)), 'unavailable');
  });

  it('says when the answer is not JSON (an HTML page)', async (t) => {
    const server = await httpServer(t, () => ({ contentType: 'text/html', body: '<!doctype html><html><body>Grafana</body></html>' }));
    await rejectsWith(ask(new PrometheusClient(server.url, NONE)), 'bad_response', 'not JSON');
  });

  it("gives up on a server that never answers when the caller's signal fires", async (t) => {
    const server = await httpServer(t, () => 'hang');
    const caller = new AbortController();
    const timer = setTimeout(() => caller.abort(new Error('no answer within 1s')), 1000);
    t.after(() => clearTimeout(timer));
    const started = performance.now();
    await rejectsWith(ask(new PrometheusClient(server.url, NONE), caller.signal), 'timeout', 'no answer within 1s');
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 900 && elapsed < 2500, `gave up after ${Math.round(elapsed)} ms`);
  });

  it('names ECONNREFUSED for a closed port', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await rejectsWith(ask(new PrometheusClient(`http://127.0.0.1:${port}`, NONE)), 'unavailable', 'ECONNREFUSED');
  });

  it("refuses a result that is not an instant vector as 'bad_response'", async (t) => {
    const server = await httpServer(t, () => json({ status: 'success', data: { resultType: 'matrix', result: [{ metric: {}, values: [[1, '1']] }] } }));
    await rejectsWith(ask(new PrometheusClient(server.url, NONE)), 'bad_response', 'instant vector');
  });
});

// ---------------------------------------------------------------------------------------------
// 8. Fetch against a Prometheus of our own
// ---------------------------------------------------------------------------------------------

/** What the fake Prometheus holds, per metric family. */
interface Holdings {
  current?: { cpu: Sample[]; memory: Sample[]; pods: Sample[] };
  legacy?: { cpu: Sample[]; memory: Sample[] };
}

/** Answers a posted PromQL query from `holdings`, by metric name and zone; anything else is a 400. */
function answerFrom(holdings: Holdings, query: string): Reply {
  const has = (...parts: string[]) => parts.every((p) => query.includes(p));
  const samples = has('kepler_container_cpu_joules_total', 'zone="package"')
    ? holdings.current?.cpu
    : has('kepler_container_cpu_joules_total', 'zone="dram"')
      ? holdings.current?.memory
      : has('kepler_pod_cpu_joules_total')
        ? holdings.current?.pods
        : has('kepler_container_core_joules_total')
          ? holdings.legacy?.cpu
          : has('kepler_container_dram_joules_total')
            ? holdings.legacy?.memory
            : null;
  if (samples === null) return json({ status: 'error', errorType: 'bad_data', error: `unexpected query ${query}` }, 400);
  return vectorReply(samples ?? []);
}

const NOW_MS = 1_700_000_042_750;

/** A KeplerSource over a fake Prometheus whose answers `reply` decides, logging into an array. */
async function keplerSource(t: TestContext, vars: NodeJS.ProcessEnv, reply: (req: Received) => Reply) {
  const server = await httpServer(t, reply);
  const config = loadAetherSourceConfig({ INTERVAL: '5m', PROVIDER: 'gcp', PROMETHEUS_URL: server.url, PROMETHEUS_TIMEOUT: '500ms', ...vars });
  const { logger, lines } = capturedLogger('debug');
  const source = new KeplerSource(config, new PrometheusClient(config.prometheus.baseUrl, config.prometheus.auth), logger, () => NOW_MS);
  return { source, received: server.received, open: server.open, lines, queries: () => server.received.map((r) => r.form.get('query') ?? '') };
}

describe('aether source Fetch', () => {
  const labelsOf = (id: string) => ({ container_id: id, container_name: `name-${id}`, pod_id: `pod-${id}`, node_name: 'ip-10-0-0-1.eu-north-1.compute.internal', job: 'kepler' });
  const current = {
    cpu: [sample(7.2e6, labelsOf('web')), sample(3.6e6, labelsOf('db')), sample(0, labelsOf('idle'))],
    memory: [sample(3.6e5, labelsOf('web')), sample(0, labelsOf('db')), sample(0, labelsOf('idle'))],
    pods: [sample(1, { pod_id: 'pod-web', pod_name: 'web-0', pod_namespace: 'shop' })],
  };
  const legacy = {
    cpu: [sample(9e6, { ...legacySeries('web'), container_id: 'web' }), sample(1.8e6, legacySeries('old'))],
    memory: [sample(0, legacySeries('old'))],
  };
  const kwhOf = (instances: { id: string; metrics: Record<string, { energy: number }> }[]) =>
    Object.fromEntries(instances.map((i) => [i.id, [i.metrics.cpu.energy, i.metrics.memory.energy]]));

  it('reports each container that used energy, with kWh from the cpu and memory queries', async (t) => {
    const { source, queries } = await keplerSource(t, { KEPLER_METRICS: 'current' }, (r) => answerFrom({ current }, r.form.get('query') ?? ''));
    const instances = await source.fetch();
    assert.deepEqual(kwhOf(instances), { web: [2, 0.1], db: [1, 0] });
    const web = instances.find((i) => i.id === 'web');
    assert.ok(web);
    assert.equal(web.name, 'name-web');
    assert.equal(web.provider, 'gcp');
    assert.equal(web.region, 'eu-north-1');
    assert.equal(web.labels.pod_name, 'web-0');
    assert.equal(queries().length, 3, 'cpu, memory and pods');
  });

  it('reads both families in auto mode, a container in both once, from the current family', async (t) => {
    const { source, queries } = await keplerSource(t, {}, (r) => answerFrom({ current, legacy }, r.form.get('query') ?? ''));
    const instances = await source.fetch();
    assert.deepEqual(kwhOf(instances), { web: [2, 0.1], db: [1, 0], old: [0.5, 0] });
    assert.equal(instances.filter((i) => i.id === 'web').length, 1);
    assert.equal(instances.find((i) => i.id === 'old')?.name, 'legacy-old');
    for (const metric of ['kepler_container_cpu_joules_total', 'kepler_pod_cpu_joules_total', 'kepler_container_core_joules_total', 'kepler_container_dram_joules_total']) {
      assert.ok(
        queries().some((q) => q.includes(metric)),
        `no query for ${metric}`,
      );
    }
    assert.equal(queries().length, 5);
  });

  it('evaluates every query at the whole second it reports as updated_at', async (t) => {
    const { source, received } = await keplerSource(t, {}, (r) => answerFrom({ current, legacy }, r.form.get('query') ?? ''));
    const instances = await source.fetch();
    const times = new Set(received.map((r) => r.form.get('time')));
    assert.deepEqual([...times], [String(Math.floor(NOW_MS / 1000))]);
    for (const i of instances) {
      for (const m of Object.values(i.metrics)) {
        assert.ok(Number.isInteger(m.updated_at));
        assert.equal(String(m.updated_at), [...times][0]);
      }
    }
  });

  it('gives up after PROMETHEUS_TIMEOUT on a hanging Prometheus, and the next Fetch works', async (t) => {
    let hang = true;
    const { source } = await keplerSource(t, { KEPLER_METRICS: 'current' }, (r) => (hang ? 'hang' : answerFrom({ current }, r.form.get('query') ?? '')));
    const started = performance.now();
    await rejectsWith(source.fetch(), 'timeout', '500ms', 'PROMETHEUS_TIMEOUT');
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 450 && elapsed < 2500, `gave up after ${Math.round(elapsed)} ms`);
    hang = false;
    assert.deepEqual(kwhOf(await source.fetch()), { web: [2, 0.1], db: [1, 0] });
  });

  it('stops the other queries when one fails, and fails the Fetch with that failure', async (t) => {
    const { source, open } = await keplerSource(t, { KEPLER_METRICS: 'current', PROMETHEUS_TIMEOUT: '10s' }, (r) =>
      (r.form.get('query') ?? '').includes('zone="package"') ? { status: 401, contentType: 'text/plain', body: 'no' } : 'hang',
    );
    const started = performance.now();
    await rejectsWith(source.fetch(), 'unauthenticated');
    assert.ok(performance.now() - started < 2000, 'failed at once, not at the 10 s timeout');
    for (let i = 0; i < 50 && open() > 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(open(), 0, 'the hanging queries were abandoned');
  });

  it("fails as 'cancelled' when the host gives up on the Fetch", async (t) => {
    const { source, open } = await keplerSource(t, { PROMETHEUS_TIMEOUT: '10s' }, () => 'hang');
    const host = new AbortController();
    setTimeout(() => host.abort(new Error('the host cancelled the Fetch')), 100);
    await rejectsWith(source.fetch(host.signal), 'cancelled', 'the host cancelled the Fetch');
    for (let i = 0; i < 50 && open() > 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(open(), 0);
  });

  // The very first Fetches finding nothing must warn too (a misconfigured Prometheus at start-up).
  it('warns once when Prometheus has no container energy', async (t) => {
    const { source, lines } = await keplerSource(t, {}, (r) => answerFrom({}, r.form.get('query') ?? ''));
    assert.deepEqual(await source.fetch(), []);
    assert.deepEqual(await source.fetch(), []);
    const warnings = lines().filter((l) => l['@level'] === 'warn');
    assert.equal(warnings.length, 1, JSON.stringify(lines()));
    assert.match(String(warnings[0]['@message']), /no Kepler container energy/);
  });
});

// ---------------------------------------------------------------------------------------------
// 9. Footprint: Fetch's answer written by hand, Prometheus's answers read as they arrive
// ---------------------------------------------------------------------------------------------

/** A service as grpc-js would serve it from the .proto text through protobufjs: the reference for the hand-written messages. */
function protobufjsService(fullName: string, ...sources: string[]): grpc.ServiceDefinition {
  const root = new protobuf.Root();
  for (const source of sources) protobuf.parse(source, root, { keepCase: true });
  let node: unknown = grpc.loadPackageDefinition(fromJSON(root.toJSON(), { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true }));
  for (const part of fullName.split('.')) node = (node as Record<string, unknown>)[part];
  return (node as grpc.ServiceClientConstructor).service;
}

describe('aether source wire format', () => {
  const reference = protobufjsService('proto.Source', AETHER_SOURCE_PROTO).Fetch.responseSerialize;
  const ours = sourceServiceDefinition().Fetch.responseSerialize;
  const same = (response: { instances: unknown[] }) => assert.deepEqual(ours(response), reference(response), JSON.stringify(response).slice(0, 200));

  it('writes the instances of a Fetch byte for byte as protobufjs does', () => {
    const labels = (i: number) => currentSeries(`c${i}`, { pod_name: `web-${i}`, pod_namespace: 'shop' });
    const samples = familySamples(
      'current',
      Array.from({ length: 50 }, (_, i): [Record<string, string>, number] => [labels(i), 1000 + i]),
      Array.from({ length: 50 }, (_, i): [Record<string, string>, number] => [labels(i), i % 2 ? 0 : 50.5]),
    );
    const instances = [...containerEnergies(samples).values()].map((c) => toInstance(c, { provider: 'gcp', updatedAt: 1_700_000_000 }));
    same({ instances });
    same({ instances: [] });
    assert.equal(ours({ instances: [] }).length, 0);
  });

  it('writes what protobufjs writes for any text and number, and for fields left out', () => {
    const texts = ['', 'a', 'café', '日本', '😀 emoji', 'x'.repeat(200), 'é'.repeat(70), 'quote " backslash \\ {brace}', '\u007f\u0080\u07ff\u0800\uffff'];
    const numbers = [0, -0, 1.5, -3, 1e300, Number.NaN, Infinity, -Infinity, 2 ** 53 + 2, 2 ** 64, -(2 ** 70), 1_700_000_000, 1_700_000_000.9, -1.5, 0.000001];
    const pick = <T>(list: T[], i: number) => list[i % list.length];
    const instances = Array.from({ length: 40 }, (_, i) => {
      const labels = Object.fromEntries(Array.from({ length: i % 7 }, (_, k) => [`${pick(texts, i + k) || 'k'}${k}`, pick(texts, i * 3 + k)]));
      const metric = (name: string, n: number) => ({
        name,
        resource_type: name,
        energy: pick(numbers, n),
        updated_at: pick(numbers, n + 3),
        usage: pick(numbers, n + 5),
        unit_amount: 0,
        unit: pick(texts, n),
        emissions: { value: pick(numbers, n + 1), unit: pick(texts, n + 2) },
        // Shared with the instance (as toInstance does), or a map of its own.
        labels: i % 3 ? labels : { ...labels, only: 'the metric' },
      });
      const instance: Record<string, unknown> = {
        id: pick(texts, i),
        provider: 'aws',
        service: 'kepler',
        name: pick(texts, i + 1),
        region: pick(texts, i + 2),
        zone: pick(texts, i + 4),
        kind: '',
        EmbodiedEmissions: { value: pick(numbers, i), unit: '' },
        metrics: { cpu: metric('cpu', i), memory: metric('memory', i + 7) },
        labels,
        status: 'running',
      };
      if (i % 5 === 1) delete instance.zone;
      if (i % 5 === 2) delete instance.EmbodiedEmissions;
      if (i % 5 === 3) instance.labels = {};
      return instance;
    });
    for (let i = 0; i < instances.length; i++) same({ instances: instances.slice(i, i + 3) });
  });

  it('writes a lone surrogate as U+FFFD, which a proto3 decoder takes (Go refuses bytes that are not UTF-8)', () => {
    const decode = protobufjsService('proto.Source', AETHER_SOURCE_PROTO).Fetch.responseDeserialize;
    const bytes = ours({ instances: [{ id: 'a\ud800b', labels: { ['k\udc00']: 'v\ud83d' } }] });
    assert.ok(bytes.includes(Buffer.from('a\ufffdb')));
    assert.deepEqual(decode(bytes), {
      instances: [
        { id: 'a\ufffdb', labels: { 'k\ufffd': 'v\ufffd' }, metrics: {}, provider: '', service: '', name: '', region: '', zone: '', kind: '', EmbodiedEmissions: null, status: '' },
      ],
    });
  });

  it("writes and reads go-plugin's own messages as protobufjs does", () => {
    const [health, controller, broker, stdio] = ['grpc.health.v1.Health', 'plugin.GRPCController', 'plugin.GRPCBroker', 'plugin.GRPCStdio'].map((name) =>
      protobufjsService(name, HEALTH_PROTO, EMPTY_PROTO, GO_PLUGIN_PROTO),
    );
    const check = (definition: grpc.MethodDefinition<unknown, unknown>, expected: grpc.MethodDefinition<unknown, unknown>, requests: unknown[], responses: unknown[]) => {
      assert.equal(definition.path, expected.path);
      assert.deepEqual([definition.requestStream, definition.responseStream], [expected.requestStream, expected.responseStream]);
      for (const r of requests) {
        assert.deepEqual(definition.requestSerialize(r), expected.requestSerialize(r));
        assert.deepEqual(definition.requestDeserialize(expected.requestSerialize(r)), expected.requestDeserialize(expected.requestSerialize(r)));
      }
      for (const r of responses) {
        assert.deepEqual(definition.responseSerialize(r), expected.responseSerialize(r));
        assert.deepEqual(definition.responseDeserialize(expected.responseSerialize(r)), expected.responseDeserialize(expected.responseSerialize(r)));
      }
    };
    const server = new grpc.Server();
    const added: Record<string, grpc.ServiceDefinition> = {};
    const realAdd = server.addService.bind(server);
    server.addService = (service, implementation) => {
      added[Object.values(service)[0].path.split('/')[1]] = service;
      realAdd(service, implementation);
    };
    new InternalServices({ onShutdownRequest: () => undefined, onTrace: () => undefined }).register(server);
    const statuses = [{ status: 'SERVING' }, { status: 'NOT_SERVING' }, { status: 'SERVICE_UNKNOWN' }, { status: 'UNKNOWN' }];
    for (const m of ['Check', 'Watch']) check(added['grpc.health.v1.Health'][m], health[m], [{ service: '' }, { service: 'plugin' }, { service: 'é' }], statuses);
    check(added['plugin.GRPCController'].Shutdown, controller.Shutdown, [{}], [{}]);
    const conns = [
      { service_id: 0, network: '', address: '', knock: null },
      { service_id: 7, network: 'unix', address: '/tmp/plugin123', knock: { knock: true, ack: false, error: 'no' } },
      { service_id: 4_000_000_000, network: 'tcp', address: '127.0.0.1:10001', knock: { knock: false, ack: true, error: '' } },
    ];
    check(added['plugin.GRPCBroker'].StartStream, broker.StartStream, conns, conns);
    const data = [
      { channel: 'STDOUT', data: Buffer.from('out\n') },
      { channel: 'STDERR', data: Buffer.alloc(0) },
      { channel: 'INVALID', data: Buffer.from([0, 255]) },
    ];
    check(added['plugin.GRPCStdio'].StreamStdio, stdio.StreamStdio, [{}], data);
    // The Source's Stop, and Fetch's request, are empty.
    const source = protobufjsService('proto.Source', AETHER_SOURCE_PROTO);
    check(sourceServiceDefinition().Stop, source.Stop, [{}], [{}]);
    assert.deepEqual(sourceServiceDefinition().Fetch.requestDeserialize(Buffer.alloc(0)), {});
    server.forceShutdown();
  });

  it('reads unknown fields past, and refuses a message cut short', () => {
    const known = new FieldWriter()
      .varint(1, 2)
      .bytes(9, 'unknown')
      .varint(15, 2 ** 40)
      .bytes(1, 'plugin')
      .finish();
    assert.deepEqual(HEALTH_CHECK_REQUEST.decode(known), { service: 'plugin' });
    const fields: [number, number | string][] = [];
    readFields(known, (field, value) => fields.push([field, typeof value === 'number' ? value : value.toString()]));
    assert.deepEqual(fields, [
      [1, 2],
      [9, 'unknown'],
      [15, 2 ** 40],
      [1, 'plugin'],
    ]);
    assert.throws(() => HEALTH_CHECK_REQUEST.decode(known.subarray(0, known.length - 2)), RangeError);
    assert.throws(() => HEALTH_CHECK_REQUEST.decode(Buffer.from([0x80])), RangeError);
  });
});

describe('aether source answer reader', () => {
  /** Feeds `text` to a VectorReader in chunks of `sizes` (cycled); the series handed over and the rest. */
  function read(text: string, sizes: number[]) {
    const series: unknown[] = [];
    const reader = new VectorReader((s) => series.push(s));
    const bytes = Buffer.from(text);
    for (let at = 0, i = 0; at < bytes.length; i++) {
      const size = sizes[i % sizes.length];
      reader.push(new Uint8Array(bytes.subarray(at, at + size)));
      at += size;
    }
    return { series, rest: reader.finish() };
  }
  const CHUNKINGS = [[1], [2, 3], [7], [64, 1, 13], [100_000]];
  const tricky = { 'a"b': 'x\\"y', 'c}d': '],[{', é: '日本😀', '\\': '\\\\', brace: '{"metric":{}}', empty: '' };

  it('hands over each series as its bytes arrive, as JSON.parse reads them, however the answer is cut', () => {
    const result = [
      { metric: { container_id: 'c1', ...tricky }, value: [1_700_000_000.5, '12.5'] },
      { metric: {}, value: [1, 'NaN'] },
      { metric: { container_id: 'c3' }, value: [2, '1e3'] },
    ];
    const answers = [
      { status: 'success', data: { resultType: 'vector', result } },
      { data: { result, resultType: 'vector' }, status: 'success', warnings: ['a, "warning"'] },
      { status: 'success', data: { resultType: 'vector', result: [] } },
    ];
    for (const answer of answers) {
      for (const text of [JSON.stringify(answer), JSON.stringify(answer, null, 2), `\ufeff${JSON.stringify(answer)}`]) {
        for (const sizes of CHUNKINGS) {
          const { series, rest } = read(text, sizes);
          assert.deepEqual(series, answer.data.result, `${text.slice(0, 60)} in chunks of ${sizes.join(',')}`);
          assert.deepEqual(rest, { ...answer, data: { ...answer.data, result: [] } });
        }
      }
    }
  });

  it('leaves a result that is not where Prometheus puts it in the rest, whole', () => {
    for (const answer of [
      { status: 'error', errorType: 'bad_data', error: 'parse error: "result":[' },
      { status: 'success', data: { resultType: 'matrix', result: [{ metric: {}, values: [[1, '1']] }] }, result: [1, 2] },
      { status: 'success', data: { resultType: 'scalar', result: [1, '2'] } },
      { data: { nested: { result: [{ metric: {} }] } } },
      [{ data: { result: [1] } }],
    ]) {
      for (const sizes of CHUNKINGS) {
        const { series, rest } = read(JSON.stringify(answer), sizes);
        if (Array.isArray((answer as { data?: { result?: unknown } }).data?.result)) {
          // data.result is streamed whatever its resultType; parseVector refuses the rest afterwards.
          assert.deepEqual(series, (answer as { data: { result: unknown[] } }).data.result);
        } else {
          assert.deepEqual(series, []);
          assert.deepEqual(rest, answer);
        }
      }
    }
  });

  it('refuses what JSON.parse refuses', () => {
    const good = JSON.stringify({
      status: 'success',
      data: {
        resultType: 'vector',
        result: [
          { metric: { a: 'b' }, value: [1, '2'] },
          { metric: {}, value: [1, '3'] },
        ],
      },
    });
    const bad = [
      good.slice(0, -1),
      good.slice(0, 40),
      good.replace('},{', '},,{'),
      good.replace('[{', '[,{'),
      good.replace('}]}', '},]}'),
      good.replace('"a"', 'a'),
      good.replace('}]', ']]'),
      `${good}}`,
      '<!doctype html><html><body>Grafana</body></html>',
      '',
    ];
    for (const text of bad) {
      assert.throws(() => JSON.parse(text), SyntaxError, text);
      for (const sizes of CHUNKINGS) assert.throws(() => read(text, sizes), SyntaxError, `${text} in chunks of ${sizes.join(',')}`);
    }
  });
});

describe('aether source families gathered as they arrive', () => {
  it('gathers sample by sample what containerEnergies does, and skips the containers it is told to', () => {
    const samples = familySamples(
      'current',
      [
        [currentSeries('c1', { container_name: '', pod_id: '' }), 100],
        [currentSeries('c1'), 200],
        [currentSeries('c2', { job: 'again' }), 50],
        [currentSeries('c2'), 70],
        [currentSeries('c3', { state: 'terminated' }), 5],
      ],
      [
        [currentSeries('c1'), 20],
        [currentSeries('c2', { job: 'again' }), 30],
        [currentSeries('c4'), 1],
      ],
      [{ pod_id: 'pod-c1', pod_name: 'web-0', pod_namespace: 'shop' }, { pod_id: 'pod-c2' }],
    );
    const energies = new FamilyEnergies('current');
    for (const s of samples.pods) energies.addPod(s);
    for (const s of samples.energy.cpu) energies.add('cpu', s);
    for (const s of samples.energy.memory) energies.add('memory', s);
    assert.deepEqual(energies.containers(), containerEnergies(samples));
    assert.ok(energies.has('c4') && !energies.has('c5'));

    const others = new FamilyEnergies('0.7', (id) => id === 'c1');
    for (const s of samples.energy.cpu) others.add('cpu', s);
    assert.deepEqual([...others.containers().keys()], ['c2', 'c3']);
  });
});

describe('aether source Prometheus answers as they arrive', () => {
  const QUERY = 'sum without (zone) (increase(kepler_container_cpu_joules_total{zone="package"}[300s]))';
  const options = (signal = new AbortController().signal) => ({ time: 1_700_000_000, signal, timeoutMs: 10_000 });
  const answer = (n: number) => ({
    status: 'success',
    data: { resultType: 'vector', result: Array.from({ length: n }, (_, i) => ({ metric: { container_id: `c${i}`, note: 'é' }, value: [1, String(i)] })) },
  });

  /** A server whose handler writes the raw answer; closed when the test ends. */
  async function rawServer(t: TestContext, handle: (req: IncomingMessage, res: ServerResponse, body: string) => void) {
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => handle(req, res, body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    });
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  it('reads an answer gzipped or deflated, as Prometheus sends one to a client that accepts it, and sent in small pieces', async (t) => {
    const text = JSON.stringify(answer(300));
    const url = await rawServer(t, (req, res) => {
      assert.match(String(req.headers['accept-encoding']), /gzip/);
      const encoding = req.url?.includes('deflate') ? 'deflate' : req.url?.includes('plain') ? undefined : 'gzip';
      const body = encoding === 'gzip' ? gzipSync(text) : encoding === 'deflate' ? deflateSync(text) : Buffer.from(text);
      res.writeHead(200, { 'content-type': 'application/json', ...(encoding ? { 'content-encoding': encoding } : {}) });
      let at = 0;
      const more = () => {
        if (at >= body.length) return void res.end();
        res.write(body.subarray(at, (at += 500)));
        setImmediate(more);
      };
      more();
    });
    for (const path of ['', '/deflate', '/plain']) {
      const samples = await new PrometheusClient(`${url}${path}`, { kind: 'none' }).query(QUERY, options());
      assert.equal(samples.length, 300, path);
      assert.deepEqual(samples[299], sample(299, { container_id: 'c299', note: 'é' }));
    }
  });

  it("says when an answer is not the gzip it claims, and calls an answer cut halfway 'unavailable'", async (t) => {
    const text = JSON.stringify(answer(2000));
    const url = await rawServer(t, (req, res) => {
      if (req.url?.includes('liar')) {
        res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
        res.end(text);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(text.length) });
      res.write(text.slice(0, text.length / 2), () => res.destroy());
    });
    await rejectsWith(new PrometheusClient(`${url}/liar`, { kind: 'none' }).query(QUERY, options()), 'bad_response', 'not JSON');
    await rejectsWith(new PrometheusClient(url, { kind: 'none' }).query(QUERY, options()), 'unavailable', 'cannot be reached');
  });

  it('follows a 307 or 308 with the same POST, keeping the credentials on the same origin only', async (t) => {
    const seen: { path: string; authorization?: string; query: string | null }[] = [];
    const target = await rawServer(t, (req, res, body) => {
      seen.push({ path: req.url ?? '', authorization: req.headers.authorization, query: new URLSearchParams(body).get('query') });
      if (req.url === '/old/api/v1/query') {
        res.writeHead(308, { location: '/new/api/v1/query' });
        return void res.end();
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer(1)));
    });
    const front = await rawServer(t, (_req, res) => {
      res.writeHead(307, { location: `${target}/old/api/v1/query` });
      res.end('moved');
    });
    const samples = await new PrometheusClient(front, { kind: 'bearer', token: 'secret' }).query(QUERY, options());
    assert.equal(samples.length, 1);
    assert.deepEqual(seen, [
      { path: '/old/api/v1/query', authorization: undefined, query: QUERY },
      { path: '/new/api/v1/query', authorization: undefined, query: QUERY },
    ]);
    seen.length = 0;
    await new PrometheusClient(`${target}/old`, { kind: 'bearer', token: 'secret' }).query(QUERY, options());
    assert.deepEqual(
      seen.map((s) => s.authorization),
      ['Bearer secret', 'Bearer secret'],
    );
  });

  it('sends a query at once but reads its answer only after the one it waits for', async (t) => {
    const url = await rawServer(t, (_req, res, body) => {
      const n = new URLSearchParams(body).get('query') === 'first' ? 3000 : 10;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer(n)));
    });
    const client = new PrometheusClient(url, { kind: 'none' });
    const order: string[] = [];
    const first = client.stream('first', options(), () => order.push('first'));
    const second = client.stream('second', options(), () => order.push('second'), first);
    await Promise.all([first, second]);
    assert.equal(order.length, 3010);
    assert.equal(order.indexOf('second'), 3000, 'every sample of the first answer came before the second');
  });
});
