#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <grpcpp/support/status.h>

#include "common/clock/clock.h"
#include "common/net/egress.h"
#include "common/secrets/secrets.h"
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

//
// Notification targets' url and secret are credentials (a Slack incoming-webhook URL is one): they
// are stored sealed with the master key (`keys`) and opened when read. Values stored before
// sealing existed read as plain text and are sealed when their policy is next written. With no
// key (null or empty ring), a policy with notification targets is refused (FAILED_PRECONDITION
// naming the field and FLIGHTDECK_MASTER_KEY).
class ConfigStore {
 public:
  ConfigStore(db::Pool& pool, const Clock& clock, const secrets::KeyRing* keys = nullptr);
  // Escalation policies whose webhook targets lead where it refuses are INVALID_ARGUMENT.
  void SetEgressPolicy(const net::EgressPolicy* egress) { egress_ = egress; }

  // Routing keys are stored as SHA-256 hashes: `out` of CreateIntegration is the only answer that
  // carries the key; Get and List show it masked ("****abcd": its last 4 characters).
  grpc::Status CreateIntegration(const v1::Integration& in, v1::Integration* out);  // ALREADY_EXISTS
  grpc::Status GetIntegration(const std::string& name, v1::Integration* out);
  grpc::Status IntegrationByRoutingKey(const std::string& routing_key, v1::Integration* out);  // NOT_FOUND
  // The lists answer a page of at most kMaxPage (INVALID_ARGUMENT past it), by name.
  grpc::Status ListIntegrations(const v1::ListIntegrationsRequest& request, v1::ListIntegrationsResponse* out);
  grpc::Status DeleteIntegration(const std::string& name);

  // Upsert by name; secrets of targets are kept when a target is re-sent without one.
  grpc::Status PutEscalationPolicy(const v1::EscalationPolicy& in, v1::EscalationPolicy* out);
  // With secrets when `with_secrets` (for delivery), never for API answers.
  grpc::Status GetEscalationPolicy(const std::string& name, bool with_secrets, v1::EscalationPolicy* out);
  grpc::Status ListEscalationPolicies(const v1::ListEscalationPoliciesRequest& request,
                                      v1::ListEscalationPoliciesResponse* out);
  grpc::Status DeleteEscalationPolicy(const std::string& name);
  // For copies of a target's url kept elsewhere (incidents.notifications): sealed when a key is
  // configured, else as given; OpenCopy takes a value without the sealed prefix as plain text.
  // `where`: the copy's column and row, which the sealed value is bound to.
  grpc::Status SealCopy(const std::string& plain, const secrets::Binding& where, std::string* stored) const;
  grpc::Status OpenCopy(const std::string& stored, const secrets::Binding& where, std::string* plain) const;

  grpc::Status CreateSilence(const v1::Silence& in, const std::string& actor, v1::Silence* out);
  // A page (at most kMaxPage, INVALID_ARGUMENT past it) in start order; expired ones only when
  // asked, since they accumulate forever.
  grpc::Status ListSilences(const v1::ListSilencesRequest& request, v1::ListSilencesResponse* out);
  grpc::Status ExpireSilence(const std::string& id, v1::Silence* out);

  grpc::Status CreateInhibitionRule(const v1::InhibitionRule& in, v1::InhibitionRule* out);
  grpc::Status ListInhibitionRules(const v1::ListInhibitionRulesRequest& request,
                                   v1::ListInhibitionRulesResponse* out);
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
  // Holds the creation of rules back until `tx` ends (a shared lock), so that what the batch
  // marks as able to inhibit is decided with every rule there is when it commits.
  std::vector<InhibitRule> ReadInhibitRules(pqxx::transaction_base& tx);
  // Active silences at `now` as (id, matchers).
  std::vector<std::pair<std::string, Matchers>> ReadActiveSilences(pqxx::transaction_base& tx, Clock::TimePoint now);

 private:
  db::Pool& pool_;
  const Clock& clock_;
  const secrets::KeyRing& keys_;
  const net::EgressPolicy* egress_ = nullptr;
  // Stored rules parsed, by id and stored text: their regular expressions are compiled once,
  // not for every batch. Holds the rules of the latest read only.
  std::mutex parsed_rules_mu_;
  std::map<std::string, InhibitRule> parsed_rules_;
};

}  // namespace flightdeck::incidents
