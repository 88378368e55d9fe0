# fd_incidents_intake: alert intake (dedup, silences, inhibition, grouping) and configuration,
# with the gRPC methods of those two areas.
if(NOT TARGET nlohmann_json::nlohmann_json)
  find_package(nlohmann_json 3 REQUIRED)
endif()
add_library(fd_incidents_intake STATIC
  ${CMAKE_CURRENT_LIST_DIR}/intake.cc
  ${CMAKE_CURRENT_LIST_DIR}/alert_store.cc
  ${CMAKE_CURRENT_LIST_DIR}/config_store.cc
  ${CMAKE_CURRENT_LIST_DIR}/policy_document.cc
  ${CMAKE_CURRENT_LIST_DIR}/service_intake.cc
  ${CMAKE_CURRENT_LIST_DIR}/service_config.cc)
target_link_libraries(fd_incidents_intake PUBLIC fd_incidents_logic fd_secrets flightdeck_proto fd_db fd_protojson fd_clock
                      fd_grpc fd_log fd_trace OpenSSL::Crypto nlohmann_json::nlohmann_json)
