#include <cctype>
#include <map>

#include <grpcpp/server_context.h>
#include <nlohmann/json.hpp>

#include "common/clock/timestamps.h"
#include "common/grpc/metadata.h"
#include "common/jobs/jobs.h"
#include "common/log/log.h"
#include "common/text/utf8.h"
#include "services/health/smoke/checks.h"
#include "services/health/smoke/http_runner.h"
#include "services/health/smoke/smoke.h"
#include "services/health/smoke/store.h"
#include "services/health/request_checks.h"
#include "services/health/smoke/access.h"

namespace flightdeck::health {
namespace {

bool IsSuiteName(const std::string& s) {
  if (s.empty() || s.size() > 63) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return std::isalnum(static_cast<unsigned char>(s.front())) != 0;
}

// "" when `name` is a valid suite name, else why not (after the field name).
std::string SuiteNameProblem(const std::string& name) {
  if (name.empty()) return "is required";
  if (!IsSuiteName(name)) {
    return "must be 1-63 characters of a-z, 0-9, '-', '_' and '.', starting with a letter or digit";
  }
  return "";
}

grpc::Status CheckSuiteName(const std::string& field, const std::string& name) {
  FieldErrors errors;
  if (std::string problem = SuiteNameProblem(name); !problem.empty()) errors.Add(field, problem);
  return errors.ToStatus();
}

// Protobuf strings must be UTF-8 and the stored run (jsonb) holds no NUL; a failing body may be
// anything (and its cut may split a character), so invalid bytes and NULs become '?'.
std::string Utf8Excerpt(const std::string& body, size_t limit) {
  return text::ToStorableText(std::string_view(body).substr(0, limit), "?");
}

// The caller's role as the gateway passed it; "" for a call without it (another service).
std::string CallerRole(const grpc::ServerContext* ctx) { return rpc::CallerRole(ctx); }

// Why the egress policy refuses where `url` leads, resolving each host and port once per
// request however many checks name it.
std::string CachedRefusal(const net::EgressPolicy& egress, const std::string& url,
                          std::map<std::string, std::string>* seen) {
  std::string host;
  int port = 0;
  if (!net::HttpUrlHostPort(url, &host, &port)) return "";
  const std::string key = host + " " + std::to_string(port);
  auto it = seen->find(key);
  if (it == seen->end()) it = seen->emplace(key, net::HostPortRefusal(egress, host, port)).first;
  return it->second;
}

void BlankBodyExcerptsUnlessAllowed(const grpc::ServerContext* ctx, v1::SmokeRun* run) {
  if (smoke::MayReadBodyExcerpts(CallerRole(ctx))) return;
  for (v1::SmokeCheckResult& r : *run->mutable_results()) r.clear_body_excerpt();
}

// Relative check URLs in a suite are allowed without a base_url (a run names one): validate
// them against a stand-in base.
constexpr char kStandInBase[] = "http://base-url.invalid";

}  // namespace

SmokeServiceImpl::SmokeServiceImpl(db::Pool& pool, jobs::Queue& queue, const Clock& clock,
                                   std::function<void()> nudge, const secrets::KeyRing* keys,
                                   const net::EgressPolicy* egress)
    : clock_(clock),
      nudge_(std::move(nudge)),
      store_(std::make_unique<smoke::SmokeStore>(pool, queue, keys)),
      egress_(egress) {}

SmokeServiceImpl::~SmokeServiceImpl() = default;

grpc::Status SmokeServiceImpl::CreateSmokeRun(grpc::ServerContext* ctx, const v1::CreateSmokeRunRequest* req,
                                              v1::SmokeRun* resp) {
  v1::SmokeRun run;
  FieldErrors errors;
  errors.Add(smoke::ValidateBaseUrl(req->base_url()));
  if (!req->suite().empty()) {
    if (req->checks_size() > 0) errors.Add("suite", "give either a saved suite's name or checks, not both");
    if (std::string problem = SuiteNameProblem(req->suite()); !problem.empty()) errors.Add("suite", problem);
    if (!errors.empty()) return errors.ToStatus();
    v1::SmokeSuite suite;
    if (grpc::Status s = store_->GetSuite(req->suite(), &suite); !s.ok()) return s;
    if (!smoke::MayOverrideBaseUrl(suite, req->base_url(), CallerRole(ctx))) {
      return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                          "base_url: suite " + suite.name() +
                              " sends secret headers; only an admin may run it against another "
                              "base_url than its own");
    }
    run.set_suite(suite.name());
    run.set_base_url(req->base_url().empty() ? suite.base_url() : req->base_url());
    *run.mutable_checks() = suite.checks();
  } else if (req->checks_size() == 0) {
    errors.Add("checks", "give the checks to run, or a saved suite's name in suite");
  } else {
    run.set_base_url(req->base_url());
    *run.mutable_checks() = req->checks();
  }
  if (run.checks_size() > 0) smoke::NormalizeChecks(run.base_url(), run.mutable_checks(), &errors);
  if (!errors.empty()) return errors.ToStatus();
  if (egress_ != nullptr) {
    std::map<std::string, std::string> seen;
    for (int i = 0; i < run.checks_size(); ++i) {
      const std::string problem =
          CachedRefusal(*egress_, smoke::JoinUrl(run.base_url(), run.checks(i).url()), &seen);
      if (!problem.empty()) errors.Add("checks[" + std::to_string(i) + "].url", problem);
    }
    if (!errors.empty()) return errors.ToStatus();
  }
  run.set_release_id(req->release_id());
  run.set_created_by(rpc::CallerActor(ctx));
  if (grpc::Status s = store_->CreateRun(&run, clock_.Now()); !s.ok()) return s;
  log::Info("smoke run started", {{"run_id", run.id()}, {"suite", run.suite()}, {"checks", run.checks_size()},
                                  {"created_by", run.created_by()}});
  nudge_();
  *resp = std::move(run);
  smoke::RedactHeaders(resp->mutable_checks());
  return grpc::Status::OK;
}

