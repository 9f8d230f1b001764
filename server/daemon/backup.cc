// SPDX-License-Identifier: Apache-2.0

#include "server/daemon/backup.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "server/daemon/server_key.h"
#include "server/store/sqlite/audit_reader.h"
#include "server/store/sqlite/database_copy.h"
#include "trygg/atomic_file.h"
#include "trygg/audit/log_diagnosis.h"
#include "trygg/key_store.h"
#include "trygg/sealed_signing_key.h"
#include "trygg/secret_bytes.h"
#include "trygg/signing.h"
#include "trygg/status_macros.h"

namespace trygg::server {
namespace {

constexpr char kDatabaseFileName[] = "trygg.db";
// A passphrase file is one line; anything larger is not one.
constexpr size_t kMaxPassphraseFileBytes = 4096;

std::string SystemError() { return std::strerror(errno); }

bool PathExists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

// Argon2id limits for the sealed key: the key store's production default.
// TRYGG_INSECURE_FAST_KDF=1 lowers them so the test suite runs fast; it is
// compiled only into test builds (cmake/TryggTestHooks.cmake), and CI checks
// that the Release tryggd does not contain it (scripts/check-test-hooks).
bool InsecureFastKdf() {
#if defined(TRYGG_TEST_HOOKS)
  const char* env = std::getenv("TRYGG_INSECURE_FAST_KDF");
  return env != nullptr && std::string_view(env) == "1";
#else
  return false;
#endif
}

KdfLimits SealingKdfLimits() { return InsecureFastKdf() ? MinimumKdfLimitsForTests() : ModerateKdfLimits(); }

KeyStoreOpenOptions SealedKeyOpenOptions() {
  KeyStoreOpenOptions options;
  options.allow_weak_kdf_for_tests = InsecureFastKdf();
  return options;
}

// The first line of a passphrase file, wiped from memory when done.
class Passphrase {
 public:
  static absl::StatusOr<Passphrase> Read(const std::string& path) {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      return absl::InvalidArgumentError(absl::StrCat("cannot read passphrase file ", path, ": ", SystemError()));
    }
    Passphrase p;
    p.text_.resize(kMaxPassphraseFileBytes + 1);
    size_t got = 0;
    while (got < p.text_.size()) {
      ssize_t n = read(fd, p.text_.data() + got, p.text_.size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += static_cast<size_t>(n);
    }
    close(fd);
    if (got > kMaxPassphraseFileBytes) {
      return absl::InvalidArgumentError(absl::StrCat("passphrase file ", path, " is larger than a passphrase"));
    }
    const size_t line_end = std::string_view(p.text_.data(), got).find_first_of("\r\n");
    p.length_ = line_end == std::string_view::npos ? got : line_end;
    if (p.length_ == 0) {
      return absl::InvalidArgumentError(absl::StrCat("passphrase file ", path, " holds no passphrase"));
    }
    return p;
  }
  Passphrase(Passphrase&& other) noexcept : text_(std::move(other.text_)), length_(other.length_) {
    other.text_.clear();
  }
  Passphrase& operator=(Passphrase&&) = delete;
  ~Passphrase() { sodium_memzero(text_.data(), text_.size()); }

  std::string_view view() const { return std::string_view(text_.data(), length_); }

 private:
  Passphrase() = default;
  std::string text_;
  size_t length_ = 0;
};

// A temp file this command owns until it is renamed into place; removed
// with any journal SQLite left beside it on every other path.
class TempFile {
 public:
  // A new file <prefix>XXXXXX, mode 0600.
  static absl::StatusOr<TempFile> Create(const std::string& prefix) {
    std::string path = prefix + "XXXXXX";
    int fd = mkostemp(path.data(), O_CLOEXEC);
    if (fd < 0) return absl::FailedPreconditionError(absl::StrCat("cannot create ", path, ": ", SystemError()));
    close(fd);
    return TempFile(std::move(path));
  }
  TempFile(TempFile&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }
  TempFile& operator=(TempFile&&) = delete;
  ~TempFile() {
    if (path_.empty()) return;
    for (const char* suffix : {"", "-journal", "-wal", "-shm"}) unlink((path_ + suffix).c_str());
  }
  const std::string& path() const { return path_; }
  // The file is now someone else's (renamed or linked into place).
  void Release() { path_.clear(); }

