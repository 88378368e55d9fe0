-- A notification's delivery id, sent as X-Flightdeck-Delivery with every attempt (the same as
-- incidents' 0008_delivery_id): delivery is at least once, and a receiver that must act once
-- drops an id it has already seen.
ALTER TABLE releases.notifications ADD COLUMN delivery_id uuid NOT NULL DEFAULT gen_random_uuid();
