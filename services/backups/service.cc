#include "services/backups/service.h"

#include <algorithm>
#include <cctype>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "common/clock/timestamps.h"
#include "common/db/db.h"
#include "common/grpc/metadata.h"
#include "common/log/log.h"
#include "common/trace/trace.h"
#include "services/backups/cron.h"
#include "services/backups/pg_connection.h"
#include "services/backups/rpo_gauges.h"
#include "services/backups/target_destination.h"
#include "services/backups/request_checks.h"
#include "services/backups/storage_root.h"
#include "common/secrets/secrets.h"

namespace flightdeck::backups {
namespace {

grpc::Status Invalid(const std::string& message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message);
}

// The role of the user the gateway acts for (common/grpc/metadata.h).
bool CallerIsAdmin(const grpc::ServerContext* context) {
  return rpc::CallerRole(context) == "ADMIN";
}

std::string Actor(const grpc::ServerContext* context) {
  return rpc::CallerActor(context);
}

// Ids compare ignoring case: a UUID's hex digits may come either way.
bool SameId(const std::string& a, const std::string& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](unsigned char x, unsigned char y) {
           return std::tolower(x) == std::tolower(y);
         });
}

bool IsName(const std::string& s, bool allow_underscore) {
  if (s.empty() || s.size() > 63) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || (allow_underscore && c == '_');
    if (!ok) return false;
  }
  return std::isalnum(static_cast<unsigned char>(s.front())) != 0;
}

// "" when `url` is a database URL a backup can use, else why not (after "database_url: ").
std::string DatabaseUrlProblem(const std::string& url) {
  if (url.empty()) return "is required (postgres://user:password@host:port/dbname)";
  if (url.rfind("postgres://", 0) != 0 && url.rfind("postgresql://", 0) != 0) {
    return "must be a postgres:// or postgresql:// URL";
  }
  std::string rest = url.substr(url.find("://") + 3);
  std::string authority = rest.substr(0, rest.find('/'));
  std::string host = authority.substr(authority.rfind('@') == std::string::npos ? 0 : authority.rfind('@') + 1);
  if (host.empty() || host.front() == ':') return "has no host";
  if (rest.find('/') == std::string::npos || rest.substr(rest.find('/') + 1).empty()) {
    return "names no database (postgres://user:password@host:port/dbname)";
  }
  return "";
}

void CheckSchedule(const std::string& schedule, FieldErrors* errors) {
  if (schedule.empty()) return;
  CronSchedule cron;
  errors->Add(CronSchedule::Parse(schedule, &cron));
}

void CheckRetention(const v1::BackupRetention& retention, FieldErrors* errors) {
  if (retention.has_keep_last() && retention.keep_last().value() < 0) {
    errors->Add("retention.keep_last", "must not be negative");
  }
  if (retention.has_keep_days() && retention.keep_days().value() < 0) {
    errors->Add("retention.keep_days", "must not be negative");
  }
}

const std::initializer_list<const char*> kBackupStates = {"PENDING", "RUNNING", "SUCCEEDED", "FAILED", "DELETED"};

std::optional<Clock::TimePoint> NextRun(const std::string& schedule, Clock::TimePoint now) {
  CronSchedule cron;
  if (schedule.empty() || !CronSchedule::Parse(schedule, &cron).ok()) return std::nullopt;
  return cron.NextAfter(now);
}

}  // namespace

BackupServiceImpl::BackupServiceImpl(BackupStore& store, const KeyRing& keys, const Clock& clock,
                                     std::string backup_root, std::function<void()> nudge)
    : store_(store), keys_(keys), clock_(clock), backup_root_(std::move(backup_root)), nudge_(std::move(nudge)) {}

