#include "services/gateway/chatops/chat_commands.h"

#include <ctime>

#include "flightdeck/v1/backups.pb.h"
#include "flightdeck/v1/gateway.pb.h"
#include "flightdeck/v1/health.pb.h"
#include "flightdeck/v1/incidents.pb.h"
#include "flightdeck/v1/releases.pb.h"

namespace flightdeck::gateway::chatops {
namespace {

using google::protobuf::Message;

const api::Method* Rpc(const char* name) { return api::FindMethod(std::string("flightdeck.v1.") + name); }

std::string ShortId(const std::string& id) { return id.substr(0, 8); }
std::string ShortSha(const std::string& sha) { return sha.substr(0, 7); }

std::string Code(const std::string& text) { return "`" + text + "`"; }

std::string FormatTime(const google::protobuf::Timestamp& t) {
  if (t.seconds() == 0) return "never";
  std::time_t seconds = static_cast<std::time_t>(t.seconds());
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%d %H:%M UTC", &tm);
  return buffer;
}

std::string PlatformLabel(const std::string& platform) {
  return platform == "slack" ? "Slack" : platform == "mattermost" ? "Mattermost" : platform;
}

std::string ReleaseName(const v1::Release& r) {
  return r.service() + " " + (r.version().empty() ? ShortSha(r.commit_sha()) : r.version()) + " → " + r.environment();
}

std::string StateName(const v1::Release& r) { return v1::Release::State_Name(r.state()); }

// What can be done next with a release, as buttons.
std::vector<ChatButton> ReleaseButtons(const v1::Release& r) {
  std::string about = ReleaseName(r);
  if (r.state() == v1::Release::AWAITING_APPROVAL) {
    return {{"Approve", "approve", r.id(), "primary", ""},
            {"Abort", "abort", r.id(), "danger", "Abort " + about + "?"}};
  }
  // Approved and about to start its canary: it can still be stopped.
  if (r.state() == v1::Release::PENDING) return {{"Abort", "abort", r.id(), "danger", "Abort " + about + "?"}};
  if (r.state() == v1::Release::CANARY) {
    return {{"Promote", "promote", r.id(), "primary", "Promote " + about + " to all traffic?"},
            {"Abort", "abort", r.id(), "danger", "Abort " + about + "?"}};
  }
  return {};
}

std::vector<ChatButton> IncidentButtons(const v1::Incident& i) {
  if (i.state() == v1::Incident::TRIGGERED) {
    return {{"Acknowledge", "ack", i.id(), "primary", ""}, {"Resolve", "resolve", i.id(), "", "Resolve " + i.id() + "?"}};
  }
  if (i.state() == v1::Incident::ACKNOWLEDGED) return {{"Resolve", "resolve", i.id(), "primary", "Resolve " + i.id() + "?"}};
  return {};
}

std::vector<std::string> ReleaseLines(const v1::Release& r) {
  std::vector<std::string> lines = {"state " + Code(StateName(r)) + " · id " + Code(ShortId(r.id())),
                                    "commit " + Code(ShortSha(r.commit_sha())) +
                                        (r.image().empty() ? "" : " · image " + Code(r.image()))};
  if (r.state() == v1::Release::CANARY) {
    lines.push_back("canary step " + std::to_string(r.current_step() + 1) + " at " +
                    std::to_string(r.current_weight()) + "% of traffic");
  }
  if (!r.created_by().empty()) lines.push_back("started by " + r.created_by() + " at " + FormatTime(r.created_at()));
  return lines;
}

std::string IncidentLine(const v1::Incident& i) {
  std::string where = i.service().empty() ? "" : " · " + i.service() + (i.environment().empty() ? "" : "/" + i.environment());
  return Code(i.id()) + " " + v1::Incident::Severity_Name(i.severity()) + " " +
         v1::Incident::State_Name(i.state()) + where + " — " + i.title();
}

ChatAnswer::Tone ToneOfRelease(const v1::Release& r) {
  switch (r.state()) {
    case v1::Release::SUCCEEDED: return ChatAnswer::Tone::kGood;
    case v1::Release::FAILED: case v1::Release::ROLLED_BACK: case v1::Release::ABORTED:
    case v1::Release::ROLLING_BACK:
      return ChatAnswer::Tone::kBad;
    case v1::Release::AWAITING_APPROVAL: return ChatAnswer::Tone::kWarning;
    default: return ChatAnswer::Tone::kInfo;
  }
}

ChatAnswer StatusAnswer(const ChatCommand& c, const v1::Overview& overview) {
  ChatAnswer a;
  a.title = "Status of " + c.service + (c.environment.empty() ? "" : " in " + c.environment);
  for (const v1::OverviewEntry& e : overview.entries()) {
    if (e.service() != c.service || (!c.environment.empty() && e.environment() != c.environment)) continue;
    std::string line = Code(e.environment()) + ": ";
    line += e.has_current() ? "runs " + (e.current().version().empty() ? ShortSha(e.current().commit_sha())
                                                                        : e.current().version())
                            : "nothing released";
    if (e.has_in_flight()) {
      line += " · in flight " + e.in_flight().version() + " " + Code(StateName(e.in_flight())) + " (" +
              Code(ShortId(e.in_flight().id())) + ")";
    }
    if (e.queued() > 0) line += " · " + std::to_string(e.queued()) + " queued";
    if (e.has_health()) line += " · health " + v1::HealthStatus_Name(e.health().status());
    a.lines.push_back(line);
    for (const v1::Incident& i : e.open_incidents()) a.lines.push_back("   open: " + IncidentLine(i));
  }
  for (const v1::BackupTarget& t : overview.backups()) {
    if (t.name().find(c.service) == std::string::npos) continue;
    a.lines.push_back("backup " + Code(t.name()) + ": last good " + FormatTime(t.status().last_success_at()) +
                      (t.status().rpo_met() ? " (RPO met)" : " (RPO missed)"));
  }
  if (a.lines.empty()) a.lines.push_back("Flightdeck knows nothing of " + c.service + " yet.");
  for (const std::string& u : overview.unavailable()) a.lines.push_back("(" + u + " did not answer: its part is missing)");
  return a;
}

// `windows <service>` without an environment asks about production, where windows matter most.
std::string WindowsEnvironment(const ChatCommand& c) {
  return c.environment.empty() ? "production" : c.environment;
}

// When changes to the service may next go out, and the required window's checklist verdict
// with the items that hold it back.
ChatAnswer WindowsAnswer(const ChatCommand& c, const v1::NextWindow& n, ChatAnswer a) {
  a.title = "Windows for " + c.service + " in " + WindowsEnvironment(c);
  if (n.open()) {
    a.lines.push_back("Changes may go out now" +
                      (n.has_closes_at() ? " until " + FormatTime(n.closes_at()) : std::string()) + ".");
    a.tone = ChatAnswer::Tone::kGood;
  } else {
    a.lines.push_back("Closed: " + n.reason());
    a.lines.push_back(n.has_opens_at() ? "Next opening: " + FormatTime(n.opens_at()) +
                                             (n.has_closes_at() ? " until " + FormatTime(n.closes_at()) : "")
                                       : "No opening within a year.");
    a.tone = ChatAnswer::Tone::kWarning;
  }
  a.lines.push_back(n.required_window().empty() ? "No maintenance window is required."
                                                 : "Required window: " + Code(n.required_window()));
  if (n.has_checklist()) {
    const v1::Checklist& list = n.checklist();
    a.lines.push_back("Checklist: " + Code(v1::ChecklistItemState::State_Name(list.verdict())));
    for (const v1::ChecklistItemState& i : list.items()) {
      if (i.state() == v1::ChecklistItemState::PASS) continue;
      a.lines.push_back("• " + i.item().name() + " " + v1::ChecklistItemState::State_Name(i.state()) +
                        (i.reason().empty() ? "" : " — " + i.reason()));
    }
    if (list.verdict() == v1::ChecklistItemState::FAIL) a.tone = ChatAnswer::Tone::kBad;
  }
  return a;
}

}  // namespace

PlannedCall PlanCall(const ChatCommand& c) {
  PlannedCall p;
  switch (c.kind) {
    case CommandKind::kHelp:
      return p;
    case CommandKind::kStatus: {
      p.method = Rpc("GatewayService.GetOverview");
      p.request = std::make_unique<v1::GetOverviewRequest>();
      p.target_path = "/v1/overview";
      return p;
    }
    case CommandKind::kReleases: {
      auto r = std::make_unique<v1::ListReleasesRequest>();
      r->set_service(c.service);
      r->set_environment(c.environment);
      r->set_page_size(10);
      p.method = Rpc("ReleaseService.ListReleases");
      p.request = std::move(r);
      p.target_path = "/v1/releases";
      return p;
    }
    case CommandKind::kRelease: {
      auto r = std::make_unique<v1::GetReleaseRequest>();
      r->set_id(c.id);
      p.method = Rpc("ReleaseService.GetRelease");
      p.request = std::move(r);
      p.target_path = "/v1/releases/" + c.id;
      return p;
    }
    case CommandKind::kApprove: case CommandKind::kPromote: case CommandKind::kAbort: {
      auto r = std::make_unique<v1::ReleaseActionRequest>();
      r->set_id(c.id);
      r->set_reason(c.text);
      const char* verb = c.kind == CommandKind::kApprove ? "approve" : c.kind == CommandKind::kPromote ? "promote" : "abort";
      p.method = Rpc(c.kind == CommandKind::kApprove   ? "ReleaseService.ApproveRelease"
                     : c.kind == CommandKind::kPromote ? "ReleaseService.PromoteRelease"
                                                       : "ReleaseService.AbortRelease");
      p.request = std::move(r);
      p.target_path = "/v1/releases/" + c.id + "/" + verb;
      return p;
    }
    case CommandKind::kRollback: {
      if (c.to_sha.empty()) {
        // To the release before the current one: RollbackRelease of what runs now, whose id
        // the caller finds first (PlanCurrentLookup).
        auto r = std::make_unique<v1::ReleaseActionRequest>();
        r->set_reason(c.text);
        p.method = Rpc("ReleaseService.RollbackRelease");
        p.request = std::move(r);
        p.target_path = "/v1/releases/{current}/rollback";
        return p;
      }
      auto r = std::make_unique<v1::RollbackServiceEnvironmentRequest>();
      r->set_service(c.service);
      r->set_environment(c.environment);
      r->set_to_commit_sha(c.to_sha);
      r->set_reason(c.text);
      p.method = Rpc("ReleaseService.RollbackServiceEnvironment");
      p.request = std::move(r);
      p.target_path = "/v1/services/" + c.service + "/environments/" + c.environment + "/rollback";
      return p;
    }
    case CommandKind::kIncidentDeclare: {
      auto r = std::make_unique<v1::DeclareIncidentRequest>();
      r->set_title(c.text);
      r->set_severity(c.severity);
      r->set_service(c.service);
      r->set_environment(c.environment);
      p.method = Rpc("IncidentService.DeclareIncident");
      p.request = std::move(r);
      p.target_path = "/v1/incidents";
      return p;
    }
    case CommandKind::kIncidentAck: case CommandKind::kIncidentResolve: {
      auto r = std::make_unique<v1::IncidentActionRequest>();
      r->set_id(c.id);
      bool ack = c.kind == CommandKind::kIncidentAck;
      p.method = Rpc(ack ? "IncidentService.AcknowledgeIncident" : "IncidentService.ResolveIncident");
      p.request = std::move(r);
      p.target_path = "/v1/incidents/" + c.id + (ack ? "/acknowledge" : "/resolve");
      return p;
    }
    case CommandKind::kIncidentUpdate: {
      auto r = std::make_unique<v1::PostStatusUpdateRequest>();
      r->set_id(c.id);
      r->set_message(c.text);
      p.method = Rpc("IncidentService.PostStatusUpdate");
      p.request = std::move(r);
      p.target_path = "/v1/incidents/" + c.id + "/updates";
      return p;
    }
    case CommandKind::kIncidents: {
      auto r = std::make_unique<v1::ListIncidentsRequest>();
      r->set_state("open");
      r->set_service(c.service);
      r->set_page_size(10);
      p.method = Rpc("IncidentService.ListIncidents");
      p.request = std::move(r);
      p.target_path = "/v1/incidents";
      return p;
    }
    case CommandKind::kHealth: {
      auto r = std::make_unique<v1::GetServiceHealthRequest>();
      r->set_service(c.service);
      r->set_environment(c.environment);
      p.method = Rpc("HealthService.GetServiceHealth");
      p.request = std::move(r);
      p.target_path = "/v1/health/services/" + c.service;
      return p;
    }
    case CommandKind::kWindows: {
      auto r = std::make_unique<v1::GetNextWindowRequest>();
      r->set_service(c.service);
      r->set_environment(WindowsEnvironment(c));
      p.method = Rpc("ReleaseService.GetNextWindow");
      p.request = std::move(r);
      p.target_path = "/v1/windows/next";
      return p;
    }
    case CommandKind::kBackup: {
      auto r = std::make_unique<v1::CreateBackupRequest>();
      r->set_target(c.target);
      p.method = Rpc("BackupService.CreateBackup");
      p.request = std::move(r);
      p.target_path = "/v1/backups";
      return p;
    }
    case CommandKind::kBackups: {
      auto r = std::make_unique<v1::ListBackupsRequest>();
      r->set_target(c.target);
      r->set_page_size(5);
      p.method = Rpc("BackupService.ListBackups");
      p.request = std::move(r);
      p.target_path = "/v1/backups";
      return p;
    }
  }
  return p;
}

PlannedCall PlanCurrentLookup(const ChatCommand& c) {
  PlannedCall p;
  auto r = std::make_unique<v1::GetServiceEnvironmentRequest>();
  r->set_service(c.service);
  r->set_environment(c.environment);
  p.method = Rpc("ReleaseService.GetServiceEnvironment");
  p.request = std::move(r);
  p.target_path = "/v1/services/" + c.service + "/environments/" + c.environment;
  return p;
}

bool NeedsCurrentRelease(const ChatCommand& c) { return c.kind == CommandKind::kRollback && c.to_sha.empty(); }

grpc::Status AimAtCurrentRelease(const google::protobuf::Message& environment, const ChatCommand& c,
                                 PlannedCall* plan) {
  const auto& e = static_cast<const v1::ServiceEnvironment&>(environment);
  if (!e.has_current() || e.current().id().empty()) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        "nothing has succeeded for " + c.service + " in " + c.environment + ", so there is nothing to roll back");
  }
  static_cast<v1::ReleaseActionRequest*>(plan->request.get())->set_id(e.current().id());
  plan->target_path = "/v1/releases/" + e.current().id() + "/rollback";
  return grpc::Status::OK;
}

