// SPDX-License-Identifier: Apache-2.0

// Cases end to end: the client library seals on the device, a real tryggd
// stores ciphertext in a real SQLite file, and only organisations holding a
// grant can see a case. Tampering with the stored versions is caught by the
// reading client.
#include <signal.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include <grpcpp/grpcpp.h>

#include "testing/db_edit.h"
#include "testing/trust_world.h"
#include "trygg/attachment.h"
#include "trygg/case_client.h"
#include "trygg/crypto_error.h"
#include "trygg/v1/case.grpc.pb.h"
#include "trygg/v1/referral.grpc.pb.h"

namespace trygg {
namespace {

using testing::TestDevice;
using testing::Exec;
using testing::QueryInt;
using testing::TrustWorld;

std::vector<uint8_t> Text(std::string_view s) { return {s.begin(), s.end()}; }
std::string AsString(const std::vector<uint8_t>& v) { return {v.begin(), v.end()}; }
std::string ReasonOf(const absl::Status& status) {
  auto reason = GetCryptoError(status);
  return reason ? std::string(CryptoErrorName(*reason)) : status.ToString();
}

constexpr std::string_view kSurvivor = "Namn: Ioana Popescu; född 1999; rekryterad via jobbannons";

struct CaseWorld {
  TrustWorld world;
  TestDevice& shelter_admin = world.AdmitOrganisation("Skyddat boende Syd");
  TestDevice& anna = world.AddDevice(shelter_admin, Role::kCaseworker);
  TestDevice& bo = world.AddDevice(shelter_admin, Role::kCaseworker);
  TestDevice& legal_admin = world.AdmitOrganisation("Juridisk rådgivning");
  TestDevice& lawyer = world.AddDevice(legal_admin, Role::kCaseworker);
  TestDevice& coordinator = world.AddCoordinator("Samordnare");
  CaseClient anna_cases{*anna.client, anna.keys, world.clock(), world.rng()};
  CaseClient bo_cases{*bo.client, bo.keys, world.clock(), world.rng()};
  CaseClient lawyer_cases{*lawyer.client, lawyer.keys, world.clock(), world.rng()};
};

TEST_CASE("a case is sealed on the device, read by its organisation, invisible to others", "[case]") {
  CaseWorld w;
  auto case_id = w.anna_cases.CreateCase(Text(kSurvivor), 1);
  INFO(case_id.status().ToString());
  REQUIRE(case_id.ok());
  REQUIRE(w.anna_cases.AppendVersion(*case_id, Text("Behov: skyddat boende, tolk på rumänska"), 1).value() == 2);

  auto read = w.bo_cases.ReadCase(*case_id);
  INFO(read.status().ToString());
  REQUIRE(read.ok());
  REQUIRE(read->versions.size() == 2);
  CHECK(AsString(read->versions[0].plaintext) == kSurvivor);
  CHECK(read->versions[1].header.author_device == w.anna.keys.device_id);
  REQUIRE(w.bo_cases.AppendVersion(*case_id, Text("Placerad 2026-11-28"), 1).value() == 3);
  CHECK(w.anna_cases.ReadCase(*case_id)->versions.size() == 3);

  auto listed = w.anna_cases.ListCases();
  REQUIRE(listed.ok());
  REQUIRE(listed->size() == 1);
  CHECK(listed->front().head_version == 3);
  CHECK(w.lawyer_cases.ListCases()->empty());

  // Another organisation gets NOT_FOUND, the same as for an id that does not exist.
  auto foreign = w.lawyer_cases.ReadCase(*case_id);
  auto missing = w.lawyer_cases.ReadCase(Id128(std::array<uint8_t, 16>{0x33}));
  CHECK(foreign.status().code() == absl::StatusCode::kNotFound);
  CHECK(missing.status().code() == absl::StatusCode::kNotFound);
  CHECK(foreign.status().message() == missing.status().message());
  CHECK(w.lawyer_cases.AppendVersion(*case_id, Text("x"), 1).status().code() == absl::StatusCode::kNotFound);
  CHECK(w.lawyer_cases.EraseCase(*case_id).code() == absl::StatusCode::kNotFound);

  // Coordinators never handle case content, nor watch referrals.
  CaseClient coordinator_cases{*w.coordinator.client, w.coordinator.keys, w.world.clock(), w.world.rng()};
  CHECK(coordinator_cases.ReadCase(*case_id).status().code() == absl::StatusCode::kPermissionDenied);
  {
    auto watch_stub = trygg::v1::ReferralService::NewStub(w.coordinator.client->channel());
    auto context = w.coordinator.client->NewCallContext();
    auto watch = watch_stub->WatchReferrals(context.get(), trygg::v1::WatchReferralsRequest());
    trygg::v1::WatchReferralsResponse notice;
    CHECK_FALSE(watch->Read(&notice));
    CHECK(watch->Finish().error_code() == grpc::StatusCode::PERMISSION_DENIED);
  }

  // The server's database holds no plaintext.
  w.world.server().Stop(SIGTERM);
  std::ifstream in(w.world.db_path(), std::ios::binary);
  std::string db((std::istreambuf_iterator<char>(in)), {});
  CHECK(db.find("Ioana") == std::string::npos);
  CHECK(db.find("Popescu") == std::string::npos);
  CHECK(db.find("rumänska") == std::string::npos);
}

// Far past the 4 MiB a gRPC message may carry: GetCase answers in pages of
// about 1 MiB and CaseClient follows them, so the case reads and grows like a
// small one.
TEST_CASE("a case of 24 MiB reads and grows: GetCase answers in pages", "[case]") {
  CaseWorld w;
  constexpr int kVersions = 24;
  auto content = [](int version) {
    std::vector<uint8_t> bytes(size_t{1} << 20);
    for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i * 31 + version);
    return bytes;
  };
  auto case_id = w.anna_cases.CreateCase(content(1), 1);
  REQUIRE(case_id.ok());
  for (int v = 2; v <= kVersions; ++v) REQUIRE(w.anna_cases.AppendVersion(*case_id, content(v), 1).value() == static_cast<uint64_t>(v));

