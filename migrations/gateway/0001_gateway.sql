-- The gateway's own state: API tokens (stored hashed) and the audit log of every write.
CREATE SCHEMA IF NOT EXISTS gateway;

CREATE TABLE gateway.tokens (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name        text NOT NULL UNIQUE,
  role        text NOT NULL CHECK (role IN ('VIEWER', 'DEPLOYER', 'OPERATOR', 'ADMIN')),
  -- SHA-256 of the secret, hex. The secret itself is shown once at creation and never stored.
  secret_sha256 text NOT NULL UNIQUE,
  created_by  text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  revoked_at  timestamptz
);

CREATE TABLE gateway.audit (
  id          bigserial PRIMARY KEY,
  at          timestamptz NOT NULL DEFAULT now(),
  actor       text NOT NULL,
  role        text NOT NULL,
  action      text NOT NULL,   -- "POST /v1/releases"
  target      text NOT NULL,   -- the path acted on, or the created resource
  status      int NOT NULL,    -- HTTP status answered
  request_id  text NOT NULL,
  trace_id    text NOT NULL DEFAULT ''
);
CREATE INDEX audit_newest ON gateway.audit (id DESC);
CREATE INDEX audit_by_actor ON gateway.audit (actor, id DESC);
