#include "services/incidents/config_store.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <set>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pqxx/pqxx>

#include "common/clock/timestamps.h"
#include "common/db/db.h"
#include "common/log/log.h"
#include "common/db/detail_json.h"
#include "services/incidents/alert_store.h"
#include "services/incidents/ids.h"
#include "services/incidents/incident_store.h"
#include "services/incidents/notifier.h"
#include "services/incidents/policy_document.h"
#include "services/incidents/severity.h"
#include "services/incidents/validation.h"

namespace flightdeck::incidents {
namespace {

grpc::Status Invalid(const std::string& message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message);
}

std::string Micros(const std::string& column) {
  return "(extract(epoch from " + column + ") * 1000000)::bigint";
}

// Names of integrations and policies: they appear in URLs and logs.
bool IsConfigName(const std::string& s) {
  if (s.empty() || s.size() > 63) return false;
  auto lower_digit = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!lower_digit(s.front())) return false;
  return std::all_of(s.begin(), s.end(),
                     [&](char c) { return lower_digit(c) || c == '.' || c == '_' || c == '-'; });
}

bool IsLabelName(const std::string& s) {
  if (s.empty()) return false;
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (!alpha(s.front())) return false;
  return std::all_of(s.begin(), s.end(), [&](char c) { return alpha(c) || (c >= '0' && c <= '9'); });
}

std::string RandomRoutingKey() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return {};
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xF]);
  }
  return out;
}

void CheckSeverityField(const std::string& value, const std::string& field, FieldErrors* errors) {
  Severity s;
  if (!value.empty() && !ParseSeverity(value, &s)) {
    errors->Add(field, EnumProblem(value, {"SEV1", "SEV2", "SEV3", "SEV4"}));
  }
}

std::string CanonicalSeverity(const std::string& value) {
  Severity s;
  return !value.empty() && ParseSeverity(value, &s) ? SeverityName(s) : value;
}

const secrets::KeyRing kNoKeys;

// What is stored of a routing key (migrations/incidents/0007_routing_keys_hashed.sql).
std::string RoutingKeyHash(const std::string& key) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(key.data(), key.size(), digest, &len, EVP_sha256(), nullptr);
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xF]);
  }
  return out;
}

constexpr char kMaskedKeyStars[] = "****";

void IntegrationFromRow(const pqxx::row& row, v1::Integration* out) {
  out->Clear();
  out->set_name(row[0].as<std::string>());
  // Only the last four characters are kept in clear: enough to tell keys apart.
  out->set_routing_key(std::string(kMaskedKeyStars) + row[1].as<std::string>());
  out->set_service(row[2].as<std::string>());
  out->set_environment(row[3].as<std::string>());
  out->set_severity_override(row[4].as<std::string>());
  out->set_default_severity(row[5].as<std::string>());
  out->set_escalation_policy(row[6].as<std::string>());
  SetTimestamp(out->mutable_created_at(), row[7].as<long long>());
}

void SilenceFromRow(const pqxx::row& row, Clock::TimePoint now, v1::Silence* out) {
  out->Clear();
  out->set_id(row[0].as<std::string>());
  v1::Silence matchers;
  db::FromDetailJson("{\"matchers\":" + row[1].as<std::string>() + "}", &matchers);
  *out->mutable_matchers() = matchers.matchers();
  long long starts = row[2].as<long long>();
  long long ends = row[3].as<long long>();
  SetTimestamp(out->mutable_starts_at(), starts);
  SetTimestamp(out->mutable_ends_at(), ends);
  out->set_comment(row[4].as<std::string>());
  out->set_created_by(row[5].as<std::string>());
  SetTimestamp(out->mutable_created_at(), row[6].as<long long>());
  out->set_active(starts <= ToMicros(now) && ToMicros(now) < ends);
}

std::string MatchersJson(const google::protobuf::RepeatedPtrField<v1::Matcher>& matchers) {
  v1::Silence holder;
  *holder.mutable_matchers() = matchers;
  for (auto& m : *holder.mutable_matchers()) {
    if (m.op().empty()) m.set_op("=");
  }
  std::string json = db::DetailJson(holder);  // {"matchers":[...]}
  size_t start = json.find('[');
  return start == std::string::npos ? "[]" : json.substr(start, json.rfind(']') - start + 1);
}

// The page a configuration list answers: page_size 1..kMaxPage (0: kMaxPage) and page_token,
// the number of entries the previous pages held. INVALID_ARGUMENT naming the field otherwise.
grpc::Status ConfigPage(int page_size, const std::string& token, const std::string& rpc, int* limit,
                        long long* offset) {
  FieldErrors errors;
  if (page_size < 0 || page_size > kMaxPage) {
    errors.Add("page_size", "must be between 1 and " + std::to_string(kMaxPage) + " (0 for the default " +
                                std::to_string(kMaxPage) + ")");
  }
  *limit = page_size == 0 ? kMaxPage : page_size;
  *offset = 0;
  if (!token.empty()) {
    if (token.size() > 18 || token.find_first_not_of("0123456789") != std::string::npos) {
      errors.Add("page_token", "not a token returned by " + rpc);
    } else {
      *offset = std::stoll(token);
    }
  }
  return errors.ToStatus();
}

