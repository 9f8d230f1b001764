// SPDX-License-Identifier: Apache-2.0

// The partner flows libtrygg owns that need no server: case-record JSON to
// and from the record type (trygg/case_record.h), referral packets with
// chosen sections (trygg/referral_packet.h), listing files
// (trygg/listing_file.h), a new device's key store and the safety-number
// check of the enrolment ceremony (trygg/device.h).
#include <catch2/catch.hpp>

#include <filesystem>

#include "testing/temp_dir.h"
#include "trygg/case_record.h"
#include "trygg/crypto_error.h"
#include "trygg/device.h"
#include "trygg/fingerprint.h"
#include "trygg/key_store.h"
#include "trygg/listing_file.h"
#include "trygg/random.h"
#include "trygg/referral_packet.h"

namespace trygg {
namespace {

constexpr char kRecordJson[] = R"({
  "person": {"first_name": "Ana", "birthdate": "1999-04-02", "primary_language": "ro"},
  "needs": [{"service": "shelter"}, {"service": "SERVICE_CATEGORY_LEGAL_ADVICE"}, {"service": 3}],
  "comments": ["said \"service\":1 once"]
})";

TEST_CASE("case record JSON reads service names, enum names and numbers, and writes names") {
  absl::StatusOr<trygg::v1::CaseRecord> record = CaseRecordFromJson(kRecordJson);
  INFO(record.status().ToString());
  REQUIRE(record.ok());
  CHECK(record->person().first_name() == "Ana");
  REQUIRE(record->needs_size() == 3);
  CHECK(record->needs(0).service() == trygg::v1::SERVICE_CATEGORY_SHELTER);
  CHECK(record->needs(1).service() == trygg::v1::SERVICE_CATEGORY_LEGAL_ADVICE);
  CHECK(record->needs(2).service() == 3);
  REQUIRE(record->comments_size() == 1);
  CHECK(record->comments(0) == "said \"service\":1 once");

  const std::string json = CaseRecordToJson(*record);
  CHECK(json.find(R"("service":"shelter")") != std::string::npos);
  CHECK(json.find(R"("service":"legal-advice")") != std::string::npos);
  // Text inside a value is never taken for a key.
  CHECK(json.find(R"(said \"service\":1 once)") != std::string::npos);
  CHECK(json.find(R"("first_name":"Ana")") != std::string::npos);

  absl::StatusOr<trygg::v1::CaseRecord> again = CaseRecordFromJson(json);
  REQUIRE(again.ok());
  CHECK(again->SerializeAsString() == record->SerializeAsString());
}

