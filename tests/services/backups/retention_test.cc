#include "services/backups/retention.h"

#include <algorithm>
#include <chrono>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace flightdeck::backups {
namespace {

using Clock = std::chrono::system_clock;
using std::chrono::hours;

const Clock::time_point kNow = Clock::from_time_t(1'700'000'000);

BackupRecord Stored(const std::string& id, double days_ago, Verification verification) {
  BackupRecord b;
  b.id = id;
  b.finished_at = kNow - std::chrono::duration_cast<Clock::duration>(
                             std::chrono::duration<double, std::ratio<86400>>(days_ago));
  b.succeeded = true;
  b.verification = verification;
  return b;
}

BackupRecord Verified(const std::string& id, double days_ago) {
  return Stored(id, days_ago, Verification::kPassed);
}
BackupRecord Unverified(const std::string& id, double days_ago) {
  return Stored(id, days_ago, Verification::kNotVerified);
}
// Stored, but its verification found it does not restore (a flipped byte, a wrong key...).
BackupRecord Corrupt(const std::string& id, double days_ago) {
  return Stored(id, days_ago, Verification::kFailed);
}
BackupRecord BeingVerified(const std::string& id, double days_ago) {
  return Stored(id, days_ago, Verification::kRunning);
}

BackupRecord Failed(const std::string& id, double days_ago) {
  BackupRecord b = Unverified(id, days_ago);
  b.succeeded = false;
  b.failed = true;
  return b;
}

RetentionPolicy Policy(int keep_last, int keep_days) {
  RetentionPolicy p;
  p.keep_last = keep_last;
  p.keep_days = keep_days;
  return p;
}

std::vector<std::string> DeletedIds(const std::vector<BackupRecord>& backups,
                                    const RetentionPolicy& policy) {
  std::vector<std::string> ids;
  for (const Deletion& d : SelectForDeletion(backups, policy, kNow)) ids.push_back(d.id);
  return ids;
}

TEST(RetentionTest, DefaultsAreSevenBackupsAndThirtyDays) {
  RetentionPolicy p;
  EXPECT_EQ(p.keep_last, 7);
  EXPECT_EQ(p.keep_days, 30);
}

TEST(RetentionTest, NothingStoredNothingDeleted) {
  EXPECT_TRUE(SelectForDeletion({}, RetentionPolicy{}, kNow).empty());
}

TEST(RetentionTest, TheNewestVerifiedBackupsAreKeptEvenWhenOld) {
  // Ten verified backups, all 40 to 49 days old: the scheduler stopped running weeks ago.
  std::vector<BackupRecord> backups;
  for (int i = 0; i < 10; ++i) backups.push_back(Verified("b" + std::to_string(i), 40 + i));
  std::vector<Deletion> deletions = SelectForDeletion(backups, Policy(7, 30), kNow);
  ASSERT_EQ(deletions.size(), 3u);
  EXPECT_EQ(deletions[0].id, "b9");
  EXPECT_EQ(deletions[1].id, "b8");
  EXPECT_EQ(deletions[2].id, "b7");
  for (const Deletion& d : deletions) {
    EXPECT_EQ(d.reason, "older than 30 days and not among the newest 7 verified backups");
  }
}

TEST(RetentionTest, OldUnverifiedBackupsGoExceptTheNewestGoodOne) {
  std::vector<BackupRecord> backups = {Unverified("d31", 31), Unverified("d32", 32),
                                       Unverified("d33", 33), Unverified("d40", 40),
                                       Unverified("d90", 90)};
  EXPECT_EQ(DeletedIds(backups, Policy(7, 30)),
            (std::vector<std::string>{"d90", "d40", "d33", "d32"}));
}

TEST(RetentionTest, UnverifiedBackupsDoNotCountTowardsKeepLast) {
  // Newest first: unverified (kept as the newest good), verified, unverified, verified, verified.
  std::vector<BackupRecord> backups = {Unverified("u1", 31), Verified("v2", 32),
                                       Unverified("u3", 33), Verified("v4", 34),
                                       Verified("v5", 35)};
  EXPECT_EQ(DeletedIds(backups, Policy(2, 30)), (std::vector<std::string>{"v5", "u3"}));
}

TEST(RetentionTest, TheNewestGoodBackupSurvivesAPolicyOfZero) {
  EXPECT_TRUE(DeletedIds({Unverified("only", 400)}, Policy(0, 0)).empty());
  EXPECT_TRUE(DeletedIds({Verified("only", 400)}, Policy(0, 0)).empty());
  // The unverified newest one is not judged yet; the newest verified one is what a restore
  // can trust, so keep_last 0 keeps it too.
  EXPECT_EQ(DeletedIds({Verified("old", 400), Unverified("newest", 300), Verified("older", 500)},
                       Policy(0, 0)),
            (std::vector<std::string>{"older"}));
}

TEST(RetentionTest, KeepLastZeroNeverDeletesEveryVerifiedBackup) {
  std::vector<BackupRecord> backups;
  for (int i = 0; i < 5; ++i) backups.push_back(Verified("v" + std::to_string(i), 40 + i));
  std::vector<Deletion> deletions = SelectForDeletion(backups, Policy(0, 30), kNow);
  ASSERT_EQ(deletions.size(), 4u);
  for (const Deletion& d : deletions) {
    EXPECT_NE(d.id, "v0") << "the newest verified backup survives";
    EXPECT_EQ(d.reason, "older than 30 days and not among the newest 1 verified backup");
  }
}

TEST(RetentionTest, ANewestBackupThatFailedVerificationDoesNotProtectItselfOrDisplaceAVerifiedOne) {
  // The newest backup is corrupt: the verified one before it is the one a restore needs.
  std::vector<BackupRecord> backups = {Corrupt("corrupt", 31), Verified("last-verified", 40),
                                       Verified("older-verified", 50)};
  std::vector<Deletion> deletions = SelectForDeletion(backups, Policy(0, 30), kNow);
  ASSERT_EQ(deletions.size(), 2u);
  EXPECT_EQ(deletions[0].id, "older-verified");
  EXPECT_EQ(deletions[1].id, "corrupt");
  EXPECT_EQ(deletions[1].reason, "older than 30 days and its verification failed");

  // Nor does it count towards keep_last: the two newest *verified* backups stay.
  EXPECT_EQ(DeletedIds(backups, Policy(2, 30)), (std::vector<std::string>{"corrupt"}));
  // Young, it is kept like any young backup (its report stays readable).
  EXPECT_EQ(DeletedIds({Corrupt("corrupt", 1), Verified("v", 40), Verified("w", 41)}, Policy(0, 30)),
            (std::vector<std::string>{"w"}));
}

TEST(RetentionTest, BackupsThatFailedVerificationAreNeverKeptForBeingTheNewest) {
  std::vector<BackupRecord> backups = {Corrupt("c1", 31), Corrupt("c2", 32)};
  EXPECT_EQ(DeletedIds(backups, Policy(7, 30)), (std::vector<std::string>{"c2", "c1"}));
  // A never-verified backup older than the corrupt one is still the best left.
  backups.push_back(Unverified("u", 33));
  EXPECT_EQ(DeletedIds(backups, Policy(7, 30)), (std::vector<std::string>{"c2", "c1"}));
}

TEST(RetentionTest, OnlyUnverifiedBackupsKeepTheNewestOneAndCountForNothingElse) {
  std::vector<BackupRecord> backups = {Unverified("u40", 40), Unverified("u50", 50),
                                       Unverified("u60", 60)};
  std::vector<Deletion> deletions = SelectForDeletion(backups, Policy(7, 30), kNow);
  ASSERT_EQ(deletions.size(), 2u);
  EXPECT_EQ(deletions[0].id, "u60");
  EXPECT_EQ(deletions[0].reason, "older than 30 days and never verified");
  EXPECT_EQ(deletions[1].id, "u50");
}

TEST(RetentionTest, AnUnverifiedBackupOlderThanTheNewestVerifiedOneIsNotKeptForIt) {
  std::vector<BackupRecord> backups = {Verified("v", 35), Unverified("u", 40)};
  EXPECT_EQ(DeletedIds(backups, Policy(7, 30)), (std::vector<std::string>{"u"}));
}

TEST(RetentionTest, ABackupBeingVerifiedIsLeftUntilItIsJudged) {
  // keep_days 0: a fresh backup whose verification is queued must not be deleted first.
  std::vector<BackupRecord> backups = {BeingVerified("fresh", 0.001), Verified("v", 1)};
  EXPECT_TRUE(DeletedIds(backups, Policy(1, 0)).empty());
  EXPECT_TRUE(DeletedIds({BeingVerified("old", 400)}, Policy(0, 0)).empty());
}

TEST(RetentionTest, MixedAgesAndVerdicts) {
  // Newest first: corrupt, unverified, verified, being verified, verified, corrupt, verified,
  // unverified, verified; keep the newest 2 verified, and anything younger than 30 days.
  std::vector<BackupRecord> backups = {
      Corrupt("c1", 1),    Unverified("u2", 10), Verified("v3", 20),  BeingVerified("r4", 35),
      Verified("v5", 40),  Corrupt("c6", 45),    Verified("v7", 50),  Unverified("u8", 55),
      Verified("v9", 60)};
  EXPECT_EQ(DeletedIds(backups, Policy(2, 30)),
            (std::vector<std::string>{"v9", "u8", "v7", "c6"}));
  // With keep_days 0, age protects nothing: v3 and v5 stay as the newest 2 verified, r4 until
  // it is judged, and u2 as the newest never-verified backup newer than every verified one (c1,
  // newer still, failed its verification and counts for nothing).
  EXPECT_EQ(DeletedIds(backups, Policy(2, 0)),
            (std::vector<std::string>{"v9", "u8", "v7", "c6", "c1"}));
}

TEST(RetentionTest, NegativePolicyNumbersActLikeZero) {
  EXPECT_EQ(DeletedIds({Verified("a", 10), Verified("b", 20)}, Policy(-3, -1)),
            (std::vector<std::string>{"b"}));
}

TEST(RetentionTest, YoungBackupsAreKeptWhateverKeepLastSays) {
  std::vector<BackupRecord> backups;
  for (int i = 1; i <= 29; ++i) backups.push_back(Unverified("day" + std::to_string(i), i));
  EXPECT_TRUE(DeletedIds(backups, Policy(0, 30)).empty());
}

TEST(RetentionTest, ABackupExactlyKeepDaysOldIsNotYetOlder) {
  std::vector<BackupRecord> backups = {Unverified("newest", 1), Unverified("exactly30", 30),
                                       Unverified("just-over", 30.001)};
  EXPECT_EQ(DeletedIds(backups, Policy(0, 30)), (std::vector<std::string>{"just-over"}));
}

TEST(RetentionTest, FailedRunsAreAlwaysDeleted) {
  std::vector<BackupRecord> backups = {Failed("failed-old", 90), Verified("good", 2),
                                       Failed("failed-young", 0.01)};
  std::vector<Deletion> deletions = SelectForDeletion(backups, Policy(7, 30), kNow);
  ASSERT_EQ(deletions.size(), 2u);
  EXPECT_EQ(deletions[0].id, "failed-old");
  EXPECT_EQ(deletions[0].reason, "failed run");
  EXPECT_EQ(deletions[1].id, "failed-young");
  EXPECT_EQ(deletions[1].reason, "failed run");
}

TEST(RetentionTest, AFailedRunIsNeverTakenForTheNewestGoodBackup) {
  // The newest run failed; the newest good one is the older success, and it must survive.
  std::vector<BackupRecord> backups = {Unverified("last-good", 60), Unverified("older", 70),
                                       Failed("latest", 1)};
  EXPECT_EQ(DeletedIds(backups, Policy(0, 30)), (std::vector<std::string>{"older", "latest"}));
}

TEST(RetentionTest, AFailedRunIsDeletedEvenIfMarkedSucceededOrVerified) {
  BackupRecord weird = Verified("interrupted", 1);
  weird.failed = true;
  std::vector<Deletion> deletions =
      SelectForDeletion({weird, Unverified("good", 2)}, Policy(7, 30), kNow);
  ASSERT_EQ(deletions.size(), 1u);
  EXPECT_EQ(deletions[0].id, "interrupted");
  EXPECT_EQ(deletions[0].reason, "failed run");
}

TEST(RetentionTest, RunsStillInProgressAreLeftAlone) {
  BackupRecord running;
  running.id = "running";
  running.finished_at = kNow - hours(24 * 100);
  EXPECT_EQ(DeletedIds({running, Unverified("good", 1), Unverified("old", 100)}, Policy(0, 30)),
            (std::vector<std::string>{"old"}));
}

TEST(RetentionTest, ReasonsNameThePolicyNumbers) {
  std::vector<BackupRecord> backups = {Verified("v1", 20), Verified("v2", 21), Verified("v3", 22),
                                       Verified("v4", 23)};
  std::vector<Deletion> deletions = SelectForDeletion(backups, Policy(3, 14), kNow);
  ASSERT_EQ(deletions.size(), 1u);
  EXPECT_EQ(deletions[0].id, "v4");
  EXPECT_EQ(deletions[0].reason, "older than 14 days and not among the newest 3 verified backups");

  deletions = SelectForDeletion({Verified("a", 2), Verified("b", 3)}, Policy(1, 1), kNow);
  ASSERT_EQ(deletions.size(), 1u);
  EXPECT_EQ(deletions[0].reason, "older than 1 day and not among the newest 1 verified backup");
}

TEST(RetentionTest, InputOrderDoesNotMatterAndOutputIsOldestFirst) {
  std::vector<BackupRecord> backups = {
      Verified("v10", 10), Unverified("u35", 35), Failed("f5", 5),     Verified("v45", 45),
      Verified("v50", 50), Unverified("u60", 60), Failed("f70", 70),   Verified("v80", 80),
      Unverified("u2", 2), Verified("v31", 31),   Unverified("u99", 99)};
  const std::vector<std::string> expected = {"u99", "v80", "f70", "u60", "v50", "u35", "f5"};
  std::vector<Deletion> reference = SelectForDeletion(backups, Policy(3, 30), kNow);
  std::vector<std::string> ids;
  for (const Deletion& d : reference) ids.push_back(d.id);
  ASSERT_EQ(ids, expected);

  std::mt19937 rng(42);
  for (int round = 0; round < 50; ++round) {
    std::shuffle(backups.begin(), backups.end(), rng);
    std::vector<Deletion> shuffled = SelectForDeletion(backups, Policy(3, 30), kNow);
    ASSERT_EQ(shuffled.size(), reference.size());
    for (size_t i = 0; i < shuffled.size(); ++i) {
      EXPECT_EQ(shuffled[i].id, reference[i].id) << "round " << round;
      EXPECT_EQ(shuffled[i].reason, reference[i].reason) << "round " << round;
    }
  }
}

TEST(RetentionTest, BackupsFinishedAtTheSameInstantAreOrderedById) {
  BackupRecord a = Unverified("a", 50);
  BackupRecord b = Unverified("b", 50);
  BackupRecord c = Unverified("c", 50);
  // The id breaks the tie, so "c" counts as the newest good backup whatever the input order.
  EXPECT_EQ(DeletedIds({c, a, b}, Policy(0, 30)), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(DeletedIds({b, c, a}, Policy(0, 30)), (std::vector<std::string>{"a", "b"}));
}

}  // namespace
}  // namespace flightdeck::backups