// next_page_token when the query (asked for limit + 1 rows) found more than a page.
std::string NextConfigPage(size_t rows, int limit, long long offset) {
  return static_cast<int>(rows) > limit ? std::to_string(offset + limit) : std::string();
}

void FillSettingsDefaults(v1::IncidentSettings* s) {
  if (s->group_by().empty()) {
    s->add_group_by("service");
    s->add_group_by("environment");
  }
  if (s->critical_severity().empty()) s->set_critical_severity("SEV2");
  if (s->auto_rollback_severities().empty()) {
    s->add_auto_rollback_severities("SEV1");
    s->add_auto_rollback_severities("SEV2");
  }
}

}  // namespace

ConfigStore::ConfigStore(db::Pool& pool, const Clock& clock, const secrets::KeyRing* keys)
    : pool_(pool), clock_(clock), keys_(keys != nullptr ? *keys : kNoKeys) {
  const std::string integration_columns =
      "name, routing_key_last4, service, environment, severity_override, default_severity, "
      "escalation_policy, " + Micros("created_at");
  pool_.Prepare("incidents_integration_insert",
                "INSERT INTO incidents.integrations (name, routing_key_sha256, routing_key_last4, service, "
                "environment, severity_override, default_severity, escalation_policy, created_at) VALUES "
                "($1, $2, right($9, 4), $3, $4, $5, $6, $7, " + db::MicrosParam(8) + ") RETURNING " +
                    integration_columns);
  pool_.Prepare("incidents_integration_get",
                "SELECT " + integration_columns + " FROM incidents.integrations WHERE name = $1");
  pool_.Prepare("incidents_integration_by_key",
                "SELECT " + integration_columns + " FROM incidents.integrations WHERE routing_key_sha256 = $1");
  pool_.Prepare("incidents_integration_list",
                "SELECT " + integration_columns + " FROM incidents.integrations ORDER BY name OFFSET $1 LIMIT $2");
  pool_.Prepare("incidents_integration_delete",
                "DELETE FROM incidents.integrations WHERE name = $1 RETURNING name");
  pool_.Prepare("incidents_integration_exists",
                "SELECT 1 FROM incidents.integrations WHERE name = $1 OR routing_key_sha256 = $2");

  pool_.Prepare("incidents_policy_get",
                "SELECT policy::text, " + Micros("updated_at") +
                    " FROM incidents.escalation_policies WHERE name = $1");
  pool_.Prepare("incidents_policy_get_for_update",
                "SELECT policy::text FROM incidents.escalation_policies WHERE name = $1 FOR UPDATE");
  pool_.Prepare("incidents_policy_upsert",
                "INSERT INTO incidents.escalation_policies (name, policy, updated_at) VALUES "
                "($1, $2::jsonb, " + db::MicrosParam(3) + ") ON CONFLICT (name) DO UPDATE SET policy = "
                "excluded.policy, updated_at = excluded.updated_at");
  pool_.Prepare("incidents_policy_list",
                "SELECT policy::text, " + Micros("updated_at") +
                    " FROM incidents.escalation_policies ORDER BY name OFFSET $1 LIMIT $2");
  pool_.Prepare("incidents_policy_delete",
                "DELETE FROM incidents.escalation_policies WHERE name = $1 RETURNING name");

  const std::string silence_columns = "id::text, matchers::text, " + Micros("starts_at") + ", " +
                                      Micros("ends_at") + ", comment, created_by, " +
                                      Micros("created_at");
  pool_.Prepare("incidents_silence_insert",
                "INSERT INTO incidents.silences (matchers, starts_at, ends_at, comment, created_by, "
                "created_at) VALUES ($1::jsonb, " + db::MicrosParam(2) + ", " + db::MicrosParam(3) + ", $4, $5, " + db::MicrosParam(6) +
                    ") RETURNING " + silence_columns);
  pool_.Prepare("incidents_silence_list",
                "SELECT " + silence_columns + " FROM incidents.silences WHERE $1 OR ends_at > " +
                    db::MicrosParam(2) + " ORDER BY starts_at, id OFFSET $3 LIMIT $4");
  pool_.Prepare("incidents_silence_active",
                "SELECT id::text, matchers::text FROM incidents.silences WHERE starts_at <= " +
                    db::MicrosParam(1) + " AND ends_at > " + db::MicrosParam(1) + " ORDER BY created_at, id");
  pool_.Prepare("incidents_silence_expire",
                "UPDATE incidents.silences SET ends_at = LEAST(ends_at, " + db::MicrosParam(2) +
                    "), starts_at = LEAST(starts_at, " + db::MicrosParam(2) + ") WHERE id::text = $1 RETURNING " +
                    silence_columns);

  pool_.Prepare("incidents_silence_resolve_id",
                "SELECT id::text FROM incidents.silences WHERE id::text = $1 OR ($2 <> '' AND "
                "id::text LIKE $2 || '%') ORDER BY id LIMIT $3");

  pool_.Prepare("incidents_inhibit_insert",
                "INSERT INTO incidents.inhibition_rules (rule, created_at) VALUES ($1::jsonb, " +
                    db::MicrosParam(2) + ") RETURNING id");
  pool_.Prepare("incidents_inhibit_list",
                "SELECT id, rule::text FROM incidents.inhibition_rules ORDER BY created_at, id");
  // Rules and the alerts they mark as sources (alerts.can_inhibit) change together: intake
  // reads the rules under this lock shared, and a new rule is written and marks the firing
  // alerts its source matches under it exclusively. Otherwise a batch that read the rules just
  // before a rule was created could commit a source of it unmarked, after the marking looked.
  // (A transaction-level lock: it needs no session of its own and ends with the transaction.)
  const std::string rules_lock = "hashtextextended('incidents.inhibition_rules', 0)";
  pool_.Prepare("incidents_inhibit_lock_shared", "SELECT pg_advisory_xact_lock_shared(" + rules_lock + ")");
  pool_.Prepare("incidents_inhibit_lock", "SELECT pg_advisory_xact_lock(" + rules_lock + ")");
  pool_.Prepare("incidents_inhibit_unmarked",
                "SELECT id, labels::text FROM incidents.alerts WHERE state = 'firing' AND NOT can_inhibit");
  pool_.Prepare("incidents_inhibit_mark",
                "UPDATE incidents.alerts SET can_inhibit = true WHERE id = ANY($1::bigint[])");
  pool_.Prepare("incidents_inhibit_page",
                "SELECT id, rule::text FROM incidents.inhibition_rules ORDER BY created_at, id OFFSET $1 LIMIT $2");
  pool_.Prepare("incidents_inhibit_delete",
                "DELETE FROM incidents.inhibition_rules WHERE id = $1 RETURNING id");

  pool_.Prepare("incidents_settings_get",
                "SELECT settings::text, " + Micros("updated_at") + " FROM incidents.settings");
  pool_.Prepare("incidents_settings_put",
                "INSERT INTO incidents.settings (id, settings, updated_at) VALUES (true, $1::jsonb, " +
                    db::MicrosParam(2) + ") ON CONFLICT (id) DO UPDATE SET settings = excluded.settings, "
                    "updated_at = excluded.updated_at");
}

