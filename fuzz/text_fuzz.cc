// libFuzzer: the small parsers of untrusted text: W3C traceparent/tracestate, durations, percent
// decoding, cron expressions.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/config/config.h"
#include "common/config/url.h"
#include "common/trace/trace.h"
#include "services/backups/cron.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  size_t nl = input.find('\n');
  std::string first = input.substr(0, nl);
  std::string second = nl == std::string::npos ? std::string() : input.substr(nl + 1);
  (void)flightdeck::trace::ParseTraceparent(first, second);
  if (auto d = flightdeck::config::ParseDuration(input)) {
    if (d->count() < 0) std::abort();
  }
  std::string lenient = flightdeck::config::PercentDecode(input, true);
  if (lenient.size() > input.size()) std::abort();  // decoding never grows the text
  if (auto strict = flightdeck::config::PercentDecodeStrict(input)) {
    if (strict->size() > input.size()) std::abort();
  }
  flightdeck::backups::CronSchedule schedule;
  (void)flightdeck::backups::CronSchedule::Parse(input, &schedule);
  return 0;
}
