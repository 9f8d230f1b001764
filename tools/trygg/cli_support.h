// SPDX-License-Identifier: Apache-2.0

// Shared plumbing of the two command-line tools (`trygg` and `trygg-admin`):
// reading a passphrase, choosing key-store KDF limits, parsing hex arguments,
// the certificate file format, and turning an absl::Status into the one line
// a person reads. Nothing here holds policy; the tools stay thin layers over
// libtrygg.
//
// Ownership: plain values; Passphrase wipes its buffer on destruction.
// Thread-safety: none needed (single-threaded tools).
// Failure modes: functions return absl::Status with a message a person can
// act on; ReadPassphrase fails when there is neither TRYGG_PASSPHRASE nor a
// terminal to prompt on.
#ifndef TRYGG_TOOLS_TRYGG_CLI_SUPPORT_H_
#define TRYGG_TOOLS_TRYGG_CLI_SUPPORT_H_

#include <filesystem>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "trygg/bytes.h"
#include "trygg/key_store.h"
#include "trygg/names.h"
#include "trygg/trust.h"

namespace trygg::cli {

// A passphrase held in an ordinary string that is wiped when it dies.
class Passphrase {
 public:
  explicit Passphrase(std::string value) : value_(std::move(value)) {}
  ~Passphrase();
  Passphrase(Passphrase&& other) noexcept : value_(std::move(other.value_)) {}
  Passphrase(const Passphrase&) = delete;
  Passphrase& operator=(const Passphrase&) = delete;
  std::string_view view() const { return value_; }

 private:
  std::string value_;
};

// TRYGG_PASSPHRASE when set (for scripts and tests), otherwise a prompt on
// /dev/tty with echo off. With `confirm`, a prompted passphrase is asked
// twice and must match (used when a key store is created).
absl::StatusOr<Passphrase> ReadPassphrase(std::string_view prompt, bool confirm);

// Asks a yes/no question on /dev/tty; false when there is no terminal.
bool ConfirmOnTerminal(std::string_view question);

// TRYGG_INSECURE_FAST_KDF=1 is for tests only: key stores are written with
// libsodium's minimum Argon2id limits and opened with allow_weak_kdf_for_tests.
// Only test builds read it (TRYGG_TEST_HOOKS, set by CMake for every build
// type but Release and MinSizeRel); elsewhere InsecureFastKdf() is false.
bool InsecureFastKdf();
KdfLimits KeyStoreKdfLimits();
KeyStoreOpenOptions KeyStoreOpenOptionsFromEnv();

// An id as the CLI prints it and ParseId reads it: 32 lower-case hex digits.
inline std::string Hex(const Id128& id) { return HexEncode(id.span()); }
absl::StatusOr<Id128> ParseId(std::string_view hex, std::string_view what);
absl::StatusOr<SignPublicKey> ParseSignKey(std::string_view hex, std::string_view what);
absl::StatusOr<BoxPublicKey> ParseBoxKey(std::string_view hex, std::string_view what);

// Role names as trygg/names.h spells them; ParseRole accepts only the roles
// of a member organisation's devices (caseworker, org-admin).
std::string RoleName(Role role);
absl::StatusOr<Role> ParseRole(std::string_view name);
// The value of `kind` named `name`; InvalidArgument "unknown <what> '<name>'"
// for anything else.
absl::StatusOr<uint8_t> ParseNamed(NamedEnum kind, std::string_view name, std::string_view what);
std::string CertificateKindName(CertificateKind kind);

// Certificate files made by trygg-admin and uploaded with `trygg
// upload-certificate`: JSON {"kind", "bytes" (hex), "signature" (hex)} plus
// fields for a person to read, which are ignored on input.
std::string EncodeCertificateFile(const RootCertificate& cert, const SignedObject& signed_cert);
struct CertificateFile {
  CertificateKind kind;
  SignedObject certificate;
};
absl::StatusOr<CertificateFile> DecodeCertificateFile(std::string_view text);

absl::StatusOr<std::string> ReadTextFile(const std::filesystem::path& path);
// Writes `text` to a new file (mode 0644); refuses to overwrite.
absl::Status WriteNewTextFile(const std::filesystem::path& path, std::string_view text);

// "2024-05-01T12:00:00Z": RFC 3339 in UTC, for --json and files.
std::string FormatTime(int64_t unix_millis);

// "2024-05-01 14:00 CEST": the time a person reads, in the zone TZ names
// (Europe/Stockholm when TZ is unset or empty), with the zone's abbreviation.
// The C library's tz database applies the daylight-saving rules. The first
// call sets TZ for this process when it is unset.
std::string FormatLocalTime(int64_t unix_millis);

// The one line shown after "error: ": plain words for the status code and the
// libtrygg reason (wrong passphrase, rollback, ...), then the message.
std::string DescribeError(const absl::Status& status);

// A command line that cannot work as given (a missing or conflicting flag)
// found only when the command runs, e.g. because a flag may also come from
// the config file. main() prints it as a usage error and exits 2, like a
// CLI11 parse error.
absl::Status UsageError(std::string_view message);
bool IsUsageError(const absl::Status& status);

}  // namespace trygg::cli

#endif  // TRYGG_TOOLS_TRYGG_CLI_SUPPORT_H_
