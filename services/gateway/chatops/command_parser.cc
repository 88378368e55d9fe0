#include "services/gateway/chatops/command_parser.h"

#include <algorithm>
#include <cctype>

namespace flightdeck::gateway::chatops {
namespace {

struct Syntax {
  const char* word;   // what is typed: "approve", "incident ack"
  const char* usage;  // its arguments
};

// The language, in the order `help` lists it.
constexpr Syntax kSyntax[] = {
    {"help", ""},
    {"status", "<service> [env]"},
    {"releases", "<service> [env]"},
    {"release", "<id-prefix>"},
    {"approve", "<id-prefix> [reason]"},
    {"promote", "<id-prefix>"},
    {"abort", "<id-prefix> <reason>"},
    {"rollback", "<service> <env> [to <sha-prefix>] <reason>"},
    {"incident declare", "<SEV1..SEV4> <service> [env] \"<title>\""},
    {"incident ack", "<INC-n>"},
    {"incident resolve", "<INC-n>"},
    {"incident update", "<INC-n> <text>"},
    {"incidents", "[service]"},
    {"health", "<service> [env]"},
    {"backup", "<target>"},
    {"backups", "<target>"},
    {"windows", "<service> [env]"},
};

constexpr const char* kTopWords[] = {"help", "status", "releases", "release", "approve", "promote",
                                     "abort", "rollback", "incident", "incidents", "health",
                                     "backup", "backups", "windows"};
constexpr const char* kIncidentWords[] = {"declare", "ack", "resolve", "update"};

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string Upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string Usage(std::string_view word) {
  for (const Syntax& s : kSyntax) {
    if (word == s.word) {
      return std::string("usage: ") + s.word + (*s.usage ? " " : "") + s.usage;
    }
  }
  return "usage: help";
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

template <size_t N>
std::string Closest(std::string_view word, const char* const (&candidates)[N]) {
  std::string best;
  size_t best_distance = 0;
  std::string lower = Lower(word);
  for (const char* candidate : candidates) {
    size_t d = EditDistance(lower, candidate);
    // A prefix of a command ("rel", "inc") also counts as close.
    if (std::string_view(candidate).substr(0, lower.size()) == lower && !lower.empty()) d = 1;
    if (best.empty() || d < best_distance) {
      best = candidate;
      best_distance = d;
    }
  }
  // Close means at most a third of the word wrong (and never more than 3 edits).
  size_t limit = std::min<size_t>(3, std::max<size_t>(1, std::string_view(best).size() / 3));
  return best_distance <= limit ? best : "";
}

ParseResult Fail(std::string_view word, const std::string& message) {
  ParseResult r;
  r.error = std::string(word) + ": " + message + "\n" + Usage(word);
  return r;
}

bool IsReleaseId(std::string_view text) {
  if (text.empty() || text.size() > 36) return false;
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) || c == '-'; });
}

// "INC-42", "inc-42" or "42" -> "INC-42"; "" when it is none of them.
std::string IncidentId(std::string_view text) {
  std::string upper = Upper(text);
  std::string_view digits = upper;
  if (digits.substr(0, 4) == "INC-") digits.remove_prefix(4);
  if (digits.empty() || digits.size() > 18 ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return "";
  }
  return "INC-" + std::string(digits);
}

std::string Join(const std::vector<Word>& words, size_t from) {
  std::string out;
  for (size_t i = from; i < words.size(); ++i) {
    if (!out.empty()) out.push_back(' ');
    out += words[i].text;
  }
  return out;
}

// Commands of the form `<word> <service> [env]`.
ParseResult ServiceAndEnvironment(CommandKind kind, std::string_view word, const std::vector<Word>& w) {
  if (w.size() < 2) return Fail(word, "missing <service>");
  if (w.size() > 3) return Fail(word, "unexpected \"" + w[3].text + "\" after [env]");
  ParseResult r;
  r.ok = true;
  r.command.kind = kind;
  r.command.service = w[1].text;
  if (w.size() == 3) r.command.environment = w[2].text;
  return r;
}

ParseResult ReleaseAction(CommandKind kind, std::string_view word, const std::vector<Word>& w,
                          bool reason_required, bool reason_allowed) {
  if (w.size() < 2) return Fail(word, "missing <id-prefix> (the release's id or its first characters)");
  if (!IsReleaseId(w[1].text)) {
    return Fail(word, "\"" + w[1].text + "\" is not a release id or prefix (hex digits and dashes)");
  }
  if (w.size() > 2 && !reason_allowed) return Fail(word, "unexpected \"" + w[2].text + "\" after <id-prefix>");
  if (w.size() == 2 && reason_required) {
    return Fail(word, "missing <reason> (it goes in the release's timeline)");
  }
  ParseResult r;
  r.ok = true;
  r.command.kind = kind;
  r.command.id = Lower(w[1].text);
  r.command.text = Join(w, 2);
  return r;
}

