#include "common/db/migrate.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "common/db/db.h"
#include "common/log/log.h"

namespace flightdeck::db {
namespace {

std::string Sha256(const std::string& data, unsigned char* raw = nullptr) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
  if (raw != nullptr) std::copy(digest, digest + length, raw);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 0x0f];
  }
  return hex;
}

// Stable across processes and releases: every replica must compute the same lock for a schema.
long long MigrationLockKey(const std::string& schema) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  Sha256("flightdeck.migrate." + schema, digest);
  uint64_t key = 0;
  for (int i = 0; i < 8; ++i) key = (key << 8) | digest[i];
  return static_cast<long long>(key);
}

bool IsPlainIdentifier(const std::string& name) {
  if (name.empty() || name.size() > 63) return false;
  if (!(std::islower(static_cast<unsigned char>(name[0])) || name[0] == '_')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return std::islower(u) || std::isdigit(u) || c == '_';
  });
}

// "0002_jobs.sql" -> version 2, name "jobs"; false for anything else.
bool ParseFileName(const std::string& file, int* version, std::string* name) {
  static constexpr std::string_view kSuffix = ".sql";
  if (file.size() <= kSuffix.size() ||
      file.compare(file.size() - kSuffix.size(), kSuffix.size(), kSuffix) != 0) {
    return false;
  }
  size_t underscore = file.find('_');
  if (underscore == 0 || underscore == std::string::npos || underscore > 9) return false;
  for (size_t i = 0; i < underscore; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(file[i]))) return false;
  }
  std::string rest = file.substr(underscore + 1, file.size() - kSuffix.size() - underscore - 1);
  if (rest.empty()) return false;
  for (char c : rest) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  *version = std::stoi(file.substr(0, underscore));
  *name = rest;
  return true;
}

bool IsConnectionLoss(const pqxx::sql_error& e, const pqxx::connection& conn) {
  const std::string& state = e.sqlstate();
  return state.rfind("08", 0) == 0 || state.rfind("57P0", 0) == 0 || !conn.is_open();
}

grpc::Status Refuse(const std::string& message) {
  return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, message);
}

// Everything after the advisory lock is taken; `applied` counts files committed by this call.
grpc::Status MigrateLocked(pqxx::connection& conn, const SchemaMigrations& set, int* applied) {
  const std::string schema = conn.quote_name(set.schema);
  const std::string table = schema + ".schema_migrations";
  {
    // Checked before creating so that a service whose role may not CREATE in the database
    // still starts against a schema an administrator prepared.
    pqxx::work tx(conn);
    if (tx.exec_params("SELECT 1 FROM pg_namespace WHERE nspname = $1", set.schema).empty()) {
      tx.exec("CREATE SCHEMA IF NOT EXISTS " + schema);
    }
    if (tx.exec_params1("SELECT to_regclass($1) IS NULL", table)[0].as<bool>()) {
      tx.exec("CREATE TABLE IF NOT EXISTS " + table +
              " (version int PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,"
              " applied_at timestamptz NOT NULL DEFAULT now())");
    }
    tx.commit();
  }

  struct Applied {
    std::string name;
    std::string checksum;
  };
  std::map<int, Applied> done;
  {
    pqxx::read_transaction tx(conn);
    for (const auto& row : tx.exec("SELECT version, name, checksum FROM " + table)) {
      done[row[0].as<int>()] = Applied{row[1].as<std::string>(), row[2].as<std::string>()};
    }
  }

  std::map<int, const Migration*> known;
  for (const Migration& m : set.migrations) known[m.version] = &m;
  const int newest_known = known.empty() ? 0 : known.rbegin()->first;

  for (const auto& [version, row] : done) {
    if (known.count(version) != 0) continue;
    int newest_applied = done.rbegin()->first;
    if (newest_applied > newest_known) {
      return Refuse("database schema " + set.schema + " is at version " +
                    std::to_string(newest_applied) + ", newer than this binary knows (" +
                    std::to_string(newest_known) + ")");
    }
    return Refuse("database schema " + set.schema + " has migration " + std::to_string(version) +
                  " (" + row.name + ") applied, which this binary does not know");
  }
  for (const auto& [version, row] : done) {
    const Migration& m = *known[version];
    std::string checksum = MigrationChecksum(m.sql);
    if (checksum != row.checksum) {
      return Refuse("migration " + MigrationFileName(set.schema, m) +
                    " changed after it was applied (recorded checksum " +
                    row.checksum.substr(0, 12) + ", file " + checksum.substr(0, 12) +
                    "); add a new migration instead");
    }
  }

  for (const auto& [version, m] : known) {
    if (done.count(version) != 0) continue;
    const std::string file = MigrationFileName(set.schema, *m);
    try {
      pqxx::work tx(conn);
      // Unqualified names in a file land in its own schema.
      tx.exec("SET LOCAL search_path TO " + schema + ", public");
      tx.exec(m->sql);
      tx.exec_params("INSERT INTO " + table + " (version, name, checksum) VALUES ($1, $2, $3)",
                     m->version, m->name, MigrationChecksum(m->sql));
      tx.commit();
    } catch (const pqxx::sql_error& e) {
      if (IsConnectionLoss(e, conn)) throw;
      return grpc::Status(grpc::StatusCode::INTERNAL,
                          "applying migration " + file + " failed: " + e.what());
    }
    ++*applied;
    log::Info("applied database migration", {{"schema", set.schema}, {"file", file}});
  }
  return grpc::Status::OK;
}

}  // namespace

