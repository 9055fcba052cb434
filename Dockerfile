# kepler-ts image: docker build -t ghcr.io/kepler-ts/kepler-ts:0.1.0 --build-arg REVISION=$(git rev-parse --short=12 HEAD) .
#
# Build stage: the whole toolchain (TypeScript, dev dependencies).
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/ scripts/
COPY src/ src/
# src/ alone, without source maps: what ships (tsconfig.build.json).
RUN npm run build:package
# build-info.mjs asks git for the revision; there is no git here, so take it from the build argument.
ARG REVISION=unknown
ARG BRANCH=unknown
RUN node -e "const f='dist/build-info.json',fs=require('fs'),j=JSON.parse(fs.readFileSync(f,'utf8')); \
  if(j.revision==='unknown')j.revision=process.argv[1]; if(j.branch==='unknown')j.branch=process.argv[2]; \
  fs.writeFileSync(f,JSON.stringify(j)+'\n')" "$REVISION" "$BRANCH"
RUN npm prune --omit=dev --no-audit --no-fund

# Runtime stage: Node.js and nothing else (no shell, no package manager), Debian 12 like the build.
FROM gcr.io/distroless/nodejs20-debian12:nonroot
WORKDIR /app
ENV NODE_ENV=production
# package.json: "type": "module" makes dist/*.js ES modules; version for kepler_build_info.
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules/ ./node_modules/
COPY --from=build /src/dist/src/ ./dist/src/
COPY --from=build /src/dist/build-info.json ./dist/build-info.json
LABEL org.opencontainers.image.title="kepler-ts" \
      org.opencontainers.image.description="Power exporter for Prometheus, a drop-in replacement for Kepler" \
      org.opencontainers.image.licenses="Apache-2.0"
# Non-root by default (distroless "nonroot", 65532). Reading RAPL's energy_uj needs root: the
# DaemonSet in deploy/base sets runAsUser: 0; the estimator needs no privilege and keeps 65532.
USER 65532:65532
EXPOSE 28282
ENTRYPOINT ["/nodejs/bin/node", "dist/src/cli/main.js"]