 private:
  explicit TempFile(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

absl::Status FsyncPath(const std::string& path, bool directory) {
  int fd = open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDWR) | O_CLOEXEC);
  if (fd < 0) return absl::InternalError(absl::StrCat("cannot open ", path, ": ", SystemError()));
  const int rc = fsync(fd);
  close(fd);
  if (rc != 0) return absl::InternalError(absl::StrCat("cannot fsync ", path, ": ", SystemError()));
  return absl::OkStatus();
}

std::string DirectoryOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

uint64_t FileSizeOf(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

// `what` (a database copy at `path`) checked as `trygg-audit verify-db`
// checks one, under `server_key`, after SQLite's own integrity check.
absl::StatusOr<CheckedCopy> CheckCopy(store::sqlite::AuditLogCopy& db, const SignPublicKey& server_key,
                                      const std::string& what) {
  if (absl::Status sound = db.IntegrityCheck(); !sound.ok()) {
    return absl::DataLossError(absl::StrCat(what, " is damaged: ", sound.message()));
  }
  TRYGG_ASSIGN_OR_RETURN(std::vector<audit::SignedTreeHead> heads, db.SignedHeads());
  TRYGG_ASSIGN_OR_RETURN(std::vector<audit::IndexedEntry> entries, db.Entries());
  const audit::StoredLogDiagnosis checked = audit::DiagnoseStoredLog(entries, heads, db.LeafHashes(), server_key);
  if (!checked.diagnosis.ok()) {
    return absl::DataLossError(absl::StrCat(
        what, "'s audit log does not verify under server key ", HexEncode(server_key.span()), " (",
        checked.diagnosis.findings.size(), " findings; the first: ", checked.diagnosis.findings.front().message,
        "); `trygg-audit verify-db --server-key KEY FILE` lists them all"));
  }
  CheckedCopy copy;
  copy.tree_size = checked.diagnosis.entry_count;
  copy.root_hash = checked.diagnosis.root;
  copy.signed_head = checked.latest;
  copy.server_key = server_key;
  return copy;
}

absl::StatusOr<std::unique_ptr<store::sqlite::AuditLogCopy>> OpenCopy(const std::string& path,
                                                                      const std::string& what) {
  absl::StatusOr<std::unique_ptr<store::sqlite::AuditLogCopy>> db = store::sqlite::AuditLogCopy::Open(path);
  if (!db.ok()) return absl::DataLossError(absl::StrCat(what, " is not a readable Trygg database: ", db.status().message()));
  return db;
}

// "20261205T091500.123Z": when a restore ran, naming the files it moved
// aside and its notice. Milliseconds, so two restores in one second do not
// name the same files.
std::string UtcStamp(int64_t ms) {
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y%m%dT%H%M%S", &tm);
  return absl::StrCat(text, ".", absl::Dec(ms % 1000, absl::kZeroPad3), "Z");
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The latest head stored in the database at `path` (the one a restore
// replaces) that verifies under `server_key`; none when the database cannot
// be read, which is often why it is being replaced.
std::optional<audit::TreeHead> LatestHeadUnder(const std::string& path, const SignPublicKey& server_key) {
  absl::StatusOr<std::unique_ptr<store::sqlite::AuditLogCopy>> db = store::sqlite::AuditLogCopy::Open(path);
  if (!db.ok()) return std::nullopt;
  absl::StatusOr<std::vector<audit::SignedTreeHead>> heads = (*db)->SignedHeads();
  if (!heads.ok()) return std::nullopt;
  std::optional<audit::TreeHead> latest;
  for (const audit::SignedTreeHead& head : *heads) {
    if (!audit::VerifyTreeHeadSignature(head, server_key).ok()) continue;
    if (!latest.has_value() || head.head.tree_size > latest->tree_size) latest = head.head;
  }
  return latest;
}

// The notice file (docs/audit.md, section 10): `notice` and `signature` are
// what a verifier reads; the other fields say the same for people.
std::string RestoreNoticeJson(const audit::SignedRestoreNotice& signed_notice, const SignPublicKey& server_key) {
  const audit::RestoreNotice& n = signed_notice.notice;
  nlohmann::ordered_json json = {
      {"kind", "trygg-restore-notice"},
      {"server_key", HexEncode(server_key.span())},
      {"notice", HexEncode(audit::EncodeRestoreNotice(n))},
      {"signature", HexEncode(signed_notice.signature.span())},
      {"restored", {{"tree_size", n.restored_tree_size}, {"root_hash", HexEncode(n.restored_root_hash.span())}}},
      {"restored_at_ms", n.restored_at_ms},
      {"superseded", nullptr},
  };
  if (n.superseded.has_value()) {
    json["superseded"] = {{"tree_size", n.superseded->tree_size},
                          {"timestamp_ms", n.superseded->timestamp_ms},
                          {"root_hash", HexEncode(n.superseded->root_hash.span())}};
  }
  return json.dump(2) + "\n";
}

// tryggd's lock on a data directory (tryggd.cc takes the same one for its
// whole life): held, no server can start on it; not available, one runs.
class DataDirLock {
 public:
  static absl::StatusOr<DataDirLock> Take(const std::string& dir) {
    struct stat st;
    if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return absl::InvalidArgumentError(
          absl::StrCat("data directory ", dir, " does not exist; create it (mkdir -m 700 ", dir, ")"));
    }
    DataDirLock lock;
    lock.path_ = dir + "/tryggd.lock";
    lock.created_ = !PathExists(lock.path_);
    lock.fd_ = open(lock.path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock.fd_ < 0) {
      return absl::PermissionDeniedError(absl::StrCat("data directory ", dir, " is not writable: ", SystemError()));
    }
    if (flock(lock.fd_, LOCK_EX | LOCK_NB) != 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "a tryggd is running on data directory ", dir, "; stop it (systemctl stop tryggd) before a restore"));
    }
    return lock;
  }
  DataDirLock(DataDirLock&& other) noexcept
      : path_(std::move(other.path_)), fd_(other.fd_), created_(other.created_), keep_(other.keep_) {
    other.fd_ = -1;
  }
  DataDirLock& operator=(DataDirLock&&) = delete;
  // A refused restore leaves no lock file it made.
  ~DataDirLock() {
    if (fd_ < 0) return;
    if (created_ && !keep_) unlink(path_.c_str());
    close(fd_);
  }
  void KeepFile() { keep_ = true; }

 private:
  DataDirLock() = default;
  std::string path_;
  int fd_ = -1;
  bool created_ = false;
  bool keep_ = false;
};

}  // namespace

std::string SealedKeyPathFor(const std::string& backup_path) { return backup_path + ".key"; }

absl::StatusOr<BackupSummary> Backup(const BackupOptions& options, Rng& rng) {
  if (options.with_signing_key != !options.passphrase_file.empty()) {
    return absl::InvalidArgumentError("--with-signing-key and --passphrase-file go together");
  }
  const std::string source = absl::StrCat(options.data_dir, "/", kDatabaseFileName);
  if (!PathExists(source)) {
    return absl::InvalidArgumentError(absl::StrCat("no database ", source, "; is --data-dir tryggd's data directory?"));
  }
  BackupSummary summary;
  summary.path = options.out;
  if (options.with_signing_key) summary.key_path = SealedKeyPathFor(options.out);
  for (const std::string& path : {summary.path, summary.key_path}) {
    if (!path.empty() && PathExists(path)) {
      return absl::AlreadyExistsError(absl::StrCat(path, " exists; a backup never replaces a file"));
    }
  }
  std::optional<Passphrase> passphrase;
  if (options.with_signing_key) {
    TRYGG_ASSIGN_OR_RETURN(Passphrase read, Passphrase::Read(options.passphrase_file));
    passphrase.emplace(std::move(read));
  }

  TRYGG_ASSIGN_OR_RETURN(TempFile temp, TempFile::Create(options.out + ".tmp."));
  std::function<void(const store::sqlite::CopyProgress&)> progress;
  if (options.progress) {
    progress = [&options](const store::sqlite::CopyProgress& p) { options.progress(p.pages_copied, p.pages_total); };
  }
  if (absl::Status copied = store::sqlite::CopyDatabase(source, temp.path(), progress); !copied.ok()) {
    return absl::Status(copied.code(), absl::StrCat("cannot copy ", source, ": ", copied.message()));
  }

  // The heads must verify under the key tryggd serves: the one the platform
  // root certified, which must then be the key file's; before any
  // certificate, the key file's.
  TRYGG_ASSIGN_OR_RETURN(std::unique_ptr<store::sqlite::AuditLogCopy> db, OpenCopy(temp.path(), "the copy"));
  TRYGG_ASSIGN_OR_RETURN(std::optional<SignPublicKey> certified, db->CertifiedServerKey());
  std::optional<ServerKey> key;
  if (options.with_signing_key || !certified.has_value()) {
    absl::StatusOr<ServerKey> loaded = LoadExistingServerKey(options.data_dir);
    if (!loaded.ok()) {
      return absl::Status(loaded.status().code(),
                          absl::StrCat(loaded.status().message(),
                                       certified.has_value() ? ""
                                                             : "; the database holds no server certificate, so "
                                                               "the heads can be checked only with this key"));
    }
    if (certified.has_value() && loaded->pair.public_key != *certified) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the database certifies server key ", HexEncode(certified->span()), " but ", options.data_dir, "/",
          kServerKeyFileName, " holds key ", HexEncode(loaded->pair.public_key.span())));
    }
    key.emplace(std::move(*loaded));
  }
  const SignPublicKey server_key = certified.has_value() ? *certified : key->pair.public_key;
  TRYGG_ASSIGN_OR_RETURN(summary.copy, CheckCopy(*db, server_key, "the copy"));
  db.reset();

  std::vector<uint8_t> sealed;
  if (options.with_signing_key) {
    // libsodium's secret key is seed || public key: the seed is its first half.
    TRYGG_ASSIGN_OR_RETURN(sealed, SealSigningKey(key->pair.secret_key.span().first<32>(), passphrase->view(),
                                                  SealingKdfLimits(), rng));
  }
  key.reset();

  TRYGG_RETURN_IF_ERROR(FsyncPath(temp.path(), /*directory=*/false));
  // link, unlike rename, refuses to replace an output that appeared meanwhile.
  if (link(temp.path().c_str(), options.out.c_str()) != 0) {
    return absl::FailedPreconditionError(absl::StrCat("cannot create ", options.out, ": ", SystemError()));
  }
  if (options.with_signing_key) {
    if (absl::Status written = WriteFileAtomically(summary.key_path, sealed, IfExists::kRefuse); !written.ok()) {
      unlink(options.out.c_str());
      return absl::Status(written.code(), absl::StrCat("cannot write the sealed key: ", written.message()));
    }
  }
  TRYGG_RETURN_IF_ERROR(FsyncPath(DirectoryOf(options.out), /*directory=*/true));
  summary.bytes = FileSizeOf(options.out);
  return summary;
}

