// Fault scenario 9: the disk under a target's backup storage fills up mid-run (a 2 MiB tmpfs
// mounted at the target's storage path; needs root, skipped otherwise). Invariants after every
// fault: the run ends FAILED with a reason naming the lack of space; its partial file is gone
// and the space is released; nothing else breaks (a target on other storage backs up meanwhile,
// the gateway stays ready); once there is room again, the same target backs up.
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <dirent.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "tests/chaos/chaos.h"
#include "tests/support/http_client.h"
#include "tests/e2e/stack.h"
#include "tests/support/test_database.h"
#include "tests/support/wait.h"

namespace flightdeck::test::chaos {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

constexpr unsigned long kSmallDiskBytes = 2ul << 20;

std::vector<std::string> Files(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      if (std::string(e->d_name) != "." && std::string(e->d_name) != "..") out.push_back(e->d_name);
    }
    closedir(d);
  }
  return out;
}

unsigned long UsedBytes(const std::string& dir) {
  struct statvfs st {};
  if (statvfs(dir.c_str(), &st) != 0) return 0;
  return (st.f_blocks - st.f_bfree) * st.f_frsize;
}

class BackupsDiskFullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/fd-chaos-diskfull-XXXXXX";
    dir_ = mkdtemp(dir);
    small_ = dir_ + "/small";
    mkdir(small_.c_str(), 0700);
    const std::string options = "size=" + std::to_string(kSmallDiskBytes) + ",mode=0700";
    if (mount("fd-chaos-tmpfs", small_.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, options.c_str()) != 0) {
      GTEST_SKIP() << "cannot mount a small tmpfs here (" << std::strerror(errno)
                   << "): the disk-full scenario needs root";
    }
    mounted_ = true;
    stack_ = std::make_unique<Stack>(std::map<std::string, std::string>{
        {"FLIGHTDECK_RATE_LIMIT_PER_MIN", "0"},
        {"FLIGHTDECK_JOBS_POLL_INTERVAL", "100ms"},
        {"FLIGHTDECK_BACKUP_ROOT", dir_}});
    ASSERT_TRUE(stack_->WaitReady());
  }
  void TearDown() override {
    stack_.reset();
    if (mounted_) umount2(small_.c_str(), MNT_DETACH);
    RunCommand({"/bin/rm", "-rf", dir_});
  }
  HttpResponse Call(const std::string& method, const std::string& path, const json& body = nullptr) {
    return HttpRequest(method, stack_->gateway_url() + path, body.is_null() ? "" : body.dump(),
                       {{"Authorization", "Bearer " + stack_->admin_token()}}, 5000);
  }
  // Starts a run of `target` and waits (bounded) for its end; returns the backup.
  json RunToEnd(const std::string& target) {
    // 409 while a run of the target is still in progress: try again.
    const HttpResponse started = PollUntil([&] { return Call("POST", "/v1/backups", {{"target", target}}); },
                                           [](const HttpResponse& r) { return r.status != 409; }, 10s, 200ms);
    if (started.status != 200) return json{{"start", started.body}};
    const std::string id = json::parse(started.body).value("id", "");
    return PollUntil([&] { return json::parse(Call("GET", "/v1/backups/" + id).body, nullptr, false); },
                     [](const json& b) {
                       return b.value("state", "") == "SUCCEEDED" || b.value("state", "") == "FAILED";
                     },
                     60s, 100ms);
  }

  std::string dir_;
  std::string small_;
  bool mounted_ = false;
  std::unique_ptr<Stack> stack_;
};

TEST_F(BackupsDiskFullTest, ARunThatFillsTheDiskFailsWithTheReasonAndFreesTheSpace) {
  Figures figures("disk full under backup storage");
  TestDatabase source;
  {
    pqxx::connection c(source.url());
    pqxx::work w(c);
    // Random text: zstd cannot shrink it below the small disk.
    w.exec("CREATE TABLE rows (id bigserial PRIMARY KEY, payload text)");
    w.exec("INSERT INTO rows (payload) SELECT md5(random()::text) || md5(random()::text) FROM generate_series(1, 200000)");
    w.commit();
  }
  ASSERT_EQ(Call("POST", "/v1/backup-targets",
                 {{"name", "full"}, {"database_url", source.url()}, {"schedule", "0 3 1 1 *"},
                  {"storage", {{"kind", "LOCAL"}, {"path", small_ + "/full"}}}}).status, 200);
  ASSERT_EQ(Call("POST", "/v1/backup-targets",
                 {{"name", "roomy"}, {"database_url", source.url()}, {"schedule", "0 3 1 1 *"},
                  {"storage", {{"kind", "LOCAL"}, {"path", dir_ + "/roomy"}}}}).status, 200);
  const unsigned long used_before = UsedBytes(small_);
  for (int round = 0; round < 2 * Scale(); ++round) {
    figures.Iteration();
    // The other target runs at the same time on other storage: it must not notice.
    std::thread roomy_run([&] {
      json b = RunToEnd("roomy");
      if (b.value("state", "") != "SUCCEEDED") figures.Violation("a run on other storage did not succeed: " + b.dump());
    });
    const auto started = SteadyClock::now();
    json b = RunToEnd("full");
    figures.Fault();
    figures.Recovery(std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - started));
    roomy_run.join();
    if (b.value("state", "") != "FAILED") {
      figures.Violation("a run onto a full disk is " + b.value("state", "?") + ": " + b.dump());
    } else if (b.value("failure_reason", "").find("No space left") == std::string::npos) {
      figures.Violation("a run onto a full disk failed without saying so: " + b.value("failure_reason", ""));
    }
    for (const std::string& f : Files(small_ + "/full")) figures.Violation("a file of the failed run is left: " + f);
    if (unsigned long used = UsedBytes(small_); used > used_before + 64 * 1024) {
      figures.Violation("the space is not released: " + std::to_string(used) + " bytes used");
    }
    if (HttpRequest("GET", stack_->gateway_url() + "/readyz").status != 200) {
      figures.Violation("the gateway is not ready after a disk-full run");
    }
  }
  // Room again: the same target backs up.
  umount2(small_.c_str(), MNT_DETACH);
  mounted_ = false;
  json b = RunToEnd("full");
  if (b.value("state", "") != "SUCCEEDED") figures.Violation("with room again the run is " + b.dump());
  EXPECT_EQ(figures.violations(), 0) << stack_->Logs();
}

}  // namespace
}  // namespace flightdeck::test::chaos
