#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace flightdeck::http {

// Matches "METHOD /path" against patterns like "/v1/releases/{id}". Pure and thread-safe once
// built: the gateway and the admin servers use it so that 404 and 405 are decided one way.
template <typename Handler>
class Router {
 public:
  enum class Outcome { kFound, kNotFound, kMethodNotAllowed };
  struct Match {
    Outcome outcome = Outcome::kNotFound;
    const Handler* handler = nullptr;
    std::string pattern;                        // the matched route, for metrics labels
    std::map<std::string, std::string> params;  // {id} -> value
    std::vector<std::string> allowed;           // for 405's Allow header
  };

  void Add(std::string method, std::string pattern, Handler handler) {
    routes_.push_back({std::move(method), Split(pattern), pattern, std::move(handler)});
  }

  Match Find(std::string_view method, std::string_view path) const {
    Match m;
    const std::vector<std::string> segments = Split(path);
    for (const Route& route : routes_) {
      std::map<std::string, std::string> params;
      if (!MatchSegments(route.segments, segments, &params)) continue;
      if (route.method == method) {
        m.outcome = Outcome::kFound;
        m.handler = &route.handler;
        m.pattern = route.pattern;
        m.params = std::move(params);
        return m;
      }
      m.outcome = Outcome::kMethodNotAllowed;
      m.allowed.push_back(route.method);
    }
    return m;
  }

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;
    std::string pattern;
    Handler handler;
  };

  static std::vector<std::string> Split(std::string_view path) {
    std::vector<std::string> out;
    size_t i = 0;
    while (i < path.size()) {
      if (path[i] == '/') {
        ++i;
        continue;
      }
      size_t j = path.find('/', i);
      if (j == std::string_view::npos) j = path.size();
      out.emplace_back(path.substr(i, j - i));
      i = j;
    }
    return out;
  }

  static bool MatchSegments(const std::vector<std::string>& pattern,
                            const std::vector<std::string>& path,
                            std::map<std::string, std::string>* params) {
    if (pattern.size() != path.size()) return false;
    for (size_t i = 0; i < pattern.size(); ++i) {
      const std::string& p = pattern[i];
      if (p.size() > 2 && p.front() == '{' && p.back() == '}') {
        if (path[i].empty()) return false;
        (*params)[p.substr(1, p.size() - 2)] = path[i];
      } else if (p != path[i]) {
        return false;
      }
    }
    return true;
  }

  std::vector<Route> routes_;
};

// Splits "a=1&b=x%20y" into decoded pairs, in order.
std::vector<std::pair<std::string, std::string>> ParseQuery(std::string_view query);

}  // namespace flightdeck::http
