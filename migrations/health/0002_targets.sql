-- The health domain (issue 4): targets, their state, the per-minute result ring, events,
-- service health, the replicas' shard leases, and the schema's durable jobs. Every time here
-- comes from the service's clock, never now(), so that tests can move time.

-- Bumped on every insert, update and (soft) delete of a target, so that replicas pick up
-- changes by asking for rows with a newer revision.
CREATE SEQUENCE health.target_revision;

CREATE TABLE health.targets (
  name        text PRIMARY KEY,
  service     text NOT NULL,
  environment text NOT NULL,
  role        text NOT NULL CHECK (role IN ('liveness', 'readiness', 'canary')),
  kind        text NOT NULL,
  shard       int NOT NULL CHECK (shard >= 0 AND shard < 64),
  -- The validated HealthTarget settings (proto JSON). The URL keeps its password: the prober
  -- needs it; the service redacts it on the way out.
  spec        jsonb NOT NULL,
  created_at  timestamptz NOT NULL,
  created_by  text NOT NULL DEFAULT '',
  revision    bigint NOT NULL DEFAULT nextval('health.target_revision'),
  -- Soft delete: replicas see the deletion by revision; rows are purged later.
  deleted_at  timestamptz
);
CREATE INDEX targets_revision ON health.targets (revision);
CREATE INDEX targets_shard ON health.targets (shard) WHERE deleted_at IS NULL;
CREATE INDEX targets_service ON health.targets (service, environment) WHERE deleted_at IS NULL;

CREATE TABLE health.target_state (
  target                text PRIMARY KEY,
  status                text NOT NULL DEFAULT 'UNKNOWN',
  since                 timestamptz NOT NULL,
  consecutive_successes int NOT NULL DEFAULT 0,
  consecutive_failures  int NOT NULL DEFAULT 0,
  last_result           jsonb,
  -- Newest first, up to 10 ProbeResults (proto JSON).
  recent                jsonb NOT NULL DEFAULT '[]',
  -- The time of the newest result counted: a replica that lost the target never overwrites a
  -- newer state written by the one that took it over.
  updated_at            timestamptz NOT NULL
);

-- The result ring: one row per target and minute in 1440 slots (slot = minute % 1440), so the
-- table holds at most a day per target whatever the probe rate. `minute` tells a live slot from
-- one left over from a previous day.
CREATE TABLE health.result_ring (
  target    text NOT NULL,
  slot      smallint NOT NULL CHECK (slot >= 0 AND slot < 1440),
  minute    bigint NOT NULL,
  probes    int NOT NULL,
  successes int NOT NULL,
  -- Counts per fixed log-scale latency bucket (services/health/result_ring.h).
  latency   int[] NOT NULL,
  PRIMARY KEY (target, slot)
);

-- Durable state changes of targets and services, and alerts for incidents.
CREATE TABLE health.events (
  id          bigserial PRIMARY KEY,
  at          timestamptz NOT NULL,
  kind        text NOT NULL CHECK (kind IN ('TARGET', 'SERVICE', 'ALERT')),
  target      text NOT NULL DEFAULT '',
  service     text NOT NULL,
  environment text NOT NULL,
  from_status text NOT NULL,
  to_status   text NOT NULL,
  reason      text NOT NULL DEFAULT '',
  -- The exact alert JSON (text, not jsonb: jsonb would reorder its keys).
  alert       text NOT NULL DEFAULT '',
  delivery    text NOT NULL DEFAULT ''
);
CREATE INDEX events_service ON health.events (service, environment, id);
CREATE INDEX events_kind ON health.events (kind, id);

CREATE TABLE health.service_health (
  service      text NOT NULL,
  environment  text NOT NULL,
  status       text NOT NULL,
  since        timestamptz NOT NULL,
  reason       text NOT NULL,
  -- A ServiceDown alert is firing (sent or recorded) and awaits its resolve.
  alert_firing boolean NOT NULL DEFAULT false,
  updated_at   timestamptz NOT NULL,
  PRIMARY KEY (service, environment)
);

-- Replicas (DESIGN.md §2): each heartbeats; targets hash into 64 shards, each leased by one
-- replica at a time.
CREATE TABLE health.replicas (
  owner        text PRIMARY KEY,
  heartbeat_at timestamptz NOT NULL
);

CREATE TABLE health.shard_leases (
  shard      int PRIMARY KEY CHECK (shard >= 0 AND shard < 64),
  owner      text,
  expires_at timestamptz NOT NULL DEFAULT 'epoch'
);
INSERT INTO health.shard_leases (shard) SELECT generate_series(0, 63);

-- Durable due-work (common/jobs): alert deliveries to incidents and smoke runs.
CREATE TABLE health.jobs (
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
CREATE UNIQUE INDEX jobs_key_unfinished ON health.jobs (key)
  WHERE state IN ('pending', 'running') AND key IS NOT NULL;

-- Claiming scans due pending jobs and expired leases in due order.
CREATE INDEX jobs_claim ON health.jobs (state, due_at);
