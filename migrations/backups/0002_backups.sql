-- Backup targets, backup runs with their manifests, and the service's durable due-work.

CREATE TABLE backups.targets (
  name             text PRIMARY KEY,
  -- The URL sealed with the current master key ("<key id>:<base64 nonce|ciphertext|tag>"),
  -- and the same URL with its password masked, for answers and logs.
  database_url_sealed   text NOT NULL,
  database_url_redacted text NOT NULL,
  schedule         text NOT NULL DEFAULT '',
  keep_last        int NOT NULL,
  keep_days        int NOT NULL,
  storage_kind     text NOT NULL CHECK (storage_kind IN ('LOCAL')),
  storage_path     text NOT NULL,
  rpo_target_s     bigint NOT NULL,
  verify_after     boolean NOT NULL,
  next_run_at      timestamptz,
  created_at       timestamptz NOT NULL,
  updated_at       timestamptz NOT NULL
);

CREATE TABLE backups.backups (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  target        text NOT NULL REFERENCES backups.targets (name) ON DELETE CASCADE,
  state         text NOT NULL CHECK (state IN ('PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'DELETED')),
  trigger       text NOT NULL CHECK (trigger IN ('MANUAL', 'SCHEDULED')),
  -- The due time a scheduled run is for: one run per due time, whatever the replicas.
  scheduled_for timestamptz,
  runner        text NOT NULL DEFAULT '',   -- host:pid running it
  heartbeat_at  timestamptz,
  progress_bytes bigint NOT NULL DEFAULT 0,
  verified      text NOT NULL DEFAULT '',   -- '', RUNNING, PASSED, FAILED
  created_at    timestamptz NOT NULL,
  finished_at   timestamptz,
  -- The Backup message (manifest, verification, restore) as canonical JSON.
  detail        jsonb NOT NULL DEFAULT '{}'
);
CREATE UNIQUE INDEX backups_one_per_due_time ON backups.backups (target, scheduled_for)
  WHERE scheduled_for IS NOT NULL;
CREATE INDEX backups_by_target ON backups.backups (target, created_at DESC, id DESC);
CREATE INDEX backups_newest ON backups.backups (created_at DESC, id DESC);
CREATE INDEX backups_running ON backups.backups (state) WHERE state = 'RUNNING';

-- Durable due-work (common/jobs), as in releases.jobs.
CREATE TABLE backups.jobs (
  id               bigserial PRIMARY KEY,
  kind             text NOT NULL,
  key              text,
  payload          jsonb NOT NULL DEFAULT '{}',
  state            text NOT NULL CHECK (state IN ('pending', 'running', 'done', 'failed')),
  due_at           timestamptz NOT NULL,
  attempts         int NOT NULL DEFAULT 0,
  max_attempts     int NOT NULL,
  initial_backoff_ms int,
  max_backoff_ms   int,
  lease_owner      text,
  lease_expires_at timestamptz,
  last_error       text,
  created_at       timestamptz NOT NULL,
  updated_at       timestamptz NOT NULL
);
CREATE UNIQUE INDEX jobs_key_unfinished ON backups.jobs (key)
  WHERE key IS NOT NULL AND state IN ('pending', 'running');
CREATE INDEX jobs_claimable ON backups.jobs (state, due_at);
