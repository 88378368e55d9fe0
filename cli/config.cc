#include "cli/config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace flightdeck::cli {
namespace {

using Json = nlohmann::ordered_json;

std::string ParentDir(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// mkdir -p with mode 0700 for every directory it creates; existing ones are left as they are.
bool MakeDirs(const std::string& dir, std::string* error) {
  struct stat st {};
  if (stat(dir.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return true;
    *error = dir + " exists and is not a directory";
    return false;
  }
  const std::string parent = ParentDir(dir);
  if (parent != dir && !MakeDirs(parent, error)) return false;
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    *error = "cannot create " + dir + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

bool WriteAll(int fd, const std::string& data) {
  size_t written = 0;
  while (written < data.size()) {
    const ssize_t n = write(fd, data.data() + written, data.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    written += static_cast<size_t>(n);
  }
  return true;
}

bool ReadJsonObject(const std::string& path, Json* object, bool* exists, std::string* error) {
  struct stat st {};
  *exists = stat(path.c_str(), &st) == 0;
  if (!*exists && errno == ENOENT) {
    *object = Json::object();
    return true;
  }
  std::ifstream in(path);
  if (!*exists || !in.is_open()) {
    *error = "cannot read " + path + ": " + std::strerror(errno);
    return false;
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  *object = Json::parse(buffer.str(), nullptr, /*allow_exceptions=*/false);
  if (object->is_discarded() || !object->is_object()) {
    *error = path + " is not a JSON object; fix it or run `fdctl login` again";
    return false;
  }
  return true;
}

}  // namespace

EnvLookup ProcessEnv() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr || *value == '\0') return std::nullopt;
    return std::string(value);
  };
}

std::optional<std::string> ConfigPath(const EnvLookup& env) {
  if (auto path = env("FDCTL_CONFIG")) return path;
  if (auto home = env("HOME")) return *home + "/.config/flightdeck/fdctl.json";
  return std::nullopt;
}

bool ReadConfigFile(const std::string& path, StoredConfig* config, std::string* error,
                    std::string* warning) {
  Json object;
  bool exists = false;
  if (!ReadJsonObject(path, &object, &exists, error)) return false;
  *config = StoredConfig{};
  for (auto [key, field] : {std::pair{"url", &config->url}, std::pair{"token", &config->token}}) {
    if (!object.contains(key)) continue;
    if (!object[key].is_string()) {
      *error = path + ": \"" + key + "\" must be a string";
      return false;
    }
    *field = object[key].get<std::string>();
  }
  struct stat st {};
  if (exists && warning != nullptr && stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
    *warning = path + " holds a token and can be read by other users; run: chmod 600 " + path;
  }
  return true;
}

bool WriteConfigFile(const std::string& path, const StoredConfig& config, std::string* error) {
  Json object;
  bool exists = false;
  if (!ReadJsonObject(path, &object, &exists, error)) object = Json::object();
  object["url"] = config.url;
  object["token"] = config.token;
  const std::string text =
      object.dump(2, ' ', /*ensure_ascii=*/false, Json::error_handler_t::replace) + "\n";

  const std::string dir = ParentDir(path);
  if (!MakeDirs(dir, error)) return false;
  std::string tmp = path + ".XXXXXX";
  // mkstemp creates the file 0600 whatever the umask, so the token is never readable by others,
  // not even for a moment.
  const int fd = mkstemp(tmp.data());
  if (fd < 0) {
    *error = "cannot write in " + dir + ": " + std::strerror(errno);
    return false;
  }
  const bool ok = fchmod(fd, 0600) == 0 && WriteAll(fd, text) && fsync(fd) == 0;
  const int saved_errno = errno;
  close(fd);
  if (!ok || rename(tmp.c_str(), path.c_str()) != 0) {
    *error = "cannot write " + path + ": " + std::strerror(ok ? errno : saved_errno);
    unlink(tmp.c_str());
    return false;
  }
  return true;
}

Settings ResolveSettings(const StoredConfig& file, const EnvLookup& env, const ParsedArgs& args) {
  Settings s;
  auto take = [](std::string* value, Source* source, const std::optional<std::string>& candidate,
                 Source from) {
    if (candidate && !candidate->empty()) {
      *value = *candidate;
      *source = from;
    }
  };
  take(&s.url, &s.url_source, file.url, Source::kFile);
  take(&s.token, &s.token_source, file.token, Source::kFile);
  take(&s.url, &s.url_source, env("FLIGHTDECK_URL"), Source::kEnv);
  take(&s.token, &s.token_source, env("FLIGHTDECK_TOKEN"), Source::kEnv);
  take(&s.url, &s.url_source, args.Get("url"), Source::kFlag);
  take(&s.token, &s.token_source, args.Get("token"), Source::kFlag);
  while (!s.url.empty() && s.url.back() == '/') s.url.pop_back();
  return s;
}

std::optional<std::string> NormalizeGatewayUrl(const std::string& url) {
  std::string u = url;
  while (!u.empty() && u.back() == '/') u.pop_back();
  for (const char* scheme : {"http://", "https://"}) {
    const size_t n = std::strlen(scheme);
    if (u.size() > n && u.compare(0, n, scheme) == 0) return u;
  }
  return std::nullopt;
}

}  // namespace flightdeck::cli
