#include "common/secrets/secrets.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>

namespace flightdeck::secrets {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

MasterKey MakeKey(const std::string& id, uint8_t seed) {
  MasterKey k;
  k.id = id;
  for (size_t i = 0; i < k.key.size(); ++i) k.key[i] = static_cast<uint8_t>(seed * 31 + i * 7);
  return k;
}

std::string Base64(const std::array<uint8_t, 32>& key) {
  unsigned char out[64] = {};
  int n = EVP_EncodeBlock(out, key.data(), static_cast<int>(key.size()));
  return std::string(reinterpret_cast<char*>(out), n);
}

std::string Base64(const std::vector<uint8_t>& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes.data(), static_cast<int>(bytes.size()));
  out.resize(n);
  return out;
}

KeyRing RingOf(std::vector<MasterKey> keys) {
  KeyRing ring;
  for (auto& k : keys) ring.Add(std::move(k));
  return ring;
}

EnvLookup EnvOf(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end() || it->second.empty()) return std::nullopt;
    return it->second;
  };
}

// A key file that removes itself.
class TempKeyFile {
 public:
  explicit TempKeyFile(const std::string& text) {
    char name[] = "/tmp/fd-secrets-test-XXXXXX";
    int fd = mkstemp(name);
    EXPECT_GE(fd, 0);
    close(fd);
    path_ = name;
    std::ofstream(path_) << text;
  }
  ~TempKeyFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// --- sealing -------------------------------------------------------------------------------------

const Binding kHere{"backups.targets.sealed_url", "orders"};

// A value as sealed before values were bound to their place: AES-256-GCM with no additional
// data, "<key id>:<base64 of nonce|ciphertext|tag>".
std::string LegacySeal(const MasterKey& key, const std::string& plaintext) {
  std::vector<uint8_t> out(12 + plaintext.size() + 16, 7);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int len = 0;
  EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, key.key.data(), out.data());
  EVP_EncryptUpdate(ctx, out.data() + 12, &len, reinterpret_cast<const unsigned char*>(plaintext.data()),
                    static_cast<int>(plaintext.size()));
  EVP_EncryptFinal_ex(ctx, out.data() + 12 + len, &len);
  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, out.data() + 12 + plaintext.size());
  EVP_CIPHER_CTX_free(ctx);
  return key.id + ":" + Base64(out);
}

TEST(SealTest, RoundTripHidesThePlaintextAndNamesTheKey) {
  KeyRing ring = RingOf({MakeKey("k1", 1)});
  const std::string secret = "postgresql://app:hunter2@db.internal:5432/app";
  std::string sealed;
  ASSERT_TRUE(Seal(ring, secret, kHere, &sealed).ok());
  EXPECT_THAT(sealed, StartsWith("k1:"));
  EXPECT_THAT(sealed, Not(HasSubstr("hunter2")));
  std::string again;
  ASSERT_TRUE(Seal(ring, secret, kHere, &again).ok());
  EXPECT_NE(sealed, again) << "a fresh nonce per seal";
  std::string opened;
  grpc::Status s = Open(ring, sealed, kHere, &opened);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(opened, secret);
}

TEST(SealTest, ValueSealedUnderAnOldKeyOpensAfterRotation) {
  KeyRing before = RingOf({MakeKey("k1", 1)});
  std::string sealed_before;
  ASSERT_TRUE(Seal(before, "old secret", kHere, &sealed_before).ok());

  KeyRing rotated;
  ASSERT_TRUE(KeyRing::Parse("k1:" + Base64(MakeKey("", 1).key) + ",k2:" + Base64(MakeKey("", 2).key),
                             kMasterKeyVar, &rotated)
                  .ok());
  std::string opened;
  ASSERT_TRUE(Open(rotated, sealed_before, kHere, &opened).ok());
  EXPECT_EQ(opened, "old secret");

  std::string sealed_after;
  ASSERT_TRUE(Seal(rotated, "new secret", kHere, &sealed_after).ok());
  EXPECT_THAT(sealed_after, StartsWith("k2:")) << "the newest key seals";

  grpc::Status s = Open(RingOf({MakeKey("k2", 2)}), sealed_before, kHere, &opened);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(s.error_message(), "sealed with master key k1, which is not configured");
}