TEST_CASE("case record JSON refuses what is not a case record, naming the field") {
  absl::StatusOr<trygg::v1::CaseRecord> unknown = CaseRecordFromJson(R"({"persn": {}})");
  CHECK(absl::IsInvalidArgument(unknown.status()));
  CHECK(unknown.status().message().find("persn") != std::string::npos);

  absl::StatusOr<trygg::v1::CaseRecord> date = CaseRecordFromJson(R"({"person": {"birthdate": "2/4/1999"}})");
  CHECK(absl::IsInvalidArgument(date.status()));
  CHECK(date.status().message().find("person.birthdate") != std::string::npos);

  absl::StatusOr<trygg::v1::CaseRecord> service = CaseRecordFromJson(R"({"needs": [{"service": "spa"}]})");
  CHECK(absl::IsInvalidArgument(service.status()));

  CHECK(absl::IsInvalidArgument(CaseRecordFromJson("not json").status()));
  CHECK(absl::IsInvalidArgument(CaseRecordFromJson(R"({"comments": ["unterminated)").status()));
}

TEST_CASE("a referral packet's note must be UTF-8, as proto3 requires") {
  absl::StatusOr<trygg::v1::CaseRecord> record = CaseRecordFromJson(kRecordJson);
  REQUIRE(record.ok());
  for (const char* note : {"\xff", "cut \xe2\x82", "overlong \xc0\xaf", "surrogate \xed\xa0\x80"}) {
    absl::StatusOr<trygg::v1::ReferralPacket> packet = MakeReferralPacket(*record, {"needs"}, note);
    CHECK(absl::IsInvalidArgument(packet.status()));
    CHECK(packet.status().message().find("the note is not valid UTF-8") != std::string::npos);
  }
  CHECK(MakeReferralPacket(*record, {"needs"}, "Ring f\xc3\xb6re bes\xc3\xb6k \xf0\x9f\x93\x9e").ok());
}

TEST_CASE("a case record that does not parse is refused without quoting what it holds") {
  // Protobuf's own messages quote the text around the mistake; none of it
  // may reach the Status (and from there trygg_last_error or a log).
  const char* const records[] = {
      R"({"person": {"first_name": "Ioana Popescu" "second_name": "Secretescu"}})",
      R"({"person": {"birthdate": 19900101, "first_name": "Ioana Popescu"}})",
      R"({"person": {"Ioana Popescu": 1}})",  // a key is quoted only when it looks like a field name
      R"({"comments": ["Ioana Popescu)",
      R"({"needs": [{"service": "Ioana Popescu"}]})",
  };
  for (const char* json : records) {
    CAPTURE(json);
    absl::StatusOr<trygg::v1::CaseRecord> record = CaseRecordFromJson(json);
    REQUIRE(absl::IsInvalidArgument(record.status()));
    const std::string message(record.status().message());
    CHECK(message.find("Ioana") == std::string::npos);
    CHECK(message.find("Popescu") == std::string::npos);
    CHECK(message.find("19900101") == std::string::npos);
    CHECK(message.find("Secret") == std::string::npos);
    CHECK(message.find("trygg.v1.CaseRecord") != std::string::npos);
  }
  // A field path of the record's own fields is kept.
  CHECK(CaseRecordFromJson(R"({"person": {"birthdate": 19900101}})").status().message().find("person.birthdate") !=
        std::string::npos);
}

TEST_CASE("a referral packet shares only the chosen sections") {
  absl::StatusOr<trygg::v1::CaseRecord> record = CaseRecordFromJson(kRecordJson);
  REQUIRE(record.ok());
  absl::StatusOr<trygg::v1::ReferralPacket> packet = MakeReferralPacket(*record, {"needs"}, "please call");
  REQUIRE(packet.ok());
  CHECK(packet->shared().needs_size() == 3);
  CHECK_FALSE(packet->shared().has_person());
  CHECK(packet->shared().comments().empty());
  CHECK(packet->note() == "please call");
  REQUIRE(packet->sections_size() == 1);
  CHECK(packet->sections(0) == "needs");

  const std::string bytes = packet->SerializeAsString();
  const std::vector<uint8_t> plaintext(bytes.begin(), bytes.end());
  absl::StatusOr<trygg::v1::ReferralPacket> read = ReadReferralPacket(plaintext);
  REQUIRE(read.ok());
  CHECK(read->SerializeAsString() == bytes);
  CHECK(ReferralPacketToJson(*read).find(R"("sections":["needs"])") != std::string::npos);

  for (const std::string& section : ReferralPacketSections()) {
    CHECK(MakeReferralPacket(*record, {section}, "").ok());
  }
  absl::StatusOr<trygg::v1::ReferralPacket> unknown = MakeReferralPacket(*record, {"passport"}, "");
  CHECK(absl::IsInvalidArgument(unknown.status()));
  CHECK(unknown.status().message().find("passport") != std::string::npos);
  CHECK(absl::IsInvalidArgument(MakeReferralPacket(*record, {}, "").status()));
  const std::vector<uint8_t> garbage = {0xff, 0xff, 0xff};
  CHECK(absl::IsInvalidArgument(ReadReferralPacket(garbage).status()));
}

TEST_CASE("the latest case record of a case is its last version that is one") {
  CaseRead read;
  auto version = [](uint16_t type, const std::string& bytes) {
    CaseVersion v;
    v.header.content_type = type;
    v.plaintext.assign(bytes.begin(), bytes.end());
    return v;
  };
  trygg::v1::CaseRecord first, second;
  first.add_comments("first");
  second.add_comments("second");
  read.versions.push_back(version(kContentCaseRecord, first.SerializeAsString()));
  read.versions.push_back(version(kContentCaseRecord, second.SerializeAsString()));
  read.versions.push_back(version(kContentText, "a note, not a record"));
  REQUIRE(LatestCaseRecord(read).comments_size() == 1);
  CHECK(LatestCaseRecord(read).comments(0) == "second");
  CHECK(LatestCaseRecord(CaseRead{}).comments_size() == 0);
}

TEST_CASE("a listing file becomes a listing, and each mistake is named") {
  absl::StatusOr<Listing> listing = ParseListingFile(R"({"category": "shelter", "regions": ["SE-AB"],
      "languages": ["ro", "sv"], "target_groups": ["women", "children"], "exploitation_forms": ["sexual"],
      "capacity_free": 2, "response_time_hours": 24, "contact_hours": "Dygnet runt", "description": "Boende"})");
  INFO(listing.status().ToString());
  REQUIRE(listing.ok());
  CHECK(listing->category == static_cast<uint8_t>(ServiceCategory::kShelter));
  CHECK(listing->regions == std::vector<std::string>{"SE-AB"});
  CHECK(listing->languages == std::vector<std::string>{"ro", "sv"});
  CHECK(listing->HasTargetGroup(TargetGroup::kWomen));
  CHECK(listing->HasTargetGroup(TargetGroup::kChildren));
  CHECK_FALSE(listing->HasTargetGroup(TargetGroup::kMen));
  CHECK(listing->HasExploitationForm(ExploitationForm::kSexual));
  CHECK(listing->capacity_free == 2);
  CHECK(listing->response_time_hours == 24);
  CHECK(listing->contact_hours == "Dygnet runt");
  CHECK(listing->description == "Boende");

  struct Bad {
    const char* json;
    const char* named;
  };
  for (const Bad& bad : {Bad{"[1, 2]", "not a JSON object"}, Bad{"{", "not a JSON object"},
                         Bad{R"({"categry": "shelter"})", "categry"}, Bad{R"({"category": "spa"})", "spa"},
                         Bad{R"({"category": 1})", "category"}, Bad{R"({"regions": "SE-AB"})", "regions"},
                         Bad{R"({"capacity_free": 1.5})", "capacity_free"},
                         Bad{R"({"response_time_hours": -1})", "response_time_hours"},
                         Bad{R"({"target_groups": ["aliens"]})", "aliens"}}) {
    absl::StatusOr<Listing> refused = ParseListingFile(bad.json);
    INFO(bad.json);
    CHECK(absl::IsInvalidArgument(refused.status()));
    CHECK(refused.status().message().find(bad.named) != std::string::npos);
  }
}

