-- An alert's incident and a timeline event's incident are no longer foreign keys. PostgreSQL
-- checks a foreign key row by row (a look-up and a key-share lock of the incident for each row):
-- for a distinct Alertmanager batch of 100, its 100 alerts and their 100 ALERT_ATTACHED events
-- cost about a tenth of the database's CPU (bench/README.md). Flightdeck writes only the id of
-- an incident it has read in the same transaction, and never deletes an incident; what the
-- foreign keys did when one is deleted by hand is kept by a trigger, at no cost to the writes.
ALTER TABLE incidents.alerts DROP CONSTRAINT alerts_incident_id_fkey;
ALTER TABLE incidents.events DROP CONSTRAINT events_incident_id_fkey;

CREATE FUNCTION incidents.forget_incident() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM incidents.events WHERE incident_id = OLD.id;
  UPDATE incidents.alerts SET incident_id = NULL WHERE incident_id = OLD.id;
  RETURN NULL;
END
$$;
CREATE TRIGGER incidents_forget AFTER DELETE ON incidents.incidents
  FOR EACH ROW EXECUTE FUNCTION incidents.forget_incident();
