// dcgm-exporter's MIG instance activity: the parser on exposition text as dcgm-exporter writes it,
// and the poller against a real HTTP server on localhost (its clock for the answers' age is fake).

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { captureLogger } from '../support/captureLogger.js';
import { DcgmActivity, parseEngineActivity } from '../../src/device/gpu/dcgmActivity.js';

const UUID = 'GPU-5f1c2d3e-0000-1111-2222-333344445555';

const EXPOSITION = `# HELP DCGM_FI_DEV_SM_CLOCK SM clock frequency (in MHz).
# TYPE DCGM_FI_DEV_SM_CLOCK gauge
DCGM_FI_DEV_SM_CLOCK{gpu="0",UUID="${UUID}",device="nvidia0",modelName="NVIDIA A100-SXM4-40GB",Hostname="node-1"} 1410
# HELP DCGM_FI_PROF_GR_ENGINE_ACTIVE Ratio of time the graphics engine is active.
# TYPE DCGM_FI_PROF_GR_ENGINE_ACTIVE gauge
DCGM_FI_PROF_GR_ENGINE_ACTIVE{gpu="0",UUID="${UUID}",device="nvidia0",modelName="NVIDIA A100-SXM4-40GB",GPU_I_PROFILE="3g.20gb",GPU_I_ID="1",Hostname="node-1"} 0.420000
DCGM_FI_PROF_GR_ENGINE_ACTIVE{gpu="0",UUID="${UUID}",device="nvidia0",modelName="NVIDIA A100-SXM4-40GB",GPU_I_PROFILE="3g.20gb",GPU_I_ID="2",Hostname="node-1"} 0.05 1700000000000
DCGM_FI_PROF_GR_ENGINE_ACTIVE{gpu="1",UUID="GPU-other",device="nvidia1",modelName="NVIDIA H100",Hostname="node-1"} 0.9
DCGM_FI_PROF_GR_ENGINE_ACTIVE{gpu="2",GPU_I_ID="7",pod="say \\"hi\\", {x}"} 1e-1
DCGM_FI_PROF_GR_ENGINE_ACTIVE{gpu="0",UUID="${UUID}",GPU_I_ID="3"} NaN
DCGM_FI_PROF_GR_ENGINE_ACTIVE_TOTAL{gpu="0",UUID="${UUID}",GPU_I_ID="4"} 0.3
DCGM_FI_PROF_GR_ENGINE_ACTIVE{gpu="0",UUID="${UUID}",GPU_I_ID="5" 0.3
`;

test('parseEngineActivity: instances by GPU UUID (or gpu index without one); non-MIG, malformed and NaN samples left out', () => {
  const parsed = parseEngineActivity(EXPOSITION);
  assert.deepEqual(
    [...parsed.entries()].map(([gpu, instances]) => [gpu, [...instances.entries()]]),
    [
      [
        UUID,
        [
          [1, 0.42],
          [2, 0.05],
        ],
      ],
      ['2', [[7, 0.1]]],
    ],
  );
  assert.equal(parseEngineActivity('').size, 0);
  assert.equal(parseEngineActivity('# only comments\n').size, 0);
});

interface Endpoint {
  url: string;
  requests: () => number;
  /** What the next requests get: the exposition, an HTTP status, or no answer at all. */
  answer: (a: { body: string } | { status: number } | 'hang') => void;
}

