-- Post-maintenance verification: the smoke run after each opening of a window closed. One row
-- per opening; its move out of RUNNING happens once (UPDATE ... WHERE state = 'RUNNING'), and the
-- incident alert is enqueued in that same transaction, so a failure alerts exactly once.
CREATE TABLE releases.window_smoke_runs (
  window_name      text NOT NULL REFERENCES releases.windows (name) ON DELETE CASCADE,
  occurrence_start timestamptz NOT NULL,
  occurrence_end   timestamptz NOT NULL,
  suite            text NOT NULL,
  run_id           text NOT NULL DEFAULT '',
  state            text NOT NULL CHECK (state IN ('RUNNING', 'PASSED', 'FAILED', 'NOT_STARTED')),
  summary          text NOT NULL DEFAULT '',
  updated_at       timestamptz NOT NULL,
  PRIMARY KEY (window_name, occurrence_start)
);
