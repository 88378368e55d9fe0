#pragma once

// Private to fd_trace: shared between the span, provider and propagation files.

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "common/trace/trace.h"

namespace flightdeck::trace::internal {

// Random ids from a per-thread generator; never all zero.
std::array<uint8_t, 16> NewTraceId();
std::array<uint8_t, 8> NewSpanId();

// Lowercase hex of the bytes.
std::string Hex(const uint8_t* data, size_t size);

// What every span reads at start and end. Replaced as a whole (copy-on-write), so that a span
// never sees a half-updated provider and a processor lives while a span still uses it.
struct Provider {
  ProviderOptions options;
  std::shared_ptr<SpanProcessor> processor;  // null: spans are not exported
};
std::shared_ptr<const Provider> CurrentProvider();

// The thread's stack of current contexts. An entry whose `alive` flag is cleared is skipped:
// that is how a span activated on one thread and ended on another stops being current there.
// A null `alive` never dies (ScopedContext).
uint64_t PushContext(const SpanContext& context, std::shared_ptr<std::atomic<bool>> alive);
void RemoveContext(uint64_t entry_id);

}  // namespace flightdeck::trace::internal
