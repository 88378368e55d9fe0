# fdctl incident commands against the in-process fake gateway.
fd_add_test(cli_incident_test LABEL unit
  SOURCES incident_commands_test.cc fake_gateway.cc
  LIBS fdctl_lib)
