#include "tests/support/test_database.h"

#include <gtest/gtest.h>

#include <pqxx/pqxx>
#include <random>
#include <stdexcept>

#include "common/db/db.h"
#include "tests/support/env.h"

namespace flightdeck::test {
namespace {

std::string RandomSuffix() {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::random_device device;
  std::mt19937_64 rng(device());
  std::uniform_int_distribution<size_t> pick(0, sizeof(kAlphabet) - 2);
  std::string suffix;
  for (int i = 0; i < 16; ++i) suffix += kAlphabet[pick(rng)];
  return suffix;
}

}  // namespace

TestDatabase::TestDatabase()
    : admin_url_(RequireEnv("DATABASE_URL")), name_("fd_test_" + RandomSuffix()) {
  url_ = db::WithDatabase(admin_url_, name_);
  try {
    pqxx::connection admin(admin_url_);
    pqxx::nontransaction tx(admin);
    tx.exec("CREATE DATABASE " + tx.quote_name(name_));
  } catch (const std::exception& e) {
    throw std::runtime_error("cannot create test database " + name_ + " on " +
                             db::RedactUrl(admin_url_) + ": " + e.what());
  }
}

TestDatabase::~TestDatabase() {
  try {
    pqxx::connection admin(admin_url_);
    pqxx::nontransaction tx(admin);
    tx.exec("DROP DATABASE IF EXISTS " + tx.quote_name(name_) + " WITH (FORCE)");
  } catch (const std::exception& e) {
    ADD_FAILURE() << "cannot drop test database " << name_ << ": " << e.what();
  }
}

}  // namespace flightdeck::test