ChatAnswer HelpAnswer() {
  ChatAnswer a;
  a.title = "Flightdeck commands";
  size_t start = 0;
  std::string usage = UsageText();
  while (start < usage.size()) {
    size_t end = usage.find('\n', start);
    if (end == std::string::npos) end = usage.size();
    a.lines.push_back(Code(usage.substr(start, end - start)));
    start = end + 1;
  }
  a.context = "Ids may be given by their first characters; quote arguments with spaces.";
  return a;
}

ChatAnswer ParseErrorAnswer(const std::string& error) {
  ChatAnswer a;
  a.tone = ChatAnswer::Tone::kWarning;
  size_t newline = error.find('\n');
  a.title = error.substr(0, newline);
  if (newline != std::string::npos) {
    std::string rest = error.substr(newline + 1);
    size_t start = 0;
    while (start < rest.size()) {
      size_t end = rest.find('\n', start);
      if (end == std::string::npos) end = rest.size();
      a.lines.push_back(Code(rest.substr(start, end - start)));
      start = end + 1;
    }
  }
  return a;
}

ChatAnswer NotLinkedAnswer(const std::string& platform, const std::string& team_id, const std::string& user_id) {
  ChatAnswer a;
  a.tone = ChatAnswer::Tone::kWarning;
  a.title = "You are not linked to a Flightdeck identity, so nothing was done.";
  a.lines = {"Ask a Flightdeck admin to link you:",
             Code("fdctl chatops link " + platform + " " + team_id + " " + user_id + " <name> --role <role>")};
  return a;
}

