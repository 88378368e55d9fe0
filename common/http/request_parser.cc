#include "common/http/request_parser.h"

#include <charconv>
#include <cstring>

namespace flightdeck::http {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    if (c <= 0x20 || c >= 0x7f || std::strchr("()<>@,;:\\\"/[]?={}", c) != nullptr) return false;
  }
  return true;
}

// Field values may not carry control characters other than tab (RFC 9110 §5.5).
bool IsFieldValue(std::string_view s) {
  for (unsigned char c : s) {
    if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
  }
  return true;
}

bool HeaderHasToken(std::string_view value, std::string_view token) {
  std::string v = Lower(value);
  size_t start = 0;
  while (start <= v.size()) {
    size_t comma = v.find(',', start);
    if (comma == std::string::npos) comma = v.size();
    if (Trim(std::string_view(v).substr(start, comma - start)) == token) return true;
    start = comma + 1;
  }
  return false;
}

ParseOutcome Error(int status, std::string message) {
  ParseOutcome out;
  out.kind = ParseOutcome::kError;
  out.status = status;
  out.message = std::move(message);
  return out;
}

std::string TooLarge(const ParseLimits& limits) {
  return "body: request body exceeds the limit of " + std::to_string(limits.max_body_bytes) + " bytes";
}

}  // namespace

ParseOutcome ParseRequest(std::string_view buffer, const ParseLimits& limits) {
  const std::string header_limit =
      "request headers larger than " + std::to_string(limits.max_header_bytes) + " bytes";
  size_t header_end = buffer.find("\r\n\r\n");
  if (header_end == std::string_view::npos) {
    if (buffer.size() > limits.max_header_bytes) return Error(431, header_limit);
    return ParseOutcome{};
  }
  if (header_end + 4 > limits.max_header_bytes) return Error(431, header_limit);

  ParseOutcome out;
  ServerRequest& request = out.request;
  std::string_view head = buffer.substr(0, header_end);
  size_t line_end = head.find("\r\n");
  std::string_view line = head.substr(0, line_end);
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos) return Error(400, "malformed request line");
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (!IsToken(method) || target.empty() || !IsFieldValue(target) || target.find(' ') != std::string_view::npos ||
      target.find('\t') != std::string_view::npos) {
    return Error(400, "malformed request line");
  }
  if (version != "HTTP/1.1" && version != "HTTP/1.0") return Error(400, "unsupported protocol version");
  request.method = std::string(method);
  request.target = std::string(target);
  size_t q = target.find('?');
  request.path = std::string(target.substr(0, q));
  if (q != std::string_view::npos) request.query = std::string(target.substr(q + 1));
  out.http10 = version == "HTTP/1.0";

  std::string_view rest = line_end == std::string_view::npos ? std::string_view() : head.substr(line_end + 2);
  std::string content_length;
  bool chunked = false;
  bool has_transfer_encoding = false;
  while (!rest.empty()) {
    size_t e = rest.find("\r\n");
    std::string_view h = rest.substr(0, e);
    rest = e == std::string_view::npos ? std::string_view() : rest.substr(e + 2);
    if (h.empty()) continue;
    // Obsolete line folding (RFC 9112 §5.2) is refused, as are fields with control characters.
    if (h.front() == ' ' || h.front() == '\t') return Error(400, "folded header lines are not accepted");
    size_t colon = h.find(':');
    if (colon == std::string_view::npos || !IsToken(h.substr(0, colon))) return Error(400, "malformed header line");
    std::string_view raw_value = Trim(h.substr(colon + 1));
    if (!IsFieldValue(raw_value)) return Error(400, "malformed header line");
    std::string name = Lower(h.substr(0, colon));
    std::string value(raw_value);
    if (name == "content-length") {
      if (value.empty() || value.size() > 19 || value.find_first_not_of("0123456789") != std::string::npos ||
          (!content_length.empty() && content_length != value)) {
        return Error(400, "invalid Content-Length");
      }
      content_length = value;
    } else if (name == "transfer-encoding") {
      if (has_transfer_encoding) return Error(400, "unsupported Transfer-Encoding");
      has_transfer_encoding = true;
      chunked = Lower(Trim(value)) == "chunked";
    }
    request.headers.emplace_back(std::move(name), std::move(value));
  }
  // Both framings at once, or a coding we do not decode, is how requests are smuggled past
  // proxies: refuse it.
  if (has_transfer_encoding && (!chunked || !content_length.empty())) {
    return Error(400, "unsupported Transfer-Encoding");
  }
  std::string_view connection = request.Header("connection");
  out.keep_alive = out.http10 ? HeaderHasToken(connection, "keep-alive") : !HeaderHasToken(connection, "close");
  const bool expects_continue = HeaderHasToken(request.Header("expect"), "100-continue");

  const size_t body_start = header_end + 4;
  if (chunked) {
    std::string body;
    size_t pos = body_start;
    while (true) {
      size_t le = buffer.find("\r\n", pos);
      if (le == std::string_view::npos) {
        if (buffer.size() - pos > 1024) return Error(400, "malformed chunk size");
        out.expects_continue = expects_continue && body.empty();
        out.kind = ParseOutcome::kIncomplete;
        return out;
      }
      std::string_view size_text = buffer.substr(pos, le - pos);
      size_text = Trim(size_text.substr(0, size_text.find(';')));
      size_t size = 0;
      auto [ptr, ec] = std::from_chars(size_text.data(), size_text.data() + size_text.size(), size, 16);
      if (ec != std::errc() || ptr != size_text.data() + size_text.size() || size_text.empty()) {
        return Error(400, "malformed chunk size");
      }
      if (size > limits.max_body_bytes || body.size() + size > limits.max_body_bytes) {
        return Error(413, TooLarge(limits));
      }
      pos = le + 2;
      if (size == 0) {
        while (true) {  // trailer fields, ignored, up to an empty line
          size_t te = buffer.find("\r\n", pos);
          if (te == std::string_view::npos) {
            if (buffer.size() - pos > limits.max_header_bytes) return Error(431, header_limit);
            out.kind = ParseOutcome::kIncomplete;
            return out;
          }
          bool empty = te == pos;
          pos = te + 2;
          if (empty) break;
        }
        break;
      }
      if (buffer.size() - pos < size + 2) {
        out.expects_continue = expects_continue && body.empty();
        out.kind = ParseOutcome::kIncomplete;
        return out;
      }
      body.append(buffer.substr(pos, size));
      if (buffer.substr(pos + size, 2) != "\r\n") return Error(400, "malformed chunk");
      pos += size + 2;
    }
    request.body = std::move(body);
    out.consumed = pos;
  } else {
    size_t length = 0;
    if (!content_length.empty()) {
      auto [ptr, ec] = std::from_chars(content_length.data(), content_length.data() + content_length.size(), length);
      if (ec != std::errc() || length > limits.max_body_bytes) {
        return Error(413, "body: request body of " + content_length + " bytes exceeds the limit of " +
                              std::to_string(limits.max_body_bytes));
      }
    }
    if (buffer.size() - body_start < length) {
      out.expects_continue = expects_continue;
      out.kind = ParseOutcome::kIncomplete;
      return out;
    }
    request.body = std::string(buffer.substr(body_start, length));
    out.consumed = body_start + length;
  }
  out.kind = ParseOutcome::kRequest;
  return out;
}

}  // namespace flightdeck::http
