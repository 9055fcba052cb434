// The architecture, as code: which top-level folder of src/ may import which. Data flows one way:
// meters (device) and resources into the monitor, snapshots out to the exporters; estimation and
// k8s are libraries below them; app wires everything, cli is the entry point. A new import that
// crosses the layers the wrong way fails here, naming the file and the import.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

// Compiled to dist/test/unit/; the sources stay in the source tree.
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const SRC = join(ROOT, 'src');

/**
 * Each folder of src/ and the folders it may import from (README, Architecture). Lowest first:
 * a folder may only depend on folders listed before it, so the graph has no cycle.
 */
export const LAYERS: readonly (readonly [string, readonly string[]])[] = [
  ['util', []],
  ['config', ['util']],
  ['logger', ['config']],
  ['resource', ['util']],
  ['k8s', ['config', 'logger']],
  ['estimation', ['config', 'resource']],
  ['device', ['config', 'util', 'logger', 'resource', 'estimation']],
  ['monitor', ['device', 'resource', 'logger']],
  ['exporter', ['monitor', 'resource', 'k8s', 'device', 'config', 'logger', 'util']],
  ['server', ['util', 'config', 'logger']],
  ['goplugin', ['logger']],
  ['aether', ['goplugin', 'config', 'logger']],
  ['top', ['util', 'config']],
  ['app', ['util', 'config', 'logger', 'resource', 'k8s', 'estimation', 'device', 'monitor', 'exporter', 'server']],
  ['cli', ['util', 'config', 'logger', 'estimation', 'device', 'goplugin', 'aether', 'top', 'app']],
];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

/** Relative module specifiers of a file: static imports and exports, and dynamic import(). */
export function relativeImports(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?\bfrom\s*'(\.[^']*)'|\bimport\s*\(\s*'(\.[^']*)'\s*\)/g)) out.push(m[1] ?? m[2]);
  return out;
}

const topFolder = (file: string): string => relative(SRC, file).split(sep)[0];

test('the layer list itself has no cycle: each folder depends only on folders listed before it', () => {
  const seen = new Set<string>();
  for (const [folder, deps] of LAYERS) {
    for (const d of deps) assert.ok(seen.has(d), `${folder} may import ${d}, which is listed after it`);
    seen.add(folder);
  }
});

test('every import under src/ between top-level folders is one the layers allow', () => {
  const allowed = new Map(LAYERS.map(([f, deps]) => [f, new Set(deps)]));
  const files = sourceFiles(SRC);
  assert.ok(files.length > 50, `read ${files.length} files`);
  const wrong: string[] = [];
  let crossing = 0;
  for (const file of files) {
    const from = topFolder(file);
    assert.ok(allowed.has(from) || !from.includes('/'), `src/${from} is not in the layer list`);
    for (const spec of relativeImports(readFileSync(file, 'utf8'))) {
      const target = resolve(dirname(file), spec);
      assert.ok(target.startsWith(SRC + sep), `${relative(ROOT, file)} imports ${spec}, outside src/`);
      const to = topFolder(target);
      if (to === from) continue;
      crossing++;
      if (!allowed.get(from)?.has(to)) wrong.push(`${relative(ROOT, file)}: ${from} -> ${to} (import '${spec}')`);
    }
  }
  assert.deepEqual(wrong, [], 'imports that cross the layers the wrong way');
  assert.ok(crossing > 50, `${crossing} imports between folders were checked`);
});

/**
 * What each tree outside test/ may not import: nothing imports test/; the harness (real peers
 * and helpers shared by tests and benchmarks) sits below bench/; the product imports neither.
 */
const FORBIDDEN: readonly (readonly [string, readonly string[]])[] = [
  ['bench', ['test']],
  ['harness', ['test', 'bench']],
  ['src', ['test', 'bench', 'harness']],
];

test('benchmarks and tests import the product only from src/, and the product never imports them', () => {
  const wrong: string[] = [];
  for (const [dir, forbidden] of FORBIDDEN) {
    for (const file of sourceFiles(join(ROOT, dir))) {
      for (const spec of relativeImports(readFileSync(file, 'utf8'))) {
        const target = relative(ROOT, resolve(dirname(file), spec));
        if (forbidden.some((f) => target.startsWith(`${f}${sep}`))) wrong.push(`${relative(ROOT, file)} imports ${target}`);
      }
    }
  }
  assert.deepEqual(wrong, []);
});

test('the import reader sees static, type-only, re-export and dynamic imports', () => {
  const text = [
    "import { a } from './a.js';",
    "import type { B } from '../b/b.js';",
    "export { c } from './c.js';",
    "export type { D } from '../d.js';",
    "const { e } = await import('../e/e.js');",
    "import {\n  f,\n  g,\n} from '../f/f.js';",
    "import x from 'node:fs';",
  ].join('\n');
  assert.deepEqual(
    relativeImports(text),
    ['./a.js', '../b/b.js', './c.js', '../d.js', '../f/f.js', '../e/e.js'].sort((a, b) => text.indexOf(a) - text.indexOf(b)),
  );
});
