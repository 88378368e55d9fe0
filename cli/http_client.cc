#include "cli/http_client.h"

#include <curl/curl.h>

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
  std::string url = base_url_ + path;
  char separator = '?';
  for (const auto& [key, value] : query) {
    url += separator + UrlEscape(key) + "=" + UrlEscape(value);
    separator = '&';
  }
  return Send("GET", url, nullptr, {});
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

HttpResult HttpClient::Send(const char* method, const std::string& url, const std::string* body,
                            const std::vector<std::string>& extra_headers) const {
  HttpResult result;
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) {
    result.transport_error = "cannot initialise libcurl";
    return result;
  }
  std::unique_ptr<curl_slist, SlistDeleter> headers;
  auto add_header = [&headers](const std::string& header) {
    headers.reset(curl_slist_append(headers.release(), header.c_str()));
  };
  add_header("Accept: application/json");
  if (!token_.empty()) add_header("Authorization: Bearer " + token_);
  for (const std::string& header : extra_headers) add_header(header);

  std::array<char, CURL_ERROR_SIZE> error_buffer{};
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_USERAGENT, kUserAgent);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  // Never follow redirects: curl would resend the Authorization header to wherever it points.
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(options_.connect_timeout.count()));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout.count()));
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error_buffer.data());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &AppendBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &result.body);
  if (body != nullptr) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body->data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
  }

  const CURLcode code = curl_easy_perform(c);
  if (code != CURLE_OK) {
    result.transport_error =
        error_buffer[0] != '\0' ? error_buffer.data() : curl_easy_strerror(code);
    return result;
  }
  result.reached = true;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &result.status);
  return result;
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
