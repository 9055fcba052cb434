#!/usr/bin/env bash
# Fetches the pinned inputs of scripts/image/inputs.lock into a cache folder, each checked against
# its sha256: the Node.js binary from the npm registry (npm pack), shared libraries from Debian's
# apt mirrors (apt-get download). An input already in the cache (<cache>/<sha256>/<file>) is not
# downloaded again. Used by scripts/build-image.sh and by the Dockerfile's build stage.
#   scripts/image/fetch.sh <cache>            fetch and verify; exit 1 on a mismatch
#   scripts/image/fetch.sh <cache> --print    fetch what the lock names and print its sha256, unverified
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${1:?usage: fetch.sh <cache> [--print]}"
mode="${2:-verify}"
mkdir -p "$cache"

fetch_one() { # kind name version file dest-folder
  local kind=$1 name=$2 version=$3 file=$4 dest=$5
  case "$kind" in
    npm)
      (cd "$dest" && npm pack "$name@$version" --silent --no-audit --no-fund >/dev/null) ||
        { echo "fetch.sh: npm pack $name@$version failed (is the npm registry reachable?)" >&2; return 1; }
      ;;
    deb)
      # Lists older than the lock (or none, as in a fresh container): update them once, as root.
      (cd "$dest" && apt-get download -q "$name=$version" >/dev/null 2>"$dest/apt.err") ||
        { [ "$(id -u)" = 0 ] && apt-get update -qq >/dev/null 2>&1 && (cd "$dest" && apt-get download -q "$name=$version" >/dev/null 2>"$dest/apt.err"); } || {
        cat "$dest/apt.err" >&2
        echo "fetch.sh: apt-get download $name=$version failed: the mirror may no longer carry this version" \
          "(Debian keeps only the newest point release): run 'apt-get update', 'apt-cache policy $name'," \
          "put the version it offers in scripts/image/inputs.lock and 'scripts/build-image.sh --print-lock' for its sha256" >&2
        return 1
      }
      ;;
    *)
      echo "fetch.sh: unknown kind $kind in inputs.lock" >&2
      return 1
      ;;
  esac
  [ -f "$dest/$file" ] || { echo "fetch.sh: $kind $name $version did not give $file" >&2; return 1; }
}

status=0
while read -r kind name version sha file; do
  case "$kind" in '' | '#'*) continue ;; esac
  if [ "$mode" = --print ]; then
    tmp="$(mktemp -d)"
    chmod 755 "$tmp"
    fetch_one "$kind" "$name" "$version" "$file" "$tmp" </dev/null || {
      rm -rf "$tmp"
      exit 1
    }
    printf '%-7s %-15s %-20s %s   %s\n' "$kind" "$name" "$version" "$(sha256sum "$tmp/$file" | cut -d' ' -f1)" "$file"
    rm -rf "$tmp"
    continue
  fi
  dir="$cache/$sha"
  if [ -f "$dir/$file" ] && [ "$(sha256sum "$dir/$file" | cut -d' ' -f1)" = "$sha" ]; then continue; fi
  # Downloaded beside the cache's folders, verified, then renamed into place: a partial download
  # never shows as cached, and concurrent runs each rename a verified copy of the same file.
  tmp="$(mktemp -d "$cache/.fetch.XXXXXX")"
  chmod 755 "$tmp" # apt-get download runs as _apt where it can
  # stdin is the lock being read: nothing the download runs may take it.
  fetch_one "$kind" "$name" "$version" "$file" "$tmp" </dev/null || {
    rm -rf "$tmp"
    exit 1
  }
  got="$(sha256sum "$tmp/$file" | cut -d' ' -f1)"
  if [ "$got" != "$sha" ]; then
    echo "fetch.sh: $kind $name $version: sha256 $got, but scripts/image/inputs.lock pins $sha: refusing it" >&2
    rm -rf "$tmp"
    status=1
    continue
  fi
  mkdir -p "$dir"
  mv "$tmp/$file" "$dir/$file"
  rm -rf "$tmp"
  echo "fetch.sh: $kind $name $version ($file) verified" >&2
done <"$here/inputs.lock"
exit $status
