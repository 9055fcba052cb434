// The exporter reads its configuration in a child process (src/config/loadInChild.ts), so that
// zod, yaml and the schema are not kept in its memory: what comes back must be exactly what
// loadConfig() gives in this process (values, types and prototypes), and a bad configuration the
// same one-line ConfigError.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../../src/config/config.js';
import { loadConfig } from '../../src/config/load.js';
import { loadConfigInChild } from '../../src/config/loadInChild.js';

const FIXTURE = fileURLToPath(new URL('../../../test/fixtures/config/kepler.yaml', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'kepler-load-in-child-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test("Kepler's configuration file with flags over it: the same configuration and warnings as loadConfig", async () => {
  const argv = [`--config.file=${FIXTURE}`, '--web.listen-address=:9999', '--experimental.hwmon.enabled=true', '--kube.node-name=worker-7'];
  const here = loadConfig(argv);
  assert.equal(here.kind, 'run');
  if (here.kind === 'run') assert.ok(here.warnings.length > 0, 'the deprecated flag warns: else the warnings are not compared');
  // deepStrictEqual compares prototypes too: a class instance turned plain object would fail.
  assert.deepStrictEqual(await loadConfigInChild(argv), here);
});

test('help and version come back as loadConfig gives them', async () => {
  assert.deepStrictEqual(await loadConfigInChild(['--help']), loadConfig(['--help']));
  assert.deepStrictEqual(await loadConfigInChild(['--version']), { kind: 'version' });
});

test('a bad value: the same ConfigError, one line naming the file and the key', async () => {
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'monitor:\n  interval: soon\n');
  let expected: unknown;
  try {
    loadConfig([`--config.file=${bad}`]);
  } catch (err) {
    expected = err;
  }
  assert.ok(expected instanceof ConfigError, 'loadConfig refuses it');
  await assert.rejects(loadConfigInChild([`--config.file=${bad}`]), (err: unknown) => {
    assert.ok(err instanceof ConfigError, `a ConfigError, not ${String(err)}`);
    assert.equal(err.message, expected.message);
    assert.match(err.message, /bad\.yaml.*monitor\.interval/);
    return true;
  });
});

test('a missing configuration file: the ConfigError names it', async () => {
  await assert.rejects(loadConfigInChild([`--config.file=${join(dir, 'absent.yaml')}`]), (err: unknown) => err instanceof ConfigError && err.message.includes('absent.yaml'));
});
