// fdctl release events --watch against a gateway that streams the timeline as NDJSON: each
// event printed as it arrives, the end of the release, the stop at a verification the caller
// owes, and what an upstream failure in the middle of the stream does.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <streambuf>

#include "tests/cli/fake_gateway.h"
#include "tests/cli/fdctl_harness.h"

namespace flightdeck::cli {
namespace {

using testing::CannedResponse;
using testing::FakeGateway;
using testing::FdctlTest;
using testing::kToken;
using testing::Outcome;
using testing::RecordedRequest;

constexpr std::chrono::seconds kPatience{10};
constexpr char kWatchTarget[] = "/v1/releases/r-42/events?watch=true";

// Standard output that the gateway's thread can read while fdctl writes it: the stream holds
// its next line back until fdctl has printed the previous one.
class SharedOutput : public std::streambuf {
 public:
  std::string Text() const {
    std::lock_guard<std::mutex> lock(mu_);
    return text_;
  }
  // Whether `needle` was printed within kPatience.
  bool WaitFor(const std::string& needle) {
    std::unique_lock<std::mutex> lock(mu_);
    return printed_.wait_for(lock, kPatience,
                             [&] { return text_.find(needle) != std::string::npos; });
  }

 protected:
  int_type overflow(int_type ch) override {
    if (ch != traits_type::eof()) Append(std::string(1, static_cast<char>(ch)));
    return ch;
  }
  std::streamsize xsputn(const char* data, std::streamsize n) override {
    Append(std::string(data, static_cast<size_t>(n)));
    return n;
  }

 private:
  void Append(const std::string& text) {
    std::lock_guard<std::mutex> lock(mu_);
    text_ += text;
    printed_.notify_all();
  }

  mutable std::mutex mu_;
  std::condition_variable printed_;
  std::string text_;
};

std::string Event(int id, const std::string& type, const std::string& message,
                  const std::string& data = "{}") {
  return R"({"id":")" + std::to_string(id) + R"(","release_id":"r-42","at":"2026-03-01T12:00:0)" +
         std::to_string(id % 10) + R"(Z","type":")" + type +
         R"(","actor":"flightdeck","message":")" + message + R"(","data":)" + data + "}";
}

std::string StateChange(int id, const std::string& from, const std::string& to) {
  return Event(id, "STATE_CHANGED", from + " -> " + to,
               R"({"from":")" + from + R"(","to":")" + to + R"("})");
}

// How fdctl prints Event(id, type, message).
std::string Printed(int id, std::string type, const std::string& message) {
  type.resize(13, ' ');
  return "2026-03-01T12:00:0" + std::to_string(id % 10) + "Z  " + type + "  flightdeck  " +
         message + "\n";
}

std::string Release(const std::string& state, const std::string& extra = "") {
  return R"({"id":"r-42","service":"api","environment":"production","state":")" + state +
         R"(","kind":"DEPLOY")" + extra + "}";
}

class ReleaseWatchTest : public FdctlTest {
 protected:
  // fdctl with its standard output shared with the gateway's thread.
  Outcome Watch(FakeGateway& gateway, std::vector<std::string> argv) {
    argv.insert(argv.end(), {"--url", gateway.url(), "--token", kToken});
    std::istringstream in;
    std::ostream out(&output_);
    std::ostringstream err;
    RunOptions options;
    options.sleep = [this](std::chrono::milliseconds d) { sleeps_.push_back(d); };
    const auto env = env_;
    Outcome o;
    o.code = cli::Run(
        argv,
        [env](const std::string& name) -> std::optional<std::string> {
          auto it = env.find(name);
          if (it == env.end()) return std::nullopt;
          return it->second;
        },
        {in, out, err}, options);
    o.out = output_.Text();
    o.err = err.str();
    EXPECT_EQ(o.err.find(kToken), std::string::npos);
    return o;
  }

  // A streamed answer whose chunk i goes out only once fdctl has printed `shown_before[i]`
  // (when not empty); a chunk held back for longer than kPatience is recorded as a failure.
  CannedResponse Stream(std::vector<std::string> chunks, std::vector<std::string> shown_before) {
    CannedResponse response;
    response.content_type = "application/x-ndjson";
    response.chunks = std::move(chunks);
    response.before_chunk = [this, shown_before](size_t i) {
      if (i < shown_before.size() && !shown_before[i].empty() &&
          !output_.WaitFor(shown_before[i])) {
        held_back_.push_back(i);
      }
    };
    return response;
  }

