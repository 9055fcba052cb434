// Records what kepler_build_info reports (version, revision, branch) at build time, so the
// running exporter never shells out to git.
import { execSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';

const git = (args) => {
  try {
    return execSync(`git ${args}`, { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    return 'unknown';
  }
};
const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
mkdirSync('dist', { recursive: true });
writeFileSync(
  'dist/build-info.json',
  JSON.stringify({
    version: pkg.version,
    revision: git('rev-parse --short=12 HEAD'),
    branch: git('rev-parse --abbrev-ref HEAD'),
  }) + '\n',
);
