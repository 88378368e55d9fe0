// flightdeck-backups: backup targets, scheduled and on-demand backups, verification, retention, restore (DESIGN.md §3).
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
  spec.process_name = "flightdeck-backups";
  spec.schema = "backups";
  spec.default_grpc_port = 50052;
  spec.default_admin_port = 9102;
  spec.build = [](flightdeck::runtime::Context&) { return std::make_unique<Empty>(); };
  return flightdeck::runtime::RunService(spec);
}
