# shellcheck shell=bash
# Private PostgreSQL 15 and Redis on loopback, for scripts/up and scripts/test.
# Sourced, not run. Functions return non-zero (and say why on stderr) instead of exiting.
#
# A PostgreSQL "store dir" holds:
#   data/               the cluster (PGDATA); its Unix socket lives here too
#   password            0600, the password of the `flightdeck` superuser
#   postgres.log        server log
# A Redis store dir holds redis.conf (0600, carries the password), password, redis.pid,
# redis.log and the append-only files.
#
# PostgreSQL refuses to run as root, so as root the store dir is owned by the `postgres`
# system user and initdb/pg_ctl run through runuser.

FD_PG_BIN=${FD_PG_BIN:-/usr/lib/postgresql/15/bin}
FD_PG_OS_USER=${FD_PG_OS_USER:-postgres}
# A Unix socket path longer than this does not fit in sockaddr_un.
FD_SOCKET_PATH_MAX=100

fd_log() { printf '%s\n' "$*" >&2; }

fd_random_secret() {
  od -An -tx1 -N24 /dev/urandom | tr -d ' \n'
}

# kill -0 also succeeds on a zombie, and a daemon that exited waits as one until PID 1 reaps
# it (slowly in some containers): count it as gone.
fd_pid_alive() {
  local stat
  kill -0 "$1" 2>/dev/null || return 1
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat:0:1} != Z ]]
}

fd_is_root() { [[ ${EUID:-$(id -u)} -eq 0 ]]; }

# Runs a command as the user that owns the cluster, from / so that a cwd the postgres user
# cannot read (e.g. under /root) causes no warnings.
fd_as_pg_owner() {
  if fd_is_root; then
    (cd / && runuser -u "$FD_PG_OS_USER" -- "$@")
  else
    "$@"
  fi
}

