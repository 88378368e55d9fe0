# fd_incidents_logic: the incidents service's pure decisions (fingerprints, matchers, severity,
# deadlines, intake parsing, report arithmetic, deploy correlation) and its outgoing calls
# (webhooks, the releases client). No database: intake and lifecycle build on it.
if(NOT TARGET nlohmann_json::nlohmann_json)
  find_package(nlohmann_json 3 REQUIRED)
endif()
if(NOT TARGET PkgConfig::RE2)
  pkg_check_modules(RE2 REQUIRED IMPORTED_TARGET GLOBAL re2)
endif()

add_library(fd_incidents_logic STATIC
  ${CMAKE_CURRENT_LIST_DIR}/correlation.cc
  ${CMAKE_CURRENT_LIST_DIR}/deadlines.cc
  ${CMAKE_CURRENT_LIST_DIR}/fingerprint.cc
  ${CMAKE_CURRENT_LIST_DIR}/intake_parse.cc
  ${CMAKE_CURRENT_LIST_DIR}/matchers.cc
  ${CMAKE_CURRENT_LIST_DIR}/notifier.cc
  ${CMAKE_CURRENT_LIST_DIR}/report_math.cc
  ${CMAKE_CURRENT_LIST_DIR}/severity.cc
  ${CMAKE_CURRENT_LIST_DIR}/validation.cc
  ${CMAKE_CURRENT_LIST_DIR}/ids.cc)
target_link_libraries(fd_incidents_logic
  PUBLIC flightdeck_proto fd_clock fd_grpc fd_log fd_net gRPC::grpc++
  PUBLIC fd_notify
  PRIVATE OpenSSL::Crypto PkgConfig::CURL PkgConfig::RE2 nlohmann_json::nlohmann_json)
