// The go-plugin test host (harness/aether-host) and its helper, checked against fake "plugins" that
// are shell scripts: the real go-plugin 1.0.1 client refuses a bad handshake, and it re-emits a
// plugin's stderr on the host's stderr, so the plugin tests can trust what the host reports.

import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { GO_HOST_PACKAGES, eventsOf, goAvailable, pluginLogLines, runGoHost } from '../../harness/goPluginHost.js';

const skip = goAvailable() ? false : `go is not installed (apt-get install ${GO_HOST_PACKAGES})`;
const tmp = mkdtempSync(join(tmpdir(), 'kepler-goplugin-host-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function fakePlugin(name: string, body: string): string {
  const file = join(tmp, name);
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
}

describe('go-plugin test host', { skip }, () => {
  const refused: [string, string, RegExp][] = [
    ['a garbage line', 'not a handshake', /^Unrecognized remote plugin message: not a handshake/],
    ['net/rpc', '1|1|tcp|127.0.0.1:1|netrpc', /^Unsupported plugin protocol "netrpc"\. Supported: \[grpc\]$/],
    ['no protocol field (net/rpc)', '1|1|tcp|127.0.0.1:1', /^Unsupported plugin protocol "netrpc"/],
    ['a wrong core version', '2|1|tcp|127.0.0.1:1|grpc', /^Incompatible core API version with plugin/],
    ['a wrong app version', '1|2|tcp|127.0.0.1:1|grpc', /^Incompatible API version with plugin\. Plugin version: 2/],
  ];
  for (const [what, line, message] of refused) {
    it(`refuses a handshake with ${what}: error at start, exit 3`, async () => {
      // exec sleep: the script stays alive, so the host reacts to the line, not to the exit.
      const plugin = fakePlugin(`handshake-${refused.findIndex((r) => r[1] === line)}`, `echo '${line}'\nexec sleep 30`);
      const r = await runGoHost({ plugin, timeoutMs: 20_000 });
      assert.equal(r.code, 3, r.stderr);
      assert.equal(r.events.length, 1, r.stdout);
      const [e] = eventsOf(r, 'error');
      assert.equal(e.stage, 'start');
      assert.match(e.error, message);
    });
  }

  it('passes the environment and cookie on, and re-emits the stderr of a plugin that exits', async () => {
    const plugin = fakePlugin(
      'not-started-by-aether',
      [
        'echo "env: cookie=$AETHER_SOURCE_PLUGIN ports=$PLUGIN_MIN_PORT-$PLUGIN_MAX_PORT versions=$PLUGIN_PROTOCOL_VERSIONS custom=$CUSTOM" >&2',
        'echo "This binary is a plugin. These are not meant to be executed directly." >&2',
        'echo "Please execute the program that consumes these plugins, which will load any plugins automatically" >&2',
        'exit 1',
      ].join('\n'),
    );
    const r = await runGoHost({ plugin, args: ['-cookie', 'wrong'], env: { ...process.env, CUSTOM: 'x', AETHER_SOURCE_PLUGIN: 'from-env' }, timeoutMs: 20_000 });
    assert.equal(r.code, 3, r.stderr);
    assert.equal(r.events.length, 1, r.stdout);
    const [e] = eventsOf(r, 'error');
    assert.equal(e.stage, 'start');
    // go-plugin 1.0.1 races the end of stdout against the process exit: the closed stdout almost
    // always wins and reads as an empty handshake line.
    assert.match(e.error, /^(Unrecognized remote plugin message: \n|plugin exited before we could connect$)/);

    const lines = pluginLogLines(r.stderr);
    const fromPlugin = lines.filter((l) => l['@module'] === 'aether.not-started-by-aether');
    // Plain text is re-logged at debug level, one entry per line, in order.
    assert.deepEqual(
      fromPlugin.map((l) => [l['@level'], l['@message']]),
      [
        // go-plugin's cookie wins over the same variable in the host's environment.
        ['debug', 'env: cookie=wrong ports=10000-25000 versions=1 custom=x'],
        ['debug', 'This binary is a plugin. These are not meant to be executed directly.'],
        ['debug', 'Please execute the program that consumes these plugins, which will load any plugins automatically'],
      ],
    );
    assert.ok(
      lines.some((l) => l['@module'] === 'aether' && l['@message'] === 'plugin process exited' && l.error === 'exit status 1'),
      r.stderr,
    );
  });

  it('re-emits hclog JSON at its level only with a six-digit @timestamp', async () => {
    const line = (level: string, msg: string, ts: string) => JSON.stringify({ '@level': level, '@message': msg, '@timestamp': ts, '@module': 'src', k: 1 });
    const plugin = fakePlugin(
      'logs',
      [
        `echo '${line('warn', 'six digits', '2024-05-01T10:00:00.123456Z')}' >&2`,
        `echo '${line('error', 'three digits', '2024-05-01T10:00:00.123Z')}' >&2`,
        `echo '${line('info', 'offset', '2024-05-01T12:00:00.123456+02:00')}' >&2`,
        'exit 1',
      ].join('\n'),
    );
    const r = await runGoHost({ plugin, timeoutMs: 20_000 });
    assert.equal(r.code, 3, r.stderr);
    const lines = pluginLogLines(r.stderr);
    const six = lines.find((l) => l['@message'] === 'six digits');
    // The plugin's own keys come along, @module included (it overrides the host's module name).
    assert.deepEqual(six && [six['@level'], six['@module'], six.k, six.timestamp], ['warn', 'src', 1, '2024-05-01T10:00:00.123Z']);
    const three = lines.find((l) => (l['@message'] ?? '').includes('three digits'));
    assert.deepEqual(three && [three['@level'], three['@module']], ['debug', 'aether.logs']);
    const offset = lines.find((l) => l['@message'] === 'offset');
    assert.equal(offset?.['@level'], 'info');
  });
});
