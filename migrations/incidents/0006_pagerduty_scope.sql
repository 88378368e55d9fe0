-- A PagerDuty dedup_key names an alert within its integration only (PagerDuty scopes it to the
-- routing key's service): one firing occurrence per (integration, fingerprint), so that an event
-- of one integration can neither update, acknowledge nor resolve another's alert. Alertmanager and
-- native alerts have integration '' and keep deduplicating among themselves.
DROP INDEX incidents.alerts_one_firing;
CREATE UNIQUE INDEX alerts_one_firing ON incidents.alerts (integration, fingerprint) WHERE state = 'firing';
