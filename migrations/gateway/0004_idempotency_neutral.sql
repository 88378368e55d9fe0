-- Idempotent answers are kept in a protocol-neutral form, so that a retry replays the same
-- answer through whichever front (REST, gRPC-web) it arrives on: the gRPC status code and
-- message, and the serialized response message. Rows written before this migration (a JSON
-- body and an HTTP status) are still replayed; they expire within 24 hours.
ALTER TABLE gateway.idempotency ADD COLUMN code int, ADD COLUMN response bytea;
