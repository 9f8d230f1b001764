// SPDX-License-Identifier: Apache-2.0

// Consent and referrals end to end: the client library seals and signs on the
// device, a real tryggd enforces the workflow on a real SQLite file, and the
// receiving organisation reads only what the sender chose for it, only while
// the referral gives it access. Bad moves change nothing; a server that edits
// what it stores is caught by the reader.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include <grpcpp/grpcpp.h>

#include "testing/db_edit.h"
#include "testing/trust_world.h"
#include "testing/wait_for.h"
#include "trygg/case_client.h"
#include "trygg/crypto_error.h"
#include "trygg/directory_client.h"
#include "trygg/referral_client.h"
#include "trygg/v1/referral.grpc.pb.h"

namespace trygg {
namespace {

using testing::TestDevice;
using testing::Exec;
using testing::QueryInt;
using testing::TrustWorld;
using testing::WaitFor;
using S = ReferralStatus;
using Code = absl::StatusCode;

std::vector<uint8_t> Text(std::string_view s) { return {s.begin(), s.end()}; }
std::string AsString(const std::vector<uint8_t>& v) { return {v.begin(), v.end()}; }
std::string Hex(const Id128& id) { return HexEncode(id.span()); }

constexpr std::string_view kSurvivor = "Namn: Ioana Popescu; född 1999; rekryterad via jobbannons";
constexpr std::string_view kPacket = "Ioana behöver juridiskt stöd om lönefordran; talar rumänska";

// A caseworker's device with its case and referral clients.
struct Worker {
  Worker(TestDevice& d, TrustWorld& world)
      : device(d),
        cases(*d.client, d.keys, world.clock(), world.rng()),
        referrals(*d.client, d.keys, cases, world.clock(), world.rng()) {}
  TestDevice& device;
  CaseClient cases;
  ReferralClient referrals;
};

struct ReferralWorld {
  TrustWorld world;
  TestDevice& shelter_admin = world.AdmitOrganisation("Skyddat boende Syd");
  TestDevice& anna_device = world.AddDevice(shelter_admin, Role::kCaseworker);
  TestDevice& legal_admin = world.AdmitOrganisation("Juridisk rådgivning");
  TestDevice& lawyer_device = world.AddDevice(legal_admin, Role::kCaseworker);
  TestDevice& interp_admin = world.AdmitOrganisation("Tolkservice");
  TestDevice& interpreter_device = world.AddDevice(interp_admin, Role::kCaseworker);
  Worker anna{anna_device, world};
  Worker lawyer{lawyer_device, world};
  Worker interpreter{interpreter_device, world};
  Id128 legal_listing;
  Id128 interp_listing;
  Id128 case_id;

  ReferralWorld() {
    legal_listing = Publish(legal_admin, ServiceCategory::kLegalAdvice, 48);
    interp_listing = Publish(interp_admin, ServiceCategory::kInterpreting, 24);
    auto created = anna.cases.CreateCase(Text(kSurvivor), 1);
    REQUIRE(created.ok());
    case_id = *created;
  }

  Id128 Publish(TestDevice& admin, ServiceCategory category, uint32_t hours) {
    Listing l;
    l.category = static_cast<uint8_t>(category);
    l.regions = {"SE-M"};
    l.languages = {"ro", "sv"};
    l.response_time_hours = hours;
    DirectoryClient directory(*admin.client, admin.keys, world.clock(), world.rng());
    auto published = directory.Publish(l);
    INFO(published.status().ToString());
    REQUIRE(published.ok());
    return published->listing.listing_id;
  }

  Id128 Consent(const Id128& to_org, uint16_t services) {
    ConsentTerms terms;
    terms.case_id = case_id;
    terms.to_org = to_org;
    terms.services = services;
    terms.expires_at_ms = world.clock().NowUnixMillis() + 30LL * 24 * 3600 * 1000;
    terms.evidence = Text("Muntligt samtycke 2026-11-30, med tolk, antecknat av Anna");
    auto id = anna.referrals.RecordConsent(terms);
    INFO(id.status().ToString());
    REQUIRE(id.ok());
    return *id;
  }

  ReferralDraft Draft(const Id128& listing, const Id128& to_org, ServiceCategory service) {
    ReferralDraft d;
    d.case_id = case_id;
    d.listing_id = listing;
    d.to_org = to_org;
    d.service = static_cast<uint8_t>(service);
    d.urgency = ReferralUrgency::kUrgent;
    d.packet = Text(kPacket);
    return d;
  }

