# Flightdeck's container image: one image holds the five processes and fdctl; each container
# runs one of them (`command: ["flightdeck-releases"]`). The processes share every runtime
# library (gRPC, protobuf, libpqxx, Pistache, ...), so five per-process images would be five
# copies of the same ~90 % of layers to build, scan, tag and pull; one image also makes a mixed
# rollout of mismatched process versions impossible to express. The cost: pg_dump/pg_restore
# (backups) and the dashboard bundle (gateway) ride along in every container (~15 MB).
#
# Needs BuildKit (Docker 23+ by default; DOCKER_BUILDKIT=1 with Debian's 20.10 client):
# stages the chosen target does not use are skipped. scripts/images builds it.
#
#   docker build --network host -t flightdeck:dev .          # full build (the `runtime` stage)
#   docker build --target prebuilt -f Dockerfile STAGE_DIR   # binaries built on a Debian 12 host
#
# Stages:
#   runtime-base  Debian 12 slim, only the runtime libraries, PostgreSQL 15's client, uid 65532
#   build         Debian 12 with the build dependencies; compiles the binaries and the dashboard
#   prebuilt      runtime-base + the files a Debian 12 host already built (scripts/test-containers
#                 stages them: the same compiler and libraries as `build`, without ~20 minutes of
#                 compiling inside the build on 2 cores)
#   runtime       runtime-base + what `build` produced (the default target)

ARG DEBIAN_IMAGE=debian:bookworm
ARG DEBIAN_SLIM_IMAGE=debian:bookworm-slim

FROM ${DEBIAN_SLIM_IMAGE} AS runtime-base
# Runtime libraries only (the shared objects the binaries link, found with ldd), PostgreSQL 15's
# pg_dump/pg_restore for backups, CA certificates for HTTPS probes and webhooks, tzdata for
# FLIGHTDECK_INCIDENTS_TIMEZONE, and curl for container health checks.
RUN set -eux; \
    export DEBIAN_FRONTEND=noninteractive; \
    apt-get update; \
    apt-get install -y --no-install-recommends \
      libgrpc++1.51 libgrpc29 libprotobuf32 libpistache0 libpqxx-6.4 libhiredis0.14 \
      libspdlog1.10 libfmt9 libssl3 libzstd1 libcurl4 libre2-9 libdate-tz3 \
      postgresql-client-15 ca-certificates tzdata curl; \
    apt-get clean; \
    rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log
# A fixed non-root user (distroless's "nonroot" uid/gid), and the only places it writes: /tmp
# (a tmpfs or emptyDir at run time) and the backup storage volume.
RUN set -eux; \
    groupadd --system --gid 65532 flightdeck; \
    useradd --system --uid 65532 --gid 65532 --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin flightdeck; \
    install -d -o 65532 -g 65532 -m 0750 /var/lib/flightdeck /var/lib/flightdeck/backups
ENV FLIGHTDECK_BIND_ADDRESS=0.0.0.0 \
    FLIGHTDECK_UI_DIR=/usr/local/share/flightdeck/ui \
    FLIGHTDECK_BACKUP_ROOT=/var/lib/flightdeck/backups \
    FLIGHTDECK_PG_DUMP=/usr/lib/postgresql/15/bin/pg_dump \
    FLIGHTDECK_PG_RESTORE=/usr/lib/postgresql/15/bin/pg_restore \
    TMPDIR=/tmp
VOLUME ["/var/lib/flightdeck/backups"]
USER 65532:65532
WORKDIR /tmp
# The gateway's HTTP port, then the services' gRPC and admin ports (see README "Processes").
EXPOSE 8080 50051 50052 50053 50054 9101 9102 9103 9104
STOPSIGNAL SIGTERM
CMD ["flightdeck-gateway"]

FROM ${DEBIAN_IMAGE} AS build
RUN set -eux; \
    export DEBIAN_FRONTEND=noninteractive; \
    apt-get update; \
    apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config ccache git \
      protobuf-compiler protobuf-compiler-grpc libprotobuf-dev libgrpc++-dev \
      libpistache-dev libpqxx-dev libhiredis-dev libspdlog-dev libgtest-dev libgmock-dev \
      libssl-dev libzstd-dev libcurl4-openssl-dev nlohmann-json3-dev libre2-dev libhowardhinnant-date-dev \
      nodejs npm ca-certificates; \
    rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# ccache in a BuildKit cache mount: a rebuild after a small change recompiles only what changed.
# Only the shipped targets are built (not the tests, benchmarks or fuzzers).
# The optional ca-bundle secret is the builder's CA bundle (scripts/images passes the host's), for
# npm behind a TLS-inspecting proxy; it is mounted for this step only and is in no layer.
RUN --mount=type=cache,target=/root/.ccache \
    --mount=type=cache,target=/root/.npm \
    --mount=type=secret,id=ca-bundle \
    set -eux; \
    if [ -s /run/secrets/ca-bundle ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/ca-bundle; fi; \
    cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER_LAUNCHER=ccache; \
    cmake --build /build -j"$(nproc)" --target \
      flightdeck-gateway flightdeck-releases flightdeck-backups flightdeck-health \
      flightdeck-incidents fdctl ui; \
    install -d /stage/usr/local/bin /stage/usr/local/share/flightdeck; \
    install -m 0755 -s /build/services/gateway/flightdeck-gateway \
      /build/services/releases/flightdeck-releases /build/services/backups/flightdeck-backups \
      /build/services/health/flightdeck-health /build/services/incidents/flightdeck-incidents \
      /build/cli/fdctl /stage/usr/local/bin/; \
    cp -r /build/ui/dist /stage/usr/local/share/flightdeck/ui

FROM runtime-base AS prebuilt
COPY stage/ /
ARG VERSION=dev
ARG REVISION=unknown
ARG SOURCE=unknown
LABEL org.opencontainers.image.title="flightdeck" \
      org.opencontainers.image.description="Flightdeck control plane: gateway, releases, backups, health, incidents and fdctl" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.base.name="debian:bookworm-slim"

FROM runtime-base AS runtime
COPY --from=build /stage/ /
ARG VERSION=dev
ARG REVISION=unknown
ARG SOURCE=unknown
LABEL org.opencontainers.image.title="flightdeck" \
      org.opencontainers.image.description="Flightdeck control plane: gateway, releases, backups, health, incidents and fdctl" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.base.name="debian:bookworm-slim"
