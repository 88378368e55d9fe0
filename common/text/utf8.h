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

// `s` with every byte that is not part of a well-formed sequence replaced by `replacement`.
std::string ToUtf8(std::string_view s, std::string_view replacement = kReplacementCharacter);

}  // namespace flightdeck::text
