// Ids as people type them (ids.h) and how bad requests are worded (validation.h).
#include <gtest/gtest.h>

#include "services/incidents/ids.h"
#include "services/incidents/validation.h"

namespace flightdeck::incidents {
namespace {

TEST(IdLookupTest, NumbersAndAnyCaseNameTheFullId) {
  EXPECT_EQ(LookupOf(IdKind::kIncident, "12").exact, "INC-12");
  EXPECT_EQ(LookupOf(IdKind::kIncident, "12").prefix, "") << "a number is never a prefix of others";
  EXPECT_EQ(LookupOf(IdKind::kIncident, "inc-12").exact, "INC-12");
  EXPECT_EQ(LookupOf(IdKind::kIncident, "inc-12").prefix, "INC-12");
  EXPECT_EQ(LookupOf(IdKind::kAction, "act-3").exact, "ACT-3");
  EXPECT_EQ(LookupOf(IdKind::kAction, "3").exact, "ACT-3");
  EXPECT_EQ(LookupOf(IdKind::kSilence, "3F2A9C").exact, "3f2a9c");
  EXPECT_EQ(LookupOf(IdKind::kSilence, "3F2A9C").prefix, "3f2a9c");
}

TEST(IdLookupTest, ShortOrUnsafePrefixesAreNotLookedUp) {
  EXPECT_EQ(LookupOf(IdKind::kSilence, "3f2").prefix, "");
  EXPECT_EQ(LookupOf(IdKind::kSilence, "3f2%").prefix, "");
  EXPECT_EQ(LookupOf(IdKind::kSilence, "3f2_a").prefix, "");
  EXPECT_EQ(LookupOf(IdKind::kIncident, "INC").prefix, "");
}

TEST(PickIdTest, ExactBeatsPrefixOneMatchWinsSeveralAreAmbiguous) {
  std::string id;
  IdLookup l = LookupOf(IdKind::kIncident, "inc-1");
  ASSERT_TRUE(PickId(IdKind::kIncident, "id", "inc-1", l, {"INC-1", "INC-10", "INC-11"}, &id).ok());
  EXPECT_EQ(id, "INC-1");
  ASSERT_TRUE(PickId(IdKind::kIncident, "id", "inc-1", l, {"INC-10"}, &id).ok());
  EXPECT_EQ(id, "INC-10");
  grpc::Status s = PickId(IdKind::kIncident, "id", "inc-1", l, {"INC-10", "INC-11"}, &id);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "id: \"inc-1\" is ambiguous: it begins incident ids INC-10, INC-11 (type more of the id)");
  std::vector<std::string> many;
  for (int i = 0; i < kIdCandidates; ++i) many.push_back("INC-1" + std::to_string(i));
  s = PickId(IdKind::kIncident, "id", "inc-1", l, many, &id);
  EXPECT_NE(s.error_message().find("INC-19, ... (type more"), std::string::npos) << s.error_message();
  s = PickId(IdKind::kAction, "id", "ACT-7", LookupOf(IdKind::kAction, "ACT-7"), {}, &id);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message(), "action ACT-7 not found");
}

TEST(FieldErrorsTest, EveryProblemInOneMessageInOrder) {
  FieldErrors errors;
  EXPECT_TRUE(errors.ToStatus().ok());
  errors.Add("title", "required");
  errors.Add(grpc::Status::OK);
  errors.Add(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "owner: required"));
  grpc::Status s = errors.ToStatus();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "title: required; owner: required");
}

TEST(EnumTest, AnyCaseIsTakenAndABadValueListsTheValidOnes) {
  EXPECT_EQ(CanonicalEnum("open", {"OPEN", "DONE"}), "OPEN");
  EXPECT_EQ(CanonicalEnum("Done", {"OPEN", "DONE"}), "DONE");
  EXPECT_EQ(CanonicalEnum("finished", {"OPEN", "DONE"}), "");
  EXPECT_EQ(EnumProblem("finished", {"OPEN", "DONE"}), "\"finished\" is not one of OPEN, DONE");
}

}  // namespace
}  // namespace flightdeck::incidents
