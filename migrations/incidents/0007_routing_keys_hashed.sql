-- Routing keys are credentials: stored as their SHA-256 (hex), like the gateway's API tokens,
-- and shown in full only in the answer that creates them. Existing keys are hashed in place, so
-- every sender keeps working with the key it has; the last four characters stay for display.
ALTER TABLE incidents.integrations ADD COLUMN routing_key_last4 text NOT NULL DEFAULT '';
UPDATE incidents.integrations
   SET routing_key_last4 = right(routing_key, 4),
       routing_key = encode(sha256(convert_to(routing_key, 'UTF8')), 'hex');
ALTER TABLE incidents.integrations RENAME COLUMN routing_key TO routing_key_sha256;
