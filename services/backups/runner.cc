#include "services/backups/runner.h"

#include <openssl/evp.h>

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <mutex>
#include <thread>
#include <map>
#include <memory>
#include <random>

#include <google/protobuf/util/json_util.h>

#include <nlohmann/json.hpp>

#include "common/alerts/alerts.h"
#include "common/clock/timestamps.h"
#include "common/db/db.h"
#include "common/log/log.h"
#include "common/metrics/metrics.h"
#include "services/backups/cron.h"
#include "services/backups/pg_connection.h"
#include "services/backups/pg_dump_runner.h"
#include "services/backups/retention.h"
#include "common/secrets/secrets.h"
#include "services/backups/storage.h"

namespace flightdeck::backups {
namespace {

constexpr char kCipher[] = "zstd+aes-256-gcm-chunked/v1";

// SHA-256 over a stream.
class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new(), EVP_MD_CTX_free) { EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr); }
  void Update(const uint8_t* d, size_t n) { EVP_DigestUpdate(ctx_.get(), d, n); }
  std::string Hex() {
    unsigned char out[32];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_.get(), out, &len);
    static const char kHex[] = "0123456789abcdef";
    std::string s;
    for (unsigned i = 0; i < len; ++i) {
      s.push_back(kHex[out[i] >> 4]);
      s.push_back(kHex[out[i] & 0xf]);
    }
    return s;
  }

 private:
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx_;
};

std::string RandomSuffix() {
  std::random_device rd;
  static const char kChars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string s;
  for (int i = 0; i < 6; ++i) s.push_back(kChars[rd() % 36]);
  return s;
}

// Streams a stored backup: reads the file, checks its SHA-256 and decrypts it, handing the
// plaintext (pg_dump's custom format) straight from the decompressor to a consumer such as
// pg_restore's stdin.
class BackupStream {
 public:
  BackupStream(StorageReader& file, const KeyRing& keys)
      : file_(file), reader_(keys, [this](const uint8_t* d, size_t n) {
          // A consumer that stopped early gets no more; the rest is still read and decrypted, so
          // that the checksum and the authentication cover the whole file.
          if (consumer_ != nullptr && !(*consumer_)(d, n)) consumer_ = nullptr;
          return true;
        }) {}

  // Reads the whole file. False when it cannot be read or does not decrypt (error() says why).
  bool Pump(const ByteSink& consumer) {
    consumer_ = &consumer;
    std::vector<uint8_t> chunk(kReadSize);
    while (true) {
      long long n = file_.Read(chunk.data(), chunk.size());
      if (n < 0) return Error("cannot read the backup file");
      if (n == 0) break;
      sha_.Update(chunk.data(), static_cast<size_t>(n));
      if (grpc::Status s = reader_.Feed(chunk.data(), static_cast<size_t>(n)); !s.ok()) {
        return Error(s.error_message());
      }
    }
    consumer_ = nullptr;
    if (grpc::Status s = reader_.Finish(); !s.ok()) return Error(s.error_message());
    return true;
  }
  const std::string& error() const { return error_; }
  std::string sha256() { return sha_.Hex(); }

 private:
  static constexpr size_t kReadSize = 256 * 1024;
  bool Error(const std::string& message) {
    consumer_ = nullptr;
    if (error_.empty()) error_ = message;
    return false;
  }
  StorageReader& file_;
  DecryptingReader reader_;
  Sha256 sha_;
  const ByteSink* consumer_ = nullptr;
  std::string error_;
};

std::string Payload(const nlohmann::json& j) { return j.dump(); }

// Beats for a running backup every few seconds, whatever the dump is doing (pg_dump may wait
// minutes for a table's lock before it writes a byte, and counting the rows of a table the archive
// holds none of can take minutes after its last), so that other replicas never mistake a slow
// run for an abandoned one.
class Heartbeat {
 public:
  Heartbeat(BackupStore& store, const Clock& clock, std::string id, std::chrono::milliseconds every)
      : Heartbeat(every, [&store, &clock, id](uint64_t progress) {
          (void)store.Heartbeat(id, static_cast<long long>(progress), clock.Now());
        }) {}
  // Any beat, e.g. a restore's (RestoreHeartbeat), which has no progress of its own.
  Heartbeat(std::chrono::milliseconds every, std::function<void(uint64_t progress)> beat)
      : every_(every), beat_(std::move(beat)), thread_([this] { Run(); }) {}
  ~Heartbeat() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void Progress(uint64_t bytes) { progress_.store(bytes); }

