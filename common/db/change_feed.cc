#include "common/db/change_feed.h"

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string_view>
#include <thread>

#include <pqxx/pqxx>

#include "common/db/db.h"
#include "common/log/log.h"

namespace flightdeck::db {
namespace {

bool IsIdentifier(std::string_view s) {
  if (s.empty() || s.size() > 63 || !(std::islower(static_cast<unsigned char>(s[0])) || s[0] == '_')) {
    return false;
  }
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '_';
  });
}

void RequireIdentifier(std::string_view channel) {
  // A programming error, not input: fail loudly.
  if (!IsIdentifier(channel)) {
    throw std::invalid_argument("change feed channel \"" + std::string(channel) +
                                "\" is not a plain identifier");
  }
}

constexpr std::string_view kAnnouncedPrefix = "flightdeck changed ";

// At most one notification per interval (per announcer). Each one wakes every listener of the
// database: their backends, every service's feed thread, the releases cache, which it empties.
// One per commit left 16 clients creating releases no faster than before (bench/README). A Watch
// stream or another replica's cache hears of a change at most this much later.
constexpr auto kAnnounceInterval = std::chrono::milliseconds(5);

}  // namespace

struct ChangeFeed::Impl {
  std::string url;
  std::string channel;
  mutable std::mutex mu;
  mutable std::condition_variable changed;
  uint64_t generation = 0;
  bool listening = false;
  bool stopping = false;
  std::thread listener;

  void Bump() {
    {
      std::lock_guard lock(mu);
      ++generation;
    }
    changed.notify_all();
  }

  void SetNotListening() {
    std::lock_guard lock(mu);
    listening = false;
  }

  bool Stopping() const {
    std::lock_guard lock(mu);
    return stopping;
  }

  class Receiver final : public pqxx::notification_receiver {
   public:
    Receiver(pqxx::connection_base& c, const std::string& channel, Impl* impl)
        : pqxx::notification_receiver(c, channel), impl_(impl) {}
    void operator()(const std::string&, int) override { impl_->Bump(); }

   private:
    Impl* impl_;
  };

  void Listen() {
    auto backoff = std::chrono::milliseconds(500);
    while (!Stopping()) {
      try {
        pqxx::connection conn(url);
        Receiver receiver(conn, channel, this);  // LISTEN
        {
          std::lock_guard lock(mu);
          listening = true;
          ++generation;  // anything notified while we were not listening: look again
        }
        changed.notify_all();
        backoff = std::chrono::milliseconds(500);
        // Short waits, so that Stop is noticed within a fraction of a second.
        while (!Stopping()) conn.await_notification(0, 200000);
        SetNotListening();
      } catch (const std::exception& e) {
        SetNotListening();
        if (Stopping()) return;
        log::Warn("change feed lost its database connection; retrying",
                  {{"channel", channel}, {"database", RedactUrl(url)}, {"error", e.what()},
                   {"retry_in_ms", static_cast<long long>(backoff.count())}});
        std::unique_lock lock(mu);
        changed.wait_for(lock, backoff, [&] { return stopping; });
        backoff = std::min(backoff * 2, std::chrono::milliseconds(10000));
      }
    }
  }
};

ChangeFeed::ChangeFeed(std::string url, std::string channel) : impl_(std::make_unique<Impl>()) {
  impl_->url = std::move(url);
  impl_->channel = std::move(channel);
  RequireIdentifier(impl_->channel);
  impl_->listener = std::thread([impl = impl_.get()] { impl->Listen(); });
}

ChangeFeed::~ChangeFeed() {
  Close();
  if (impl_->listener.joinable()) impl_->listener.join();
}

void ChangeFeed::Close() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->changed.notify_all();
}

bool ChangeFeed::closed() const {
  std::lock_guard lock(impl_->mu);
  return impl_->stopping;
}

uint64_t ChangeFeed::generation() const {
  std::lock_guard lock(impl_->mu);
  return impl_->generation;
}

bool ChangeFeed::listening() const {
  std::lock_guard lock(impl_->mu);
  return impl_->listening;
}

std::optional<uint64_t> ChangeFeed::ListeningGeneration() const {
  std::lock_guard lock(impl_->mu);
  if (!impl_->listening) return std::nullopt;
  return impl_->generation;
}

void ChangeFeed::WaitForChange(uint64_t seen, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->mu);
  impl_->changed.wait_for(lock, timeout, [&] { return impl_->stopping || impl_->generation != seen; });
}

