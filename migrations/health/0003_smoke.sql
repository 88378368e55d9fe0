-- Smoke suites and runs (issue 4, services/health/smoke). A run's checks are a snapshot taken
-- when it started: editing a suite later never changes what an old run shows.
CREATE TABLE health.smoke_suites (
  name       text PRIMARY KEY,
  -- The SmokeSuite message as canonical JSON (base_url, checks); header values included.
  detail     jsonb NOT NULL,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
);

CREATE TABLE health.smoke_runs (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  state         text NOT NULL CHECK (state IN ('RUNNING', 'PASSED', 'FAILED')),
  suite         text NOT NULL DEFAULT '',
  -- The SmokeRun message as canonical JSON: checks, results in check order, who and why.
  detail        jsonb NOT NULL,
  -- How many results detail holds: the runner appends a finished group only where this still
  -- equals what it read, so a job that runs twice never records a second result set.
  results_count int NOT NULL DEFAULT 0,
  created_at    timestamptz NOT NULL,
  finished_at   timestamptz
);

CREATE INDEX smoke_runs_created ON health.smoke_runs (created_at DESC);