 private:
  void Run() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!cv_.wait_for(lock, every_, [this] { return stop_; })) {
      beat_(progress_.load());
    }
  }
  std::chrono::milliseconds every_;
  std::function<void(uint64_t)> beat_;
  std::atomic<uint64_t> progress_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

// What retention is told of a backup's verification: only PASSED counts as good.
Verification VerificationOf(const v1::Backup& b) {
  switch (b.verification().result()) {
    case v1::BackupVerification::PASSED:
      return Verification::kPassed;
    case v1::BackupVerification::FAILED:
      return Verification::kFailed;
    case v1::BackupVerification::RUNNING:
      return Verification::kRunning;
    default:
      return Verification::kNotVerified;
  }
}

}  // namespace

Runner::Runner(BackupStore& store, const KeyRing& keys, const Clock& clock, metrics::Registry& metrics,
               std::string host, std::string runner_id, Tools tools)
    : store_(store),
      keys_(keys),
      clock_(clock),
      host_(std::move(host)),
      runner_id_(std::move(runner_id)),
      tools_(std::move(tools)),
      runs_(metrics.AddCounter("flightdeck_backups_total", "Backup runs by outcome", {"target", "state"})),
      alerts_(metrics.AddCounter("flightdeck_backup_alerts_total",
                                 "Alerts raised by the backups service (for the incidents service)",
                                 {"alertname"})) {}

grpc::Status Runner::Fail(v1::Backup& b, const std::string& reason) {
  b.set_state(v1::Backup::FAILED);
  b.set_failure_reason(reason);
  SetTimestamp(b.mutable_finished_at(), clock_.Now());
  runs_.With({b.target(), "FAILED"}).Inc();
  log::Error("backup failed", {{"backup_id", b.id()}, {"target", b.target()}, {"reason", reason}});
  grpc::Status s = store_.Save(b, clock_.Now(), {{kRetentionJob, "retention:" + b.target(),
                                                  Payload({{"target", b.target()}}), clock_.Now()}});
  if (b.trigger() == v1::Backup::SCHEDULED) NoteConsecutiveFailures(b.target());
  return s;
}

void Runner::NoteConsecutiveFailures(const std::string& target) {
  std::vector<v1::Backup> recent;
  if (!store_.RecentBackups(target, 20, &recent).ok()) return;
  int failures = 0;
  std::string newest_failed;
  for (const v1::Backup& b : recent) {
    if (b.trigger() != v1::Backup::SCHEDULED || b.state() == v1::Backup::PENDING ||
        b.state() == v1::Backup::RUNNING) {
      continue;
    }
    if (b.state() != v1::Backup::FAILED) break;
    if (newest_failed.empty()) newest_failed = b.id();
    if (++failures == 2) break;
  }
  if (failures < 2) return;
  // The target is what is failing, so it is the alert's service: its incidents group by it.
  nlohmann::json alert = {{"labels", {{"alertname", "BackupFailing"}, {"severity", "critical"},
                                      {"service", target}, {"target", target}}},
                          {"annotations", {{"summary", "two scheduled backups of " + target +
                                                           " failed in a row"}}}};
  alerts_.With({"BackupFailing"}).Inc();
  log::Error("alert raised", {{"alert", alert.dump()}});
  // One alert per failing streak: keyed by the newest failed run.
  grpc::Status s = store_.Enqueue({alerts::kSendAlertJob, "alert:" + newest_failed,
                                   alerts::JobPayload("backups", alert.dump()), clock_.Now(),
                                   alerts::DeliveryRetry()});
  if (!s.ok()) log::Error("could not queue the alert for incidents", {{"error", s.error_message()}});
}

