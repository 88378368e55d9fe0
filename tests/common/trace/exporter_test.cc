#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/metrics/metrics.h"
#include "common/trace/batch_processor.h"
#include "common/trace/trace.h"
#include "tests/common/trace/http_receiver.h"

namespace flightdeck::trace {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using testing::HttpReceiver;

ProviderOptions Options(const std::string& url) {
  ProviderOptions options;
  options.service_name = "exporter-test";
  options.traces_url = url;
  options.headers = {{"x-api-key", "k1"}};
  options.schedule_delay = 60s;  // only full batches are sent unless a test says otherwise
  options.export_timeout = 5s;
  options.max_queue_size = 100;
  options.max_export_batch_size = 5;
  return options;
}

SpanData MakeSpan(int i) {
  SpanData span;
  span.context.trace_id = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  span.context.span_id = {0, 0, 0, 0, 0, 0, 0, static_cast<uint8_t>(i + 1)};
  span.context.flags = 1;
  span.name = "span-" + std::to_string(i);
  span.start_unix_nano = 1;
  span.end_unix_nano = 2;
  return span;
}

size_t SpansIn(const std::string& body) {
  auto json = nlohmann::json::parse(body);
  return json["resourceSpans"][0]["scopeSpans"][0]["spans"].size();
}

// Polls a condition that another thread makes true; false at the deadline.
template <typename F>
bool Eventually(F condition, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = Clock::now() + timeout;
  while (!condition()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

TEST(BatchSpanProcessor, SendsFullBatchesAtOnceAndTheRestAtShutdown) {
  HttpReceiver receiver;
  BatchSpanProcessor processor(Options(receiver.url()));
  for (int i = 0; i < 12; ++i) processor.OnEnd(MakeSpan(i));

  ASSERT_TRUE(receiver.WaitForRequests(2, 10s));
  auto requests = receiver.requests();
  ASSERT_EQ(requests.size(), 2u);  // the 2 left over wait for the 60 s delay or shutdown
  EXPECT_EQ(SpansIn(requests[0].body), 5u);
  EXPECT_EQ(SpansIn(requests[1].body), 5u);
  const std::string head = Lower(requests[0].head);
  EXPECT_EQ(head.rfind("post /v1/traces http/1.1", 0), 0u) << head;
  EXPECT_NE(head.find("\r\ncontent-type: application/json"), std::string::npos) << head;
  EXPECT_NE(head.find("\r\nx-api-key: k1"), std::string::npos) << head;

  processor.Shutdown();
  requests = receiver.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(SpansIn(requests[2].body), 2u);
  EXPECT_EQ(processor.exported(), 12u);
  EXPECT_EQ(processor.dropped(), 0u);
}

TEST(BatchSpanProcessor, SendsAPartialBatchAfterTheScheduleDelay) {
  HttpReceiver receiver;
  ProviderOptions options = Options(receiver.url());
  options.schedule_delay = 50ms;
  options.max_export_batch_size = 512;
  BatchSpanProcessor processor(options);
  for (int i = 0; i < 3; ++i) processor.OnEnd(MakeSpan(i));
  ASSERT_TRUE(receiver.WaitForRequests(1, 10s));
  EXPECT_EQ(SpansIn(receiver.requests()[0].body), 3u);
  EXPECT_TRUE(Eventually([&] { return processor.exported() == 3; }));
}

TEST(BatchSpanProcessor, CollectorDownOnEndStaysFastAndDropsAreCounted) {
  metrics::Registry registry;
  auto& dropped = registry.AddCounter("flightdeck_trace_spans_dropped_total", "d").With({});
  ProviderOptions options = Options("http://127.0.0.1:" + std::to_string(testing::ClosedPort()) +
                                    "/v1/traces");
  options.schedule_delay = 10ms;
  BatchSpanProcessor processor(options, {nullptr, &dropped});

  auto slowest = Clock::duration::zero();
  for (int i = 0; i < 200; ++i) {
    const auto start = Clock::now();
    processor.OnEnd(MakeSpan(i));
    slowest = std::max(slowest, Clock::now() - start);
  }
  EXPECT_LT(slowest, 50ms);
  EXPECT_TRUE(Eventually([&] { return processor.dropped() == 200; })) << processor.dropped();
  EXPECT_EQ(dropped.Value(), 200.0);
  EXPECT_EQ(processor.exported(), 0u);
}

TEST(BatchSpanProcessor, HangingCollectorNeitherBlocksOnEndNorHoldsSpansForever) {
  HttpReceiver receiver;
  receiver.Hold();
  ProviderOptions options = Options(receiver.url());
  options.export_timeout = 300ms;
  BatchSpanProcessor processor(options);
  for (int i = 0; i < 5; ++i) processor.OnEnd(MakeSpan(i));
  ASSERT_TRUE(receiver.WaitForRequests(1, 10s));  // the POST is now in flight and stuck

  const auto start = Clock::now();
  for (int i = 5; i < 10; ++i) processor.OnEnd(MakeSpan(i));
  EXPECT_LT(Clock::now() - start, 50ms);

  // The stuck batch times out and is counted as dropped, not retried.
  EXPECT_TRUE(Eventually([&] { return processor.dropped() >= 5; }));
  receiver.Release();
  processor.Shutdown();
  EXPECT_EQ(processor.dropped() + processor.exported(), 10u);
}

TEST(BatchSpanProcessor, FullQueueDropsAndCounts) {
  HttpReceiver receiver;
  receiver.Hold();
  ProviderOptions options = Options(receiver.url());
  options.max_queue_size = 10;
  options.max_export_batch_size = 10;
  BatchSpanProcessor processor(options);
  for (int i = 0; i < 10; ++i) processor.OnEnd(MakeSpan(i));
  ASSERT_TRUE(receiver.WaitForRequests(1, 10s));  // the first 10 left the queue

  for (int i = 10; i < 25; ++i) processor.OnEnd(MakeSpan(i));
  EXPECT_EQ(processor.dropped(), 5u);  // 10 fit in the queue, 5 did not

  receiver.Release();
  ASSERT_TRUE(receiver.WaitForRequests(2, 10s));
  processor.Shutdown();
  EXPECT_EQ(processor.exported(), 20u);
  EXPECT_EQ(processor.dropped(), 5u);
}

TEST(BatchSpanProcessor, RejectedBatchIsDroppedNotRetried) {
  HttpReceiver receiver(503);
  BatchSpanProcessor processor(Options(receiver.url()));
  for (int i = 0; i < 5; ++i) processor.OnEnd(MakeSpan(i));
  EXPECT_TRUE(Eventually([&] { return processor.dropped() == 5; }));
  processor.Shutdown();
  EXPECT_EQ(receiver.requests().size(), 1u);
  EXPECT_EQ(processor.exported(), 0u);
}

TEST(BatchSpanProcessor, SpansEndedAfterShutdownAreDropped) {
  HttpReceiver receiver;
  BatchSpanProcessor processor(Options(receiver.url()));
  processor.Shutdown();
  processor.OnEnd(MakeSpan(0));
  EXPECT_EQ(processor.dropped(), 1u);
  EXPECT_TRUE(receiver.requests().empty());
}

TEST(Provider, ExportsEndedSpansAndCountsThemInTheRegistry) {
  HttpReceiver receiver;
  metrics::Registry registry;
  ProviderOptions options = Options(receiver.url());
  options.schedule_delay = 20ms;
  InitProvider(options, &registry);
  std::string trace_id;
  {
    Span parent("parent");
    trace_id = parent.context().TraceIdHex();
    Span child("child");
  }
  ShutdownProvider();

  size_t spans = 0;
  for (const auto& request : receiver.requests()) {
    auto body = nlohmann::json::parse(request.body);
    const auto& rs = body["resourceSpans"][0];
    EXPECT_EQ(rs["resource"]["attributes"][0]["value"]["stringValue"], "exporter-test");
    for (const auto& span : rs["scopeSpans"][0]["spans"]) {
      EXPECT_EQ(span["traceId"], trace_id);
      ++spans;
    }
  }
  EXPECT_EQ(spans, 2u);
  EXPECT_EQ(registry.AddCounter("flightdeck_trace_spans_exported_total", "").With({}).Value(), 2.0);
  EXPECT_NE(registry.Expose().find("flightdeck_trace_spans_dropped_total"), std::string::npos);
}

TEST(Provider, ShutdownIsBoundedByTheExportTimeout) {
  HttpReceiver receiver;
  receiver.Hold();
  ProviderOptions options = Options(receiver.url());
  options.export_timeout = 300ms;
  InitProvider(options);
  { Span span("stuck"); }
  const auto start = Clock::now();
  ShutdownProvider();
  EXPECT_LT(Clock::now() - start, 2s);
  receiver.Release();
}

TEST(Provider, WithoutAnEndpointNothingIsExported) {
  HttpReceiver receiver;
  ProviderOptions options = Options(receiver.url());
  options.traces_url.reset();
  InitProvider(options);
  { Span span("nowhere"); }
  ShutdownProvider();
  EXPECT_TRUE(receiver.requests().empty());
}

}  // namespace
}  // namespace flightdeck::trace
