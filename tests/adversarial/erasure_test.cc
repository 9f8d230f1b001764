// SPDX-License-Identifier: Apache-2.0

// Erasure leaves nothing to recover. A case with versions, an attachment,
// consent evidence and a referral packet is erased; then the server's whole
// database file and its write-ahead log are searched, byte for byte, for
// every ciphertext and every wrapped or sealed key the case had. None is
// left: the rows are deleted, SQLite's secure_delete has zeroed the space
// they held, and the writer checkpointed and truncated the WAL before it
// answered. The same search finds every one of them before the erasure, so
// the test can fail.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include "testing/db_edit.h"
#include "testing/trust_world.h"
#include "trygg/case_client.h"
#include "trygg/directory_client.h"
#include "trygg/referral_client.h"
#include "trygg/workflow.h"

namespace trygg::adversarial_erasure {
namespace {

using testing::QueryBlobs;
using testing::TestDevice;
using testing::TrustWorld;

std::vector<uint8_t> Text(std::string_view s) { return {s.begin(), s.end()}; }

std::vector<uint8_t> ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Three 24-byte windows of `blob` (start, middle, end): a surviving copy of
// any part of the blob at least that long is found.
std::vector<std::vector<uint8_t>> Windows(const std::vector<uint8_t>& blob) {
  constexpr size_t kWindow = 24;
  if (blob.size() < kWindow) return {blob};
  std::vector<std::vector<uint8_t>> out;
  for (size_t at : {size_t{0}, (blob.size() - kWindow) / 2, blob.size() - kWindow}) {
    out.emplace_back(blob.begin() + static_cast<std::ptrdiff_t>(at),
                     blob.begin() + static_cast<std::ptrdiff_t>(at + kWindow));
  }
  return out;
}

// How many of `secrets` still appear, in any window, in the database or WAL.
size_t Surviving(const std::string& db_path, const std::vector<std::vector<uint8_t>>& secrets) {
  std::vector<std::vector<uint8_t>> files = {ReadAll(db_path)};
  if (std::filesystem::exists(db_path + "-wal")) files.push_back(ReadAll(db_path + "-wal"));
  size_t surviving = 0;
  for (const auto& secret : secrets) {
    bool found = false;
    for (const auto& window : Windows(secret)) {
      for (const auto& file : files) {
        found = found || std::search(file.begin(), file.end(), window.begin(), window.end()) != file.end();
      }
    }
    surviving += found ? 1 : 0;
  }
  return surviving;
}

struct Worker {
  Worker(TestDevice& d, TrustWorld& world)
      : cases(*d.client, d.keys, world.clock(), world.rng()),
        referrals(*d.client, d.keys, cases, world.clock(), world.rng()) {}
  CaseClient cases;
  ReferralClient referrals;
};

}  // namespace

TEST_CASE("an erased case leaves none of its ciphertext or keys in the database or its WAL",
          "[adversarial][erasure]") {
  TrustWorld world;
  TestDevice& shelter = world.AdmitOrganisation("Skyddat boende Öst");
  TestDevice& anna_device = world.AddDevice(shelter, Role::kCaseworker);
  TestDevice& legal = world.AdmitOrganisation("Juridisk rådgivning");
  Worker anna(anna_device, world);

  Listing listing;
  listing.category = static_cast<uint8_t>(ServiceCategory::kLegalAdvice);
  listing.regions = {"SE-AB"};
  listing.languages = {"sv"};
  listing.response_time_hours = 48;
  DirectoryClient directory(*legal.client, legal.keys, world.clock(), world.rng());
  auto published = directory.Publish(listing);
  REQUIRE(published.ok());

  auto case_id = anna.cases.CreateCase(Text("Namn: Elena; född 1996; telefon 070-000 00 00"), 1);
  REQUIRE(case_id.ok());
  constexpr size_t kAttachment = 300 * 1024;
  std::string scan(kAttachment, '\0');
  for (size_t i = 0; i < scan.size(); ++i) scan[i] = static_cast<char>(i * 31 + 7);
  std::istringstream in(scan);
  REQUIRE(anna.cases.AppendVersion(*case_id, Text("Pass inskannat"), 1, {AttachmentInput{&in, kAttachment}}).ok());
  ConsentTerms terms;
  terms.case_id = *case_id;
  terms.to_org = legal.keys.org_id;
  terms.services = ServiceBit(static_cast<uint8_t>(ServiceCategory::kLegalAdvice));
  terms.expires_at_ms = world.clock().NowUnixMillis() + 24LL * 3600 * 1000;
  terms.evidence = Text("Skriftligt samtycke, undertecknat av Elena");
  auto consent = anna.referrals.RecordConsent(terms);
  REQUIRE(consent.ok());
  ReferralDraft draft;
  draft.case_id = *case_id;
  draft.listing_id = published->listing.listing_id;
  draft.to_org = legal.keys.org_id;
  draft.service = static_cast<uint8_t>(ServiceCategory::kLegalAdvice);
  draft.urgency = ReferralUrgency::kUrgent;
  draft.packet = Text("Elena behöver hjälp med uppehållstillstånd");
  draft.consent_id = *consent;
  REQUIRE(anna.referrals.Refer(draft).ok());

  const std::string db = world.db_path();
  const std::string hex = "x'" + HexEncode(case_id->span()) + "'";
  std::vector<std::vector<uint8_t>> secrets;
  auto collect = [&](const std::string& sql) {
    auto blobs = QueryBlobs(db, sql);
    CHECK_FALSE(blobs.empty());
    for (auto& blob : blobs) {
      if (!blob.empty()) secrets.push_back(std::move(blob));
    }
  };
  collect("SELECT wrapped_dek FROM case_versions WHERE case_id = " + hex);
  collect("SELECT body FROM case_versions WHERE case_id = " + hex);
  collect("SELECT bytes FROM attachment_parts WHERE case_id = " + hex);
  collect("SELECT sealed FROM grants WHERE scope_id IN (SELECT scope_id FROM cases WHERE case_id = " + hex +
          " UNION SELECT scope_id FROM referrals WHERE case_id = " + hex + ")");
  collect("SELECT evidence FROM consents WHERE case_id = " + hex);
  collect("SELECT packet_wrapped_dek FROM referrals WHERE case_id = " + hex);
  collect("SELECT packet_body FROM referrals WHERE case_id = " + hex);
  REQUIRE(secrets.size() >= 10);
  // The search works: before the erasure every secret is there.
  REQUIRE(Surviving(db, secrets) == secrets.size());

  REQUIRE(anna.cases.EraseCase(*case_id).ok());
  CHECK(Surviving(db, secrets) == 0);
  if (std::filesystem::exists(db + "-wal")) CHECK(std::filesystem::file_size(db + "-wal") == 0);
  // The case is gone for its owner too.
  CHECK(anna.cases.ReadCase(*case_id).status().code() == absl::StatusCode::kNotFound);
}

}  // namespace trygg::adversarial_erasure