// ---- integrations ------------------------------------------------------------------------

grpc::Status ConfigStore::CreateIntegration(const v1::Integration& in, v1::Integration* out) {
  FieldErrors errors;
  if (!IsConfigName(in.name())) {
    errors.Add("name", "must match [a-z0-9][a-z0-9._-]* (at most 63 characters)");
  }
  std::string key = in.routing_key();
  if (!key.empty() &&
      (key.size() != 32 || key.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789") != std::string::npos)) {
    errors.Add("routing_key", "must be 32 characters of a-z and 0-9 (or empty to generate one)");
  }
  if (in.service().empty()) errors.Add("service", "required");
  errors.AddIfLonger("service", in.service(), kMaxNameCharacters);
  errors.AddIfLonger("environment", in.environment(), kMaxNameCharacters);
  CheckSeverityField(in.severity_override(), "severity_override", &errors);
  CheckSeverityField(in.default_severity(), "default_severity", &errors);
  if (!errors.empty()) return errors.ToStatus();
  if (key.empty()) {
    key = RandomRoutingKey();
    if (key.empty()) return grpc::Status(grpc::StatusCode::INTERNAL, "routing_key: no randomness available");
  }
  return pool_.Transact("create integration", [&](pqxx::transaction_base& tx) {
    if (!in.escalation_policy().empty() && db::Exec(tx, "incidents_policy_get", in.escalation_policy()).empty()) {
      return Invalid("escalation_policy: no escalation policy named \"" + in.escalation_policy() + "\"");
    }
    pqxx::result existing = db::Exec(tx, "incidents_integration_exists", in.name(), RoutingKeyHash(key));
    if (!existing.empty()) {
      return grpc::Status(grpc::StatusCode::ALREADY_EXISTS,
                          "name: an integration named \"" + in.name() + "\" or with this routing_key already exists");
    }
    try {
      pqxx::result r = db::Exec(tx, "incidents_integration_insert", in.name(), RoutingKeyHash(key), in.service(),
                                in.environment(), CanonicalSeverity(in.severity_override()),
                                CanonicalSeverity(in.default_severity()), in.escalation_policy(),
                                ToMicros(clock_.Now()), key);
      IntegrationFromRow(r[0], out);
      out->set_routing_key(key);  // the one answer that carries it
    } catch (const pqxx::unique_violation&) {
      return grpc::Status(grpc::StatusCode::ALREADY_EXISTS,
                          "name: an integration named \"" + in.name() + "\" or with this routing_key already exists");
    }
    return grpc::Status::OK;
  });
}

grpc::Status ConfigStore::GetIntegration(const std::string& name, v1::Integration* out) {
  return pool_.Transact("get integration", [&](pqxx::transaction_base& tx) {
    pqxx::result r = db::Exec(tx, "incidents_integration_get", name);
    if (r.empty()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "name: no integration named \"" + name + "\"");
    IntegrationFromRow(r[0], out);
    return grpc::Status::OK;
  });
}

grpc::Status ConfigStore::IntegrationByRoutingKey(const std::string& routing_key, v1::Integration* out) {
  return pool_.Transact("integration by routing key", [&](pqxx::transaction_base& tx) {
    pqxx::result r = db::Exec(tx, "incidents_integration_by_key", RoutingKeyHash(routing_key));
    if (r.empty()) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "routing_key: no integration has this routing key");
    }
    IntegrationFromRow(r[0], out);
    return grpc::Status::OK;
  });
}

