// End to end: every metric that Flightdeck's alert rules and Grafana dashboard read
// (monitoring/prometheus/rules/*.yml, monitoring/grafana/*.json) is one that the running
// processes expose on their /metrics. A rule on a renamed or never-exported metric evaluates to
// nothing and never fires; this test is what notices.
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/http_client.h"
#include "tests/e2e/stack.h"

namespace flightdeck::test {
namespace {

// The series names of one Prometheus text exposition: every family from its "# TYPE" line
// (with _bucket/_sum/_count for histograms and summaries) and every sample line's name.
std::set<std::string> ExposedNames(const std::string& body) {
  std::set<std::string> names;
  std::istringstream lines(body);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("# TYPE ", 0) == 0) {
      std::istringstream words(line.substr(7));
      std::string name, type;
      words >> name >> type;
      names.insert(name);
      if (type == "histogram") names.insert(name + "_bucket");
      if (type == "histogram" || type == "summary") {
        names.insert(name + "_sum");
        names.insert(name + "_count");
      }
    } else if (!line.empty() && line[0] != '#') {
      names.insert(line.substr(0, line.find_first_of("{ ")));
    }
  }
  return names;
}

TEST(MonitoringMetrics, EveryMetricTheRulesAndDashboardReadIsExposed) {
  // Exporting traces, as a deployment does (k8s/ points at a collector): the span counters exist
  // only where there is an exporter.
  OtlpReceiver collector;
  Stack stack({{"OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint()}});
  ASSERT_TRUE(stack.WaitReady()) << stack.Logs();

  std::set<std::string> exposed;
  std::vector<std::string> urls = {stack.gateway_url() + "/metrics"};
  for (const char* service : {"releases", "backups", "health", "incidents"}) {
    urls.push_back(stack.admin_url(service) + "/metrics");
  }
  for (const std::string& url : urls) {
    HttpResponse r = HttpRequest("GET", url);
    ASSERT_EQ(r.status, 200) << url << ": " << r.error;
    std::set<std::string> names = ExposedNames(r.body);
    EXPECT_FALSE(names.empty()) << url;
    exposed.insert(names.begin(), names.end());
  }
  // Made by Prometheus for every scraped target, not by the processes.
  exposed.insert("up");

  const std::string src = FD_SOURCE_DIR;
  CommandResult used = RunCommand({FD_PYTHON3, src + "/tests/monitoring/metric_names.py",
                                   src + "/monitoring/prometheus/rules/flightdeck.yml",
                                   src + "/monitoring/grafana/flightdeck.json"});
  ASSERT_EQ(used.exit_code, 0) << used.output;
  std::istringstream names(used.output);
  std::string name;
  int checked = 0;
  while (std::getline(names, name)) {
    if (name.empty()) continue;
    ++checked;
    EXPECT_TRUE(exposed.count(name)) << name << " is read by the rules or the dashboard but no "
                                     << "process exposes it";
  }
  // The extractor found the rules' metrics at all (an empty list would pass vacuously).
  EXPECT_GE(checked, 10) << used.output;
}

}  // namespace
}  // namespace flightdeck::test
