// Runs the compiled tests with Node's built-in runner. `node scripts/run-tests.mjs [unit|e2e]`.
// Unit tests run in parallel; end-to-end tests run one file at a time because they share the
// machine's CPUs and their assertions compare CPU shares.
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const suites = process.argv[2] ? [process.argv[2]] : ['unit', 'e2e'];
let failed = false;
for (const suite of suites) {
  const dir = join('dist', 'test', suite);
  if (!existsSync(dir)) continue;
  const files = readdirSync(dir).filter((f) => f.endsWith('.test.js')).sort().map((f) => join(dir, f));
  if (files.length === 0) continue;
  const args = ['--test', '--test-reporter=spec', `--test-concurrency=${suite === 'unit' ? 2 : 1}`, ...files];
  const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
  if (r.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
