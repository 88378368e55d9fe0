#pragma once

#include <string>
#include <vector>

#include <grpcpp/support/status.h>

#include "common/clock/clock.h"
#include "flightdeck/v1/incidents.pb.h"
#include "services/incidents/matchers.h"
#include "services/incidents/model.h"

namespace flightdeck::db {
class Pool;
}
namespace pqxx {
class transaction_base;
}

// Integrations, escalation policies, silences, inhibition rules and settings (tables in
// migrations/incidents/0003_intake.sql). Validation errors are INVALID_ARGUMENT naming the field.
namespace flightdeck::incidents {

class ConfigStore {
 public:
  ConfigStore(db::Pool& pool, const Clock& clock);

  grpc::Status CreateIntegration(const v1::Integration& in, v1::Integration* out);  // ALREADY_EXISTS
  grpc::Status GetIntegration(const std::string& name, v1::Integration* out);
  grpc::Status IntegrationByRoutingKey(const std::string& routing_key, v1::Integration* out);  // NOT_FOUND
  grpc::Status ListIntegrations(v1::ListIntegrationsResponse* out);
  grpc::Status DeleteIntegration(const std::string& name);

  // Upsert by name; secrets of targets are kept when a target is re-sent without one.
  grpc::Status PutEscalationPolicy(const v1::EscalationPolicy& in, v1::EscalationPolicy* out);
  // With secrets when `with_secrets` (for delivery), never for API answers.
  grpc::Status GetEscalationPolicy(const std::string& name, bool with_secrets, v1::EscalationPolicy* out);
  grpc::Status ListEscalationPolicies(v1::ListEscalationPoliciesResponse* out);
  grpc::Status DeleteEscalationPolicy(const std::string& name);

  grpc::Status CreateSilence(const v1::Silence& in, const std::string& actor, v1::Silence* out);
  grpc::Status ListSilences(bool include_expired, v1::ListSilencesResponse* out);
  grpc::Status ExpireSilence(const std::string& id, v1::Silence* out);

  grpc::Status CreateInhibitionRule(const v1::InhibitionRule& in, v1::InhibitionRule* out);
  grpc::Status ListInhibitionRules(v1::ListInhibitionRulesResponse* out);
  grpc::Status DeleteInhibitionRule(const std::string& id);

  grpc::Status GetSettings(v1::IncidentSettings* out);  // defaults filled in
  grpc::Status PutSettings(const v1::IncidentSettings& in, v1::IncidentSettings* out);
  // The settings as typed values, read inside a transaction (intake, lifecycle).
  struct Settings {
    std::vector<std::string> group_by{"service", "environment"};
    Severity critical = Severity::kSev2;
    std::vector<Severity> auto_rollback{Severity::kSev1, Severity::kSev2};
    std::string default_escalation_policy;
  };
  Settings ReadSettings(pqxx::transaction_base& tx);
  std::vector<InhibitRule> ReadInhibitRules(pqxx::transaction_base& tx);
  // Active silences at `now` as (id, matchers).
  std::vector<std::pair<std::string, Matchers>> ReadActiveSilences(pqxx::transaction_base& tx, Clock::TimePoint now);

 private:
  db::Pool& pool_;
  const Clock& clock_;
};

}  // namespace flightdeck::incidents
