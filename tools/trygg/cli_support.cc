// SPDX-License-Identifier: Apache-2.0

#include "cli_support.h"

#include <fcntl.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "absl/strings/cord.h"
#include "trygg/crypto_error.h"
#include "trygg/fingerprint.h"
#include "trygg/status_macros.h"

namespace trygg::cli {
namespace {

// The zone of the people Trygg is built for; TZ overrides it.
constexpr char kDefaultTimeZone[] = "Europe/Stockholm";

// Reads one line from `fd` without echo when `fd` is a terminal.
absl::StatusOr<std::string> ReadHiddenLine(int fd, std::string_view prompt) {
  (void)!write(fd, prompt.data(), prompt.size());
  termios saved{};
  const bool is_tty = tcgetattr(fd, &saved) == 0;
  if (is_tty) {
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ECHONL;
    tcsetattr(fd, TCSAFLUSH, &quiet);
  }
  std::string line;
  char c;
  ssize_t n;
  while ((n = read(fd, &c, 1)) == 1 && c != '\n') line.push_back(c);
  if (is_tty) tcsetattr(fd, TCSAFLUSH, &saved);
  if (n < 0) return absl::InternalError(std::string("cannot read the passphrase: ") + strerror(errno));
  return line;
}

int OpenTerminal() { return open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY); }

void Wipe(std::string& s) {
  if (!s.empty()) explicit_bzero(s.data(), s.size());
  s.clear();
}

template <typename Fixed>
absl::StatusOr<Fixed> ParseFixed(std::string_view hex, std::string_view what) {
  absl::StatusOr<std::vector<uint8_t>> bytes = HexDecode(hex);
  if (!bytes.ok() || bytes->size() != Fixed::kSize) {
    return absl::InvalidArgumentError(std::string(what) + " must be " + std::to_string(2 * Fixed::kSize) +
                                      " hex digits");
  }
  return Fixed::FromSpan(*bytes);
}

}  // namespace

Passphrase::~Passphrase() { Wipe(value_); }

absl::StatusOr<Passphrase> ReadPassphrase(std::string_view prompt, bool confirm) {
  if (const char* env = std::getenv("TRYGG_PASSPHRASE"); env != nullptr) {
    if (*env == '\0') return absl::InvalidArgumentError("TRYGG_PASSPHRASE is set but empty");
    return Passphrase(env);
  }
  int fd = OpenTerminal();
  if (fd < 0) {
    return absl::FailedPreconditionError("no terminal to ask for the passphrase; set TRYGG_PASSPHRASE");
  }
  absl::StatusOr<std::string> first = ReadHiddenLine(fd, prompt);
  if (first.ok() && confirm) {
    absl::StatusOr<std::string> second = ReadHiddenLine(fd, "Repeat the passphrase: ");
    if (!second.ok()) {
      first = second.status();
    } else if (*second != *first) {
      Wipe(*second);
      first = absl::InvalidArgumentError("the passphrases do not match");
    } else {
      Wipe(*second);
    }
  }
  close(fd);
  if (!first.ok()) return first.status();
  if (first->empty()) return absl::InvalidArgumentError("the passphrase is empty");
  Passphrase passphrase(std::move(*first));
  Wipe(*first);
  return passphrase;
}

bool ConfirmOnTerminal(std::string_view question) {
  int fd = OpenTerminal();
  if (fd < 0) return false;
  std::string prompt = std::string(question) + " [yes/no] ";
  (void)!write(fd, prompt.data(), prompt.size());
  std::string line;
  char c;
  while (read(fd, &c, 1) == 1 && c != '\n') line.push_back(c);
  close(fd);
  return line == "yes";
}

// Compiled only into test builds: a Release binary holds neither the variable's
// name nor the code that reads it (cmake/TryggTestHooks.cmake).
bool InsecureFastKdf() {
#if defined(TRYGG_TEST_HOOKS)
  const char* env = std::getenv("TRYGG_INSECURE_FAST_KDF");
  return env != nullptr && std::string_view(env) == "1";
#else
  return false;
#endif
}

KdfLimits KeyStoreKdfLimits() { return InsecureFastKdf() ? MinimumKdfLimitsForTests() : ModerateKdfLimits(); }

