// libFuzzer: the pg_dump archive row counter (services/backups/archive_rows.*) on arbitrary bytes.
// The first input byte picks the piece size (1..256) for a second pass over the rest. Whatever
// the bytes, counting never crashes or buffers without bound, and it decides alike whether the
// stream comes whole or in pieces: the same answer, the same counts.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "services/backups/archive_rows.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t piece = static_cast<size_t>(data[0]) + 1;
  ++data;
  --size;

  flightdeck::backups::ArchiveRowCounter whole;
  whole.Feed(data, size);
  const bool whole_finished = whole.Finish();

  flightdeck::backups::ArchiveRowCounter pieces;
  for (size_t at = 0; at < size; at += piece) pieces.Feed(data + at, std::min(piece, size - at));
  const bool pieces_finished = pieces.Finish();

  if (whole_finished != pieces_finished || whole.rows() != pieces.rows()) abort();
  if (whole_finished != whole.error().empty()) abort();
  for (const auto& [table, rows] : whole.rows()) {
    if (rows < 0 || static_cast<size_t>(rows) > size) abort();
  }
  return 0;
}