grpc::Status ConfigStore::ListIntegrations(const v1::ListIntegrationsRequest& request,
                                           v1::ListIntegrationsResponse* out) {
  int limit = 0;
  long long offset = 0;
  if (grpc::Status s = ConfigPage(request.page_size(), request.page_token(), "ListIntegrations", &limit, &offset);
      !s.ok()) {
    return s;
  }
  return pool_.Transact("list integrations", [&](pqxx::transaction_base& tx) {
    out->Clear();
    pqxx::result rows = db::Exec(tx, "incidents_integration_list", offset, limit + 1);
    for (int i = 0; i < static_cast<int>(rows.size()) && i < limit; ++i) {
      IntegrationFromRow(rows[i], out->add_integrations());
    }
    out->set_next_page_token(NextConfigPage(rows.size(), limit, offset));
    return grpc::Status::OK;
  });
}

grpc::Status ConfigStore::DeleteIntegration(const std::string& name) {
  return pool_.Transact("delete integration", [&](pqxx::transaction_base& tx) {
    if (db::Exec(tx, "incidents_integration_delete", name).empty()) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "name: no integration named \"" + name + "\"");
    }
    return grpc::Status::OK;
  });
}

// ---- escalation policies -----------------------------------------------------------------

grpc::Status ConfigStore::PutEscalationPolicy(const v1::EscalationPolicy& in, v1::EscalationPolicy* out) {
  v1::EscalationPolicy policy = in;
  policy.clear_updated_at();
  FieldErrors errors;
  if (!IsConfigName(policy.name())) {
    errors.Add("name", "must match [a-z0-9][a-z0-9._-]* (at most 63 characters)");
  }
  std::vector<v1::NotificationTarget*> targets;
  for (int i = 0; i < policy.on_open_size(); ++i) {
    v1::NotificationTarget* t = policy.mutable_on_open(i);
    errors.Add(CheckTarget(t, "on_open[" + std::to_string(i) + "]"));
    if (std::string refusal = WebhookRefusal(egress_, t->url()); !refusal.empty()) {
      errors.Add("on_open[" + std::to_string(i) + "].url", refusal);
    }
    targets.push_back(t);
  }
  for (int l = 0; l < policy.levels_size(); ++l) {
    v1::EscalationLevel* level = policy.mutable_levels(l);
    std::string field = "levels[" + std::to_string(l) + "]";
    if (level->delay().seconds() < 0 || level->delay().nanos() < 0) errors.Add(field + ".delay", "must not be negative");
    if (level->targets().empty()) errors.Add(field + ".targets", "at least one target is required");
    for (int i = 0; i < level->targets_size(); ++i) {
      v1::NotificationTarget* t = level->mutable_targets(i);
      errors.Add(CheckTarget(t, field + ".targets[" + std::to_string(i) + "]"));
      if (std::string refusal = WebhookRefusal(egress_, t->url()); !refusal.empty()) {
        errors.Add(field + ".targets[" + std::to_string(i) + "].url", refusal);
      }
      targets.push_back(t);
    }
  }
  if (!errors.empty()) return errors.ToStatus();
  for (v1::NotificationTarget* t : targets) {
    t->clear_has_secret();
    t->clear_url_redacted();
  }
  if (keys_.empty()) {
    // Refused before anything is read: the answer names the first field that needs the key.
    v1::EscalationPolicy probe = policy;
    if (grpc::Status s = SealPolicy(keys_, &probe); !s.ok()) return s;
  }
  Clock::TimePoint now = clock_.Now();
  grpc::Status s = pool_.Transact("put escalation policy", [&](pqxx::transaction_base& tx) {
    // A target re-sent without its secret keeps the stored one (matched by target name): API
    // answers never show secrets, so a client editing a policy cannot send them back.
    // Likewise a url re-sent as callers below ADMIN were shown it (scheme and host) keeps the
    // stored one: (stored value, its scheme and host) by target name.
    std::map<std::string, std::string> stored_secrets;
    struct StoredUrl {
      std::string stored, plain, shown;
    };
    std::map<std::string, StoredUrl> stored_urls;
    pqxx::result r = db::Exec(tx, "incidents_policy_get_for_update", policy.name());
    if (!r.empty()) {
      v1::EscalationPolicy stored;
      db::FromDetailJson(r[0][0].as<std::string>(), &stored);
      v1::EscalationPolicy opened = stored;
      // A url that no longer opens cannot be kept: the one sent is stored instead.
      bool urls_open = OpenPolicy(keys_, &opened).ok();
      auto remember = [&](const v1::NotificationTarget& t, const v1::NotificationTarget& plain) {
        stored_secrets.emplace(t.name(), t.secret());
        if (urls_open) stored_urls.emplace(t.name(), StoredUrl{t.url(), plain.url(), UrlSchemeAndHost(plain.url())});
      };
      for (int i = 0; i < stored.on_open_size(); ++i) remember(stored.on_open(i), opened.on_open(i));
      for (int l = 0; l < stored.levels_size(); ++l) {
        for (int i = 0; i < stored.levels(l).targets_size(); ++i) {
          remember(stored.levels(l).targets(i), opened.levels(l).targets(i));
        }
      }
    }
    // Kept secrets stay as stored (sealed, or legacy plain text sealed below).
    // The answer gets the kept url in plain text, the row the stored (sealed) one.
    auto keep_all = [&](v1::EscalationPolicy* p, bool as_stored) {
      auto keep = [&](v1::NotificationTarget* t) {
        auto it = stored_secrets.find(t->name());
        if (t->secret().empty() && it != stored_secrets.end()) t->set_secret(it->second);
        auto url = stored_urls.find(t->name());
        if (url != stored_urls.end() && t->url() == url->second.shown && t->url() != url->second.plain) {
          t->set_url(as_stored ? url->second.stored : url->second.plain);
        }
      };
      for (auto& t : *p->mutable_on_open()) keep(&t);
      for (auto& level : *p->mutable_levels()) {
        for (auto& t : *level.mutable_targets()) keep(&t);
      }
    };
    v1::EscalationPolicy to_store = policy;
    keep_all(&to_store, true);
    *out = policy;
    keep_all(out, false);
    if (grpc::Status s = SealPolicy(keys_, &to_store); !s.ok()) return s;
    db::Exec(tx, "incidents_policy_upsert", to_store.name(), db::DetailJson(to_store), ToMicros(now));
    return grpc::Status::OK;
  });
  if (!s.ok()) return s;
  SetTimestamp(out->mutable_updated_at(), now);
  HideSecrets(out);
  return grpc::Status::OK;
}

