#pragma once

#include <cstdint>
#include <string>

#include "services/incidents/model.h"

namespace flightdeck::incidents {

// Alertmanager's fingerprint (prometheus/common model.LabelSet.Fingerprint): FNV-1a 64 over
// the label names in sorted order, each name and value followed by the 0xFF separator byte.
// An empty label set hashes to the FNV offset basis.
uint64_t Fingerprint(const Labels& labels);
// As Alertmanager prints it: 16 lower-case hex digits.
std::string FingerprintHex(const Labels& labels);

}  // namespace flightdeck::incidents