KeyStoreOpenOptions KeyStoreOpenOptionsFromEnv() {
  KeyStoreOpenOptions options;
  options.allow_weak_kdf_for_tests = InsecureFastKdf();
  return options;
}

absl::StatusOr<Id128> ParseId(std::string_view hex, std::string_view what) {
  return ParseFixed<Id128>(hex, what);
}
absl::StatusOr<SignPublicKey> ParseSignKey(std::string_view hex, std::string_view what) {
  return ParseFixed<SignPublicKey>(hex, what);
}
absl::StatusOr<BoxPublicKey> ParseBoxKey(std::string_view hex, std::string_view what) {
  return ParseFixed<BoxPublicKey>(hex, what);
}

std::string RoleName(Role role) {
  const std::string_view name = FormatName(NamedEnum::kRole, static_cast<uint8_t>(role));
  return name.empty() ? "unknown" : std::string(name);
}

absl::StatusOr<Role> ParseRole(std::string_view name) {
  // A device asks for, or is given, one of the two roles of a member
  // organisation; a coordinator is certified by the platform root instead.
  const std::optional<uint8_t> role = ParseName(NamedEnum::kRole, name);
  if (!role.has_value() || static_cast<Role>(*role) == Role::kCoordinator) {
    return absl::InvalidArgumentError("role must be caseworker or org-admin");
  }
  return static_cast<Role>(*role);
}

absl::StatusOr<uint8_t> ParseNamed(NamedEnum kind, std::string_view name, std::string_view what) {
  const std::optional<uint8_t> value = ParseName(kind, name);
  if (!value.has_value()) {
    return absl::InvalidArgumentError("unknown " + std::string(what) + " '" + std::string(name) + "'");
  }
  return *value;
}

std::string CertificateKindName(CertificateKind kind) {
  const std::string_view name = FormatName(NamedEnum::kCertificateKind, static_cast<uint8_t>(kind));
  return name.empty() ? "unknown" : std::string(name);
}

std::string EncodeCertificateFile(const RootCertificate& cert, const SignedObject& signed_cert) {
  nlohmann::ordered_json out;
  out["kind"] = CertificateKindName(cert.kind);
  out["bytes"] = HexEncode(signed_cert.bytes);
  out["signature"] = HexEncode(signed_cert.signature.span());
  // For a person reading the file; ignored when it is uploaded.
  out["name"] = cert.name;
  out["subject_id"] = HexEncode(cert.subject_id.span());
  out["device_id"] = HexEncode(cert.device_id.span());
  out["sign_key"] = HexEncode(cert.sign_key.span());
  out["sign_key_fingerprint"] = SafetyNumber(cert.sign_key);
  if (!cert.box_key.IsZero()) out["box_key"] = HexEncode(cert.box_key.span());
  out["issued_at"] = FormatTime(cert.issued_at_ms);
  return out.dump(2) + "\n";
}

absl::StatusOr<CertificateFile> DecodeCertificateFile(std::string_view text) {
  nlohmann::json in = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!in.is_object() || !in.contains("kind") || !in["kind"].is_string() || !in.contains("bytes") ||
      !in["bytes"].is_string() || !in.contains("signature") || !in["signature"].is_string()) {
    return absl::InvalidArgumentError(
        "not a certificate file: expected JSON with string fields kind, bytes and signature");
  }
  CertificateFile file;
  const std::optional<uint8_t> kind = ParseName(NamedEnum::kCertificateKind, in["kind"].get<std::string>());
  if (!kind.has_value()) {
    return absl::InvalidArgumentError("certificate kind must be " + NameChoices(NamedEnum::kCertificateKind));
  }
  file.kind = static_cast<CertificateKind>(*kind);
  absl::StatusOr<std::vector<uint8_t>> bytes = HexDecode(in["bytes"].get<std::string>());
  if (!bytes.ok()) return absl::InvalidArgumentError("certificate bytes are not hex");
  file.certificate.bytes = std::move(*bytes);
  TRYGG_ASSIGN_OR_RETURN(file.certificate.signature,
                         ParseFixed<Signature>(in["signature"].get<std::string>(), "certificate signature"));
  return file;
}

absl::StatusOr<std::string> ReadTextFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError("cannot read " + path.string());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

