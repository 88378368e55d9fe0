#pragma once

#include <string>

namespace flightdeck::test {

// The value of an environment variable an integration test cannot run without. When it is
// unset or empty the test fails loudly (never skips) and the process exits, naming the variable
// and how to provide it.
std::string RequireEnv(const char* name);

}  // namespace flightdeck::test