grpc::Status Runner::RunBackup(const std::string& backup_id) {
  v1::Backup b;
  if (grpc::Status s = store_.GetBackup(backup_id, &b); !s.ok()) return s;
  if (b.state() != v1::Backup::PENDING) return grpc::Status::OK;  // already run (or failed)
  TargetRecord target;
  if (grpc::Status s = store_.GetTarget(b.target(), &target); !s.ok()) return Fail(b, s.error_message());
  std::string url;
  if (grpc::Status s = secrets::Open(keys_, target.sealed_url, TargetUrlBinding(b.target()), &url); !s.ok()) {
    return Fail(b, "cannot open the target's database URL: " + s.error_message());
  }
  if (grpc::Status s = store_.MarkRunning(b.id(), runner_id_, clock_.Now()); !s.ok()) return grpc::Status::OK;
  b.set_state(v1::Backup::RUNNING);
  b.set_server(ServerOf(url));
  // The backup keeps the server it came from (a restore goes back there), sealed for its own row.
  std::string sealed_server;
  if (grpc::Status s = secrets::Seal(keys_, url, BackupServerBinding(b.id()), &sealed_server); !s.ok()) {
    return Fail(b, s.error_message());
  }
  if (grpc::Status s = store_.RecordServer(b.id(), sealed_server); !s.ok()) return Fail(b, s.error_message());
  SetTimestamp(b.mutable_started_at(), clock_.Now());

  std::unique_ptr<Storage> storage = MakeLocalStorage(target.target.storage().path());
  std::unique_ptr<StorageWriter> file;
  if (grpc::Status s = storage->Create(FileName(b.id()), &file); !s.ok()) return Fail(b, s.error_message());
  Sha256 sha;
  uint64_t stored = 0;
  std::unique_ptr<EncryptingWriter> encrypt;
  grpc::Status s = EncryptingWriter::Open(
      keys_.current(),
      [&](const uint8_t* d, size_t n) {
        sha.Update(d, n);
        stored += n;
        return file->Write(d, n);
      },
      &encrypt);
  if (!s.ok()) {
    file->Abandon();
    return Fail(b, s.error_message());
  }
  Heartbeat heartbeat(store_, clock_, b.id(), heartbeat_every_);
  uint64_t dumped = 0;
  std::string sink_error;
  DumpManifest manifest;
  s = DumpDatabase(url, [&](const uint8_t* d, size_t n) {
    grpc::Status w = encrypt->Write(d, n);
    if (!w.ok()) {
      sink_error = file->error().empty() ? w.error_message() : file->error();
      return false;
    }
    dumped += n;
    heartbeat.Progress(dumped);
    return true;
  }, &manifest, tools_.pg_dump);
  if (s.ok()) s = encrypt->Finish();
  if (s.ok() && !file->error().empty()) s = grpc::Status(grpc::StatusCode::UNAVAILABLE, file->error());
  if (s.ok()) s = file->Commit();
  if (!s.ok()) {
    file->Abandon();
    return Fail(b, sink_error.empty() ? s.error_message() : "writing the backup failed: " + sink_error);
  }

  b.set_state(v1::Backup::SUCCEEDED);
  SetTimestamp(b.mutable_finished_at(), clock_.Now());
  SetTimestamp(b.mutable_snapshot_time(), manifest.snapshot_time);
  b.set_server_version(manifest.server_version);
  b.clear_tables();
  for (const auto& [table, rows] : manifest.row_counts) {
    v1::TableCount* t = b.add_tables();
    t->set_table(table);
    t->set_rows(rows);
  }
  b.set_bytes_dumped(static_cast<long long>(manifest.bytes_dumped ? manifest.bytes_dumped : dumped));
  b.set_bytes_stored(static_cast<long long>(stored));
  b.set_compression_ratio(stored ? static_cast<double>(b.bytes_dumped()) / static_cast<double>(stored) : 0);
  b.set_sha256(sha.Hex());
  b.set_cipher(kCipher);
  b.set_key_id(keys_.current().id);
  b.set_location(storage->Location(FileName(b.id())));
  b.set_progress_bytes(b.bytes_dumped());

  // The manifest also travels with the file, so a backup can be understood without the database.
  std::unique_ptr<StorageWriter> manifest_file;
  google::protobuf::util::JsonPrintOptions o;
  o.preserve_proto_field_names = true;
  o.add_whitespace = true;
  std::string manifest_json;
  (void)google::protobuf::util::MessageToJsonString(b, &manifest_json, o);
  if (storage->Create(FileName(b.id()) + ".manifest.json", &manifest_file).ok()) {
    if (!manifest_file->Write(reinterpret_cast<const uint8_t*>(manifest_json.data()), manifest_json.size()) ||
        !manifest_file->Commit().ok()) {
      manifest_file->Abandon();
    }
  }

  std::vector<JobRequest> then = {{kRetentionJob, "retention:" + b.target(), Payload({{"target", b.target()}}),
                                   clock_.Now()}};
  if (b.trigger() == v1::Backup::SCHEDULED && target.target.verify_after_backup().value()) {
    b.mutable_verification()->set_result(v1::BackupVerification::RUNNING);
    then.push_back({kVerifyJob, "", Payload({{"backup_id", b.id()}}), clock_.Now()});
  }
  runs_.With({b.target(), "SUCCEEDED"}).Inc();
  if (!manifest.archive_unread.empty()) {
    // The counts are right either way; counting with SQL just cost another scan of every table.
    log::Warn("rows counted with SQL: the archive could not be read as it streamed",
              {{"backup_id", b.id()}, {"reason", manifest.archive_unread}});
  }
  log::Info("backup succeeded", {{"backup_id", b.id()}, {"target", b.target()},
                                 {"bytes_dumped", b.bytes_dumped()}, {"bytes_stored", b.bytes_stored()},
                                 {"tables_counted_by_query", manifest.counted_by_query.size()}});
  return store_.Save(b, clock_.Now(), then);
}

