// SPDX-License-Identifier: Apache-2.0

#include "server/daemon/server_key.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "trygg/atomic_file.h"
#include "trygg/secret_bytes.h"
#include "trygg/status_macros.h"

namespace trygg::server {
namespace {

std::string Errno() { return std::strerror(errno); }

absl::StatusOr<ServerKey> Load(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read server key ", path, ": ", Errno()));
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return absl::FailedPreconditionError(absl::StrCat("server key ", path, " is not a regular file"));
  }
  if ((st.st_mode & 077) != 0) {
    close(fd);
    return absl::FailedPreconditionError(absl::StrCat(
        "server key ", path, " is readable by other users; run chmod 600 ", path,
        " and consider the key compromised if others could read it"));
  }
  if (st.st_size != 32) {
    close(fd);
    return absl::FailedPreconditionError(absl::StrCat(
        "server key ", path, " is ", st.st_size, " bytes, not a 32-byte seed; restore it from backup"));
  }
  // Read straight into locked memory so the seed never sits in ordinary heap.
  SecretKey seed;
  size_t got = 0;
  while (got < seed.size()) {
    ssize_t n = read(fd, seed.data() + got, seed.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  close(fd);
  if (got != seed.size()) {
    return absl::FailedPreconditionError(absl::StrCat("cannot read server key ", path));
  }
  return ServerKey{SigningKeyPairFromSeed(seed.span()), false};
}

absl::StatusOr<ServerKey> Create(const std::string& path, Rng& rng) {
  SecretKey seed;
  rng.Fill(seed.span());
  // Refuses to replace a file that appeared meanwhile: a second key would
  // make every head signed with the first unverifiable.
  if (absl::Status written = WriteFileAtomically(path, seed.span(), IfExists::kRefuse); !written.ok()) {
    return absl::FailedPreconditionError(absl::StrCat("cannot write server key: ", written.message()));
  }
  return ServerKey{SigningKeyPairFromSeed(seed.span()), true};
}

}  // namespace

absl::StatusOr<ServerKey> LoadOrCreateServerKey(const std::string& data_dir, Rng& rng) {
  const std::string path = absl::StrCat(data_dir, "/", kServerKeyFileName);
  struct stat st;
  if (lstat(path.c_str(), &st) == 0) return Load(path);
  if (errno != ENOENT) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot access server key ", path, ": ", Errno()));
  }
  return Create(path, rng);
}

absl::StatusOr<ServerKey> LoadCertifiedServerKey(const std::string& data_dir, const SignPublicKey& certified) {
  const std::string path = absl::StrCat(data_dir, "/", kServerKeyFileName);
  // A new key would make every client refuse this server, so say what to
  // restore instead of making one.
  const std::string remedy = absl::StrCat("; restore ", kServerKeyFileName,
                                          " from the same backup as trygg.db (docs/operator-guide.md, \"Backups\")");
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot access server key ", path, ": ", Errno()));
    }
    return absl::FailedPreconditionError(absl::StrCat(
        "the database holds a server certificate for key ", HexEncode(certified.span()), " but ", path,
        " is missing", remedy));
  }
  TRYGG_ASSIGN_OR_RETURN(ServerKey key, Load(path));
  if (key.pair.public_key != certified) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the database holds a server certificate for key ", HexEncode(certified.span()), " but ", path,
        " holds key ", HexEncode(key.pair.public_key.span()), remedy));
  }
  return key;
}

absl::StatusOr<ServerKey> LoadExistingServerKey(const std::string& data_dir) {
  const std::string path = absl::StrCat(data_dir, "/", kServerKeyFileName);
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return absl::NotFoundError(absl::StrCat("server key ", path, " does not exist"));
    return absl::FailedPreconditionError(absl::StrCat("cannot access server key ", path, ": ", Errno()));
  }
  return Load(path);
}

}  // namespace trygg::server
