// flightdeck-health: active probes, aggregate health, smoke suites (DESIGN.md §3).
// The process runs, migrates its schema and serves grpc.health.v1 and its admin port; its
// domain arrives with its own issue.
#include <memory>

#include "common/runtime/runtime.h"

namespace {

class Empty final : public flightdeck::runtime::Component {
 public:
  std::vector<grpc::Service*> GrpcServices() override { return {}; }
};

}  // namespace

int main() {
  flightdeck::runtime::ServiceSpec spec;
  spec.process_name = "flightdeck-health";
  spec.schema = "health";
  spec.default_grpc_port = 50053;
  spec.default_admin_port = 9103;
  spec.build = [](flightdeck::runtime::Context&) { return std::make_unique<Empty>(); };
  return flightdeck::runtime::RunService(spec);
}
