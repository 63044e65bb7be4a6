# syntax=docker/dockerfile:1
#
# logrelay: one image for every role — `collector`, `agent`, `admin`, `status`, `demo`.
#
#   docker build -t logrelay:local .
#   docker run --rm logrelay:local --help
#   docker run --rm -v "$PWD/collector.yaml:/etc/logrelay/collector.yaml:ro" \
#     logrelay:local collector -c /etc/logrelay/collector.yaml
#
# docker-compose.yml runs the whole stack from this image. Configuration files are mounted
# (nothing is baked in); state (agent checkpoints, the last remote config) belongs under
# /var/lib/logrelay, the working directory, which is writable by the runtime user — mount a
# volume there so it survives the container.

ARG NODE_IMAGE=node:20-bookworm-slim

# --- build: compile src/ (including src/common/generated/) to dist/ --------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
# Dependencies first, so this layer is reused while package*.json do not change. The package's
# `prepare` script (tsc) needs src/, which is not copied yet: scripts are skipped here and the
# same compilation runs as `npm run build` below.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# --- runtime: production dependencies, dist/ and bin/ only -----------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
# package.json is needed at run time too: it makes dist/ ES modules ("type": "module") and
# dist/version.js reads the version from it.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /src/dist ./dist
COPY bin ./bin
# The dashboard of `admin serve` (plain HTML, CSS and JS), read from beside dist/ at start.
COPY assets ./assets
# A dedicated unprivileged user. /var/lib/logrelay is created owned by it: a named volume
# mounted there starts with this ownership, so checkpoints can be written.
RUN groupadd --system --gid 10001 logrelay \
  && useradd --system --uid 10001 --gid logrelay --home-dir /var/lib/logrelay \
    --no-create-home --shell /usr/sbin/nologin logrelay \
  && mkdir -p /var/lib/logrelay \
  && chown logrelay:logrelay /var/lib/logrelay
USER logrelay:logrelay
# Relative paths in a configuration (the agent's default checkpoint and remote-state files)
# resolve here, in the writable state folder, not in the read-only /app.
WORKDIR /var/lib/logrelay

LABEL org.opencontainers.image.title="logrelay" \
  org.opencontainers.image.description="Log aggregation relay: agents tail files, collectors forward to Kafka, HDFS and more." \
  org.opencontainers.image.licenses="Apache-2.0"

# Ports the roles use by default or in the examples: 7070 collector gRPC, 9464/9465 the
# collector's/agent's /metrics /healthz /readyz (`http.port`), 8080 `admin serve`.
EXPOSE 7070 9464 9465 8080

# logrelay handles SIGTERM itself (graceful drain); a second signal forces the exit.
ENTRYPOINT ["node", "/app/bin/logrelay.js"]
CMD ["--help"]