grpc::Status BackupServiceImpl::CreateBackupTarget(grpc::ServerContext*, const v1::BackupTarget* in,
                                                   v1::BackupTarget* out) {
  FieldErrors errors;
  if (!IsName(in->name(), false)) {
    errors.Add("name", "must be 1-63 characters of a-z, 0-9 and '-', starting with a letter or digit");
  }
  if (std::string problem = DatabaseUrlProblem(in->database_url()); !problem.empty()) {
    errors.Add("database_url", problem);
  } else if (egress_ != nullptr) {
    if (std::string refusal = DatabaseDestinationRefusal(*egress_, in->database_url()); !refusal.empty()) {
      errors.Add("database_url", refusal);
    }
  }
  CheckSchedule(in->schedule(), &errors);
  if (in->storage().kind() != v1::BackupStorage::LOCAL) {
    errors.Add("storage.kind", "must be LOCAL (S3-compatible storage is not available yet)");
  }
  // Stored resolved: a link swapped in later does not move where the files go.
  std::string storage_path;
  if (grpc::Status s = CheckStoragePath(backup_root_, in->storage().path(), &storage_path); !s.ok()) {
    errors.Add(s);
  }
  CheckRetention(in->retention(), &errors);
  if (in->has_rpo_target() && in->rpo_target().seconds() <= 0) {
    errors.Add("rpo_target", "must be positive (e.g. \"86400s\")");
  }
  if (!errors.empty()) return errors.ToStatus();
  if (keys_.empty()) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        "no master key is configured (FLIGHTDECK_MASTER_KEY or "
                        "FLIGHTDECK_MASTER_KEY_FILE): backups cannot be encrypted");
  }
  TargetRecord r;
  r.target = *in;
  r.target.clear_status();
  r.target.mutable_storage()->set_path(storage_path);
  if (grpc::Status s = secrets::Seal(keys_, in->database_url(), TargetUrlBinding(in->name()), &r.sealed_url); !s.ok()) {
    return s;
  }
  r.target.set_database_url(db::RedactUrl(in->database_url()));
  if (!in->retention().has_keep_last()) r.target.mutable_retention()->mutable_keep_last()->set_value(7);
  if (!in->retention().has_keep_days()) r.target.mutable_retention()->mutable_keep_days()->set_value(30);
  if (!in->has_rpo_target()) r.target.mutable_rpo_target()->set_seconds(24 * 3600);
  if (!in->has_verify_after_backup()) r.target.mutable_verify_after_backup()->set_value(true);
  r.next_run_at = NextRun(in->schedule(), clock_.Now());
  if (grpc::Status s = store_.CreateTarget(r, clock_.Now()); !s.ok()) return s;
  nudge_();
  TargetRecord stored;
  if (grpc::Status s = store_.GetTarget(in->name(), &stored); !s.ok()) return s;
  *out = stored.target;
  return FillStatus(stored, out);
}

grpc::Status BackupServiceImpl::FillStatus(const TargetRecord& record, v1::BackupTarget* target) {
  std::vector<TargetRpo> rpo;
  if (grpc::Status s = store_.RpoFacts(record.target.name(), &rpo); !s.ok()) return s;
  if (rpo.empty()) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "backup target \"" + record.target.name() + "\" not found");
  }
  return FillStatus(record, rpo.front(), target);
}

grpc::Status BackupServiceImpl::FillStatus(const TargetRecord& record, const TargetRpo& rpo,
                                           v1::BackupTarget* target) {
  v1::BackupTargetStatus* status = target->mutable_status();
  if (record.next_run_at) SetTimestamp(status->mutable_next_run_at(), *record.next_run_at);
  const Clock::TimePoint now = clock_.Now();
  if (rpo.last_snapshot) status->mutable_achieved_rpo()->set_seconds(AchievedRpo(rpo, now).count());
  // Only a backup known to restore meets the RPO: the figure the alert reads, from one query.
  if (rpo.last_verified_snapshot) {
    status->mutable_verified_rpo()->set_seconds(VerifiedRpo(rpo, now).count());
    status->set_rpo_met(status->verified_rpo().seconds() <= record.target.rpo_target().seconds());
  }
  std::vector<v1::Backup> recent;
  if (grpc::Status s = store_.RecentBackups(record.target.name(), 200, &recent); !s.ok()) return s;
  bool counting = true;
  for (const v1::Backup& b : recent) {  // newest first
    if (b.state() == v1::Backup::SUCCEEDED && status->last_success_id().empty()) {
      status->set_last_success_id(b.id());
      *status->mutable_last_success_at() = b.finished_at();
      status->set_last_backup_verified(b.verification().result() == v1::BackupVerification::PASSED);
    }
    if (b.state() == v1::Backup::FAILED && status->last_failure_id().empty()) {
      status->set_last_failure_id(b.id());
      *status->mutable_last_failure_at() = b.finished_at();
      status->set_last_failure_reason(b.failure_reason());
    }
    if (counting && b.trigger() == v1::Backup::SCHEDULED) {
      if (b.state() == v1::Backup::FAILED) {
        status->set_consecutive_scheduled_failures(status->consecutive_scheduled_failures() + 1);
      } else if (b.state() == v1::Backup::SUCCEEDED || b.state() == v1::Backup::DELETED) {
        counting = false;
      }
    }
  }
  return grpc::Status::OK;
}

