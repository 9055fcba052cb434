// `npm run lint`: ESLint (type-checked) and `prettier --check`, side by side, since neither needs
// the other's result; exits non-zero when either finds something. Both keep a cache under
// node_modules/.cache, so a second run in a working tree only re-reads the files that changed.
// A fresh clone (CI) has no cache and checks everything. ESLint's cache keys on each file's own
// content: an edit that breaks a type-aware rule in an unchanged file is caught by the next clean
// run (CI), or with `npm run lint -- --no-cache`.
import { spawn } from 'node:child_process';

const noCache = process.argv.includes('--no-cache');
const cache = (...args) => (noCache ? [] : args);
const run = (cmd, args) =>
  new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: 'inherit' });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
    child.on('error', (err) => {
      console.error(`lint: cannot run ${cmd}: ${err.message}`);
      resolve(1);
    });
  });

const bin = (name) => new URL(`../node_modules/.bin/${name}`, import.meta.url).pathname;
const codes = await Promise.all([
  run(bin('eslint'), [...cache('--cache', '--cache-strategy', 'content', '--cache-location', 'node_modules/.cache/eslint/'), '.']),
  run(bin('prettier'), [...cache('--cache'), '--check', '.']),
]);
process.exit(codes.some((c) => c !== 0) ? 1 : 0);
