#pragma once

#include <initializer_list>
#include <string>
#include <vector>

#include <grpcpp/support/status.h>

// How the incidents service answers bad input: every problem of a request in one
// INVALID_ARGUMENT (each naming its field, joined with "; "), and enum-valued strings taken in
// any case and answered in one canonical (upper-case) form.
namespace flightdeck::incidents {

class FieldErrors {
 public:
  // "title: required".
  void Add(const std::string& field, const std::string& problem);
  // The message of a failed status that already names its field; OK statuses add nothing.
  void Add(const grpc::Status& status);
  bool empty() const { return problems_.empty(); }
  // OK when nothing was added, else INVALID_ARGUMENT with every problem in the order added.
  grpc::Status ToStatus() const;

 private:
  std::vector<std::string> problems_;
};

// The canonical (upper-case) spelling of `text` among `valid`, compared case-insensitively;
// empty when it is none of them.
std::string CanonicalEnum(const std::string& text, std::initializer_list<const char*> valid);
// "state: \"sleeping\" is not one of TRIGGERED, ACKNOWLEDGED, RESOLVED, CLOSED, OPEN".
std::string EnumProblem(const std::string& text, std::initializer_list<const char*> valid);

}  // namespace flightdeck::incidents
