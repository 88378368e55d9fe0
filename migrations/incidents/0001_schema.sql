-- The incidents service's own schema; its tables arrive with the incidents domain work.
CREATE SCHEMA IF NOT EXISTS incidents;
