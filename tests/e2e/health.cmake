# e2e tests of the health service: probes, roll-up, ServiceDown, smoke runs over REST.
fd_add_test(e2e_health LABEL e2e TIMEOUT 300
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/health_test.cc
          ${CMAKE_SOURCE_DIR}/tests/services/health/smoke_http_server.cc
  LIBS fd_e2e_support)
add_dependencies(e2e_health flightdeck-releases flightdeck-backups flightdeck-health
                 flightdeck-incidents flightdeck-gateway)
