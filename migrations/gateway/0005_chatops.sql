-- The chat-ops front (README "Chat-ops"): who may act from chat, the work a slash command or a
-- button press starts, and every attempt to post its answer back.

-- A chat user linked to a Flightdeck principal. Only linked users act; an admin links them.
CREATE TABLE gateway.chat_identities (
  platform    text NOT NULL CHECK (platform IN ('slack', 'mattermost')),
  team_id     text NOT NULL,
  user_id     text NOT NULL,
  name        text NOT NULL,
  role        text NOT NULL CHECK (role IN ('VIEWER', 'DEPLOYER', 'OPERATOR', 'ADMIN')),
  created_by  text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (platform, team_id, user_id)
);

-- Signed chat requests already taken, so that a replayed request (same signature within the
-- 5-minute window Slack's timestamp allows) is refused on every gateway replica. Rows older
-- than the window are deleted as new ones arrive.
CREATE TABLE gateway.chat_requests_seen (
  digest   text PRIMARY KEY,   -- SHA-256 of the platform and the request's signature
  seen_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX chat_requests_seen_age ON gateway.chat_requests_seen (seen_at);

-- Durable due-work of the gateway (common/jobs, the same table as releases.jobs): running a
-- chat command and delivering its answer to the platform's response_url.
CREATE TABLE gateway.jobs (
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
CREATE UNIQUE INDEX jobs_key_unfinished ON gateway.jobs (key)
  WHERE state IN ('pending', 'running') AND key IS NOT NULL;
CREATE INDEX jobs_claim ON gateway.jobs (state, due_at);

-- Every attempt to post an answer to a response_url: when, the HTTP status (0: no answer) and
-- the error. The URL itself is not kept (it is a short-lived credential).
CREATE TABLE gateway.chat_deliveries (
  id           bigserial PRIMARY KEY,
  job_id       bigint NOT NULL,
  platform     text NOT NULL,
  attempt      int NOT NULL,
  at           timestamptz NOT NULL DEFAULT now(),
  http_status  int NOT NULL,
  error        text NOT NULL DEFAULT '',
  latency_ms   double precision NOT NULL DEFAULT 0
);
CREATE INDEX chat_deliveries_by_job ON gateway.chat_deliveries (job_id, attempt);
