// Builds the aether plugin as one file that aether can run from its plugins directory:
// dist/bundle/kepler-aether-source, CommonJS (Node reads an extensionless file outside any
// package as CommonJS), with the `#!/usr/bin/env node` line of its entry point, mode 755.
// The licences of the bundled packages go beside it in kepler-aether-source.NOTICES.
import { build } from 'esbuild';
import { chmodSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const outfile = 'dist/bundle/kepler-aether-source';
const result = await build({
  entryPoints: ['src/cli/aetherSource.ts'],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
});
chmodSync(outfile, 0o755);
// Here it sits under our `"type": "module"` package.json, which would make Node read it as ESM.
writeFileSync('dist/bundle/package.json', '{ "type": "commonjs" }\n');

// One notice per bundled package, from its own LICENSE file.
const packages = new Set();
for (const input of Object.keys(result.metafile.inputs)) {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
  if (m) packages.add(m[1]);
}
const notices = [...packages].sort().map((name) => {
  const dir = join('node_modules', name);
  const { version, license } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const file = readdirSync(dir).find((f) => /^licen[cs]e/i.test(f));
  const text = file && existsSync(join(dir, file)) ? readFileSync(join(dir, file), 'utf8').trim() : `Licensed under ${license}.`;
  return `${name} ${version} (${license})\n\n${text}\n`;
});
writeFileSync(`${outfile}.NOTICES`, `kepler-aether-source bundles these packages:\n\n${notices.join('\n' + '-'.repeat(72) + '\n\n')}`);
const bytes = result.metafile.outputs[outfile].bytes;
console.log(`${outfile}: ${(bytes / 1024).toFixed(0)} KiB, ${packages.size} packages bundled`);