  Id128 ReferToLawyer() {
    const Id128 consent = Consent(legal_admin.keys.org_id, ServiceBit(2));
    ReferralDraft d = Draft(legal_listing, legal_admin.keys.org_id, ServiceCategory::kLegalAdvice);
    d.consent_id = consent;
    auto id = anna.referrals.Refer(d);
    INFO(id.status().ToString());
    REQUIRE(id.ok());
    return *id;
  }

  int64_t Transitions(const Id128& referral) {
    return QueryInt(world.db_path(),
                 "SELECT count(*) FROM referral_transitions WHERE referral_id = x'" + Hex(referral) + "'");
  }
};

// The state `client` reads now (failing the test if it cannot read it).
S StateOf(ReferralClient& client, const Id128& referral) {
  auto got = client.Get(referral);
  INFO(got.status().ToString());
  REQUIRE(got.ok());
  return got->state;
}

TEST_CASE("a referral from consent to completion, read only by the two organisations", "[referral]") {
  ReferralWorld w;
  const Id128 referral = w.ReferToLawyer();

  // The receiver sees it in its inbox and reads the packet, verified.
  auto inbox = w.lawyer.referrals.Inbox({});
  INFO(inbox.status().ToString());
  REQUIRE(inbox.ok());
  REQUIRE(inbox->referrals.size() == 1);
  CHECK(inbox->referrals[0].record.referral_id == referral);
  CHECK(inbox->referrals[0].state == S::kSent);
  auto got = w.lawyer.referrals.Get(referral);
  INFO(got.status().ToString());
  REQUIRE(got.ok());
  REQUIRE(got->packet.has_value());
  CHECK(AsString(*got->packet) == kPacket);
  CHECK(got->incoming);
  CHECK(got->record.from_org_id == w.shelter_admin.keys.org_id);
  CHECK(got->answer_by_ms - got->record.created_at_ms >= 48LL * 3600 * 1000 - 60000);
  // The receiver holds the referral scope, not the case: the history stays with the sender.
  CHECK(w.lawyer.cases.ReadCase(w.case_id).status().code() == Code::kNotFound);

  // The sender's outbox shows it; a third organisation sees nothing.
  auto outbox = w.anna.referrals.Outbox({});
  REQUIRE(outbox.ok());
  REQUIRE(outbox->referrals.size() == 1);
  CHECK(w.anna.referrals.Inbox({})->referrals.empty());
  CHECK(w.interpreter.referrals.Inbox({})->referrals.empty());
  auto foreign = w.interpreter.referrals.Get(referral);
  auto missing = w.interpreter.referrals.Get(Id128(std::array<uint8_t, 16>{0x44}));
  CHECK(foreign.status().code() == Code::kNotFound);
  CHECK(missing.status().code() == Code::kNotFound);
  CHECK(foreign.status().message() == missing.status().message());
  CHECK(w.interpreter.referrals.Accept(referral).status().code() == Code::kNotFound);

  auto accepted = w.lawyer.referrals.Accept(referral);
  INFO(accepted.status().ToString());
  REQUIRE(accepted.ok());
  CHECK(accepted->state == S::kAccepted);
  auto completed = w.lawyer.referrals.Complete(referral, ReferralOutcome::kServiceProvided);
  INFO(completed.status().ToString());
  REQUIRE(completed.ok());
  CHECK(completed->state == S::kCompleted);
  CHECK(completed->code == static_cast<uint8_t>(ReferralOutcome::kServiceProvided));
  REQUIRE(completed->transitions.size() == 2);
  CHECK(completed->transitions[0].actor_org == w.legal_admin.keys.org_id);

  // Filters: by state and by service.
  ReferralQuery done;
  done.states = {S::kCompleted};
  CHECK(w.anna.referrals.Outbox(done)->referrals.size() == 1);
  done.states = {S::kSent};
  CHECK(w.anna.referrals.Outbox(done)->referrals.empty());
  ReferralQuery shelter;
  shelter.service = static_cast<uint8_t>(ServiceCategory::kShelter);
  CHECK(w.anna.referrals.Outbox(shelter)->referrals.empty());

  // The database holds no plaintext of the case, packet or consent evidence
  // (after a clean stop, which folds the WAL into the file; any WAL left is read too).
  REQUIRE(w.world.server().Stop(SIGTERM).code == 0);
  std::string db;
  for (const std::string& path : {w.world.db_path(), w.world.db_path() + "-wal"}) {
    std::ifstream in(path, std::ios::binary);
    db.append(std::istreambuf_iterator<char>(in), {});
  }
  REQUIRE(db.size() > 100000);
  for (std::string_view marker : {"Ioana", "Popescu", "lönefordran", "rumänska", "Muntligt", "tolk"}) {
    INFO(marker);
    CHECK(db.find(marker) == std::string::npos);
  }
}

TEST_CASE("illegal transitions get the right status and change nothing", "[referral]") {
  ReferralWorld w;
  const Id128 referral = w.ReferToLawyer();
  const int64_t before = w.Transitions(referral);
  CHECK(before == 0);

  // The sender may not accept; the receiver may not withdraw. The library
  // refuses to sign such moves, and the server refuses them signed by hand.
  CHECK(w.anna.referrals.Accept(referral).status().code() == Code::kPermissionDenied);
  CHECK(w.anna.referrals.SendTransition(referral, S::kSent, S::kAccepted, 0).status().code() ==
        Code::kPermissionDenied);
  CHECK(w.lawyer.referrals.Withdraw(referral).status().code() == Code::kPermissionDenied);
  CHECK(w.lawyer.referrals.SendTransition(referral, S::kSent, S::kWithdrawn, 0).status().code() ==
        Code::kPermissionDenied);
  // Completion needs acceptance first; a decline needs a reason.
  CHECK(w.lawyer.referrals.Complete(referral, ReferralOutcome::kServiceProvided).status().code() ==
        Code::kFailedPrecondition);
  CHECK(w.lawyer.referrals.SendTransition(referral, S::kSent, S::kCompleted, 1).status().code() ==
        Code::kFailedPrecondition);
  CHECK(w.lawyer.referrals.SendTransition(referral, S::kSent, S::kDeclined, 0).status().code() ==
        Code::kInvalidArgument);
  // A transition that claims another current state is stale.
  CHECK(w.lawyer.referrals.SendTransition(referral, S::kAccepted, S::kCompleted, 1).status().code() ==
        Code::kFailedPrecondition);
  CHECK(w.Transitions(referral) == before);
  CHECK(StateOf(w.anna.referrals, referral) == S::kSent);

  REQUIRE(w.lawyer.referrals.Decline(referral, DeclineReason::kNoCapacity).ok());
  // Nothing leaves DECLINED.
  CHECK(w.lawyer.referrals.Accept(referral).status().code() == Code::kFailedPrecondition);
  CHECK(w.lawyer.referrals.SendTransition(referral, S::kDeclined, S::kAccepted, 0).status().code() ==
        Code::kFailedPrecondition);
  CHECK(w.anna.referrals.SendTransition(referral, S::kDeclined, S::kWithdrawn, 0).status().code() ==
        Code::kFailedPrecondition);
  CHECK(w.Transitions(referral) == before + 1);

  // The declining receiver keeps the metadata, loses the packet.
  auto after = w.lawyer.referrals.Get(referral);
  REQUIRE(after.ok());
  CHECK(after->state == S::kDeclined);
  CHECK(after->code == static_cast<uint8_t>(DeclineReason::kNoCapacity));
  CHECK_FALSE(after->packet.has_value());
  CHECK(QueryInt(w.world.db_path(), "SELECT count(*) FROM grants g JOIN referrals r ON g.scope_id = r.scope_id "
                                 "WHERE r.referral_id = x'" + Hex(referral) + "' AND g.org_id = x'" +
                                     Hex(w.legal_admin.keys.org_id) + "'") == 0);
  // The sender still reads its own packet.
  CHECK(w.anna.referrals.Get(referral)->packet.has_value());
}

TEST_CASE("a referral needs consent that covers it, or a vital-interests justification", "[referral]") {
  ReferralWorld w;
  const std::string db = w.world.db_path();
  ReferralDraft d = w.Draft(w.legal_listing, w.legal_admin.keys.org_id, ServiceCategory::kLegalAdvice);

  SECTION("consent for another service or another organisation does not cover it") {
    d.consent_id = w.Consent(w.legal_admin.keys.org_id, ServiceBit(1));
    CHECK(w.anna.referrals.Refer(d).status().code() == Code::kFailedPrecondition);
    d.consent_id = w.Consent(w.interp_admin.keys.org_id, ServiceBit(2));
    CHECK(w.anna.referrals.Refer(d).status().code() == Code::kFailedPrecondition);
    // "any member organisation" does.
    d.consent_id = w.Consent(Id128(), ServiceBit(2) | ServiceBit(3));
    CHECK(w.anna.referrals.Refer(d).ok());
    CHECK(QueryInt(db, "SELECT count(*) FROM referrals") == 1);
  }

  SECTION("a withdrawn consent does not cover it") {
    d.consent_id = w.Consent(w.legal_admin.keys.org_id, ServiceBit(2));
    REQUIRE(w.anna.referrals.WithdrawConsent(w.case_id, *d.consent_id).ok());
    CHECK(w.anna.referrals.Refer(d).status().code() == Code::kFailedPrecondition);
    CHECK(w.anna.referrals.WithdrawConsent(w.case_id, *d.consent_id).code() == Code::kFailedPrecondition);
    CHECK(QueryInt(db, "SELECT count(*) FROM referrals") == 0);
  }

  SECTION("the listing must be the receiver's, for the referral's service") {
    d.consent_id = w.Consent(Id128(), kAllServicesMask);
    ReferralDraft wrong_org = d;
    wrong_org.to_org = w.interp_admin.keys.org_id;
    CHECK(w.anna.referrals.Refer(wrong_org).status().code() == Code::kInvalidArgument);
    ReferralDraft wrong_service = d;
    wrong_service.service = static_cast<uint8_t>(ServiceCategory::kShelter);
    CHECK(w.anna.referrals.Refer(wrong_service).status().code() == Code::kInvalidArgument);
    ReferralDraft no_listing = d;
    no_listing.listing_id = Id128(std::array<uint8_t, 16>{0x55});
    CHECK(w.anna.referrals.Refer(no_listing).status().code() == Code::kNotFound);
    CHECK(QueryInt(db, "SELECT count(*) FROM referrals") == 0);
  }

  SECTION("vital interests: allowed with a justification that the receiver reads") {
    d.justification = Text("Akut fara: hotad av rekryteraren i dag");
    auto id = w.anna.referrals.Refer(d);
    INFO(id.status().ToString());
    REQUIRE(id.ok());
    auto got = w.lawyer.referrals.Get(*id);
    REQUIRE(got.ok());
    CHECK(got->record.basis == ReferralBasis::kVitalInterests);
    REQUIRE(got->justification.has_value());
    CHECK(AsString(*got->justification) == "Akut fara: hotad av rekryteraren i dag");
    CHECK(w.interpreter.referrals.Get(*id).status().code() == Code::kNotFound);
  }

  SECTION("a caseworker of an organisation without the case cannot record consent or refer it") {
    ConsentTerms terms;
    terms.case_id = w.case_id;
    terms.services = ServiceBit(2);
    terms.expires_at_ms = w.world.clock().NowUnixMillis() + 3600000;
    terms.evidence = Text("x");
    CHECK(w.interpreter.referrals.RecordConsent(terms).status().code() == Code::kNotFound);
    CHECK(w.interpreter.referrals.ListConsents(w.case_id).status().code() == Code::kNotFound);
  }
}

TEST_CASE("consents are listed verified, with their evidence opened", "[referral]") {
  ReferralWorld w;
  const Id128 consent = w.Consent(w.legal_admin.keys.org_id, ServiceBit(2));
  auto listed = w.anna.referrals.ListConsents(w.case_id);
  INFO(listed.status().ToString());
  REQUIRE(listed.ok());
  REQUIRE(listed->size() == 1);
  CHECK(listed->front().record.consent_id == consent);
  CHECK(AsString(listed->front().evidence) == "Muntligt samtycke 2026-11-30, med tolk, antecknat av Anna");
  CHECK_FALSE(listed->front().withdrawn_at_ms.has_value());

  SECTION("evidence edited by the server is caught") {
    Exec(w.world.db_path(), "UPDATE consents SET evidence = zeroblob(length(evidence))");
    CHECK(GetCryptoError(w.anna.referrals.ListConsents(w.case_id).status()) == CryptoError::kHashMismatch);
  }
  SECTION("a consent record edited by the server is caught") {
    Exec(w.world.db_path(), "UPDATE consents SET bytes = " + testing::FlippedByte("bytes", 80));  // evidence_hash
    CHECK(GetCryptoError(w.anna.referrals.ListConsents(w.case_id).status()) == CryptoError::kBadSignature);
  }
}

TEST_CASE("withdrawing consent ends the referrals that relied on it", "[referral]") {
  ReferralWorld w;
  const Id128 consent = w.Consent(Id128(), ServiceBit(2) | ServiceBit(3));
  ReferralDraft to_lawyer = w.Draft(w.legal_listing, w.legal_admin.keys.org_id, ServiceCategory::kLegalAdvice);
  to_lawyer.consent_id = consent;
  ReferralDraft to_interpreter =
      w.Draft(w.interp_listing, w.interp_admin.keys.org_id, ServiceCategory::kInterpreting);
  to_interpreter.consent_id = consent;
  auto sent = w.anna.referrals.Refer(to_lawyer);
  auto accepted = w.anna.referrals.Refer(to_interpreter);
  REQUIRE(sent.ok());
  REQUIRE(accepted.ok());
  REQUIRE(w.interpreter.referrals.Accept(*accepted).ok());

  REQUIRE(w.anna.referrals.WithdrawConsent(w.case_id, consent).ok());
  auto lawyer_view = w.lawyer.referrals.Get(*sent);
  INFO(lawyer_view.status().ToString());
  REQUIRE(lawyer_view.ok());
  CHECK(lawyer_view->state == S::kWithdrawn);
  CHECK_FALSE(lawyer_view->packet.has_value());
  auto interpreter_view = w.interpreter.referrals.Get(*accepted);
  REQUIRE(interpreter_view.ok());
  CHECK(interpreter_view->state == S::kClosed);
  CHECK_FALSE(interpreter_view->packet.has_value());
  auto listed = w.anna.referrals.ListConsents(w.case_id);
  REQUIRE(listed.ok());
  CHECK(listed->front().withdrawn_at_ms.has_value());
}

TEST_CASE("the server expires unanswered referrals and lapsed consent, and tells the watchers", "[referral]") {
  ReferralWorld w;
  const Id128 referral = w.ReferToLawyer();
  const std::string db = w.world.db_path();

  std::atomic<int> expired_notices{0};
  // The watcher says when its stream is registered on the server; the test
  // waits for that (with a deadline) before it changes anything.
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  auto opened = [&] {
    std::lock_guard<std::mutex> lock(mu);
    open = true;
    cv.notify_all();
  };
  // Its own ReferralClient: one call at a time per client (the Client is shared).
  ReferralClient watching(*w.anna_device.client, w.anna_device.keys, w.anna.cases, w.world.clock(), w.world.rng());
  absl::Status watched;
  std::thread watcher([&] {
    const int64_t deadline = w.world.clock().NowUnixMillis() + 15000;
    watched = watching.Watch(
        [&](const ReferralNotice& n) {
          if (n.referral_id == referral && n.state == S::kExpired && !n.incoming) ++expired_notices;
          return expired_notices == 0;
        },
        deadline, opened);
    opened();  // also when the stream failed before it opened
  });
  {
    std::unique_lock<std::mutex> lock(mu);
    REQUIRE(cv.wait_for(lock, std::chrono::seconds(15), [&] { return open; }));
  }

  // Its answer-by time passes (moved into the past in the database); the
  // server's expiry loop expires it and the watcher is told, which ends it.
  Exec(db, "UPDATE referrals SET answer_by = 1 WHERE referral_id = x'" + Hex(referral) + "'");
  watcher.join();
  INFO(watched.ToString());
  CHECK(watched.ok());
  CHECK(StateOf(w.anna.referrals, referral) == S::kExpired);
  CHECK(expired_notices == 1);
  // Its audit entry: the server acted (zero device) for the sending
  // organisation, with the receiver as counterpart, so both may read it.
  CHECK(QueryInt(db, "SELECT count(*) FROM audit_entries WHERE substr(entry, 2, 1) = x'12' AND "
                     "substr(entry, 59, 16) = x'" + Hex(referral) + "' AND substr(entry, 11, 16) = x'" +
                     Hex(w.shelter_admin.keys.org_id) + "' AND substr(entry, 27, 16) = zeroblob(16) AND "
                     "substr(entry, 91, 16) = x'" + Hex(w.legal_admin.keys.org_id) + "'") == 1);
  CHECK_FALSE(w.lawyer.referrals.Get(referral)->packet.has_value());
  CHECK(w.lawyer.referrals.Accept(referral).status().code() == Code::kFailedPrecondition);

  // An accepted referral whose consent expires is closed.
  ReferralDraft d = w.Draft(w.legal_listing, w.legal_admin.keys.org_id, ServiceCategory::kLegalAdvice);
  d.consent_id = w.Consent(w.legal_admin.keys.org_id, ServiceBit(2));
  auto second = w.anna.referrals.Refer(d);
  REQUIRE(second.ok());
  REQUIRE(w.lawyer.referrals.Accept(*second).ok());
  Exec(db, "UPDATE consents SET expires_at = 1 WHERE consent_id = x'" + Hex(*d.consent_id) + "'");
  // Nothing in this process is told of the server's move: wait for the state
  // itself, with a deadline.
  CHECK(WaitFor([&] { return StateOf(w.lawyer.referrals, *second) == S::kClosed; }, std::chrono::seconds(10)));
}

TEST_CASE("inbox and outbox page with opaque tokens and filter by state and service", "[referral]") {
  ReferralWorld w;
  const Id128 consent = w.Consent(Id128(), ServiceBit(2) | ServiceBit(3));
  std::vector<Id128> sent;
  for (int i = 0; i < 5; ++i) {
    const bool legal = i % 2 == 0;
    ReferralDraft d = legal ? w.Draft(w.legal_listing, w.legal_admin.keys.org_id, ServiceCategory::kLegalAdvice)
                            : w.Draft(w.interp_listing, w.interp_admin.keys.org_id, ServiceCategory::kInterpreting);
    d.consent_id = consent;
    auto id = w.anna.referrals.Refer(d);
    REQUIRE(id.ok());
    sent.push_back(*id);
  }
  // Pages of two, newest change first, every referral exactly once.
  ReferralQuery query;
  query.page_size = 2;
  std::vector<Id128> seen;
  std::vector<int64_t> times;
  int pages = 0;
  do {
    auto page = w.anna.referrals.Outbox(query);
    INFO(page.status().ToString());
    REQUIRE(page.ok());
    CHECK(page->referrals.size() <= 2);
    for (const ReferralSummary& r : page->referrals) {
      seen.push_back(r.record.referral_id);
      times.push_back(r.updated_at_ms);
    }
    query.page_token = page->next_page_token;
    ++pages;
  } while (!query.page_token.empty() && pages < 10);
  CHECK(pages == 3);
  REQUIRE(seen.size() == 5);
  CHECK(std::set<Id128>(seen.begin(), seen.end()) == std::set<Id128>(sent.begin(), sent.end()));
  CHECK(std::is_sorted(times.rbegin(), times.rend()));  // newest change first

  // Filters, alone and together.
  ReferralQuery legal;
  legal.service = static_cast<uint8_t>(ServiceCategory::kLegalAdvice);
  CHECK(w.anna.referrals.Outbox(legal)->referrals.size() == 3);
  CHECK(w.lawyer.referrals.Inbox(legal)->referrals.size() == 3);
  CHECK(w.interpreter.referrals.Inbox(legal)->referrals.empty());
  REQUIRE(w.lawyer.referrals.Accept(sent[0]).ok());
  ReferralQuery accepted_legal = legal;
  accepted_legal.states = {S::kAccepted};
  auto accepted = w.anna.referrals.Outbox(accepted_legal);
  REQUIRE(accepted.ok());
  REQUIRE(accepted->referrals.size() == 1);
  CHECK(accepted->referrals[0].record.referral_id == sent[0]);
  ReferralQuery open;
  open.states = {S::kSent, S::kAccepted};
  CHECK(w.anna.referrals.Outbox(open)->referrals.size() == 5);

  // A token the server did not issue.
  ReferralQuery forged;
  forged.page_token = "not-a-token";
  CHECK(w.anna.referrals.Outbox(forged).status().code() == Code::kInvalidArgument);
  ReferralQuery negative;
  negative.page_size = -1;
  CHECK(w.anna.referrals.Outbox(negative).status().code() == Code::kInvalidArgument);
  ReferralQuery huge;  // clamped to the server's maximum
  huge.page_size = 100000;
  CHECK(w.anna.referrals.Outbox(huge)->referrals.size() == 5);
}

TEST_CASE("a resent referral or transition is not a second one", "[referral]") {
  ReferralWorld w;
  const std::string db = w.world.db_path();
  ReferralDraft d = w.Draft(w.legal_listing, w.legal_admin.keys.org_id, ServiceCategory::kLegalAdvice);
  d.consent_id = w.Consent(w.legal_admin.keys.org_id, ServiceBit(2));
  REQUIRE(w.anna.referrals.Refer(d).ok());

  // Replay the stored request bytes through the raw API, as a retrying client would.
  auto stub = trygg::v1::ReferralService::NewStub(w.anna_device.client->channel());
  trygg::v1::GetReferralRequest get;
  auto outbox = w.anna.referrals.Outbox({});
  REQUIRE(outbox.ok());
  const Id128 id = outbox->referrals.at(0).record.referral_id;
  get.set_referral_id(std::string(id.span().begin(), id.span().end()));
  trygg::v1::GetReferralResponse stored;
  {
    auto context = w.anna_device.client->NewCallContext();
    REQUIRE(stub->GetReferral(context.get(), get, &stored).ok());
  }
  trygg::v1::CreateReferralRequest again;
  *again.mutable_referral()->mutable_signed_() = stored.referral().signed_();
  *again.mutable_packet() = stored.packet();
  *again.mutable_grants() = stored.grants();
  {
    auto context = w.anna_device.client->NewCallContext();
    trygg::v1::CreateReferralResponse response;
    grpc::Status status = stub->CreateReferral(context.get(), again, &response);
    INFO(status.error_message());
    // The same signed referral is the same request: answered, not stored twice.
    CHECK(status.ok());
    CHECK(response.referral_id() == get.referral_id());
  }
  CHECK(QueryInt(db, "SELECT count(*) FROM referrals") == 1);

  // A transition sent twice applies once.
  auto accepted = w.lawyer.referrals.Accept(id);
  REQUIRE(accepted.ok());
  trygg::v1::GetReferralResponse after;
  {
    auto context = w.lawyer_device.client->NewCallContext();
    auto lawyer_stub = trygg::v1::ReferralService::NewStub(w.lawyer_device.client->channel());
    REQUIRE(lawyer_stub->GetReferral(context.get(), get, &after).ok());
    REQUIRE(after.referral().transitions_size() == 1);
    trygg::v1::TransitionReferralRequest resend;
    resend.set_referral_id(get.referral_id());
    *resend.mutable_transition() = after.referral().transitions(0);
    auto context2 = w.lawyer_device.client->NewCallContext();
    trygg::v1::TransitionReferralResponse response;
    CHECK(lawyer_stub->TransitionReferral(context2.get(), resend, &response).ok());
    CHECK(response.referral().state() == trygg::v1::REFERRAL_STATE_ACCEPTED);
  }
  CHECK(w.Transitions(id) == 1);
}

std::string Str(std::span<const uint8_t> bytes) { return std::string(bytes.begin(), bytes.end()); }

TEST_CASE("a referral cannot take over the scope of another case", "[referral][malicious]") {
  // A sender that knows another case's scope id tries to make it its
  // referral's scope: its junk grants would give it the case, or ending the
  // referral would delete the case's grants.
  ReferralWorld w;
  const std::string db = w.world.db_path();
  auto victim = w.anna.cases.CurrentScope(w.case_id);
  REQUIRE(victim.ok());
  const Id128 victim_scope = victim->scope_id;
  auto own_case = w.anna.cases.CreateCase(Text("ett annat ärende"), 1);
  REQUIRE(own_case.ok());
  ConsentTerms terms{*own_case, w.legal_admin.keys.org_id, ServiceBit(2), ConsentPurpose::kReferralForServices,
                     w.world.clock().NowUnixMillis() + 3600000, Text("ja")};
  auto consent = w.anna.referrals.RecordConsent(terms);
  REQUIRE(consent.ok());
  const int64_t grants_before = QueryInt(db, "SELECT count(*) FROM grants");

  const KeyStoreContents& anna = w.anna_device.keys;
  RecordDraft draft;
  draft.case_id = *own_case;
  draft.scope_id = victim_scope;
  draft.epoch = 1;
  w.world.rng().Fill(draft.record_id.span());
  draft.author_org = anna.org_id;
  draft.author_device = anna.device_id;
  draft.content_type = 1;
  SecretKey key;
  w.world.rng().Fill(key.span());
  SecretKey dek = GenerateDataKey(w.world.rng());
  auto packet = SealRecord(draft, Text("x"), {}, dek, key, anna.device.signing(), w.world.clock(), w.world.rng());
  REQUIRE(packet.ok());
  ReferralRecord record;
  w.world.rng().Fill(record.referral_id.span());
  record.case_id = *own_case;
  record.from_org_id = anna.org_id;
  record.to_org_id = w.legal_admin.keys.org_id;
  record.listing_id = w.legal_listing;
  record.service = 2;
  record.consent_id = *consent;
  record.created_at_ms = w.world.clock().NowUnixMillis();
  record.packet_hash = RecordHash(*packet);
  record.sender_device_id = anna.device_id;
  auto signed_record = SignReferralRecord(record, anna.device.signing());
  REQUIRE(signed_record.ok());

  trygg::v1::CreateReferralRequest request;
  request.mutable_referral()->mutable_signed_()->set_bytes(Str(signed_record->bytes));
  request.mutable_referral()->mutable_signed_()->set_signature(Str(signed_record->signature.span()));
  request.mutable_referral()->mutable_signed_()->set_signer_id(Str(anna.device_id.span()));
  request.mutable_packet()->set_header(Str(packet->header));
  request.mutable_packet()->set_wrapped_dek(Str(packet->wrapped_dek));
  request.mutable_packet()->set_body(Str(packet->body));
  request.mutable_packet()->set_signature(Str(packet->signature.span()));
  for (const Id128& org : {anna.org_id, w.legal_admin.keys.org_id}) {
    auto log = w.anna_device.client->FetchOrgLog(org);
    REQUIRE(log.ok());
    auto grant = SealGrant(GrantParams{GrantKind::kScopeKey, victim_scope, 1, anna.device_id}, key,
                           log->org_box_key(), anna.device.signing(), w.world.clock(), w.world.rng());
    REQUIRE(grant.ok());
    trygg::v1::Grant* out = request.add_grants();
    out->set_scope_id(Str(victim_scope.span()));
    out->set_epoch(1);
    out->set_org_id(Str(org.span()));
    std::vector<uint8_t> bytes = grant->header;
    bytes.insert(bytes.end(), grant->sealed.begin(), grant->sealed.end());
    out->mutable_sealed()->set_bytes(Str(bytes));
    out->mutable_sealed()->set_signature(Str(grant->signature.span()));
  }
  auto stub = trygg::v1::ReferralService::NewStub(w.anna_device.client->channel());
  auto context = w.anna_device.client->NewCallContext();
  trygg::v1::CreateReferralResponse response;
  grpc::Status status = stub->CreateReferral(context.get(), request, &response);
  INFO(status.error_message());
  CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  // Nothing changed: no referral, the case's grants as they were, and the
  // receiver still cannot see the case.
  CHECK(QueryInt(db, "SELECT count(*) FROM referrals") == 0);
  CHECK(QueryInt(db, "SELECT count(*) FROM grants") == grants_before);
  CHECK(w.lawyer.cases.ReadCase(w.case_id).status().code() == Code::kNotFound);
  CHECK(w.anna.cases.ReadCase(w.case_id).ok());
}

TEST_CASE("a server that tampers with a referral is caught by the reader", "[referral][malicious]") {
  ReferralWorld w;
  const Id128 referral = w.ReferToLawyer();
  REQUIRE(w.lawyer.referrals.Accept(referral).ok());
  const std::string db = w.world.db_path();
  const std::string where = " WHERE referral_id = x'" + Hex(referral) + "'";

  SECTION("the packet body") {
    Exec(db, "UPDATE referrals SET packet_body = " + testing::FlippedByte("packet_body", 40) + where);
    CHECK(GetCryptoError(w.lawyer.referrals.Get(referral).status()) == CryptoError::kBadSignature);
  }
  SECTION("a packet swapped for another referral's (valid, same sender, same receiver)") {
    ReferralDraft d = w.Draft(w.legal_listing, w.legal_admin.keys.org_id, ServiceCategory::kLegalAdvice);
    d.consent_id = w.Consent(w.legal_admin.keys.org_id, ServiceBit(2));
    d.packet = Text("ett annat paket");
    auto other = w.anna.referrals.Refer(d);
    REQUIRE(other.ok());
    const std::string from = " FROM referrals WHERE referral_id = x'" + Hex(*other) + "')";
    Exec(db, "UPDATE referrals SET packet_header = (SELECT packet_header" + from +
                 ", packet_wrapped_dek = (SELECT packet_wrapped_dek" + from + ", packet_body = (SELECT packet_body" +
                 from + ", packet_signature = (SELECT packet_signature" + from + where);
    // The lawyer's grant is for the original packet's scope: the grant would
    // still open, but the packet is not the one the sender signed.
    CHECK(GetCryptoError(w.lawyer.referrals.Get(referral).status()) == CryptoError::kHashMismatch);
  }
  SECTION("a move the server should have refused, spliced into the history") {
    // The sender's own device signs SENT -> ACCEPTED (the server refuses it
    // when sent; a malicious server keeps it and shows it).
    ReferralTransition forged{referral, 1, 2, 0, w.anna_device.keys.device_id, w.world.clock().NowUnixMillis()};
    auto signed_forged = SignReferralTransition(forged, w.anna_device.keys.device.signing());
    REQUIRE(signed_forged.ok());
    Exec(db, "UPDATE referral_transitions SET bytes = x'" + HexEncode(signed_forged->bytes) + "', signature = x'" +
                 HexEncode(signed_forged->signature.span()) + "', actor = x'" + Hex(w.anna_device.keys.device_id) +
                 "'" + where);
    CHECK(GetCryptoError(w.lawyer.referrals.Get(referral).status()) == CryptoError::kBadSignature);
    CHECK(GetCryptoError(w.anna.referrals.Outbox({}).status()) == CryptoError::kBadSignature);
  }
  SECTION("a routing byte of the signed record (its service)") {
    Exec(db, "UPDATE referrals SET bytes = CAST(substr(bytes, 1, 85) || x'01' || substr(bytes, 87) AS BLOB)" +
                 where);  // the service byte
    CHECK(GetCryptoError(w.lawyer.referrals.Get(referral).status()) == CryptoError::kBadSignature);
  }
  SECTION("a state the signed history does not reach") {
    Exec(db, "UPDATE referrals SET state = 6, code = 1" + where);
    CHECK(GetCryptoError(w.anna.referrals.Get(referral).status()) == CryptoError::kBadSignature);
  }
  SECTION("a removed transition") {
    Exec(db, "DELETE FROM referral_transitions" + where);
    CHECK(GetCryptoError(w.anna.referrals.Get(referral).status()) == CryptoError::kBadSignature);
  }
}

}  // namespace
}  // namespace trygg
