# fdctl window commands against the in-process fake gateway.
fd_add_test(cli_window_test LABEL unit
  SOURCES window_commands_test.cc fake_gateway.cc
  LIBS fdctl_lib)
