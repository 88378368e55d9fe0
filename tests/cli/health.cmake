# fdctl health command tests; the fake gateway runs in-process on a loopback port.
fd_add_test(cli_health_test LABEL unit
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/health_commands_test.cc ${CMAKE_CURRENT_SOURCE_DIR}/fake_gateway.cc
  LIBS fdctl_lib)
