-- The text keys the intake looks up, locks and groups by on every batch compare bytewise
-- (COLLATE "C") instead of through the database's locale. Under a locale, every comparison in
-- these indexes goes through strcoll (PostgreSQL's varstr_cmp); bytewise it is a memcmp. Three
-- pairs of intake runs of distinct batches of 100, each on a fresh database: PostgreSQL's CPU per
-- batch 4.63 -> 4.45 ms (median), every pair lower (bench/README.md).
--
-- Nothing anyone reads changes order: these keys are identifiers (fingerprints, integration
-- names, incident ids, group keys), never sorted for display, and the intake already takes its
-- row locks in bytewise order (alert_store.cc). On the C.UTF-8 databases scripts/up creates,
-- bytewise is also the order the locale gave.
--
-- The tables are not rewritten (the stored text is the same), but every index on these columns
-- is rebuilt under the table's lock until this migration commits: 2.4 s for two indexes over a
-- million alerts on a 2-core machine. Intake waits meanwhile; Alertmanager retries.
ALTER TABLE incidents.alerts
  ALTER COLUMN fingerprint TYPE text COLLATE "C",
  ALTER COLUMN integration TYPE text COLLATE "C",
  ALTER COLUMN incident_id TYPE text COLLATE "C",
  ALTER COLUMN inhibited_by TYPE text COLLATE "C";
ALTER TABLE incidents.events ALTER COLUMN incident_id TYPE text COLLATE "C";
ALTER TABLE incidents.incident_counts ALTER COLUMN incident_id TYPE text COLLATE "C";
ALTER TABLE incidents.incidents ALTER COLUMN group_key TYPE text COLLATE "C";
