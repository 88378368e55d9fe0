#include "services/incidents/validation.h"

#include <cctype>

namespace flightdeck::incidents {
namespace {

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

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
