-- The health service's own schema; its tables arrive with the health domain work.
CREATE SCHEMA IF NOT EXISTS health;