grpc::Status Runner::RunSchedule(const std::string& target_name, long long due_us) {
  TargetRecord target;
  grpc::Status s = store_.GetTarget(target_name, &target);
  if (s.error_code() == grpc::StatusCode::NOT_FOUND) return grpc::Status::OK;  // deleted since
  if (!s.ok()) return s;
  const Clock::TimePoint due{std::chrono::duration_cast<Clock::TimePoint::duration>(std::chrono::microseconds(due_us))};
  // A schedule changed since this job was queued: the new schedule has its own job.
  if (!target.next_run_at || *target.next_run_at != due) return grpc::Status::OK;
  CronSchedule cron;
  if (!CronSchedule::Parse(target.target.schedule(), &cron).ok()) return grpc::Status::OK;
  v1::Backup b;
  b.set_target(target_name);
  b.set_trigger(v1::Backup::SCHEDULED);
  b.set_created_by("schedule");
  s = store_.CreateBackup(&b, due, clock_.Now());
  if (!s.ok() && s.error_code() != grpc::StatusCode::ALREADY_EXISTS) return s;
  // The next due time counts from this one, never from "now": a late run does not shift the
  // schedule, and runs missed while the service was down are not replayed one by one.
  auto next = cron.NextAfter(std::max(due, clock_.Now() - std::chrono::minutes(1)));
  target.next_run_at = next;
  return store_.UpdateTarget(target, clock_.Now());
}

grpc::Status Runner::Verify(const std::string& backup_id) {
  v1::Backup b;
  if (grpc::Status s = store_.GetBackup(backup_id, &b); !s.ok()) return s;
  if (b.state() != v1::Backup::SUCCEEDED) return grpc::Status::OK;
  TargetRecord target;
  if (grpc::Status s = store_.GetTarget(b.target(), &target); !s.ok()) return s;
  const auto started = std::chrono::steady_clock::now();
  auto finish = [&](bool passed, std::vector<std::string> differences) {
    v1::BackupVerification* v = b.mutable_verification();
    v->set_result(passed ? v1::BackupVerification::PASSED : v1::BackupVerification::FAILED);
    SetTimestamp(v->mutable_finished_at(), clock_.Now());
    v->clear_differences();
    for (std::string& d : differences) v->add_differences(std::move(d));
    SetDuration(v->mutable_duration(), std::chrono::steady_clock::now() - started);
    log::Info("backup verified", {{"backup_id", b.id()}, {"passed", passed}});
    // A newly verified backup may let retention release older ones.
    return store_.Save(b, clock_.Now(), {{kRetentionJob, "retention:" + b.target(),
                                          Payload({{"target", b.target()}}), clock_.Now()}});
  };
  std::string url;
  if (grpc::Status s = secrets::Open(keys_, target.sealed_url, TargetUrlBinding(b.target()), &url); !s.ok()) {
    return finish(false, {s.error_message()});
  }
  std::unique_ptr<Storage> storage = MakeLocalStorage(target.target.storage().path());
  std::unique_ptr<StorageReader> file;
  if (grpc::Status s = storage->Open(FileName(b.id()), &file); !s.ok()) return finish(false, {s.error_message()});

  // Restore into a scratch database the service creates and drops.
  const std::string scratch = "fd_verify_" + b.id().substr(0, 8) + "_" + RandomSuffix();
  if (grpc::Status s = CreateDatabase(url, scratch); !s.ok()) {
    return finish(false, {"cannot create the scratch database: " + s.error_message()});
  }
  BackupStream stream(*file, keys_);
  const std::string scratch_url = db::WithDatabase(url, scratch);
  grpc::Status restored = RestoreDatabase(
      scratch_url, [&](const ByteSink& write) { return stream.Pump(write); }, tools_.pg_restore);
  std::vector<std::string> differences;
  if (!stream.error().empty()) {
    differences.push_back(stream.error());  // the checksum then covers only what was read
  } else if (const std::string sha = stream.sha256(); sha != b.sha256()) {
    differences.push_back("stored file's SHA-256 is " + sha + ", the manifest says " + b.sha256());
  }
  if (!restored.ok() && stream.error().empty()) differences.push_back("restore failed: " + restored.error_message());
  if (differences.empty()) {
    std::map<std::string, long long> counts;
    if (grpc::Status s = CountRows(scratch_url, &counts); !s.ok()) {
      differences.push_back("cannot count rows: " + s.error_message());
    } else {
      for (const v1::TableCount& t : b.tables()) {
        auto it = counts.find(t.table());
        if (it == counts.end()) {
          differences.push_back(t.table() + ": missing after restore");
        } else if (it->second != t.rows()) {
          differences.push_back(t.table() + ": " + std::to_string(it->second) + " rows, manifest says " +
                                std::to_string(t.rows()));
        }
      }
      for (const auto& [table, rows] : counts) {
        bool known = false;
        for (const v1::TableCount& t : b.tables()) known = known || t.table() == table;
        if (!known) differences.push_back(table + ": not in the manifest (" + std::to_string(rows) + " rows)");
      }
    }
  }
  (void)DropDatabase(url, scratch);
  return finish(differences.empty(), differences);
}

