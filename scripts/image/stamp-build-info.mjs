// dist/build-info.json records the revision and branch from git at build time; a build outside the
// repository (the Dockerfile's build stage, scripts/build-image.sh's staging folder) has no git and
// records "unknown": this puts in the ones given, as kepler_build_info reports them.
//   node scripts/image/stamp-build-info.mjs <revision> <branch>
import { readFileSync, writeFileSync } from 'node:fs';

const [revision = 'unknown', branch = 'unknown'] = process.argv.slice(2);
const file = 'dist/build-info.json';
const info = JSON.parse(readFileSync(file, 'utf8'));
if (info.revision === 'unknown') info.revision = revision;
if (info.branch === 'unknown') info.branch = branch;
writeFileSync(file, JSON.stringify(info) + '\n');
