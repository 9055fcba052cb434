#!/nodejs/bin/node
// /usr/bin/kepler and /usr/bin/kepler-ts in the image: Kepler's Helm chart and manifests run
// `command: /usr/bin/kepler`, and the image has no shell to run a script with, so this file is
// what they execute (through the kernel's shebang, with distroless's Node.js, the ENTRYPOINT's).
//
// CommonJS, so that it runs the same whatever package.json is next to it and under whatever name
// it is called. For the main module Node.js sets __filename to the real path, symlinks resolved:
// called as /usr/bin/kepler -> /app/bin/kepler.cjs it is /app/bin/kepler.cjs, and the exporter is
// found next to it. The exporter runs in this same process: it reads its arguments from
// process.argv.slice(2) (the ones given to /usr/bin/kepler), installs its own signal handlers and
// sets the exit status, so arguments, signals and exit codes pass through unchanged.
'use strict';

const { join } = require('node:path');
const { pathToFileURL } = require('node:url');

const main = join(__dirname, '..', 'dist', 'src', 'cli', 'main.js');
import(pathToFileURL(main).href).catch((err) => {
  process.stderr.write(`kepler-ts: cannot load ${main}: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