grpc::Status SmokeServiceImpl::GetSmokeRun(grpc::ServerContext* ctx, const v1::GetSmokeRunRequest* req,
                                           v1::SmokeRun* resp) {
  std::string id;
  if (grpc::Status s = ResolveIdPrefix("id", "smoke run", req->id(),
                                       [this](const UuidRange& range, int limit, std::vector<std::string>* ids) {
                                         return store_->RunIdsInRange(range, limit, ids);
                                       },
                                       &id);
      !s.ok()) {
    return s;
  }
  if (grpc::Status s = store_->GetRun(id, resp); !s.ok()) return s;
  smoke::RedactHeaders(resp->mutable_checks());
  BlankBodyExcerptsUnlessAllowed(ctx, resp);
  return grpc::Status::OK;
}

grpc::Status SmokeServiceImpl::ListSmokeRuns(grpc::ServerContext* ctx, const v1::ListSmokeRunsRequest* req,
                                             v1::ListSmokeRunsResponse* resp) {
  FieldErrors errors;
  std::string state;
  if (!req->state().empty()) {
    std::optional<std::string> canonical = CanonicalEnum(req->state(), {"RUNNING", "PASSED", "FAILED"});
    if (canonical) {
      state = *canonical;
    } else {
      errors.Add("state", UnknownEnumValue(req->state(), {"RUNNING", "PASSED", "FAILED"}));
    }
  }
  if (req->page_size() < 0 || req->page_size() > 200) errors.Add("page_size", "must be 0..200");
  // Page tokens are "<created_at in microseconds>_<id>" of the last run of the page before.
  long long after_micros = 0;
  std::string after_id;
  if (!req->page_token().empty()) {
    const std::string& t = req->page_token();
    size_t sep = t.find('_');
    bool ok = sep != std::string::npos && sep > 0 && sep <= 18 &&
              t.find_first_not_of("0123456789") == sep && IsUuid(t.substr(sep + 1));
    if (ok) {
      after_micros = std::stoll(t.substr(0, sep));
      after_id = t.substr(sep + 1);
    } else {
      errors.Add("page_token", "not a token returned by a previous list call");
    }
  }
  if (!errors.empty()) return errors.ToStatus();
  const int limit = req->page_size() == 0 ? 20 : req->page_size();
  std::vector<v1::SmokeRun> runs;
  if (grpc::Status s = store_->ListRuns(req->suite(), state, after_micros, after_id, limit + 1, &runs); !s.ok()) {
    return s;
  }
  const bool more = static_cast<int>(runs.size()) > limit;
  if (more) runs.pop_back();
  for (v1::SmokeRun& run : runs) {
    smoke::RedactHeaders(run.mutable_checks());
    BlankBodyExcerptsUnlessAllowed(ctx, &run);
    *resp->add_runs() = std::move(run);
  }
  if (more && !resp->runs().empty()) {
    const v1::SmokeRun& last = resp->runs(resp->runs_size() - 1);
    long long micros = last.created_at().seconds() * 1000000LL + last.created_at().nanos() / 1000;
    resp->set_next_page_token(std::to_string(micros) + "_" + last.id());
  }
  return grpc::Status::OK;
}