async function serve(t: TestContext): Promise<Endpoint> {
  let answer: { body: string } | { status: number } | 'hang' = { body: EXPOSITION };
  let requests = 0;
  const hanging: ServerResponse[] = [];
  const server = createServer((_req: IncomingMessage, res: ServerResponse) => {
    requests++;
    if (answer === 'hang') {
      hanging.push(res);
      return;
    }
    if ('status' in answer) {
      res.writeHead(answer.status).end('nope');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(answer.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    for (const res of hanging) res.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/metrics`, requests: () => requests, answer: (a) => (answer = a) };
}

test('the poller keeps the last answer for three intervals, and logs once when dcgm-exporter stops and once when it is back', async (t) => {
  const endpoint = await serve(t);
  const { logger, lines } = captureLogger();
  let now = 0;
  const dcgm = new DcgmActivity({ endpoint: endpoint.url, intervalMs: 1000, logger, now: () => now });
  assert.equal(dcgm.activity(UUID, 0), undefined, 'nothing before the first answer');
  await dcgm.refresh();
  assert.deepEqual(
    [...(dcgm.activity(UUID, 0) ?? [])],
    [
      [1, 0.42],
      [2, 0.05],
    ],
  );
  assert.deepEqual([...(dcgm.activity('GPU-unknown', 2) ?? [])], [[7, 0.1]], 'by index when the UUID is not there');
  assert.equal(dcgm.activity('GPU-unknown', 9), undefined);
  assert.equal(lines.length, 0);

  endpoint.answer({ status: 503 });
  for (const at of [1000, 2000, 3000]) {
    now = at;
    await dcgm.refresh();
    assert.ok(dcgm.activity(UUID, 0), `the last answer is used at ${at} ms`);
  }
  now = 3001;
  assert.equal(dcgm.activity(UUID, 0), undefined, 'older than three intervals');
  assert.deepEqual(
    lines.map((l) => [l.level, l.msg, String(l.fields.error)]),
    [['WARN', 'dcgm-exporter does not answer: MIG instances have no activity until it does', 'Error: HTTP 503']],
  );

  endpoint.answer({ body: EXPOSITION.replace('0.420000', '0.75') });
  await dcgm.refresh();
  await dcgm.refresh();
  assert.equal(dcgm.activity(UUID, 0)?.get(1), 0.75);
  assert.deepEqual(
    lines.slice(1).map((l) => [l.level, l.msg, l.fields.endpoint]),
    [['INFO', 'dcgm-exporter answers again', endpoint.url]],
  );
});

test('a dcgm-exporter that never answers times out, with one warning that says so', async (t) => {
  const endpoint = await serve(t);
  endpoint.answer('hang');
  const { logger, lines } = captureLogger();
  const dcgm = new DcgmActivity({ endpoint: endpoint.url, intervalMs: 1000, timeoutMs: 50, logger });
  const started = Date.now();
  await dcgm.refresh();
  await dcgm.refresh();
  assert.ok(Date.now() - started < 1000);
  assert.deepEqual(
    lines.map((l) => [l.level, (l.fields.error as Error).message]),
    [['WARN', 'no answer within 50 ms']],
  );
});

test('a refused connection is one warning', async () => {
  const { logger, lines } = captureLogger();
  // Port 9 (discard) on localhost: nothing listens there on a test machine.
  const dcgm = new DcgmActivity({ endpoint: 'http://127.0.0.1:9/metrics', logger });
  await dcgm.refresh();
  assert.equal(lines.length, 1);
  assert.equal(lines[0].level, 'WARN');
  assert.equal(dcgm.activity(UUID, 0), undefined);
});

test('start() polls at once and then every interval in the background; stop() ends it, a poll in flight included, without a warning', async (t) => {
  const endpoint = await serve(t);
  const { logger, lines } = captureLogger();
  const dcgm = new DcgmActivity({ endpoint: endpoint.url, intervalMs: 40, timeoutMs: 1000, logger });
  dcgm.start();
  dcgm.start(); // a second start() does not start a second loop
  assert.equal(dcgm.activity(UUID, 0), undefined, 'start() does not wait for the first answer');
  await sleep(150);
  const polls = endpoint.requests();
  assert.ok(polls >= 3 && polls <= 5, `${polls} polls in 150 ms at 40 ms`);
  assert.ok(dcgm.activity(UUID, 0));
  endpoint.answer('hang');
  await sleep(60);
  dcgm.stop();
  const after = endpoint.requests();
  await sleep(100);
  assert.equal(endpoint.requests(), after);
  assert.deepEqual(
    lines.map((l) => l.msg),
    [],
  );
});
