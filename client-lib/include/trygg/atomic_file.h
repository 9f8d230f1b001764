// SPDX-License-Identifier: Apache-2.0

// Writing a small file so that a crash leaves either the old file or the
// complete new one, never a mixture: key stores, the server's signing key,
// and the state files in which devices and auditors remember what they
// verified.
//
// How: a new temp file of its own beside the target (mkostemp: a random
// suffix, created exclusively with mode 0600, so nothing already there is
// followed or truncated), write, fsync, then rename over the target (or link,
// which refuses to replace, for kRefuse), then fsync the directory. A crash
// before the rename can leave a `<name>.tmp.XXXXXX` behind; it holds the new
// contents and is never read.
//
// Thread-safety: concurrent writers of one path each use their own temp file;
// the last rename wins.
// Failure modes: NOT_FOUND when the directory does not exist; ALREADY_EXISTS
// for kRefuse when the file exists; INTERNAL with the errno text otherwise.
// A failed write leaves the old file as it was and no temp file.
#ifndef TRYGG_ATOMIC_FILE_H_
#define TRYGG_ATOMIC_FILE_H_

#include <cstdint>
#include <filesystem>
#include <span>

#include "absl/status/status.h"

namespace trygg {

enum class IfExists { kReplace, kRefuse };

absl::Status WriteFileAtomically(const std::filesystem::path& path, std::span<const uint8_t> bytes,
                                 IfExists if_exists);

}  // namespace trygg

#endif  // TRYGG_ATOMIC_FILE_H_
