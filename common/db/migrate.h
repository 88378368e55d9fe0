#pragma once

#include <string>
#include <vector>

#include <grpcpp/support/status.h>

namespace flightdeck::db {

class Pool;

struct Migration {
  int version = 0;       // NNNN from NNNN_name.sql
  std::string name;      // "name"
  std::string sql;
};

// Every migration file of one schema, in version order.
struct SchemaMigrations {
  std::string schema;
  std::vector<Migration> migrations;
  // Why the set could not be loaded (unreadable directory, a badly named file, a duplicate
  // version); Migrate() refuses a set with an error rather than applying part of it.
  std::string error;
};

// Loads <dir>/<schema>/NNNN_name.sql files; dir is the root that holds one folder per schema,
// like the repository's migrations/ (tests, tools). Other file types are ignored.
SchemaMigrations LoadMigrationsFromDirectory(const std::string& dir, const std::string& schema);
// The migrations compiled into the binary (generated from migrations/ at build time; defined in
// the fd_migrations library). A schema with no files yields a set with an error.
SchemaMigrations EmbeddedMigrations(const std::string& schema);
// The schemas that have embedded migrations, sorted (fd_migrations).
std::vector<std::string> EmbeddedSchemas();

// Hex SHA-256 of a migration's text, as recorded in <schema>.schema_migrations.checksum.
std::string MigrationChecksum(const std::string& sql);
// "releases/0002_jobs.sql", for messages.
std::string MigrationFileName(const std::string& schema, const Migration& migration);
// Checks versions (> 0, unique) and sorts by version; sets set.error on a problem.
void ValidateMigrations(SchemaMigrations& set);

// Applies the schema's pending migrations in order, each in its own transaction, under a
// PostgreSQL advisory lock so that concurrent replicas apply each file once. Records version,
// name, checksum (SHA-256) and time in <schema>.schema_migrations. Refuses (FAILED_PRECONDITION)
// when an applied file's checksum changed or the database has a version this binary does not
// know (a newer release migrated it). Returns the number applied through `applied`.
// Each file runs with search_path set to its schema (unqualified names land there) inside a
// transaction, so it must not contain BEGIN/COMMIT or statements that cannot run in a
// transaction (CREATE INDEX CONCURRENTLY). A failing file is rolled back and named (INTERNAL).
// Files with a version below the newest applied one but not yet applied are applied as well.
grpc::Status Migrate(Pool& pool, const SchemaMigrations& set, int* applied = nullptr);

}  // namespace flightdeck::db
