# shellcheck shell=bash
# A Docker engine and client for scripts/images and scripts/test-containers. Sourced, not run;
# needs datastores.sh (fd_log, fd_pid_alive). Functions return non-zero and say why on stderr.
#
# On these machines no engine runs and no registry can be reached: Debian's docker.io engine
# starts as `dockerd --iptables=false --ip6tables=false --bridge=none` (host networking only),
# and the Debian base images are made with debootstrap from the machine's own apt sources.
# Elsewhere a running engine (DOCKER_HOST or the default socket) is used as it is.

FD_DOCKERD_PID=
FD_DOCKER_RUN_DIR=

# The client: one whose builds use BuildKit (stages a target does not need are skipped, cache
# mounts work). A client with the buildx plugin does; Debian's 20.10 client has BuildKit built
# in; a newer client without buildx only has the legacy builder, so Debian's is preferred then.
fd_docker_pick_client() {
  if command -v docker >/dev/null && docker buildx version >/dev/null 2>&1; then
    FD_DOCKER=(docker)
  elif [[ -x /usr/bin/docker ]]; then
    FD_DOCKER=(/usr/bin/docker)
  elif command -v docker >/dev/null; then
    FD_DOCKER=(docker)
  else
    fd_log "no docker client (scripts/deps installs Debian's docker.io)"
    return 1
  fi
  export DOCKER_BUILDKIT=1
}

fd_docker() { "${FD_DOCKER[@]}" "$@"; }

fd_docker_answers() { "${FD_DOCKER[@]}" info >/dev/null 2>&1; }

# Uses the engine that answers, or starts a private one: its images and build cache live in
# DATA_ROOT (kept between runs, so base images are made once), its sockets in a fresh directory
# under /run or /tmp (a Unix socket path must stay short). Exports DOCKER_HOST for the started
# engine and sets FD_DOCKERD_PID; fd_docker_stop_engine stops only an engine started here.
fd_docker_ensure_engine() {
  local data_root=$1 log i
  fd_docker_pick_client || return 1
  if fd_docker_answers; then
    return 0
  fi
  if ! command -v dockerd >/dev/null; then
    fd_log "no Docker engine answers and dockerd is not installed (scripts/deps installs docker.io)"
    return 1
  fi
  if [[ ${EUID:-$(id -u)} -ne 0 ]]; then
    fd_log "no Docker engine answers, and starting dockerd needs root"
    return 1
  fi
  mkdir -p "$data_root"
  FD_DOCKER_RUN_DIR=$(mktemp -d /tmp/fd-docker.XXXXXX) || return 1
  log="$data_root/dockerd.log"
  export DOCKER_HOST="unix://$FD_DOCKER_RUN_DIR/docker.sock"
  # setsid: the engine is not in the caller's process group, so a Ctrl-C reaches it only through
  # fd_docker_stop_engine, which stops its containers first.
  setsid dockerd --host "$DOCKER_HOST" --data-root "$data_root" \
    --exec-root "$FD_DOCKER_RUN_DIR/exec" --pidfile "$FD_DOCKER_RUN_DIR/dockerd.pid" \
    --iptables=false --ip6tables=false --bridge=none >"$log" 2>&1 </dev/null &
  FD_DOCKERD_PID=$!
  for ((i = 0; i < 60; i++)); do
    fd_docker_answers && return 0
    if ! fd_pid_alive "$FD_DOCKERD_PID"; then
      fd_log "dockerd exited at start-up; the end of $log:"
      tail -n 20 "$log" >&2
      FD_DOCKERD_PID=
      return 1
    fi
    sleep 0.5
  done
  fd_log "dockerd did not answer within 30 s; the end of $log:"
  tail -n 20 "$log" >&2
  fd_docker_stop_engine
  return 1
}

