#include <curl/curl.h>

#include <iostream>
#include <string>
#include <vector>

#include "cli/command.h"

int main(int argc, char** argv) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const std::vector<std::string> args(argv + 1, argv + argc);
  const int code =
      flightdeck::cli::Run(args, flightdeck::cli::ProcessEnv(), {std::cin, std::cout, std::cerr});
  curl_global_cleanup();
  return code;
}