  auto read = w.bo_cases.ReadCase(*case_id);
  INFO(read.status().ToString());
  REQUIRE(read.ok());
  REQUIRE(read->versions.size() == kVersions);
  for (int v = 1; v <= kVersions; ++v) CHECK(read->versions[v - 1].plaintext == content(v));
  REQUIRE(w.bo_cases.AppendVersion(*case_id, Text("Placerad 2026-12-05"), 1).value() == uint64_t{kVersions + 1});
  auto again = w.anna_cases.ReadCase(*case_id);
  REQUIRE(again.ok());
  CHECK(again->versions.size() == kVersions + 1);

  // On the wire: pages under the message limit, each saying whether more follow.
  auto stub = trygg::v1::CaseService::NewStub(w.bo.client->channel());
  uint64_t after = 0;
  int pages = 0;
  for (;;) {
    trygg::v1::GetCaseRequest request;
    request.set_case_id(std::string(case_id->array().begin(), case_id->array().end()));
    request.set_after_version(after);
    trygg::v1::GetCaseResponse page;
    auto context = w.bo.client->NewCallContext();
    REQUIRE(stub->GetCase(context.get(), request, &page).ok());
    REQUIRE(page.versions_size() >= 1);
    CHECK(page.ByteSizeLong() < (size_t{2} << 20));
    after += page.versions_size();
    ++pages;
    if (!page.more()) break;
  }
  CHECK(after == uint64_t{kVersions + 1});
  CHECK(pages >= kVersions / 2);
}

TEST_CASE("bad case writes get the right status and change nothing", "[case]") {
  CaseWorld w;
  auto case_id = w.anna_cases.CreateCase(Text(kSurvivor), 1);
  REQUIRE(case_id.ok());
  const std::string db = w.world.db_path();
  int64_t expected_versions = QueryInt(db, "SELECT count(*) FROM case_versions");
  auto stub = trygg::v1::CaseService::NewStub(w.anna.client->channel());
  auto get = [&] {
    trygg::v1::GetCaseRequest request;
    request.set_case_id(std::string(case_id->span().begin(), case_id->span().end()));
    trygg::v1::GetCaseResponse response;
    auto context = w.anna.client->NewCallContext();
    REQUIRE(stub->GetCase(context.get(), request, &response).ok());
    return response;
  };
  trygg::v1::GetCaseResponse current = get();
  auto append = [&](const trygg::v1::RecordEnvelope& envelope) {
    trygg::v1::AppendCaseVersionRequest request;
    *request.mutable_version() = envelope;
    trygg::v1::AppendCaseVersionResponse response;
    auto context = w.anna.client->NewCallContext();
    return stub->AppendCaseVersion(context.get(), request, &response).error_code();
  };

  SECTION("a resent first version is not a new version") {
    CHECK(append(current.versions(0)) == grpc::StatusCode::OK);
  }
  SECTION("a flipped bit in the body or header") {
    trygg::v1::RecordEnvelope body = current.versions(0);
    (*body.mutable_body())[40] ^= 1;
    CHECK(append(body) == grpc::StatusCode::INVALID_ARGUMENT);
    trygg::v1::RecordEnvelope header = current.versions(0);
    (*header.mutable_header())[20] ^= 1;  // the case id: no longer a visible case
    CHECK(append(header) == grpc::StatusCode::NOT_FOUND);
  }
  SECTION("a version that does not extend the head") {
    REQUIRE(w.bo_cases.ReadCase(*case_id).ok());
    REQUIRE(w.anna_cases.AppendVersion(*case_id, Text("version 2"), 1).ok());
    CHECK(w.bo_cases.AppendVersion(*case_id, Text("written on a stale head"), 1).status().code() ==
          absl::StatusCode::kFailedPrecondition);
    expected_versions += 1;
  }
  SECTION("malformed sizes") {
    trygg::v1::RecordEnvelope envelope = current.versions(0);
    envelope.set_signature("short");
    CHECK(append(envelope) == grpc::StatusCode::INVALID_ARGUMENT);
    envelope = current.versions(0);
    envelope.set_header("not a header");
    CHECK(append(envelope) == grpc::StatusCode::INVALID_ARGUMENT);
    envelope = current.versions(0);
    envelope.add_attachment_hashes("short");
    CHECK(append(envelope) == grpc::StatusCode::INVALID_ARGUMENT);
  }
  SECTION("an envelope in another device's name") {
    CaseClient lawyer_cases{*w.lawyer.client, w.lawyer.keys, w.world.clock(), w.world.rng()};
    auto lawyer_stub = trygg::v1::CaseService::NewStub(w.lawyer.client->channel());
    trygg::v1::CreateCaseRequest request;
    *request.mutable_first_version() = current.versions(0);  // authored by Anna
    *request.add_grants() = current.grants(0);
    trygg::v1::CreateCaseResponse response;
    auto context = w.lawyer.client->NewCallContext();
    CHECK(lawyer_stub->CreateCase(context.get(), request, &response).error_code() ==
          grpc::StatusCode::PERMISSION_DENIED);
  }
  CHECK(QueryInt(db, "SELECT count(*) FROM case_versions") == expected_versions);
  CHECK(w.anna_cases.ReadCase(*case_id)->versions.size() == static_cast<size_t>(expected_versions));
}

TEST_CASE("a server that tampers with stored versions is caught by the reader", "[case][malicious]") {
  CaseWorld w;
  auto case_id = w.anna_cases.CreateCase(Text(kSurvivor), 1);
  REQUIRE(case_id.ok());
  REQUIRE(w.anna_cases.AppendVersion(*case_id, Text("version 2"), 1).ok());
  REQUIRE(w.anna_cases.ReadCase(*case_id).ok());
  const std::string db = w.world.db_path();
  const std::string where = " WHERE case_id = x'" + HexEncode(case_id->span()) + "'";

  SECTION("a changed body") {
    Exec(db, "UPDATE case_versions SET body = CAST(zeroblob(length(body)) AS BLOB)" + where + " AND version = 2");
    CHECK(ReasonOf(w.anna_cases.ReadCase(*case_id).status()) == "BAD_SIGNATURE");
  }
  SECTION("a version removed (rollback)") {
    Exec(db, "DELETE FROM case_versions" + where + " AND version = 2");
    CHECK(ReasonOf(w.anna_cases.ReadCase(*case_id).status()) == "ROLLBACK");
  }
  SECTION("headers swapped between versions") {
    Exec(db, "UPDATE case_versions SET header = (SELECT header FROM case_versions" + where +
                 " AND version = 1)" + where + " AND version = 2");
    CHECK_FALSE(w.anna_cases.ReadCase(*case_id).ok());
  }
  SECTION("another case's grant") {
    auto other = w.anna_cases.CreateCase(Text("another"), 1);
    REQUIRE(other.ok());
    Exec(db, "UPDATE grants SET header = (SELECT g.header FROM grants g JOIN cases c ON g.scope_id = c.scope_id "
             "WHERE c.case_id = x'" + HexEncode(other->span()) + "'), sealed = (SELECT g.sealed FROM grants g "
             "JOIN cases c ON g.scope_id = c.scope_id WHERE c.case_id = x'" + HexEncode(other->span()) +
             "') WHERE scope_id = (SELECT scope_id FROM cases" + where + ")");
    CHECK_FALSE(w.anna_cases.ReadCase(*case_id).ok());
  }
}

// Deterministic bytes that do not compress and repeat nowhere within 64 KiB.
std::string Pattern(size_t size, uint32_t seed) {
  std::string out(size, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (char& c : out) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x);
  }
  return out;
}

