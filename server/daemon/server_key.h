// SPDX-License-Identifier: Apache-2.0

// The server's Ed25519 signing key: it signs audit tree heads (and, with
// issue 4, session challenges), and its public half is what the platform
// root certifies with a server certificate.
//
// On disk it is <data_dir>/server-signing.key: exactly the 32-byte seed, mode
// 0600, owned by the server's user. It is created on first start (written to
// a temporary file, fsync'd, renamed into place, directory fsync'd, so a
// crash never leaves a partial key) and loaded on every later start. The key
// never leaves the process and is never logged; only its public key is.
//
// Ownership: the returned ServerKey owns the secret in SecretBytes (locked,
// wiped on destruction); move-only.
// Thread-safety: a loaded ServerKey is immutable and may be used (signing) from
// many threads.
// Failure modes: a key file of the wrong size, readable by group or others,
// not a regular file, or unreadable is FAILED_PRECONDITION with a message an
// operator can act on; the server then refuses to start rather than make a
// second key, since tree heads signed by another key would not verify.
#ifndef TRYGG_SERVER_DAEMON_SERVER_KEY_H_
#define TRYGG_SERVER_DAEMON_SERVER_KEY_H_

#include <string>

#include "absl/status/statusor.h"
#include "trygg/random.h"
#include "trygg/signing.h"

namespace trygg::server {

inline constexpr char kServerKeyFileName[] = "server-signing.key";

struct ServerKey {
  SigningKeyPair pair;
  // True when this start created the key (first start of a data directory).
  bool created = false;
};

// Loads <data_dir>/server-signing.key, or creates it from `rng` if absent.
// For a database that holds no server certificate yet.
absl::StatusOr<ServerKey> LoadOrCreateServerKey(const std::string& data_dir, Rng& rng);

// Loads <data_dir>/server-signing.key for a database whose server certificate
// certifies `certified`; never creates a key. A missing key file, or one whose
// public key is not `certified` (typically trygg.db restored without the key
// file of the same backup), is FAILED_PRECONDITION naming both public keys in
// hex and what to do; the directory is left as it was.
absl::StatusOr<ServerKey> LoadCertifiedServerKey(const std::string& data_dir, const SignPublicKey& certified);

// Loads <data_dir>/server-signing.key and never creates one: for `tryggd
// backup`, which needs the key (or its public half) of a running server.
// A missing file is NOT_FOUND; otherwise as above.
absl::StatusOr<ServerKey> LoadExistingServerKey(const std::string& data_dir);

}  // namespace trygg::server

#endif  // TRYGG_SERVER_DAEMON_SERVER_KEY_H_
