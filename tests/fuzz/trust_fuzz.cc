// SPDX-License-Identifier: Apache-2.0

// The trust objects a device or the server parses from others (trygg/trust.h):
// root certificates, organisation log links, enrolment requests and session
// challenges.
//
// The first byte picks the object, the second whether it is parsed raw or
// signed first (with the fixed root key for certificates, with the key it
// names for an enrolment request) so that the checks behind the signature
// run too. Every parser is held to one encoding per value: what it accepts
// serialises back to exactly the input.
#include <cstdint>
#include <optional>
#include <vector>

#include "fuzz/fuzz_input.h"
#include "fuzz/fuzz_keys.h"
#include "trygg/trust.h"

namespace trygg::fuzz {
namespace {

bool Same(const std::vector<uint8_t>& a, std::span<const uint8_t> b) {
  return a == std::vector<uint8_t>(b.begin(), b.end());
}

void Certificate(FuzzInput& in, bool signed_first) {
  const uint8_t kind_choice = in.Byte();
  std::span<const uint8_t> bytes = in.Rest();
  absl::StatusOr<RootCertificate> cert = ParseRootCertificate(bytes);
  if (cert.ok()) {
    absl::StatusOr<std::vector<uint8_t>> again = SerializeRootCertificate(*cert);
    TRYGG_FUZZ_CHECK(again.ok() && Same(*again, bytes));
  }
  if (!signed_first) return;
  SignedObject object;
  object.bytes.assign(bytes.begin(), bytes.end());
  std::optional<CertificateKind> kind;
  if (kind_choice % 4 != 0) kind = static_cast<CertificateKind>(kind_choice % 4);
  // Signed under each kind's context: only the context of the kind the bytes
  // say may verify, so a certificate of one kind never passes as another.
  for (CertificateKind context_kind :
       {CertificateKind::kOrganisation, CertificateKind::kCoordinator, CertificateKind::kServer}) {
    object.signature = Sign(FixedSigningKey(0), CertificateContext(context_kind), object.bytes);
    absl::StatusOr<RootCertificate> verified = VerifyRootCertificate(object, FixedSigningKey(0).public_key, kind);
    if (!verified.ok()) continue;
    TRYGG_FUZZ_CHECK(cert.ok() && verified->kind == cert->kind && verified->kind == context_kind);
    TRYGG_FUZZ_CHECK(!kind.has_value() || *kind == verified->kind);
    TRYGG_FUZZ_CHECK(!VerifyRootCertificate(object, FixedSigningKey(1).public_key, kind).ok());
  }
}

void Link(FuzzInput& in) {
  std::span<const uint8_t> bytes = in.Rest();
  absl::StatusOr<OrgLogLink> link = ParseOrgLogLink(bytes);
  if (link.ok()) TRYGG_FUZZ_CHECK(Same(SerializeOrgLogLink(*link), bytes));
}

void Enrolment(FuzzInput& in, bool signed_first) {
  std::span<const uint8_t> bytes = in.Rest();
  absl::StatusOr<EnrolmentRequest> request = ParseEnrolmentRequest(bytes);
  if (request.ok()) {
    absl::StatusOr<std::vector<uint8_t>> again = SerializeEnrolmentRequest(*request);
    TRYGG_FUZZ_CHECK(again.ok() && Same(*again, bytes));
  }
  SignedObject object;
  object.bytes.assign(bytes.begin(), bytes.end());
  if (signed_first && request.ok()) {
    // Self-signed by the fixed key: verifies only if the request names it.
    object.signature = Sign(FixedSigningKey(2), SigningContext::kEnrolment, object.bytes);
    absl::StatusOr<EnrolmentRequest> verified = VerifyEnrolmentRequest(object);
    TRYGG_FUZZ_CHECK(verified.ok() == (request->sign_key == FixedSigningKey(2).public_key));
  } else {
    (void)VerifyEnrolmentRequest(object);
  }
}

void Challenge(FuzzInput& in) {
  std::span<const uint8_t> bytes = in.Rest();
  absl::StatusOr<SessionChallenge> challenge = ParseSessionChallenge(bytes);
  if (challenge.ok()) TRYGG_FUZZ_CHECK(Same(SerializeSessionChallenge(*challenge), bytes));
}

}  // namespace
}  // namespace trygg::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  trygg::fuzz::FuzzInput in(data, size);
  const uint8_t which = in.Byte();
  const bool signed_first = in.Byte() % 2 == 1;
  switch (which % 4) {
    case 0: trygg::fuzz::Certificate(in, signed_first); break;
    case 1: trygg::fuzz::Link(in); break;
    case 2: trygg::fuzz::Enrolment(in, signed_first); break;
    default: trygg::fuzz::Challenge(in); break;
  }
  return 0;
}
