#include "services/backups/storage_root.h"

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <vector>

namespace flightdeck::backups {
namespace {

std::vector<std::string> Components(const std::string& path) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    if (slash > start) parts.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return parts;
}

// Appends `parts` to the resolved directory `base` without touching the filesystem.
std::string AppendLexically(std::string base, const std::vector<std::string>& parts) {
  for (const std::string& part : parts) {
    if (part == ".") continue;
    if (part == "..") {
      size_t slash = base.rfind('/');
      base = slash == 0 || slash == std::string::npos ? "/" : base.substr(0, slash);
      continue;
    }
    if (base != "/") base += "/";
    base += part;
  }
  return base.empty() ? "/" : base;
}

}  // namespace

std::string ResolvePath(const std::string& path) {
  // The longest prefix that exists goes through realpath (which follows links and "..", as
  // the kernel will when the directory is used); what is left does not exist yet.
  std::vector<std::string> parts = Components(path);
  for (size_t existing = parts.size() + 1; existing-- > 0;) {
    std::string prefix = "/";
    for (size_t i = 0; i < existing; ++i) prefix += (i ? "/" : "") + parts[i];
    char buffer[PATH_MAX];
    if (realpath(prefix.c_str(), buffer) != nullptr) {
      return AppendLexically(buffer, std::vector<std::string>(parts.begin() + static_cast<long>(existing), parts.end()));
    }
  }
  return AppendLexically("/", parts);
}

grpc::Status CheckStoragePath(const std::string& root, const std::string& path, std::string* resolved) {
  if (path.empty() || path.front() != '/') {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "storage.path: must be an absolute directory path");
  }
  const std::string resolved_root = ResolvePath(root);
  *resolved = ResolvePath(path);
  const bool under = resolved_root == "/" || *resolved == resolved_root ||
                     resolved->rfind(resolved_root + "/", 0) == 0;
  if (under) return grpc::Status::OK;
  std::string message = "storage.path: must lie under FLIGHTDECK_BACKUP_ROOT (" + resolved_root + ")";
  if (*resolved != path) message += "; " + path + " resolves to " + *resolved;
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message);
}

}  // namespace flightdeck::backups
