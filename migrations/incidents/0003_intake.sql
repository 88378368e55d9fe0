-- Alert intake (dedup, silences, inhibition, grouping) and the service's configuration.

-- One row per occurrence of an alert: a trigger after a resolve is a new row (a new id).
CREATE TABLE incidents.alerts (
  id                bigserial PRIMARY KEY,
  fingerprint       text NOT NULL,
  state             text NOT NULL CHECK (state IN ('firing', 'resolved')),
  labels            jsonb NOT NULL DEFAULT '{}',
  annotations       jsonb NOT NULL DEFAULT '{}',
  starts_at         timestamptz,
  ends_at           timestamptz,
  generator_url     text NOT NULL DEFAULT '',
  source            text NOT NULL DEFAULT '',
  integration       text NOT NULL DEFAULT '',
  severity          text NOT NULL DEFAULT 'SEV3',
  summary           text NOT NULL DEFAULT '',
  -- The firing alert (fingerprint) that inhibits this one, and the rule; '' when not inhibited.
  inhibited_by      text NOT NULL DEFAULT '',
  inhibit_rule      text NOT NULL DEFAULT '',
  silenced_by       text NOT NULL DEFAULT '',
  incident_id       text REFERENCES incidents.incidents (id) ON DELETE SET NULL,
  deliveries        int NOT NULL DEFAULT 1,
  first_received_at timestamptz NOT NULL,
  last_received_at  timestamptz NOT NULL
);
-- Dedup lives here: at most one firing occurrence per fingerprint, so that concurrent duplicate
-- deliveries (Alertmanager HA) upsert one row (INSERT ... ON CONFLICT (fingerprint) WHERE
-- state = 'firing').
CREATE UNIQUE INDEX alerts_one_firing ON incidents.alerts (fingerprint) WHERE state = 'firing';
CREATE INDEX alerts_by_fingerprint ON incidents.alerts (fingerprint, id DESC);
CREATE INDEX alerts_by_incident ON incidents.alerts (incident_id, id DESC) WHERE incident_id IS NOT NULL;
CREATE INDEX alerts_by_inhibitor ON incidents.alerts (inhibited_by)
  WHERE state = 'firing' AND inhibited_by <> '';
-- Inhibition looks for firing sources carrying the target's `equal` label values.
CREATE INDEX alerts_firing_labels ON incidents.alerts USING gin (labels jsonb_path_ops)
  WHERE state = 'firing';

CREATE TABLE incidents.integrations (
  name              text PRIMARY KEY,
  routing_key       text NOT NULL UNIQUE,
  service           text NOT NULL,
  environment       text NOT NULL DEFAULT '',
  severity_override text NOT NULL DEFAULT '',
  default_severity  text NOT NULL DEFAULT '',
  escalation_policy text NOT NULL DEFAULT '',
  created_at        timestamptz NOT NULL
);

-- The EscalationPolicy message as JSON, secrets included (never returned by the API).
CREATE TABLE incidents.escalation_policies (
  name       text PRIMARY KEY,
  policy     jsonb NOT NULL,
  updated_at timestamptz NOT NULL
);

CREATE TABLE incidents.silences (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  matchers   jsonb NOT NULL,  -- [{"name":..,"value":..,"op":..}]
  starts_at  timestamptz NOT NULL,
  ends_at    timestamptz NOT NULL CHECK (ends_at >= starts_at),
  comment    text NOT NULL DEFAULT '',
  created_by text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL
);
CREATE INDEX silences_by_end ON incidents.silences (ends_at);

-- The InhibitionRule message as JSON (its id is the row's).
CREATE TABLE incidents.inhibition_rules (
  id         text PRIMARY KEY DEFAULT gen_random_uuid()::text,
  rule       jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
-- matchers.h DefaultInhibitionRule().
INSERT INTO incidents.inhibition_rules (id, rule) VALUES ('default', '{
  "source_matchers": [{"name": "alertname", "value": "ServiceDown", "op": "="}],
  "target_matchers": [{"name": "alertname", "value": "HighResponseTime|HighErrorRate", "op": "=~"}],
  "equal": ["service", "environment"],
  "comment": "ServiceDown inhibits HighResponseTime and HighErrorRate of the same service and environment"
}');

-- One row: the IncidentSettings message as JSON; absent fields take their documented defaults.
CREATE TABLE incidents.settings (
  id         boolean PRIMARY KEY DEFAULT true CHECK (id),
  settings   jsonb NOT NULL DEFAULT '{}',
  updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO incidents.settings (id) VALUES (true);
