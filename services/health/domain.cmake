# The health domain as a library (tests link it), and the process.
find_package(nlohmann_json 3 REQUIRED)
add_library(fd_health STATIC
  ${CMAKE_CURRENT_SOURCE_DIR}/target.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/target_secrets.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/thresholds.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/rollup.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/result_ring.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/store.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/recorder.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/coordinator.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/evaluator.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/service.cc)
target_link_libraries(fd_health PUBLIC flightdeck_proto fd_secrets fd_db fd_jobs fd_log fd_metrics fd_grpc
                      fd_trace fd_clock fd_config fd_net fd_text gRPC::grpc++ PkgConfig::PQXX
                      nlohmann_json::nlohmann_json)

add_executable(flightdeck-health ${CMAKE_CURRENT_SOURCE_DIR}/main.cc)
target_link_libraries(flightdeck-health PRIVATE fd_health fd_health_probe fd_health_smoke fd_metrics
                      fd_runtime)
