# Tests of the health domain (services/health/*.cc but probe/ and smoke/).
fd_add_test(health_domain_unit_test LABEL unit
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/domain_unit_test.cc
  LIBS fd_health)
fd_add_test(health_domain_store_test LABEL integration TIMEOUT 120
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/domain_store_test.cc
  LIBS fd_health fd_migrations fd_test_support)
fd_add_test(health_domain_replicas_test LABEL integration TIMEOUT 180
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/domain_replicas_test.cc
  LIBS fd_health fd_health_probe fd_migrations fd_test_support)
fd_add_test(health_domain_secrets_test LABEL integration TIMEOUT 120
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/domain_secrets_test.cc
  LIBS fd_health fd_health_probe fd_health_probe_test_support fd_migrations fd_test_support)