grpc::Status ConfigStore::GetEscalationPolicy(const std::string& name, bool with_secrets,
                                              v1::EscalationPolicy* out) {
  return pool_.Transact("get escalation policy", [&](pqxx::transaction_base& tx) {
    pqxx::result r = db::Exec(tx, "incidents_policy_get", name);
    if (r.empty()) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "name: no escalation policy named \"" + name + "\"");
    }
    out->Clear();
    db::FromDetailJson(r[0][0].as<std::string>(), out);
    SetTimestamp(out->mutable_updated_at(), r[0][1].as<long long>());
    if (grpc::Status s = OpenPolicy(keys_, out); !s.ok()) return s;
    if (!with_secrets) HideSecrets(out);
    return grpc::Status::OK;
  });
}

grpc::Status ConfigStore::ListEscalationPolicies(const v1::ListEscalationPoliciesRequest& request,
                                                 v1::ListEscalationPoliciesResponse* out) {
  int limit = 0;
  long long offset = 0;
  if (grpc::Status s =
          ConfigPage(request.page_size(), request.page_token(), "ListEscalationPolicies", &limit, &offset);
      !s.ok()) {
    return s;
  }
  return pool_.Transact("list escalation policies", [&](pqxx::transaction_base& tx) {
    out->Clear();
    pqxx::result rows = db::Exec(tx, "incidents_policy_list", offset, limit + 1);
    out->set_next_page_token(NextConfigPage(rows.size(), limit, offset));
    for (int i = 0; i < static_cast<int>(rows.size()) && i < limit; ++i) {
      const pqxx::row& row = rows[i];
      v1::EscalationPolicy* p = out->add_policies();
      db::FromDetailJson(row[0].as<std::string>(), p);
      SetTimestamp(p->mutable_updated_at(), row[1].as<long long>());
      if (grpc::Status s = OpenPolicy(keys_, p); !s.ok()) return s;
      HideSecrets(p);
    }
    return grpc::Status::OK;
  });
}

