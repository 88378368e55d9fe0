#!/usr/bin/env bash
# The README's walk-through, as a script that runs it: a first release through its canary into
# staging and production, a first alert becoming an incident, a first backup and its
# verification. The README quotes the steps between the "# >>> step" and "# <<< step" lines, and
# tests/scripts/readme_walkthrough_test.sh keeps the two identical; tests/e2e/walkthrough_test.cc
# runs this script against a running stack.
#
# Needs a running Flightdeck (scripts/up --detach), fdctl (on PATH or in build/cli/), curl and jq.
# Environment:
#   FLIGHTDECK_URL            the gateway (http://127.0.0.1:8080)
#   FLIGHTDECK_TOKEN          an admin token (the one in .flightdeck/admin-token)
#   WALKTHROUGH_DATABASE_URL  the PostgreSQL database to back up (DATABASE_URL, else the private
#                             database scripts/up started: Flightdeck's own)
#   WALKTHROUGH_BACKUP_DIR    where the backups service writes the backups (.flightdeck/backups)
# Every wait is bounded (docs/walkthrough-helpers.sh): the walk-through fails with the reason
# instead of hanging.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# >>> step: setup
export FLIGHTDECK_URL=${FLIGHTDECK_URL:-http://127.0.0.1:8080}
export FLIGHTDECK_TOKEN=${FLIGHTDECK_TOKEN:-$(cat .flightdeck/admin-token)}  # the admin token
export PATH="$PATH:$PWD/build/cli"       # fdctl: yours, else the one scripts/up built
source docs/walkthrough-helpers.sh       # wait_for and the checks the steps wait on
database_url=$(database_to_back_up)      # by default Flightdeck's own database
backup_dir=${WALKTHROUGH_BACKUP_DIR:-$PWD/.flightdeck/backups}
run=$(date -u +%Y%m%d%H%M%S)             # this run's names are new: run it again any time
# <<< step

for tool in fdctl curl jq; do
  command -v "$tool" >/dev/null || { echo "walkthrough: $tool is needed (scripts/up installs and builds it)" >&2; exit 1; }
done

# >>> step: tokens
# The admin token creates the tokens people and machines use: one for the CI pipeline, one for
# Alertmanager (INGEST: it may post alerts and nothing else). Each secret is shown only once.
ci_token=$(fdctl --json token create "ci-$run" --role DEPLOYER | jq -r .secret)
ingest_token=$(fdctl --json token create "alertmanager-$run" --role INGEST | jq -r .secret)
fdctl whoami
# <<< step

# >>> step: staging
# The pipeline releases a commit of "hello" into staging: a canary at 50% for 10 s, judged every
# 5 s on the numbers the pipeline pushes (the "pushed" analysis source).
commit=$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')
staging=$(fdctl --json --token "$ci_token" release create --service hello --env staging \
  --version v1.0.0 --commit "$commit" --step 50:10s --interval 5s | jq -r .id)
wait_for "promotion of $staging" 120 with_canary_traffic "$staging" release_is "$staging" VERIFYING
# The canary passed and was promoted to 100%; the pipeline's smoke tests passed too.
fdctl --token "$ci_token" release verify "$staging" --passed --details "smoke tests green"
wait_for "success of $staging" 60 release_is "$staging" SUCCEEDED
fdctl release events "$staging"
# <<< step

# >>> step: production
# Production takes only commits that succeeded in staging, and waits for someone other than
# the release's creator to approve.
production=$(fdctl --json --token "$ci_token" release create --service hello --env production \
  --version v1.0.0 --commit "$commit" --step 10:10m --interval 5s | jq -r .id)
wait_for "approval gate for $production" 60 release_is "$production" AWAITING_APPROVAL
fdctl release approve "$production" --reason "change ticket 42"
# Once the canary has passed an analysis, promote it without waiting out the 10 minutes.
wait_for "passing analysis of $production" 120 with_canary_traffic "$production" canary_passed "$production"
fdctl release promote "$production" --reason "canary looks good"
wait_for "verification of $production" 60 release_is "$production" VERIFYING
fdctl --token "$ci_token" release verify "$production" --passed --details "smoke tests green"
# Production then bakes for 15 minutes, rolling back if the fleet's error rate passes 5%;
# accept the bake here instead of waiting it out.
wait_for "bake of $production" 60 release_is "$production" BAKING
fdctl release promote "$production" --reason "bake accepted for the walk-through"
wait_for "success of $production" 60 release_is "$production" SUCCEEDED
fdctl release list --service hello
# <<< step

# >>> step: incident
# Alertmanager reports a high error rate (severity warning: SEV-3); the alert opens an incident.
alert='{"alerts":[{"status":"firing","labels":{"alertname":"HighErrorRate","service":"hello",
  "environment":"production","severity":"warning"},"annotations":{"summary":"5% of requests fail"}}]}'
incident=$(curl -sS --fail-with-body -H "Authorization: Bearer $ingest_token" \
  "$FLIGHTDECK_URL/v1/alerts" -d "$alert" | jq -r '.incident_ids[0]')
fdctl incident get "$incident"
# The on-call acknowledges it (this stops its escalation), fixes the cause and resolves it;
# Alertmanager then reports the alert resolved.
fdctl incident ack "$incident" --message "looking at the hello error rate"
fdctl incident resolve "$incident" --message "bad config reverted"
jq '.alerts[0].status = "resolved"' <<<"$alert" |
  curl -sS --fail-with-body -H "Authorization: Bearer $ingest_token" "$FLIGHTDECK_URL/v1/alerts" \
    -d @- >/dev/null
fdctl incident get "$incident"
# <<< step

# >>> step: backup
# Protect a database (its URL on stdin keeps the password off the command line), back it up
# now, and prove the backup restores: verification restores it into a scratch database and
# compares every table's row count with the backup's manifest.
if ! fdctl backup target get walkthrough >/dev/null 2>&1; then
  printf '%s' "$database_url" |
    fdctl backup target create walkthrough --database-url - --path "$backup_dir" --rpo 24h
fi
backup=$(timeout 300 fdctl --json backup run walkthrough --wait | jq -r .id)
timeout 300 fdctl backup verify "$backup" --wait
fdctl backup target get walkthrough
# <<< step

# >>> step: status
# What runs where, and is it OK: every service and environment with its release, health and
# open incidents, and every backup target with its RPO.
fdctl status
# <<< step

echo
echo "walkthrough: done (releases $staging, $production; incident $incident; backup $backup)"
