-- The backups service's own schema; its tables arrive with the backups domain work.
CREATE SCHEMA IF NOT EXISTS backups;
