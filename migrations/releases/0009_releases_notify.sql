-- Every committed write to a release notifies the channel the Watch streams listen on, as new
-- events already do: each replica keeps the releases it answered lately in memory
-- (services/releases/hot_releases.h) and forgets them all when the channel is notified.
-- PostgreSQL sends one notification per channel and payload per transaction, so a change that
-- also inserts events sends no more than it did.
CREATE TRIGGER releases_notify AFTER INSERT OR UPDATE OR DELETE ON releases.releases
  FOR EACH STATEMENT EXECUTE FUNCTION releases.notify_events();
