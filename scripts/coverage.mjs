// `npm run test:coverage`: the unit and integration suites under c8, then line and branch coverage
// of src/ per folder and per file (istanbul's text table; the folder rows are the per-folder
// figures, "All files" the total).
//
// c8 collects V8's coverage through NODE_V8_COVERAGE, so the exporter and CLI processes the tests
// start, and their worker threads, count too. It maps dist/src/*.js back to src/*.ts with the
// source maps tsc writes (tsconfig.json). --all counts every file of src/, loaded or not; test
// files are not counted. A compiled file whose source is gone (tsc does not delete the output of a
// file that moved) is left out. Reports: the table on stdout, HTML and lcov under coverage/.
import { existsSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const C8 = join('node_modules', 'c8', 'bin', 'c8.js');
if (!existsSync(C8)) {
  console.error('c8 is not installed: run npm ci');
  process.exit(2);
}

function compiled(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return compiled(p);
    return e.name.endsWith('.js') ? [p] : [];
  });
}

const stale = compiled(join('dist', 'src')).filter((js) => !existsSync(join('src', relative(join('dist', 'src'), js)).replace(/\.js$/, '.ts')));
const suites = process.argv.length > 2 ? process.argv.slice(2) : ['unit', 'integration'];
const args = [
  C8,
  '--all',
  '--src=dist/src',
  '--include=dist/src/**/*.js',
  ...stale.map((f) => `--exclude=${f}`),
  '--reporter=text',
  '--reporter=html',
  '--reporter=lcov',
  '--reports-dir=coverage',
  process.execPath,
  join('scripts', 'run-tests.mjs'),
  ...suites,
];
const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
process.exit(r.status ?? 1);
