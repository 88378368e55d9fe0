# Stand-ins for the official postgres:15, redis:7, prom/prometheus and prom/alertmanager images,
# built from Debian 12's own packages (PostgreSQL 15, Redis 7.0, Prometheus 2.42, Alertmanager
# 0.25) for machines that reach no image registry. Used only by docker-compose.host.yml; the
# entrypoint (docker/local-deps-entrypoint) takes the official images' commands and variables.
ARG DEBIAN_SLIM_IMAGE=debian:bookworm-slim
FROM ${DEBIAN_SLIM_IMAGE}
RUN set -eux; \
    export DEBIAN_FRONTEND=noninteractive; \
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod 0755 /usr/sbin/policy-rc.d; \
    # The entrypoint makes the cluster in the data volume; no default cluster in the image.
    mkdir -p /etc/postgresql-common; \
    echo 'create_main_cluster = false' >/etc/postgresql-common/createcluster.conf; \
    apt-get update; \
    apt-get install -y --no-install-recommends \
      postgresql-15 redis-server redis-tools prometheus prometheus-alertmanager ca-certificates; \
    apt-get clean; \
    rm -rf /var/lib/apt/lists/* /usr/sbin/policy-rc.d; \
    install -d -o postgres -g postgres -m 0700 /var/lib/postgresql/data; \
    install -d -o redis -g redis -m 0750 /data; \
    install -d -o nobody -g nogroup -m 0750 /prometheus /alertmanager
# The data directories above are the compose file's volumes; a fresh named volume takes their
# owner, so each store writes its own as the non-root user it runs as.
COPY docker/local-deps-entrypoint /usr/local/bin/local-deps-entrypoint
ENTRYPOINT ["/usr/local/bin/local-deps-entrypoint"]