grpc::Status Runner::Restore(const std::string& backup_id, const std::string& database, bool overwrite,
                             const std::string& sealed_server_url) {
  v1::Backup b;
  if (grpc::Status s = store_.GetBackup(backup_id, &b); !s.ok()) return s;
  TargetRecord target;
  if (grpc::Status s = store_.GetTarget(b.target(), &target); !s.ok()) return s;
  const auto started = std::chrono::steady_clock::now();
  auto finish = [&](const std::string& error) {
    v1::BackupRestore* r = b.mutable_last_restore();
    r->set_state(error.empty() ? "SUCCEEDED" : "FAILED");
    r->set_error(error);
    SetTimestamp(r->mutable_finished_at(), clock_.Now());
    SetDuration(r->mutable_duration(), std::chrono::steady_clock::now() - started);
    log::Info("restore finished", {{"backup_id", b.id()}, {"database", database}, {"error", error}});
    return store_.Save(b, clock_.Now());
  };
  // The server the backup came from, not the target's URL of today: only an admin redirects a
  // restore (the service checked, and sealed the server named into the job).
  std::string sealed = sealed_server_url;
  secrets::Binding where = RestoreServerBinding(b.id());
  if (sealed.empty()) {
    if (grpc::Status s = store_.BackupServer(b.id(), &sealed); !s.ok()) return s;
    where = BackupServerBinding(b.id());
  }
  // A restore runs at most once: a job taken again after its runner died (its lease expired)
  // must not restore a second time, perhaps over a database someone uses by now.
  bool claimed = false;
  if (grpc::Status s = store_.ClaimRestore(b.id(), runner_id_, clock_.Now(), &claimed); !s.ok()) return s;
  if (!claimed) {
    log::Warn("restore interrupted earlier: not started again", {{"backup_id", b.id()}, {"database", database}});
    return grpc::Status::OK;
  }
  Heartbeat heartbeat(heartbeat_every_, [&](uint64_t) { (void)store_.RestoreHeartbeat(b.id(), runner_id_, clock_.Now()); });
  if (sealed.empty()) return finish("the backup records no server to restore to; an admin may name one (server_url)");
  std::string url;
  if (grpc::Status s = secrets::Open(keys_, sealed, where, &url); !s.ok()) return finish(s.error_message());
  b.mutable_last_restore()->set_server(ServerOf(url));
  bool exists = false;
  if (grpc::Status s = DatabaseExists(url, database, &exists); !s.ok()) return finish(s.error_message());
  if (exists) {
    if (!overwrite) return finish("database " + database + " exists and overwrite was not asked");
    if (grpc::Status s = DropDatabase(url, database); !s.ok()) return finish(s.error_message());
  }
  if (grpc::Status s = CreateDatabase(url, database); !s.ok()) return finish(s.error_message());
  std::unique_ptr<Storage> storage = MakeLocalStorage(target.target.storage().path());
  std::unique_ptr<StorageReader> file;
  if (grpc::Status s = storage->Open(FileName(b.id()), &file); !s.ok()) return finish(s.error_message());
  BackupStream stream(*file, keys_);
  grpc::Status restored = RestoreDatabase(
      db::WithDatabase(url, database), [&](const ByteSink& write) { return stream.Pump(write); },
      tools_.pg_restore);
  if (!stream.error().empty()) return finish(stream.error());
  if (stream.sha256() != b.sha256()) return finish("stored file's SHA-256 does not match the manifest");
  return finish(restored.ok() ? "" : restored.error_message());
}

