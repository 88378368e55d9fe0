#include "services/gateway/ui/ui_front.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/log/log.h"
#include "services/gateway/core/auth.h"
#include "services/gateway/core/errors.h"
#include "services/gateway/http_call.h"

namespace flightdeck::gateway {
namespace {

constexpr char kPrefix[] = "/ui/";
constexpr size_t kMaxFiles = 512;
constexpr uintmax_t kMaxFileBytes = 16 << 20;

// Only this origin, no inline script or style, no framing: the dashboard holds a token.
constexpr char kContentSecurityPolicy[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; manifest-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'";

std::string ContentType(const std::filesystem::path& path) {
  const std::string ext = path.extension().string();
  if (ext == ".html") return "text/html; charset=utf-8";
  if (ext == ".js" || ext == ".mjs") return "text/javascript; charset=utf-8";
  if (ext == ".css") return "text/css; charset=utf-8";
  if (ext == ".json" || ext == ".map") return "application/json";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".png") return "image/png";
  if (ext == ".ico") return "image/x-icon";
  if (ext == ".woff2") return "font/woff2";
  if (ext == ".txt") return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

Headers SecurityHeaders() {
  return {{"Content-Security-Policy", kContentSecurityPolicy},
          {"X-Content-Type-Options", "nosniff"},
          {"Referrer-Policy", "no-referrer"},
          {"X-Frame-Options", "DENY"}};
}

}  // namespace

UiFront::UiFront(const std::string& directory) : directory_(directory) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (directory.empty() || !fs::is_directory(directory, ec)) {
    log::Warn("dashboard not found: /ui answers 404 until it is built", {{"directory", directory}});
    return;
  }
  for (auto it = fs::recursive_directory_iterator(directory, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (!it->is_regular_file(ec) || files_.size() >= kMaxFiles) continue;
    if (it->file_size(ec) > kMaxFileBytes) continue;
    std::ifstream in(it->path(), std::ios::binary);
    std::ostringstream body;
    body << in.rdbuf();
    File f;
    f.content_type = ContentType(it->path());
    f.body = body.str();
    f.etag = "\"" + Sha256Hex(f.body).substr(0, 32) + "\"";
    files_[fs::relative(it->path(), directory, ec).generic_string()] = std::move(f);
  }
  log::Info("dashboard loaded", {{"directory", directory}, {"files", static_cast<long long>(files_.size())}});
}

bool UiFront::Serves(const std::string& path) {
  return path == "/" || path == "/ui" || path.rfind(kPrefix, 0) == 0;
}

void UiFront::Handle(const std::shared_ptr<HttpCall>& call) {
  const http::ServerRequest& request = call->request();
  call->StartSpan(request.path == "/" ? "/" : "/ui");
  if (request.method != "GET" && request.method != "HEAD") {
    return call->Send(405, ErrorJson(grpc::StatusCode::UNIMPLEMENTED, "the dashboard only answers GET"),
                      {{"Allow", "GET, HEAD"}});
  }
  if (request.path == "/" || request.path == "/ui") {
    return call->Send(302, "", {{"Location", "/ui/"}}, "text/plain");
  }
  std::string name = request.path.substr(sizeof kPrefix - 1);
  auto it = files_.find(name);
  // The app's own routes (/ui/releases/3f2a) are not files: they get the app.
  bool is_app = it == files_.end() && name.find('.') == std::string::npos;
  if (name.empty() || is_app) it = files_.find("index.html");
  if (it == files_.end()) {
    return call->Send(404, ErrorJson(grpc::StatusCode::NOT_FOUND,
                                     files_.empty() ? "the dashboard is not built here (scripts/build builds it; "
                                                      "FLIGHTDECK_UI_DIR says where it is)"
                                                    : "no such file: " + request.path));
  }
  const File& file = it->second;
  Headers headers = SecurityHeaders();
  headers.emplace_back("ETag", file.etag);
  // Bundles are named by their content hash; index.html names them, so it is revalidated.
  bool immutable = it->first.rfind("assets/", 0) == 0;
  headers.emplace_back("Cache-Control", immutable ? "public, max-age=31536000, immutable" : "no-cache");
  if (request.Header("if-none-match") == file.etag) {
    return call->Send(304, "", std::move(headers), file.content_type);
  }
  call->Send(200, file.body, std::move(headers), file.content_type);
}

}  // namespace flightdeck::gateway
