#include "cli/suggest.h"

#include <algorithm>

namespace flightdeck::cli {

size_t EditDistance(std::string_view a, std::string_view b) {
  // Optimal string alignment: Levenshtein plus the transposition of two adjacent characters,
  // the commonest typing slip.
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

std::string ClosestMatch(std::string_view word, const std::vector<std::string>& candidates) {
  const size_t allowed = word.size() <= 4 ? 1 : 2;
  std::string best;
  size_t best_distance = allowed + 1;
  bool tie = false;
  for (const std::string& candidate : candidates) {
    if (candidate == word) continue;
    const size_t distance = EditDistance(word, candidate);
    if (distance < best_distance) {
      best = candidate;
      best_distance = distance;
      tie = false;
    } else if (distance == best_distance && candidate != best) {
      tie = true;
    }
  }
  if (!best.empty()) return tie ? std::string() : best;
  // No near miss: a beginning that only one candidate has ("inc" for "incident").
  if (word.size() < 2) return "";
  std::string only;
  for (const std::string& candidate : candidates) {
    if (candidate.compare(0, word.size(), word) != 0 || candidate == only) continue;
    if (!only.empty()) return "";
    only = candidate;
  }
  return only;
}

}  // namespace flightdeck::cli