grpc::Status Runner::ApplyRetention(const std::string& target_name) {
  TargetRecord target;
  grpc::Status s = store_.GetTarget(target_name, &target);
  if (s.error_code() == grpc::StatusCode::NOT_FOUND) return grpc::Status::OK;
  if (!s.ok()) return s;
  std::vector<v1::Backup> backups;
  if (grpc::Status l = store_.RecentBackups(target_name, 10000, &backups); !l.ok()) return l;
  std::vector<BackupRecord> records;
  std::map<std::string, v1::Backup*> by_id;
  for (v1::Backup& b : backups) {
    if (b.state() == v1::Backup::DELETED || b.state() == v1::Backup::PENDING ||
        b.state() == v1::Backup::RUNNING) {
      continue;
    }
    BackupRecord r;
    r.id = b.id();
    r.finished_at = b.has_finished_at() ? TimeOf(b.finished_at()) : TimeOf(b.created_at());
    r.succeeded = b.state() == v1::Backup::SUCCEEDED;
    r.failed = b.state() == v1::Backup::FAILED;
    r.verification = VerificationOf(b);
    records.push_back(r);
    by_id[b.id()] = &b;
  }
  RetentionPolicy policy{target.target.retention().keep_last().value(), target.target.retention().keep_days().value()};
  std::unique_ptr<Storage> storage = MakeLocalStorage(target.target.storage().path());
  for (const Deletion& d : SelectForDeletion(records, policy, clock_.Now())) {
    v1::Backup& b = *by_id[d.id];
    if (grpc::Status r = storage->Remove(FileName(b.id())); !r.ok()) {
      log::Warn("retention could not remove a file", {{"backup_id", b.id()}, {"error", r.error_message()}});
      continue;
    }
    (void)storage->Remove(FileName(b.id()) + ".manifest.json");
    (void)storage->RemovePartial(FileName(b.id()));
    // A failed run keeps its record (and reason) for the history; only its files go.
    if (b.state() == v1::Backup::FAILED) continue;
    b.set_state(v1::Backup::DELETED);
    b.set_deletion_reason(d.reason);
    log::Info("backup deleted by retention", {{"backup_id", b.id()}, {"reason", d.reason}});
    if (grpc::Status w = store_.Save(b, clock_.Now()); !w.ok()) return w;
  }
  return grpc::Status::OK;
}

void Runner::RecoverAbandoned(std::chrono::milliseconds stale_after) {
  std::vector<v1::Backup> failed;
  grpc::Status s = store_.FailAbandoned(host_, runner_id_, clock_.Now() - stale_after, clock_.Now(),
                                        "interrupted: the service running it stopped during the run",
                                        &failed);
  if (!s.ok()) {
    log::Warn("cannot look for interrupted backups", {{"error", s.error_message()}});
    return;
  }
  for (const v1::Backup& b : failed) {
    TargetRecord target;
    if (store_.GetTarget(b.target(), &target).ok()) {
      (void)MakeLocalStorage(target.target.storage().path())->RemovePartial(FileName(b.id()));
    }
    runs_.With({b.target(), "FAILED"}).Inc();
    log::Warn("interrupted backup marked failed", {{"backup_id", b.id()}, {"target", b.target()}});
    if (b.trigger() == v1::Backup::SCHEDULED) NoteConsecutiveFailures(b.target());
  }
  std::vector<v1::Backup> restores;
  s = store_.FailAbandonedRestores(host_, runner_id_, clock_.Now() - stale_after, clock_.Now(), &restores);
  if (!s.ok()) {
    log::Warn("cannot look for interrupted restores", {{"error", s.error_message()}});
    return;
  }
  for (const v1::Backup& b : restores) {
    log::Warn("interrupted restore marked failed",
              {{"backup_id", b.id()}, {"database", b.last_restore().target_database()}});
  }
}

}  // namespace flightdeck::backups
