-- Whether an incident still has a firing alert is asked on every resolve: in a resolve storm of
-- an incident with thousands of alerts, it must not scan the resolved ones.
CREATE INDEX alerts_firing_by_incident ON incidents.alerts (incident_id)
  WHERE state = 'firing' AND incident_id IS NOT NULL;
