# syntax=docker/dockerfile:1
#
# Hookshot image: one image for every role (ROLE=api | worker | all).
# See docs/docker.md for how docker-compose.yml runs it.

ARG NODE_IMAGE=node:20-bookworm-slim

# ---------------------------------------------------------------------------
# build: dev dependencies + TypeScript compile + prebuilt workflow bundle
# ---------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app

# Dependencies first so the layer is cached until the lockfile changes.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

# Sources (.dockerignore keeps node_modules, dist, data, tests etc. out).
COPY . .
# Produces dist/ (dist/src/main.js + dist/workflow-bundle.js).
RUN npm run build \
 && test -f dist/src/main.js \
 && test -f dist/workflow-bundle.js

# ---------------------------------------------------------------------------
# runtime: production dependencies, compiled output, Chromium for screenshots
# ---------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime

# chromium: screenshots (CHROMIUM_PATH=/usr/bin/chromium)
# fonts-liberation: metric-compatible Arial/Times/Courier so pages render sanely
# tini: PID 1 that forwards signals and reaps Chromium's child processes
# ca-certificates: HTTPS for scrapes and webhook deliveries
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      chromium \
      fonts-liberation \
      tini \
      ca-certificates \
 && rm -rf /var/lib/apt/lists/*

ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    DATA_DIR=/data \
    CHROMIUM_PATH=/usr/bin/chromium

WORKDIR /app

COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force

# repoRoot() finds /app through package.json; the worker loads
# /app/dist/workflow-bundle.js, the entry point is /app/dist/src/main.js.
COPY --from=build /app/dist ./dist

# DATA_DIR, owned by the unprivileged user. A fresh named volume mounted here
# inherits this ownership.
RUN mkdir -p /data && chown node:node /data

# The official node image ships the unprivileged user "node" (uid 1000).
USER node

EXPOSE 8080

# Node 20 has a global fetch, so no curl is needed. /healthz is served by the
# API (ROLE=api or all) and checks the database too.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/src/main.js"]
