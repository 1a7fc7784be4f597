# syntax=docker/dockerfile:1
# One image for every Outrigger process. The default entry point is the sidecar (outriggerd);
# the other processes run from the same image with a command override, e.g. sentry:
#   command: ["node", "dist/operator/sentry/main.js"]   (what helm/outrigger does)
#   docker run --rm outrigger:dev --help                    (outriggerd flags)
#   docker run --rm --entrypoint node outrigger:dev dist/operator/sentry/main.js --mode=standalone
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
# better-sqlite3 is a native addon: compile it when no prebuilt binary matches the platform.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
# node-gyp uses the headers shipped in the image instead of downloading them.
ENV npm_config_nodedir=/usr/local
WORKDIR /app
COPY package.json package-lock.json ./
# Scripts are skipped here because "prepare" would build before the sources are copied; the
# native addon's install script is run explicitly right after.
RUN npm ci --ignore-scripts --no-audit --no-fund \
 && npm rebuild better-sqlite3
COPY tsconfig.json ./
COPY sidecar ./sidecar
COPY operator ./operator
COPY test ./test
COPY bench ./bench
COPY examples ./examples
RUN npx tsc -p tsconfig.json \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
# package.json carries "type": "module", which the compiled ESM files need.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/sidecar ./dist/sidecar
COPY --from=build /app/dist/operator ./dist/operator
# Numeric uid/gid (the image's "node" user) so Kubernetes can check runAsNonRoot.
USER 1000:1000
# Sidecar: HTTP API, gRPC API, internal gRPC, metrics.
EXPOSE 3500 50001 50002 9090
ENTRYPOINT ["node", "dist/sidecar/main.js"]
