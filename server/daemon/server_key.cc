#include "server/daemon/server_key.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "trygg/secret_bytes.h"
#include "trygg/status_macros.h"

namespace trygg::server {
namespace {

std::string Errno() { return std::strerror(errno); }

absl::Status WriteAll(int fd, const uint8_t* data, size_t size) {
  while (size > 0) {
    ssize_t n = write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return absl::UnavailableError(Errno());
    data += n;
    size -= static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::Status SyncDirectory(const std::string& dir) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return absl::UnavailableError(absl::StrCat("cannot open ", dir, ": ", Errno()));
  int rc = fsync(fd);
  close(fd);
  if (rc != 0) return absl::UnavailableError(absl::StrCat("cannot fsync ", dir, ": ", Errno()));
  return absl::OkStatus();
}

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

absl::StatusOr<ServerKey> Create(const std::string& data_dir, const std::string& path, Rng& rng) {
  SecretKey seed;
  rng.Fill(seed.span());
  const std::string temp = path + ".tmp";
  unlink(temp.c_str());  // a leftover from a crash before the rename holds no key in use
  int fd = open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create server key ", temp, ": ", Errno()));
  }
  absl::Status written = WriteAll(fd, seed.data(), seed.size());
  if (written.ok() && fsync(fd) != 0) written = absl::UnavailableError(Errno());
  if (close(fd) != 0 && written.ok()) written = absl::UnavailableError(Errno());
  if (written.ok() && rename(temp.c_str(), path.c_str()) != 0) {
    written = absl::UnavailableError(Errno());
  }
  if (!written.ok()) {
    unlink(temp.c_str());
    return absl::FailedPreconditionError(
        absl::StrCat("cannot write server key ", path, ": ", written.message()));
  }
  TRYGG_RETURN_IF_ERROR(SyncDirectory(data_dir));
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
  return Create(data_dir, path, rng);
}

}  // namespace trygg::server
