// SPDX-License-Identifier: Apache-2.0

// Safety numbers: human-comparable fingerprints of public keys.
//
// Purpose: an admin compares a new device's safety number with the device in
// person; clients show the pinned platform root's. Signal-style: 5200 iterations
// of SHA-512 over a versioned, typed input, rendered as 60 decimal digits in 12
// groups of 5 (about 199 bits). The short form is the first 4 groups (20 digits,
// about 66 bits) for quick reference; verification uses the full number.
// Algorithm: docs/protocol.md, "Fingerprints".
// Thread-safety: pure functions. Failure modes: none.
#ifndef TRYGG_FINGERPRINT_H_
#define TRYGG_FINGERPRINT_H_

#include <string>

#include "trygg/bytes.h"

namespace trygg {

// "12345 67890 ..." (12 groups of 5 digits, single spaces).
std::string SafetyNumber(const SignPublicKey& key);
std::string SafetyNumber(const BoxPublicKey& key);

// The first 4 groups of SafetyNumber.
std::string ShortSafetyNumber(const SignPublicKey& key);
std::string ShortSafetyNumber(const BoxPublicKey& key);

}  // namespace trygg

#endif  // TRYGG_FINGERPRINT_H_
