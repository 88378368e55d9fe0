#include "common/http/router.h"

#include <gtest/gtest.h>

namespace flightdeck::http {
namespace {

TEST(Router, MatchesParametersAndTellsNotFoundFromMethodNotAllowed) {
  Router<int> router;
  router.Add("GET", "/v1/releases", 1);
  router.Add("POST", "/v1/releases", 2);
  router.Add("GET", "/v1/releases/{id}", 3);
  router.Add("POST", "/v1/releases/{id}/approve", 4);

  auto m = router.Find("GET", "/v1/releases/abc");
  ASSERT_EQ(m.outcome, Router<int>::Outcome::kFound);
  EXPECT_EQ(*m.handler, 3);
  EXPECT_EQ(m.params["id"], "abc");
  EXPECT_EQ(m.pattern, "/v1/releases/{id}");
  EXPECT_EQ(*router.Find("POST", "/v1/releases/").handler, 2);
  EXPECT_EQ(*router.Find("POST", "/v1/releases/x/approve").handler, 4);

  auto not_allowed = router.Find("DELETE", "/v1/releases");
  EXPECT_EQ(not_allowed.outcome, Router<int>::Outcome::kMethodNotAllowed);
  EXPECT_EQ(not_allowed.allowed, (std::vector<std::string>{"GET", "POST"}));
  EXPECT_EQ(router.Find("GET", "/v1/release").outcome, Router<int>::Outcome::kNotFound);
  EXPECT_EQ(router.Find("GET", "/v1/releases/a/b").outcome, Router<int>::Outcome::kNotFound);
}

TEST(Query, DecodesPercentAndPlus) {
  auto q = ParseQuery("?service=a%2Db&note=two+words&empty=&flag");
  ASSERT_EQ(q.size(), 4u);
  EXPECT_EQ(q[0], (std::pair<std::string, std::string>{"service", "a-b"}));
  EXPECT_EQ(q[1].second, "two words");
  EXPECT_EQ(q[2].second, "");
  EXPECT_EQ(q[3].first, "flag");
  EXPECT_EQ(ParseQuery("q=100%&r=%zz"),
            (std::vector<std::pair<std::string, std::string>>{{"q", "100%"}, {"r", "%zz"}}));
}

}  // namespace
}  // namespace flightdeck::http
