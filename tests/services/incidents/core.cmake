# Tests of the incidents lifecycle, due-work, notifications, correlation and reports: real
# PostgreSQL (DATABASE_URL), fake clock, jobs driven with Worker::RunOnce.
set(FD_INCIDENTS_CORE_TEST_LIBS
  fd_incidents_core fd_incidents_intake fd_incidents_logic
  fd_incidents_core fd_incidents_intake fd_incidents_logic
  fd_migrations fd_test_support)
fd_add_test(incidents_core_lifecycle_test LABEL integration TIMEOUT 300
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/core_lifecycle_test.cc
          ${CMAKE_CURRENT_LIST_DIR}/core_close_test.cc
          ${CMAKE_CURRENT_LIST_DIR}/core_requests_test.cc
          ${CMAKE_CURRENT_LIST_DIR}/core_visibility_test.cc
          ${CMAKE_CURRENT_LIST_DIR}/core_pages_test.cc
  LIBS ${FD_INCIDENTS_CORE_TEST_LIBS})
fd_add_test(incidents_core_due_work_test LABEL integration TIMEOUT 300
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/core_notify_test.cc
          ${CMAKE_CURRENT_LIST_DIR}/core_correlation_test.cc
          ${CMAKE_CURRENT_LIST_DIR}/core_report_test.cc
          ${CMAKE_CURRENT_LIST_DIR}/core_clock_jump_test.cc
  LIBS ${FD_INCIDENTS_CORE_TEST_LIBS} nlohmann_json::nlohmann_json)
