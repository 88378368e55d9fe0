-- The server each backup was taken from, sealed like the target's URL: a restore goes there
-- unless an admin names another server, so changing a target's URL later cannot redirect
-- the restores of its older backups.
ALTER TABLE backups.backups ADD COLUMN server_url_sealed text NOT NULL DEFAULT '';

-- Backups taken before this column existed came from their target's URL as it is now (it
-- could not be changed without an admin from here on).
UPDATE backups.backups b SET server_url_sealed = t.database_url_sealed
  FROM backups.targets t WHERE b.target = t.name;
