-- Watch streams wait on this channel instead of polling the events table (common/db/change_feed.h):
-- one notification per inserting statement, delivered at commit to every replica listening.
CREATE FUNCTION incidents.notify_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('incidents_events', '');
  RETURN NULL;
END
$$;
CREATE TRIGGER events_notify AFTER INSERT ON incidents.events
  FOR EACH STATEMENT EXECUTE FUNCTION incidents.notify_events();