  SharedOutput output_;
  std::vector<size_t> held_back_;  // chunks sent although fdctl had not printed what it got
};

TEST_F(ReleaseWatchTest, PrintsEachEventAsItArrivesAndEndsWithTheRelease) {
  const std::string created = Event(1, "CREATED", "created by ci-bot");
  const std::string canary = StateChange(2, "PENDING", "CANARY");
  const std::string analysis = Event(3, "ANALYSIS", "FAIL: error rate 0.080 > 0.050");
  const std::string rolling = StateChange(4, "CANARY", "ROLLING_BACK");
  const std::string rolled = StateChange(5, "ROLLING_BACK", "ROLLED_BACK");
  FakeGateway gateway([&](const RecordedRequest& r) {
    if (r.target == kWatchTarget) {
      // Lines split across chunks and CRLF endings arrive whole; each new line waits until
      // fdctl has shown the one before it, so nothing waits for the end of the stream.
      return Stream({created + "\n" + canary.substr(0, 20), canary.substr(20) + "\r\n",
                     analysis + "\n", rolling + "\n\n" + rolled + "\n"},
                    {"", "", Printed(2, "STATE_CHANGED", "PENDING -> CANARY"),
                     Printed(3, "ANALYSIS", "FAIL: error rate 0.080 > 0.050")});
    }
    if (r.target == "/v1/releases/r-42") {
      return CannedResponse{
          200, Release("ROLLED_BACK", R"(,"outcome_reason":"analysis FAIL: error rate 0.080")")};
    }
    return CannedResponse{404, R"({"error":{"code":"NOT_FOUND","message":"no route"}})"};
  });
  Outcome o = Watch(gateway, {"release", "events", "r-42", "--watch"});
  EXPECT_EQ(o.code, kExitError) << "a pipeline waiting on the release must see it fail";
  EXPECT_EQ(o.out, Printed(1, "CREATED", "created by ci-bot") +
                       Printed(2, "STATE_CHANGED", "PENDING -> CANARY") +
                       Printed(3, "ANALYSIS", "FAIL: error rate 0.080 > 0.050") +
                       Printed(4, "STATE_CHANGED", "CANARY -> ROLLING_BACK") +
                       Printed(5, "STATE_CHANGED", "ROLLING_BACK -> ROLLED_BACK") +
                       "release r-42 is ROLLED_BACK: analysis FAIL: error rate 0.080\n");
  EXPECT_EQ(o.err, "");
  EXPECT_TRUE(held_back_.empty()) << "fdctl printed nothing until the stream had ended";
  EXPECT_TRUE(sleeps_.empty()) << "a stream is not polled";
  const std::vector<RecordedRequest> requests = gateway.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].headers.at("accept"), "application/x-ndjson, application/json");
  EXPECT_EQ(requests[1].target, "/v1/releases/r-42");
}

TEST_F(ReleaseWatchTest, StopsWhenTheReleaseWaitsForTheCallersVerification) {
  std::mutex mu;
  std::condition_variable cv;
  bool watch_over = false;
  std::atomic<bool> later_event_sent{false};
  FakeGateway gateway([&](const RecordedRequest& r) {
    if (r.target == kWatchTarget) {
      CannedResponse response = Stream({StateChange(1, "PROMOTING", "VERIFYING") + "\n",
                                        Event(2, "VERIFICATION", "passed: smoke ok") + "\n"},
                                       {});
      // The gateway keeps the stream open: the release waits, and nothing new comes.
      response.before_chunk = [&](size_t i) {
        if (i != 1) return;
        std::unique_lock<std::mutex> lock(mu);
        cv.wait_for(lock, kPatience, [&] { return watch_over; });
        later_event_sent = true;
      };
      return response;
    }
    return CannedResponse{200,
                          Release("VERIFYING", R"(,"verify_deadline":"2026-03-01T12:30:00.5Z")")};
  });
  Outcome o = Watch(gateway, {"release", "events", "r-42", "--watch"});
  EXPECT_FALSE(later_event_sent) << "fdctl waited for the stream to end";
  {
    std::lock_guard<std::mutex> lock(mu);
    watch_over = true;
  }
  cv.notify_all();
  EXPECT_EQ(o.code, kExitOk) << o.err;
  EXPECT_EQ(o.out,
            Printed(1, "STATE_CHANGED", "PROMOTING -> VERIFYING") +
                "release r-42 is VERIFYING: waiting for your verification: fdctl release verify "
                "r-42 --passed|--failed [--details TEXT]\n"
                "without a verdict by 2026-03-01T12:30:00Z it rolls back\n");
}

