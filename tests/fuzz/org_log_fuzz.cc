// SPDX-License-Identifier: Apache-2.0

// Organisation logs (trygg/org_log.h): OrgLogState::Apply over sequences of
// links, as a device verifies an organisation's log from its root-signed
// certificate on.
//
// The log starts from a certificate signed by the fixed root key, admitting
// device 1 (fixed key 1) as the first admin. Each step then makes one link:
// its action, device, role, keys and signer come from the input, its seq and
// prev_hash are right or (when the input says so) made up, and it is signed
// with the fixed key of the device it names as signer, or of another. Every
// step is also tried as raw input bytes signed by the admin. Whatever Apply
// decides, the rules it must keep are checked: an accepted link moves the
// head by exactly one and names the previous head; a refused link changes
// nothing; a revoked device stays revoked; and every accepted link was signed
// by the key of a device that was an active admin just before.
#include <array>
#include <cstdint>
#include <map>

#include "fuzz/fuzz_input.h"
#include "fuzz/fuzz_keys.h"
#include "trygg/org_log.h"
#include "trygg/trust.h"

namespace trygg::fuzz {
namespace {

Id128 Device(uint8_t n) {
  std::array<uint8_t, 16> id{};
  id[15] = static_cast<uint8_t>(1 + n % 4);  // devices 1..4
  return Id128(id);
}

const Id128 kOrg = Id128(std::array<uint8_t, 16>{0x0A});

SignedObject Certificate() {
  RootCertificate cert;
  cert.kind = CertificateKind::kOrganisation;
  cert.subject_id = kOrg;
  cert.device_id = Device(0);
  cert.issued_at_ms = 1'700'000'000'000;
  cert.sign_key = FixedSigningKey(1).public_key;
  cert.box_key = FixedBoxKey(1).public_key;
  cert.name = "Fuzz shelter";
  return SignRootCertificate(cert, FixedSigningKey(0)).value();
}

struct Snapshot {
  uint64_t seq;
  Hash256 hash;
  uint32_t generation;
  std::map<Id128, bool> revoked;
};

Snapshot Take(const OrgLogState& state) {
  Snapshot s{state.seq(), state.head().hash, state.generation(), {}};
  for (const auto& [id, device] : state.devices()) s.revoked[id] = device.revoked;
  return s;
}

bool Unchanged(const Snapshot& a, const Snapshot& b) {
  return a.seq == b.seq && a.hash == b.hash && a.generation == b.generation && a.revoked == b.revoked;
}

// The fixed key index a device was given when it was added (device n has
// key n when the input adds it with its own key).
uint8_t KeyIndexOf(const OrgLogState& state, const Id128& device) {
  const DeviceRecord* record = state.FindDevice(device);
  if (record == nullptr) return 0xFF;
  for (uint8_t k = 0; k < 8; ++k) {
    if (FixedSigningKey(k).public_key == record->sign_key) return k;
  }
  return 0xFF;
}

void Step(OrgLogState& state, FuzzInput& in) {
  const uint8_t shape = in.Byte();
  OrgLogLink link;
  link.org_id = (shape & 0x80) != 0 ? Id128(std::array<uint8_t, 16>{0x0B}) : kOrg;
  link.seq = (shape & 0x40) != 0 ? in.U32() : state.seq() + 1;
  link.prev_hash = (shape & 0x20) != 0 ? Hash256::FromSpan(in.Padded(32)).value() : state.head().hash;
  link.created_at_ms = 1'700'000'000'000 + static_cast<int64_t>(in.U32());
  link.signer_device = Device(in.Byte());
  link.action = static_cast<OrgLogAction>(1 + in.Byte() % 5);  // 5 is no action
  const uint8_t who = in.Byte();
  link.device_id = Device(who);
  link.role = static_cast<Role>(in.Byte() % 5);                // 0 and 4 are no role
  link.sign_key = FixedSigningKey(who % 8).public_key;
  link.box_key = FixedBoxKey(who % 8).public_key;
  link.generation = in.Byte();
  link.org_box_key = FixedBoxKey(in.Byte()).public_key;
  const uint8_t signer_key = in.Byte() % 8;

  const Snapshot before = Take(state);
  const DeviceRecord* signer = state.ActiveDevice(link.signer_device);
  const bool signer_was_admin = signer != nullptr && signer->role == Role::kOrgAdmin &&
                                signer->sign_key == FixedSigningKey(signer_key).public_key;
  SignedObject signed_link = SignOrgLogLink(link, FixedSigningKey(signer_key));
  const absl::Status applied = state.Apply(signed_link);
  const Snapshot after = Take(state);
  if (!applied.ok()) {
    TRYGG_FUZZ_CHECK(Unchanged(before, after));
    return;
  }
  TRYGG_FUZZ_CHECK(after.seq == before.seq + 1);
  TRYGG_FUZZ_CHECK(link.seq == after.seq && link.prev_hash == before.hash && link.org_id == kOrg);
  TRYGG_FUZZ_CHECK(signer_was_admin);
  for (const auto& [id, revoked] : before.revoked) {
    if (revoked) TRYGG_FUZZ_CHECK(after.revoked.at(id));
  }
  TRYGG_FUZZ_CHECK(after.generation >= before.generation);
}

void RawStep(OrgLogState& state, FuzzInput& in) {
  SignedObject object;
  object.bytes = in.Vector(in.Byte() + 64);
  const uint8_t signer = KeyIndexOf(state, Device(0));
  object.signature = Sign(FixedSigningKey(signer == 0xFF ? 1 : signer), SigningContext::kOrgLog, object.bytes);
  const Snapshot before = Take(state);
  if (!state.Apply(object).ok()) TRYGG_FUZZ_CHECK(Unchanged(before, Take(state)));
}

}  // namespace
}  // namespace trygg::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace trygg::fuzz;
  static const trygg::SignedObject certificate = Certificate();
  absl::StatusOr<trygg::OrgLogState> state =
      trygg::OrgLogState::FromCertificate(certificate, FixedSigningKey(0).public_key);
  TRYGG_FUZZ_CHECK(state.ok());
  FuzzInput in(data, size);
  for (int steps = 0; steps < 64 && !in.empty(); ++steps) {
    if (in.Byte() % 8 == 0) {
      RawStep(*state, in);
    } else {
      Step(*state, in);
    }
  }
  return 0;
}
