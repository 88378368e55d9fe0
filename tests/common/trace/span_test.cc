#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <thread>

#include "common/trace/trace.h"
#include "tests/common/trace/memory_processor.h"

namespace flightdeck::trace {
namespace {

using Kind = Sampler::Kind;

uint64_t NowNanos() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

class SpanTest : public ::testing::Test {
 protected:
  void Use(Sampler sampler) { SetProcessorForTesting(processor_, sampler); }
  void SetUp() override { Use(Sampler()); }
  void TearDown() override { SetProcessorForTesting(nullptr); }

  std::shared_ptr<testing::MemoryProcessor> processor_ =
      std::make_shared<testing::MemoryProcessor>();
};

TEST_F(SpanTest, RootSpanHasFreshIdsAndIsExportedOnEnd) {
  const uint64_t before = NowNanos();
  {
    Span span("root");
    EXPECT_TRUE(span.context().IsValid());
    EXPECT_TRUE(span.context().sampled());
    EXPECT_FALSE(span.context().remote);
    EXPECT_TRUE(span.recording());
    EXPECT_TRUE(processor_->Spans().empty());
  }
  const uint64_t after = NowNanos();
  auto root = processor_->Only("root");
  EXPECT_EQ(root.parent_span_id, (std::array<uint8_t, 8>{}));
  EXPECT_EQ(root.kind, SpanKind::kInternal);
  EXPECT_GE(root.start_unix_nano, before);
  EXPECT_LE(root.start_unix_nano, root.end_unix_nano);
  EXPECT_LE(root.end_unix_nano, after);
}

TEST_F(SpanTest, IdsAreUniqueAcrossSpans) {
  std::set<std::string> traces;
  std::set<std::string> spans;
  for (int i = 0; i < 1000; ++i) {
    Span span("s");
    traces.insert(span.context().TraceIdHex());
    spans.insert(span.context().SpanIdHex());
  }
  EXPECT_EQ(traces.size(), 1000u);
  EXPECT_EQ(spans.size(), 1000u);
}

TEST_F(SpanTest, NestedSpansFormAParentChainThroughTheThreadStack) {
  EXPECT_FALSE(CurrentContext().IsValid());
  {
    Span outer("outer");
    EXPECT_EQ(CurrentContext().span_id, outer.context().span_id);
    {
      Span inner("inner", SpanKind::kClient);
      EXPECT_EQ(inner.context().trace_id, outer.context().trace_id);
      EXPECT_EQ(CurrentContext().span_id, inner.context().span_id);
    }
    EXPECT_EQ(CurrentContext().span_id, outer.context().span_id);
    Span sibling("sibling");
    EXPECT_EQ(sibling.context().trace_id, outer.context().trace_id);
  }
  EXPECT_FALSE(CurrentContext().IsValid());
  auto outer = processor_->Only("outer");
  auto inner = processor_->Only("inner");
  auto sibling = processor_->Only("sibling");
  EXPECT_EQ(inner.parent_span_id, outer.context.span_id);
  EXPECT_EQ(sibling.parent_span_id, outer.context.span_id);
  EXPECT_EQ(inner.kind, SpanKind::kClient);
}

TEST_F(SpanTest, DetachedSpanIsNotCurrent) {
  Span outer("outer");
  Span detached("detached", SpanKind::kClient, Span::Activation::kDetached);
  EXPECT_EQ(detached.context().trace_id, outer.context().trace_id);
  EXPECT_EQ(CurrentContext().span_id, outer.context().span_id);
}

TEST_F(SpanTest, ExplicitRemoteParentContinuesTheTraceAndTracestate) {
  auto parent = ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "rojo=1");
  ASSERT_TRUE(parent.has_value());
  {
    Span server("server", SpanKind::kServer, *parent);
    EXPECT_EQ(server.context().TraceIdHex(), "4bf92f3577b34da6a3ce929d0e0e4736");
    EXPECT_EQ(server.context().tracestate, "rojo=1");
    EXPECT_FALSE(server.context().remote);
  }
  auto server = processor_->Only("server");
  EXPECT_EQ(server.parent_span_id, parent->span_id);
}

TEST_F(SpanTest, InvalidExplicitParentStartsANewTraceEvenInsideAnotherSpan) {
  Span outer("outer");
  Span fresh("fresh", SpanKind::kServer, SpanContext{});
  EXPECT_NE(fresh.context().trace_id, outer.context().trace_id);
}

TEST_F(SpanTest, UnsampledSpansPropagateButAreNotExported) {
  Use(Sampler(Kind::kParentBasedAlwaysOn));
  auto parent = ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
  {
    Span server("server", SpanKind::kServer, *parent);
    EXPECT_TRUE(server.context().IsValid());
    EXPECT_FALSE(server.context().sampled());
    EXPECT_FALSE(server.recording());
    EXPECT_EQ(FormatTraceparent(server.context()).substr(53), "00");
    Span child("child");
    EXPECT_EQ(child.context().trace_id, server.context().trace_id);
    EXPECT_FALSE(child.context().sampled());
  }
  EXPECT_TRUE(processor_->Spans().empty());
}

// A process that exports nowhere keeps nothing of its spans, yet tells the next process that
// the trace is sampled: that one may export it.
TEST_F(SpanTest, WithoutAnExporterSampledSpansPropagateButRecordNothing) {
  SetProcessorForTesting(nullptr, Sampler(Kind::kAlwaysOn));
  Span server("server", SpanKind::kServer);
  EXPECT_TRUE(server.context().sampled());
  EXPECT_EQ(FormatTraceparent(server.context()).substr(53), "01");
  EXPECT_FALSE(server.recording());
  Span child("child");
  EXPECT_EQ(child.context().trace_id, server.context().trace_id);
  EXPECT_TRUE(child.context().sampled());
  EXPECT_FALSE(child.recording());
}

TEST_F(SpanTest, AlwaysOffRecordsNothing) {
  Use(Sampler(Kind::kAlwaysOff));
  { Span span("off"); }
  EXPECT_TRUE(processor_->Spans().empty());
}

TEST_F(SpanTest, EndedTwiceIsEndedOnce) {
  Span span("once");
  span.End();
  EXPECT_FALSE(span.recording());
  span.SetAttribute("late", true);  // ignored after End
  span.End();
  EXPECT_EQ(processor_->Spans().size(), 1u);
  EXPECT_TRUE(processor_->Spans()[0].attributes.empty());
}

TEST_F(SpanTest, MovedSpanEndsOnceAndKeepsItsContext) {
  std::array<uint8_t, 8> id;
  {
    Span original("moved");
    id = original.context().span_id;
    Span moved(std::move(original));
    EXPECT_EQ(moved.context().span_id, id);
    EXPECT_EQ(CurrentContext().span_id, id);
  }
  EXPECT_FALSE(CurrentContext().IsValid());
  EXPECT_EQ(processor_->Only("moved").context.span_id, id);
}

TEST_F(SpanTest, RecordsAttributesEventsAndStatus) {
  {
    Span span("work");
    span.SetAttribute("db.system", std::string("postgresql"));
    span.SetAttribute("rows", 3LL);
    span.SetAttribute("rows", 4LL);  // last write wins
    span.SetAttribute("ratio", 0.5);
    span.SetAttribute("cached", false);
    span.AddEvent("retry", {{"attempt", 2LL}});
    span.SetStatus(StatusCode::kError, "boom");
  }
  auto work = processor_->Only("work");
  ASSERT_EQ(work.attributes.size(), 4u);
  EXPECT_EQ(std::get<long long>(work.attributes[1].second), 4);
  ASSERT_EQ(work.events.size(), 1u);
  EXPECT_EQ(work.events[0].name, "retry");
  EXPECT_GE(work.events[0].unix_nano, work.start_unix_nano);
  EXPECT_EQ(work.status, StatusCode::kError);
  EXPECT_EQ(work.status_message, "boom");
}

TEST_F(SpanTest, ScopedContextMakesAContextCurrentWithoutASpan) {
  auto remote = ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  {
    ScopedContext scope(*remote);
    EXPECT_EQ(CurrentContext().span_id, remote->span_id);
    Span child("pooled");
    EXPECT_EQ(child.context().trace_id, remote->trace_id);
  }
  EXPECT_FALSE(CurrentContext().IsValid());
  EXPECT_EQ(processor_->Only("pooled").parent_span_id, remote->span_id);
}

TEST_F(SpanTest, SpanEndedOnAnotherThreadStopsBeingCurrentHere) {
  auto span = std::make_unique<Span>("handed-off");
  EXPECT_TRUE(CurrentContext().IsValid());
  std::thread([&span] { span->End(); }).join();
  EXPECT_FALSE(CurrentContext().IsValid());
  span.reset();
  { Span next("next"); }
  EXPECT_EQ(processor_->Only("next").parent_span_id, (std::array<uint8_t, 8>{}));
}

TEST_F(SpanTest, ContextsAreCurrentPerThread) {
  Span main_span("main");
  SpanContext seen_on_other;
  std::thread([&seen_on_other] { seen_on_other = CurrentContext(); }).join();
  EXPECT_FALSE(seen_on_other.IsValid());
}

TEST(SpanWithoutProvider, IsCreatedAndPropagatedButGoesNowhere) {
  ShutdownProvider();
  Span span("lonely");
  EXPECT_TRUE(span.context().IsValid());
  EXPECT_TRUE(span.context().sampled());  // default parentbased_always_on
}

}  // namespace
}  // namespace flightdeck::trace
