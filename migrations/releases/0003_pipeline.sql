-- The release pipeline: kinds, the one-in-flight lock, analysis inputs and driver actions.

ALTER TABLE releases.releases
  ADD COLUMN kind text NOT NULL DEFAULT 'DEPLOY' CHECK (kind IN ('DEPLOY', 'ROLLBACK')),
  ADD COLUMN queued boolean NOT NULL DEFAULT false,
  -- Set when the release reached SUCCEEDED; stays set if it is later rolled back past, so that
  -- "a commit that once succeeded here" is a question this column answers.
  ADD COLUMN succeeded_at timestamptz,
  ADD COLUMN finished_at timestamptz,
  -- Bumped on every change: a pipeline step that decided on an older revision does not apply.
  ADD COLUMN revision bigint NOT NULL DEFAULT 0,
  -- The rest of the Release message (plan, driver, step, streaks, next action...), as its
  -- canonical JSON; the columns above are authoritative for the fields they hold.
  ADD COLUMN detail jsonb NOT NULL DEFAULT '{}';

-- At most one release in flight per service and environment: enforced here, not only in memory.
-- Queued releases wait outside the index until the one in flight ends.
CREATE UNIQUE INDEX releases_one_in_flight ON releases.releases (service, environment)
  WHERE state IN ('PENDING', 'AWAITING_APPROVAL', 'CANARY', 'PROMOTING', 'VERIFYING',
                  'ROLLING_BACK') AND NOT queued;
CREATE INDEX releases_queue ON releases.releases (service, environment, created_at) WHERE queued;
CREATE INDEX releases_succeeded
  ON releases.releases (service, environment, commit_sha, succeeded_at DESC)
  WHERE succeeded_at IS NOT NULL;
CREATE INDEX releases_finished
  ON releases.releases (service, environment, finished_at DESC) WHERE finished_at IS NOT NULL;

-- Numbers a pipeline pushed for the canary (the "pushed" analysis source).
CREATE TABLE releases.observations (
  id             bigserial PRIMARY KEY,
  release_id     uuid NOT NULL REFERENCES releases.releases (id) ON DELETE CASCADE,
  received_at    timestamptz NOT NULL,
  requests       bigint NOT NULL CHECK (requests >= 0),
  errors         bigint NOT NULL CHECK (errors >= 0 AND errors <= requests),
  p99_latency_ms double precision,
  window_ms      bigint NOT NULL DEFAULT 0
);
CREATE INDEX observations_by_release ON releases.observations (release_id, received_at);

-- Every driver invocation, keyed by its idempotency key: a step retried after a crash finds
-- the action it already carried out instead of running it twice.
CREATE TABLE releases.driver_actions (
  action_id   text PRIMARY KEY,
  release_id  uuid NOT NULL REFERENCES releases.releases (id) ON DELETE CASCADE,
  action      text NOT NULL,
  weight      int NOT NULL,
  status      text NOT NULL CHECK (status IN ('started', 'succeeded', 'failed')),
  exit_code   int,
  output      text NOT NULL DEFAULT '',
  error       text NOT NULL DEFAULT '',
  attempts    int NOT NULL DEFAULT 1,
  started_at  timestamptz NOT NULL,
  finished_at timestamptz
);
