// SPDX-License-Identifier: Apache-2.0

// Consent and referrals (server/domain/referrals.cc) in process: the state
// machine with every party (sender, receiver, a third organisation, a
// coordinator, the server), consent coverage, expiry and withdrawal, and the
// exact refusal for each broken rule. Every refusal is checked to change
// nothing: the database's rows (audit log included) are the same after it.
#include "server/domain/referrals.h"

#include <catch2/catch.hpp>
#include <functional>

#include "unit/server/domain/domain_world.h"

namespace trygg::domain_test {
namespace {

using domain::ReferralRow;
using domain::ReferralView;
using domain::Transaction;
using S = ReferralState;
using Code = absl::StatusCode;

constexpr int64_t kDayMs = 24 * kHourMs;
constexpr uint32_t kResponseHours = 72;
const std::vector<uint8_t> kEvidence = {'e', 'v', 'i', 'd', 'e', 'n', 'c', 'e'};

// Org A refers a case to org B's shelter listing; org C is a third member
// organisation and `coordinator` a platform coordinator.
struct ReferralWorld {
  DomainWorld world;
  WorldOrg& a = world.AdmitOrganisation("A");
  WorldOrg& b = world.AdmitOrganisation("B");
  WorldOrg& c = world.AdmitOrganisation("C");
  WorldDevice& anna = world.AddDevice(a, Role::kCaseworker);
  WorldDevice& bo = world.AddDevice(b, Role::kCaseworker);
  WorldDevice& carl = world.AddDevice(c, Role::kCaseworker);
  WorldDevice& coordinator = world.AddCoordinator("Samordnare");
  WorldCase kase = world.OpenCase(a, anna);
  Id128 shelter = world.PublishListing(b, ServiceCategory::kShelter, kResponseHours);
  Id128 consent = world.RecordConsent(anna, kase, b.org_id, ServiceBit(static_cast<uint8_t>(ServiceCategory::kShelter)),
                                      kWorldStartMs + 30 * kDayMs);

