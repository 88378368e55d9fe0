#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace flightdeck::cli {

// Edits (insert, delete, replace, swap two neighbours) that turn `a` into `b`: "relaese" is
// one edit from "release".
size_t EditDistance(std::string_view a, std::string_view b);

// The candidate a mistyped `word` most likely meant, for "did you mean ...?"; empty when none
// is close enough to be a fair guess (at most one edit for words of up to four characters,
// two for longer ones), or when two candidates are equally close. Without a near miss, the one
// candidate that starts with `word` ("inc" -> "incident"), if only one does.
std::string ClosestMatch(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace flightdeck::cli
