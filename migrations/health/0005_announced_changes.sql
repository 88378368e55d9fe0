-- A notifying transaction holds PostgreSQL's one notification lock (for the whole cluster) from
-- its commit until the commit record is flushed, so every notifying commit waits for the one
-- before it, across all of Flightdeck's schemas. A Flightdeck service's sessions set
-- flightdeck.announce_changes: the trigger then only tells the session, with a notice naming the
-- channel, and the service notifies after its commit, coalesced, on a connection of its own
-- (db::ChangeAnnouncer in common/db/change_feed.h). Any other session (psql, a migration run
-- elsewhere, an older Flightdeck) still notifies at its commit, as before.
CREATE OR REPLACE FUNCTION health.notify_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('flightdeck.announce_changes', true) = 'on' THEN
    RAISE NOTICE 'flightdeck changed health_events';
  ELSE
    PERFORM pg_notify('health_events', '');
  END IF;
  RETURN NULL;
END
$$;