ParseResult Rollback(const std::vector<Word>& w) {
  if (w.size() < 2) return Fail("rollback", "missing <service>");
  if (w.size() < 3) return Fail("rollback", "missing <env>");
  ParseResult r;
  r.ok = true;
  r.command.kind = CommandKind::kRollback;
  r.command.service = w[1].text;
  r.command.environment = w[2].text;
  size_t next = 3;
  if (w.size() > 3 && !w[3].quoted && Lower(w[3].text) == "to") {
    if (w.size() < 5) return Fail("rollback", "\"to\" needs a <sha-prefix>");
    if (!IsReleaseId(w[4].text) || w[4].text.find('-') != std::string::npos) {
      return Fail("rollback", "\"" + w[4].text + "\" is not a commit (hex digits)");
    }
    r.command.to_sha = Lower(w[4].text);
    next = 5;
  }
  r.command.text = Join(w, next);
  if (r.command.text.empty()) return Fail("rollback", "missing <reason> (it goes in the release's timeline)");
  return r;
}

ParseResult Incident(const std::vector<Word>& w) {
  if (w.size() < 2) {
    ParseResult r;
    r.error = "incident: missing declare, ack, resolve or update\n" + Usage("incident declare") + "\n" +
              Usage("incident ack") + "\n" + Usage("incident resolve") + "\n" + Usage("incident update");
    return r;
  }
  std::string sub = Lower(w[1].text);
  if (sub == "acknowledge") sub = "ack";
  if (sub == "declare") {
    const char* word = "incident declare";
    if (w.size() < 3) return Fail(word, "missing <SEV1..SEV4>");
    std::string severity = Upper(w[2].text);
    if (severity.size() == 1) severity = "SEV" + severity;
    if (severity != "SEV1" && severity != "SEV2" && severity != "SEV3" && severity != "SEV4") {
      return Fail(word, "severity \"" + w[2].text + "\" must be SEV1, SEV2, SEV3 or SEV4");
    }
    if (w.size() < 4) return Fail(word, "missing <service>");
    if (w.size() < 5) return Fail(word, "missing <title>");
    ParseResult r;
    r.ok = true;
    r.command.kind = CommandKind::kIncidentDeclare;
    r.command.severity = severity;
    r.command.service = w[3].text;
    // An environment is only read before a quoted title: without quotes every word after the
    // service is the title, so "api checkout is down" never loses "checkout" to the environment.
    auto quoted = std::find_if(w.begin() + 4, w.end(), [](const Word& x) { return x.quoted; });
    if (quoted == w.end()) {
      r.command.text = Join(w, 4);
      return r;
    }
    size_t at = static_cast<size_t>(quoted - w.begin());
    if (at > 5) return Fail(word, "unexpected \"" + w[5].text + "\" before the quoted title");
    if (at + 1 < w.size()) return Fail(word, "unexpected \"" + w[at + 1].text + "\" after the title");
    if (at == 5) r.command.environment = w[4].text;
    r.command.text = quoted->text;
    if (r.command.text.empty()) return Fail(word, "the title is empty");
    return r;
  }
  if (sub == "ack" || sub == "resolve" || sub == "update") {
    std::string word = "incident " + sub;
    if (w.size() < 3) return Fail(word, "missing <INC-n>");
    std::string id = IncidentId(w[2].text);
    if (id.empty()) return Fail(word, "\"" + w[2].text + "\" is not an incident id (INC-<n>)");
    ParseResult r;
    r.ok = true;
    r.command.id = id;
    if (sub == "update") {
      r.command.kind = CommandKind::kIncidentUpdate;
      r.command.text = Join(w, 3);
      if (r.command.text.empty()) return Fail(word, "missing <text>");
      return r;
    }
    if (w.size() > 3) return Fail(word, "unexpected \"" + w[3].text + "\" after <INC-n>");
    r.command.kind = sub == "ack" ? CommandKind::kIncidentAck : CommandKind::kIncidentResolve;
    return r;
  }
  ParseResult r;
  std::string closest = Closest(w[1].text, kIncidentWords);
  r.error = "incident: unknown \"" + w[1].text + "\"" +
            (closest.empty() ? "; use declare, ack, resolve or update"
                             : "; did you mean \"incident " + closest + "\"?") +
            "\n" + (closest.empty() ? Usage("incident declare") : Usage("incident " + closest));
  return r;
}

}  // namespace

