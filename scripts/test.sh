#!/usr/bin/env bash
# Installs everything the tests need on a fresh Debian machine with Node.js, then runs every test.
# The end-to-end tests need root (real cgroups) and these Debian packages:
#   stress-ng                 real CPU load in real cgroups
#   prometheus-node-exporter  cross-check of the node joules on the same RAPL tree
#   prometheus                the real Prometheus server scraping kepler-ts, and promtool
#   openssl                   certificates for the fake kubelet and API server
# The unit test of deploy/ needs kubectl (`kubectl kustomize`), 1.21 or later for kustomize components:
#   kubernetes-client         kubectl where none is installed; bookworm's is 1.20, too old (the test
#                             says so), but the project's machines come with kubectl 1.32
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v stress-ng >/dev/null 2>&1 || need+=(stress-ng)
command -v prometheus-node-exporter >/dev/null 2>&1 || need+=(prometheus-node-exporter)
command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v kubectl >/dev/null 2>&1 || need+=(kubernetes-client)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing Debian packages: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

npm ci --no-audit --no-fund
npm test
