#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <grpcpp/support/status.h>

namespace flightdeck::backups {

// A file being written: bytes go to a temporary name until Commit() renames it into place, so
// a backup file either exists whole or not at all.
class StorageWriter {
 public:
  virtual ~StorageWriter() = default;
  virtual bool Write(const uint8_t* data, size_t size) = 0;  // false: write error (disk full...)
  virtual grpc::Status Commit() = 0;                          // fsync, rename
  virtual void Abandon() = 0;                                 // remove the partial file
  virtual std::string error() const = 0;
};

class StorageReader {
 public:
  virtual ~StorageReader() = default;
  // Bytes read into buffer; 0 at the end, -1 on error.
  virtual long long Read(uint8_t* buffer, size_t capacity) = 0;
};

// Where backup files live (LOCAL now; S3-compatible storage later behind the same interface).
class Storage {
 public:
  virtual ~Storage() = default;
  virtual grpc::Status Create(const std::string& name, std::unique_ptr<StorageWriter>* out) = 0;
  virtual grpc::Status Open(const std::string& name, std::unique_ptr<StorageReader>* out) = 0;
  virtual grpc::Status Remove(const std::string& name) = 0;  // OK when already gone
  // Partial files left by a crash ("<name>.partial"): removed.
  virtual grpc::Status RemovePartial(const std::string& name) = 0;
  virtual std::string Location(const std::string& name) const = 0;
};

// A directory on a local (or mounted) filesystem.
std::unique_ptr<Storage> MakeLocalStorage(const std::string& directory);

}  // namespace flightdeck::backups
