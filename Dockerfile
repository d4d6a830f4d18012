# syntax=docker/dockerfile:1
# LaundryConnect Notify: one image for every role. `docker run IMAGE` runs `serve` (API + worker on
# the embedded database in /var/lib/laundryconnect-notify); with DATABASE_URL (PostgreSQL) run `api`
# and `worker` containers from it (deploy/compose.yaml). Node 24 runs the TypeScript sources itself,
# so there is no build step. test/deploy/dockerfile.test.ts runs these instructions as a script.
FROM node:24-bookworm-slim

ENV NODE_ENV=production
WORKDIR /opt/laundryconnect-notify

# Dependencies first: this layer is rebuilt only when the lock file changes. --ignore-scripts: the
# one install script of a production dependency is the `node` package's, which would download a
# second Node 24 next to the image's own. The npm cache stays out of the image.
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# Read-only for the service: owned by root, run by `node`.
COPY bin ./bin
COPY src ./src
COPY templates ./templates

# The embedded database's directory (serve without DATABASE_URL): the one place the service writes.
RUN mkdir -p /var/lib/laundryconnect-notify && chown node:node /var/lib/laundryconnect-notify
VOLUME /var/lib/laundryconnect-notify

# A container must listen on every interface to be reachable; logs go to stdout as JSON lines.
ENV HOST=0.0.0.0 PORT=3000 DATA_DIR=/var/lib/laundryconnect-notify LOG_FORMAT=json
EXPOSE 3000

# The base image's unprivileged user (uid 1000).
USER node

# Liveness of the API (`serve`, `api`). A `worker` has no HTTP server: its compose service turns
# this check off (deploy/compose.yaml) and relies on the process staying up.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# SIGTERM (docker stop) finishes in-flight deliveries, then exits 0: give it WORKER_SHUTDOWN_GRACE_MS
# (30 s by default) plus a margin, e.g. `docker stop -t 45` or compose's stop_grace_period.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "bin/laundryconnect-notify.js"]
CMD ["serve"]
