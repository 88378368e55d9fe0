# End to end: incidents behind the gateway (PagerDuty-style intake, signed escalation webhooks,
# deploy correlation) and a real Alertmanager delivering to the gateway.
fd_add_test(e2e_incidents LABEL e2e TIMEOUT 300
  SOURCES incidents_test.cc
  LIBS fd_e2e_support flightdeck_proto OpenSSL::Crypto)
add_dependencies(e2e_incidents flightdeck-releases flightdeck-backups flightdeck-health
                 flightdeck-incidents flightdeck-gateway)

fd_add_test(e2e_alertmanager LABEL e2e TIMEOUT 300
  SOURCES alertmanager_test.cc
  LIBS fd_e2e_support)
add_dependencies(e2e_alertmanager flightdeck-releases flightdeck-backups flightdeck-health
                 flightdeck-incidents flightdeck-gateway)

fd_add_test(e2e_incidents_trust LABEL e2e TIMEOUT 300
  SOURCES incidents_trust_test.cc
  LIBS fd_e2e_support)
add_dependencies(e2e_incidents_trust flightdeck-releases flightdeck-backups flightdeck-health
                 flightdeck-incidents flightdeck-gateway)
