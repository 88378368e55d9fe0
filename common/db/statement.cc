#include <cctype>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/db/db.h"
#include "common/db/statement_names.h"

namespace flightdeck::db {
namespace internal {
namespace {

// Process-wide because Exec() only knows the statement's name; written by Prepare() (rare),
// read per statement only when the span is recorded.
struct OperationTable {
  std::shared_mutex mu;
  std::unordered_map<std::string, std::string> by_name;
};

OperationTable& Table() {
  static auto* table = new OperationTable();  // never destroyed: spans may end during exit
  return *table;
}

}  // namespace

std::string FirstKeyword(std::string_view sql) {
  size_t i = 0;
  while (i < sql.size()) {
    if (std::isspace(static_cast<unsigned char>(sql[i]))) {
      ++i;
    } else if (sql.compare(i, 2, "--") == 0) {
      size_t eol = sql.find('\n', i);
      i = eol == std::string_view::npos ? sql.size() : eol + 1;
    } else if (sql.compare(i, 2, "/*") == 0) {
      size_t end = sql.find("*/", i + 2);
      i = end == std::string_view::npos ? sql.size() : end + 2;
    } else {
      break;
    }
  }
  std::string word;
  while (i < sql.size() && std::isalpha(static_cast<unsigned char>(sql[i]))) {
    word += static_cast<char>(std::toupper(static_cast<unsigned char>(sql[i])));
    ++i;
  }
  return word;
}

void RememberStatementOperation(std::string_view name, std::string_view sql) {
  std::string op = FirstKeyword(sql);
  std::unique_lock lock(Table().mu);
  Table().by_name[std::string(name)] = std::move(op);
}

std::string StatementOperation(std::string_view name) {
  std::shared_lock lock(Table().mu);
  auto it = Table().by_name.find(std::string(name));
  return it == Table().by_name.end() ? std::string() : it->second;
}

}  // namespace internal

UnstorableText::UnstorableText(std::string_view statement, size_t parameter)
    : std::invalid_argument("a text value holds a NUL character (\\u0000), which cannot be stored (statement " +
                            std::string(statement) + ", parameter $" + std::to_string(parameter) + ")") {}

trace::Span StatementSpan(std::string_view statement_name) {
  trace::Span span(std::string(statement_name), trace::SpanKind::kClient);
  if (span.recording()) {
    span.SetAttribute("db.system", std::string("postgresql"));
    span.SetAttribute("db.statement.name", std::string(statement_name));
    std::string op = internal::StatementOperation(statement_name);
    if (!op.empty()) span.SetAttribute("db.operation", std::move(op));
  }
  return span;
}

}  // namespace flightdeck::db
