#include "services/backups/storage.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace flightdeck::backups {
namespace {

class LocalStorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "fd-storage-test.XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
    dir_ = root_ + "/target";  // created by the first Create
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  bool Exists(const std::string& name) const { return std::filesystem::exists(dir_ + "/" + name); }

  std::string root_;
  std::string dir_;
};

std::vector<uint8_t> Noise(size_t size) {
  std::mt19937 random(17);
  std::vector<uint8_t> bytes(size);
  for (uint8_t& b : bytes) b = static_cast<uint8_t>(random());
  return bytes;
}

// Larger than several steps of the writeback the writer starts as it goes (8 MiB), in pieces
// of uneven size, as the encrypting writer hands them over.
TEST_F(LocalStorageTest, AFileOfManyWritebackStepsAppearsWholeAndOnlyOnceCommitted) {
  const std::vector<uint8_t> data = Noise((20u << 20) + 12345);
  std::unique_ptr<Storage> storage = MakeLocalStorage(dir_);
  std::unique_ptr<StorageWriter> file;
  ASSERT_TRUE(storage->Create("b1.fdbk", &file).ok());
  size_t offset = 0;
  for (size_t piece = 1; offset < data.size(); piece = piece * 3 % 70001 + 1) {
    size_t n = std::min(piece, data.size() - offset);
    ASSERT_TRUE(file->Write(data.data() + offset, n)) << file->error();
    offset += n;
  }
  EXPECT_FALSE(Exists("b1.fdbk")) << "visible before Commit";
  EXPECT_TRUE(Exists("b1.fdbk.partial"));
  grpc::Status committed = file->Commit();
  ASSERT_TRUE(committed.ok()) << committed.error_message();
  EXPECT_FALSE(Exists("b1.fdbk.partial"));

  std::unique_ptr<StorageReader> reader;
  ASSERT_TRUE(storage->Open("b1.fdbk", &reader).ok());
  std::vector<uint8_t> back;
  std::vector<uint8_t> buffer(1 << 20);
  for (long long n; (n = reader->Read(buffer.data(), buffer.size())) > 0;) {
    back.insert(back.end(), buffer.begin(), buffer.begin() + n);
  }
  EXPECT_TRUE(back == data) << "read back " << back.size() << " bytes of " << data.size();
  struct stat st {};
  ASSERT_EQ(::stat((dir_ + "/b1.fdbk").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(LocalStorageTest, AnAbandonedFileLeavesNothingBehind) {
  const std::vector<uint8_t> data = Noise(9u << 20);
  std::unique_ptr<Storage> storage = MakeLocalStorage(dir_);
  std::unique_ptr<StorageWriter> file;
  ASSERT_TRUE(storage->Create("b2.fdbk", &file).ok());
  ASSERT_TRUE(file->Write(data.data(), data.size())) << file->error();
  file->Abandon();
  EXPECT_FALSE(Exists("b2.fdbk"));
  EXPECT_FALSE(Exists("b2.fdbk.partial"));
  std::unique_ptr<StorageReader> reader;
  EXPECT_EQ(storage->Open("b2.fdbk", &reader).error_code(), grpc::StatusCode::DATA_LOSS);
}

}  // namespace
}  // namespace flightdeck::backups
