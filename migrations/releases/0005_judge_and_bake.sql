-- The statistical judge's raw latency samples, and the BAKING state after promotion.

-- Latency samples (milliseconds, a JSON array of numbers) a pipeline pushed for each version.
ALTER TABLE releases.observations
  ADD COLUMN canary_latency_ms   jsonb,
  ADD COLUMN baseline_latency_ms jsonb;

ALTER TABLE releases.releases DROP CONSTRAINT releases_state_check;
ALTER TABLE releases.releases ADD CONSTRAINT releases_state_check
  CHECK (state IN ('PENDING', 'AWAITING_APPROVAL', 'CANARY', 'PROMOTING', 'VERIFYING', 'BAKING',
                   'SUCCEEDED', 'ROLLING_BACK', 'ROLLED_BACK', 'ABORTED', 'FAILED'));

-- A baking release is still in flight: it holds the (service, environment) lock until it
-- succeeds or rolls back.
DROP INDEX releases.releases_one_in_flight;
CREATE UNIQUE INDEX releases_one_in_flight ON releases.releases (service, environment)
  WHERE state IN ('PENDING', 'AWAITING_APPROVAL', 'CANARY', 'PROMOTING', 'VERIFYING', 'BAKING',
                  'ROLLING_BACK') AND NOT queued;
