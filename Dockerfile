# syntax=docker/dockerfile:1
# Campus: one image for every role; SERVICES chooses what a container runs (see README
# "Deployment"). test/integration/delivery-image.spec.ts reads this file: it installs what the
# prod-deps stage installs, copies what the runtime stage copies, runs HEALTHCHECK and CMD.

# --- build: every dependency; compiles to dist/ (the type check is the gate: no output on an error) ---
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# No lifecycle script is needed (esbuild's binary comes as an optional dependency), and
# `prepare` would try to install git hooks.
RUN --mount=type=cache,target=/root/.npm npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json server.ts repl.ts moleculer.config.ts ./
COPY lib ./lib
COPY services ./services
COPY mixins ./mixins
COPY middlewares ./middlewares
COPY types ./types
RUN npm run build

# --- prod-deps: production dependencies only (no TypeScript compiler or loader at run time) ---
FROM node:22-bookworm-slim AS prod-deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --ignore-scripts

# --- runtime ---
FROM node:22-bookworm-slim AS runtime
# tini as PID 1 forwards SIGTERM to Node and reaps children. npm, npx and corepack are not needed
# to run and only widen what a scanner (and an attacker) finds.
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini \
  && rm -rf /var/lib/apt/lists/* \
  && rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
    /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
  && groupadd --system --gid 10001 campus \
  && useradd --system --uid 10001 --gid campus --home-dir /nonexistent --no-create-home \
    --shell /usr/sbin/nologin campus
WORKDIR /app
# The root filesystem may be read-only: the app writes only under DATA_DIR (the embedded
# database, used only without a database URL), under /tmp. Mount a writable /tmp (tmpfs or
# emptyDir) when running all-in-one on the embedded database.
ENV NODE_ENV=production \
  PORT=3000 \
  METRICS_PORT=3030 \
  DATA_DIR=/tmp/data \
  LOG_FORMAT=json
# Code and dependencies stay owned by root, read-only to the app's user.
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/package.json ./
COPY --from=build /app/dist ./dist
USER 10001:10001
EXPOSE 3000 3030
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health/live').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/server.js"]
