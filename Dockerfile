# tb-ocpp-gateway container image (see docs/deployment.md).
#
# Two stages: "build" has the C++ toolchain the SQLite binding (better-sqlite3) compiles with and
# the dev dependencies (TypeScript); the runtime image has neither, runs as the unprivileged
# "node" user, and has node as PID 1: the gateway handles SIGTERM/SIGINT itself (graceful stop),
# so `docker stop` stops it cleanly without an init (`docker run --init` works too).
#
# Every command below is also run by CI: `npm ci` (.ci/run), `npm run build` (npm test), and the
# runtime-dependency and smoke steps by test/e2e/production.test.ts.
ARG NODE_VERSION=20

FROM node:${NODE_VERSION}-bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json .prebuild-installrc ./
COPY scripts ./scripts
RUN npm ci --ignore-scripts && npm rebuild better-sqlite3
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY schemas ./schemas
COPY config ./config
RUN npm run build
# The runtime tree: production dependencies only, with the native binding compiled above (same
# lockfile, so the same better-sqlite3), the build, the schemas and the example configuration.
RUN mkdir -p /out && cp package.json package-lock.json /out/ \
 && cd /out && npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && cp -R /app/node_modules/better-sqlite3/build node_modules/better-sqlite3/ \
 && cp -R /app/dist /app/schemas /app/config /out/
RUN cd /out && node dist/cli.js --version && node dist/cli.js check-config --config config/tb_gateway.json

FROM node:${NODE_VERSION}-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build --chown=node:node /out ./
RUN mkdir -p /app/data && chown node:node /app/data
USER node
VOLUME ["/app/data"]
# 9000: charge points (OCPP-J). 9011: status page, /metrics, /healthz (127.0.0.1 unless
# TB_GW_STATUS_HOST=0.0.0.0 — then set statusServer.username/password).
EXPOSE 9000 9011
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.TB_GW_STATUS_PORT || 9011) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "dist/cli.js"]
CMD ["--config", "config/tb_gateway.json"]