std::string MigrationChecksum(const std::string& sql) { return Sha256(sql); }

std::string MigrationFileName(const std::string& schema, const Migration& migration) {
  char version[16];
  std::snprintf(version, sizeof(version), "%04d", migration.version);
  return schema + "/" + version + "_" + migration.name + ".sql";
}

void ValidateMigrations(SchemaMigrations& set) {
  std::stable_sort(set.migrations.begin(), set.migrations.end(),
                   [](const Migration& a, const Migration& b) { return a.version < b.version; });
  if (!set.error.empty()) return;
  if (!IsPlainIdentifier(set.schema)) {
    set.error = "migration schema name \"" + set.schema +
                "\" must be lower-case letters, digits and underscores";
    return;
  }
  for (size_t i = 0; i < set.migrations.size(); ++i) {
    const Migration& m = set.migrations[i];
    if (m.version <= 0) {
      set.error = "migration " + MigrationFileName(set.schema, m) + " has version " +
                  std::to_string(m.version) + "; versions start at 1";
      return;
    }
    if (i > 0 && set.migrations[i - 1].version == m.version) {
      set.error = "migrations " + MigrationFileName(set.schema, set.migrations[i - 1]) + " and " +
                  MigrationFileName(set.schema, m) + " share version " +
                  std::to_string(m.version);
      return;
    }
  }
}

SchemaMigrations LoadMigrationsFromDirectory(const std::string& dir, const std::string& schema) {
  namespace fs = std::filesystem;
  SchemaMigrations set;
  set.schema = schema;
  const fs::path folder = fs::path(dir) / schema;
  std::error_code ec;
  fs::directory_iterator it(folder, ec);
  if (ec) {
    set.error = "cannot read migrations directory " + folder.string() + ": " + ec.message();
    return set;
  }
  for (const fs::directory_entry& entry : it) {
    const std::string file = entry.path().filename().string();
    if (entry.path().extension() != ".sql") continue;
    Migration m;
    if (!ParseFileName(file, &m.version, &m.name)) {
      set.error = "migration file " + entry.path().string() +
                  " is not named NNNN_name.sql (digits, underscore, letters/digits/_)";
      return set;
    }
    std::ifstream in(entry.path(), std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in) {
      set.error = "cannot read migration file " + entry.path().string();
      return set;
    }
    m.sql = text.str();
    set.migrations.push_back(std::move(m));
  }
  if (set.migrations.empty()) {
    set.error = "no migrations in " + folder.string();
    return set;
  }
  ValidateMigrations(set);
  return set;
}

grpc::Status Migrate(Pool& pool, const SchemaMigrations& input, int* applied) {
  int count = 0;
  if (applied != nullptr) *applied = 0;
  SchemaMigrations set = input;
  ValidateMigrations(set);
  if (!set.error.empty()) return Refuse(set.error);

  const long long key = MigrationLockKey(set.schema);
  grpc::Status status = pool.WithConnection("migrate " + set.schema, [&](pqxx::connection& conn) {
    {
      pqxx::nontransaction tx(conn);
      tx.exec_params("SELECT pg_advisory_lock($1)", key);
    }
    // Session locks outlive transactions, so the lock must be released on every path before
    // the connection goes back to the pool.
    struct Unlock {
      pqxx::connection& conn;
      long long key;
      ~Unlock() {
        if (!conn.is_open()) return;  // the server dropped the lock with the session
        try {
          pqxx::nontransaction tx(conn);
          tx.exec_params("SELECT pg_advisory_unlock($1)", key);
        } catch (const std::exception& e) {
          log::Warn("releasing the migration lock failed", {{"error", e.what()}});
        }
      }
    } unlock{conn, key};
    return MigrateLocked(conn, set, &count);
  });
  if (applied != nullptr) *applied = count;
  return status;
}

}  // namespace flightdeck::db