grpc::Status BackupServiceImpl::GetBackupTarget(grpc::ServerContext*, const v1::GetBackupTargetRequest* in,
                                                v1::BackupTarget* out) {
  TargetRecord r;
  if (grpc::Status s = store_.GetTarget(in->name(), &r); !s.ok()) return s;
  *out = r.target;
  return FillStatus(r, out);
}

grpc::Status BackupServiceImpl::ListBackupTargets(grpc::ServerContext*, const v1::ListBackupTargetsRequest*,
                                                  v1::ListBackupTargetsResponse* out) {
  std::vector<TargetRecord> records;
  if (grpc::Status s = store_.ListTargets(&records); !s.ok()) return s;
  std::vector<TargetRpo> facts;
  if (grpc::Status s = store_.RpoFacts("", &facts); !s.ok()) return s;
  std::unordered_map<std::string, const TargetRpo*> rpo_of;
  for (const TargetRpo& f : facts) rpo_of.emplace(f.target, &f);
  for (const TargetRecord& r : records) {
    const auto rpo = rpo_of.find(r.target.name());
    if (rpo == rpo_of.end()) continue;  // deleted between the two reads
    v1::BackupTarget* t = out->add_backup_targets();
    *t = r.target;
    if (grpc::Status s = FillStatus(r, *rpo->second, t); !s.ok()) return s;
  }
  return grpc::Status::OK;
}

grpc::Status BackupServiceImpl::UpdateBackupTarget(grpc::ServerContext* context, const v1::UpdateBackupTargetRequest* in,
                                                   v1::BackupTarget* out) {
  FieldErrors errors;
  if (in->name().empty()) errors.Add("name", "is required");
  if (in->has_database_url()) {
    if (std::string problem = DatabaseUrlProblem(in->database_url().value()); !problem.empty()) {
      errors.Add("database_url", problem);
    } else if (egress_ != nullptr) {
      if (std::string refusal = DatabaseDestinationRefusal(*egress_, in->database_url().value());
          !refusal.empty()) {
        errors.Add("database_url", refusal);
      }
    }
  }
  if (in->has_schedule()) CheckSchedule(in->schedule().value(), &errors);
  CheckRetention(in->retention(), &errors);
  if (in->has_rpo_target() && in->rpo_target().seconds() <= 0) errors.Add("rpo_target", "must be positive");
  if (!errors.empty()) return errors.ToStatus();

  TargetRecord r;
  if (grpc::Status s = store_.GetTarget(in->name(), &r); !s.ok()) return s;
  // Moving a target to another server decides where its data is read from (and, before
  // restores were bound to their backup's server, where it was written to): an admin's call.
  std::string old_server;
  std::string new_server;
  if (in->has_database_url()) {
    old_server = ServerOf(r.target.database_url());
    new_server = ServerOf(in->database_url().value());
    if (old_server != new_server && !CallerIsAdmin(context)) {
      return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                          "database_url: moving the target to another server (" + old_server + " -> " +
                              new_server + ") needs the ADMIN role (a new password or database on the same server does not)");
    }
    if (grpc::Status s = secrets::Seal(keys_, in->database_url().value(), TargetUrlBinding(r.target.name()),
                                       &r.sealed_url);
        !s.ok()) {
      return s;
    }
    r.target.set_database_url(db::RedactUrl(in->database_url().value()));
  }
  if (in->has_schedule()) {
    r.target.set_schedule(in->schedule().value());
    r.next_run_at = NextRun(in->schedule().value(), clock_.Now());
  }
  if (in->retention().has_keep_last()) {
    *r.target.mutable_retention()->mutable_keep_last() = in->retention().keep_last();
  }
  if (in->retention().has_keep_days()) {
    *r.target.mutable_retention()->mutable_keep_days() = in->retention().keep_days();
  }
  if (in->has_rpo_target()) *r.target.mutable_rpo_target() = in->rpo_target();
  if (in->has_verify_after_backup()) *r.target.mutable_verify_after_backup() = in->verify_after_backup();
  if (grpc::Status s = store_.UpdateTarget(r, clock_.Now()); !s.ok()) return s;
  if (old_server != new_server) {
    log::Warn("backup target moved to another server",
              {{"target", in->name()}, {"old_server", old_server}, {"new_server", new_server},
               {"actor", Actor(context)}, {"request_id", context == nullptr ? "" : rpc::ClientMetadata(*context, rpc::kRequestIdKey)}});
  }
  nudge_();
  v1::GetBackupTargetRequest get;
  get.set_name(in->name());
  return GetBackupTarget(nullptr, &get, out);
}

