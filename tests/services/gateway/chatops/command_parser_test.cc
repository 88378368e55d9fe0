// Unit: the chat command language — words and quotes, every command's arguments, and every
// error message a chat user can get.
#include <gtest/gtest.h>

#include "services/gateway/chatops/command_parser.h"

namespace flightdeck::gateway::chatops {
namespace {

ChatCommand Ok(const std::string& text) {
  ParseResult r = ParseCommand(text);
  EXPECT_TRUE(r.ok) << text << ": " << r.error;
  return r.command;
}

std::string Error(const std::string& text) {
  ParseResult r = ParseCommand(text);
  EXPECT_FALSE(r.ok) << text;
  return r.error;
}

TEST(SplitWords, QuotesGroupWordsAndKeepTheirMark) {
  std::vector<Word> w;
  std::string error;
  ASSERT_TRUE(SplitWords(R"(abort 3f2a "canary looks \"bad\""  'it''s late')", &w, &error));
  ASSERT_EQ(w.size(), 4u);
  EXPECT_EQ(w[0].text, "abort");
  EXPECT_FALSE(w[0].quoted);
  EXPECT_EQ(w[2].text, "canary looks \"bad\"");
  EXPECT_TRUE(w[2].quoted);
  EXPECT_EQ(w[3].text, "its late");
  ASSERT_TRUE(SplitWords("say \xE2\x80\x9Cin curly quotes\xE2\x80\x9D", &w, &error));
  ASSERT_EQ(w.size(), 2u);
  EXPECT_EQ(w[1].text, "in curly quotes");
  ASSERT_TRUE(SplitWords(R"(x "")", &w, &error));
  ASSERT_EQ(w.size(), 2u);
  EXPECT_EQ(w[1].text, "");
}

TEST(SplitWords, AnUnclosedQuoteIsAnError) {
  std::vector<Word> w;
  std::string error;
  EXPECT_FALSE(SplitWords(R"(abort 3f2a "no end)", &w, &error));
  EXPECT_EQ(error, "unclosed quote \" (opened at character 12)");
  EXPECT_EQ(Error("abort 3f2a 'no end"), "unclosed quote ' (opened at character 12)");
}

TEST(ParseCommand, EmptyAndHelpAreHelp) {
  EXPECT_EQ(Ok("").kind, CommandKind::kHelp);
  EXPECT_EQ(Ok("   ").kind, CommandKind::kHelp);
  EXPECT_EQ(Ok("HELP").kind, CommandKind::kHelp);
  EXPECT_NE(UsageText().find("rollback <service> <env> [to <sha-prefix>] <reason>"), std::string::npos);
}

TEST(ParseCommand, ServiceAndEnvironmentCommands) {
  ChatCommand c = Ok("status api production");
  EXPECT_EQ(c.kind, CommandKind::kStatus);
  EXPECT_EQ(c.service, "api");
  EXPECT_EQ(c.environment, "production");
  EXPECT_EQ(Ok("releases api").environment, "");
  EXPECT_EQ(Ok("health api staging").kind, CommandKind::kHealth);
  EXPECT_EQ(Error("status"), "status: missing <service>\nusage: status <service> [env]");
  EXPECT_EQ(Error("releases api production extra"),
            "releases: unexpected \"extra\" after [env]\nusage: releases <service> [env]");
  EXPECT_EQ(Error("health"), "health: missing <service>\nusage: health <service> [env]");
}

TEST(ParseCommand, WindowsTakesAServiceAndAnOptionalEnvironment) {
  ChatCommand c = Ok("windows orders production");
  EXPECT_EQ(c.kind, CommandKind::kWindows);
  EXPECT_EQ(c.service, "orders");
  EXPECT_EQ(c.environment, "production");
  EXPECT_EQ(Ok("Windows orders").environment, "");
  EXPECT_EQ(Error("windows"), "windows: missing <service>\nusage: windows <service> [env]");
  EXPECT_EQ(Error("windows orders production now"),
            "windows: unexpected \"now\" after [env]\nusage: windows <service> [env]");
  EXPECT_EQ(Error("windos orders"), "unknown command \"windos\"; did you mean \"windows\"?\n"
                                    "usage: windows <service> [env]");
  EXPECT_NE(UsageText().find("\nwindows <service> [env]"), std::string::npos) << "help lists it";
  EXPECT_FALSE(IsChange(CommandKind::kWindows));
}

TEST(ParseCommand, ReleaseActionsTakeIdPrefixes) {
  ChatCommand c = Ok("approve 3F2A looks good to me");
  EXPECT_EQ(c.kind, CommandKind::kApprove);
  EXPECT_EQ(c.id, "3f2a");  // ids are lower-case hex
  EXPECT_EQ(c.text, "looks good to me");
  EXPECT_EQ(Ok("approve 3f2a").text, "");
  EXPECT_EQ(Ok("promote 3f2a-77").kind, CommandKind::kPromote);
  EXPECT_EQ(Ok("release 3f2a").kind, CommandKind::kRelease);
  ChatCommand abort = Ok(R"(abort 3f2a "error rate 7%")");
  EXPECT_EQ(abort.kind, CommandKind::kAbort);
  EXPECT_EQ(abort.text, "error rate 7%");

  EXPECT_EQ(Error("approve"),
            "approve: missing <id-prefix> (the release's id or its first characters)\n"
            "usage: approve <id-prefix> [reason]");
  EXPECT_EQ(Error("release zz-top"),
            "release: \"zz-top\" is not a release id or prefix (hex digits and dashes)\nusage: release <id-prefix>");
  EXPECT_EQ(Error("promote 3f2a now"),
            "promote: unexpected \"now\" after <id-prefix>\nusage: promote <id-prefix>");
  EXPECT_EQ(Error("release 3f2a 99"), "release: unexpected \"99\" after <id-prefix>\nusage: release <id-prefix>");
  EXPECT_EQ(Error("abort 3f2a"),
            "abort: missing <reason> (it goes in the release's timeline)\nusage: abort <id-prefix> <reason>");
}

TEST(ParseCommand, Rollback) {
  ChatCommand c = Ok("rollback api production to 9C1D bad deploy");
  EXPECT_EQ(c.kind, CommandKind::kRollback);
  EXPECT_EQ(c.service, "api");
  EXPECT_EQ(c.environment, "production");
  EXPECT_EQ(c.to_sha, "9c1d");
  EXPECT_EQ(c.text, "bad deploy");
  ChatCommand previous = Ok("rollback api production \"errors after deploy\"");
  EXPECT_EQ(previous.to_sha, "");
  EXPECT_EQ(previous.text, "errors after deploy");
  // A quoted "to" is the reason, not the keyword.
  EXPECT_EQ(Ok("rollback api production \"to\" be safe").text, "to be safe");

  const std::string usage = "\nusage: rollback <service> <env> [to <sha-prefix>] <reason>";
  EXPECT_EQ(Error("rollback"), "rollback: missing <service>" + usage);
  EXPECT_EQ(Error("rollback api"), "rollback: missing <env>" + usage);
  EXPECT_EQ(Error("rollback api production"), "rollback: missing <reason> (it goes in the release's timeline)" + usage);
  EXPECT_EQ(Error("rollback api production to"), "rollback: \"to\" needs a <sha-prefix>" + usage);
  EXPECT_EQ(Error("rollback api production to xyz oops"), "rollback: \"xyz\" is not a commit (hex digits)" + usage);
  EXPECT_EQ(Error("rollback api production to 9c1d"),
            "rollback: missing <reason> (it goes in the release's timeline)" + usage);
}

TEST(ParseCommand, IncidentDeclare) {
  ChatCommand c = Ok("incident declare sev2 api checkout is down");
  EXPECT_EQ(c.kind, CommandKind::kIncidentDeclare);
  EXPECT_EQ(c.severity, "SEV2");
  EXPECT_EQ(c.service, "api");
  EXPECT_EQ(c.environment, "");  // without a quoted title every word is the title
  EXPECT_EQ(c.text, "checkout is down");
  ChatCommand with_env = Ok("incident declare SEV1 api production \"Checkout is down\"");
  EXPECT_EQ(with_env.environment, "production");
  EXPECT_EQ(with_env.text, "Checkout is down");
  EXPECT_EQ(Ok("incident declare 3 api \"Slow\"").severity, "SEV3");
  EXPECT_EQ(Ok("incident declare 3 api \"Slow\"").environment, "");

  const std::string usage = "\nusage: incident declare <SEV1..SEV4> <service> [env] \"<title>\"";
  EXPECT_EQ(Error("incident declare"), "incident declare: missing <SEV1..SEV4>" + usage);
  EXPECT_EQ(Error("incident declare SEV5 api x"),
            "incident declare: severity \"SEV5\" must be SEV1, SEV2, SEV3 or SEV4" + usage);
  EXPECT_EQ(Error("incident declare SEV2"), "incident declare: missing <service>" + usage);
  EXPECT_EQ(Error("incident declare SEV2 api"), "incident declare: missing <title>" + usage);
  EXPECT_EQ(Error("incident declare SEV2 api prod eu \"Down\""),
            "incident declare: unexpected \"eu\" before the quoted title" + usage);
  EXPECT_EQ(Error("incident declare SEV2 api prod \"Down\" now"),
            "incident declare: unexpected \"now\" after the title" + usage);
  EXPECT_EQ(Error("incident declare SEV2 api prod \"\""), "incident declare: the title is empty" + usage);
}

TEST(ParseCommand, IncidentAckResolveUpdate) {
  ChatCommand ack = Ok("incident ack INC-42");
  EXPECT_EQ(ack.kind, CommandKind::kIncidentAck);
  EXPECT_EQ(ack.id, "INC-42");
  EXPECT_EQ(Ok("incident acknowledge inc-7").id, "INC-7");
  EXPECT_EQ(Ok("incident resolve 9").id, "INC-9");
  EXPECT_EQ(Ok("incident resolve 9").kind, CommandKind::kIncidentResolve);
  ChatCommand update = Ok("incident update INC-3 rolled back, watching errors");
  EXPECT_EQ(update.kind, CommandKind::kIncidentUpdate);
  EXPECT_EQ(update.text, "rolled back, watching errors");

  EXPECT_EQ(Error("incident ack"), "incident ack: missing <INC-n>\nusage: incident ack <INC-n>");
  EXPECT_EQ(Error("incident resolve ABC-1"),
            "incident resolve: \"ABC-1\" is not an incident id (INC-<n>)\nusage: incident resolve <INC-n>");
  EXPECT_EQ(Error("incident ack INC-1 now"),
            "incident ack: unexpected \"now\" after <INC-n>\nusage: incident ack <INC-n>");
  EXPECT_EQ(Error("incident update INC-1"), "incident update: missing <text>\nusage: incident update <INC-n> <text>");
  EXPECT_EQ(Error("incident"),
            "incident: missing declare, ack, resolve or update\n"
            "usage: incident declare <SEV1..SEV4> <service> [env] \"<title>\"\n"
            "usage: incident ack <INC-n>\nusage: incident resolve <INC-n>\nusage: incident update <INC-n> <text>");
  EXPECT_EQ(Error("incident resolv INC-1"),
            "incident: unknown \"resolv\"; did you mean \"incident resolve\"?\nusage: incident resolve <INC-n>");
  EXPECT_EQ(Error("incident frobnicate"),
            "incident: unknown \"frobnicate\"; use declare, ack, resolve or update\n"
            "usage: incident declare <SEV1..SEV4> <service> [env] \"<title>\"");
}

TEST(ParseCommand, IncidentsAndBackups) {
  EXPECT_EQ(Ok("incidents").kind, CommandKind::kIncidents);
  EXPECT_EQ(Ok("incidents api").service, "api");
  EXPECT_EQ(Error("incidents api prod"), "incidents: unexpected \"prod\" after [service]\nusage: incidents [service]");
  EXPECT_EQ(Ok("backup orders-db").target, "orders-db");
  EXPECT_EQ(Ok("backups orders-db").kind, CommandKind::kBackups);
  EXPECT_EQ(Error("backup"), "backup: missing <target> (a backup target's name)\nusage: backup <target>");
  EXPECT_EQ(Error("backups a b"), "backups: unexpected \"b\" after <target>\nusage: backups <target>");
}

TEST(ParseCommand, AnUnknownWordGetsTheClosestCommandAndItsUsage) {
  EXPECT_EQ(Error("aprove 3f2a"), "unknown command \"aprove\"; did you mean \"approve\"?\n"
                                  "usage: approve <id-prefix> [reason]");
  EXPECT_EQ(Error("rollbak api prod x"), "unknown command \"rollbak\"; did you mean \"rollback\"?\n"
                                         "usage: rollback <service> <env> [to <sha-prefix>] <reason>");
  EXPECT_EQ(Error("incdent ack 1"), "unknown command \"incdent\"; did you mean \"incident\"?\n"
                                    "usage: incident declare <SEV1..SEV4> <service> [env] \"<title>\"");
  std::string far = Error("deploy api");
  EXPECT_EQ(far.substr(0, far.find('\n')), "unknown command \"deploy\"; try \"help\"");
  EXPECT_NE(far.find("\nbackups <target>"), std::string::npos);  // the whole usage follows
}

TEST(ParseCommand, ChangesAreTheWritingCommands) {
  EXPECT_TRUE(IsChange(CommandKind::kApprove));
  EXPECT_TRUE(IsChange(CommandKind::kRollback));
  EXPECT_TRUE(IsChange(CommandKind::kIncidentDeclare));
  EXPECT_TRUE(IsChange(CommandKind::kBackup));
  EXPECT_FALSE(IsChange(CommandKind::kStatus));
  EXPECT_FALSE(IsChange(CommandKind::kBackups));
  EXPECT_FALSE(IsChange(CommandKind::kHelp));
}

}  // namespace
}  // namespace flightdeck::gateway::chatops