TEST(SealTest, TamperedOrForeignValuesAreRefused) {
  KeyRing ring = RingOf({MakeKey("k1", 1)});
  std::string sealed;
  ASSERT_TRUE(Seal(ring, "a webhook secret", kHere, &sealed).ok());
  std::string opened = "unchanged";

  // Flip one bit of the ciphertext (inside the base64, away from the padding).
  std::string flipped = sealed;
  size_t at = sealed.find(':') + 20;
  flipped[at] = flipped[at] == 'A' ? 'B' : 'A';
  grpc::Status s = Open(ring, flipped, kHere, &opened);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(opened, "unchanged");

  // The same id on a different key: refused, not garbage.
  s = Open(RingOf({MakeKey("k1", 9)}), sealed, kHere, &opened);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(s.error_message(),
            "sealed secret does not open with master key k1 as backups.targets.sealed_url of orders "
            "(sealed for another place, or altered)");
  EXPECT_EQ(opened, "unchanged");

  for (const std::string& bad : {std::string("no colon"), std::string("k1:not base64!"), std::string("k1:QUJD")}) {
    s = Open(ring, bad, kHere, &opened);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::DATA_LOSS) << bad;
  }
  EXPECT_EQ(opened, "unchanged");
}

TEST(SealTest, AValueOpensOnlyInTheColumnAndRowItWasSealedFor) {
  KeyRing ring = RingOf({MakeKey("k1", 1)});
  std::string sealed;
  ASSERT_TRUE(Seal(ring, "postgresql://app:pw@db/app", kHere, &sealed).ok());
  EXPECT_THAT(sealed, StartsWith("k1:aad:"));
  std::string opened = "unchanged";
  // Moved by someone who holds a dump: into another row, or another column of the same row.
  for (const Binding& elsewhere : {Binding{"backups.targets.sealed_url", "payments"},
                                   Binding{"health.targets.spec.url", "orders"}}) {
    grpc::Status s = Open(ring, sealed, elsewhere, &opened);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << elsewhere.column << " " << elsewhere.row;
    EXPECT_THAT(s.error_message(), HasSubstr("sealed for another place"));
  }
  EXPECT_EQ(opened, "unchanged");
  ASSERT_TRUE(Open(ring, sealed, kHere, &opened).ok());
  EXPECT_EQ(opened, "postgresql://app:pw@db/app");
}

TEST(SealTest, ValuesSealedBeforeBindingStillOpen) {
  KeyRing ring = RingOf({MakeKey("k1", 1)});
  const std::string legacy = LegacySeal(ring.current(), "an old webhook secret");
  std::string opened;
  grpc::Status s = Open(ring, legacy, kHere, &opened);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(opened, "an old webhook secret");
  ASSERT_TRUE(OpenValue(ring, std::string(kSealedPrefix) + legacy, kHere, &opened).ok());
  EXPECT_EQ(opened, "an old webhook secret");
}

TEST(SealTest, SealingWithoutAKeyIsAPreconditionNamingTheVariable) {
  std::string sealed;
  grpc::Status s = Seal(KeyRing(), "x", kHere, &sealed);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr("FLIGHTDECK_MASTER_KEY"));

  s = NeedsMasterKey("on_open[0].secret");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), StartsWith("on_open[0].secret: "));
  EXPECT_THAT(s.error_message(), HasSubstr("FLIGHTDECK_MASTER_KEY"));
}

TEST(SealedValueTest, PlainLegacyValuesReadAsTheyAreAndSealedOnesOpen) {
  KeyRing ring = RingOf({MakeKey("k1", 1)});
  std::string stored;
  ASSERT_TRUE(SealValue(ring, "Bearer abc.def", kHere, &stored).ok());
  EXPECT_TRUE(IsSealedValue(stored));
  EXPECT_THAT(stored, StartsWith("fdsealed:k1:"));
  EXPECT_THAT(stored, Not(HasSubstr("abc.def")));
  std::string opened;
  ASSERT_TRUE(OpenValue(ring, stored, kHere, &opened).ok());
  EXPECT_EQ(opened, "Bearer abc.def");

  // Written before sealing existed: taken as plain text, with or without a key ring.
  for (const std::string& legacy : {std::string("redis://:pw@cache:6379"), std::string("k1:c2VjcmV0")}) {
    EXPECT_FALSE(IsSealedValue(legacy));
    ASSERT_TRUE(OpenValue(KeyRing(), legacy, kHere, &opened).ok());
    EXPECT_EQ(opened, legacy);
  }

  // A sealed value with no key configured cannot be read, and says why.
  grpc::Status s = OpenValue(KeyRing(), stored, kHere, &opened);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr("master key k1"));
}

// --- key ring parsing ----------------------------------------------------------------------------