grpc::Status ConfigStore::DeleteEscalationPolicy(const std::string& name) {
  return pool_.Transact("delete escalation policy", [&](pqxx::transaction_base& tx) {
    if (db::Exec(tx, "incidents_policy_delete", name).empty()) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "name: no escalation policy named \"" + name + "\"");
    }
    return grpc::Status::OK;
  });
}

grpc::Status ConfigStore::SealCopy(const std::string& plain, const secrets::Binding& where,
                                   std::string* stored) const {
  if (keys_.empty() || plain.empty()) {
    *stored = plain;
    return grpc::Status::OK;
  }
  return secrets::SealValue(keys_, plain, where, stored);
}

grpc::Status ConfigStore::OpenCopy(const std::string& stored, const secrets::Binding& where,
                                   std::string* plain) const {
  return secrets::OpenValue(keys_, stored, where, plain);
}

// ---- silences ----------------------------------------------------------------------------

grpc::Status ConfigStore::CreateSilence(const v1::Silence& in, const std::string& actor, v1::Silence* out) {
  FieldErrors errors;
  if (in.matchers().empty()) errors.Add("matchers", "at least one matcher is required");
  Matchers matchers;
  grpc::Status parsed = ParseMatchers(in.matchers(), "matchers", &matchers);
  errors.Add(parsed);
  // As Alertmanager: a silence whose every matcher matches the empty value would silence
  // (nearly) everything.
  bool narrows = std::any_of(matchers.begin(), matchers.end(),
                             [](const Matcher& m) { return !m.Matches(Labels{}); });
  if (parsed.ok() && !in.matchers().empty() && !narrows) {
    errors.Add("matchers", "at least one matcher must not match the empty value");
  }
  Clock::TimePoint now = clock_.Now();
  Clock::TimePoint starts = in.has_starts_at() ? TimeOf(in.starts_at()) : now;
  Clock::TimePoint ends = in.has_ends_at() ? TimeOf(in.ends_at()) : now;
  if (!in.has_ends_at()) {
    errors.Add("ends_at", "required");
  } else if (ends <= starts) {
    errors.Add("ends_at", "must be after starts_at");
  } else if (ends <= now) {
    errors.Add("ends_at", "must be in the future");
  }
  errors.AddIfLonger("comment", in.comment(), kMaxNoteCharacters);
  errors.AddIfLonger("created_by", in.created_by(), kMaxNameCharacters);
  if (!errors.empty()) return errors.ToStatus();
  std::string creator = in.created_by().empty() ? actor : in.created_by();
  return pool_.Transact("create silence", [&](pqxx::transaction_base& tx) {
    pqxx::result r = db::Exec(tx, "incidents_silence_insert", MatchersJson(in.matchers()), ToMicros(starts),
                              ToMicros(ends), in.comment(), creator, ToMicros(now));
    SilenceFromRow(r[0], now, out);
    return grpc::Status::OK;
  });
}

grpc::Status ConfigStore::ListSilences(const v1::ListSilencesRequest& request, v1::ListSilencesResponse* out) {
  int limit = 0;
  long long offset = 0;
  if (grpc::Status s = ConfigPage(request.page_size(), request.page_token(), "ListSilences", &limit, &offset);
      !s.ok()) {
    return s;
  }
  Clock::TimePoint now = clock_.Now();
  return pool_.Transact("list silences", [&](pqxx::transaction_base& tx) {
    out->Clear();
    pqxx::result rows =
        db::Exec(tx, "incidents_silence_list", request.include_expired(), ToMicros(now), offset, limit + 1);
    for (int i = 0; i < static_cast<int>(rows.size()) && i < limit; ++i) {
      SilenceFromRow(rows[i], now, out->add_silences());
    }
    out->set_next_page_token(NextConfigPage(rows.size(), limit, offset));
    return grpc::Status::OK;
  });
}

grpc::Status ConfigStore::ExpireSilence(const std::string& id, v1::Silence* out) {
  Clock::TimePoint now = clock_.Now();
  return pool_.Transact("expire silence", [&](pqxx::transaction_base& tx) {
    if (id.empty()) return Invalid("id: required");
    pqxx::result r = db::Exec(tx, "incidents_silence_expire", id, ToMicros(now));
    if (r.empty()) {
      // Not a full id: a unique prefix of one (ids.h).
      const IdLookup lookup = LookupOf(IdKind::kSilence, id);
      std::vector<std::string> found;
      for (const pqxx::row& row : db::Exec(tx, "incidents_silence_resolve_id", lookup.exact, lookup.prefix,
                                           kIdCandidates)) {
        found.push_back(row[0].as<std::string>());
      }
      std::string full;
      grpc::Status s = PickId(IdKind::kSilence, "id", id, lookup, found, &full);
      if (s.error_code() == grpc::StatusCode::NOT_FOUND) {
        return grpc::Status(grpc::StatusCode::NOT_FOUND, "id: no silence \"" + id + "\"");
      }
      if (!s.ok()) return s;
      r = db::Exec(tx, "incidents_silence_expire", full, ToMicros(now));
      if (r.empty()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "id: no silence \"" + id + "\"");
    }
    SilenceFromRow(r[0], now, out);
    return grpc::Status::OK;
  });
}

