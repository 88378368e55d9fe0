# Tests of fd_incidents_logic: pure decisions (no network) and the outgoing calls (a local
# HTTP receiver and an in-process gRPC releases server on loopback).
if(NOT TARGET nlohmann_json::nlohmann_json)
  find_package(nlohmann_json 3 REQUIRED)
endif()

fd_add_test(incidents_logic_test LABEL unit TIMEOUT 120
  SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/logic_deadlines_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/logic_fingerprint_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/logic_ids_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/logic_intake_parse_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/logic_matchers_test.cc
  LIBS fd_incidents_logic)

fd_add_test(incidents_logic_calls_test LABEL unit TIMEOUT 120
  SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/logic_correlation_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/logic_notifier_test.cc
  LIBS fd_incidents_logic nlohmann_json::nlohmann_json)
