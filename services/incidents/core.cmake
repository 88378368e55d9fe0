# (owned by the incidents-core work) fd_incidents_core and flightdeck-incidents.
add_executable(flightdeck-incidents ${CMAKE_CURRENT_SOURCE_DIR}/main.cc)
target_link_libraries(flightdeck-incidents PRIVATE fd_runtime)