absl::StatusOr<RestoreSummary> Restore(const RestoreOptions& options) {
  if (!PathExists(options.from)) return absl::InvalidArgumentError(absl::StrCat("no backup ", options.from));
  const std::string key_from = options.sealed_key.empty() ? SealedKeyPathFor(options.from) : options.sealed_key;
  if (!options.sealed_key.empty() && options.passphrase_file.empty()) {
    return absl::InvalidArgumentError("--sealed-key needs --passphrase-file");
  }
  std::optional<Passphrase> passphrase;
  if (!options.passphrase_file.empty()) {
    if (!PathExists(key_from)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--passphrase-file restores the sealed key ", key_from, ", which does not exist; without it the data "
          "directory's own ", kServerKeyFileName, " is kept"));
    }
    TRYGG_ASSIGN_OR_RETURN(Passphrase read, Passphrase::Read(options.passphrase_file));
    passphrase.emplace(std::move(read));
  }
  TRYGG_ASSIGN_OR_RETURN(DataDirLock lock, DataDirLock::Take(options.data_dir));

  const std::string db_path = absl::StrCat(options.data_dir, "/", kDatabaseFileName);
  const std::string key_path = absl::StrCat(options.data_dir, "/", kServerKeyFileName);
  const bool had_database = PathExists(db_path);
  if (had_database && !options.force) {
    return absl::FailedPreconditionError(absl::StrCat(
        db_path, " exists; restore into an empty data directory, or give --force to keep the old files beside, "
                 "renamed *.before-restore-<time>"));
  }

  // The sealed key first: a wrong passphrase costs no copy.
  std::optional<OpenedSigningKey> restored_key;
  if (passphrase.has_value()) {
    std::vector<uint8_t> sealed(kSealedSigningKeySize + 1);
    int fd = open(key_from.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return absl::InvalidArgumentError(absl::StrCat("cannot read ", key_from, ": ", SystemError()));
    const ssize_t n = read(fd, sealed.data(), sealed.size());
    close(fd);
    sealed.resize(n < 0 ? 0 : static_cast<size_t>(n));
    absl::StatusOr<OpenedSigningKey> opened = OpenSealedSigningKey(sealed, passphrase->view(), SealedKeyOpenOptions());
    if (!opened.ok()) return absl::Status(opened.status().code(), absl::StrCat(key_from, ": ", opened.status().message()));
    restored_key.emplace(std::move(*opened));
  }
  passphrase.reset();

  // What is checked is the copy in the data directory, byte for byte what
  // is then renamed into place.
  TRYGG_ASSIGN_OR_RETURN(TempFile temp, TempFile::Create(db_path + ".restore."));
  if (absl::Status copied = store::sqlite::CopyDatabase(options.from, temp.path(), nullptr); !copied.ok()) {
    return absl::DataLossError(absl::StrCat("cannot read the backup ", options.from, ": ", copied.message()));
  }
  TRYGG_ASSIGN_OR_RETURN(std::unique_ptr<store::sqlite::AuditLogCopy> db, OpenCopy(temp.path(), "the backup"));
  TRYGG_ASSIGN_OR_RETURN(std::optional<SignPublicKey> certified, db->CertifiedServerKey());

  // The key tryggd will serve after the restore: the restored one, else the
  // one the directory keeps. It must be the certified key, or tryggd would
  // refuse to start, and it is the key the heads must verify under.
  std::optional<SignPublicKey> existing_key;
  std::optional<ServerKey> existing_pair;  // signs the restore notice when no key is restored
  if (PathExists(key_path)) {
    absl::StatusOr<ServerKey> loaded = LoadExistingServerKey(options.data_dir);
    if (!loaded.ok()) return loaded.status();
    existing_key = loaded->pair.public_key;
    existing_pair.emplace(std::move(*loaded));
  }
  std::optional<SignPublicKey> serving = restored_key.has_value() ? restored_key->public_key : existing_key;
  const std::string key_source = restored_key.has_value() ? key_from : key_path;
  if (!serving.has_value()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the backup carries no server signing key here and ", key_path,
        " does not exist; give --passphrase-file to restore the sealed key ", key_from,
        " (a backup taken with --with-signing-key), or put the server's key file in place first"));
  }
  if (certified.has_value() && *certified != *serving) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the backup's database certifies server key ", HexEncode(certified->span()), " but ", key_source,
        " holds key ", HexEncode(serving->span()), "; restore the key of the same backup (--passphrase-file)"));
  }
  const bool replaces_key = restored_key.has_value() && existing_key.has_value() && *existing_key != *serving;
  if (replaces_key && !options.force) {
    return absl::FailedPreconditionError(absl::StrCat(
        key_path, " holds another key than the backup's; give --force to keep it beside, renamed"));
  }
  RestoreSummary summary;
  TRYGG_ASSIGN_OR_RETURN(summary.copy, CheckCopy(*db, *serving, absl::StrCat("the backup ", options.from)));
  db.reset();
  {
    audit::RestoreNotice notice;
    notice.restored_tree_size = summary.copy.tree_size;
    notice.restored_root_hash = summary.copy.root_hash;
    notice.restored_at_ms = NowMs();
    if (had_database) notice.superseded = LatestHeadUnder(db_path, *serving);
    summary.notice = restored_key.has_value()
                         ? audit::SignRestoreNotice(SigningKeyPairFromSeed(restored_key->seed.span()), notice)
                         : audit::SignRestoreNotice(existing_pair->pair, notice);
  }
  existing_pair.reset();
  TRYGG_RETURN_IF_ERROR(FsyncPath(temp.path(), /*directory=*/false));

  // Every check passed: from here on the data directory changes. The old
  // database's WAL holds committed writes, so it goes aside with it; a WAL
  // without its database is stale and would be applied to the restored one.
  const std::string stamp = UtcStamp(summary.notice.notice.restored_at_ms);
  const auto aside_of = [&](const std::string& path) { return absl::StrCat(path, ".before-restore-", stamp); };
  summary.notice_path = absl::StrCat(options.data_dir, "/restore-notice-", stamp, ".json");
  for (const std::string& taken : {aside_of(db_path), aside_of(db_path + "-wal"), aside_of(db_path + "-shm"),
                                   aside_of(key_path), summary.notice_path}) {
    if (PathExists(taken)) {
      return absl::FailedPreconditionError(absl::StrCat(taken, " exists; run the restore again"));
    }
  }
  auto keep_aside = [&](const std::string& path) -> absl::Status {
    const std::string aside = aside_of(path);
    if (rename(path.c_str(), aside.c_str()) != 0) {
      return absl::InternalError(absl::StrCat("cannot rename ", path, " to ", aside, ": ", SystemError()));
    }
    summary.kept_aside.push_back(aside);
    return absl::OkStatus();
  };
  for (const std::string& path : {db_path, db_path + "-wal", db_path + "-shm"}) {
    if (!PathExists(path)) continue;
    if (had_database) {
      TRYGG_RETURN_IF_ERROR(keep_aside(path));
    } else if (unlink(path.c_str()) != 0) {
      return absl::InternalError(absl::StrCat("cannot remove the stale ", path, ": ", SystemError()));
    }
  }
  if (replaces_key) TRYGG_RETURN_IF_ERROR(keep_aside(key_path));
  if (restored_key.has_value() && !(existing_key.has_value() && !replaces_key)) {
    TRYGG_RETURN_IF_ERROR(WriteFileAtomically(key_path, restored_key->seed.span(), IfExists::kRefuse));
    summary.key_restored = true;
    summary.key_from = key_from;
  }
  restored_key.reset();
  if (rename(temp.path().c_str(), db_path.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("cannot rename the restored database into ", db_path, ": ", SystemError()));
  }
  temp.Release();
  TRYGG_RETURN_IF_ERROR(FsyncPath(options.data_dir, /*directory=*/true));
  summary.database_path = db_path;
  const std::string notice_json = RestoreNoticeJson(summary.notice, *serving);
  if (absl::Status written = WriteFileAtomically(
          summary.notice_path, std::span(reinterpret_cast<const uint8_t*>(notice_json.data()), notice_json.size()),
          IfExists::kRefuse);
      !written.ok()) {
    return absl::InternalError(absl::StrCat("the backup is restored into ", db_path,
                                            ", but its restore notice could not be written: ", written.message(),
                                            "; run the restore again with --force to sign a new one"));
  }
  TRYGG_RETURN_IF_ERROR(FsyncPath(options.data_dir, /*directory=*/true));
  lock.KeepFile();
  return summary;
}

}  // namespace trygg::server
