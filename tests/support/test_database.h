#pragma once

#include <string>

namespace flightdeck::test {

// A fresh, uniquely named database (fd_test_<random>) on the server of DATABASE_URL, dropped
// with its connections in the destructor, so that tests running in parallel never share state.
// DATABASE_URL must name a role allowed to CREATE DATABASE.
class TestDatabase {
 public:
  TestDatabase();  // throws std::runtime_error (naming the server) when it cannot create it
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  const std::string& url() const { return url_; }              // the new database
  const std::string& admin_url() const { return admin_url_; }  // DATABASE_URL as given
  const std::string& name() const { return name_; }

 private:
  std::string admin_url_;
  std::string name_;
  std::string url_;
};

}  // namespace flightdeck::test
