target_sources(fdctl_lib PRIVATE
  ${CMAKE_CURRENT_SOURCE_DIR}/incident_commands.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/incident_request.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/incident_format.cc)
