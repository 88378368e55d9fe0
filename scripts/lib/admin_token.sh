# shellcheck shell=bash
# The admin token that scripts/up hands to the gateway, and the file that tells the user what it
# is. Sourced after datastores.sh (fd_log, fd_random_secret).
#
# Invariant: after fd_admin_token_settle FILE, FILE (mode 0600) holds exactly the token the
# gateway is started with, so `$(cat .flightdeck/admin-token)` always authenticates:
# - FLIGHTDECK_ADMIN_TOKEN set: that token, written into FILE (replacing what was there);
# - unset: the token already in FILE, or a newly generated one when FILE is missing or empty.

# The gateway refuses a shorter admin token at start-up; refusing it here says why sooner.
FD_ADMIN_TOKEN_MIN_LENGTH=16

# Prints the token to use and leaves it in FILE. Fails (status 1, message on stderr) when the
# token from the environment is too short or has white space, which the file could not keep.
fd_admin_token_settle() {
  local file=$1 token=${FLIGHTDECK_ADMIN_TOKEN:-}
  if [[ -n $token ]]; then
    if ((${#token} < FD_ADMIN_TOKEN_MIN_LENGTH)); then
      fd_log "error: FLIGHTDECK_ADMIN_TOKEN must be at least $FD_ADMIN_TOKEN_MIN_LENGTH characters (it has ${#token})"
      return 1
    fi
    if [[ $token =~ [[:space:]] ]]; then
      fd_log "error: FLIGHTDECK_ADMIN_TOKEN must not contain white space"
      return 1
    fi
  elif [[ -s $file ]]; then
    token=$(<"$file")
  else
    token=$(fd_random_secret)
  fi
  # Written to a new file and renamed: an existing file with wider permissions is replaced, not
  # rewritten in place, so the token is never readable by others even for a moment.
  local tmp
  tmp=$(umask 077 && mktemp "$file.XXXXXX") || return 1
  if ! printf '%s\n' "$token" >"$tmp" || ! chmod 0600 "$tmp" || ! mv -f "$tmp" "$file"; then
    rm -f "$tmp"
    fd_log "error: cannot write the admin token to $file"
    return 1
  fi
  printf '%s\n' "$token"
}
