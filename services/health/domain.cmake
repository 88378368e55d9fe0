# (owned by the health-domain work) fd_health and flightdeck-health.
add_executable(flightdeck-health ${CMAKE_CURRENT_SOURCE_DIR}/main.cc)
target_link_libraries(flightdeck-health PRIVATE fd_runtime)