grpc::Status SmokeServiceImpl::PutSmokeSuite(grpc::ServerContext*, const v1::SmokeSuite* req,
                                             v1::SmokeSuite* resp) {
  FieldErrors errors;
  if (std::string problem = SuiteNameProblem(req->name()); !problem.empty()) errors.Add("name", problem);
  errors.Add(smoke::ValidateBaseUrl(req->base_url()));
  v1::SmokeSuite suite = *req;
  suite.clear_updated_at();
  const std::string base = suite.base_url().empty() ? kStandInBase : suite.base_url();
  smoke::NormalizeChecks(base, suite.mutable_checks(), &errors);
  if (!errors.empty()) return errors.ToStatus();
  if (egress_ != nullptr) {
    std::map<std::string, std::string> seen;
    if (!suite.base_url().empty()) {
      const std::string problem = CachedRefusal(*egress_, suite.base_url(), &seen);
      if (!problem.empty()) errors.Add("base_url", problem);
    }
    for (int i = 0; i < suite.checks_size(); ++i) {
      // Relative URLs without a base are checked when a run names one.
      const std::string url = smoke::JoinUrl(suite.base_url(), suite.checks(i).url());
      if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) continue;
      const std::string problem = CachedRefusal(*egress_, url, &seen);
      if (!problem.empty()) errors.Add("checks[" + std::to_string(i) + "].url", problem);
    }
    if (!errors.empty()) return errors.ToStatus();
  }
  if (grpc::Status s = store_->PutSuite(suite, clock_.Now(), resp); !s.ok()) return s;
  smoke::RedactHeaders(resp->mutable_checks());
  return grpc::Status::OK;
}

grpc::Status SmokeServiceImpl::GetSmokeSuite(grpc::ServerContext*, const v1::GetSmokeSuiteRequest* req,
                                             v1::SmokeSuite* resp) {
  if (grpc::Status s = CheckSuiteName("name", req->name()); !s.ok()) return s;
  if (grpc::Status s = store_->GetSuite(req->name(), resp); !s.ok()) return s;
  smoke::RedactHeaders(resp->mutable_checks());
  return grpc::Status::OK;
}

grpc::Status SmokeServiceImpl::ListSmokeSuites(grpc::ServerContext*, const v1::ListSmokeSuitesRequest*,
                                               v1::ListSmokeSuitesResponse* resp) {
  std::vector<v1::SmokeSuite> suites;
  if (grpc::Status s = store_->ListSuites(&suites); !s.ok()) return s;
  for (v1::SmokeSuite& suite : suites) {
    smoke::RedactHeaders(suite.mutable_checks());
    *resp->add_suites() = std::move(suite);
  }
  return grpc::Status::OK;
}

grpc::Status SmokeServiceImpl::DeleteSmokeSuite(grpc::ServerContext*, const v1::DeleteSmokeSuiteRequest* req,
                                                v1::DeleteSmokeSuiteResponse* resp) {
  if (grpc::Status s = CheckSuiteName("name", req->name()); !s.ok()) return s;
  if (grpc::Status s = store_->DeleteSuite(req->name()); !s.ok()) return s;
  resp->set_name(req->name());
  return grpc::Status::OK;
}