fd_abs_path() {
  local p=$1
  [[ $p == /* ]] || p="$PWD/$p"
  printf '%s\n' "$p"
}

# True when the postgres user can reach DIR, i.e. search every existing ancestor. Components
# that do not exist yet are created later with mode 0755, so they do not block.
fd_pg_can_traverse() {
  local dir
  dir=$(fd_abs_path "$1")
  fd_is_root || return 0
  while [[ ! -e $dir ]]; do
    dir=$(dirname "$dir")
  done
  (cd / && runuser -u "$FD_PG_OS_USER" -- test -d "$dir" -a -x "$dir")
}

# Echoes where the PostgreSQL store for DESIRED actually goes: DESIRED itself, or, when run
# as root and the postgres user cannot reach DESIRED (a project under /root), a stable
# place under /var/tmp derived from DESIRED's path so that later runs find the same cluster.
fd_pg_store_dir() {
  local desired hash
  desired=$(fd_abs_path "$1")
  if fd_pg_can_traverse "$desired"; then
    printf '%s\n' "$desired"
    return 0
  fi
  hash=$(printf '%s' "$desired" | sha256sum | cut -c1-12)
  fd_log "note: user $FD_PG_OS_USER cannot reach $desired; the PostgreSQL cluster lives in /var/tmp/flightdeck-$hash/$(basename "$desired") instead"
  printf '%s\n' "/var/tmp/flightdeck-$hash/$(basename "$desired")"
}

fd_pg_password() { cat "$1/password"; }

fd_pg_url() {
  local dir=$1 port=$2
  printf 'postgres://flightdeck:%s@127.0.0.1:%s/flightdeck\n' "$(fd_pg_password "$dir")" "$port"
}

fd_pg_is_running() {
  local dir=$1
  [[ -f $dir/data/PG_VERSION ]] || return 1
  fd_as_pg_owner "$FD_PG_BIN/pg_ctl" -D "$dir/data" status >/dev/null 2>&1
}

# Creates the cluster once; a second call on the same dir keeps the data and the password.
fd_pg_init() {
  local dir pwfile
  dir=$(fd_abs_path "$1")
  if [[ -f $dir/data/PG_VERSION ]]; then
    return 0
  fi
  if fd_is_root && ! id -u "$FD_PG_OS_USER" >/dev/null 2>&1; then
    fd_log "error: PostgreSQL cannot run as root and there is no '$FD_PG_OS_USER' user (install postgresql-15: scripts/deps)"
    return 1
  fi
  [[ -x $FD_PG_BIN/initdb ]] || { fd_log "error: $FD_PG_BIN/initdb not found (install postgresql-15: scripts/deps)"; return 1; }
  # Ancestors we create must stay searchable by the postgres user.
  (umask 022 && mkdir -p "$dir")
  chmod 0700 "$dir"
  pwfile="$dir/password"
  if [[ ! -s $pwfile ]]; then
    (umask 077 && fd_random_secret >"$pwfile")
  fi
  chmod 0600 "$pwfile"
  if fd_is_root; then
    chown -R "$FD_PG_OS_USER:" "$dir"
  fi
  if ! fd_as_pg_owner "$FD_PG_BIN/initdb" -D "$dir/data" --username=flightdeck --pwfile="$pwfile" \
      --auth=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1; then
    fd_log "error: initdb failed; $dir/initdb.log says:"
    tail -n 20 "$dir/initdb.log" >&2
    return 1
  fi
  echo "include_if_exists = 'flightdeck.conf'" | fd_as_pg_owner tee -a "$dir/data/postgresql.conf" >/dev/null
}

# fd_pg_start DIR PORT [fast]
# "fast" turns durability off (fsync, synchronous_commit): for throw-away test clusters only.
fd_pg_start() {
  local dir port mode sockdir deadline
  dir=$(fd_abs_path "$1")
  port=$2
  mode=${3:-}
  fd_pg_init "$dir" || return 1
  if fd_pg_is_running "$dir"; then
    fd_log "error: a PostgreSQL server is already running on $dir/data"
    return 1
  fi
  sockdir="$dir/data"
  if (( ${#sockdir} + 16 > FD_SOCKET_PATH_MAX )); then
    sockdir=""  # too long for a Unix socket: TCP only, which is all we use
  fi
  # Rewritten on every start so that a changed port takes effect on existing data.
  {
    echo "listen_addresses = '127.0.0.1'"
    echo "port = $port"
    echo "unix_socket_directories = '$sockdir'"
    echo "max_connections = 200"
    echo "log_line_prefix = '%m [%p] %q%u@%d '"
    if [[ $mode == fast ]]; then
      echo "fsync = off"
      echo "synchronous_commit = off"
      echo "full_page_writes = off"
    fi
  } | fd_as_pg_owner tee "$dir/data/flightdeck.conf" >/dev/null
  if ! fd_as_pg_owner "$FD_PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 start >/dev/null; then
    fd_log "error: PostgreSQL did not start; last lines of $dir/postgres.log:"
    tail -n 20 "$dir/postgres.log" >&2
    return 1
  fi
  deadline=$((SECONDS + 30))
  until "$FD_PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -t 1; do
    if (( SECONDS >= deadline )); then
      fd_log "error: PostgreSQL on 127.0.0.1:$port not ready after 30 s"
      return 1
    fi
    sleep 0.2
  done
  fd_pg_create_database "$dir" "$port"
}

fd_pg_create_database() {
  local dir=$1 port=$2 exists
  exists=$(PGPASSWORD=$(fd_pg_password "$dir") PGCONNECT_TIMEOUT=5 "$FD_PG_BIN/psql" -X -q -t -A \
    -h 127.0.0.1 -p "$port" -U flightdeck -d postgres \
    -c "SELECT 1 FROM pg_database WHERE datname = 'flightdeck'") || {
    fd_log "error: cannot connect to PostgreSQL on 127.0.0.1:$port as flightdeck"
    return 1
  }
  [[ $exists == 1 ]] && return 0
  PGPASSWORD=$(fd_pg_password "$dir") "$FD_PG_BIN/psql" -X -q -h 127.0.0.1 -p "$port" \
    -U flightdeck -d postgres -c "CREATE DATABASE flightdeck" >/dev/null
}

fd_pg_stop() {
  local dir
  dir=$(fd_abs_path "$1")
  fd_pg_is_running "$dir" || return 0
  if ! fd_as_pg_owner "$FD_PG_BIN/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1; then
    fd_log "warning: PostgreSQL on $dir/data did not stop within 30 s; stopping it immediately"
    fd_as_pg_owner "$FD_PG_BIN/pg_ctl" -D "$dir/data" -m immediate -w -t 10 stop >/dev/null 2>&1 || return 1
  fi
}

# fd_pg_standby_slot DIR: the replication slot of the standby in DIR, named after DIR (lower
# case letters, digits and _, starting with a letter).
fd_pg_standby_slot() {
  local name
  name=$(basename "$1" | tr 'A-Z' 'a-z' | tr -c 'a-z0-9_\n' '_')
  [[ $name == [a-z]* ]] || name="standby_$name"
  printf '%s\n' "$name"
}

# fd_pg_drop_standby_slot DIR PRIMARY_URL: frees the standby's slot on the primary (after
# fd_pg_stop; a missing slot is not an error).
fd_pg_drop_standby_slot() {
  local slot
  slot=$(fd_pg_standby_slot "$1")
  PGCONNECT_TIMEOUT=5 "$FD_PG_BIN/psql" -X -q -t -A -d "$2" -c \
    "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '$slot'" >/dev/null
}

# fd_pg_start_standby DIR PORT PRIMARY_URL
# A streaming hot standby of the cluster at PRIMARY_URL (a superuser URL; the initdb defaults
# allow replication connections from 127.0.0.1) in DIR/data, listening on 127.0.0.1:PORT:
# pg_basebackup -R, so it follows the primary from the moment it starts. Bounded: the base
# backup gets 120 s, the start 60 s. It streams through a replication slot named after DIR
# (fd_pg_standby_slot), so that the primary keeps the WAL it has not received yet: without one,
# a busy primary recycles segments a slow standby still needs and replication stops for good.
# fd_pg_stop stops it; fd_pg_drop_standby_slot frees the slot; the caller removes DIR.
fd_pg_start_standby() {
  local dir port url password deadline slot
  dir=$(fd_abs_path "$1")
  slot=$(fd_pg_standby_slot "$dir")
  port=$2
  url=$3
  fd_pg_is_running "$dir" && return 0
  (umask 022 && mkdir -p "$dir")
  chmod 0700 "$dir"
  if fd_is_root; then
    chown "$FD_PG_OS_USER:" "$dir"
  fi
  # The password goes through the environment, not argv; -R still writes it into
  # primary_conninfo (0600, inside the standby's data directory).
  password=$(printf '%s' "$url" | sed -n 's|^postgres[a-z]*://[^:/@]*:\([^@]*\)@.*|\1|p')
  url=$(printf '%s' "$url" | sed 's|^\(postgres[a-z]*://[^:/@]*\):[^@]*@|\1@|')
  # A standby that was stopped keeps following the primary when started again.
  if [[ ! -f $dir/data/PG_VERSION ]] && ! PGPASSWORD=$password fd_as_pg_owner timeout 120 "$FD_PG_BIN/pg_basebackup" -d "$url" \
      -D "$dir/data" -R -X stream -C -S "$slot" -c fast --no-sync >"$dir/basebackup.log" 2>&1; then
    fd_log "error: pg_basebackup failed; $dir/basebackup.log says:"
    tail -n 20 "$dir/basebackup.log" >&2
    return 1
  fi
  {
    echo "listen_addresses = '127.0.0.1'"
    echo "port = $port"
    echo "unix_socket_directories = ''"
    echo "max_connections = 200"
    echo "hot_standby = on"
    echo "log_line_prefix = '%m [%p] %q%u@%d '"
  } | fd_as_pg_owner tee "$dir/data/flightdeck.conf" >/dev/null
  if ! fd_as_pg_owner "$FD_PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 start >/dev/null; then
    fd_log "error: the standby did not start; last lines of $dir/postgres.log:"
    tail -n 20 "$dir/postgres.log" >&2
    return 1
  fi
  deadline=$((SECONDS + 30))
  until "$FD_PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -t 1; do
    if (( SECONDS >= deadline )); then
      fd_log "error: the standby on 127.0.0.1:$port is not ready after 30 s"
      return 1
    fi
    sleep 0.2
  done
}

fd_redis_password() { cat "$1/password"; }

fd_redis_url() {
  local dir=$1 port=$2
  printf 'redis://:%s@127.0.0.1:%s/0\n' "$(fd_redis_password "$dir")" "$port"
}

# Echoes the pid from DIR/redis.pid when that process is a live redis-server.
fd_redis_pid() {
  local dir=$1 pid
  [[ -f $dir/redis.pid ]] || return 1
  pid=$(<"$dir/redis.pid")
  [[ $pid =~ ^[0-9]+$ ]] && fd_pid_alive "$pid" || return 1
  # A stale pid file may name a recycled pid: only a redis-server counts.
  [[ -r /proc/$pid/comm && $(<"/proc/$pid/comm") == redis-server* ]] || return 1
  printf '%s\n' "$pid"
}

fd_redis_is_running() { fd_redis_pid "$1" >/dev/null; }

# fd_redis_start DIR PORT [persistent|ephemeral]
# persistent (scripts/up) keeps an append-only file; ephemeral (tests) keeps nothing on disk.
fd_redis_start() {
  local dir port mode deadline
  dir=$(fd_abs_path "$1")
  port=$2
  mode=${3:-persistent}
  command -v redis-server >/dev/null || { fd_log "error: redis-server not found (install redis-server: scripts/deps)"; return 1; }
  if fd_redis_is_running "$dir"; then
    fd_log "error: a Redis server is already running from $dir"
    return 1
  fi
  (umask 022 && mkdir -p "$dir")
  chmod 0700 "$dir"
  if [[ ! -s $dir/password ]]; then
    (umask 077 && fd_random_secret >"$dir/password")
  fi
  rm -f "$dir/redis.pid"
  # The password goes in a 0600 config file rather than argv, where ps would show it.
  (
    umask 077
    {
      echo "bind 127.0.0.1"
      echo "port $port"
      echo "dir $dir"
      echo "daemonize yes"
      echo "pidfile $dir/redis.pid"
      echo "logfile $dir/redis.log"
      echo "requirepass $(fd_redis_password "$dir")"
      echo "save \"\""
      if [[ $mode == persistent ]]; then
        echo "appendonly yes"
      else
        echo "appendonly no"
      fi
    } >"$dir/redis.conf"
  )
  if ! redis-server "$dir/redis.conf" >/dev/null; then
    fd_log "error: redis-server failed to start"
    return 1
  fi
  deadline=$((SECONDS + 15))
  until [[ $(REDISCLI_AUTH=$(fd_redis_password "$dir") redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null) == PONG ]]; do
    # The daemonized server writes its pid file before binding; a recorded pid that is gone
    # means it could not bind (port taken), so there is no point waiting.
    if [[ -s $dir/redis.pid ]] && ! fd_redis_is_running "$dir"; then
      fd_log "error: redis-server exited; last lines of $dir/redis.log:"
      tail -n 5 "$dir/redis.log" >&2 2>/dev/null || true
      return 1
    fi
    if (( SECONDS >= deadline )); then
      fd_log "error: Redis on 127.0.0.1:$port not answering after 15 s; last lines of $dir/redis.log:"
      tail -n 20 "$dir/redis.log" >&2 2>/dev/null || true
      return 1
    fi
    sleep 0.1
  done
}

# SIGTERM makes Redis flush its append-only file and exit; SIGKILL only after a bound.
fd_redis_stop() {
  local dir pid deadline
  dir=$(fd_abs_path "$1")
  pid=$(fd_redis_pid "$dir") || { rm -f "$dir/redis.pid"; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + 15))
  while fd_pid_alive "$pid"; do
    if (( SECONDS >= deadline )); then
      fd_log "warning: Redis (pid $pid) still running after 15 s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.1
  done
  rm -f "$dir/redis.pid"
}

# True when nothing listens on 127.0.0.1:PORT (or on the wildcard address).
fd_port_is_free() {
  local port=$1
  if command -v ss >/dev/null; then
    [[ -z $(ss -Hltn "sport = :$port" 2>/dev/null) ]]
  else
    ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
  fi
}

# The TCP connections whose local port is PORT, one a line: "STATE local -> peer". The kernel
# lends outgoing connections local ports from its ephemeral range (32768-60999 by default), where
# the default gRPC ports lie; until such a connection has closed and left TIME-WAIT (60 s after
# the close), nothing can listen on its port (the client socket did not set SO_REUSEADDR).
fd_port_connections() {
  command -v ss >/dev/null || return 0
  ss -Htan "sport = :$1" 2>/dev/null | awk '$1 != "LISTEN" { print $1, $4, "->", $5 }'
}

# Echoes a free TCP port from a random start in 20000..59999, skipping the ports in $@.
fd_pick_free_port() {
  local port tries skip taken
  port=$((20000 + RANDOM % 40000))
  for ((tries = 0; tries < 500; tries++)); do
    taken=0
    for skip in "$@"; do
      [[ $skip == "$port" ]] && taken=1
    done
    if (( !taken )) && fd_port_is_free "$port"; then
      printf '%s\n' "$port"
      return 0
    fi
    port=$((port >= 59999 ? 20000 : port + 1))
  done
  fd_log "error: no free TCP port found"
  return 1
}
