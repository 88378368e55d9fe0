#include "cli/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <memory>
#include <random>

namespace flightdeck::cli {
namespace {

constexpr const char* kUserAgent = "fdctl/0.1";

size_t AppendBody(char* data, size_t size, size_t count, void* target) {
  static_cast<std::string*>(target)->append(data, size * count);
  return size * count;
}

struct CurlDeleter {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};
struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

}  // namespace

HttpClient::HttpClient(std::string base_url, std::string token)
    : HttpClient(std::move(base_url), std::move(token), Options{}) {}

HttpClient::HttpClient(std::string base_url, std::string token, Options options)
    : base_url_(std::move(base_url)), token_(std::move(token)), options_(options) {
  while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
}

HttpResult HttpClient::Get(const std::string& path, const Query& query) const {
  return Send("GET", UrlWithQuery(path, query), nullptr, {});
}

HttpResult HttpClient::Post(const std::string& path, const std::string& json_body) const {
  return Post(path, json_body, NewIdempotencyKey());
}

HttpResult HttpClient::Post(const std::string& path, const std::string& json_body,
                            const std::string& idempotency_key) const {
  return Send("POST", base_url_ + path, &json_body,
              {"Content-Type: application/json", "Idempotency-Key: " + idempotency_key});
}

HttpResult HttpClient::Delete(const std::string& path) const {
  return Send("DELETE", base_url_ + path, nullptr, {});
}

namespace {

// A libcurl handle set up for one request to the gateway, with its header list (which must
// outlive the transfer).
struct Transfer {
  std::unique_ptr<CURL, CurlDeleter> curl;
  std::unique_ptr<curl_slist, SlistDeleter> headers;
  std::array<char, CURL_ERROR_SIZE> error_buffer{};

  std::string Error(CURLcode code) const {
    return error_buffer[0] != '\0' ? error_buffer.data() : curl_easy_strerror(code);
  }
};

bool StartTransfer(Transfer& t, const char* method, const std::string& url,
                   const std::string& token, const std::vector<std::string>& headers,
                   std::chrono::milliseconds connect_timeout, std::chrono::milliseconds timeout) {
  t.curl.reset(curl_easy_init());
  if (!t.curl) return false;
  for (const std::string& header : headers) {
    t.headers.reset(curl_slist_append(t.headers.release(), header.c_str()));
  }
  if (!token.empty()) {
    t.headers.reset(
        curl_slist_append(t.headers.release(), ("Authorization: Bearer " + token).c_str()));
  }
  CURL* c = t.curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, t.headers.get());
  curl_easy_setopt(c, CURLOPT_USERAGENT, kUserAgent);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  // Never follow redirects: curl would resend the Authorization header to wherever it points.
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(connect_timeout.count()));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, t.error_buffer.data());
  return true;
}

// An error answer or an older gateway's JSON is read for its message only; past this much
// the rest is dropped rather than buffered.
constexpr size_t kMaxUnstreamedBody = 64 * 1024;
// A line this long is not an event: the stream is broken or not ours.
constexpr size_t kMaxLineBytes = 16 * 1024 * 1024;

// "application/x-ndjson; charset=utf-8" -> "application/x-ndjson"
std::string MediaType(const char* header) {
  std::string type = header == nullptr ? "" : header;
  type = type.substr(0, type.find(';'));
  while (!type.empty() && type.back() == ' ') type.pop_back();
  for (char& ch : type) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return type;
}

struct LineSplitter {
  LineSplitter(CURL* c, const std::string& type, const LineHandler& handler, StreamResult& out)
      : curl(c), want_type(type), on_line(handler), result(out) {}

  CURL* curl;
  const std::string& want_type;
  const LineHandler& on_line;
  StreamResult& result;
  std::string pending;  // the line in progress
  bool decided = false;
  bool too_long = false;

  // Whether the answer is the stream: known from the status and Content-Type, which libcurl
  // has parsed by the time the first body bytes arrive.
  void Decide() {
    decided = true;
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    char* type = nullptr;
    curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &type);
    result.content_type = MediaType(type);
    result.streamed = status >= 200 && status < 300 && result.content_type == want_type;
  }

  bool Deliver() {
    if (!pending.empty() && pending.back() == '\r') pending.pop_back();
    const bool more = on_line(pending);
    pending.clear();
    if (!more) result.stopped = true;
    return more;
  }

  size_t Write(const char* data, size_t n) {
    if (!decided) Decide();
    if (!result.streamed) {
      if (result.body.size() < kMaxUnstreamedBody) {
        result.body.append(data, std::min(n, kMaxUnstreamedBody - result.body.size()));
      }
      return n;
    }
    size_t start = 0;
    for (size_t i = 0; i < n; ++i) {
      if (data[i] != '\n') continue;
      pending.append(data + start, i - start);
      start = i + 1;
      if (!Deliver()) return 0;  // makes libcurl stop with CURLE_WRITE_ERROR
    }
    pending.append(data + start, n - start);
    if (pending.size() > kMaxLineBytes) {
      too_long = true;
      return 0;
    }
    return n;
  }

  static size_t Callback(char* data, size_t size, size_t count, void* self) {
    return static_cast<LineSplitter*>(self)->Write(data, size * count);
  }
};

}  // namespace

