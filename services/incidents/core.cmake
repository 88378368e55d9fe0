# fd_incidents_core: incidents' lifecycle and due-work, the incident/report methods of the
# service, and the flightdeck-incidents process. The three incidents libraries call each other
# (intake groups through Lifecycle; the lifecycle reads ConfigStore; the service lives in all
# three), so the process lists them twice for the static link to resolve.
if(NOT TARGET nlohmann_json::nlohmann_json)
  find_package(nlohmann_json 3 REQUIRED)
endif()
add_library(fd_incidents_core STATIC
  ${CMAKE_CURRENT_LIST_DIR}/incident_store.cc
  ${CMAKE_CURRENT_LIST_DIR}/lifecycle.cc
  ${CMAKE_CURRENT_LIST_DIR}/lifecycle_jobs.cc
  ${CMAKE_CURRENT_LIST_DIR}/notifications.cc
  ${CMAKE_CURRENT_LIST_DIR}/reports.cc
  ${CMAKE_CURRENT_LIST_DIR}/service.cc)
target_link_libraries(fd_incidents_core PUBLIC flightdeck_proto fd_secrets fd_db fd_protojson fd_jobs fd_clock fd_config
                      fd_grpc fd_log fd_trace fd_incidents_logic gRPC::grpc++ PkgConfig::PQXX
                      nlohmann_json::nlohmann_json)

add_executable(flightdeck-incidents ${CMAKE_CURRENT_LIST_DIR}/main.cc)
target_link_libraries(flightdeck-incidents PRIVATE
  fd_incidents_core fd_incidents_intake fd_incidents_logic
  fd_incidents_core fd_incidents_intake fd_incidents_logic fd_runtime)
