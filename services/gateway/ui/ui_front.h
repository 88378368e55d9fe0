#pragma once

#include <map>
#include <memory>
#include <string>

namespace flightdeck::gateway {

class HttpCall;

// The dashboard's static files at /ui (DESIGN.md §6): read once from `directory` at start-up
// (the esbuild bundle, a few hundred kB) and served from memory with a strict
// Content-Security-Policy (nothing but this origin: no CDN, no inline script), ETags, and cache
// headers that let hashed assets live for a year while index.html is revalidated. Paths that
// are not files get index.html, so that the app's own routes survive a reload. `GET /` goes to
// /ui/.
class UiFront {
 public:
  explicit UiFront(const std::string& directory);

  static bool Serves(const std::string& path);
  void Handle(const std::shared_ptr<HttpCall>& call);
  size_t file_count() const { return files_.size(); }

 private:
  struct File {
    std::string content_type;
    std::string body;
    std::string etag;
  };
  std::string directory_;
  std::map<std::string, File> files_;  // by path under /ui/, e.g. "assets/app-3f2a.js"
};

}  // namespace flightdeck::gateway
