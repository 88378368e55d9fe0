// flightdeck-releases: release pipelines (DESIGN.md §3). Wiring only.
#include <memory>

#include "common/runtime/runtime.h"
#include "services/releases/service.h"
#include "services/releases/store.h"

namespace {

class Releases final : public flightdeck::runtime::Component {
 public:
  explicit Releases(flightdeck::runtime::Context& ctx)
      : store_(ctx.db), service_(store_, ctx.cache, ctx.clock, ctx.config.cache_ttl) {}
  std::vector<grpc::Service*> GrpcServices() override { return {&service_}; }

 private:
  flightdeck::releases::ReleaseStore store_;
  flightdeck::releases::ReleaseServiceImpl service_;
};

}  // namespace

int main() {
  flightdeck::runtime::ServiceSpec spec;
  spec.process_name = "flightdeck-releases";
  spec.schema = "releases";
  spec.default_grpc_port = 50051;
  spec.default_admin_port = 9101;
  spec.build = [](flightdeck::runtime::Context& ctx) { return std::make_unique<Releases>(ctx); };
  return flightdeck::runtime::RunService(spec);
}