absl::StatusOr<std::string> Download(CaseClient& cases, const Id128& case_id, uint64_t version, size_t index) {
  std::string out;
  absl::Status status = cases.DownloadAttachment(case_id, version, index, [&](std::span<const uint8_t> bytes) {
    out.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return out;
}

TEST_CASE("attachments stream up and down sealed, and only the case's organisations get them", "[case][attachment]") {
  CaseWorld w;
  auto case_id = w.anna_cases.CreateCase(Text(kSurvivor), 1);
  REQUIRE(case_id.ok());
  // An empty file, a scan just over one chunk, and 9 MiB of photos.
  const std::string empty;
  const std::string scan = Pattern(65536 + 1000, 1);
  const std::string photos = Pattern(9 * 1024 * 1024 + 7, 2);
  std::istringstream empty_in(empty), scan_in(scan), photos_in(photos);
  auto version = w.anna_cases.AppendVersion(*case_id, Text("Pass och foton bifogade"), 1,
                                            {{&empty_in, empty.size()}, {&scan_in, scan.size()},
                                             {&photos_in, photos.size()}});
  INFO(version.status().ToString());
  REQUIRE(version.ok());
  CHECK(*version == 2);
  const std::string db = w.world.db_path();
  CHECK(QueryInt(db, "SELECT count(*) FROM attachments WHERE hash IS NOT NULL") == 3);

  // Another device of the organisation reads the version and its attachments.
  auto read = w.bo_cases.ReadCase(*case_id);
  REQUIRE(read.ok());
  REQUIRE(read->versions.at(1).attachment_hashes.size() == 3);
  CHECK(Download(w.bo_cases, *case_id, 2, 0).value() == empty);
  CHECK(Download(w.bo_cases, *case_id, 2, 1).value() == scan);
  auto got = Download(w.bo_cases, *case_id, 2, 2);
  INFO(got.status().ToString());
  REQUIRE(got.ok());
  CHECK(*got == photos);
  CHECK(w.bo_cases.DownloadAttachment(*case_id, 2, 3, [](auto) { return absl::OkStatus(); }).code() ==
        absl::StatusCode::kNotFound);

  // Another organisation gets NOT_FOUND, with the right hash in hand.
  auto stub = trygg::v1::CaseService::NewStub(w.lawyer.client->channel());
  trygg::v1::DownloadAttachmentRequest request;
  request.set_case_id(std::string(case_id->span().begin(), case_id->span().end()));
  const Hash256& hash = read->versions.at(1).attachment_hashes.at(1);
  request.set_ciphertext_hash(std::string(hash.span().begin(), hash.span().end()));
  auto context = w.lawyer.client->NewCallContext();
  auto reader = stub->DownloadAttachment(context.get(), request);
  trygg::v1::DownloadAttachmentResponse part;
  CHECK_FALSE(reader->Read(&part));
  CHECK(reader->Finish().error_code() == grpc::StatusCode::NOT_FOUND);
  // A hash of the wrong size is refused before anything is looked up.
  request.set_ciphertext_hash("short");
  auto own_stub = trygg::v1::CaseService::NewStub(w.bo.client->channel());
  auto bad_context = w.bo.client->NewCallContext();
  auto bad_reader = own_stub->DownloadAttachment(bad_context.get(), request);
  CHECK_FALSE(bad_reader->Read(&part));
  CHECK(bad_reader->Finish().error_code() == grpc::StatusCode::INVALID_ARGUMENT);

  // The database holds ciphertext only.
  const std::string photo_marker = photos.substr(1000, 64);
  w.world.server().Stop(SIGTERM);
  std::ifstream in(db, std::ios::binary);
  std::string file((std::istreambuf_iterator<char>(in)), {});
  CHECK(file.find(photo_marker) == std::string::npos);
  CHECK(file.find(scan.substr(0, 64)) == std::string::npos);
}

TEST_CASE("a server that tampers with an attachment is caught by the reader", "[case][attachment][malicious]") {
  CaseWorld w;
  auto case_id = w.anna_cases.CreateCase(Text(kSurvivor), 1);
  REQUIRE(case_id.ok());
  const std::string photos = Pattern(3 * 65536 + 5, 3);
  std::istringstream photos_in(photos);
  REQUIRE(w.anna_cases.AppendVersion(*case_id, Text("foton"), 1, {{&photos_in, photos.size()}}).ok());
  const std::string db = w.world.db_path();
  auto reason = [&] {
    CaseClient fresh{*w.bo.client, w.bo.keys, w.world.clock(), w.world.rng()};
    auto got = Download(fresh, *case_id, 2, 0);
    REQUIRE_FALSE(got.ok());
    return ReasonOf(got.status());
  };
  // Parts: 0 the preamble, 1..3 full chunks, 4 the final one.
  REQUIRE(QueryInt(db, "SELECT count(*) FROM attachment_parts") == 5);

  SECTION("a flipped byte in a chunk") {
    Exec(db, "UPDATE attachment_parts SET bytes = " + testing::FlippedByte("bytes", 100) + " WHERE seq = 2");
    CHECK(reason() == "DECRYPT_FAILED");
  }
  SECTION("two chunks swapped") {
    Exec(db, "UPDATE attachment_parts SET seq = -1 WHERE seq = 1; UPDATE attachment_parts SET seq = 1 WHERE seq = 2; "
             "UPDATE attachment_parts SET seq = 2 WHERE seq = -1;");
    CHECK(reason() == "DECRYPT_FAILED");
  }
  SECTION("the final chunk removed") {
    Exec(db, "DELETE FROM attachment_parts WHERE seq = 4");
    CHECK(reason() == "TRUNCATED");
  }
  SECTION("the stream replaced by another attachment's (same plaintext, other version)") {
    std::istringstream other_in(photos);
    REQUIRE(w.anna_cases.AppendVersion(*case_id, Text("igen"), 1, {{&other_in, photos.size()}}).ok());
    auto read = w.anna_cases.ReadCase(*case_id);
    REQUIRE(read.ok());
    const std::string first = "x'" + HexEncode(read->versions.at(1).attachment_hashes.at(0).span()) + "'";
    const std::string second = "x'" + HexEncode(read->versions.at(2).attachment_hashes.at(0).span()) + "'";
    Exec(db, "UPDATE attachment_parts SET bytes = (SELECT p.bytes FROM attachment_parts p JOIN attachments a "
             "ON a.case_id = p.case_id AND a.attachment_id = p.attachment_id WHERE a.hash = " + second +
             " AND p.seq = attachment_parts.seq) WHERE attachment_id = (SELECT attachment_id FROM attachments "
             "WHERE hash = " + first + ")");
    // The other version's stream is under another data key.
    CHECK(reason() == "DECRYPT_FAILED");
  }
}

TEST_CASE("bad uploads get the right status and leave nothing stored", "[case][attachment]") {
  CaseWorld w;
  auto case_id = w.anna_cases.CreateCase(Text(kSurvivor), 1);
  REQUIRE(case_id.ok());
  const std::string db = w.world.db_path();
  const std::string case_bytes(case_id->span().begin(), case_id->span().end());
  auto upload = [&](testing::TestDevice& device, const std::vector<trygg::v1::UploadAttachmentRequest>& messages) {
    auto stub = trygg::v1::CaseService::NewStub(device.client->channel());
    auto context = device.client->NewCallContext();
    trygg::v1::UploadAttachmentResponse response;
    auto writer = stub->UploadAttachment(context.get(), &response);
    for (const auto& m : messages) {
      if (!writer->Write(m)) break;
    }
    writer->WritesDone();
    return writer->Finish().error_code();
  };
  auto metadata = [&](uint64_t total_size) {
    trygg::v1::UploadAttachmentRequest m;
    m.mutable_metadata()->set_case_id(case_bytes);
    m.mutable_metadata()->set_attachment_id(std::string(16, '\x07'));
    m.mutable_metadata()->set_total_size(total_size);
    return m;
  };
  auto chunk = [](size_t size) {
    trygg::v1::UploadAttachmentRequest m;
    m.set_chunk(std::string(size, 'c'));
    return m;
  };
  using C = grpc::StatusCode;
  CHECK(upload(w.anna, {chunk(100)}) == C::INVALID_ARGUMENT);                        // no metadata first
  CHECK(upload(w.anna, {}) == C::INVALID_ARGUMENT);                                  // nothing at all
  CHECK(upload(w.anna, {metadata(1000), chunk(100), metadata(1000)}) == C::INVALID_ARGUMENT);
  CHECK(upload(w.anna, {metadata(1000), chunk(65536 + 96 + 18)}) == C::INVALID_ARGUMENT);  // oversized part
  CHECK(upload(w.anna, {metadata(uint64_t{2} << 30)}) == C::INVALID_ARGUMENT);             // over 1 GiB
  CHECK(upload(w.anna, {metadata(1000)}) == C::INVALID_ARGUMENT);                          // not a padded length
  CHECK(upload(w.anna, {metadata(AttachmentStreamSize(0)), chunk(100), chunk(100)}) ==
        C::INVALID_ARGUMENT);                                                               // past total_size
  CHECK(upload(w.anna, {metadata(AttachmentStreamSize(1000)), chunk(50)}) == C::INVALID_ARGUMENT);  // shorter than any stream
  CHECK(upload(w.anna, {metadata(AttachmentStreamSize(1000)), chunk(200)}) == C::INVALID_ARGUMENT); // shorter than total_size
  CHECK(upload(w.lawyer, {metadata(1000), chunk(200)}) == C::NOT_FOUND);                   // another organisation
  CHECK(upload(w.coordinator, {metadata(1000), chunk(200)}) == C::PERMISSION_DENIED);
  trygg::v1::UploadAttachmentRequest bad_id = metadata(1000);
  bad_id.mutable_metadata()->set_attachment_id("short");
  CHECK(upload(w.anna, {bad_id, chunk(200)}) == C::INVALID_ARGUMENT);
  CHECK(QueryInt(db, "SELECT count(*) FROM attachments") == 0);
  CHECK(QueryInt(db, "SELECT count(*) FROM attachment_parts") == 0);
  // Without a session.
  auto stub = trygg::v1::CaseService::NewStub(grpc::CreateChannel(w.world.address(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  trygg::v1::UploadAttachmentResponse response;
  auto writer = stub->UploadAttachment(&context, &response);
  writer->Write(metadata(1000));
  writer->WritesDone();
  CHECK(writer->Finish().error_code() == C::UNAUTHENTICATED);
}

TEST_CASE("erasure shreds the ciphertext and keeps only the fact", "[case]") {
  CaseWorld w;
  auto case_id = w.anna_cases.CreateCase(Text(kSurvivor), 1);
  REQUIRE(case_id.ok());
  const std::string scan = Pattern(70000, 4);
  std::istringstream scan_in(scan);
  REQUIRE(w.anna_cases.AppendVersion(*case_id, Text("version 2"), 1, {{&scan_in, scan.size()}}).ok());
  REQUIRE(w.bo_cases.EraseCase(*case_id).ok());
  CHECK(w.anna_cases.ReadCase(*case_id).status().code() == absl::StatusCode::kNotFound);
  CHECK(w.anna_cases.ListCases()->empty());
  const std::string db = w.world.db_path();
  CHECK(QueryInt(db, "SELECT count(*) FROM case_versions") == 0);
  CHECK(QueryInt(db, "SELECT count(*) FROM grants") == 0);
  CHECK(QueryInt(db, "SELECT count(*) FROM attachments") == 0);
  CHECK(QueryInt(db, "SELECT count(*) FROM attachment_parts") == 0);
  CHECK(QueryInt(db, "SELECT count(*) FROM cases WHERE erased = 1") == 1);
  // A new case cannot take over the erased id.
  CHECK(w.anna_cases.EraseCase(*case_id).code() == absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace trygg
