# syntax=docker/dockerfile:1
# wxopen: multi-stage image. `build` compiles TypeScript and better-sqlite3's native addon with the
# toolchain; `runtime` holds only dist/, the production node_modules (addon included) and no compiler.
# See docs/deploy.md (中文: docs/deploy.zh-CN.md) and compose.yaml.
ARG NODE_VERSION=24

FROM node:${NODE_VERSION}-bookworm-slim AS build
# better-sqlite3 downloads a prebuilt addon when one matches this Node; otherwise node-gyp compiles it.
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would build before src/ is copied; the native addon is built explicitly.
RUN npm ci --ignore-scripts --no-audit --no-fund && npm rebuild better-sqlite3
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    WXOPEN_ADMIN_HOST=127.0.0.1 \
    WXOPEN_ADMIN_PORT=3002 \
    WXOPEN_DATABASE_URL=sqlite:/data/wxopen.db
WORKDIR /app
# The application files stay root-owned (read-only to the process); only /data is writable.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The project directory is /app (wxopen's package.json): files the server keeps beside the database
# (with PostgreSQL: /app/data/wxopen.db.server.json) land in the volume too.
RUN mkdir -p /data && chown 1000:1000 /data && ln -s /data /app/data
# uid 1000 is the image's `node` user; numeric so Kubernetes' runAsNonRoot can verify it.
USER 1000:1000
VOLUME ["/data"]
# The public listener (push URLs, /authorize, /healthz). The operator listener (dashboard, /api/v1,
# /metrics) is on WXOPEN_ADMIN_PORT and binds 127.0.0.1 inside the container unless
# WXOPEN_ADMIN_HOST=0.0.0.0 (compose.yaml does, on its private network only).
EXPOSE 3000
# slim images have no curl: Node's own fetch. 200 while the store can write (a missing ticket is 200 too).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "dist/cli/bin.js"]
CMD ["serve"]
