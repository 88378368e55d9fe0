# Integration tests of incidents intake and configuration against the real PostgreSQL
# (DATABASE_URL). The alerts test groups through Lifecycle (fd_incidents_core); the three
# incidents libraries call each other, so they are listed twice for the static link.
fd_add_test(incidents_config_test LABEL integration
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/intake_config_test.cc
  LIBS fd_incidents_intake fd_incidents_logic fd_migrations fd_test_support)
fd_add_test(incidents_intake_test LABEL integration
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/intake_alerts_test.cc
  LIBS fd_incidents_intake fd_incidents_core fd_incidents_logic
       fd_incidents_intake fd_incidents_core fd_incidents_logic fd_jobs fd_migrations fd_test_support)
