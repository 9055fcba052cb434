// The image's /app, made from a build (npm run build:package, build-info stamped) and its full
// node_modules: the exporter's compiled code (dist/src) bundled by esbuild with every dependency
// but koffi, so the image carries no node_modules but koffi's. Used by scripts/build-image.sh and
// by the Dockerfile's build stage; `npm run build:package` and the unbundled dist/src are unchanged.
//   node scripts/image/bundle.mjs <app>    (run in the build's folder; <app> must not exist)
//
// <app> is laid out as /app always was, so /usr/bin/kepler -> /app/bin/kepler.cjs -> dist/src/cli/main.js
// and the ENTRYPOINT (node dist/src/cli/main.js) keep working:
//   package.json                   as built ("type": "module"; the version kepler_build_info falls back to)
//   bin/kepler.cjs                 the launcher (0755)
//   dist/src/cli/main.js           entry point: the signal handlers, then a lazy import of the commands
//   dist/src/server/bcryptWorker.js  the BcryptPool's worker thread, an entry point of its own
//   dist/src/config/configChild.js  the process that reads the configuration at start (loadInChild.ts), another
//   dist/src/server/*-<hash>.js    the chunks (ESM, `splitting`: what the code imports lazily, the
//                                  commands, the pod informers, @kubernetes/client-node, stays lazy)
//   dist/src/NOTICES               the licences of the bundled packages
//   dist/page/, dist/build-info.json  as built
//   node_modules/koffi, node_modules/@koromix/koffi-linux-x64   koffi (a native addon: not bundled),
//                                  its JavaScript and its linux-x64 glibc build only (NVML, for GPUs)
// Modules that find files relative to themselves (import.meta.url) keep finding them: the chunks
// are in dist/src/server/, at the depth of those modules (dist/src/server/, dist/src/util/), so
// '../../page/' and '../../build-info.json' resolve as before, and beside bcryptWorker.js, which
// bcryptPool starts as './bcryptWorker.js'. The script checks this, and that koffi loads.
import { build } from 'esbuild';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';

const app = process.argv[2];
if (!app) {
  console.error('usage: node scripts/image/bundle.mjs <app>');
  process.exit(2);
}
if (existsSync(app)) {
  console.error(`bundle.mjs: ${app} exists: give a new folder`);
  process.exit(2);
}
const fail = (message) => {
  console.error(`bundle.mjs: ${message}`);
  process.exit(1);
};

const src = join(app, 'dist', 'src');
const WORKER = 'dist/src/server/bcryptWorker.js';
const CONFIG_CHILD = 'dist/src/config/configChild.js';
// What this bundle does not hold: koffi loads a native addon (its .node file) next to its own files.
const EXTERNAL = ['koffi'];
const result = await build({
  entryPoints: [
    { in: 'dist/src/cli/main.js', out: 'cli/main' },
    { in: WORKER, out: 'server/bcryptWorker' },
    { in: CONFIG_CHILD, out: 'config/configChild' },
  ],
  outdir: src,
  chunkNames: 'server/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: EXTERNAL,
  // Bundled CommonJS packages require Node's modules; an ES module has no `require` of its own.
  banner: { js: "import{createRequire as __keplerCreateRequire}from'node:module';const require=__keplerCreateRequire(import.meta.url);" },
  minify: true,
  // Class and function names as written: error messages and stack traces name them.
  keepNames: true,
  legalComments: 'none',
  charset: 'utf8',
  metafile: true,
  logLevel: 'warning',
  plugins: [
    {
      // configLibraries.ts requires zod and yaml when a web config or BMC file is first read,
      // through createRequire, which finds them in node_modules: the image has none. Here its
      // require() calls are ones esbuild bundles, still evaluated on the first call only.
      name: 'config-libraries',
      setup(b) {
        b.onLoad({ filter: /[/\\]dist[/\\]src[/\\]config[/\\]configLibraries\.js$/ }, (args) => ({
          contents: "export function zodLibrary() { return require('zod'); }\nexport function yamlLibrary() { return require('yaml'); }\n",
          loader: 'js',
          resolveDir: dirname(args.path),
        }));
      },
    },
  ],
});

