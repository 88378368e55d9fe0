-- Release notifications (policy "notify" targets): one row per (timeline event, target),
-- delivered by its own job (release.notification.deliver) with retries, and every attempt
-- recorded. The body is fixed when the row is written, so that a retry sends what the event
-- said; the target's url and secret stay in the environments file and are never stored here.
CREATE TABLE releases.notifications (
  id           bigserial PRIMARY KEY,
  release_id   uuid NOT NULL REFERENCES releases.releases (id) ON DELETE CASCADE,
  event_id     bigint NOT NULL REFERENCES releases.events (id) ON DELETE CASCADE,
  environment  text NOT NULL,
  kind         text NOT NULL,
  target_name  text NOT NULL,
  format       text NOT NULL CHECK (format IN ('json', 'slack')),
  body         text NOT NULL,
  state        text NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
  attempts     int NOT NULL DEFAULT 0,
  last_error   text NOT NULL DEFAULT '',
  created_at   timestamptz NOT NULL,
  delivered_at timestamptz,
  -- A fan-out that runs twice (a crash after its commit) adds nothing.
  UNIQUE (event_id, target_name)
);
CREATE INDEX notifications_by_release ON releases.notifications (release_id, id);

CREATE TABLE releases.notification_attempts (
  notification_id bigint NOT NULL REFERENCES releases.notifications (id) ON DELETE CASCADE,
  attempt         int NOT NULL,
  at              timestamptz NOT NULL,
  http_status     int NOT NULL,
  ok              boolean NOT NULL,
  error           text NOT NULL,
  latency_ms      double precision NOT NULL,
  PRIMARY KEY (notification_id, attempt)
);