ChatAnswer ResultAnswer(const ChatCommand& c, const Message& response, const Actor& actor) {
  ChatAnswer a;
  a.in_channel = IsChange(c.kind);
  std::string who = actor.principal.name;
  a.context = (a.in_channel ? "by " + who + " " : "for " + who + " ") + "via " + PlatformLabel(actor.platform);
  switch (c.kind) {
    case CommandKind::kHelp:
      return HelpAnswer();
    case CommandKind::kStatus: {
      ChatAnswer s = StatusAnswer(c, static_cast<const v1::Overview&>(response));
      s.context = a.context;
      return s;
    }
    case CommandKind::kReleases: {
      const auto& list = static_cast<const v1::ListReleasesResponse&>(response);
      a.title = "Releases of " + c.service + (c.environment.empty() ? "" : " in " + c.environment);
      for (const v1::Release& r : list.releases()) {
        a.lines.push_back(Code(ShortId(r.id())) + " " + ReleaseName(r) + " " + Code(StateName(r)) + " · " +
                          FormatTime(r.created_at()));
      }
      if (a.lines.empty()) a.lines.push_back("No releases.");
      return a;
    }
    case CommandKind::kRelease: {
      const auto& r = static_cast<const v1::Release&>(response);
      a.title = ReleaseName(r);
      a.lines = ReleaseLines(r);
      a.buttons = ReleaseButtons(r);
      a.tone = ToneOfRelease(r);
      return a;
    }
    case CommandKind::kApprove: case CommandKind::kPromote: case CommandKind::kAbort: case CommandKind::kRollback: {
      const auto& r = static_cast<const v1::Release&>(response);
      const char* did = c.kind == CommandKind::kApprove   ? "approved"
                        : c.kind == CommandKind::kPromote ? "promoted"
                        : c.kind == CommandKind::kAbort   ? "aborted"
                                                          : "started a rollback of";
      a.title = who + " " + did + " " + (c.kind == CommandKind::kRollback ? c.service + " in " + c.environment
                                                                          : ReleaseName(r));
      a.lines = ReleaseLines(r);
      if (c.kind == CommandKind::kRollback) a.lines.insert(a.lines.begin(), "to " + ReleaseName(r));
      if (!c.text.empty()) a.lines.push_back("reason: " + c.text);
      a.buttons = ReleaseButtons(r);
      a.tone = c.kind == CommandKind::kApprove || c.kind == CommandKind::kPromote ? ChatAnswer::Tone::kGood
                                                                                 : ChatAnswer::Tone::kWarning;
      return a;
    }
    case CommandKind::kIncidentDeclare: case CommandKind::kIncidentAck: case CommandKind::kIncidentResolve:
    case CommandKind::kIncidentUpdate: {
      const auto& i = static_cast<const v1::Incident&>(response);
      const char* did = c.kind == CommandKind::kIncidentDeclare ? "declared"
                        : c.kind == CommandKind::kIncidentAck   ? "acknowledged"
                        : c.kind == CommandKind::kIncidentResolve ? "resolved"
                                                                  : "posted an update on";
      a.title = who + " " + did + " " + i.id() + ": " + i.title();
      a.lines = {IncidentLine(i)};
      if (c.kind == CommandKind::kIncidentUpdate) a.lines.push_back("update: " + c.text);
      a.buttons = IncidentButtons(i);
      a.tone = c.kind == CommandKind::kIncidentResolve ? ChatAnswer::Tone::kGood
               : c.kind == CommandKind::kIncidentDeclare ? ChatAnswer::Tone::kBad
                                                         : ChatAnswer::Tone::kInfo;
      return a;
    }
    case CommandKind::kIncidents: {
      const auto& list = static_cast<const v1::ListIncidentsResponse&>(response);
      a.title = "Open incidents" + (c.service.empty() ? "" : " of " + c.service);
      for (const v1::Incident& i : list.incidents()) a.lines.push_back(IncidentLine(i));
      if (a.lines.empty()) a.lines.push_back("None.");
      return a;
    }
    case CommandKind::kHealth: {
      const auto& h = static_cast<const v1::GetServiceHealthResponse&>(response);
      a.title = "Health of " + c.service + (c.environment.empty() ? "" : " in " + c.environment);
      for (const v1::ServiceHealth& e : h.environments()) {
        a.lines.push_back(Code(e.environment()) + " " + v1::HealthStatus_Name(e.status()) +
                          (e.reason().empty() ? "" : " — " + e.reason()));
      }
      if (a.lines.empty()) a.lines.push_back("No health targets cover " + c.service + ".");
      return a;
    }
    case CommandKind::kWindows: return WindowsAnswer(c, static_cast<const v1::NextWindow&>(response), a);
    case CommandKind::kBackup: {
      const auto& b = static_cast<const v1::Backup&>(response);
      a.title = who + " started a backup of " + b.target();
      a.lines = {"backup " + Code(ShortId(b.id())) + " " + Code(v1::Backup::State_Name(b.state()))};
      return a;
    }
    case CommandKind::kBackups: {
      const auto& list = static_cast<const v1::ListBackupsResponse&>(response);
      a.title = "Backups of " + c.target;
      for (const v1::Backup& b : list.backups()) {
        a.lines.push_back(Code(ShortId(b.id())) + " " + v1::Backup::State_Name(b.state()) + " · " +
                          FormatTime(b.started_at()));
      }
      if (a.lines.empty()) a.lines.push_back("None yet.");
      return a;
    }
  }
  return a;
}

