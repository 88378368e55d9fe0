-- Inhibition looks its sources up among firing alerts by label (alerts_firing_labels, a GIN
-- index). Every new alert paid for that index, about a fifth of PostgreSQL's CPU per distinct
-- Alertmanager batch of 100 (bench/README.md), although only alerts that some rule's source
-- matchers match can inhibit, usually a few (the default rule's source is ServiceDown).
-- Intake now marks each alert it writes (can_inhibit), creating a rule marks the firing alerts
-- its source matches, and the index holds the marked ones only. True is the safe value (a
-- marked alert that matches no source is only looked at in vain), so rows written before this
-- migration, and any writer that does not decide, get it.
ALTER TABLE incidents.alerts ADD COLUMN can_inhibit boolean NOT NULL DEFAULT true;
DROP INDEX incidents.alerts_firing_labels;
CREATE INDEX alerts_firing_sources ON incidents.alerts USING gin (labels jsonb_path_ops)
  WHERE state = 'firing' AND can_inhibit;
