#include "services/backups/archive_rows.h"

#include <algorithm>
#include <cstring>
#include <string_view>

// The layout read here is pg_dump's (src/bin/pg_dump/pg_backup_archiver.c ReadHead, ReadToc,
// ReadInt, ReadStr; pg_backup_custom.c _ReadExtraToc and the data blocks).

namespace flightdeck::backups {
namespace {

constexpr int kOldestMinor = 12;  // pg_dump 9.0
constexpr int kNewestMinor = 16;  // pg_dump 17
constexpr uint8_t kCustomFormat = 1;
constexpr uint8_t kDataBlock = 1;
constexpr uint8_t kBlobsBlock = 3;
// No header field, TOC string or length prefix of a real archive comes near this; a larger one
// means the stream is not what we think it is.
constexpr size_t kMaxElement = 64u << 20;

// Reads pg_dump's integers and strings from a buffer that may end too early: every read says
// whether the bytes were there. Integers are a sign byte and int_size little-endian bytes; a
// string is its length as an integer (negative: NULL) and that many bytes.
class Reader {
 public:
  Reader(const uint8_t* data, size_t size, int int_size) : data_(data), size_(size), int_size_(int_size) {}

  size_t used() const { return pos_; }
  bool bad() const { return bad_; }
  void set_int_size(int n) { int_size_ = n; }

