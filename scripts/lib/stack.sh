# shellcheck shell=bash
# Layout of a local Flightdeck stack and control of its processes, shared by scripts/up,
# scripts/down and bench/gateway. Sourced after datastores.sh, with FD_ROOT set to the repo.
#
#   .flightdeck/admin-token          admin bearer token (0600), unless FLIGHTDECK_ADMIN_TOKEN is set
#   .flightdeck/postgres/, redis/    private stores (see datastores.sh)
#   .flightdeck/logs/<name>.log      process output (the previous run's is <name>.log.1)
#   .flightdeck/run/<name>.pid       pids of the running processes; run/up.pid is scripts/up itself
#   .flightdeck/tls/                 the local CA and each process's certificate (scripts/certs),
#                                    unless FLIGHTDECK_TLS_DIR names another directory

# shellcheck disable=SC2034 # read by the scripts that source this file
FD_HOME="$FD_ROOT/.flightdeck"
FD_LOG_DIR="$FD_HOME/logs"
FD_RUN_DIR="$FD_HOME/run"
FD_REDIS_DIR="$FD_HOME/redis"
FD_TLS_DIR=${FLIGHTDECK_TLS_DIR:-$FD_HOME/tls}
FD_BUILD_DIR=${BUILD_DIR:-build}
[[ $FD_BUILD_DIR == /* ]] || FD_BUILD_DIR="$FD_ROOT/$FD_BUILD_DIR"

FD_SERVICES=(releases backups health incidents)
# Stopped in this order: the gateway first so that no new request reaches a stopping service.
FD_PROCESSES=(gateway "${FD_SERVICES[@]}")

FD_STOP_TIMEOUT=${FLIGHTDECK_STOP_TIMEOUT:-15}

# FLIGHTDECK_PORT_OFFSET (0) moves every gRPC and admin port, so that two checkouts can run a
# stack each on one machine (give them different FLIGHTDECK_HTTP_PORT and PostgreSQL/Redis ports
# too).
fd_grpc_port() {
  local base
  case $1 in
    releases) base=50051 ;;
    backups) base=50052 ;;
    health) base=50053 ;;
    incidents) base=50054 ;;
    *) return 1 ;;
  esac
  echo $((base + ${FLIGHTDECK_PORT_OFFSET:-0}))
}

fd_admin_port() {
  local base
  case $1 in
    releases) base=9101 ;;
    backups) base=9102 ;;
    health) base=9103 ;;
    incidents) base=9104 ;;
    *) return 1 ;;
  esac
  echo $((base + ${FLIGHTDECK_PORT_OFFSET:-0}))
}

fd_http_port() { echo "${FLIGHTDECK_HTTP_PORT:-8080}"; }

fd_binary() {
  if [[ $1 == gateway ]]; then
    echo "$FD_BUILD_DIR/services/gateway/flightdeck-gateway"
  else
    echo "$FD_BUILD_DIR/services/$1/flightdeck-$1"
  fi
}

# The URL that answers 200 when the process and its dependencies are ready.
fd_ready_url() {
  if [[ $1 == gateway ]]; then
    echo "http://127.0.0.1:$(fd_http_port)/readyz"
  else
    echo "http://127.0.0.1:$(fd_admin_port "$1")/readyz"
  fi
}

# Where the private PostgreSQL of this checkout lives (see fd_pg_store_dir).
fd_pg_dir() { fd_pg_store_dir "$FD_HOME/postgres"; }

# True when one of PID's arguments is a path to flightdeck-NAME (argv[0] once exec'd; an
# argument of setsid/env just before).
fd_pid_runs() {
  local pid=$1 name=$2 arg
  [[ -r /proc/$pid/cmdline ]] || return 1
  while IFS= read -r -d '' arg; do
    [[ ${arg##*/} == "flightdeck-$name" ]] && return 0
  done <"/proc/$pid/cmdline"
  return 1
}

# Echoes the pid recorded for NAME when that process is alive and still is flightdeck-NAME
# (a stale pid file may name a recycled pid, which must never be signalled).
fd_proc_pid() {
  local name=$1 file pid
  file="$FD_RUN_DIR/$name.pid"
  [[ -f $file ]] || return 1
  pid=$(<"$file")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  fd_pid_alive "$pid" || return 1
  fd_pid_runs "$pid" "$name" || return 1
  echo "$pid"
}

# Echoes the pid of a scripts/up that is still in the foreground, if any.
fd_up_pid() {
  local file="$FD_RUN_DIR/up.pid" pid
  [[ -f $file ]] || return 1
  pid=$(<"$file")
  [[ $pid =~ ^[0-9]+$ ]] && fd_pid_alive "$pid" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'scripts/up' || return 1
  echo "$pid"
}

# True when the processes are to speak plaintext gRPC (FLIGHTDECK_GRPC_INSECURE=true).
fd_grpc_insecure() { [[ ${FLIGHTDECK_GRPC_INSECURE:-false} =~ ^(true|1|yes)$ ]]; }

