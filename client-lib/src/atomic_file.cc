// SPDX-License-Identifier: Apache-2.0

#include "trygg/atomic_file.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>

namespace trygg {
namespace {

absl::Status FileError(std::string_view what, const std::filesystem::path& path) {
  const int err = errno;
  std::string message = std::string(what) + " " + path.string() + ": " + std::strerror(err);
  if (err == ENOENT) return absl::NotFoundError(message);
  if (err == EEXIST) return absl::AlreadyExistsError(message);
  return absl::InternalError(message);
}

absl::Status FsyncDirectoryOf(const std::filesystem::path& path) {
  std::filesystem::path dir = path.parent_path();
  if (dir.empty()) dir = ".";
  const int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return FileError("cannot open directory", dir);
  const int rc = fsync(fd);
  close(fd);
  if (rc != 0) return FileError("cannot fsync directory", dir);
  return absl::OkStatus();
}

}  // namespace

absl::Status WriteFileAtomically(const std::filesystem::path& path, std::span<const uint8_t> bytes,
                                 IfExists if_exists) {
  std::string temp_name = path.string() + ".tmp.XXXXXX";
  const int fd = mkostemp(temp_name.data(), O_CLOEXEC);
  const std::filesystem::path temp = temp_name;
  if (fd < 0) return FileError("cannot create", temp);
  auto abandon = [&](absl::Status status) {
    close(fd);
    unlink(temp.c_str());
    return status;
  };
  size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      return abandon(FileError("cannot write", temp));
    }
    written += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0) return abandon(FileError("cannot fsync", temp));
  if (close(fd) != 0) {
    const absl::Status status = FileError("cannot close", temp);
    unlink(temp.c_str());
    return status;
  }
  if (if_exists == IfExists::kRefuse) {
    const int rc = link(temp.c_str(), path.c_str());
    const absl::Status status = rc == 0 ? absl::OkStatus() : FileError("cannot create", path);
    unlink(temp.c_str());
    if (!status.ok()) return status;
  } else if (rename(temp.c_str(), path.c_str()) != 0) {
    const absl::Status status = FileError("cannot replace", path);
    unlink(temp.c_str());
    return status;
  }
  return FsyncDirectoryOf(path);
}

}  // namespace trygg