  bool Byte(uint8_t* out) {
    if (pos_ >= size_) return false;
    *out = data_[pos_++];
    return true;
  }
  bool Skip(size_t n) {
    if (size_ - pos_ < n) return false;
    pos_ += n;
    return true;
  }
  bool Int(int64_t* out) {
    if (size_ - pos_ < static_cast<size_t>(int_size_) + 1) return false;
    const bool negative = data_[pos_] != 0;
    uint64_t value = 0;
    for (int i = 0; i < int_size_; ++i) value |= static_cast<uint64_t>(data_[pos_ + 1 + i]) << (8 * i);
    pos_ += static_cast<size_t>(int_size_) + 1;
    *out = negative ? -static_cast<int64_t>(value) : static_cast<int64_t>(value);
    return true;
  }
  // `out` may be null (the string is skipped); *is_null says it was a NULL string.
  bool Str(std::string* out, bool* is_null = nullptr) {
    const size_t start = pos_;
    int64_t length = 0;
    if (!Int(&length)) return false;
    if (is_null != nullptr) *is_null = length < 0;
    if (length < 0) return true;
    if (static_cast<uint64_t>(length) > kMaxElement) {
      bad_ = true;
      return false;
    }
    if (size_ - pos_ < static_cast<size_t>(length)) {
      pos_ = start;
      return false;
    }
    if (out != nullptr) out->assign(reinterpret_cast<const char*>(data_ + pos_), static_cast<size_t>(length));
    pos_ += static_cast<size_t>(length);
    return true;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  int int_size_;
  bool bad_ = false;
};

// A table oid as pg_dump writes it in a TOC entry ("16385"); false for anything else.
bool ParseOid(const std::string& text, uint32_t* out) {
  if (text.empty() || text.size() > 10) return false;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  if (value == 0 || value > 0xFFFFFFFFu) return false;
  *out = static_cast<uint32_t>(value);
  return true;
}

}  // namespace

void ArchiveRowCounter::Fail(std::string why) {
  if (stage_ == Stage::kFailed) return;
  stage_ = Stage::kFailed;
  error_ = std::move(why);
  partial_.clear();
  partial_.shrink_to_fit();
}

ArchiveRowCounter::Step ArchiveRowCounter::Bad(std::string why) {
  Fail(std::move(why));
  return Step::kBad;
}

void ArchiveRowCounter::Feed(const uint8_t* data, size_t size) {
  // First complete an element split across pieces. It is parsed again from its start each time
  // bytes are added, so the steps double with its size: linear in all, however long it is.
  while (!partial_.empty() && size > 0 && stage_ != Stage::kFailed) {
    const size_t before = partial_.size();
    const size_t take = std::min(size, std::max<size_t>(256, before));
    partial_.insert(partial_.end(), data, data + take);
    const size_t used = Consume(partial_.data(), partial_.size());
    if (stage_ == Stage::kFailed) return;
    if (used >= before) {
      // Done with the split element; the rest is read from the piece itself.
      data += used - before;
      size -= used - before;
      partial_.clear();
      break;
    }
    if (partial_.size() > kMaxElement) return Fail("an archive element larger than 64 MiB");
    partial_.erase(partial_.begin(), partial_.begin() + static_cast<std::ptrdiff_t>(used));
    data += take;
    size -= take;
  }
  if (size == 0 || stage_ == Stage::kFailed || !partial_.empty()) return;
  const size_t used = Consume(data, size);
  if (stage_ == Stage::kFailed || used == size) return;
  partial_.assign(data + used, data + size);
}

bool ArchiveRowCounter::Finish() {
  if (stage_ == Stage::kFailed) return false;
  if (stage_ != Stage::kBlockType || !partial_.empty()) {
    Fail("the archive ended inside its " + std::string(stage_ == Stage::kHeader     ? "header"
                                                       : stage_ == Stage::kTocEntry ? "table of contents"
                                                                                    : "data"));
    return false;
  }
  return true;
}

size_t ArchiveRowCounter::Consume(const uint8_t* data, size_t size) {
  size_t done = 0;
  while (done < size && stage_ != Stage::kFailed) {
    const uint8_t* p = data + done;
    const size_t n = size - done;
    if (stage_ == Stage::kChunkData) {
      const size_t take = static_cast<size_t>(std::min<long long>(static_cast<long long>(n), chunk_left_));
      if (counting_ != nullptr) CountLines(p, take);
      chunk_left_ -= static_cast<long long>(take);
      done += take;
      if (chunk_left_ == 0) stage_ = Stage::kChunkLength;
      continue;
    }
    size_t used = 0;
    const Step step = stage_ == Stage::kHeader     ? ParseHeader(p, n, &used)
                      : stage_ == Stage::kTocEntry ? ParseTocEntry(p, n, &used)
                                                   : ParseBlockFraming(p, n, &used);
    if (step != Step::kDone) return done;  // more bytes needed, or the parser failed and said why
    done += used;
  }
  return done;
}

// Data blocks: a type byte and a dump id, then length-prefixed chunks ended by an empty one. A
// large-object block holds, for each object, its oid and chunks, and ends with oid 0.
ArchiveRowCounter::Step ArchiveRowCounter::ParseBlockFraming(const uint8_t* data, size_t size, size_t* used) {
  Reader r(data, size, int_size_);
  if (stage_ == Stage::kBlockType) {
    uint8_t type = 0;
    if (!r.Byte(&type)) return Step::kNeedMore;
    if (type != kDataBlock && type != kBlobsBlock) {
      return Bad("unknown data block type " + std::to_string(type));
    }
    in_blobs_ = type == kBlobsBlock;
    stage_ = Stage::kBlockId;
    *used = r.used();
    return Step::kDone;
  }
  int64_t value = 0;
  if (!r.Int(&value)) return Step::kNeedMore;
  *used = r.used();
  if (stage_ == Stage::kBlockId) {
    counting_ = nullptr;
    auto table = table_of_dump_id_.find(value);
    if (!in_blobs_ && table != table_of_dump_id_.end()) {
      if (rows_.count(table->second) != 0) {
        return Bad("two data blocks for table oid " + std::to_string(table->second));
      }
      counting_ = &rows_[table->second];
    }
    line_length_ = 0;
    copy_ended_ = false;
    stage_ = in_blobs_ ? Stage::kBlobOid : Stage::kChunkLength;
  } else if (stage_ == Stage::kBlobOid) {
    stage_ = value == 0 ? Stage::kBlockType : Stage::kChunkLength;
  } else if (value < 0) {
    return Bad("a negative data chunk length");
  } else if (value > 0) {
    chunk_left_ = value;
    stage_ = Stage::kChunkData;
  } else if (in_blobs_) {
    stage_ = Stage::kBlobOid;
  } else {
    // COPY text ends every row with a newline; a block ending mid-line is not COPY text.
    if (counting_ != nullptr && line_length_ != 0 && !copy_ended_) {
      return Bad("a table's data does not end with a newline");
    }
    stage_ = Stage::kBlockType;
  }
  return Step::kDone;
}

ArchiveRowCounter::Step ArchiveRowCounter::ParseHeader(const uint8_t* data, size_t size, size_t* used) {
  Reader r(data, size, 0);
  uint8_t fixed[11];
  for (uint8_t& b : fixed) {
    if (!r.Byte(&b)) return Step::kNeedMore;
  }
  if (std::memcmp(fixed, "PGDMP", 5) != 0) return Bad("not a pg_dump archive");
  const int major = fixed[5];
  minor_version_ = fixed[6];
  if (major != 1 || minor_version_ < kOldestMinor || minor_version_ > kNewestMinor) {
    return Bad("archive version " + std::to_string(major) + "." + std::to_string(minor_version_) +
               " is not one this service reads (1." + std::to_string(kOldestMinor) + " to 1." +
               std::to_string(kNewestMinor) + ")");
  }
  int_size_ = fixed[8];
  offset_size_ = fixed[9];
  if (int_size_ < 1 || int_size_ > 8 || offset_size_ < 1 || offset_size_ > 8) {
    return Bad("integer sizes " + std::to_string(int_size_) + "/" + std::to_string(offset_size_));
  }
  if (fixed[10] != kCustomFormat) return Bad("not a custom-format archive");
  r.set_int_size(int_size_);
  bool compressed = false;
  if (minor_version_ >= 15) {
    uint8_t algorithm = 0;
    if (!r.Byte(&algorithm)) return Step::kNeedMore;
    compressed = algorithm != 0;
  } else {
    int64_t level = 0;
    if (!r.Int(&level)) return Step::kNeedMore;
    compressed = level != 0;
  }
  if (compressed) return Bad("the archive's data is compressed");
  for (int i = 0; i < 7; ++i) {  // the creation time, field by field
    int64_t ignored = 0;
    if (!r.Int(&ignored)) return Step::kNeedMore;
  }
  for (int i = 0; i < 3; ++i) {  // database name, server version, pg_dump version
    if (!r.Str(nullptr)) return r.bad() ? Bad("an oversized header string") : Step::kNeedMore;
  }
  if (!r.Int(&toc_entries_left_)) return Step::kNeedMore;
  if (toc_entries_left_ < 0) return Bad("a negative TOC entry count");
  stage_ = toc_entries_left_ == 0 ? Stage::kBlockType : Stage::kTocEntry;
  *used = r.used();
  return Step::kDone;
}

ArchiveRowCounter::Step ArchiveRowCounter::ParseTocEntry(const uint8_t* data, size_t size, size_t* used) {
  Reader r(data, size, int_size_);
  auto need = [&r, this]() { return r.bad() ? Bad("an oversized TOC entry") : Step::kNeedMore; };
  int64_t dump_id = 0;
  int64_t ignored = 0;
  std::string oid;
  std::string desc;
  if (!r.Int(&dump_id) || !r.Int(&ignored)) return need();       // dump id, has data
  if (!r.Str(nullptr) || !r.Str(&oid)) return need();            // catalog id: table oid, oid
  if (!r.Str(nullptr) || !r.Str(&desc) || !r.Int(&ignored)) return need();  // tag, desc, section
  for (int i = 0; i < 5; ++i) {  // definition, drop, copy statement, namespace, tablespace
    if (!r.Str(nullptr)) return need();
  }
  if (minor_version_ >= 14 && !r.Str(nullptr)) return need();    // table access method
  if (minor_version_ >= 16 && !r.Int(&ignored)) return need();   // relkind
  if (!r.Str(nullptr) || !r.Str(nullptr)) return need();         // owner, "with oids"
  for (bool end = false; !end;) {                                // dependencies, ended by NULL
    if (!r.Str(nullptr, &end)) return need();
  }
  uint8_t offset_flag = 0;                                       // where the data is, if known
  if (!r.Byte(&offset_flag) || !r.Skip(static_cast<size_t>(offset_size_))) return need();

  if (desc == "TABLE DATA") {
    uint32_t table = 0;
    if (!ParseOid(oid, &table)) return Bad("TABLE DATA entry with oid \"" + oid + "\"");
    if (!table_of_dump_id_.emplace(dump_id, table).second) {
      return Bad("two TOC entries with dump id " + std::to_string(dump_id));
    }
  }
  if (--toc_entries_left_ == 0) stage_ = Stage::kBlockType;
  *used = r.used();
  return Step::kDone;
}

void ArchiveRowCounter::CountLines(const uint8_t* data, size_t size) {
  while (size > 0 && !copy_ended_) {
    const auto* newline = static_cast<const uint8_t*>(std::memchr(data, '\n', size));
    const size_t length = newline == nullptr ? size : static_cast<size_t>(newline - data);
    for (size_t i = 0; i < length && line_length_ + i < 2; ++i) {
      line_head_[line_length_ + i] = static_cast<char>(data[i]);
    }
    line_length_ += length;
    if (newline == nullptr) return;
    if (line_length_ == 2 && line_head_[0] == '\\' && line_head_[1] == '.') {
      copy_ended_ = true;
    } else {
      ++*counting_;
    }
    line_length_ = 0;
    data += length + 1;
    size -= length + 1;
  }
}

}  // namespace flightdeck::backups