// What the modules find relative to themselves (import.meta.url), checked against where esbuild put
// them: the same files as from dist/src. A module that uses import.meta.url otherwise is listed
// with no paths (createRequire finds node_modules from any folder of /app); an unlisted one fails.
const RELATIVE = {
  'dist/src/server/pageAssets.js': ['../../page/'],
  'dist/src/util/buildInfo.js': ['../../build-info.json', '../../../package.json'],
  'dist/src/server/bcryptPool.js': ['./bcryptWorker.js'],
  'dist/src/device/gpu/nvml/nvmlLibrary.js': [],
  'dist/src/config/loadInChild.js': ['../config/configChild.js'],
  'dist/src/util/lazyBuiltins.js': [],
  'dist/src/cli/command.js': [],
  'dist/src/config/configLibraries.js': [],
};
const outputOf = new Map();
for (const [out, o] of Object.entries(result.metafile.outputs)) for (const input of Object.keys(o.inputs)) outputOf.set(input, out);
for (const input of Object.keys(result.metafile.inputs)) {
  if (!readFileSync(input, 'utf8').includes('import.meta.url')) continue;
  const paths = RELATIVE[input];
  if (!paths) fail(`${input} uses import.meta.url: add it to RELATIVE with the paths it resolves`);
  const out = outputOf.get(input);
  for (const rel of paths) {
    const want = relative('.', join(dirname(input), rel));
    const got = relative(app, join(dirname(out), rel));
    if (want !== got) fail(`${input}, bundled into ${out}, would find ${rel} at ${got}, not ${want}`);
  }
}
for (const entry of [WORKER, CONFIG_CHILD]) {
  const worker = Object.keys(result.metafile.outputs).find((o) => result.metafile.outputs[o].entryPoint === entry);
  if (relative(app, worker) !== entry) fail(`the entry point ${entry} went to ${worker}`);
}

// One notice per bundled package, from its own licence file (koffi's LICENSE.txt ships with it, in node_modules).
const packages = new Map(); // folder -> name
for (const input of Object.keys(result.metafile.inputs)) {
  const m = /^(.*node_modules\/((?:@[^/]+\/)?[^/]+))\//.exec(input);
  if (m) packages.set(m[1], m[2]);
}
const notice = (dir) => {
  const { name, version, license } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const files = readdirSync(dir)
    .filter((f) => /^(licen[cs]e|copying|notice)/i.test(f))
    .sort();
  const text = files.length > 0 ? files.map((f) => readFileSync(join(dir, f), 'utf8').trim()).join('\n\n') : `Licensed under ${license} (no licence file in the package).`;
  return `${name} ${version} (${license})\n\n${text}\n`;
};
const bundled = [...packages].sort((a, b) => a[1].localeCompare(b[1]) || a[0].localeCompare(b[0]));
writeFileSync(
  join(src, 'NOTICES'),
  'The JavaScript files of this folder are kepler-ts (Apache-2.0) bundled by esbuild with these packages:\n\n' +
    bundled.map(([dir]) => notice(dir)).join('\n' + '-'.repeat(72) + '\n\n'),
);

// koffi: its JavaScript, its licence, and the build for this platform (glibc: the image's libc).
const copy = (from, to, mode) => {
  mkdirSync(dirname(to), { recursive: true });
  copyFileSync(from, to);
  chmodSync(to, mode ?? (statSync(from).mode & 0o111 ? 0o755 : 0o644));
};
const walk = (dir) => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
for (const f of walk('node_modules/koffi')) if (!f.endsWith('/cnoke.cjs') && /(\.cjs|\/package\.json|\/LICENSE\.txt)$/.test(f)) copy(f, join(app, f), 0o644);
for (const f of ['package.json', 'index.js', 'linux_x64/koffi.node']) copy(join('node_modules/@koromix/koffi-linux-x64', f), join(app, 'node_modules/@koromix/koffi-linux-x64', f));
const koffi = createRequire(join(src, 'server', 'x.js'))('koffi');
if (typeof koffi.load !== 'function') fail('koffi does not load from the image’s node_modules');

// The rest of /app, as built.
copy('package.json', join(app, 'package.json'), 0o644);
copy('bin/kepler.cjs', join(app, 'bin', 'kepler.cjs'), 0o755);
copy('dist/build-info.json', join(app, 'dist', 'build-info.json'), 0o644);
cpSync('dist/page', join(app, 'dist', 'page'), { recursive: true });

const size = (dir) => walk(dir).reduce((n, f) => n + statSync(f).size, 0);
const mib = (b) => `${(b / 1048576).toFixed(1)} MiB`;
console.log(
  `bundle.mjs: ${app}: dist/src ${mib(size(src))} (${Object.keys(result.metafile.outputs).length} files, ${bundled.length} packages bundled), ` +
    `node_modules ${mib(size(join(app, 'node_modules')))} (koffi), ${mib(size(app))} in all`,
);
