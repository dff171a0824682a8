# natter's services in one image; the command picks the service:
#   docker build -t natter .
#   docker run natter auth|group|presence|edge
# TypeScript is bundled with esbuild at build time (deploy/build.ts); the final image runs
# plain node on the bundles with production dependencies only. docs/DEPLOY.md says why.
# It builds with BuildKit or the classic builder, and with no `# syntax` line it needs no
# registry for its frontend. NODE_IMAGE is any Node 20 image with npm; without a registry,
# deploy/local/build-images.sh makes one and builds this on it.
ARG NODE_IMAGE=node:20-slim

# Every workspace's package.json and the lockfile: what `npm ci` needs, and nothing that
# changes more often, so the install layers stay cached while the sources change.
# A new workspace needs its line here (test/deploy/image.test.ts checks).
FROM ${NODE_IMAGE} AS manifests
WORKDIR /src
COPY package.json package-lock.json ./
COPY packages/crypto/package.json packages/crypto/
COPY packages/kit/package.json packages/kit/
COPY packages/protocol/package.json packages/protocol/
COPY services/auth/package.json services/auth/
COPY services/edge/package.json services/edge/
COPY services/group/package.json services/group/
COPY services/presence/package.json services/presence/
COPY clients/cli/package.json clients/cli/

# Bundles each service's src/main.ts (with the @natter/* workspace packages) into
# /out/services/<name>/dist/main.mjs and copies its migrations beside it.
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY --from=manifests /src/ ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.base.json tsconfig.json ./
COPY packages/ packages/
COPY services/ services/
COPY deploy/build.ts deploy/
RUN node --import tsx deploy/build.ts --out /out

# Production dependencies of the four services only (not the CLI's, not dev tools).
# No install scripts: the one native addon (@node-rs/bcrypt) ships prebuilt binaries as
# optional packages. The workspace links are dropped: the bundles carry that code.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY --from=manifests /src/ ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
      --workspace=services/auth --workspace=services/group \
      --workspace=services/presence --workspace=services/edge \
  && rm -rf node_modules/@natter node_modules/.bin \
  && npm cache clean --force

FROM ${NODE_IMAGE}
WORKDIR /app
COPY --from=deps /app/node_modules/ node_modules/
COPY --from=build /out/ ./
# Executable as committed (the classic builder has no COPY --chmod).
COPY deploy/docker-entrypoint.sh /usr/local/bin/natter
# The node image's unprivileged user, by number so that Kubernetes' runAsNonRoot can
# check it. Nothing under /app is writable by it.
USER 1000:1000
EXPOSE 7400 8080
ENTRYPOINT ["natter"]
CMD []
