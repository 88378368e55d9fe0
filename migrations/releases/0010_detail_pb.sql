-- The release's detail as a serialized flightdeck.v1.Release, written by the same statements as
-- `detail`: the service reads it instead of parsing the JSON document, whose parse (protobuf's
-- JSON converter) took a third of the releases service's CPU in a pipeline step. `detail` stays
-- the document for SQL and for people. Rows written before this migration have NULL here and are
-- read from `detail`.
ALTER TABLE releases.releases ADD COLUMN detail_pb bytea;

-- A write of `detail` alone (a person with psql, or an older Flightdeck after a downgrade) makes
-- the binary copy stale: it is dropped, and `detail` is read again until the service next writes
-- both. The WHEN clause keeps the function out of the service's own writes.
CREATE FUNCTION releases.detail_pb_stale() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.detail_pb := NULL;
  RETURN NEW;
END
$$;
CREATE TRIGGER releases_detail_pb_stale BEFORE UPDATE OF detail ON releases.releases
  FOR EACH ROW
  WHEN (NEW.detail_pb IS NOT DISTINCT FROM OLD.detail_pb AND NEW.detail IS DISTINCT FROM OLD.detail)
  EXECUTE FUNCTION releases.detail_pb_stale();
