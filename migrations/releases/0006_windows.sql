-- Maintenance windows and freezes, and the manual ticks of their checklists.

-- The window as its API message (proto JSON) beside the columns that are queried.
CREATE TABLE releases.windows (
  name       text PRIMARY KEY,
  kind       text NOT NULL CHECK (kind IN ('MAINTENANCE', 'FREEZE')),
  spec       jsonb NOT NULL,
  created_by text NOT NULL,
  created_at timestamptz NOT NULL
);

-- A person's tick of one checklist item, for one opening of the window (its start): the next
-- opening starts with a clean checklist.
CREATE TABLE releases.checklist_ticks (
  window_name      text NOT NULL REFERENCES releases.windows (name) ON DELETE CASCADE,
  item             text NOT NULL,
  occurrence_start timestamptz NOT NULL,
  ticked_by        text NOT NULL,
  ticked_at        timestamptz NOT NULL,
  note             text NOT NULL DEFAULT '',
  PRIMARY KEY (window_name, item, occurrence_start)
);

-- "A rollback of the service in the environment succeeded within N days".
CREATE INDEX releases_succeeded_rollbacks ON releases.releases (service, environment, succeeded_at DESC)
  WHERE kind = 'ROLLBACK' AND succeeded_at IS NOT NULL;
