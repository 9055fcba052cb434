#!/usr/bin/env bash
# Installs everything the tests need on a fresh Debian machine with Node.js, then runs the linters
# (ESLint and Prettier: `npm run lint`) and every test.
# The end-to-end tests need root (real cgroups) and these Debian packages:
#   stress-ng                 real CPU load in real cgroups
#   prometheus-node-exporter  cross-check of the node joules on the same RAPL tree
#   prometheus                the real Prometheus server scraping kepler-ts, and promtool
#   openssl                   certificates for the fake kubelet and API server
#   chromium                  the headless browser that loads the live page (`/`) in its end-to-end test
#   tmux                      a real terminal for `kepler-ts top` (send-keys, capture-pane)
#   gcc, libc6-dev            the fake libnvidia-ml.so.1 (harness/fake_nvml.c) of the GPU tests and bench
#   python3-sushy             OpenStack's Redfish client, which must read the fake BMC as kepler-ts does
#   golang-go, golang-github-hashicorp-go-plugin-dev, golang-google-grpc-dev, golang-golang-x-net-dev
#                             the real go-plugin client (GOPATH mode, no network) in the Go host
#                             that loads the aether plugin as aether does; the go-plugin package
#                             does not declare its gRPC dependency, hence the last two
#   podman, runc, catatonit   the image's end-to-end test (test/e2e/image.test.ts): scripts/build-image.sh
#                             loads the image into podman, which runs it with runc (crun refuses
#                             hybrid cgroups); catatonit is the pause process of `podman kube play`
# The integration test of deploy/ needs kubectl (`kubectl kustomize`), 1.21 or later for kustomize components:
#   kubernetes-client         kubectl where none is installed; bookworm's is 1.20, too old (the test
#                             says so), but the project's machines come with kubectl 1.32
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v stress-ng >/dev/null 2>&1 || need+=(stress-ng)
command -v gcc >/dev/null 2>&1 || need+=(gcc libc6-dev)
# A directory check, not `python3 -c 'import sushy'`: a pyenv python3 on PATH cannot see Debian's modules.
[ -d /usr/lib/python3/dist-packages/sushy ] || need+=(python3-sushy)
command -v prometheus-node-exporter >/dev/null 2>&1 || need+=(prometheus-node-exporter)
command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v kubectl >/dev/null 2>&1 || need+=(kubernetes-client)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v tmux >/dev/null 2>&1 || need+=(tmux)
command -v go >/dev/null 2>&1 || need+=(golang-go)
command -v podman >/dev/null 2>&1 || need+=(podman)
command -v runc >/dev/null 2>&1 || need+=(runc)
command -v catatonit >/dev/null 2>&1 || [ -x /usr/libexec/podman/catatonit ] || need+=(catatonit)
gocode=/usr/share/gocode/src
[ -d $gocode/github.com/hashicorp/go-plugin ] || need+=(golang-github-hashicorp-go-plugin-dev)
[ -d $gocode/google.golang.org/grpc ] || need+=(golang-google-grpc-dev)
[ -d $gocode/golang.org/x/net/context ] || need+=(golang-golang-x-net-dev)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing Debian packages: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

npm ci --no-audit --no-fund
npm run lint
npm test
