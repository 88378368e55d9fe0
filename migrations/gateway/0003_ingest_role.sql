-- The INGEST role (issue 5): tokens that may only post alerts to the intake routes.
ALTER TABLE gateway.tokens DROP CONSTRAINT tokens_role_check;
ALTER TABLE gateway.tokens ADD CONSTRAINT tokens_role_check
  CHECK (role IN ('VIEWER', 'DEPLOYER', 'OPERATOR', 'ADMIN', 'INGEST'));