# Stops the engine fd_docker_ensure_engine started (SIGTERM stops its containers), if any.
fd_docker_stop_engine() {
  local i
  if [[ -n $FD_DOCKERD_PID ]]; then
    kill -TERM "$FD_DOCKERD_PID" 2>/dev/null
    for ((i = 0; i < 60; i++)); do
      fd_pid_alive "$FD_DOCKERD_PID" || break
      sleep 0.5
    done
    if fd_pid_alive "$FD_DOCKERD_PID"; then
      fd_log "dockerd ($FD_DOCKERD_PID) did not stop within 30 s: killing it"
      kill -KILL "$FD_DOCKERD_PID" 2>/dev/null
    fi
    wait "$FD_DOCKERD_PID" 2>/dev/null
    FD_DOCKERD_PID=
  fi
  if [[ -n $FD_DOCKER_RUN_DIR ]]; then
    # dockerd leaves its network namespace file bind-mounted under its exec root.
    local mount_point
    while read -r _ mount_point _; do
      if [[ $mount_point == "$FD_DOCKER_RUN_DIR"/* ]]; then
        umount -l "$mount_point" 2>/dev/null || true
      fi
    done </proc/mounts
    rm -rf "$FD_DOCKER_RUN_DIR"
    FD_DOCKER_RUN_DIR=
  fi
}

# The apt mirror this machine uses (its sources list or deb822 sources), for debootstrap.
fd_apt_mirror() {
  local mirror
  mirror=$(grep -hsE '^deb +(\[[^]]*\] +)?(https?|file)://' /etc/apt/sources.list \
    /etc/apt/sources.list.d/*.list | grep -v -- '-security' |
    sed -E 's/^deb +(\[[^]]*\] +)?//' | awk '{print $1; exit}' || true)
  if [[ -z $mirror ]]; then
    mirror=$(grep -hsE '^URIs:' /etc/apt/sources.list.d/*.sources | grep -v -- '-security' |
      awk '{print $2; exit}' || true)
  fi
  [[ -n $mirror ]] || {
    fd_log "no Debian mirror found in /etc/apt/sources.list{,.d}"
    return 1
  }
  printf '%s\n' "$mirror"
}

# Makes debian:bookworm and debian:bookworm-slim when the engine has neither image and cannot
# pull them (no registry reachable): a debootstrap minbase root, imported as both (the slim
# one without documentation, man pages and locales, as Debian's own slim image).
fd_docker_ensure_base_images() {
  local work mirror security tag missing=()
  for tag in debian:bookworm debian:bookworm-slim; do
    fd_docker image inspect "$tag" >/dev/null 2>&1 && continue
    # Where a registry answers, the usual images are pulled.
    timeout 60 "${FD_DOCKER[@]}" pull -q "$tag" >/dev/null 2>&1 && continue
    missing+=("$tag")
  done
  ((${#missing[@]})) || return 0
  command -v debootstrap >/dev/null || {
    fd_log "no registry reachable and no debootstrap (scripts/deps installs it)"
    return 1
  }
  mirror=$(fd_apt_mirror) || return 1
  work=$(mktemp -d /var/tmp/fd-rootfs.XXXXXX) || return 1
  fd_log "making ${missing[*]} with debootstrap from $mirror"
  if ! debootstrap --variant=minbase bookworm "$work/root" "$mirror" >"$work/debootstrap.log" 2>&1; then
    fd_log "debootstrap failed; the end of its log:"
    tail -n 20 "$work/debootstrap.log" >&2
    rm -rf "$work"
    return 1
  fi
  # The image's apt uses the same mirror, with the updates and security suites when the
  # machine has them (no third-party sources: their keys are not in the image).
  security=$(grep -hsE '^(deb |URIs:)' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
    /etc/apt/sources.list.d/*.sources | grep -oE '(https?|file)://[^ ]*-security[^ ]*' |
    head -n 1 || true)
  {
    echo "deb $mirror bookworm main"
    echo "deb $mirror bookworm-updates main"
    [[ -z $security ]] || echo "deb $security bookworm-security main"
  } >"$work/root/etc/apt/sources.list"
  rm -rf "$work/root/var/cache/apt/archives/"*.deb "$work/root/var/lib/apt/lists/"*
  for tag in "${missing[@]}"; do
    if [[ $tag == *-slim ]]; then
      tar -C "$work/root" --exclude=./usr/share/doc --exclude=./usr/share/man \
        --exclude=./usr/share/info --exclude=./usr/share/locale -c . |
        fd_docker import - "$tag" >/dev/null
    else
      tar -C "$work/root" -c . | fd_docker import - "$tag" >/dev/null
    fi || {
      fd_log "docker import of $tag failed"
      rm -rf "$work"
      return 1
    }
  done
  rm -rf "$work"
}
