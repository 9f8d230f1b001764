// SPDX-License-Identifier: Apache-2.0

// One device's Client, CaseClient, ReferralClient and DirectoryClient used
// from several threads at once against a real tryggd: cases written and
// read, the directory searched, referrals sent, listed and watched, and the
// device logging in again meanwhile. Every call must succeed and every
// result be whole; built with -fsanitize=thread (TRYGG_TSAN, in .ci/run)
// ThreadSanitizer also checks that no two threads touch the same memory
// without synchronisation.
#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "testing/trust_world.h"
#include "testing/wait_for.h"
#include "trygg/case_client.h"
#include "trygg/directory_client.h"
#include "trygg/referral_client.h"

namespace trygg {
namespace {

using testing::TestDevice;
using testing::TrustWorld;

std::vector<uint8_t> Text(const std::string& s) { return {s.begin(), s.end()}; }

TEST_CASE("one device's clients from several threads at once") {
  TrustWorld world;
  REQUIRE(world.ok());
  world.CertifyServer();
  TestDevice& shelter_admin = world.AdmitOrganisation("Skyddat boende Syd");
  TestDevice& anna = world.AddDevice(shelter_admin, Role::kCaseworker);
  TestDevice& legal_admin = world.AdmitOrganisation("Juridisk rådgivning");
  Listing l;
  l.category = static_cast<uint8_t>(ServiceCategory::kLegalAdvice);
  l.regions = {"SE-M"};
  l.languages = {"sv"};
  l.response_time_hours = 48;
  absl::StatusOr<VerifiedListing> listing =
      DirectoryClient(*legal_admin.client, legal_admin.keys, world.clock(), world.rng()).Publish(l);
  REQUIRE(listing.ok());

  // The clients every thread shares, with thread-safe time and randomness.
  SystemClock clock;
  SystemRng rng;
  CaseClient cases(*anna.client, anna.keys, clock, rng);
  ReferralClient referrals(*anna.client, anna.keys, cases, clock, rng);
  DirectoryClient directory(*anna.client, anna.keys, clock, rng);
  absl::StatusOr<Id128> shared_case = cases.CreateCase(Text("delat ärende"), 1);
  REQUIRE(shared_case.ok());

  constexpr int kRounds = 4;
  std::mutex failures_mu;
  std::vector<std::string> failures;
  auto check = [&](const absl::Status& status, const char* what) {
    if (status.ok()) return;
    std::lock_guard<std::mutex> lock(failures_mu);
    failures.push_back(std::string(what) + ": " + status.ToString());
  };
  std::atomic<int> referred{0};
  std::atomic<int> noticed{0};
  std::atomic<bool> watching{false};

  std::vector<std::thread> threads;
  // Watches this organisation's referrals until it has seen each one sent.
  threads.emplace_back([&] {
    check(referrals.Watch(
              [&](const ReferralNotice& n) {
                if (n.state == ReferralStatus::kSent && !n.incoming) ++noticed;
                return noticed < kRounds;
              },
              clock.NowUnixMillis() + 60'000, [&] { watching = true; }),
          "watch");
  });
  // Writes and reads cases of its own.
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRounds; ++i) {
        absl::StatusOr<Id128> id = cases.CreateCase(Text("ärende " + std::to_string(t)), 1);
        check(id.status(), "create");
        if (!id.ok()) continue;
        check(cases.AppendVersion(*id, Text("version 2"), 1).status(), "append");
        absl::StatusOr<CaseRead> read = cases.ReadCase(*id);
        check(read.status(), "read");
        if (read.ok() && read->versions.size() != 2) check(absl::DataLossError("not two versions"), "read");
      }
    });
  }
  // Reads the shared case, lists cases, searches the directory.
  threads.emplace_back([&] {
    for (int i = 0; i < kRounds; ++i) {
      check(cases.ReadCase(*shared_case).status(), "read shared");
      check(cases.ListCases().status(), "list cases");
      absl::StatusOr<ListingResults> found = directory.Search(ListingQuery{});
      check(found.status(), "search");
      if (found.ok() && found->listings.size() != 1) check(absl::DataLossError("listing missing"), "search");
      check(directory.Get(listing->listing.listing_id).status(), "get listing");
    }
  });
  // Refers the shared case once the watch is open, and lists the outbox.
  threads.emplace_back([&] {
    if (!testing::WaitFor([&] { return watching.load(); }, std::chrono::seconds(30))) {
      check(absl::DeadlineExceededError("the watch did not open"), "watch");
      return;
    }
    for (int i = 0; i < kRounds; ++i) {
      ReferralDraft draft;
      draft.case_id = *shared_case;
      draft.listing_id = listing->listing.listing_id;
      draft.to_org = legal_admin.keys.org_id;
      draft.service = static_cast<uint8_t>(ServiceCategory::kLegalAdvice);
      draft.justification = Text("akut");
      draft.packet = Text("paket");
      absl::StatusOr<Id128> id = referrals.Refer(draft);
      check(id.status(), "refer");
      if (id.ok()) {
        ++referred;
        check(referrals.Get(*id).status(), "get referral");
      }
      check(referrals.Outbox(ReferralQuery{}).status(), "outbox");
    }
  });
  // Logs the device in again while the others work, and fetches both
  // organisations' logs through the client's cache, which CreateCase and
  // Refer on the other threads read and extend at the same time.
  threads.emplace_back([&] {
    for (int i = 0; i < 2; ++i) {
      check(anna.client->Login(anna.keys.device_id, anna.keys.device.signing()).status(), "login");
      check(anna.client->ListOrganisations().status(), "organisations");
    }
    for (int i = 0; i < kRounds; ++i) {
      check(anna.client->FetchOrgLog(anna.keys.org_id).status(), "own org log");
      check(anna.client->FetchOrgLog(legal_admin.keys.org_id).status(), "receiver's org log");
    }
  });
  for (std::thread& t : threads) t.join();

  INFO([&] {
    std::string all;
    for (const std::string& f : failures) all += f + "\n";
    return all;
  }());
  CHECK(failures.empty());
  CHECK(referred == kRounds);
  CHECK(noticed == kRounds);
  absl::StatusOr<ReferralPage> outbox = referrals.Outbox(ReferralQuery{});
  REQUIRE(outbox.ok());
  CHECK(outbox->referrals.size() == kRounds);
  CHECK(anna.client->logged_in());
  // The device's audit trail holds every write of every thread.
  absl::StatusOr<AuditTrailReport> audit = anna.client->VerifyAuditTrail();
  INFO(audit.status().ToString());
  CHECK(audit.ok());
}

}  // namespace
}  // namespace trygg
