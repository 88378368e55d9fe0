// Batching OTLP/HTTP JSON export of ended spans.

#include "common/trace/batch_processor.h"

#include <curl/curl.h>

#include <algorithm>
#include <vector>

#include "common/metrics/metrics.h"

namespace flightdeck::trace {
namespace {

using Clock = std::chrono::steady_clock;

// Long enough for a collector across a data centre, short enough that a black-holed address
// does not eat the whole export timeout of every batch.
constexpr std::chrono::milliseconds kMaxConnectTimeout{2000};

size_t DiscardBody(char*, size_t size, size_t count, void*) { return size * count; }

// A zero batch size would spin the worker; a batch larger than the queue would never fill.
ProviderOptions Sanitized(ProviderOptions options) {
  options.max_queue_size = std::max<size_t>(1, options.max_queue_size);
  options.max_export_batch_size =
      std::clamp<size_t>(options.max_export_batch_size, 1, options.max_queue_size);
  return options;
}

}  // namespace

class BatchSpanProcessor::HttpSender {
 public:
  explicit HttpSender(const ProviderOptions& options) : url_(*options.traces_url) {
    static std::once_flag curl_init;
    std::call_once(curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    curl_ = curl_easy_init();
    headers_ = curl_slist_append(headers_, "Content-Type: application/json");
    headers_ = curl_slist_append(headers_, "User-Agent: flightdeck-otlp-exporter/0.1");
    // No "Expect: 100-continue" round trip before each batch.
    headers_ = curl_slist_append(headers_, "Expect:");
    for (const auto& [name, value] : options.headers) {
      headers_ = curl_slist_append(headers_, (name + ": " + value).c_str());
    }
  }
  ~HttpSender() {
    curl_slist_free_all(headers_);
    if (curl_ != nullptr) curl_easy_cleanup(curl_);
  }
  HttpSender(const HttpSender&) = delete;
  HttpSender& operator=(const HttpSender&) = delete;

  // True when the collector answered 2xx. The handle is kept so the connection is reused.
  bool Post(const std::string& body, std::chrono::milliseconds timeout) {
    if (curl_ == nullptr) return false;
    const long timeout_ms = std::max<long>(1, static_cast<long>(timeout.count()));
    const long connect_ms = std::min<long>(timeout_ms, kMaxConnectTimeout.count());
    curl_easy_setopt(curl_, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(curl_, CURLOPT_POST, 1L);
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers_);
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(curl_, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    // Signals cannot interrupt a worker thread of a multi-threaded server.
    curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, DiscardBody);
    if (curl_easy_perform(curl_) != CURLE_OK) return false;
    long status = 0;
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &status);
    return status >= 200 && status < 300;
  }

 private:
  std::string url_;
  CURL* curl_ = nullptr;
  curl_slist* headers_ = nullptr;
};

BatchSpanProcessor::BatchSpanProcessor(ProviderOptions options, Counters counters)
    : options_(Sanitized(std::move(options))), counters_(counters) {
  worker_ = std::thread([this] { Run(); });
}

BatchSpanProcessor::~BatchSpanProcessor() { Shutdown(); }

void BatchSpanProcessor::OnEnd(SpanData span) {
  std::unique_lock<std::mutex> lock(mu_);
  if (stopping_ || queue_.size() >= options_.max_queue_size) {
    lock.unlock();
    CountDropped(1);
    return;
  }
  queue_.push_back(std::move(span));
  const bool wake = queue_.size() >= options_.max_export_batch_size;
  lock.unlock();
  if (wake) wake_.notify_one();
}

void BatchSpanProcessor::Shutdown() {
  std::lock_guard<std::mutex> shutdown_lock(shutdown_mu_);
  if (joined_) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    stop_requested_ = Clock::now();
  }
  wake_.notify_one();
  worker_.join();
  joined_ = true;
}

void BatchSpanProcessor::CountExported(uint64_t n) {
  exported_ += n;
  if (counters_.exported != nullptr) counters_.exported->Inc(static_cast<double>(n));
}

void BatchSpanProcessor::CountDropped(uint64_t n) {
  dropped_ += n;
  if (counters_.dropped != nullptr) counters_.dropped->Inc(static_cast<double>(n));
}

void BatchSpanProcessor::ExportBatch(std::unique_lock<std::mutex>& lock, HttpSender& sender,
                                     std::chrono::milliseconds timeout) {
  const size_t n = std::min(queue_.size(), options_.max_export_batch_size);
  if (n == 0) return;
  std::vector<SpanData> batch;
  batch.reserve(n);
  std::move(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n),
            std::back_inserter(batch));
  queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
  lock.unlock();
  bool sent = false;
  try {
    sent = sender.Post(EncodeOtlpJson(options_, batch), timeout);
  } catch (const std::exception&) {
    sent = false;  // encoding failed (out of memory): the batch is lost, the service goes on
  }
  if (sent) {
    CountExported(n);
  } else {
    CountDropped(n);
  }
  lock.lock();
}

void BatchSpanProcessor::Run() {
  HttpSender sender(options_);
  std::unique_lock<std::mutex> lock(mu_);
  auto next_send = Clock::now() + options_.schedule_delay;
  while (!stopping_) {
    wake_.wait_until(lock, next_send, [this] {
      return stopping_ || queue_.size() >= options_.max_export_batch_size;
    });
    if (stopping_) break;
    const bool full_batch = queue_.size() >= options_.max_export_batch_size;
    if (!full_batch && Clock::now() < next_send) continue;
    ExportBatch(lock, sender, options_.export_timeout);
    if (queue_.size() < options_.max_export_batch_size) {
      next_send = Clock::now() + options_.schedule_delay;
    }
  }
  // One bounded flush: whatever the collector has not taken by the deadline is dropped.
  const auto deadline = stop_requested_ + options_.export_timeout;
  while (!queue_.empty()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      CountDropped(queue_.size());
      queue_.clear();
      break;
    }
    ExportBatch(lock, sender, left);
  }
}

}  // namespace flightdeck::trace
