#include "services/releases/smoke_runs.h"

#include <grpcpp/client_context.h>

#include "common/grpc/channel.h"
#include "common/grpc/metadata.h"
#include "flightdeck/v1/health.grpc.pb.h"

namespace flightdeck::releases {
namespace {

std::string Summary(const v1::SmokeRun& run) {
  std::string out = std::to_string(run.passed_count()) + "/" +
                    std::to_string(run.passed_count() + run.failed_count()) + " checks passed";
  for (const v1::SmokeCheckResult& r : run.results()) {
    if (!r.passed()) out += "; " + r.name() + ": " + r.error();
  }
  return out;
}

class SmokeRunsClient final : public SmokeRuns {
 public:
  explicit SmokeRunsClient(std::shared_ptr<grpc::Channel> channel)
      : stub_(v1::SmokeService::NewStub(std::move(channel))) {}

  grpc::Status Start(const std::string& suite, const std::string& actor,
                     const std::string& release_id, std::string* run_id) override {
    grpc::ClientContext context;
    context.set_deadline(rpc::DeadlineAfter(std::chrono::seconds(10)));
    context.AddMetadata(rpc::kActorKey, actor);
    v1::CreateSmokeRunRequest request;
    request.set_suite(suite);
    request.set_release_id(release_id);
    v1::SmokeRun run;
    grpc::Status s = stub_->CreateSmokeRun(&context, request, &run);
    if (s.ok()) *run_id = run.id();
    return s;
  }

  grpc::Status State(const std::string& run_id, std::string* state, std::string* summary) override {
    grpc::ClientContext context;
    context.set_deadline(rpc::DeadlineAfter(std::chrono::seconds(10)));
    v1::GetSmokeRunRequest request;
    request.set_id(run_id);
    v1::SmokeRun run;
    grpc::Status s = stub_->GetSmokeRun(&context, request, &run);
    if (!s.ok()) return s;
    *state = v1::SmokeRun::State_Name(run.state());
    *summary = Summary(run);
    return grpc::Status::OK;
  }

 private:
  std::unique_ptr<v1::SmokeService::Stub> stub_;
};

}  // namespace

std::unique_ptr<SmokeRuns> MakeSmokeRunsClient(std::shared_ptr<grpc::Channel> channel) {
  return std::make_unique<SmokeRunsClient>(std::move(channel));
}

}  // namespace flightdeck::releases
