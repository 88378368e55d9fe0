#include "common/runtime/gauge_refresh.h"

#include "common/log/log.h"

namespace flightdeck::runtime {

metrics::Refresher::Refresh LoggedRefresh(std::string what, std::function<grpc::Status()> refresh) {
  return [what = std::move(what), refresh = std::move(refresh)] {
    grpc::Status s = refresh();
    if (!s.ok()) {
      log::Warn("refreshing gauges failed", {{"gauges", what}, {"error", s.error_message()}});
    }
    return s.ok();
  };
}

}  // namespace flightdeck::runtime
