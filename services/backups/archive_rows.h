#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace flightdeck::backups {

// Counts the rows of every table in a pg_dump custom-format archive made with -Z0, as the archive
// streams past (pieces of any size, in order). The archive's table of contents says which dump
// id holds which table's data (by the table's oid); each data block of an uncompressed archive
// is that table's COPY text, one line per row, so counting costs a memchr over bytes the
// backup reads anyway, and counts what the file really holds.
//
// Understands archive versions 1.12 to 1.16 (pg_dump 9.0 to 17 and later, until the format
// changes again). Anything else (another version or format, compressed data, a damaged or
// truncated stream) stops the count: Finish() is false with the reason in error(), and the
// caller counts another way. A stream that stopped being understood is never counted further,
// so a count is either complete and exact or absent.
class ArchiveRowCounter {
 public:
  void Feed(const uint8_t* data, size_t size);
  // True when the archive ended between two blocks and every byte was understood.
  bool Finish();
  const std::string& error() const { return error_; }
  // Table oid -> rows of its data block, for every table whose data block was read.
  const std::map<uint32_t, long long>& rows() const { return rows_; }

 private:
  enum class Stage { kHeader, kTocEntry, kBlockType, kBlockId, kBlobOid, kChunkLength, kChunkData, kFailed };
  enum class Step { kDone, kNeedMore, kBad };

  // Consumes what it can of [data, data + size) and returns how much; what is left is the start
  // of an element that needs more bytes.
  size_t Consume(const uint8_t* data, size_t size);
  Step ParseHeader(const uint8_t* data, size_t size, size_t* used);
  Step ParseTocEntry(const uint8_t* data, size_t size, size_t* used);
  Step ParseBlockFraming(const uint8_t* data, size_t size, size_t* used);
  void CountLines(const uint8_t* data, size_t size);
  void Fail(std::string why);
  Step Bad(std::string why);  // Fail, as a parse step

  Stage stage_ = Stage::kHeader;
  std::string error_;
  std::vector<uint8_t> partial_;  // an element split across pieces

  // From the header.
  int minor_version_ = 0;
  int int_size_ = 0;
  int offset_size_ = 0;
  int64_t toc_entries_left_ = 0;

  std::map<int64_t, uint32_t> table_of_dump_id_;  // TABLE DATA entries: dump id -> table oid
  std::map<uint32_t, long long> rows_;

  // The data block being read.
  bool in_blobs_ = false;
  long long* counting_ = nullptr;  // the rows of the table whose block this is; null: not a table
  long long chunk_left_ = 0;
  // The line being read, across chunks: its length so far and its first two bytes. A line that
  // is exactly "\." ends the COPY data: what follows in the block is not rows.
  size_t line_length_ = 0;
  char line_head_[2] = {0, 0};
  bool copy_ended_ = false;
};

}  // namespace flightdeck::backups