HttpResult HttpClient::Send(const char* method, const std::string& url, const std::string* body,
                            const std::vector<std::string>& extra_headers) const {
  HttpResult result;
  std::vector<std::string> headers = {"Accept: application/json"};
  headers.insert(headers.end(), extra_headers.begin(), extra_headers.end());
  Transfer t;
  if (!StartTransfer(t, method, url, token_, headers, options_.connect_timeout, options_.timeout)) {
    result.transport_error = "cannot initialise libcurl";
    return result;
  }
  CURL* c = t.curl.get();
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &AppendBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &result.body);
  if (body != nullptr) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body->data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
  }

  const CURLcode code = curl_easy_perform(c);
  if (code != CURLE_OK) {
    result.transport_error = t.Error(code);
    return result;
  }
  result.reached = true;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &result.status);
  return result;
}

StreamResult HttpClient::GetLines(const std::string& path, const Query& query,
                                  const std::string& content_type,
                                  const LineHandler& on_line) const {
  StreamResult result;
  Transfer t;
  if (!StartTransfer(t, "GET", UrlWithQuery(path, query), token_,
                     {"Accept: " + content_type + ", application/json"}, options_.connect_timeout,
                     std::chrono::milliseconds(0))) {
    result.transport_error = "cannot initialise libcurl";
    return result;
  }
  CURL* c = t.curl.get();
  curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(c, CURLOPT_TCP_KEEPIDLE, 30L);
  curl_easy_setopt(c, CURLOPT_TCP_KEEPINTVL, 15L);
  LineSplitter splitter(c, content_type, on_line, result);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &LineSplitter::Callback);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &splitter);

  const CURLcode code = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &result.status);
  if (!splitter.decided) splitter.Decide();  // an empty body never reached the callback
  if (result.stopped) {
    result.reached = true;
    return result;
  }
  if (splitter.too_long) {
    result.transport_error =
        "a line of the stream is longer than " + std::to_string(kMaxLineBytes) + " bytes";
    return result;
  }
  if (code != CURLE_OK) {
    result.transport_error = t.Error(code);
    return result;
  }
  result.reached = true;
  // The stream's last line may lack its newline.
  if (result.streamed && !splitter.pending.empty()) splitter.Deliver();
  return result;
}

std::string HttpClient::UrlWithQuery(const std::string& path, const Query& query) const {
  std::string url = base_url_ + path;
  char separator = '?';
  for (const auto& [key, value] : query) {
    url += separator + UrlEscape(key) + "=" + UrlEscape(value);
    separator = '&';
  }
  return url;
}

std::string NewIdempotencyKey() {
  std::random_device random;
  std::array<unsigned char, 16> bytes{};
  for (size_t i = 0; i < bytes.size(); i += 4) {
    const unsigned int r = random();
    for (size_t j = 0; j < 4; ++j) bytes[i + j] = static_cast<unsigned char>(r >> (8 * j));
  }
  bytes[6] = static_cast<unsigned char>((bytes[6] & 0x0f) | 0x40);  // version 4
  bytes[8] = static_cast<unsigned char>((bytes[8] & 0x3f) | 0x80);  // RFC 4122 variant
  std::string out;
  char hex[3];
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    std::snprintf(hex, sizeof hex, "%02x", bytes[i]);
    out += hex;
  }
  return out;
}

std::string UrlEscape(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char ch : text) {
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
      out.push_back(static_cast<char>(ch));
    } else {
      out.push_back('%');
      out.push_back(kHex[ch >> 4]);
      out.push_back(kHex[ch & 0x0f]);
    }
  }
  return out;
}

std::string RedactUrl(const std::string& url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return url;
  const size_t authority_start = scheme_end + 3;
  const size_t authority_end = url.find_first_of("/?#", authority_start);
  const size_t at = url.rfind('@', authority_end == std::string::npos ? url.size() : authority_end);
  if (at == std::string::npos || at < authority_start) return url;
  return url.substr(0, authority_start) + "***@" + url.substr(at + 1);
}

}  // namespace flightdeck::cli
