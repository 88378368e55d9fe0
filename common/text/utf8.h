#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace flightdeck::text {

// U+FFFD, the replacement character, in UTF-8.
inline constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";

// The length of the well-formed UTF-8 sequence that starts at s[i], or 0 when none does (a
// stray continuation byte, a truncated sequence, an overlong form, a UTF-16 surrogate, a code
// point above U+10FFFF: Unicode's table 3-7). `i` must be inside `s`.
size_t Utf8SequenceLength(std::string_view s, size_t i);

// True when all of `s` is well-formed UTF-8, as protobuf requires of its strings.
bool IsUtf8(std::string_view s);

// How many characters (code points) the well-formed UTF-8 `s` holds: its bytes that do not
// continue a sequence. What "at most N characters" counts.
inline size_t CharacterCount(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// The longest start of the well-formed UTF-8 `s` holding at most `max_characters` characters:
// cut between two characters, never inside one.
inline std::string_view CharacterPrefix(std::string_view s, size_t max_characters) {
  size_t seen = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80 && seen++ == max_characters) return s.substr(0, i);
  }
  return s;
}

// `s` with every byte that is not part of a well-formed sequence replaced by `replacement`.
std::string ToUtf8(std::string_view s, std::string_view replacement = kReplacementCharacter);

// `s` as text that every store takes: well-formed UTF-8 without NUL, which PostgreSQL's text and
// jsonb cannot hold. Each bad byte and each NUL becomes `replacement`. For outside bytes (a
// command's output, an HTTP answer's body) on their way into a timeline.
std::string ToStorableText(std::string_view s, std::string_view replacement = kReplacementCharacter);

}  // namespace flightdeck::text