absl::Status WriteNewTextFile(const std::filesystem::path& path, std::string_view text) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    if (errno == EEXIST) return absl::AlreadyExistsError(path.string() + " exists; choose another file");
    return absl::InternalError("cannot create " + path.string() + ": " + strerror(errno));
  }
  const char* data = text.data();
  size_t left = text.size();
  while (left > 0) {
    ssize_t n = write(fd, data, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      close(fd);
      return absl::InternalError("cannot write " + path.string() + ": " + strerror(errno));
    }
    data += n;
    left -= static_cast<size_t>(n);
  }
  if (fsync(fd) != 0 || close(fd) != 0) {
    return absl::InternalError("cannot write " + path.string() + ": " + strerror(errno));
  }
  return absl::OkStatus();
}

std::string FormatTime(int64_t unix_millis) {
  std::time_t seconds = static_cast<std::time_t>(unix_millis / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

std::string FormatLocalTime(int64_t unix_millis) {
  // Read TZ once, before any thread could be looking at the environment
  // concurrently with the change (the tools call this from their main thread).
  static const bool zone_ready = [] {
    const char* tz = std::getenv("TZ");
    if (tz == nullptr || *tz == '\0') setenv("TZ", kDefaultTimeZone, 1);
    tzset();
    return true;
  }();
  (void)zone_ready;
  std::time_t seconds = static_cast<std::time_t>(unix_millis / 1000);
  if (unix_millis < 0 && unix_millis % 1000 != 0) --seconds;
  std::tm tm{};
  if (localtime_r(&seconds, &tm) == nullptr) return FormatTime(unix_millis);
  char buffer[64];
  if (std::strftime(buffer, sizeof(buffer), "%Y-%m-%d %H:%M %Z", &tm) == 0) return FormatTime(unix_millis);
  return buffer;
}

std::string DescribeError(const absl::Status& status) {
  const std::string message(status.message());
  if (std::optional<CryptoError> reason = GetCryptoError(status); reason.has_value()) {
    switch (*reason) {
      case CryptoError::kWrongPassphrase:
        return "wrong passphrase for the key store";
      case CryptoError::kCorruptKeyStore:
        return "the key store file is damaged: " + message;
      case CryptoError::kWeakKdfLimits:
        return "the key store asks for weak passphrase hashing limits and was refused: " + message;
      case CryptoError::kRollback:
        return "verification failed: the server showed less than this device has seen before (rollback): " +
               message;
      case CryptoError::kFork:
        return "verification failed: the server showed a different history than this device has seen before "
               "(fork): " + message;
      default:
        return "verification failed (" + std::string(CryptoErrorName(*reason)) + "): " + message;
    }
  }
  switch (status.code()) {
    case absl::StatusCode::kUnauthenticated:
      return "authentication failed: " + message;
    case absl::StatusCode::kPermissionDenied:
      return "permission denied: " + message;
    case absl::StatusCode::kUnavailable:
      // What gRPC says when a plaintext client reaches a TLS port: the server
      // drops a connection that does not start a TLS handshake.
      if (message.find("Socket closed") != std::string::npos) {
        return "server unavailable: " + message +
               " (if the server listens with TLS, pass --tls-roots PEM, or set tls_roots in the config)";
      }
      return "server unavailable: " + message;
    case absl::StatusCode::kDeadlineExceeded:
      return "the server did not answer in time: " + message;
    case absl::StatusCode::kNotFound:
      return "not found: " + message;
    case absl::StatusCode::kAlreadyExists:
      return "already exists: " + message;
    case absl::StatusCode::kInvalidArgument:
      return "invalid input: " + message;
    case absl::StatusCode::kFailedPrecondition:
      return "not possible now: " + message;
    case absl::StatusCode::kDataLoss:
      return "the server sent inconsistent data: " + message;
    case absl::StatusCode::kUnimplemented:
      return "the server does not support this: " + message;
    default:
      return message;
  }
}

namespace {
constexpr char kUsagePayload[] = "trygg.cli/usage";
}  // namespace

absl::Status UsageError(std::string_view message) {
  absl::Status status = absl::InvalidArgumentError(std::string(message));
  status.SetPayload(kUsagePayload, absl::Cord("1"));
  return status;
}

bool IsUsageError(const absl::Status& status) { return status.GetPayload(kUsagePayload).has_value(); }

}  // namespace trygg::cli
