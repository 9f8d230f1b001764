// SPDX-License-Identifier: Apache-2.0

// The signed objects of "Keys and trust": root certificates, organisation log
// links, enrolment requests and session challenges. Each is a fixed binary
// layout (docs/protocol.md, "Trust") carried as a SignedObject: the exact
// bytes and the Ed25519 signature over `context || 0x00 || bytes`. Servers and
// clients verify these bytes; nobody re-serialises them.
//
// Ownership: plain values.
// Thread-safety: pure functions.
// Failure modes: Parse* return InvalidArgument tagged kMalformed or
// kUnknownMagic; Verify* return PermissionDenied tagged kBadSignature, or
// InvalidArgument tagged kWrongKind for a certificate of another kind.
#ifndef TRYGG_TRUST_H_
#define TRYGG_TRUST_H_

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "trygg/bytes.h"
#include "trygg/signing.h"

namespace trygg {

// A device's role in its organisation; the numbers match trygg.v1.Role.
enum class Role : uint8_t {
  kCaseworker = 1,
  kOrgAdmin = 2,
  kCoordinator = 3,
};

// Bytes and the signature over them, as stored and sent.
struct SignedObject {
  std::vector<uint8_t> bytes;
  Signature signature;
};

// BLAKE2b-256(bytes || signature): names a signed object in hash chains.
Hash256 SignedObjectHash(const SignedObject& object);

// --- Root certificates (signed by the offline platform root) ---------------

enum class CertificateKind : uint8_t {
  kOrganisation = 1,  // admits an organisation with its first admin device
  kCoordinator = 2,   // certifies a coordinator's device
  kServer = 3,        // certifies the server's signing key
};

inline constexpr size_t kMaxCertificateNameBytes = 200;

struct RootCertificate {
  CertificateKind kind = CertificateKind::kOrganisation;
  // Organisation id, coordinator id or server id.
  Id128 subject_id;
  // The first admin device (organisation), the coordinator's device, or the
  // server's key id.
  Id128 device_id;
  int64_t issued_at_ms = 0;
  SignPublicKey sign_key;
  // The device's X25519 key; all zero for a server certificate.
  BoxPublicKey box_key;
  // Display name, UTF-8, at most kMaxCertificateNameBytes.
  std::string name;
};

// "trygg/v1/org-cert", "trygg/v1/coordinator-cert" or "trygg/v1/server-cert".
SigningContext CertificateContext(CertificateKind kind);
absl::StatusOr<std::vector<uint8_t>> SerializeRootCertificate(const RootCertificate& cert);
absl::StatusOr<RootCertificate> ParseRootCertificate(std::span<const uint8_t> bytes);
absl::StatusOr<SignedObject> SignRootCertificate(const RootCertificate& cert,
                                                 const SigningKeyPair& root);
// Parses and verifies against the pinned root key; `kind`, when given, must match.
absl::StatusOr<RootCertificate> VerifyRootCertificate(const SignedObject& cert,
                                                      const SignPublicKey& root,
                                                      std::optional<CertificateKind> kind);

// --- Organisation log links (signed by an admin device) --------------------

enum class OrgLogAction : uint8_t {
  kAddDevice = 1,     // device_id, role, sign_key, box_key
  kRevokeDevice = 2,  // device_id
  kRotateOrgKey = 3,  // generation, org_box_key
  kChangeRole = 4,    // device_id, role
};

struct OrgLogLink {
  Id128 org_id;
  uint64_t seq = 0;  // 1 for the first link
  // SignedObjectHash of the previous link, or of the certificate for seq 1.
  Hash256 prev_hash;
  int64_t created_at_ms = 0;
  Id128 signer_device;
  OrgLogAction action = OrgLogAction::kAddDevice;
  Id128 device_id;
  Role role = Role::kCaseworker;
  SignPublicKey sign_key;
  BoxPublicKey box_key;
  uint32_t generation = 0;
  BoxPublicKey org_box_key;
};

std::vector<uint8_t> SerializeOrgLogLink(const OrgLogLink& link);
absl::StatusOr<OrgLogLink> ParseOrgLogLink(std::span<const uint8_t> bytes);
SignedObject SignOrgLogLink(const OrgLogLink& link, const SigningKeyPair& signer);

// --- Enrolment requests (self-signed by the new device) --------------------

// A label is at most 64 characters (code points) of UTF-8, so at most 256
// bytes, with no control or bidi control characters (trygg/label.h).
inline constexpr size_t kMaxEnrolmentLabelChars = 64;
inline constexpr size_t kMaxEnrolmentLabelBytes = 4 * kMaxEnrolmentLabelChars;

struct EnrolmentRequest {
  Id128 org_id;
  Id128 device_id;
  SignPublicKey sign_key;
  BoxPublicKey box_key;
  Role requested_role = Role::kCaseworker;
  int64_t created_at_ms = 0;
  // A short label the admin recognises ("Anna's laptop"): CheckLabel with
  // kMaxEnrolmentLabelChars, checked by Serialize/Sign and by Parse/Verify.
  std::string label;
};

absl::StatusOr<std::vector<uint8_t>> SerializeEnrolmentRequest(const EnrolmentRequest& request);
absl::StatusOr<EnrolmentRequest> ParseEnrolmentRequest(std::span<const uint8_t> bytes);
absl::StatusOr<SignedObject> SignEnrolmentRequest(const EnrolmentRequest& request,
                                                  const SigningKeyPair& device);
// Parses and checks the self-signature with the key inside the request.
absl::StatusOr<EnrolmentRequest> VerifyEnrolmentRequest(const SignedObject& request);

// --- Session challenges (made by the server, signed by a device) -----------

inline constexpr size_t kSessionChallengeSize = 4 + 1 + 16 + 16 + 32 + 8 + 8;

struct SessionChallenge {
  Id128 server_instance_id;
  Id128 device_id;
  std::array<uint8_t, 32> nonce{};
  int64_t issued_at_ms = 0;
  int64_t expires_at_ms = 0;
};

std::vector<uint8_t> SerializeSessionChallenge(const SessionChallenge& challenge);
absl::StatusOr<SessionChallenge> ParseSessionChallenge(std::span<const uint8_t> bytes);

}  // namespace trygg

#endif  // TRYGG_TRUST_H_