bool SplitWords(std::string_view text, std::vector<Word>* out, std::string* error) {
  out->clear();
  // Slack turns straight quotes into curly ones on some clients: read them as straight.
  std::string plain;
  for (size_t i = 0; i < text.size(); ++i) {
    std::string_view rest = text.substr(i);
    if (rest.substr(0, 3) == "\xE2\x80\x9C" || rest.substr(0, 3) == "\xE2\x80\x9D") {
      plain.push_back('"');
      i += 2;
    } else if (rest.substr(0, 3) == "\xE2\x80\x98" || rest.substr(0, 3) == "\xE2\x80\x99") {
      plain.push_back('\'');
      i += 2;
    } else {
      plain.push_back(text[i]);
    }
  }
  size_t i = 0;
  while (i < plain.size()) {
    while (i < plain.size() && std::isspace(static_cast<unsigned char>(plain[i]))) ++i;
    if (i >= plain.size()) break;
    Word word;
    while (i < plain.size() && !std::isspace(static_cast<unsigned char>(plain[i]))) {
      char c = plain[i];
      if (c == '"' || c == '\'') {
        size_t open = i++;
        word.quoted = true;
        bool closed = false;
        while (i < plain.size()) {
          if (plain[i] == c) {
            closed = true;
            ++i;
            break;
          }
          if (c == '"' && plain[i] == '\\' && i + 1 < plain.size()) ++i;
          word.text.push_back(plain[i++]);
        }
        if (!closed) {
          *error = std::string("unclosed quote ") + c + " (opened at character " + std::to_string(open + 1) + ")";
          return false;
        }
      } else {
        word.text.push_back(c);
        ++i;
      }
    }
    out->push_back(std::move(word));
  }
  return true;
}

ParseResult ParseCommand(std::string_view text) {
  std::vector<Word> w;
  ParseResult r;
  if (!SplitWords(text, &w, &r.error)) return r;
  if (w.empty()) {
    r.ok = true;
    r.command.kind = CommandKind::kHelp;
    return r;
  }
  std::string word = Lower(w[0].text);
  if (word == "help") {
    r.ok = true;
    r.command.kind = CommandKind::kHelp;
    return r;
  }
  if (word == "status") return ServiceAndEnvironment(CommandKind::kStatus, word, w);
  if (word == "releases") return ServiceAndEnvironment(CommandKind::kReleases, word, w);
  if (word == "health") return ServiceAndEnvironment(CommandKind::kHealth, word, w);
  if (word == "windows") return ServiceAndEnvironment(CommandKind::kWindows, word, w);
  if (word == "release") return ReleaseAction(CommandKind::kRelease, word, w, false, false);
  if (word == "approve") return ReleaseAction(CommandKind::kApprove, word, w, false, true);
  if (word == "promote") return ReleaseAction(CommandKind::kPromote, word, w, false, false);
  if (word == "abort") return ReleaseAction(CommandKind::kAbort, word, w, true, true);
  if (word == "rollback") return Rollback(w);
  if (word == "incident") return Incident(w);
  if (word == "incidents") {
    if (w.size() > 2) return Fail(word, "unexpected \"" + w[2].text + "\" after [service]");
    r.ok = true;
    r.command.kind = CommandKind::kIncidents;
    if (w.size() == 2) r.command.service = w[1].text;
    return r;
  }
  if (word == "backup" || word == "backups") {
    if (w.size() < 2) return Fail(word, "missing <target> (a backup target's name)");
    if (w.size() > 2) return Fail(word, "unexpected \"" + w[2].text + "\" after <target>");
    r.ok = true;
    r.command.kind = word == "backup" ? CommandKind::kBackup : CommandKind::kBackups;
    r.command.target = w[1].text;
    return r;
  }
  std::string closest = ClosestCommand(w[0].text);
  if (closest.empty()) {
    r.error = "unknown command \"" + w[0].text + "\"; try \"help\"\n" + UsageText();
  } else {
    std::string usage_word = closest == "incident" ? "incident declare" : closest;
    r.error = "unknown command \"" + w[0].text + "\"; did you mean \"" + closest + "\"?\n" + Usage(usage_word);
  }
  return r;
}

bool IsChange(CommandKind kind) {
  switch (kind) {
    case CommandKind::kApprove: case CommandKind::kPromote: case CommandKind::kAbort:
    case CommandKind::kRollback: case CommandKind::kIncidentDeclare: case CommandKind::kIncidentAck:
    case CommandKind::kIncidentResolve: case CommandKind::kIncidentUpdate: case CommandKind::kBackup:
      return true;
    default:
      return false;
  }
}

std::string UsageText() {
  std::string out;
  for (const Syntax& s : kSyntax) {
    if (!out.empty()) out.push_back('\n');
    out += s.word;
    if (*s.usage) out += std::string(" ") + s.usage;
  }
  return out;
}

std::string ClosestCommand(std::string_view word) { return Closest(word, kTopWords); }

}  // namespace flightdeck::gateway::chatops
