// libFuzzer: the gateway's HTTP/1.1 request parser, on whatever bytes a client might send.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/http/request_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view buffer(reinterpret_cast<const char*>(data), size);
  flightdeck::http::ParseLimits limits{4096, 4096};
  // Parse request after request, as a connection would with pipelined bytes.
  for (int i = 0; i < 64 && !buffer.empty(); ++i) {
    flightdeck::http::ParseOutcome out = flightdeck::http::ParseRequest(buffer, limits);
    if (out.kind != flightdeck::http::ParseOutcome::kRequest) break;
    if (out.consumed == 0 || out.consumed > buffer.size()) std::abort();  // no progress, or past the end
    if (out.request.body.size() > limits.max_body_bytes) std::abort();
    buffer.remove_prefix(out.consumed);
  }
  return 0;
}