# fd_tls_ready: makes sure $FD_TLS_DIR holds the CA and every process's certificate: made with
# scripts/certs in the default directory, only checked in one the user named.
fd_tls_ready() {
  local name
  fd_grpc_insecure && return 0
  if [[ -z ${FLIGHTDECK_TLS_DIR:-} ]]; then
    "$FD_ROOT/scripts/certs" "$FD_TLS_DIR" >/dev/null || return 1
  fi
  for name in ca "${FD_PROCESSES[@]}"; do
    if [[ ! -r $FD_TLS_DIR/$name.pem ]] || { [[ $name != ca ]] && [[ ! -r $FD_TLS_DIR/$name.key ]]; }; then
      fd_log "error: $FD_TLS_DIR lacks $name.pem or $name.key (make them with scripts/certs $FD_TLS_DIR)"
      return 1
    fi
  done
}

# fd_start_proc NAME VAR=VALUE...: starts NAME in its own session (a Ctrl-C at the terminal
# reaches scripts/up, which then stops everything in order) with output to its log. It
# presents its own certificate to the others (fd_tls_ready first).
fd_start_proc() {
  local name=$1 log bin
  shift
  if ! fd_grpc_insecure; then
    set -- "$@" FLIGHTDECK_TLS_CA_FILE="$FD_TLS_DIR/ca.pem" \
      FLIGHTDECK_TLS_CERT_FILE="$FD_TLS_DIR/$name.pem" FLIGHTDECK_TLS_KEY_FILE="$FD_TLS_DIR/$name.key"
  fi
  bin=$(fd_binary "$name")
  log="$FD_LOG_DIR/$name.log"
  if [[ -f $log ]]; then
    mv -f "$log" "$log.1"
  fi
  setsid env "$@" "$bin" </dev/null >"$log" 2>&1 &
  local pid=$! deadline=$((SECONDS + 3))
  echo "$pid" >"$FD_RUN_DIR/$name.pid"
  # Until the forked shell has exec'd, the pid does not look like ours yet; wait for that so
  # that fd_proc_pid is reliable from here on.
  while fd_pid_alive "$pid" && ! fd_pid_runs "$pid" "$name" && ((SECONDS < deadline)); do
    sleep 0.01
  done
}

# fd_stop_procs NAME...: SIGTERM to all, then SIGKILL to whatever is left after the bound.
fd_stop_procs() {
  local name pid deadline left i
  local -a pids=() names=()
  for name in "$@"; do
    if pid=$(fd_proc_pid "$name"); then
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
      names+=("$name")
    fi
    rm -f "$FD_RUN_DIR/$name.pid"
  done
  ((${#pids[@]})) || return 0
  deadline=$((SECONDS + FD_STOP_TIMEOUT))
  while :; do
    left=0
    for pid in "${pids[@]}"; do
      fd_pid_alive "$pid" && left=1
    done
    ((left)) || break
    if ((SECONDS >= deadline)); then
      for i in "${!pids[@]}"; do
        if fd_pid_alive "${pids[$i]}"; then
          fd_log "warning: ${names[$i]} (pid ${pids[$i]}) ignored SIGTERM for ${FD_STOP_TIMEOUT} s; killing it"
          kill -KILL "${pids[$i]}" 2>/dev/null || true
        fi
      done
      break
    fi
    sleep 0.1
  done
  fd_log "stopped: ${names[*]}"
}

fd_show_log_tail() {
  local name=$1 log="$FD_LOG_DIR/$1.log"
  if [[ -s $log ]]; then
    fd_log "---- last lines of $log ----"
    tail -n "${2:-30}" "$log" >&2
    fd_log "----"
  else
    fd_log "($log is empty)"
  fi
}

# True while the process fd_start_proc started for NAME runs. For the shell that started it:
# its child's pid is not handed to another process before the shell reaps it, so being alive is
# enough. fd_proc_pid also reads the command line, which is empty for a moment while a process
# execs: a live child once read as gone there, and scripts/up then waited for it to end.
fd_child_alive() {
  local pid
  pid=$(<"$FD_RUN_DIR/$1.pid") || return 1
  [[ $pid =~ ^[0-9]+$ ]] && fd_pid_alive "$pid"
}

# Sets FD_ENDING to how the process fd_start_proc started for NAME ended ("exit status 2",
# "killed by SIGSEGV"), or "still running" (it never waits for a live one). Call it in the
# shell that started the process, never in $(...): a subshell cannot wait for its parent's
# child, and one that has not been reaped yet (a zombie) would read as "exit status -1".
fd_proc_ending() {
  local pid status=0
  FD_ENDING="no pid file"
  pid=$(<"$FD_RUN_DIR/$1.pid") || return 0
  if [[ $pid =~ ^[0-9]+$ ]] && fd_pid_alive "$pid"; then
    FD_ENDING="still running"
    return 0
  fi
  wait "$pid" 2>/dev/null || status=$?
  if ((status == 127)); then
    FD_ENDING="exit status 127, or not started by this shell"
  elif ((status > 128)); then
    FD_ENDING="killed by SIG$(kill -l $((status - 128)) 2>/dev/null || echo $((status - 128)))"
  else
    FD_ENDING="exit status $status"
  fi
}

# HTTP status of URL, or 000 when nothing answers.
fd_http_status() {
  curl -s -o /dev/null -m "${2:-2}" -w '%{http_code}' "$1" 2>/dev/null || true
}
