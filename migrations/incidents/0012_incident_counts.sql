-- An incident's alert_count, firing_alert_count and timeline_count were counted from
-- incidents.alerts and incidents.events on every read of the incident, and an incident is read
-- on every change, notification and escalation: in an alert storm, an incident of 140,000
-- alerts cost 0.37 s of the database per read, and 4 million made it seconds (bench/README.md).
-- The counts are kept as they change instead.
--
-- One row per incident and database session (backend): statement-level triggers on
-- incidents.alerts and incidents.events add each statement's net change, grouped by incident,
-- to the row of the session that runs it. No other open session has that process id, so
-- concurrent batches into one incident never wait for each other's row (and cannot deadlock on
-- it), and a read sums a handful of rows. A row whose session has gone stays, holding its part
-- of the count.
CREATE TABLE incidents.incident_counts (
  incident_id text NOT NULL,
  backend int NOT NULL,  -- pg_backend_pid() of the session that wrote it; 0 for the count at migration
  alerts bigint NOT NULL DEFAULT 0,
  firing bigint NOT NULL DEFAULT 0,
  events bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (incident_id, backend)
);

-- An insert's new rows and a delete's old rows are both named `changed_*` and counted with a sign
-- (+1, -1); an update's net change is its new rows less its old ones. Only the transition
-- tables a trigger has are named in the branch it takes.
CREATE FUNCTION incidents.count_alerts() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  sign int := CASE TG_OP WHEN 'DELETE' THEN -1 ELSE 1 END;
BEGIN
  IF TG_OP = 'UPDATE' THEN
    INSERT INTO incidents.incident_counts AS c (incident_id, backend, alerts, firing)
    SELECT d.incident_id, pg_backend_pid(), sum(d.alerts), sum(d.firing)
    FROM (SELECT incident_id, 1 AS alerts, (state = 'firing')::int AS firing FROM new_alerts
          WHERE incident_id IS NOT NULL
          UNION ALL
          SELECT incident_id, -1, -(state = 'firing')::int FROM old_alerts
          WHERE incident_id IS NOT NULL) d
    GROUP BY d.incident_id HAVING sum(d.alerts) <> 0 OR sum(d.firing) <> 0 ORDER BY d.incident_id
    ON CONFLICT (incident_id, backend) DO UPDATE
      SET alerts = c.alerts + excluded.alerts, firing = c.firing + excluded.firing;
  ELSE
    INSERT INTO incidents.incident_counts AS c (incident_id, backend, alerts, firing)
    SELECT incident_id, pg_backend_pid(), sign * count(*),
           sign * count(*) FILTER (WHERE state = 'firing')
    FROM changed_alerts WHERE incident_id IS NOT NULL GROUP BY incident_id ORDER BY incident_id
    ON CONFLICT (incident_id, backend) DO UPDATE
      SET alerts = c.alerts + excluded.alerts, firing = c.firing + excluded.firing;
  END IF;
  RETURN NULL;
END
$$;

-- The triggers first: they lock incidents.alerts and incidents.events against writes until this
-- migration commits, so the count below sees every row written before, and the triggers every
-- one after.
CREATE TRIGGER alerts_count_insert AFTER INSERT ON incidents.alerts
  REFERENCING NEW TABLE AS changed_alerts FOR EACH STATEMENT EXECUTE FUNCTION incidents.count_alerts();
CREATE TRIGGER alerts_count_update AFTER UPDATE ON incidents.alerts
  REFERENCING OLD TABLE AS old_alerts NEW TABLE AS new_alerts
  FOR EACH STATEMENT EXECUTE FUNCTION incidents.count_alerts();
CREATE TRIGGER alerts_count_delete AFTER DELETE ON incidents.alerts
  REFERENCING OLD TABLE AS changed_alerts FOR EACH STATEMENT EXECUTE FUNCTION incidents.count_alerts();

CREATE FUNCTION incidents.count_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO incidents.incident_counts AS c (incident_id, backend, events)
  SELECT incident_id, pg_backend_pid(), CASE TG_OP WHEN 'DELETE' THEN -count(*) ELSE count(*) END
  FROM changed_events WHERE incident_id IS NOT NULL GROUP BY incident_id ORDER BY incident_id
  ON CONFLICT (incident_id, backend) DO UPDATE SET events = c.events + excluded.events;
  RETURN NULL;
END
$$;
CREATE TRIGGER events_count_insert AFTER INSERT ON incidents.events
  REFERENCING NEW TABLE AS changed_events FOR EACH STATEMENT EXECUTE FUNCTION incidents.count_events();
CREATE TRIGGER events_count_delete AFTER DELETE ON incidents.events
  REFERENCING OLD TABLE AS changed_events FOR EACH STATEMENT EXECUTE FUNCTION incidents.count_events();

INSERT INTO incidents.incident_counts (incident_id, backend, alerts, firing, events)
SELECT incident_id, 0, sum(alerts), sum(firing), sum(events)
FROM (SELECT incident_id, count(*) AS alerts, count(*) FILTER (WHERE state = 'firing') AS firing, 0 AS events
      FROM incidents.alerts WHERE incident_id IS NOT NULL GROUP BY incident_id
      UNION ALL
      SELECT incident_id, 0, 0, count(*) FROM incidents.events WHERE incident_id IS NOT NULL GROUP BY incident_id) AS counted
GROUP BY incident_id;

-- An incident deleted by hand (0009) takes its counts too, once its events are gone and its
-- alerts unattached.
CREATE OR REPLACE FUNCTION incidents.forget_incident() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM incidents.events WHERE incident_id = OLD.id;
  UPDATE incidents.alerts SET incident_id = NULL WHERE incident_id = OLD.id;
  DELETE FROM incidents.incident_counts WHERE incident_id = OLD.id;
  RETURN NULL;
END
$$;