TEST(KeyRingTest, UnnamedKeyGetsTheHashPrefixAsId) {
  MasterKey k = MakeKey("", 5);
  KeyRing ring;
  ASSERT_TRUE(KeyRing::Parse("  " + Base64(k.key) + "\n", kMasterKeyVar, &ring).ok());
  unsigned char md[32];
  unsigned int len = 0;
  EVP_Digest(k.key.data(), k.key.size(), md, &len, EVP_sha256(), nullptr);
  char hex[17];
  for (int i = 0; i < 8; ++i) snprintf(hex + 2 * i, 3, "%02x", md[i]);
  EXPECT_EQ(ring.current().id, std::string(hex));
  EXPECT_EQ(ring.current().key, k.key);
  ASSERT_NE(ring.Find(hex), nullptr);
}

TEST(KeyRingTest, Base64WithoutPaddingIsAccepted) {
  MasterKey k = MakeKey("", 6);
  std::string b64 = Base64(k.key);
  ASSERT_EQ(b64.back(), '=');
  b64.pop_back();
  KeyRing ring;
  ASSERT_TRUE(KeyRing::Parse("k9:" + b64, kMasterKeyVar, &ring).ok());
  EXPECT_EQ(ring.current().key, k.key);
}

TEST(KeyRingTest, BadEntriesAreNamedWithoutShowingTheKey) {
  std::string good = Base64(MakeKey("", 1).key);
  std::string good2 = Base64(MakeKey("", 2).key);
  struct Case {
    std::string text;
    std::string message;
    std::string secret;  // must not appear in the message
  };
  std::vector<Case> cases = {
      {"k1:" + good + ",k2:c2hvcnRrZXk=", "FLIGHTDECK_MASTER_KEY: entry 2: not 32 bytes of base64",
       "c2hvcnRrZXk"},
      {"k1:" + good + "AAAA", "FLIGHTDECK_MASTER_KEY: entry 1: not 32 bytes of base64", good},
      {"k1:" + good.substr(0, 40) + "!!!=", "FLIGHTDECK_MASTER_KEY: entry 1: not 32 bytes of base64",
       good.substr(0, 40)},
      {"k1:" + good + ",k1:" + good2, "FLIGHTDECK_MASTER_KEY: entry 2: key id \"k1\" is used twice", good2},
      {good + "," + good, "", good},  // same unnamed key twice: same derived id
      {"bad id:" + good, "", good},
      {":" + good, "", good},
      {"", "FLIGHTDECK_MASTER_KEY: no key given", ""},
      {" , ,", "FLIGHTDECK_MASTER_KEY: no key given", ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    KeyRing ring;
    ring.Add(MakeKey("untouched", 3));
    grpc::Status s = KeyRing::Parse(c.text, kMasterKeyVar, &ring);
    ASSERT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    if (!c.message.empty()) {
      EXPECT_EQ(s.error_message(), c.message);
    }
    EXPECT_THAT(s.error_message(), HasSubstr("FLIGHTDECK_MASTER_KEY: "));
    if (!c.secret.empty()) {
      EXPECT_THAT(s.error_message(), Not(HasSubstr(c.secret)));
    }
    EXPECT_EQ(ring.current().id, "untouched") << "a failed parse must leave the ring alone";
  }
}

TEST(KeyRingTest, KeyFileTakesOneKeyPerLineWithComments) {
  std::string k1 = Base64(MakeKey("", 1).key);
  std::string k2 = Base64(MakeKey("", 2).key);
  std::string text = "# master keys, oldest first\n\nk1:" + k1 + "\n   # rotated 2026-11\n" + "k2:" + k2 +
                     "  # current\n";
  KeyRing ring;
  grpc::Status s = KeyRing::Parse(text, kMasterKeyFileVar, &ring);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(ring.current().id, "k2");
  ASSERT_NE(ring.Find("k1"), nullptr);
  EXPECT_EQ(ring.Find("k1")->key, MakeKey("", 1).key);

  s = KeyRing::Parse("# keys\nk1:" + k1 + "\n\nk2:nope\n", kMasterKeyFileVar, &ring);
  EXPECT_EQ(s.error_message(), "FLIGHTDECK_MASTER_KEY_FILE: entry 2 (line 4): not 32 bytes of base64");
}

// --- the loader ----------------------------------------------------------------------------------

TEST(LoadKeyRingTest, NothingSetIsAnEmptyRingNotAnError) {
  KeyRing ring = RingOf({MakeKey("stale", 1)});
  std::string source = "stale";
  grpc::Status s = LoadKeyRingFrom(EnvOf({}), &ring, &source);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(ring.empty());
  EXPECT_EQ(source, "");
}

TEST(LoadKeyRingTest, NewNamesWinOverTheOlderOnes) {
  const std::string k1 = "k1:" + Base64(MakeKey("", 1).key);
  const std::string k2 = "k2:" + Base64(MakeKey("", 2).key);
  TempKeyFile file("m1:" + Base64(MakeKey("", 3).key) + "\n");
  struct Case {
    std::map<std::string, std::string> env;
    std::string want_id;
    std::string want_source;
  };
  std::vector<Case> cases = {
      {{{"FLIGHTDECK_MASTER_KEY", k1}, {"FLIGHTDECK_BACKUP_KEY", k2}}, "k1", "FLIGHTDECK_MASTER_KEY"},
      {{{"FLIGHTDECK_MASTER_KEY_FILE", file.path()}, {"FLIGHTDECK_BACKUP_KEY", k2}}, "m1",
       "FLIGHTDECK_MASTER_KEY_FILE"},
      // The older names, still set by existing deployments.
      {{{"FLIGHTDECK_BACKUP_KEY", k2}}, "k2", "FLIGHTDECK_BACKUP_KEY"},
      {{{"FLIGHTDECK_BACKUP_KEY_FILE", file.path()}}, "m1", "FLIGHTDECK_BACKUP_KEY_FILE"},
      // An empty new name counts as unset.
      {{{"FLIGHTDECK_MASTER_KEY", ""}, {"FLIGHTDECK_BACKUP_KEY", k2}}, "k2", "FLIGHTDECK_BACKUP_KEY"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.want_source);
    KeyRing ring;
    std::string source;
    grpc::Status s = LoadKeyRingFrom(EnvOf(c.env), &ring, &source);
    ASSERT_TRUE(s.ok()) << s.error_message();
    ASSERT_FALSE(ring.empty());
    EXPECT_EQ(ring.current().id, c.want_id);
    EXPECT_EQ(source, c.want_source);
  }
}

TEST(LoadKeyRingTest, ErrorsNameTheVariableButNeverTheKey) {
  const std::string good = Base64(MakeKey("", 1).key);
  const std::string short_key = "c2hvcnRrZXk=";
  TempKeyFile bad_file("k1:" + short_key + "\n");
  struct Case {
    std::map<std::string, std::string> env;
    std::string message_start;
  };
  std::vector<Case> cases = {
      {{{"FLIGHTDECK_MASTER_KEY", "k1:" + short_key}}, "FLIGHTDECK_MASTER_KEY: entry 1"},
      {{{"FLIGHTDECK_MASTER_KEY_FILE", bad_file.path()}}, "FLIGHTDECK_MASTER_KEY_FILE: entry 1 (line 1)"},
      {{{"FLIGHTDECK_MASTER_KEY_FILE", "/nonexistent/fd-key"}}, "FLIGHTDECK_MASTER_KEY_FILE: cannot read"},
      {{{"FLIGHTDECK_MASTER_KEY", good}, {"FLIGHTDECK_MASTER_KEY_FILE", bad_file.path()}},
       "FLIGHTDECK_MASTER_KEY: set either it or FLIGHTDECK_MASTER_KEY_FILE"},
      {{{"FLIGHTDECK_BACKUP_KEY", "k1:" + short_key}}, "FLIGHTDECK_BACKUP_KEY: entry 1"},
      {{{"FLIGHTDECK_BACKUP_KEY_FILE", bad_file.path()}}, "FLIGHTDECK_BACKUP_KEY_FILE: entry 1"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.message_start);
    KeyRing ring = RingOf({MakeKey("untouched", 3)});
    grpc::Status s = LoadKeyRingFrom(EnvOf(c.env), &ring);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(s.error_message(), StartsWith(c.message_start));
    EXPECT_THAT(s.error_message(), Not(HasSubstr(short_key)));
    EXPECT_THAT(s.error_message(), Not(HasSubstr(good)));
    EXPECT_EQ(ring.current().id, "untouched");
  }
}

TEST(LoadKeyRingTest, ReadsTheProcessEnvironment) {
  const std::string k = "env1:" + Base64(MakeKey("", 4).key);
  setenv("FLIGHTDECK_MASTER_KEY", k.c_str(), 1);
  unsetenv("FLIGHTDECK_MASTER_KEY_FILE");
  KeyRing ring;
  grpc::Status s = LoadKeyRing(&ring);
  unsetenv("FLIGHTDECK_MASTER_KEY");
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_FALSE(ring.empty());
  EXPECT_EQ(ring.current().id, "env1");
}

}  // namespace
}  // namespace flightdeck::secrets
