-- Idempotency-Key: a retried write gets the first answer instead of a second effect.
CREATE TABLE gateway.idempotency (
  actor        text NOT NULL,
  key          text NOT NULL,
  method       text NOT NULL,
  path         text NOT NULL,
  request_hash text NOT NULL,   -- SHA-256 of method, path and body: a reused key must match
  status       int NOT NULL,    -- 0 while the first request is in progress
  body         text NOT NULL DEFAULT '',
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (actor, key)
);
CREATE INDEX idempotency_age ON gateway.idempotency (created_at);