struct ChangeAnnouncer::Impl {
  std::string url;
  mutable std::mutex mu;
  std::condition_variable wake;
  std::set<std::string> pending;
  uint64_t sent = 0;
  bool stopping = false;
  std::thread sender;

  // Sends `channels` on `conn` (opened when null): one autocommitted pg_notify each, prepared
  // once per connection (unprepared, the server planned every one of them afresh).
  void Send(std::unique_ptr<pqxx::connection>& conn, const std::set<std::string>& channels) {
    if (conn == nullptr) {
      conn = std::make_unique<pqxx::connection>(url);
      conn->prepare("announce", "SELECT pg_notify($1, '')");
    }
    pqxx::nontransaction tx(*conn);
    for (const std::string& channel : channels) tx.exec_prepared("announce", channel);
  }

  void Run() {
    std::unique_ptr<pqxx::connection> conn;
    auto backoff = std::chrono::milliseconds(100);
    auto next_send = std::chrono::steady_clock::now();
    std::unique_lock lock(mu);
    while (true) {
      wake.wait(lock, [&] { return stopping || !pending.empty(); });
      if (pending.empty()) return;  // stopping, nothing left
      // What changes meanwhile rides on the same notification.
      wake.wait_until(lock, next_send, [&] { return stopping; });
      next_send = std::chrono::steady_clock::now() + kAnnounceInterval;
      std::set<std::string> channels;
      channels.swap(pending);
      const bool last_attempt = stopping;
      lock.unlock();
      std::string error;
      try {
        Send(conn, channels);
      } catch (const std::exception& e) {
        conn.reset();
        error = e.what();
      }
      lock.lock();
      if (error.empty()) {
        sent += channels.size();
        backoff = std::chrono::milliseconds(100);
        continue;
      }
      if (last_attempt) return;
      pending.insert(channels.begin(), channels.end());
      log::Warn("cannot send change notifications; retrying",
                {{"database", RedactUrl(url)}, {"error", error},
                 {"retry_in_ms", static_cast<long long>(backoff.count())}});
      wake.wait_for(lock, backoff, [&] { return stopping; });
      backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
    }
  }
};

ChangeAnnouncer::ChangeAnnouncer(std::string url) : impl_(std::make_unique<Impl>()) {
  impl_->url = WithConnectTimeout(url, std::chrono::seconds(2));
}

ChangeAnnouncer::~ChangeAnnouncer() {
  std::thread sender;
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
    sender = std::move(impl_->sender);
  }
  impl_->wake.notify_all();
  if (sender.joinable()) sender.join();
}

void ChangeAnnouncer::Announce(std::string_view channel) {
  RequireIdentifier(channel);
  {
    std::lock_guard lock(impl_->mu);
    impl_->pending.emplace(channel);
    // Started at the first announcement: a service whose schema has no notify trigger (backups)
    // never starts it.
    if (!impl_->sender.joinable() && !impl_->stopping) {
      impl_->sender = std::thread([impl = impl_.get()] { impl->Run(); });
    }
  }
  impl_->wake.notify_one();
}

uint64_t ChangeAnnouncer::sent() const {
  std::lock_guard lock(impl_->mu);
  return impl_->sent;
}

std::string_view AnnouncedChannel(std::string_view notice) {
  // libpq writes "<severity>:  <message>", the severity's word in the server's lc_messages. Only
  // a message that begins with the marker names a channel, not one that quotes it further on.
  auto marked = [](std::string_view s) {
    return s.substr(0, kAnnouncedPrefix.size()) == kAnnouncedPrefix;
  };
  if (!marked(notice)) {
    size_t severity_end = notice.find(":  ");
    if (severity_end == std::string_view::npos) return {};
    notice.remove_prefix(severity_end + 3);
    if (!marked(notice)) return {};
  }
  std::string_view rest = notice.substr(kAnnouncedPrefix.size());
  size_t end = rest.find_first_of(" \t\r\n");
  std::string_view channel = rest.substr(0, end);
  return IsIdentifier(channel) ? channel : std::string_view();
}

uint64_t Generation(const ChangeFeed* feed) { return feed == nullptr ? 0 : feed->generation(); }

bool Closed(const ChangeFeed* feed) { return feed != nullptr && feed->closed(); }

grpc::Status FeedClosed() {
  return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                      "the service is shutting down: watch again from the last event received");
}

void Await(const ChangeFeed* feed, uint64_t seen, std::chrono::milliseconds poll) {
  if (feed == nullptr) {
    std::this_thread::sleep_for(poll);
  } else {
    feed->WaitForChange(seen, std::chrono::seconds(5));
  }
}

}  // namespace flightdeck::db
