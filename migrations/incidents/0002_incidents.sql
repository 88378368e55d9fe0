-- Incidents from opening to CLOSED (services/incidents/lifecycle.h), their timeline, status
-- updates, related releases, review, corrective actions and outgoing notifications, plus the
-- schema's durable due-work table. Every time here comes from the service's clock, never now().

CREATE SEQUENCE incidents.incident_seq;

CREATE TABLE incidents.incidents (
  id                text PRIMARY KEY DEFAULT ('INC-' || nextval('incidents.incident_seq')),
  title             text NOT NULL,
  severity          smallint NOT NULL CHECK (severity BETWEEN 1 AND 4),
  service           text NOT NULL DEFAULT '',
  environment       text NOT NULL DEFAULT '',
  state             text NOT NULL
                    CHECK (state IN ('TRIGGERED', 'ACKNOWLEDGED', 'RESOLVED', 'CLOSED')),
  commander         text NOT NULL DEFAULT '',
  -- NULL for declared incidents: they never absorb alerts.
  group_key         text,
  group_labels      jsonb NOT NULL DEFAULT '{}',
  declared_by       text NOT NULL,
  escalation_policy text NOT NULL DEFAULT '',
  -- How many levels of the policy were notified (0: none; 1: levels[0], ...).
  escalation_level  int NOT NULL DEFAULT 0,
  opened_at         timestamptz NOT NULL,
  acknowledged_at   timestamptz,
  resolved_at       timestamptz,
  closed_at         timestamptz,
  ack_deadline      timestamptz,
  ack_breached      boolean NOT NULL DEFAULT false,
  last_update_at    timestamptz,
  next_update_due   timestamptz,
  review_due        timestamptz,
  deploy_correlated boolean NOT NULL DEFAULT false,
  updated_at        timestamptz NOT NULL
);

-- At most one open incident per alert group, even with concurrent intake: AttachAlert inserts
-- with ON CONFLICT DO NOTHING on this index and then selects the winner.
CREATE UNIQUE INDEX incidents_open_group ON incidents.incidents (group_key)
  WHERE state IN ('TRIGGERED', 'ACKNOWLEDGED');

CREATE INDEX incidents_opened_at ON incidents.incidents (opened_at);
CREATE INDEX incidents_state ON incidents.incidents (state, opened_at);

-- The timeline: every change, who, when, under which trace.
CREATE TABLE incidents.events (
  id          bigserial PRIMARY KEY,
  incident_id text NOT NULL REFERENCES incidents.incidents (id) ON DELETE CASCADE,
  at          timestamptz NOT NULL,
  actor       text NOT NULL DEFAULT '',
  kind        text NOT NULL,
  message     text NOT NULL DEFAULT '',
  trace_id    text NOT NULL DEFAULT '',
  detail      jsonb NOT NULL DEFAULT '{}'
);

CREATE INDEX events_incident ON incidents.events (incident_id, id);

CREATE TABLE incidents.status_updates (
  id          bigserial PRIMARY KEY,
  incident_id text NOT NULL REFERENCES incidents.incidents (id) ON DELETE CASCADE,
  at          timestamptz NOT NULL,
  author      text NOT NULL DEFAULT '',
  message     text NOT NULL
);

CREATE INDEX status_updates_incident ON incidents.status_updates (incident_id, id);

-- Releases of the incident's service/environment found by deploy correlation (a copy of what
-- the releases service answered when linked: incidents never read the releases schema).
CREATE TABLE incidents.related_releases (
  incident_id        text NOT NULL REFERENCES incidents.incidents (id) ON DELETE CASCADE,
  release_id         text NOT NULL,
  version            text NOT NULL DEFAULT '',
  commit_sha         text NOT NULL DEFAULT '',
  state              text NOT NULL DEFAULT '',
  created_at         timestamptz,
  finished_at        timestamptz,
  rollback_requested boolean NOT NULL DEFAULT false,
  note               text NOT NULL DEFAULT '',
  linked_at          timestamptz NOT NULL,
  PRIMARY KEY (incident_id, release_id)
);

CREATE TABLE incidents.reviews (
  incident_id    text PRIMARY KEY REFERENCES incidents.incidents (id) ON DELETE CASCADE,
  summary        text NOT NULL,
  impact         text NOT NULL DEFAULT '',
  root_cause     text NOT NULL DEFAULT '',
  timeline_notes text NOT NULL DEFAULT '',
  author         text NOT NULL DEFAULT '',
  submitted_at   timestamptz NOT NULL
);

CREATE SEQUENCE incidents.action_seq;

CREATE TABLE incidents.actions (
  id           text PRIMARY KEY DEFAULT ('ACT-' || nextval('incidents.action_seq')),
  incident_id  text NOT NULL REFERENCES incidents.incidents (id) ON DELETE CASCADE,
  title        text NOT NULL,
  owner        text NOT NULL DEFAULT '',
  due          timestamptz,
  state        text NOT NULL CHECK (state IN ('OPEN', 'DONE')),
  -- Tracked elsewhere: does not hold the incident open even while OPEN.
  tracking_url text NOT NULL DEFAULT '',
  created_at   timestamptz NOT NULL,
  completed_at timestamptz,
  completed_by text NOT NULL DEFAULT ''
);

CREATE INDEX actions_incident ON incidents.actions (incident_id);
CREATE INDEX actions_open_due ON incidents.actions (due) WHERE state = 'OPEN';

-- One row per (timeline event, target); delivered by its own job so that a receiver that is
-- down never blocks intake. The target's secret is never copied here: delivery reads it from
-- the escalation policy.
CREATE TABLE incidents.notifications (
  id           bigserial PRIMARY KEY,
  incident_id  text NOT NULL REFERENCES incidents.incidents (id) ON DELETE CASCADE,
  event_id     bigint NOT NULL REFERENCES incidents.events (id) ON DELETE CASCADE,
  policy       text NOT NULL DEFAULT '',
  target_name  text NOT NULL,
  url          text NOT NULL,
  format       text NOT NULL DEFAULT 'json',
  state        text NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
  attempts     int NOT NULL DEFAULT 0,
  last_error   text NOT NULL DEFAULT '',
  created_at   timestamptz NOT NULL,
  delivered_at timestamptz,
  UNIQUE (event_id, target_name)
);

CREATE INDEX notifications_incident ON incidents.notifications (incident_id);

CREATE TABLE incidents.notification_attempts (
  id              bigserial PRIMARY KEY,
  notification_id bigint NOT NULL REFERENCES incidents.notifications (id) ON DELETE CASCADE,
  attempt         int NOT NULL,
  at              timestamptz NOT NULL,
  http_status     int NOT NULL DEFAULT 0,
  ok              boolean NOT NULL,
  error           text NOT NULL DEFAULT '',
  latency_ms      double precision NOT NULL DEFAULT 0
);

CREATE INDEX notification_attempts_notification
  ON incidents.notification_attempts (notification_id, attempt);

-- Durable due-work of the incidents service (common/jobs; copied from releases' 0002_jobs.sql).
CREATE TABLE incidents.jobs (
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
CREATE UNIQUE INDEX jobs_key_unfinished ON incidents.jobs (key)
  WHERE state IN ('pending', 'running') AND key IS NOT NULL;

-- Claiming scans due pending jobs and expired leases in due order.
CREATE INDEX jobs_claim ON incidents.jobs (state, due_at);