  absl::StatusOr<ReferralRow> Create(const WorldDevice& caller, const domain::NewReferral& request) {
    return world.Write([&](Transaction& txn) { return world.referrals().Create(txn, caller.caller(), request); });
  }
  ReferralDraft Draft(const Id128& consent_id) {
    return world.DraftReferral(anna, a, kase, b, shelter, ServiceCategory::kShelter, consent_id);
  }
  // A referral A -> B on the consent, created.
  ReferralRow Send() {
    auto row = Create(anna, Draft(consent).request);
    INFO(row.status().ToString());
    REQUIRE(row.ok());
    return *row;
  }
  absl::StatusOr<ReferralRow> Transition(const WorldDevice& caller, const Id128& referral_id,
                                         const SignedObject& move) {
    return world.Write(
        [&](Transaction& txn) { return world.referrals().Transition(txn, caller.caller(), referral_id, move); });
  }
  absl::StatusOr<ReferralRow> Step(const WorldDevice& actor, const Id128& referral_id, S from, S to,
                                   uint8_t code = 0) {
    return Transition(actor, referral_id, world.Move(actor, referral_id, from, to, code));
  }
  absl::StatusOr<ReferralView> Get(const WorldDevice& caller, const Id128& referral_id) {
    return world.Read([&](Transaction& txn) { return world.referrals().Get(txn, caller.caller(), referral_id); });
  }
  absl::StatusOr<std::vector<ReferralRow>> List(const WorldDevice& caller, bool inbox) {
    return world.Read([&](Transaction& txn) {
      return world.referrals().List(txn, caller.caller(), inbox, domain::ReferralFilter(), domain::ReferralCursor(),
                                    100);
    });
  }
  absl::StatusOr<std::vector<ReferralRow>> ExpireDue() {
    return world.Write([&](Transaction& txn) { return world.referrals().ExpireDue(txn, 100); });
  }
  // B's grants on the referral's scope.
  size_t ReceiverGrants(const ReferralRow& row) {
    auto view = Get(bo, row.referral_id);
    REQUIRE(view.ok());
    return view->grants.size();
  }
  SignedObject SignedConsent(const ConsentRecord& record, const WorldDevice& signer) {
    auto signed_consent = SignConsentRecord(record, signer.signing());
    REQUIRE(signed_consent.ok());
    return *signed_consent;
  }
  absl::StatusOr<Id128> RecordConsent(const WorldDevice& caller, const SignedObject& consent,
                                      const std::vector<uint8_t>& evidence = kEvidence) {
    return world.Write([&](Transaction& txn) {
      return world.referrals().RecordConsent(txn, caller.caller(), consent, evidence);
    });
  }
  SignedObject Withdrawal(const WorldDevice& device, const Id128& consent_id, int64_t at_ms = 0) {
    ConsentWithdrawal withdrawal{consent_id, kase.case_id, at_ms == 0 ? world.clock().NowUnixMillis() : at_ms,
                                 device.device_id};
    auto signed_withdrawal = SignConsentWithdrawal(withdrawal, device.signing());
    REQUIRE(signed_withdrawal.ok());
    return *signed_withdrawal;
  }
  absl::StatusOr<std::vector<ReferralRow>> Withdraw(const WorldDevice& caller, const SignedObject& withdrawal) {
    return world.Write(
        [&](Transaction& txn) { return world.referrals().WithdrawConsent(txn, caller.caller(), withdrawal); });
  }
};

TEST_CASE_METHOD(ReferralWorld, "a caller of no known role is refused by every referral function",
                 "[referral][authz]") {
  ReferralRow row = Send();
  domain::Caller nobody = anna.caller();
  nobody.role = static_cast<Role>(0);
  const domain::Referrals& referrals = world.referrals();
  const ReferralDraft draft = Draft(consent);
  const SignedObject move = world.Move(anna, row.referral_id, S::kSent, S::kWithdrawn);
  const SignedObject consent_record = SignedConsent(
      world.ConsentDraft(anna, kase, b.org_id, kAllServicesMask, kWorldStartMs + kDayMs), anna);
  const SignedObject withdrawal = Withdrawal(anna, consent);
  const std::vector<std::function<absl::Status(Transaction&)>> calls = {
      [&](Transaction& txn) { return referrals.RecordConsent(txn, nobody, consent_record, kEvidence).status(); },
      [&](Transaction& txn) { return referrals.WithdrawConsent(txn, nobody, withdrawal).status(); },
      [&](Transaction& txn) { return referrals.ListConsents(txn, nobody, kase.case_id).status(); },
      [&](Transaction& txn) { return referrals.Create(txn, nobody, draft.request).status(); },
      [&](Transaction& txn) { return referrals.Transition(txn, nobody, row.referral_id, move).status(); },
      [&](Transaction& txn) { return referrals.Get(txn, nobody, row.referral_id).status(); },
      [&](Transaction& txn) {
        return referrals.List(txn, nobody, false, domain::ReferralFilter(), domain::ReferralCursor(), 10).status();
      },
  };
  for (size_t i = 0; i < calls.size(); ++i) {
    INFO("call " << i);
    RefusedUnchanged(world, Code::kPermissionDenied, [&] { return world.Write(calls[i]); });
  }
}

// --- Create -------------------------------------------------------------

TEST_CASE_METHOD(ReferralWorld, "a referral on consent is SENT, granted to both sides and audited", "[referral]") {
  const uint64_t audit_before = world.AuditSize();
  const int64_t grants_before = world.Rows("grants");
  ReferralRow row = Send();
  CHECK(row.state == S::kSent);
  CHECK(row.from_org == a.org_id);
  CHECK(row.to_org == b.org_id);
  CHECK(row.answer_by_ms == kWorldStartMs + int64_t{kResponseHours} * kHourMs);
  CHECK(world.AuditSize() == audit_before + 3);  // created, and a grant to each side
  CHECK(world.Rows("grants") == grants_before + 2);
  CHECK(world.Rows("referrals") == 1);

  auto for_sender = Get(anna, row.referral_id);
  auto for_receiver = Get(bo, row.referral_id);
  REQUIRE(for_sender.ok());
  REQUIRE(for_receiver.ok());
  CHECK(for_sender->packet_visible);
  CHECK(for_receiver->packet_visible);
  CHECK(for_receiver->grants.size() == 1);
}

TEST_CASE_METHOD(ReferralWorld, "resending a referral's exact bytes returns it and changes nothing", "[referral]") {
  ReferralDraft draft = Draft(consent);
  REQUIRE(Create(anna, draft.request).ok());
  const std::string before = world.Snapshot();
  auto again = Create(anna, draft.request);
  REQUIRE(again.ok());
  CHECK(again->referral_id == draft.record.referral_id);
  CHECK(world.Snapshot() == before);
}

TEST_CASE_METHOD(ReferralWorld, "on the vital-interests basis a referral needs its justification", "[referral]") {
  ReferralDraft vital = Draft(Id128());
  SECTION("with it") {
    auto row = Create(anna, vital.request);
    INFO(row.status().ToString());
    REQUIRE(row.ok());
    CHECK(row->basis == static_cast<uint8_t>(ReferralBasis::kVitalInterests));
  }
  SECTION("without it") {
    vital.request.justification.clear();
    RefusedUnchanged(world, Code::kInvalidArgument, [&] { return Create(anna, vital.request); });
  }
  SECTION("with another one than it signed") {
    vital.request.justification = {'o', 't', 'h', 'e', 'r'};
    RefusedUnchanged(world, Code::kInvalidArgument, [&] { return Create(anna, vital.request); });
  }
}

TEST_CASE_METHOD(ReferralWorld, "who may create a referral: each kind of caller", "[referral][authz]") {
  ReferralDraft draft = Draft(consent);
  SECTION("a coordinator") {
    RefusedUnchanged(world, Code::kPermissionDenied, [&] { return Create(coordinator, draft.request); });
  }
  SECTION("a third organisation, which cannot see the case") {
    RefusedUnchanged(world, Code::kNotFound, [&] { return Create(carl, draft.request); });
  }
  SECTION("the receiver, which cannot see the case") {
    RefusedUnchanged(world, Code::kNotFound, [&] { return Create(bo, draft.request); });
  }
  SECTION("another device of the sending organisation (the referral names anna)") {
    WorldDevice& other = world.AddDevice(a, Role::kCaseworker);
    RefusedUnchanged(world, Code::kPermissionDenied, [&] { return Create(other, draft.request); });
  }
  SECTION("the sending organisation's admin") {
    ReferralDraft by_admin = world.DraftReferral(*a.admin, a, kase, b, shelter, ServiceCategory::kShelter, Id128());
    auto row = Create(*a.admin, by_admin.request);
    INFO(row.status().ToString());
    CHECK(row.ok());
  }
  SECTION("a revoked device") {
    world.Revoke(a, anna);
    RefusedUnchanged(world, Code::kUnauthenticated, [&] { return Create(anna, draft.request); });
  }
}

TEST_CASE_METHOD(ReferralWorld, "each broken rule of Create has its code and changes nothing", "[referral]") {
  SECTION("not signed by the calling device") {
    ReferralDraft draft = Draft(consent);
    draft.request.signed_referral.signature = Sign(bo.signing(), SigningContext::kReferral,
                                                   draft.request.signed_referral.bytes);
    RefusedUnchanged(world, Code::kInvalidArgument, [&] { return Create(anna, draft.request); });
  }
  SECTION("malformed") {
    ReferralDraft draft = Draft(consent);
    draft.request.signed_referral.bytes.resize(10);
    RefusedUnchanged(world, Code::kInvalidArgument, [&] { return Create(anna, draft.request); });
  }
  SECTION("an unknown listing") {
    ReferralDraft draft = world.DraftReferral(anna, a, kase, b, world.NewId(0x11), ServiceCategory::kShelter, consent);
    RefusedUnchanged(world, Code::kNotFound, [&] { return Create(anna, draft.request); });
  }
  SECTION("a retired listing") {
    Retirement retirement{shelter, b.org_id, 1, world.clock().NowUnixMillis(), b.admin->device_id};
    SignedObject signed_retirement = SignRetirement(retirement, b.admin->signing());
    REQUIRE(world.Write([&](Transaction& txn) {
                   return world.directory().Retire(txn, b.admin->caller(), shelter, signed_retirement);
                 }).ok());
    ReferralDraft draft = Draft(consent);
    RefusedUnchanged(world, Code::kNotFound, [&] { return Create(anna, draft.request); });
  }
  SECTION("a service the listing does not offer") {
    ReferralDraft draft =
        world.DraftReferral(anna, a, kase, b, shelter, ServiceCategory::kLegalAdvice, Id128());
    RefusedUnchanged(world, Code::kInvalidArgument, [&] { return Create(anna, draft.request); });
  }
  SECTION("a receiver other than the listing's organisation") {
    ReferralDraft draft = world.DraftReferral(anna, a, kase, c, shelter, ServiceCategory::kShelter, Id128());
    RefusedUnchanged(world, Code::kInvalidArgument, [&] { return Create(anna, draft.request); });
  }
  SECTION("to its own organisation") {
    Id128 own = world.PublishListing(a, ServiceCategory::kShelter);
    ReferralDraft draft = world.DraftReferral(anna, a, kase, a, own, ServiceCategory::kShelter, Id128());
    RefusedUnchanged(world, Code::kInvalidArgument, [&] { return Create(anna, draft.request); });
  }
  SECTION("a packet other than the one signed") {
    ReferralDraft draft = Draft(consent);
    ReferralDraft other = Draft(consent);
    draft.request.packet = other.request.packet;
    draft.request.grants = other.request.grants;
    RefusedUnchanged(world, Code::kInvalidArgument, [&] { return Create(anna, draft.request); });
  }
  SECTION("no grant to the receiver") {
    ReferralDraft draft = Draft(consent);
    draft.request.grants.pop_back();
    RefusedUnchanged(world, Code::kInvalidArgument, [&] { return Create(anna, draft.request); });
  }
  SECTION("more grants than its two organisations (issue 12: grants per call are bounded)") {
    ReferralDraft draft = Draft(consent);
    draft.request.grants.push_back(draft.request.grants.front());
    RefusedUnchanged(world, Code::kInvalidArgument, [&] { return Create(anna, draft.request); });
  }
  SECTION("the case's own scope for the packet") {
    ReferralDraft draft = Draft(consent);
    SealedRecord packet =
        world.Seal(anna, kase.case_id, kase.scope_id, 1, world.NewId(0x4f), 1, Hash256(), kase.scope_key);
    draft.request.packet = packet;
    draft.record.packet_hash = RecordHash(packet);
    auto resigned = SignReferralRecord(draft.record, anna.signing());
    REQUIRE(resigned.ok());
    draft.request.signed_referral = *resigned;
    RefusedUnchanged(world, Code::kInvalidArgument, [&] { return Create(anna, draft.request); });
  }
  SECTION("a different referral under a stored id") {
    ReferralDraft first = Draft(consent);
    REQUIRE(Create(anna, first.request).ok());
    ReferralDraft second = Draft(consent);
    second.record.referral_id = first.record.referral_id;
    auto resigned = SignReferralRecord(second.record, anna.signing());
    REQUIRE(resigned.ok());
    second.request.signed_referral = *resigned;
    RefusedUnchanged(world, Code::kAlreadyExists, [&] { return Create(anna, second.request); });
  }
}

// --- Consent coverage and expiry -----------------------------------------

TEST_CASE_METHOD(ReferralWorld, "a referral needs a live consent of the sender's covering receiver and service",
                 "[referral][consent]") {
  const uint16_t shelter_bit = ServiceBit(static_cast<uint8_t>(ServiceCategory::kShelter));
  SECTION("a consent for another service") {
    Id128 legal = world.RecordConsent(anna, kase, b.org_id,
                                      ServiceBit(static_cast<uint8_t>(ServiceCategory::kLegalAdvice)),
                                      kWorldStartMs + kDayMs);
    RefusedUnchanged(world, Code::kFailedPrecondition, [&] { return Create(anna, Draft(legal).request); });
  }
  SECTION("a consent for another receiver") {
    Id128 to_c = world.RecordConsent(anna, kase, c.org_id, shelter_bit, kWorldStartMs + kDayMs);
    RefusedUnchanged(world, Code::kFailedPrecondition, [&] { return Create(anna, Draft(to_c).request); });
  }
  SECTION("a consent for any organisation covers B") {
    Id128 any = world.RecordConsent(anna, kase, Id128(), kAllServicesMask, kWorldStartMs + kDayMs);
    CHECK(Create(anna, Draft(any).request).ok());
  }
  SECTION("an unknown consent") {
    RefusedUnchanged(world, Code::kFailedPrecondition,
                     [&] { return Create(anna, Draft(world.NewId(0xc0)).request); });
  }
  SECTION("a consent of another case") {
    WorldCase other = world.OpenCase(a, anna);
    Id128 other_consent = world.RecordConsent(anna, other, b.org_id, shelter_bit, kWorldStartMs + kDayMs);
    RefusedUnchanged(world, Code::kFailedPrecondition, [&] { return Create(anna, Draft(other_consent).request); });
  }
  SECTION("an expired consent: good until the millisecond before it expires") {
    Id128 short_lived = world.RecordConsent(anna, kase, b.org_id, shelter_bit, kWorldStartMs + kHourMs);
    world.clock().Advance(kHourMs - 1);
    ReferralDraft in_time = Draft(short_lived);
    ReferralDraft too_late = Draft(short_lived);
    CHECK(Create(anna, in_time.request).ok());
    world.clock().Advance(1);
    RefusedUnchanged(world, Code::kFailedPrecondition, [&] { return Create(anna, too_late.request); });
  }
  SECTION("a withdrawn consent") {
    REQUIRE(Withdraw(anna, Withdrawal(anna, consent)).ok());
    RefusedUnchanged(world, Code::kFailedPrecondition, [&] { return Create(anna, Draft(consent).request); });
  }
}

TEST_CASE_METHOD(ReferralWorld, "recording consent: who may, and each refusal", "[referral][consent][authz]") {
  const uint16_t shelter_bit = ServiceBit(static_cast<uint8_t>(ServiceCategory::kShelter));
  ConsentRecord record = world.ConsentDraft(anna, kase, b.org_id, shelter_bit, kWorldStartMs + kDayMs);
  SignedObject signed_consent = SignedConsent(record, anna);
  SECTION("the case's own organisation: its caseworker and its admin") {
    const uint64_t audit_before = world.AuditSize();
    auto id = RecordConsent(anna, signed_consent);
    REQUIRE(id.ok());
    CHECK(*id == record.consent_id);
    CHECK(world.AuditSize() == audit_before + 1);
    // A resend stores nothing new.
    const std::string before = world.Snapshot();
    CHECK(RecordConsent(anna, signed_consent).ok());
    CHECK(world.Snapshot() == before);
    ConsentRecord by_admin = world.ConsentDraft(*a.admin, kase, b.org_id, shelter_bit, kWorldStartMs + kDayMs);
    CHECK(RecordConsent(*a.admin, SignedConsent(by_admin, *a.admin)).ok());
  }
  SECTION("a coordinator") {
    ConsentRecord own = world.ConsentDraft(coordinator, kase, b.org_id, shelter_bit, kWorldStartMs + kDayMs);
    RefusedUnchanged(world, Code::kPermissionDenied,
                     [&] { return RecordConsent(coordinator, SignedConsent(own, coordinator)); });
  }
  SECTION("a third organisation, which cannot see the case") {
    ConsentRecord own = world.ConsentDraft(carl, kase, b.org_id, shelter_bit, kWorldStartMs + kDayMs);
    RefusedUnchanged(world, Code::kNotFound, [&] { return RecordConsent(carl, SignedConsent(own, carl)); });
  }
  SECTION("signed by another device") {
    RefusedUnchanged(world, Code::kInvalidArgument, [&] { return RecordConsent(anna, SignedConsent(record, bo)); });
  }
  SECTION("naming another recorder") {
    WorldDevice& other = world.AddDevice(a, Role::kCaseworker);
    RefusedUnchanged(world, Code::kInvalidArgument, [&] { return RecordConsent(other, signed_consent); });
  }
  SECTION("evidence that does not match its hash") {
    RefusedUnchanged(world, Code::kInvalidArgument,
                     [&] { return RecordConsent(anna, signed_consent, std::vector<uint8_t>{'x'}); });
  }
  SECTION("already expired") {
    world.clock().Advance(kDayMs);
    RefusedUnchanged(world, Code::kInvalidArgument, [&] { return RecordConsent(anna, signed_consent); });
  }
  SECTION("a different consent under a stored id") {
    REQUIRE(RecordConsent(anna, signed_consent).ok());
    ConsentRecord changed = record;
    changed.services = kAllServicesMask;
    RefusedUnchanged(world, Code::kAlreadyExists, [&] { return RecordConsent(anna, SignedConsent(changed, anna)); });
  }
  SECTION("malformed") {
    signed_consent.bytes.pop_back();
    RefusedUnchanged(world, Code::kInvalidArgument, [&] { return RecordConsent(anna, signed_consent); });
  }
}

TEST_CASE_METHOD(ReferralWorld, "listing consents: each organisation sees the ones it recorded",
                 "[referral][consent][authz]") {
  auto list = [&](const WorldDevice& caller) {
    return world.Read(
        [&](Transaction& txn) { return world.referrals().ListConsents(txn, caller.caller(), kase.case_id); });
  };
  auto own = list(anna);
  REQUIRE(own.ok());
  REQUIRE(own->size() == 1);
  CHECK(own->front().consent_id == consent);
  TRYGG_CHECK_CODE(list(coordinator), Code::kPermissionDenied);
  TRYGG_CHECK_CODE(list(carl), Code::kNotFound);
  TRYGG_CHECK_CODE(list(bo), Code::kNotFound);
}

TEST_CASE_METHOD(ReferralWorld, "withdrawing consent ends the referrals that rely on it", "[referral][consent]") {
  ReferralRow sent = Send();
  ReferralRow accepted = Send();
  REQUIRE(Step(bo, accepted.referral_id, S::kSent, S::kAccepted).ok());
  ReferralRow vital = *Create(anna, Draft(Id128()).request);
  const uint64_t audit_before = world.AuditSize();

  auto ended = Withdraw(anna, Withdrawal(anna, consent));
  INFO(ended.status().ToString());
  REQUIRE(ended.ok());
  CHECK(ended->size() == 2);
  // One entry for the withdrawal, one for each referral it ended.
  CHECK(world.AuditSize() == audit_before + 3);
  auto after_sent = Get(anna, sent.referral_id);
  auto after_accepted = Get(anna, accepted.referral_id);
  auto after_vital = Get(anna, vital.referral_id);
  REQUIRE(after_sent.ok());
  REQUIRE(after_accepted.ok());
  REQUIRE(after_vital.ok());
  CHECK(after_sent->row.state == S::kWithdrawn);
  CHECK(after_accepted->row.state == S::kClosed);
  CHECK(after_vital->row.state == S::kSent);
  CHECK(ReceiverGrants(sent) == 0);
  CHECK(ReceiverGrants(accepted) == 0);
  CHECK(ReceiverGrants(vital) == 1);
  auto seen_by_receiver = Get(bo, sent.referral_id);
  REQUIRE(seen_by_receiver.ok());
  CHECK_FALSE(seen_by_receiver->packet_visible);
}

TEST_CASE_METHOD(ReferralWorld, "withdrawing consent: who may, and each refusal", "[referral][consent][authz]") {
  SignedObject withdrawal = Withdrawal(anna, consent);
  SECTION("a coordinator") {
    RefusedUnchanged(world, Code::kPermissionDenied, [&] { return Withdraw(coordinator, withdrawal); });
  }
  SECTION("a third organisation") {
    RefusedUnchanged(world, Code::kNotFound, [&] { return Withdraw(carl, Withdrawal(carl, consent)); });
  }
  SECTION("the receiver") {
    RefusedUnchanged(world, Code::kNotFound, [&] { return Withdraw(bo, Withdrawal(bo, consent)); });
  }
  SECTION("an unknown consent") {
    RefusedUnchanged(world, Code::kNotFound, [&] { return Withdraw(anna, Withdrawal(anna, world.NewId(0xc0))); });
  }
  SECTION("signed by another device than the caller") {
    WorldDevice& other = world.AddDevice(a, Role::kCaseworker);
    RefusedUnchanged(world, Code::kInvalidArgument, [&] { return Withdraw(other, withdrawal); });
  }
  SECTION("twice: the same statement is a resend, another one is refused") {
    REQUIRE(Withdraw(anna, withdrawal).ok());
    const std::string before = world.Snapshot();
    CHECK(Withdraw(anna, withdrawal).ok());
    CHECK(world.Snapshot() == before);
    world.clock().Advance(1);
    RefusedUnchanged(world, Code::kFailedPrecondition, [&] { return Withdraw(anna, Withdrawal(anna, consent)); });
  }
}

// --- The state machine, party by party -----------------------------------

TEST_CASE_METHOD(ReferralWorld, "the receiver accepts and completes, and the grants stay", "[referral][workflow]") {
  ReferralRow row = Send();
  auto accepted = Step(bo, row.referral_id, S::kSent, S::kAccepted);
  INFO(accepted.status().ToString());
  REQUIRE(accepted.ok());
  CHECK(accepted->state == S::kAccepted);
  auto completed = Step(bo, row.referral_id, S::kAccepted, S::kCompleted, 1);
  REQUIRE(completed.ok());
  CHECK(completed->state == S::kCompleted);
  CHECK(completed->code == 1);
  CHECK(ReceiverGrants(row) == 1);
  auto view = Get(anna, row.referral_id);
  REQUIRE(view.ok());
  CHECK(view->transitions.size() == 2);
  for (S to : {S::kAccepted, S::kDeclined, S::kWithdrawn, S::kClosed, S::kCompleted}) {
    INFO(ReferralStateName(to));
    const uint8_t code = (to == S::kDeclined || to == S::kCompleted) ? 1 : 0;
    RefusedUnchanged(world, Code::kFailedPrecondition,
                     [&] { return Step(bo, row.referral_id, S::kCompleted, to, code); });
    RefusedUnchanged(world, Code::kFailedPrecondition,
                     [&] { return Step(anna, row.referral_id, S::kCompleted, to, code); });
  }
}

// The reply to a transition carries the history as it now stands. It is
// built from the history the move read plus the move itself, not read again:
// it must equal what a later read finds, field by field, resends included.
TEST_CASE_METHOD(ReferralWorld, "a transition returns the referral's history as stored after the move",
                 "[referral][workflow]") {
  ReferralRow row = Send();
  const SignedObject accept = world.Move(bo, row.referral_id, S::kSent, S::kAccepted, 0);
  const SignedObject complete = world.Move(bo, row.referral_id, S::kAccepted, S::kCompleted, 1);
  for (const SignedObject* move : {&accept, &complete, &complete}) {  // the last one a resend
    auto moved = world.Write([&](Transaction& txn) {
      return world.referrals().TransitionWithHistory(txn, bo.caller(), row.referral_id, *move);
    });
    REQUIRE(moved.ok());
    auto stored = world.Read([&](Transaction& txn) { return txn.referrals().GetTransitions(row.referral_id); });
    REQUIRE(stored.ok());
    REQUIRE(moved->transitions.size() == stored->size());
    CHECK(moved->transitions.size() == (move == &accept ? 1u : 2u));
    for (size_t i = 0; i < stored->size(); ++i) {
      const domain::StoredTransition& a = moved->transitions[i];
      const domain::StoredTransition& b = (*stored)[i];
      CHECK((a.seq == b.seq && a.actor_device == b.actor_device && a.to == b.to && a.at_ms == b.at_ms &&
             a.transition.bytes == b.transition.bytes && a.transition.signature == b.transition.signature));
    }
    CHECK(moved->row.state == (move == &accept ? S::kAccepted : S::kCompleted));
  }
}

TEST_CASE_METHOD(ReferralWorld, "either side closes an accepted referral, and the receiver loses the scope",
                 "[referral][workflow]") {
  const WorldDevice* closer = GENERATE(0, 1) == 0 ? &anna : &bo;
  ReferralRow row = Send();
  REQUIRE(Step(bo, row.referral_id, S::kSent, S::kAccepted).ok());
  auto closed = Step(*closer, row.referral_id, S::kAccepted, S::kClosed);
  INFO(closed.status().ToString());
  REQUIRE(closed.ok());
  CHECK(ReceiverGrants(row) == 0);
  auto view = Get(bo, row.referral_id);
  REQUIRE(view.ok());
  CHECK_FALSE(view->packet_visible);
}

TEST_CASE_METHOD(ReferralWorld, "the receiver declines with a reason and loses the scope", "[referral][workflow]") {
  ReferralRow row = Send();
  RefusedUnchanged(world, Code::kInvalidArgument, [&] { return Step(bo, row.referral_id, S::kSent, S::kDeclined, 0); });
  RefusedUnchanged(world, Code::kInvalidArgument,
                   [&] { return Step(bo, row.referral_id, S::kSent, S::kDeclined, kMaxDeclineReason + 1); });
  auto declined = Step(bo, row.referral_id, S::kSent, S::kDeclined, 2);
  REQUIRE(declined.ok());
  CHECK(declined->code == 2);
  CHECK(ReceiverGrants(row) == 0);
  // The sender keeps its grant and sees the history.
  auto view = Get(anna, row.referral_id);
  REQUIRE(view.ok());
  CHECK(view->grants.size() == 1);
  CHECK(view->row.state == S::kDeclined);
  // Declined is final: nobody reopens it.
  RefusedUnchanged(world, Code::kFailedPrecondition, [&] { return Step(bo, row.referral_id, S::kDeclined, S::kAccepted); });
  RefusedUnchanged(world, Code::kFailedPrecondition, [&] { return Step(bo, row.referral_id, S::kSent, S::kAccepted); });
}

TEST_CASE_METHOD(ReferralWorld, "the sender withdraws a sent referral, and the receiver loses the scope",
                 "[referral][workflow]") {
  ReferralRow row = Send();
  auto withdrawn = Step(anna, row.referral_id, S::kSent, S::kWithdrawn);
  REQUIRE(withdrawn.ok());
  CHECK(ReceiverGrants(row) == 0);
  RefusedUnchanged(world, Code::kFailedPrecondition,
                   [&] { return Step(anna, row.referral_id, S::kWithdrawn, S::kSent); });
}

TEST_CASE_METHOD(ReferralWorld, "each party may make only its own moves", "[referral][workflow][authz]") {
  ReferralRow row = Send();
  SECTION("the sender may not answer") {
    RefusedUnchanged(world, Code::kPermissionDenied, [&] { return Step(anna, row.referral_id, S::kSent, S::kAccepted); });
    RefusedUnchanged(world, Code::kPermissionDenied,
                     [&] { return Step(anna, row.referral_id, S::kSent, S::kDeclined, 1); });
  }
  SECTION("the receiver may not withdraw or expire") {
    RefusedUnchanged(world, Code::kPermissionDenied, [&] { return Step(bo, row.referral_id, S::kSent, S::kWithdrawn); });
    RefusedUnchanged(world, Code::kPermissionDenied, [&] { return Step(bo, row.referral_id, S::kSent, S::kExpired); });
  }
  SECTION("the sender may not complete") {
    REQUIRE(Step(bo, row.referral_id, S::kSent, S::kAccepted).ok());
    RefusedUnchanged(world, Code::kPermissionDenied,
                     [&] { return Step(anna, row.referral_id, S::kAccepted, S::kCompleted, 1); });
  }
  SECTION("a third organisation does not see it") {
    RefusedUnchanged(world, Code::kNotFound, [&] { return Step(carl, row.referral_id, S::kSent, S::kAccepted); });
    TRYGG_CHECK_CODE(Get(carl, row.referral_id), Code::kNotFound);
  }
  SECTION("a coordinator may not move or read it") {
    RefusedUnchanged(world, Code::kPermissionDenied,
                     [&] { return Step(coordinator, row.referral_id, S::kSent, S::kAccepted); });
    TRYGG_CHECK_CODE(Get(coordinator, row.referral_id), Code::kPermissionDenied);
  }
  SECTION("the receiving organisation's admin answers for it") {
    CHECK(Step(*b.admin, row.referral_id, S::kSent, S::kAccepted).ok());
  }
  SECTION("a revoked receiver device") {
    world.Revoke(b, bo);
    RefusedUnchanged(world, Code::kUnauthenticated, [&] { return Step(bo, row.referral_id, S::kSent, S::kAccepted); });
  }
}

TEST_CASE_METHOD(ReferralWorld, "a transition must be the caller's, for this referral, from its state",
                 "[referral][workflow]") {
  ReferralRow row = Send();
  ReferralRow other = Send();
  SECTION("signed by another device") {
    WorldDevice& colleague = world.AddDevice(b, Role::kCaseworker);
    SignedObject move = world.Move(colleague, row.referral_id, S::kSent, S::kAccepted);
    RefusedUnchanged(world, Code::kInvalidArgument, [&] { return Transition(bo, row.referral_id, move); });
  }
  SECTION("for another referral") {
    SignedObject move = world.Move(bo, other.referral_id, S::kSent, S::kAccepted);
    RefusedUnchanged(world, Code::kInvalidArgument, [&] { return Transition(bo, row.referral_id, move); });
  }
  SECTION("from a state it is not in") {
    RefusedUnchanged(world, Code::kFailedPrecondition,
                     [&] { return Step(bo, row.referral_id, S::kAccepted, S::kCompleted, 1); });
  }
  SECTION("malformed") {
    SignedObject move = world.Move(bo, row.referral_id, S::kSent, S::kAccepted);
    move.bytes.resize(3);
    RefusedUnchanged(world, Code::kInvalidArgument, [&] { return Transition(bo, row.referral_id, move); });
  }
  SECTION("an unknown referral") {
    const Id128 unknown = world.NewId(0xf0);
    RefusedUnchanged(world, Code::kNotFound, [&] { return Step(bo, unknown, S::kSent, S::kAccepted); });
  }
  SECTION("a resend of the last move changes nothing") {
    SignedObject move = world.Move(bo, row.referral_id, S::kSent, S::kAccepted);
    REQUIRE(Transition(bo, row.referral_id, move).ok());
    const std::string before = world.Snapshot();
    auto again = Transition(bo, row.referral_id, move);
    REQUIRE(again.ok());
    CHECK(again->state == S::kAccepted);
    CHECK(world.Snapshot() == before);
  }
}

// --- The server's moves: expiry ------------------------------------------

// What TransitionReferral does (server/api): the session's key checks the
// signature on the handler's thread, and the rule inside the write trusts
// that result only for the same bytes, signature and stored key.
TEST_CASE_METHOD(ReferralWorld, "a transition signature checked before its write decides as a check inside it",
                 "[referral][workflow][signature]") {
  const ReferralRow row = Send();
  const ReferralRow other = Send();
  auto prechecked = [](const WorldDevice& device, const SignPublicKey& session_key, const SignedObject& move) {
    domain::Caller caller = device.caller();
    caller.sign_key = session_key;
    return domain::PrecheckSignature(caller, domain::SignedKind::kReferralTransition, move);
  };
  auto transition = [&](const domain::Caller& caller, const SignedObject& move) {
    return world.Write(
        [&](Transaction& txn) { return world.referrals().Transition(txn, caller, row.referral_id, move); });
  };
  const SignedObject accept = world.Move(bo, row.referral_id, S::kSent, S::kAccepted);
  SECTION("a good signature checked before moves the referral") {
    auto moved = transition(prechecked(bo, bo.signing().public_key, accept), accept);
    REQUIRE(moved.ok());
    CHECK(moved->state == S::kAccepted);
  }
  SECTION("a bad signature checked before is refused with the same code and changes nothing") {
    SignedObject forged = accept;
    forged.signature = world.Move(bo, other.referral_id, S::kSent, S::kAccepted).signature;
    RefusedUnchanged(world, Code::kInvalidArgument,
                     [&] { return transition(prechecked(bo, bo.signing().public_key, forged), forged); });
    RefusedUnchanged(world, Code::kInvalidArgument, [&] { return Transition(bo, row.referral_id, forged); });
  }
  SECTION("a result checked under another key than the stored one is not trusted") {
    // An impostor signs bo's move with its own key, and the check before the
    // write is made under that key (as if the session named it): it verifies
    // there, but the store holds bo's key, so the write checks afresh.
    WorldDevice impostor{bo.device_id, bo.org_id, bo.role, DeviceKeys::Generate(world.rng())};
    const SignedObject by_impostor = world.Move(impostor, row.referral_id, S::kSent, S::kAccepted);
    const domain::Caller caller = prechecked(bo, impostor.signing().public_key, by_impostor);
    REQUIRE(caller.prechecked->Find(domain::SignedKind::kReferralTransition, impostor.signing().public_key,
                                    by_impostor) == std::optional<bool>(true));
    RefusedUnchanged(world, Code::kInvalidArgument, [&] { return transition(caller, by_impostor); });
  }
  SECTION("a result for other bytes is not used for these") {
    SignedObject forged = accept;
    forged.signature = world.Move(bo, other.referral_id, S::kSent, S::kAccepted).signature;
    const domain::Caller caller = prechecked(bo, bo.signing().public_key, accept);  // the good one, checked
    RefusedUnchanged(world, Code::kInvalidArgument, [&] { return transition(caller, forged); });
  }
}

TEST_CASE_METHOD(ReferralWorld, "an unanswered referral expires at its answer-by time", "[referral][expiry]") {
  ReferralRow row = Send();
  world.clock().Advance(int64_t{kResponseHours} * kHourMs - 1);
  auto early = ExpireDue();
  REQUIRE(early.ok());
  CHECK(early->empty());
  CHECK(ReceiverGrants(row) == 1);
  world.clock().Advance(1);
  // At the answer-by time nobody answers any more.
  RefusedUnchanged(world, Code::kFailedPrecondition, [&] { return Step(bo, row.referral_id, S::kSent, S::kAccepted); });
  auto expired = ExpireDue();
  REQUIRE(expired.ok());
  REQUIRE(expired->size() == 1);
  CHECK(expired->front().referral_id == row.referral_id);
  CHECK(expired->front().state == S::kExpired);
  CHECK(ReceiverGrants(row) == 0);
  auto view = Get(anna, row.referral_id);
  REQUIRE(view.ok());
  REQUIRE(view->transitions.size() == 1);
  CHECK(view->transitions.front().actor_device.IsZero());
  // Running it again finds nothing more to do.
  const std::string before = world.Snapshot();
  auto again = ExpireDue();
  REQUIRE(again.ok());
  CHECK(again->size() == 0);
  CHECK(world.Snapshot() == before);
}

TEST_CASE_METHOD(ReferralWorld, "an accepted referral closes when its consent expires", "[referral][expiry][consent]") {
  const uint16_t shelter_bit = ServiceBit(static_cast<uint8_t>(ServiceCategory::kShelter));
  Id128 short_lived = world.RecordConsent(anna, kase, b.org_id, shelter_bit, kWorldStartMs + 2 * kHourMs);
  auto row = Create(anna, Draft(short_lived).request);
  REQUIRE(row.ok());
  REQUIRE(Step(bo, row->referral_id, S::kSent, S::kAccepted).ok());
  world.clock().Advance(2 * kHourMs - 1);
  auto early = ExpireDue();
  REQUIRE(early.ok());
  CHECK(early->empty());
  world.clock().Advance(1);
  auto closed = ExpireDue();
  REQUIRE(closed.ok());
  REQUIRE(closed->size() == 1);
  CHECK(closed->front().state == S::kClosed);
  CHECK(ReceiverGrants(*row) == 0);
}

// --- Reading -------------------------------------------------------------

TEST_CASE_METHOD(ReferralWorld, "lists: the sender's outbox, the receiver's inbox, nobody else's",
                 "[referral][authz]") {
  ReferralRow row = Send();
  auto outbox = List(anna, false);
  auto inbox = List(bo, true);
  auto sender_inbox = List(anna, true);
  auto third = List(carl, true);
  REQUIRE(outbox.ok());
  REQUIRE(inbox.ok());
  REQUIRE(sender_inbox.ok());
  REQUIRE(third.ok());
  REQUIRE(outbox->size() == 1);
  REQUIRE(inbox->size() == 1);
  CHECK(outbox->front().referral_id == row.referral_id);
  CHECK(inbox->front().referral_id == row.referral_id);
  CHECK(sender_inbox->empty());
  CHECK(third->empty());
  TRYGG_CHECK_CODE(List(coordinator, true), Code::kPermissionDenied);
  TRYGG_CHECK_CODE(List(coordinator, false), Code::kPermissionDenied);
}

}  // namespace
}  // namespace trygg::domain_test
