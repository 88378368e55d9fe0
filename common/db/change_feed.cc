#include "common/db/change_feed.h"

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <pqxx/pqxx>

#include "common/db/db.h"
#include "common/log/log.h"

namespace flightdeck::db {
namespace {

bool IsIdentifier(const std::string& s) {
  if (s.empty() || s.size() > 63 || !(std::islower(static_cast<unsigned char>(s[0])) || s[0] == '_')) {
    return false;
  }
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '_';
  });
}

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
  if (!IsIdentifier(impl_->channel)) {
    // A programming error, not input: fail loudly at start-up.
    throw std::invalid_argument("change feed channel \"" + impl_->channel + "\" is not a plain identifier");
  }
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

void ChangeFeed::WaitForChange(uint64_t seen, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->mu);
  impl_->changed.wait_for(lock, timeout, [&] { return impl_->stopping || impl_->generation != seen; });
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
