// Builds the live page that the exporter serves at `/` (src/server/pageAssets.ts serves the files):
// web/page/main.ts with uPlot as one minified script, dist/page/app.js, and page.css with uPlot's
// stylesheet as dist/page/app.css. Everything the page needs is in these two files, so it works
// with no network and no CDN. The licences of the bundled packages go beside them in NOTICES.
// esbuild strips types without checking them, so web/ is type-checked first (web/tsconfig.json).
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const outdir = 'dist/page';

const tsc = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'web/tsconfig.json'], { stdio: 'inherit' });
if (tsc.status !== 0) {
  console.error('bundle-page: web/ does not type-check (tsc -p web/tsconfig.json)');
  process.exit(1);
}

mkdirSync(outdir, { recursive: true });
// The browsers the page supports, for the script and the stylesheet alike: what it uses
// (replaceChildren, Chrome 86; ResizeObserver; ??=) is there in all of them, and esbuild lowers the
// rest of the syntax to them.
const browsers = ['chrome90', 'firefox90', 'safari15'];
const common = { bundle: true, minify: true, metafile: true, legalComments: 'none', logLevel: 'warning', target: browsers };
const script = await build({
  ...common,
  entryPoints: ['web/page/main.ts'],
  outfile: join(outdir, 'app.js'),
  platform: 'browser',
  format: 'iife',
});
// page.css @imports uPlot's stylesheet first, so the page's own rules win ties.
const style = await build({ ...common, entryPoints: ['web/page/page.css'], outfile: join(outdir, 'app.css') });

// One notice per bundled package, from its own LICENSE file.
const packages = new Set();
for (const input of [...Object.keys(script.metafile.inputs), ...Object.keys(style.metafile.inputs)]) {
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
writeFileSync(join(outdir, 'NOTICES'), `The live page (app.js, app.css) bundles these packages:\n\n${notices.join('\n' + '-'.repeat(72) + '\n\n')}`);

for (const name of ['app.js', 'app.css']) {
  const body = readFileSync(join(outdir, name));
  console.log(`${outdir}/${name}: ${(body.length / 1024).toFixed(1)} KiB, ${(gzipSync(body).length / 1024).toFixed(1)} KiB gzipped`);
}
console.log(`${outdir}/NOTICES: ${packages.size} packages bundled (${[...packages].join(', ') || 'none'})`);