std::vector<std::pair<std::string, Matchers>> ConfigStore::ReadActiveSilences(pqxx::transaction_base& tx,
                                                                              Clock::TimePoint now) {
  std::vector<std::pair<std::string, Matchers>> out;
  for (const pqxx::row& row : db::Exec(tx, "incidents_silence_active", ToMicros(now))) {
    v1::Silence holder;
    db::FromDetailJson("{\"matchers\":" + row[1].as<std::string>() + "}", &holder);
    Matchers matchers;
    // Stored silences were validated on create; one that no longer parses silences nothing.
    if (holder.matchers().empty() || !ParseMatchers(holder.matchers(), "matchers", &matchers).ok()) {
      log::Warn("ignoring a stored silence that does not parse", {{"silence", row[0].as<std::string>()}});
      continue;
    }
    out.emplace_back(row[0].as<std::string>(), std::move(matchers));
  }
  return out;
}

// ---- inhibition rules --------------------------------------------------------------------

grpc::Status ConfigStore::CreateInhibitionRule(const v1::InhibitionRule& in, v1::InhibitionRule* out) {
  InhibitRule parsed;
  FieldErrors errors;
  errors.Add(ParseInhibitRule(in, &parsed));
  errors.AddIfLonger("comment", in.comment(), kMaxNoteCharacters);
  if (!errors.empty()) return errors.ToStatus();
  v1::InhibitionRule rule = in;
  rule.clear_id();
  for (auto& m : *rule.mutable_source_matchers()) {
    if (m.op().empty()) m.set_op("=");
  }
  for (auto& m : *rule.mutable_target_matchers()) {
    if (m.op().empty()) m.set_op("=");
  }
  return pool_.Transact("create inhibition rule", [&](pqxx::transaction_base& tx) {
    db::Exec(tx, "incidents_inhibit_lock");
    pqxx::result r = db::Exec(tx, "incidents_inhibit_insert", db::DetailJson(rule), ToMicros(clock_.Now()));
    // The firing alerts that no rule could inhibit with until now and that this one's source
    // matches. (Deleting a rule leaves its marks: a marked alert that matches no source is
    // only looked at in vain, and is gone from the index once it resolves.)
    std::string ids;
    for (const pqxx::row& alert : db::Exec(tx, "incidents_inhibit_unmarked")) {
      if (!MatchesAll(parsed.source, LabelsFromJson(alert[1].as<std::string>()))) continue;
      ids += (ids.empty() ? "{" : ",") + alert[0].as<std::string>();
    }
    if (!ids.empty()) db::Exec(tx, "incidents_inhibit_mark", ids + "}");
    *out = rule;
    out->set_id(r[0][0].as<std::string>());
    return grpc::Status::OK;
  });
}

grpc::Status ConfigStore::ListInhibitionRules(const v1::ListInhibitionRulesRequest& request,
                                              v1::ListInhibitionRulesResponse* out) {
  int limit = 0;
  long long offset = 0;
  if (grpc::Status s =
          ConfigPage(request.page_size(), request.page_token(), "ListInhibitionRules", &limit, &offset);
      !s.ok()) {
    return s;
  }
  return pool_.Transact("list inhibition rules", [&](pqxx::transaction_base& tx) {
    out->Clear();
    pqxx::result rows = db::Exec(tx, "incidents_inhibit_page", offset, limit + 1);
    out->set_next_page_token(NextConfigPage(rows.size(), limit, offset));
    for (int i = 0; i < static_cast<int>(rows.size()) && i < limit; ++i) {
      const pqxx::row& row = rows[i];
      v1::InhibitionRule* rule = out->add_rules();
      db::FromDetailJson(row[1].as<std::string>(), rule);
      rule->set_id(row[0].as<std::string>());
    }
    return grpc::Status::OK;
  });
}

grpc::Status ConfigStore::DeleteInhibitionRule(const std::string& id) {
  return pool_.Transact("delete inhibition rule", [&](pqxx::transaction_base& tx) {
    if (db::Exec(tx, "incidents_inhibit_delete", id).empty()) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "id: no inhibition rule \"" + id + "\"");
    }
    return grpc::Status::OK;
  });
}

