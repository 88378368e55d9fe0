-- A notification's delivery id, sent as X-Flightdeck-Delivery with every attempt: delivery is at
-- least once (a crash after the receiver accepted and before the attempt was recorded sends it
-- again), and a receiver that must act once drops an id it has already seen. Random rather than
-- the row's id, so that two installations posting to one receiver never share one.
ALTER TABLE incidents.notifications ADD COLUMN delivery_id uuid NOT NULL DEFAULT gen_random_uuid();
