// Spans and the per-thread stack of current contexts.

#include <algorithm>
#include <thread>

#include "common/trace/internal.h"
#include "common/trace/trace.h"

namespace flightdeck::trace {
namespace internal {
namespace {

struct StackEntry {
  SpanContext context;
  uint64_t id;
  std::shared_ptr<std::atomic<bool>> alive;  // null: alive until removed

  bool dead() const { return alive && !alive->load(std::memory_order_acquire); }
};

struct ContextStack {
  std::vector<StackEntry> entries;
  uint64_t next_id = 1;

  void PopDeadTop() {
    while (!entries.empty() && entries.back().dead()) entries.pop_back();
  }
};

ContextStack& ThreadStack() {
  thread_local ContextStack stack;
  return stack;
}

}  // namespace

uint64_t PushContext(const SpanContext& context, std::shared_ptr<std::atomic<bool>> alive) {
  ContextStack& stack = ThreadStack();
  stack.PopDeadTop();
  const uint64_t id = stack.next_id++;
  stack.entries.push_back(StackEntry{context, id, std::move(alive)});
  return id;
}

void RemoveContext(uint64_t entry_id) {
  ContextStack& stack = ThreadStack();
  auto it = std::find_if(stack.entries.rbegin(), stack.entries.rend(),
                         [entry_id](const StackEntry& e) { return e.id == entry_id; });
  if (it != stack.entries.rend()) stack.entries.erase(std::next(it).base());
  stack.PopDeadTop();
}

}  // namespace internal

namespace {

uint64_t NowUnixNano() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

const SpanContext& InvalidContext() {
  static const SpanContext kInvalid;
  return kInvalid;
}

}  // namespace

struct Span::State {
  SpanData data;  // data.context is the span's context; moved out when exported
  SpanContext context;
  // Sampled and something to export it to: only then are its name, times and attributes kept.
  // Without an exporter a sampled span still says so to the next process, which may have one.
  bool recording = false;
  bool ended = false;
  // Set while the span is on a thread's context stack.
  std::shared_ptr<std::atomic<bool>> alive;
  uint64_t entry_id = 0;
  std::thread::id owner;

  void Start(std::string name, SpanKind kind, const SpanContext& parent, Activation activation) {
    auto provider = internal::CurrentProvider();
    const bool has_parent = parent.IsValid();
    context.trace_id = has_parent ? parent.trace_id : internal::NewTraceId();
    context.span_id = internal::NewSpanId();
    if (has_parent) context.tracestate = parent.tracestate;
    const bool sampled =
        provider->options.sampler.ShouldSample(has_parent ? &parent : nullptr, context.trace_id);
    context.flags = sampled ? 0x01 : 0x00;
    recording = sampled && provider->processor != nullptr;
    if (recording) {
      data.parent_span_id = has_parent ? parent.span_id : std::array<uint8_t, 8>{};
      data.name = std::move(name);
      data.kind = kind;
      data.start_unix_nano = NowUnixNano();
    }
    if (activation == Activation::kActivate) {
      alive = std::make_shared<std::atomic<bool>>(true);
      entry_id = internal::PushContext(context, alive);
      owner = std::this_thread::get_id();
    }
  }
};

Span::Span(std::string name, SpanKind kind, Activation activation)
    : Span(std::move(name), kind, CurrentContext(), activation) {}

Span::Span(std::string name, SpanKind kind, const SpanContext& parent, Activation activation)
    : state_(std::make_unique<State>()) {
  state_->Start(std::move(name), kind, parent, activation);
}

Span::Span(Span&& other) noexcept = default;

Span::~Span() { End(); }

void Span::SetAttribute(std::string key, AttributeValue value) {
  if (!recording()) return;
  for (auto& [existing_key, existing_value] : state_->data.attributes) {
    if (existing_key == key) {
      existing_value = std::move(value);
      return;
    }
  }
  state_->data.attributes.emplace_back(std::move(key), std::move(value));
}

void Span::AddEvent(std::string name, Attributes attributes) {
  if (!recording()) return;
  state_->data.events.push_back(SpanData::Event{std::move(name), NowUnixNano(), std::move(attributes)});
}

void Span::SetStatus(StatusCode code, std::string message) {
  if (!recording()) return;
  // Once Ok, a span stays Ok: the spec lets instrumentation be overridden only by the user.
  if (state_->data.status == StatusCode::kOk) return;
  state_->data.status = code;
  state_->data.status_message = code == StatusCode::kError ? std::move(message) : std::string();
}

void Span::End() {
  if (!state_ || state_->ended) return;
  State& s = *state_;
  s.ended = true;
  if (s.alive) {
    s.alive->store(false, std::memory_order_release);
    // Another thread's stack cannot be touched; there the dead entry is skipped and dropped.
    if (s.owner == std::this_thread::get_id()) internal::RemoveContext(s.entry_id);
    s.alive.reset();
  }
  if (!s.recording) return;
  s.data.end_unix_nano = std::max(NowUnixNano(), s.data.start_unix_nano);
  s.data.context = s.context;
  auto provider = internal::CurrentProvider();
  if (provider->processor) provider->processor->OnEnd(std::move(s.data));
}

const SpanContext& Span::context() const { return state_ ? state_->context : InvalidContext(); }

bool Span::recording() const { return state_ && state_->recording && !state_->ended; }

SpanContext CurrentContext() {
  auto& stack = internal::ThreadStack();
  stack.PopDeadTop();
  for (auto it = stack.entries.rbegin(); it != stack.entries.rend(); ++it) {
    if (!it->dead()) return it->context;
  }
  return SpanContext{};
}

ScopedContext::ScopedContext(const SpanContext& context)
    : entry_id_(internal::PushContext(context, nullptr)) {}

ScopedContext::~ScopedContext() { internal::RemoveContext(entry_id_); }

}  // namespace flightdeck::trace
