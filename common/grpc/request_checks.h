#pragma once

#include <algorithm>
#include <cctype>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <grpcpp/support/status.h>

#include "common/text/utf8.h"

// How every service checks a request's fields: every problem of a request in one
// INVALID_ARGUMENT (each naming its field, joined with "; "), enums in any case, and ids given
// as unique prefixes (like git). Pure and header-only.
namespace flightdeck::rpc {

// Collects the problems of one request so that a client fixes them in one round trip.
class FieldErrors {
 public:
  // "field: problem".
  void Add(const std::string& field, const std::string& problem) { problems_.push_back(field + ": " + problem); }
  // Takes the message of a status that already names its field (an INVALID_ARGUMENT from a
  // shared check); an OK status adds nothing.
  void Add(const grpc::Status& status) {
    if (!status.ok()) problems_.push_back(status.error_message());
  }
  // Adds the problems another check collected (a nested message's), in order.
  void Add(const FieldErrors& other) {
    problems_.insert(problems_.end(), other.problems_.begin(), other.problems_.end());
  }
  // "field: must be at most N characters (it has M)" when the UTF-8 `value` holds more.
  void AddIfLonger(const std::string& field, std::string_view value, size_t max_characters) {
    if (value.size() <= max_characters) return;  // no more characters than bytes
    const size_t characters = text::CharacterCount(value);
    if (characters > max_characters) {
      Add(field, "must be at most " + std::to_string(max_characters) + " characters (it has " +
                     std::to_string(characters) + ")");
    }
  }
  bool empty() const { return problems_.empty(); }
  // OK, or INVALID_ARGUMENT with every problem joined by "; " in the order found.
  grpc::Status ToStatus() const {
    if (problems_.empty()) return grpc::Status::OK;
    std::string message;
    for (const std::string& p : problems_) message += (message.empty() ? "" : "; ") + p;
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message);
  }

 private:
  std::vector<std::string> problems_;
};

// The canonical spelling in `valid` of `value` compared ignoring case; nullopt when none matches.
inline std::optional<std::string> CanonicalEnum(const std::string& value, std::initializer_list<const char*> valid) {
  for (const char* v : valid) {
    const std::string candidate(v);
    if (candidate.size() == value.size() &&
        std::equal(value.begin(), value.end(), candidate.begin(), [](unsigned char a, unsigned char b) {
          return std::tolower(a) == std::tolower(b);
        })) {
      return candidate;
    }
  }
  return std::nullopt;
}

// "unknown value \"x\" (one of a, b, c)": what an enum error says after its field name.
inline std::string UnknownEnumValue(const std::string& value, std::initializer_list<const char*> valid) {
  std::string list;
  for (const char* v : valid) list += (list.empty() ? "" : ", ") + std::string(v);
  return "unknown value \"" + value + "\" (one of " + list + ")";
}

// What an enum field's error says after its name: "required (one of a, b)" when empty.
inline std::string EnumProblem(const std::string& value, std::initializer_list<const char*> valid) {
  if (!value.empty()) return UnknownEnumValue(value, valid);
  std::string list;
  for (const char* v : valid) list += (list.empty() ? "" : ", ") + std::string(v);
  return "required (one of " + list + ")";
}

// 8-4-4-4-12 hex digits, either case.
inline bool IsUuid(const std::string& id) {
  if (id.size() != 36) return false;
  for (size_t i = 0; i < id.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? id[i] != '-' : !std::isxdigit(static_cast<unsigned char>(id[i]))) return false;
  }
  return true;
}

inline constexpr size_t kMinIdPrefixHex = 4;

// The uuid range [low, high] that ids starting with `prefix` fall in, so that the lookup is a
// range scan of the primary key. nullopt unless `prefix` is the start of a UUID's text (dashes
// only where a UUID has them) with at least kMinIdPrefixHex hex digits.
struct UuidRange {
  std::string low;
  std::string high;
};
inline std::optional<UuidRange> UuidPrefixRange(const std::string& prefix) {
  if (prefix.size() > 36) return std::nullopt;
  std::string hex;
  for (size_t i = 0; i < prefix.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash) {
      if (prefix[i] != '-') return std::nullopt;
    } else if (!std::isxdigit(static_cast<unsigned char>(prefix[i]))) {
      return std::nullopt;
    } else {
      hex.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(prefix[i]))));
    }
  }
  if (hex.size() < kMinIdPrefixHex) return std::nullopt;
  auto shape = [](const std::string& digits32) {
    return digits32.substr(0, 8) + "-" + digits32.substr(8, 4) + "-" + digits32.substr(12, 4) + "-" +
           digits32.substr(16, 4) + "-" + digits32.substr(20);
  };
  return UuidRange{shape(hex + std::string(32 - hex.size(), '0')), shape(hex + std::string(32 - hex.size(), 'f'))};
}

// Up to `limit` ids within [low, high], in order.
using IdRangeLookup = std::function<grpc::Status(const UuidRange& range, int limit, std::vector<std::string>* ids)>;

// Turns what a client gave for an id (a full id, or a unique prefix of at least 4 hex
// characters) into the full id. A full id is taken as is, without a query. `field` names the
// request field, `what` the thing ("backup", "smoke run"). NOT_FOUND when no id starts so;
// INVALID_ARGUMENT when the prefix is too short or ambiguous (the message lists candidates).
inline grpc::Status ResolveIdPrefix(const std::string& field, const std::string& what, const std::string& given,
                                    const IdRangeLookup& lookup, std::string* full) {
  if (given.empty()) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, field + ": is required");
  if (IsUuid(given)) {
    full->clear();
    for (char c : given) full->push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    return grpc::Status::OK;
  }
  std::optional<UuidRange> range = UuidPrefixRange(given);
  if (!range) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        field + ": \"" + given + "\" is not a " + what + " id nor a prefix of one (at least " +
                            std::to_string(kMinIdPrefixHex) + " hex characters)");
  }
  constexpr int kShown = 5;
  std::vector<std::string> ids;
  if (grpc::Status s = lookup(*range, kShown + 1, &ids); !s.ok()) return s;
  if (ids.empty()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no " + what + " id starts with " + given);
  if (ids.size() == 1) {
    *full = ids[0];
    return grpc::Status::OK;
  }
  std::string candidates;
  for (size_t i = 0; i < ids.size() && i < kShown; ++i) candidates += (i == 0 ? "" : ", ") + ids[i];
  if (ids.size() > kShown) candidates += ", ...";
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                      field + ": \"" + given + "\" is ambiguous: it starts the " + what + " ids " + candidates +
                          "; give more characters");
}

}  // namespace flightdeck::rpc
