// SPDX-License-Identifier: Apache-2.0

// Generates Trygg's published test vectors (docs/test-vectors/*.json).
//
// Purpose: one deterministic function per vector file, shared by the
// trygg-vectors tool (which writes the files) and the test that regenerates them
// and compares byte for byte. Every random byte comes from a DeterministicRng
// with a fixed seed and every time from a FixedClock, so the output never changes
// unless the format does.
// Thread-safety: pure functions. Failure modes: a library error while generating
// is a bug and aborts.
#ifndef TRYGG_TOOLS_TRYGG_VECTORS_TEST_VECTORS_H_
#define TRYGG_TOOLS_TRYGG_VECTORS_TEST_VECTORS_H_

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace trygg::vectors {

nlohmann::json RecordVectors();
nlohmann::json GrantVectors();
nlohmann::json AttachmentVectors();
nlohmann::json KeyStoreVectors();
nlohmann::json SealedSigningKeyVectors();
nlohmann::json FingerprintVectors();
nlohmann::json WorkflowVectors();

struct VectorFile {
  std::string name;     // e.g. "records.json"
  std::string content;  // pretty-printed JSON with a trailing newline
};

// Every file, in a fixed order.
std::vector<VectorFile> AllVectorFiles();

}  // namespace trygg::vectors

#endif  // TRYGG_TOOLS_TRYGG_VECTORS_TEST_VECTORS_H_
