#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <grpcpp/support/status.h>

namespace flightdeck::backups {

// database_url / server_url below must be postgres:// or postgresql:// URLs (INVALID_ARGUMENT
// otherwise): the password is taken out of them for the tools' PGPASSWORD, and every message
// has it scrubbed. Errors: UNAVAILABLE when our own session cannot reach the server or log in
// (message from the server), FAILED_PRECONDITION when the tool cannot be executed, INTERNAL
// with the tool's stderr (its last 8 KiB) when it exits non-zero (pg_restore's own login
// failure included), ABORTED when the sink or the source fails (the tool is killed and reaped
// before the call returns).

// What a consistent dump saw.
struct DumpManifest {
  std::string snapshot_id;
  std::chrono::system_clock::time_point snapshot_time;  // now() inside the snapshot
  std::string server_version;                           // server_version setting
  // "schema.table" -> rows in the snapshot, as count(*) of the table reads them: a partitioned
  // table and each of its partitions appear (the parent's count includes its partitions' rows),
  // and so does an inheritance parent (with its children's rows).
  std::map<std::string, long long> row_counts;
  // The counts come from the archive itself as it streams past (ArchiveRowCounter). The tables
  // named here were counted with count(*) in the snapshot after pg_dump finished instead: the
  // archive holds no rows of theirs (a foreign table, say), or it could not be read, and then
  // archive_unread says why and every table is here.
  std::vector<std::string> counted_by_query;
  std::string archive_unread;
  uint64_t bytes_dumped = 0;
};

using ByteSink = std::function<bool(const uint8_t* data, size_t size)>;

// The whole environment pg_dump and pg_restore run with: from `inherited`, only PATH, TZ,
// LANG and LC_*; plus PGPASSWORD=`password` when it is not empty. Everything else stays
// behind: the master key, DATABASE_URL, REDIS_URL, other FLIGHTDECK_* settings and any PG*
// variable of our own environment (a stray PGHOST or PGSERVICE must not redirect a tool; the
// connection is all in its --dbname).
std::vector<std::string> ToolEnvironment(const char* const* inherited, const std::string& password);

// Dumps a database consistently: opens a REPEATABLE READ transaction on it, exports its
// snapshot, runs `pg_dump --snapshot=<id> -Fc -Z0` directly (no shell) with the password in
// PGPASSWORD (never on the command line) and streams its stdout to `sink` in fixed-size pieces
// (memory does not grow with the database). The rows of every user table (not
// pg_catalog/information_schema) are counted in the archive on the way (see DumpManifest). A
// non-zero exit, a signal, a sink failure or a lost connection fails with the reason (pg_dump's
// stderr, truncated, with any password removed). pg_dump_path defaults to
// /usr/lib/postgresql/15/bin/pg_dump.
grpc::Status DumpDatabase(const std::string& database_url, const ByteSink& sink,
                          DumpManifest* manifest,
                          const std::string& pg_dump_path = "/usr/lib/postgresql/15/bin/pg_dump");

// Restores a custom-format dump into an existing (empty) database by running pg_restore
// (no shell; --no-owner --no-privileges --exit-on-error) and feeding its stdin from `source`.
// The source is called once with a sink that writes into pg_restore's stdin (blocking while
// the pipe is full) and returns false once pg_restore stopped reading; the source returns
// false when reading the dump failed (pg_restore is then killed: ABORTED). Fails with
// pg_restore's stderr (redacted) on a non-zero exit. SIGPIPE is blocked in the calling thread
// while feeding, so the process need not ignore it.
using ByteSource = std::function<bool(const ByteSink& write)>;
grpc::Status RestoreDatabase(const std::string& database_url, const ByteSource& source,
                             const std::string& pg_restore_path = "/usr/lib/postgresql/15/bin/pg_restore");

// Row counts of every user table of a database (to compare a restore with a manifest).
grpc::Status CountRows(const std::string& database_url, std::map<std::string, long long>* out);

// CREATE DATABASE / DROP DATABASE (WITH FORCE) on the server of `server_url` (connecting to its
// maintenance database); names are validated (lower-case letters, digits, '_', 1-63).
// The session runs in the URL's own database, or in "postgres" when the URL names `name`.
// CreateDatabase copies template0 (nothing added to template1 can collide with a restore) and
// answers ALREADY_EXISTS for a taken name; DropDatabase answers NOT_FOUND for a missing one and
// refuses postgres, template0 and template1.
grpc::Status CreateDatabase(const std::string& server_url, const std::string& name);
grpc::Status DropDatabase(const std::string& server_url, const std::string& name);
grpc::Status DatabaseExists(const std::string& server_url, const std::string& name, bool* exists);

}  // namespace flightdeck::backups
