-- Releases: one version of one service going to one environment, and its timeline.
CREATE SCHEMA IF NOT EXISTS releases;

CREATE TABLE releases.releases (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  service     text NOT NULL,
  environment text NOT NULL,
  version     text NOT NULL,
  commit_sha  text NOT NULL,
  image       text NOT NULL DEFAULT '',
  state       text NOT NULL CHECK (state IN ('PENDING', 'AWAITING_APPROVAL', 'CANARY', 'PROMOTING',
                                             'VERIFYING', 'SUCCEEDED', 'ROLLING_BACK',
                                             'ROLLED_BACK', 'ABORTED', 'FAILED')),
  created_by  text NOT NULL,
  trace_id    text NOT NULL DEFAULT '',
  created_at  timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL
);

-- Listing is newest first with a (created_at, id) keyset cursor, optionally per service/environment.
CREATE INDEX releases_newest ON releases.releases (created_at DESC, id DESC);
CREATE INDEX releases_by_service_env
  ON releases.releases (service, environment, created_at DESC, id DESC);

-- The ordered timeline of a release: every state change, verdict and decision, with who and why.
CREATE TABLE releases.events (
  id         bigserial PRIMARY KEY,
  release_id uuid NOT NULL REFERENCES releases.releases (id) ON DELETE CASCADE,
  at         timestamptz NOT NULL,
  type       text NOT NULL,
  actor      text NOT NULL DEFAULT '',
  message    text NOT NULL DEFAULT '',
  data       jsonb NOT NULL DEFAULT '{}',
  trace_id   text NOT NULL DEFAULT ''
);
CREATE INDEX events_by_release ON releases.events (release_id, id);