ChatAnswer ErrorAnswer(const ChatCommand& c, const api::Method* method, const grpc::Status& status,
                       const Actor& actor) {
  ChatAnswer a;
  a.tone = ChatAnswer::Tone::kBad;
  if (status.error_code() == grpc::StatusCode::PERMISSION_DENIED && method != nullptr) {
    std::string rpc = method->rpc;
    a.title = "Refused: " + actor.principal.name + " (" + api::RoleName(actor.principal.role) + ") may not " +
              rpc.substr(rpc.rfind('.') + 1) + ".";
    a.lines = {"That needs the " + api::RoleName(method->role) + " role or above; nothing was done.",
               "Ask a Flightdeck admin if you should have it."};
    // The releases service's own refusals (no self-approval in production) say why themselves.
    if (status.error_message().rfind("role ", 0) != 0) {
      a.title = "Refused: " + status.error_message();
      a.lines = {"Nothing was done."};
    }
    return a;
  }
  a.title = "Could not " + std::string(IsChange(c.kind) ? "do that" : "read that") + ": " + status.error_message();
  a.lines = {"(" + std::string(api::RoleName(actor.principal.role)) + " " + actor.principal.name + ", error " +
             std::to_string(status.error_code()) + ")"};
  return a;
}

}  // namespace flightdeck::gateway::chatops
