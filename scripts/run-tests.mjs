// Runs the compiled tests with Node's built-in runner: `node scripts/run-tests.mjs [unit|integration|e2e ...]`,
// all three in that order when none is named.
//   unit         test/unit/: in-process, fake clocks and fixture trees; seconds in all
//   integration  test/integration/: real tools (kubectl, helm, go, openssl) or real timers
//   e2e          test/e2e/: the real exporter on this machine's kernel, real cgroups and servers
// Unit and integration files run two at a time; end-to-end files one at a time, because they
// share the machine's CPUs and their assertions compare CPU shares. Only files whose TypeScript
// source still exists are run (tsc does not delete the output of a test that moved).
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const SUITES = ['unit', 'integration', 'e2e'];
const CONCURRENCY = { unit: 2, integration: 2, e2e: 1 };

const suites = process.argv.length > 2 ? process.argv.slice(2) : SUITES;
for (const suite of suites) {
  if (!SUITES.includes(suite)) {
    console.error(`unknown suite ${suite}: expected ${SUITES.join(', ')}`);
    process.exit(2);
  }
}
let failed = false;
for (const suite of suites) {
  const dir = join('dist', 'test', suite);
  if (!existsSync(dir)) continue;
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.test.js') && existsSync(join('test', suite, f.replace(/\.js$/, '.ts'))))
    .sort()
    .map((f) => join(dir, f));
  if (files.length === 0) continue;
  const args = ['--test', '--test-reporter=spec', `--test-concurrency=${CONCURRENCY[suite]}`, ...files];
  const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
  if (r.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
