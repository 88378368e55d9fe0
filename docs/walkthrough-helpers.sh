# shellcheck shell=bash
# Helpers of the walk-through (docs/walkthrough.sh, quoted in the README): a bounded wait and the
# checks it waits on. Source this file in your shell to type the README's steps yourself.

# Runs CHECK [ARGS...] every second until it succeeds (status 0), for at most LIMIT seconds. A
# check answering 2 means "this will not happen": no point waiting.
wait_for() {
  local what=$1 limit=$2 status
  shift 2
  local deadline=$((SECONDS + limit))
  while :; do
    status=0
    "$@" || status=$?
    case $status in
      0) return 0 ;;
      1) ;;
      *) echo "walkthrough: no $what: it cannot happen any more" >&2; return 1 ;;
    esac
    if ((SECONDS >= deadline)); then
      echo "walkthrough: no $what after $limit s" >&2
      return 1
    fi
    sleep 1
  done
}

# Succeeds once release ID is in STATE; answers 2 (with its timeline) once it ended otherwise.
release_is() {
  local id=$1 want=$2 state
  state=$(fdctl --json release get "$id" | jq -r .state) || return 1
  case $state in
    "$want") return 0 ;;
    SUCCEEDED | ROLLED_BACK | ABORTED | FAILED)
      echo "walkthrough: release $id is $state, not $want" >&2
      fdctl release events "$id" >&2
      return 2
      ;;
  esac
  return 1
}

# Succeeds once release ID has passed a canary analysis.
canary_passed() {
  fdctl --json release events "$1" |
    jq -e 'any(.events[]; .type == "ANALYSIS" and (.message | startswith("PASS")))' >/dev/null
}

# While release ID is in its canary, reports one second of its traffic (100 requests, 1 error,
# p99 120 ms) with the pipeline's token, as a pipeline or a load balancer would; then runs
# CHECK [ARGS...].
with_canary_traffic() {
  local id=$1
  shift
  if [[ $(fdctl --json release get "$id" | jq -r .state) == CANARY ]]; then
    # shellcheck disable=SC2154 # ci_token: set by the walk-through's "tokens" step
    fdctl --token "$ci_token" release observe "$id" --requests 100 --errors 1 --p99-ms 120 \
      --window 1s >/dev/null || return 1
  fi
  "$@"
}

# The PostgreSQL URL of the database the walk-through backs up: WALKTHROUGH_DATABASE_URL, else
# DATABASE_URL, else Flightdeck's own database in the private PostgreSQL that scripts/up started.
database_to_back_up() {
  if [[ -n ${WALKTHROUGH_DATABASE_URL:-} || -n ${DATABASE_URL:-} ]]; then
    echo "${WALKTHROUGH_DATABASE_URL:-$DATABASE_URL}"
    return
  fi
  (
    # shellcheck disable=SC2034 # read by scripts/lib/stack.sh
    FD_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
    # shellcheck source-path=SCRIPTDIR source=../scripts/lib/datastores.sh
    source "$FD_ROOT/scripts/lib/datastores.sh"
    # shellcheck source-path=SCRIPTDIR source=../scripts/lib/stack.sh
    source "$FD_ROOT/scripts/lib/stack.sh"
    fd_pg_url "$(fd_pg_dir)" "${FLIGHTDECK_PG_PORT:-55432}"
  )
}