grpc::Status BackupServiceImpl::DeleteBackupTarget(grpc::ServerContext*, const v1::DeleteBackupTargetRequest* in,
                                                   v1::BackupTarget* out) {
  TargetRecord r;
  if (grpc::Status s = store_.GetTarget(in->name(), &r); !s.ok()) return s;
  if (grpc::Status s = store_.DeleteTarget(in->name()); !s.ok()) return s;
  *out = r.target;
  return grpc::Status::OK;
}

grpc::Status BackupServiceImpl::CreateBackup(grpc::ServerContext* context, const v1::CreateBackupRequest* in,
                                             v1::Backup* out) {
  if (in->target().empty()) return Invalid("target: is required");
  TargetRecord r;
  if (grpc::Status s = store_.GetTarget(in->target(), &r); !s.ok()) return s;
  if (keys_.empty()) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        "no master key is configured (FLIGHTDECK_MASTER_KEY)");
  }
  out->set_target(in->target());
  out->set_trigger(v1::Backup::MANUAL);
  out->set_created_by(rpc::CallerActor(context));
  out->set_request_id(rpc::ClientMetadata(*context, rpc::kRequestIdKey));
  trace::SpanContext span = trace::CurrentContext();
  if (span.IsValid()) out->set_trace_id(span.TraceIdHex());
  if (grpc::Status s = store_.CreateBackup(out, std::nullopt, clock_.Now()); !s.ok()) return s;
  nudge_();
  return grpc::Status::OK;
}

grpc::Status BackupServiceImpl::ResolveBackupId(const std::string& given, std::string* id) {
  return ResolveIdPrefix("id", "backup", given,
                         [this](const UuidRange& range, int limit, std::vector<std::string>* ids) {
                           return store_.BackupIdsInRange(range, limit, ids);
                         },
                         id);
}

grpc::Status BackupServiceImpl::GetBackup(grpc::ServerContext*, const v1::GetBackupRequest* in, v1::Backup* out) {
  std::string id;
  if (grpc::Status s = ResolveBackupId(in->id(), &id); !s.ok()) return s;
  return store_.GetBackup(id, out);
}

grpc::Status BackupServiceImpl::ListBackups(grpc::ServerContext*, const v1::ListBackupsRequest* in,
                                            v1::ListBackupsResponse* out) {
  FieldErrors errors;
  std::string state;
  if (!in->state().empty()) {
    if (std::optional<std::string> canonical = CanonicalEnum(in->state(), kBackupStates)) {
      state = *canonical;
    } else {
      errors.Add("state", UnknownEnumValue(in->state(), kBackupStates));
    }
  }
  if (in->page_size() < 0 || in->page_size() > 500) errors.Add("page_size", "must be between 1 and 500");
  std::optional<std::pair<long long, std::string>> after;
  if (!in->page_token().empty()) {
    const std::string& t = in->page_token();
    size_t slash = t.find('/');
    if (slash == std::string::npos || slash == 0 || slash > 18 ||
        t.substr(0, slash).find_first_not_of("0123456789") != std::string::npos || !IsUuid(t.substr(slash + 1))) {
      errors.Add("page_token", "not a token returned by a previous list call");
    } else {
      after = std::make_pair(std::stoll(t.substr(0, slash)), t.substr(slash + 1));
    }
  }
  if (!errors.empty()) return errors.ToStatus();
  std::vector<v1::Backup> backups;
  bool more = false;
  int limit = in->page_size() == 0 ? 50 : in->page_size();
  if (grpc::Status s = store_.ListBackups(in->target(), state, limit, after, &backups, &more); !s.ok()) {
    return s;
  }
  for (v1::Backup& b : backups) *out->add_backups() = std::move(b);
  if (more && out->backups_size() > 0) {
    const v1::Backup& last = out->backups(out->backups_size() - 1);
    out->set_next_page_token(std::to_string(last.created_at().seconds() * 1000000 + last.created_at().nanos() / 1000) +
                             "/" + last.id());
  }
  return grpc::Status::OK;
}