void SmokeServiceImpl::RegisterJobs(jobs::Worker& worker) {
  worker.Handle(kSmokeRunJob, [this](const jobs::Job& job) {
    const nlohmann::json p = nlohmann::json::parse(job.payload, nullptr, false);
    if (!p.is_object() || !p.contains("run_id") || !p["run_id"].is_string()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "smoke_run job without a run_id");
    }
    return RunNextGroup(p["run_id"].get<std::string>());
  });
}

grpc::Status SmokeServiceImpl::RunNextGroup(const std::string& run_id) {
  v1::SmokeRun run;
  if (grpc::Status s = store_->GetRun(run_id, &run); !s.ok()) {
    // A run deleted by hand leaves nothing to do; anything else is retried by the queue.
    return s.error_code() == grpc::StatusCode::NOT_FOUND ? grpc::Status::OK : s;
  }
  if (run.state() != v1::SmokeRun::RUNNING) return grpc::Status::OK;
  const int recorded = run.results_size();
  if (recorded >= run.checks_size()) return grpc::Status::OK;
  std::pair<int, int> group{recorded, recorded + 1};
  for (const auto& g : smoke::Groups(run.checks())) {
    if (g.first == recorded) group = g;
  }

  std::vector<smoke::HttpRequest> requests;
  for (int i = group.first; i < group.second; ++i) {
    const v1::SmokeCheck& check = run.checks(i);
    smoke::HttpRequest& r = requests.emplace_back();
    r.method = check.method();
    r.url = smoke::JoinUrl(run.base_url(), check.url());
    const std::map<std::string, std::string> headers(check.headers().begin(), check.headers().end());
    r.headers.assign(headers.begin(), headers.end());
    r.body = check.body();
    r.timeout_ms = check.timeout_ms() > 0 ? check.timeout_ms() : smoke::kDefaultTimeoutMs;
  }
  const Clock::TimePoint started = clock_.Now();
  const std::vector<smoke::HttpOutcome> outcomes = smoke::PerformConcurrently(requests, egress_);

  std::vector<v1::SmokeCheckResult> results;
  for (size_t k = 0; k < outcomes.size(); ++k) {
    const v1::SmokeCheck& check = run.checks(group.first + static_cast<int>(k));
    const smoke::HttpOutcome& outcome = outcomes[k];
    v1::SmokeCheckResult& result = results.emplace_back();
    result.set_name(check.name());
    result.set_status_code(outcome.status);
    result.set_latency_ms(outcome.latency_ms);
    SetTimestamp(result.mutable_started_at(), started);
    const std::string unmet = smoke::FirstUnmetExpectation(check, outcome);
    result.set_passed(unmet.empty());
    result.set_error(Utf8Excerpt(unmet, 2048));
    if (!unmet.empty()) {
      result.set_body_excerpt(Utf8Excerpt(outcome.body, smoke::kBodyExcerptBytes));
      // Never the headers: they may carry credentials.
      log::Info("smoke check failed", {{"run_id", run_id}, {"check", check.name()},
                                       {"url", requests[k].url}, {"error", result.error()}});
    }
  }
  bool applied = false;
  if (grpc::Status s = store_->RecordResults(run_id, recorded, results, clock_.Now(), &applied); !s.ok()) {
    return s;
  }
  if (!applied) {
    log::Info("smoke check group already recorded by another attempt", {{"run_id", run_id}, {"from", recorded}});
  } else if (group.second >= run.checks_size()) {
    int failed = 0;
    for (const auto& r : run.results()) failed += r.passed() ? 0 : 1;
    for (const auto& r : results) failed += r.passed() ? 0 : 1;
    log::Info("smoke run finished", {{"run_id", run_id}, {"state", failed == 0 ? "PASSED" : "FAILED"},
                                     {"failed", failed}});
  } else {
    nudge_();
  }
  return grpc::Status::OK;
}

}  // namespace flightdeck::health
