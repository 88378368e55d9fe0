#include "services/incidents/validation.h"

#include <cctype>

namespace flightdeck::incidents {
namespace {

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

void FieldErrors::Add(const std::string& field, const std::string& problem) {
  problems_.push_back(field + ": " + problem);
}

void FieldErrors::Add(const grpc::Status& status) {
  if (!status.ok()) problems_.push_back(status.error_message());
}

grpc::Status FieldErrors::ToStatus() const {
  if (problems_.empty()) return grpc::Status::OK;
  std::string message;
  for (const std::string& p : problems_) message += (message.empty() ? "" : "; ") + p;
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message);
}

std::string CanonicalEnum(const std::string& text, std::initializer_list<const char*> valid) {
  const std::string upper = Upper(text);
  for (const char* v : valid) {
    if (upper == v) return upper;
  }
  return "";
}

std::string EnumProblem(const std::string& text, std::initializer_list<const char*> valid) {
  std::string list;
  for (const char* v : valid) list += (list.empty() ? "" : ", ") + std::string(v);
  return "\"" + text + "\" is not one of " + list;
}

}  // namespace flightdeck::incidents