TEST_F(ReleaseWatchTest, AVerificationThatIsNotTheCallersIsFollowedToTheEnd) {
  // A smoke suite gives the verdict: nothing to wait for from the caller.
  std::atomic<int> release_reads{0};
  FakeGateway gateway([&](const RecordedRequest& r) {
    if (r.target == kWatchTarget) {
      return Stream({StateChange(1, "PROMOTING", "VERIFYING") + "\n" +
                         Event(2, "SMOKE", "smoke run 7 started") + "\n",
                     StateChange(3, "VERIFYING", "SUCCEEDED") + "\n"},
                    {"", Printed(2, "SMOKE", "smoke run 7 started")});
    }
    const int reads = release_reads++;
    return CannedResponse{
        200, Release(reads == 0 ? "VERIFYING" : "SUCCEEDED", R"(,"smoke_suite":"checkout-smoke")")};
  });
  Outcome o = Watch(gateway, {"release", "events", "r-42", "--watch"});
  EXPECT_EQ(o.code, kExitOk) << o.err;
  EXPECT_EQ(o.out, Printed(1, "STATE_CHANGED", "PROMOTING -> VERIFYING") +
                       Printed(2, "SMOKE", "smoke run 7 started") +
                       Printed(3, "STATE_CHANGED", "VERIFYING -> SUCCEEDED") +
                       "release r-42 is SUCCEEDED\n");
  EXPECT_TRUE(held_back_.empty());
}

TEST_F(ReleaseWatchTest, AnUpstreamFailureMidStreamIsRetriedWithoutRepeatingEvents) {
  std::atomic<int> streams{0};
  FakeGateway gateway([&](const RecordedRequest& r) {
    if (r.target == kWatchTarget) {
      if (++streams == 1) {
        return Stream({Event(1, "CREATED", "created") + "\n",
                       R"({"error":{"code":"UNAVAILABLE","message":"releases restarting"}})"
                       "\n"},
                      {});
      }
      return Stream({Event(1, "CREATED", "created") + "\n" + StateChange(2, "PENDING", "CANARY") +
                     "\n" + StateChange(3, "CANARY", "SUCCEEDED") + "\n"},
                    {});
    }
    return CannedResponse{200, Release("SUCCEEDED")};
  });
  Outcome o = Watch(gateway, {"release", "events", "r-42", "--watch", "--json"});
  EXPECT_EQ(o.code, kExitOk) << o.err;
  std::vector<std::string> ids;
  std::istringstream lines(o.out);
  for (std::string line; std::getline(lines, line);) {
    ids.push_back(nlohmann::json::parse(line)["id"].get<std::string>());
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"1", "2", "3"}));
  EXPECT_EQ(o.err, "warning: UNAVAILABLE: releases restarting\n");
  EXPECT_EQ(sleeps_.size(), 1u);
}

TEST_F(ReleaseWatchTest, AnErrorLineThatRetryingCannotFixEndsTheWatch) {
  FakeGateway gateway([&](const RecordedRequest&) {
    return Stream({Event(1, "CREATED", "created") + "\n" +
                   R"({"error":{"code":"PERMISSION_DENIED","message":"token revoked"}})"},
                  {});
  });
  Outcome o = Watch(gateway, {"release", "events", "r-42", "--watch"});
  EXPECT_EQ(o.code, kExitError);
  EXPECT_EQ(o.out, Printed(1, "CREATED", "created"));
  EXPECT_EQ(o.err, "error: PERMISSION_DENIED: token revoked\n");
  EXPECT_TRUE(sleeps_.empty());
}

TEST_F(ReleaseWatchTest, AGatewayThatIgnoresWatchIsPolled) {
  // A gateway that does not know `watch` and answers the page of JSON it always did.
  FakeGateway gateway([](const RecordedRequest& r) {
    if (r.target == "/v1/releases/r-42") return CannedResponse{200, Release("SUCCEEDED")};
    return CannedResponse{200, "{\"events\":[" + Event(1, "CREATED", "created") + "]}"};
  });
  Outcome o = Watch(gateway, {"release", "events", "r-42", "--watch"});
  EXPECT_EQ(o.code, kExitOk) << o.err;
  EXPECT_EQ(o.out, Printed(1, "CREATED", "created") + "release r-42 is SUCCEEDED\n");
  const std::vector<RecordedRequest> requests = gateway.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].target, kWatchTarget);
  EXPECT_EQ(requests[2].target, "/v1/releases/r-42/events?page_size=200");
}

}  // namespace
}  // namespace flightdeck::cli
