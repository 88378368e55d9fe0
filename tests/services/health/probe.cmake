# Tests of the health probe engine and scheduler (services/health/probe).
add_library(fd_health_probe_test_support STATIC
  ${CMAKE_CURRENT_LIST_DIR}/probe_support/http_test_server.cc)
target_include_directories(fd_health_probe_test_support PUBLIC ${CMAKE_SOURCE_DIR})
target_link_libraries(fd_health_probe_test_support PUBLIC Threads::Threads)

fd_add_test(health_probe_scheduling_test LABEL unit
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/probe_scheduling_test.cc
  LIBS fd_health_probe)
fd_add_test(health_probe_kinds_test LABEL integration TIMEOUT 120
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/probe_kinds_test.cc
  LIBS fd_health_probe fd_health_probe_test_support fd_test_support)
fd_add_test(health_probe_scheduler_test LABEL integration TIMEOUT 120
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/probe_scheduler_test.cc
  LIBS fd_health_probe fd_health_probe_test_support)
