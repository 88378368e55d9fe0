#include "services/backups/archive_rows.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

// Archives built here follow pg_dump's layout; pg_dump_runner_test.cc reads real pg_dump output.

namespace flightdeck::backups {
namespace {

class ArchiveWriter {
 public:
  // A custom-format header of version 1.`minor`, uncompressed unless `compression` says otherwise
  // (a level before 1.15, an algorithm from 1.15 on), with `entries` TOC entries to follow.
  ArchiveWriter(int minor, int entries, int compression = 0) : minor_(minor) {
    bytes_ = "PGDMP";
    bytes_ += {1, static_cast<char>(minor), 0, 4, 8, 1};
    if (minor >= 15) {
      bytes_ += static_cast<char>(compression);
    } else {
      Int(compression);
    }
    for (int i = 0; i < 7; ++i) Int(i);
    Str("source_db");
    Str("15.18");
    Str("15.18");
    Int(entries);
  }

  void TocEntry(int dump_id, const std::string& desc, const std::string& oid, bool has_data) {
    Int(dump_id);
    Int(has_data ? 1 : 0);
    Str("0");
    Str(oid);
    Str("tag of " + std::to_string(dump_id));
    Str(desc);
    Int(3);
    Str("");            // definition
    Null();             // drop
    Str("COPY t FROM stdin;\n");
    Str("public");
    Null();             // tablespace
    if (minor_ >= 14) Str("heap");
    if (minor_ >= 16) Int('r');
    Str("owner");
    Str("false");
    Str("1");           // one dependency
    Null();
    bytes_ += '\1';     // offset not set: the archive went to a pipe
    bytes_ += std::string(8, '\0');
  }

  void DataBlock(int dump_id, const std::vector<std::string>& chunks) {
    bytes_ += '\1';
    Int(dump_id);
    for (const std::string& c : chunks) Str(c);
    Int(0);
  }

  void BlobsBlock(int dump_id, const std::vector<std::string>& objects) {
    bytes_ += '\3';
    Int(dump_id);
    int oid = 5000;
    for (const std::string& o : objects) {
      Int(oid++);
      Str(o);
      Int(0);
    }
    Int(0);
  }

  const std::string& bytes() const { return bytes_; }

 private:
  void Int(long long v) {
    bytes_ += v < 0 ? '\1' : '\0';
    unsigned long long u = v < 0 ? -v : v;
    for (int i = 0; i < 4; ++i) bytes_ += static_cast<char>((u >> (8 * i)) & 0xFF);
  }
  void Str(const std::string& s) {
    Int(static_cast<long long>(s.size()));
    bytes_ += s;
  }
  void Null() { Int(-1); }

