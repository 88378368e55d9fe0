#include "tests/support/env.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace flightdeck::test {

std::string RequireEnv(const char* name) {
  const char* value = std::getenv(name);
  if (value != nullptr && *value != '\0') return value;
  std::string example;
  if (std::string_view(name) == "DATABASE_URL") {
    example =
        " (a role that may CREATE DATABASE, e.g. postgres://postgres@127.0.0.1:5432/postgres)";
  } else if (std::string_view(name) == "REDIS_URL") {
    example = " (e.g. redis://127.0.0.1:6379)";
  }
  const std::string message = std::string(name) +
                              " is not set: this integration test needs a real server. Run it "
                              "through scripts/test, which starts private servers, or export " +
                              name + example;
  ADD_FAILURE() << message;
  std::fprintf(stderr, "FATAL: %s\n", message.c_str());
  std::fflush(stderr);
  // Carrying on with an empty URL would only produce confusing connection errors.
  std::exit(EXIT_FAILURE);
}

}  // namespace flightdeck::test
