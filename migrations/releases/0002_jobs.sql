-- Durable due-work of the releases service (common/jobs, DESIGN.md §2): canary analysis ticks,
-- step deadlines and the like. Every time here comes from the service's clock, never now(), so
-- that tests can move time. Other schemas copy this table into their own migrations.
CREATE TABLE releases.jobs (
  id                bigserial PRIMARY KEY,
  kind              text NOT NULL,
  key               text,
  payload           jsonb NOT NULL DEFAULT '{}',
  state             text NOT NULL CHECK (state IN ('pending', 'running', 'done', 'failed')),
  due_at            timestamptz NOT NULL,
  attempts          int NOT NULL DEFAULT 0,
  max_attempts      int NOT NULL CHECK (max_attempts > 0),
  initial_backoff_ms int,
  max_backoff_ms    int,
  lease_owner       text,
  lease_expires_at  timestamptz,
  last_error        text,
  created_at        timestamptz NOT NULL,
  updated_at        timestamptz NOT NULL
);

-- At most one unfinished job per key: enqueueing the same key again is idempotent.
CREATE UNIQUE INDEX jobs_key_unfinished ON releases.jobs (key)
  WHERE state IN ('pending', 'running') AND key IS NOT NULL;

-- Claiming scans due pending jobs and expired leases in due order.
CREATE INDEX jobs_claim ON releases.jobs (state, due_at);