std::vector<InhibitRule> ConfigStore::ReadInhibitRules(pqxx::transaction_base& tx) {
  std::vector<InhibitRule> out;
  db::Exec(tx, "incidents_inhibit_lock_shared");  // before the read: its snapshot is taken after the wait
  pqxx::result rows = db::Exec(tx, "incidents_inhibit_list");
  std::map<std::string, InhibitRule> parsed_now;
  std::lock_guard<std::mutex> lock(parsed_rules_mu_);
  for (const pqxx::row& row : rows) {
    std::string key = row[0].as<std::string>() + '\n' + row[1].as<std::string>();
    auto cached = parsed_rules_.find(key);
    if (cached != parsed_rules_.end()) {
      out.push_back(cached->second);
      parsed_now.insert(parsed_rules_.extract(cached));
      continue;
    }
    v1::InhibitionRule rule;
    db::FromDetailJson(row[1].as<std::string>(), &rule);
    rule.set_id(row[0].as<std::string>());
    InhibitRule parsed;
    if (!ParseInhibitRule(rule, &parsed).ok()) {
      log::Warn("ignoring a stored inhibition rule that does not parse", {{"rule", rule.id()}});
      continue;
    }
    parsed.id = rule.id();
    out.push_back(parsed);
    parsed_now.emplace(std::move(key), std::move(parsed));
  }
  parsed_rules_ = std::move(parsed_now);  // the rules there are now, nothing deleted kept
  return out;
}

// ---- settings ----------------------------------------------------------------------------

grpc::Status ConfigStore::GetSettings(v1::IncidentSettings* out) {
  return pool_.Transact("get incident settings", [&](pqxx::transaction_base& tx) {
    out->Clear();
    pqxx::result r = db::Exec(tx, "incidents_settings_get");
    if (!r.empty()) {
      db::FromDetailJson(r[0][0].as<std::string>(), out);
      SetTimestamp(out->mutable_updated_at(), r[0][1].as<long long>());
    }
    FillSettingsDefaults(out);
    return grpc::Status::OK;
  });
}

grpc::Status ConfigStore::PutSettings(const v1::IncidentSettings& in, v1::IncidentSettings* out) {
  v1::IncidentSettings settings = in;
  settings.clear_updated_at();
  FieldErrors errors;
  std::set<std::string> seen;
  for (int i = 0; i < settings.group_by_size(); ++i) {
    const std::string& name = settings.group_by(i);
    std::string field = "group_by[" + std::to_string(i) + "]";
    if (!IsLabelName(name)) {
      errors.Add(field, "must be a label name ([a-zA-Z_][a-zA-Z0-9_]*)");
    } else if (!seen.insert(name).second) {
      errors.Add(field, "\"" + name + "\" is listed twice");
    }
  }
  if (!settings.critical_severity().empty()) {
    Severity s;
    if (!ParseSeverity(settings.critical_severity(), &s) || (s != Severity::kSev1 && s != Severity::kSev2)) {
      errors.Add("critical_severity", EnumProblem(settings.critical_severity(), {"SEV1", "SEV2"}));
    } else {
      settings.set_critical_severity(SeverityName(s));
    }
  }
  for (int i = 0; i < settings.auto_rollback_severities_size(); ++i) {
    Severity s;
    if (!ParseSeverity(settings.auto_rollback_severities(i), &s)) {
      errors.Add("auto_rollback_severities[" + std::to_string(i) + "]",
                 EnumProblem(settings.auto_rollback_severities(i), {"SEV1", "SEV2", "SEV3", "SEV4"}));
    } else {
      settings.set_auto_rollback_severities(i, SeverityName(s));
    }
  }
  if (!errors.empty()) return errors.ToStatus();
  FillSettingsDefaults(&settings);
  Clock::TimePoint now = clock_.Now();
  grpc::Status s = pool_.Transact("put incident settings", [&](pqxx::transaction_base& tx) {
    const std::string& policy = settings.default_escalation_policy();
    if (!policy.empty() && db::Exec(tx, "incidents_policy_get", policy).empty()) {
      return Invalid("default_escalation_policy: no escalation policy named \"" + policy + "\"");
    }
    db::Exec(tx, "incidents_settings_put", db::DetailJson(settings), ToMicros(now));
    return grpc::Status::OK;
  });
  if (!s.ok()) return s;
  *out = settings;
  SetTimestamp(out->mutable_updated_at(), now);
  return grpc::Status::OK;
}

ConfigStore::Settings ConfigStore::ReadSettings(pqxx::transaction_base& tx) {
  Settings out;
  pqxx::result r = db::Exec(tx, "incidents_settings_get");
  if (r.empty()) return out;
  v1::IncidentSettings stored;
  db::FromDetailJson(r[0][0].as<std::string>(), &stored);
  FillSettingsDefaults(&stored);
  out.group_by.assign(stored.group_by().begin(), stored.group_by().end());
  Severity critical;
  if (ParseSeverity(stored.critical_severity(), &critical)) out.critical = critical;
  out.auto_rollback.clear();
  for (const std::string& name : stored.auto_rollback_severities()) {
    Severity s;
    if (ParseSeverity(name, &s)) out.auto_rollback.push_back(s);
  }
  out.default_escalation_policy = stored.default_escalation_policy();
  return out;
}

}  // namespace flightdeck::incidents