grpc::Status BackupServiceImpl::VerifyBackup(grpc::ServerContext*, const v1::VerifyBackupRequest* in,
                                             v1::Backup* out) {
  std::string id;
  if (grpc::Status s = ResolveBackupId(in->id(), &id); !s.ok()) return s;
  if (grpc::Status s = store_.GetBackup(id, out); !s.ok()) return s;
  if (out->state() != v1::Backup::SUCCEEDED) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        "backup is " + v1::Backup::State_Name(out->state()) + ": only a SUCCEEDED backup can be verified");
  }
  if (out->verification().result() == v1::BackupVerification::RUNNING) return grpc::Status::OK;
  out->mutable_verification()->Clear();
  out->mutable_verification()->set_result(v1::BackupVerification::RUNNING);
  grpc::Status s = store_.Save(*out, clock_.Now(),
                               {{kVerifyJob, "", nlohmann::json{{"backup_id", out->id()}}.dump(), clock_.Now()}});
  if (s.ok()) nudge_();
  return s;
}

grpc::Status BackupServiceImpl::RestoreBackup(grpc::ServerContext* context, const v1::RestoreBackupRequest* in,
                                              v1::Backup* out) {
  // confirm repeats the id as the caller gave it (the full id or the same prefix), or the full
  // id the prefix stands for: either way the caller named this backup twice.
  FieldErrors errors;
  if (in->id().empty()) errors.Add("id", "is required");
  const bool confirm_repeats_id = !in->confirm().empty() && SameId(in->confirm(), in->id());
  if (in->confirm().empty()) {
    errors.Add("confirm", "is required: repeat the backup id" + (in->id().empty() ? "" : " (" + in->id() + ")"));
  } else if (!confirm_repeats_id && !IsUuid(in->confirm())) {
    errors.Add("confirm", "must equal the backup id (" + in->id() + ")");
  }
  if (!IsName(in->target_database(), true)) {
    errors.Add("target_database", "must be 1-63 characters of a-z, 0-9, '_' and '-'");
  }
  // A restore writes where its backup came from; sending it elsewhere is an admin's call.
  if (!in->server_url().empty() && !CallerIsAdmin(context)) {
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                        "server_url: restoring to a server other than the backup's own needs the ADMIN role "
                        "(leave server_url out to restore to the server the backup was taken from)");
  }
  if (!in->server_url().empty()) {
    if (std::string problem = DatabaseUrlProblem(in->server_url()); !problem.empty()) {
      errors.Add("server_url", problem);
    }
  }
  if (!errors.empty()) return errors.ToStatus();
  std::string id;
  if (grpc::Status s = ResolveBackupId(in->id(), &id); !s.ok()) return s;
  if (!confirm_repeats_id && !SameId(in->confirm(), id)) {
    return Invalid("confirm: must equal the backup id (" + in->id() + " or " + id + ")");
  }
  if (grpc::Status s = store_.GetBackup(id, out); !s.ok()) return s;
  if (out->state() != v1::Backup::SUCCEEDED) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        "backup is " + v1::Backup::State_Name(out->state()) + ": only a SUCCEEDED backup can be restored");
  }
  if (out->last_restore().state() == "RUNNING") {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "a restore of this backup is already running");
  }
  nlohmann::json job = {{"backup_id", out->id()}, {"database", in->target_database()},
                        {"overwrite", in->overwrite()}};
  std::string server = out->server();
  if (!in->server_url().empty()) {
    std::string sealed;
    if (grpc::Status s = secrets::Seal(keys_, in->server_url(), RestoreServerBinding(out->id()), &sealed); !s.ok()) {
      return s;
    }
    job["server_url_sealed"] = sealed;
    server = ServerOf(in->server_url());
  }
  v1::BackupRestore* r = out->mutable_last_restore();
  r->Clear();
  r->set_target_database(in->target_database());
  r->set_server(server);
  r->set_state("RUNNING");
  r->set_requested_by(Actor(context));
  SetTimestamp(r->mutable_started_at(), clock_.Now());
  grpc::Status s = store_.StartRestore(*out, clock_.Now(), {{kRestoreJob, "", job.dump(), clock_.Now()}});
  if (s.ok() && server != out->server()) {
    log::Warn("restore to another server than the backup's own",
              {{"backup_id", out->id()}, {"backup_server", out->server()}, {"server", server},
               {"database", in->target_database()}, {"actor", Actor(context)}});
  }
  if (s.ok()) nudge_();
  return s;
}

}  // namespace flightdeck::backups
