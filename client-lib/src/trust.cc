// SPDX-License-Identifier: Apache-2.0

#include "trygg/trust.h"

#include <algorithm>
#include <cstring>

#include "internal/byte_codec.h"
#include "internal/signed_layout.h"
#include "trygg/crypto_error.h"
#include "trygg/label.h"
#include "trygg/status_macros.h"

namespace trygg {
namespace {

using internal::ByteReader;
using internal::ByteWriter;
using internal::kFormatV1;
using internal::Malformed;
using internal::ReadFixed;
using internal::ReadPreamble;

constexpr uint8_t kCertMagic[4] = {'T', 'R', 'C', '1'};
constexpr uint8_t kLinkMagic[4] = {'T', 'O', 'L', '1'};
constexpr uint8_t kEnrolmentMagic[4] = {'T', 'E', 'R', '1'};
constexpr uint8_t kChallengeMagic[4] = {'T', 'S', 'C', '1'};

absl::Status WriteText(ByteWriter& out, const std::string& text, size_t max, std::string_view what) {
  if (text.size() > max) {
    return Malformed(what, "text longer than " + std::to_string(max) + " bytes");
  }
  out.U16(static_cast<uint16_t>(text.size()));
  out.Bytes(AsBytes(text));
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadText(ByteReader& in, size_t max, std::string_view what) {
  uint16_t size = in.U16();
  if (in.failed() || size > max || in.remaining() < size) return Malformed(what, "bad text length");
  std::string text(size, '\0');
  in.Bytes(std::span<uint8_t>(reinterpret_cast<uint8_t*>(text.data()), text.size()));
  return text;
}

bool ValidDeviceRole(uint8_t role) {
  return role == static_cast<uint8_t>(Role::kCaseworker) || role == static_cast<uint8_t>(Role::kOrgAdmin);
}

}  // namespace

Hash256 SignedObjectHash(const SignedObject& object) {
  std::vector<uint8_t> message = object.bytes;
  message.insert(message.end(), object.signature.array().begin(), object.signature.array().end());
  return Blake2b256(message);
}

// --- Root certificates -----------------------------------------------------

SigningContext CertificateContext(CertificateKind kind) {
  switch (kind) {
    case CertificateKind::kOrganisation: return SigningContext::kOrgCert;
    case CertificateKind::kCoordinator: return SigningContext::kCoordinatorCert;
    case CertificateKind::kServer: return SigningContext::kServerCert;
  }
  TRYGG_CHECK(false && "unknown CertificateKind");
  return SigningContext::kOrgCert;
}

absl::StatusOr<std::vector<uint8_t>> SerializeRootCertificate(const RootCertificate& cert) {
  std::vector<uint8_t> bytes;
  ByteWriter out(bytes);
  out.Bytes(kCertMagic);
  out.U8(kFormatV1);
  out.U8(static_cast<uint8_t>(cert.kind));
  out.Bytes(cert.subject_id.span());
  out.Bytes(cert.device_id.span());
  out.I64(cert.issued_at_ms);
  out.Bytes(cert.sign_key.span());
  out.Bytes(cert.box_key.span());
  TRYGG_RETURN_IF_ERROR(WriteText(out, cert.name, kMaxCertificateNameBytes, "certificate"));
  return bytes;
}

absl::StatusOr<RootCertificate> ParseRootCertificate(std::span<const uint8_t> bytes) {
  ByteReader in(bytes);
  TRYGG_RETURN_IF_ERROR(ReadPreamble(in, kCertMagic, "certificate"));
  RootCertificate cert;
  uint8_t kind = in.U8();
  if (kind < 1 || kind > 3) return Malformed("certificate", "unknown kind");
  cert.kind = static_cast<CertificateKind>(kind);
  cert.subject_id = ReadFixed<Id128>(in);
  cert.device_id = ReadFixed<Id128>(in);
  cert.issued_at_ms = in.I64();
  cert.sign_key = ReadFixed<SignPublicKey>(in);
  cert.box_key = ReadFixed<BoxPublicKey>(in);
  TRYGG_ASSIGN_OR_RETURN(cert.name, ReadText(in, kMaxCertificateNameBytes, "certificate"));
  if (!in.exhausted()) return Malformed("certificate", "wrong length");
  return cert;
}

absl::StatusOr<SignedObject> SignRootCertificate(const RootCertificate& cert,
                                                 const SigningKeyPair& root) {
  SignedObject signed_cert;
  TRYGG_ASSIGN_OR_RETURN(signed_cert.bytes, SerializeRootCertificate(cert));
  signed_cert.signature = Sign(root, CertificateContext(cert.kind), signed_cert.bytes);
  return signed_cert;
}

absl::StatusOr<RootCertificate> VerifyRootCertificate(const SignedObject& cert,
                                                      const SignPublicKey& root,
                                                      std::optional<CertificateKind> kind) {
  TRYGG_ASSIGN_OR_RETURN(RootCertificate parsed, ParseRootCertificate(cert.bytes));
  if (kind.has_value() && parsed.kind != *kind) {
    return MakeCryptoError(absl::StatusCode::kInvalidArgument, CryptoError::kWrongKind,
                           "certificate: of another kind than expected");
  }
  TRYGG_RETURN_IF_ERROR(Verify(root, CertificateContext(parsed.kind), cert.bytes, cert.signature));
  return parsed;
}

// --- Organisation log links ------------------------------------------------

std::vector<uint8_t> SerializeOrgLogLink(const OrgLogLink& link) {
  std::vector<uint8_t> bytes;
  ByteWriter out(bytes);
  out.Bytes(kLinkMagic);
  out.U8(kFormatV1);
  out.Bytes(link.org_id.span());
  out.U64(link.seq);
  out.Bytes(link.prev_hash.span());
  out.I64(link.created_at_ms);
  out.Bytes(link.signer_device.span());
  out.U8(static_cast<uint8_t>(link.action));
  switch (link.action) {
    case OrgLogAction::kAddDevice:
      out.Bytes(link.device_id.span());
      out.U8(static_cast<uint8_t>(link.role));
      out.Bytes(link.sign_key.span());
      out.Bytes(link.box_key.span());
      break;
    case OrgLogAction::kRevokeDevice:
      out.Bytes(link.device_id.span());
      break;
    case OrgLogAction::kRotateOrgKey:
      out.U32(link.generation);
      out.Bytes(link.org_box_key.span());
      break;
    case OrgLogAction::kChangeRole:
      out.Bytes(link.device_id.span());
      out.U8(static_cast<uint8_t>(link.role));
      break;
  }
  return bytes;
}

absl::StatusOr<OrgLogLink> ParseOrgLogLink(std::span<const uint8_t> bytes) {
  ByteReader in(bytes);
  TRYGG_RETURN_IF_ERROR(ReadPreamble(in, kLinkMagic, "org log link"));
  OrgLogLink link;
  link.org_id = ReadFixed<Id128>(in);
  link.seq = in.U64();
  link.prev_hash = ReadFixed<Hash256>(in);
  link.created_at_ms = in.I64();
  link.signer_device = ReadFixed<Id128>(in);
  uint8_t action = in.U8();
  uint8_t role = static_cast<uint8_t>(Role::kCaseworker);
  switch (action) {
    case static_cast<uint8_t>(OrgLogAction::kAddDevice):
      link.device_id = ReadFixed<Id128>(in);
      role = in.U8();
      link.sign_key = ReadFixed<SignPublicKey>(in);
      link.box_key = ReadFixed<BoxPublicKey>(in);
      break;
    case static_cast<uint8_t>(OrgLogAction::kRevokeDevice):
      link.device_id = ReadFixed<Id128>(in);
      break;
    case static_cast<uint8_t>(OrgLogAction::kRotateOrgKey):
      link.generation = in.U32();
      link.org_box_key = ReadFixed<BoxPublicKey>(in);
      break;
    case static_cast<uint8_t>(OrgLogAction::kChangeRole):
      link.device_id = ReadFixed<Id128>(in);
      role = in.U8();
      break;
    default:
      return Malformed("org log link", "unknown action");
  }
  if (!in.exhausted()) return Malformed("org log link", "wrong length");
  if (!ValidDeviceRole(role)) return Malformed("org log link", "unknown role");
  link.action = static_cast<OrgLogAction>(action);
  link.role = static_cast<Role>(role);
  if (link.seq == 0) return Malformed("org log link", "sequence numbers start at 1");
  return link;
}

SignedObject SignOrgLogLink(const OrgLogLink& link, const SigningKeyPair& signer) {
  SignedObject signed_link;
  signed_link.bytes = SerializeOrgLogLink(link);
  signed_link.signature = Sign(signer, SigningContext::kOrgLog, signed_link.bytes);
  return signed_link;
}

// --- Enrolment requests ----------------------------------------------------

absl::StatusOr<std::vector<uint8_t>> SerializeEnrolmentRequest(const EnrolmentRequest& request) {
  std::vector<uint8_t> bytes;
  ByteWriter out(bytes);
  out.Bytes(kEnrolmentMagic);
  out.U8(kFormatV1);
  out.Bytes(request.org_id.span());
  out.Bytes(request.device_id.span());
  out.Bytes(request.sign_key.span());
  out.Bytes(request.box_key.span());
  out.U8(static_cast<uint8_t>(request.requested_role));
  out.I64(request.created_at_ms);
  TRYGG_RETURN_IF_ERROR(CheckLabel(request.label, kMaxEnrolmentLabelChars, "enrolment request label"));
  TRYGG_RETURN_IF_ERROR(WriteText(out, request.label, kMaxEnrolmentLabelBytes, "enrolment request"));
  return bytes;
}

absl::StatusOr<EnrolmentRequest> ParseEnrolmentRequest(std::span<const uint8_t> bytes) {
  ByteReader in(bytes);
  TRYGG_RETURN_IF_ERROR(ReadPreamble(in, kEnrolmentMagic, "enrolment request"));
  EnrolmentRequest request;
  request.org_id = ReadFixed<Id128>(in);
  request.device_id = ReadFixed<Id128>(in);
  request.sign_key = ReadFixed<SignPublicKey>(in);
  request.box_key = ReadFixed<BoxPublicKey>(in);
  uint8_t role = in.U8();
  request.created_at_ms = in.I64();
  TRYGG_ASSIGN_OR_RETURN(request.label, ReadText(in, kMaxEnrolmentLabelBytes, "enrolment request"));
  if (!in.exhausted()) return Malformed("enrolment request", "wrong length");
  if (!ValidDeviceRole(role)) return Malformed("enrolment request", "unknown role");
  // The label is shown to the approving admin: the same rule as when it is made.
  if (absl::Status label = CheckLabel(request.label, kMaxEnrolmentLabelChars, "label"); !label.ok()) {
    return Malformed("enrolment request", std::string(label.message()));
  }
  request.requested_role = static_cast<Role>(role);
  return request;
}

absl::StatusOr<SignedObject> SignEnrolmentRequest(const EnrolmentRequest& request,
                                                  const SigningKeyPair& device) {
  SignedObject signed_request;
  TRYGG_ASSIGN_OR_RETURN(signed_request.bytes, SerializeEnrolmentRequest(request));
  signed_request.signature = Sign(device, SigningContext::kEnrolment, signed_request.bytes);
  return signed_request;
}

absl::StatusOr<EnrolmentRequest> VerifyEnrolmentRequest(const SignedObject& request) {
  TRYGG_ASSIGN_OR_RETURN(EnrolmentRequest parsed, ParseEnrolmentRequest(request.bytes));
  TRYGG_RETURN_IF_ERROR(Verify(parsed.sign_key, SigningContext::kEnrolment, request.bytes, request.signature));
  return parsed;
}

// --- Session challenges ----------------------------------------------------

std::vector<uint8_t> SerializeSessionChallenge(const SessionChallenge& challenge) {
  std::vector<uint8_t> bytes;
  ByteWriter out(bytes);
  out.Bytes(kChallengeMagic);
  out.U8(kFormatV1);
  out.Bytes(challenge.server_instance_id.span());
  out.Bytes(challenge.device_id.span());
  out.Bytes(challenge.nonce);
  out.I64(challenge.issued_at_ms);
  out.I64(challenge.expires_at_ms);
  return bytes;
}

absl::StatusOr<SessionChallenge> ParseSessionChallenge(std::span<const uint8_t> bytes) {
  ByteReader in(bytes);
  TRYGG_RETURN_IF_ERROR(ReadPreamble(in, kChallengeMagic, "session challenge"));
  SessionChallenge challenge;
  challenge.server_instance_id = ReadFixed<Id128>(in);
  challenge.device_id = ReadFixed<Id128>(in);
  in.Bytes(challenge.nonce);
  challenge.issued_at_ms = in.I64();
  challenge.expires_at_ms = in.I64();
  if (!in.exhausted()) return Malformed("session challenge", "wrong length");
  return challenge;
}

}  // namespace trygg
