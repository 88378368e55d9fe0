#include "services/gateway/http_call.h"

#include <random>

#include "common/log/log.h"
#include "common/metrics/metrics.h"
#include "services/gateway/core/auth.h"

namespace flightdeck::gateway {
namespace {

std::string RandomHex(size_t bytes) {
  thread_local std::mt19937_64 rng(std::random_device{}());
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < bytes; ++i) {
    auto b = static_cast<unsigned>(rng() & 0xff);
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xf]);
  }
  return out;
}

// A caller's X-Request-Id is echoed when it is a sane token; otherwise we make one.
bool IsSaneRequestId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (unsigned char c : id) {
    if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\\') return false;
  }
  return true;
}

}  // namespace

void LiveCalls::Enter() {
  std::lock_guard<std::mutex> lock(mu_);
  ++alive_;
}

void LiveCalls::Leave() {
  std::lock_guard<std::mutex> lock(mu_);
  if (--alive_ == 0) none_.notify_all();
}

bool LiveCalls::WaitNone(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return none_.wait_for(lock, timeout, [this] { return alive_ == 0; });
}

HttpCall::HttpCall(http::ServerRequest request, std::shared_ptr<http::Exchange> exchange,
                   metrics::HttpMetrics& metrics, LiveCalls& live)
    : request_(std::move(request)), exchange_(std::move(exchange)), metrics_(metrics), live_(live) {
  live_.Enter();
  std::string_view id = request_.Header("x-request-id");
  request_id_ = IsSaneRequestId(id) ? std::string(id) : RandomHex(16);
}

HttpCall::~HttpCall() {
  if (span_) span_->End();
  live_.Leave();  // last: the gateway may be destroyed from here on
}

void HttpCall::StartSpan(std::string route) {
  route_ = std::move(route);
  std::optional<trace::SpanContext> parent = trace::ParseTraceparent(
      std::string(request_.Header("traceparent")), std::string(request_.Header("tracestate")));
  span_.emplace(request_.method + " " + route_, trace::SpanKind::kServer,
                parent ? *parent : trace::SpanContext(), trace::Span::Activation::kDetached);
  if (!span_->recording()) return;
  span_->SetAttribute("http.method", request_.method);
  span_->SetAttribute("http.route", route_);
  span_->SetAttribute("http.target", request_.target);
  span_->SetAttribute("http.request_id", request_id_);
}

const trace::SpanContext& HttpCall::trace_context() const {
  static const trace::SpanContext kNone;
  return span_ ? span_->context() : kNone;
}

std::optional<std::string> HttpCall::BearerToken() const {
  if (!request_.HasHeader("authorization")) return std::nullopt;
  return gateway::BearerToken(std::string(request_.Header("authorization")));
}

void HttpCall::SetAnswerHeaders(Headers headers) { answer_headers_ = std::move(headers); }

void HttpCall::Send(int status, std::string body, Headers headers, std::string content_type) {
  if (answered_.exchange(true)) return;
  http::ServerResponse response;
  response.status = status;
  response.headers = std::move(headers);
  response.headers.insert(response.headers.end(), answer_headers_.begin(), answer_headers_.end());
  response.headers.emplace_back("Content-Type", std::move(content_type));
  response.headers.emplace_back("X-Request-Id", request_id_);
  response.body = std::move(body);
  exchange_->Respond(std::move(response));
  Record(status);
}

void HttpCall::BeginStream(int status, Headers headers, std::string content_type) {
  if (answered_.exchange(true)) return;
  streaming_ = true;
  stream_status_ = status;
  headers.insert(headers.end(), answer_headers_.begin(), answer_headers_.end());
  headers.emplace_back("Content-Type", std::move(content_type));
  headers.emplace_back("X-Request-Id", request_id_);
  headers.emplace_back("Cache-Control", "no-store");
  exchange_->BeginStream(status, std::move(headers));
}

bool HttpCall::Write(std::string chunk) { return exchange_->Write(std::move(chunk)); }

void HttpCall::End() {
  exchange_->End();
  Record(stream_status_);
}

void HttpCall::Record(int status) {
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  metrics_.Record(route_, request_.method, status, seconds);
  if (!span_) return;
  span_->SetAttribute("http.status_code", static_cast<long long>(status));
  if (status >= 500) span_->SetStatus(trace::StatusCode::kError, "HTTP " + std::to_string(status));
  span_->End();
  if (status >= 500) {
    trace::ScopedContext scope(span_->context());
    log::Warn("request failed", {{"method", request_.method}, {"path", request_.path},
                                 {"status", status}, {"request_id", request_id_}});
  }
}

}  // namespace flightdeck::gateway
