#pragma once

#include <string>
#include <string_view>

namespace flightdeck::db::internal {

// Remembers the SQL operation (first keyword: SELECT, INSERT, ...) of a prepared statement so
// that StatementSpan, which only sees the statement's name, can report db.operation.
void RememberStatementOperation(std::string_view name, std::string_view sql);
std::string StatementOperation(std::string_view name);  // empty when unknown
// "  with x as (...) insert ..." -> "WITH"; the first word, upper-cased.
std::string FirstKeyword(std::string_view sql);

}  // namespace flightdeck::db::internal
