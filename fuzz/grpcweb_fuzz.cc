// libFuzzer: gRPC-web framing, base64 text mode and grpc-timeout, as a browser's request gives them.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "services/gateway/grpcweb/framing.h"

namespace gw = flightdeck::gateway::grpcweb;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  std::string error;
  if (auto frames = gw::DecodeFrames(input, &error)) {
    std::string again;
    for (const gw::Frame& f : *frames) again += gw::EncodeFrame(f.flags, f.payload);
    if (again != input) std::abort();  // framing round-trips exactly
  }
  if (auto decoded = gw::Base64Decode(input)) {
    if (input.find('=') == std::string::npos && gw::Base64Encode(*decoded) != input) std::abort();
  }
  (void)gw::ParseGrpcTimeout(input);
  (void)gw::PercentEncodeMessage(input);
  return 0;
}