  int minor_;
  std::string bytes_;
};

// Two tables (one empty), a sequence, large objects whose contents hold newlines.
std::string SampleArchive(int minor) {
  ArchiveWriter w(minor, 5);
  w.TocEntry(10, "TABLE", "0", false);
  w.TocEntry(11, "TABLE DATA", "16400", true);
  w.TocEntry(12, "TABLE DATA", "16410", true);
  w.TocEntry(13, "SEQUENCE SET", "0", false);
  w.TocEntry(14, "BLOBS", "0", true);
  // Rows split across chunks mid-line, an empty row (a one-column table's ''), a value that
  // is a backslash and a dot (escaped by COPY), then the end-of-data line and its blank lines.
  w.DataBlock(11, {"1\tone\n2\tt", "wo\n", "\n", "\\\\.\n", "3\tthree\n", "\\", ".\n\n\n"});
  w.DataBlock(12, {"\\.\n\n\n"});
  w.BlobsBlock(14, {"not\nrows\n", "\\.\nstill not\n"});
  return w.bytes();
}

std::map<uint32_t, long long> CountInPieces(const std::string& archive, size_t piece, bool* finished,
                                            std::string* error = nullptr) {
  ArchiveRowCounter counter;
  for (size_t at = 0; at < archive.size(); at += piece) {
    const size_t n = std::min(piece, archive.size() - at);
    counter.Feed(reinterpret_cast<const uint8_t*>(archive.data() + at), n);
  }
  *finished = counter.Finish();
  if (error != nullptr) *error = counter.error();
  return counter.rows();
}

TEST(ArchiveRowCounterTest, CountsEachTablesRowsWhateverThePiecesOfEachVersion) {
  for (int minor : {12, 14, 15, 16}) {
    const std::string archive = SampleArchive(minor);
    for (size_t piece : {size_t{1}, size_t{2}, size_t{7}, size_t{64}, archive.size()}) {
      bool finished = false;
      std::string error;
      auto rows = CountInPieces(archive, piece, &finished, &error);
      EXPECT_TRUE(finished) << "1." << minor << ", pieces of " << piece << ": " << error;
      EXPECT_EQ(rows, (std::map<uint32_t, long long>{{16400, 5}, {16410, 0}}))
          << "1." << minor << ", pieces of " << piece;
    }
  }
}

TEST(ArchiveRowCounterTest, DataWithoutTheEndOfDataLineIsCountedLineByLine) {
  ArchiveWriter w(14, 1);
  w.TocEntry(1, "TABLE DATA", "16400", true);
  w.DataBlock(1, {"a\n", "b\nc\n"});
  bool finished = false;
  EXPECT_EQ(CountInPieces(w.bytes(), 3, &finished), (std::map<uint32_t, long long>{{16400, 3}}));
  EXPECT_TRUE(finished);
}

TEST(ArchiveRowCounterTest, RefusesWhatItCannotReadAndSaysWhy) {
  struct Case {
    std::string archive;
    std::string reason;
  };
  std::string tar_format = ArchiveWriter(14, 0).bytes();
  tar_format[10] = 5;
  std::vector<Case> cases = {
      {"PGDMX" + ArchiveWriter(14, 0).bytes().substr(5), "not a pg_dump archive"},
      {ArchiveWriter(17, 0).bytes(), "archive version 1.17 is not one this service reads"},
      {ArchiveWriter(11, 0).bytes(), "archive version 1.11"},
      {tar_format, "not a custom-format archive"},
      {ArchiveWriter(14, 0, 6).bytes(), "compressed"},
      {ArchiveWriter(15, 0, 1).bytes(), "compressed"},
      {SampleArchive(14).substr(0, 40), "ended inside its header"},
      {SampleArchive(14).substr(0, 200), "ended inside its table of contents"},
      {SampleArchive(14).substr(0, SampleArchive(14).size() - 3), "ended inside its data"},
      {SampleArchive(14) + "\x07", "unknown data block type 7"},
  };
  ArchiveWriter mid_line(14, 1);
  mid_line.TocEntry(1, "TABLE DATA", "16400", true);
  mid_line.DataBlock(1, {"a\nb"});
  cases.push_back({mid_line.bytes(), "does not end with a newline"});
  ArchiveWriter twice(14, 1);
  twice.TocEntry(1, "TABLE DATA", "16400", true);
  twice.DataBlock(1, {"a\n"});
  twice.DataBlock(1, {"a\n"});
  cases.push_back({twice.bytes(), "two data blocks"});
  ArchiveWriter bad_oid(14, 1);
  bad_oid.TocEntry(1, "TABLE DATA", "16400x", true);
  cases.push_back({bad_oid.bytes(), "oid \"16400x\""});

  for (const Case& c : cases) {
    for (size_t piece : {size_t{1}, size_t{4096}}) {
      bool finished = true;
      std::string error;
      CountInPieces(c.archive, piece, &finished, &error);
      EXPECT_FALSE(finished) << c.reason;
      EXPECT_NE(error.find(c.reason), std::string::npos)
          << "expected \"" << c.reason << "\", got \"" << error << "\"";
    }
  }
}

TEST(ArchiveRowCounterTest, AnAbsurdLengthStopsTheCountInsteadOfBufferingForever) {
  ArchiveWriter w(14, 1);
  std::string archive = w.bytes();
  // A TOC entry whose first string claims 2 GiB.
  archive += std::string("\0\1\0\0\0\0\0\0\0\0\0\0\0\0\x80", 15);
  bool finished = true;
  std::string error;
  CountInPieces(archive + std::string(100000, 'x'), 1000, &finished, &error);
  EXPECT_FALSE(finished);
  EXPECT_NE(error.find("oversized"), std::string::npos) << error;
}

}  // namespace
}  // namespace flightdeck::backups