TEST_CASE("device init writes a key store that opens with its passphrase, once") {
  testing::TempDir dir;
  const std::filesystem::path path = std::filesystem::path(dir.path()) / "sub" / "device.keystore";
  DeterministicRng rng(0x11);
  Id128 org;
  rng.Fill(org.span());
  absl::StatusOr<KeyStoreContents> made = InitDevice(path, "correct horse", org, MinimumKdfLimitsForTests(), rng);
  INFO(made.status().ToString());
  REQUIRE(made.ok());
  CHECK(made->org_id == org);
  CHECK_FALSE(made->device_id.IsZero());
  CHECK(made->org_keys.empty());

  KeyStoreOpenOptions open;
  open.allow_weak_kdf_for_tests = true;
  absl::StatusOr<KeyStoreContents> opened = OpenKeyStore(path, "correct horse", open);
  REQUIRE(opened.ok());
  CHECK(opened->device_id == made->device_id);
  CHECK(opened->device.signing().public_key == made->device.signing().public_key);

  // Never twice, never with an empty passphrase; the first store is untouched.
  CHECK(absl::IsAlreadyExists(InitDevice(path, "another", org, MinimumKdfLimitsForTests(), rng).status()));
  CHECK(absl::IsInvalidArgument(
      InitDevice(std::filesystem::path(dir.path()) / "empty.keystore", "", org, MinimumKdfLimitsForTests(), rng)
          .status()));
  CHECK_FALSE(std::filesystem::exists(std::filesystem::path(dir.path()) / "empty.keystore"));
  CHECK(GetCryptoError(OpenKeyStore(path, "another", open).status()) == CryptoError::kWrongPassphrase);
}

TEST_CASE("opening a device session without a key store names the path and connects to nothing") {
  testing::TempDir dir;
  const std::filesystem::path path = std::filesystem::path(dir.path()) / "missing.keystore";
  DeviceSessionOptions options;
  options.client.address = "127.0.0.1:1";
  absl::StatusOr<std::unique_ptr<DeviceSession>> session = DeviceSession::Open(path, "pw", options);
  CHECK(absl::IsNotFound(session.status()));
  CHECK(session.status().message().find(path.string()) != std::string::npos);
}

TEST_CASE("the safety-number check of the enrolment ceremony") {
  DeterministicRng rng(0x22);
  const DeviceKeys device_keys = DeviceKeys::Generate(rng);
  const DeviceKeys other_keys = DeviceKeys::Generate(rng);
  const SigningKeyPair& device = device_keys.signing();
  const SigningKeyPair& other = other_keys.signing();
  const std::string number = SafetyNumber(device.public_key);
  CHECK(CheckSafetyNumber(number, device.public_key).ok());
  std::string dashed;
  for (char c : number) dashed += c == ' ' ? '-' : c;
  CHECK(CheckSafetyNumber(dashed, device.public_key).ok());
  CHECK(absl::IsPermissionDenied(CheckSafetyNumber(SafetyNumber(other.public_key), device.public_key)));
  CHECK(absl::IsInvalidArgument(CheckSafetyNumber(number.substr(0, 10), device.public_key)));
  CHECK(absl::IsInvalidArgument(CheckSafetyNumber("", device.public_key)));
}

}  // namespace
}  // namespace trygg
