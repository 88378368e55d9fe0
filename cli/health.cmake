target_sources(fdctl_lib PRIVATE
  ${CMAKE_CURRENT_SOURCE_DIR}/health_request.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/health_format.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/health_commands.cc)
