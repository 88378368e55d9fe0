# Smoke suites of the health service (services/health/smoke).
fd_add_test(health_smoke_unit_test LABEL unit
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/smoke_checks_test.cc
  LIBS fd_health_smoke)
fd_add_test(health_smoke_runner_test LABEL integration TIMEOUT 180
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/smoke_runner_test.cc ${CMAKE_CURRENT_SOURCE_DIR}/smoke_http_server.cc
  LIBS fd_health_smoke fd_migrations fd_test_support PkgConfig::PQXX)
