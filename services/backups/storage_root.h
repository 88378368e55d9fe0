#pragma once

#include <string>

#include <grpcpp/support/status.h>

namespace flightdeck::backups {

// Where backup files may be written: under FLIGHTDECK_BACKUP_ROOT only, so that whoever may
// create a target cannot have the service write (or later delete, by retention) files in
// any directory it can reach.
inline constexpr char kDefaultBackupRoot[] = "/var/lib/flightdeck/backups";

// `path` with "." and ".." taken out and every symbolic link of the part that exists resolved
// (the part that does not exist yet cannot be a link). `path` must be absolute.
std::string ResolvePath(const std::string& path);

// OK, with *resolved set, when `path` (absolute) resolves to `root` or below it (root resolved
// the same way); INVALID_ARGUMENT naming storage.path otherwise.
grpc::Status CheckStoragePath(const std::string& root, const std::string& path, std::string* resolved);

}  // namespace flightdeck::backups
