// SPDX-License-Identifier: Apache-2.0

// Writes the seed corpus of every fuzz target into DIR/<target>/: the
// objects of docs/test-vectors/ (records, grants, key stores, attachments)
// and well-formed objects of every other kind, made the way the unit tests
// make them, each behind the mode bytes its target reads first. Seeds are
// made at build time rather than kept as binary files, so a format change
// moves the seeds with it.
//
//   trygg_fuzz_seeds SOURCE_DIR OUT_DIR
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz/fuzz_keys.h"
#include "internal/wire.h"
#include "nlohmann/json.hpp"
#include "server/api/convert.h"
#include "server/domain/audit_log.h"
#include "server/domain/directory.h"
#include "trygg/audit/audit_entry.h"
#include "trygg/audit/receipt.h"
#include "trygg/audit/restore_notice.h"
#include "trygg/audit/tree_head.h"
#include "trygg/bytes.h"
#include "trygg/grant.h"
#include "trygg/listing.h"
#include "trygg/record.h"
#include "trygg/trust.h"
#include "trygg/workflow.h"

namespace trygg::fuzz {
namespace {

using Bytes = std::vector<uint8_t>;

std::filesystem::path g_out;
int g_count = 0;

void Write(const std::string& target, const std::string& name, const Bytes& bytes) {
  const std::filesystem::path dir = g_out / target;
  std::filesystem::create_directories(dir);
  std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  ++g_count;
}

Bytes Cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}
Bytes B(std::initializer_list<uint8_t> bytes) { return Bytes(bytes); }
Bytes Text(const std::string& s) { return Bytes(s.begin(), s.end()); }
Bytes Hex(const std::string& hex) { return HexDecode(hex).value(); }

nlohmann::json Vectors(const std::filesystem::path& source, const std::string& name) {
  std::ifstream in(source / "docs/test-vectors" / name);
  return nlohmann::json::parse(in);
}

Id128 Id(uint8_t b) {
  std::array<uint8_t, 16> id{};
  id.fill(b);
  return Id128(id);
}

void Records(const std::filesystem::path& source) {
  int n = 0;
  for (const auto& v : Vectors(source, "records.json")) {
    const Bytes header = Hex(v["header"]), wrapped = Hex(v["wrapped_dek"]), body = Hex(v["body"]);
    const std::string i = std::to_string(n++);
    Write("record", "header-" + i, Cat({B({0}), header}));
    Write("record", "parts-" + i, Cat({B({2}), header, wrapped, B({0}), body}));
    Write("record", "roundtrip-" + i, Cat({B({3, 5, 0}), Hex(v["plaintext"])}));
    SealedRecord record{header, wrapped, body, {}, Signature::FromSpan(Hex(v["signature"])).value()};
    trygg::v1::RecordEnvelope envelope;
    internal::EnvelopeToProto(record, &envelope);
    Write("record", "wire-" + i, Cat({B({1}), Text(envelope.SerializeAsString())}));
  }
}

void Grants() {
  DeterministicRng rng(1);
  FixedClock clock(1'700'000'000'000);
  for (GrantKind kind : {GrantKind::kScopeKey, GrantKind::kOrgSeed}) {
    GrantParams params{kind, Id(2), 1, Id(3)};
    Grant grant = SealGrant(params, FixedSecretKey(1), FixedBoxKey(0).public_key, FixedSigningKey(1), clock, rng)
                      .value();
    const std::string k = kind == GrantKind::kScopeKey ? "scope" : "seed";
    Write("grant", "header-" + k, Cat({B({0}), grant.header}));
    Write("grant", "parts-" + k, Cat({B({2}), grant.header, grant.sealed}));
    trygg::v1::Grant wire;
    internal::GrantToProto(grant, Id(2), 1, Id(4), &wire);
    Write("grant", "wire-" + k, Cat({B({1}), Text(wire.SerializeAsString())}));
    Write("grant", "roundtrip-" + k, Cat({B({3, static_cast<uint8_t>(kind == GrantKind::kScopeKey ? 0 : 1)}),
                                          Bytes(16, 2), B({0, 0, 0, 1}), Bytes(16, 3), B({9}), Bytes(32, 7)}));
  }
}

void Trust() {
  int n = 0;
  for (CertificateKind kind : {CertificateKind::kOrganisation, CertificateKind::kCoordinator, CertificateKind::kServer}) {
    RootCertificate cert{kind, Id(1), Id(2), 1'700'000'000'000, FixedSigningKey(1).public_key,
                         kind == CertificateKind::kServer ? BoxPublicKey() : FixedBoxKey(1).public_key, "Skyddat boende"};
    Write("trust", "cert-" + std::to_string(n++),
          Cat({B({0, 1, static_cast<uint8_t>(kind)}), SerializeRootCertificate(cert).value()}));
  }
  for (uint8_t action = 1; action <= 4; ++action) {
    OrgLogLink link;
    link.org_id = Id(1);
    link.seq = action;
    link.signer_device = Id(2);
    link.action = static_cast<OrgLogAction>(action);
    link.device_id = Id(3);
    link.role = Role::kOrgAdmin;
    link.generation = 1;
    Write("trust", "link-" + std::to_string(action), Cat({B({1, 0}), SerializeOrgLogLink(link)}));
  }
  EnrolmentRequest request{Id(1), Id(2), FixedSigningKey(2).public_key, FixedBoxKey(2).public_key,
                           Role::kCaseworker, 1'700'000'000'000, "Annas dator"};
  Write("trust", "enrolment", Cat({B({2, 1}), SerializeEnrolmentRequest(request).value()}));
  SessionChallenge challenge{Id(1), Id(2), {}, 1'700'000'000'000, 1'700'000'060'000};
  Write("trust", "challenge", Cat({B({3, 0}), SerializeSessionChallenge(challenge)}));
}

void OrgLog() {
  // One step: selector, shape 0 (right seq and prev_hash), time, signer
  // device 1 (index 0), action, who, role, generation, org box key, signer
  // key 1 (device 1's).
  auto step = [](uint8_t action, uint8_t who, uint8_t role, uint8_t generation) {
    return B({1, 0, 0, 0, 0, 1, 0, action, who, role, generation, 3, 1});
  };
  Write("org_log", "add", step(0, 2, 1, 0));
  Write("org_log", "add-rotate-revoke",
        Cat({step(0, 2, 1, 0), step(0, 3, 2, 0), step(2, 0, 0, 1), step(1, 2, 0, 0), step(3, 3, 1, 0)}));
  Write("org_log", "raw", Cat({B({0, 100}), Bytes(164, 0)}));
}

void SignedObjects() {
  Listing listing;
  listing.listing_id = Id(1);
  listing.org_id = Id(2);
  listing.signer_device = Id(3);
  listing.category = 1;
  listing.response_time_hours = 24;
  listing.regions = {"SE-AB"};
  listing.languages = {"sv", "ro"};
  listing.contact_hours = "Mån-fre 9-17";
  listing.description = "Skyddat boende för kvinnor";
  absl::StatusOr<Bytes> listing_bytes = SerializeListing(listing);
  if (listing_bytes.ok()) Write("signed_objects", "listing", Cat({B({0}), *listing_bytes}));
  Write("signed_objects", "capacity", Cat({B({1}), SerializeCapacityUpdate({Id(1), Id(2), 1, 3, 1, Id(3)})}));
  Write("signed_objects", "retirement", Cat({B({2}), SerializeRetirement({Id(1), Id(2), 1, 1, Id(3)})}));
  Write("signed_objects", "consent", Cat({B({3}), SerializeConsentRecord(ConsentRecord{})}));
  Write("signed_objects", "withdrawal", Cat({B({4}), SerializeConsentWithdrawal(ConsentWithdrawal{})}));
  Write("signed_objects", "referral", Cat({B({5}), SerializeReferralRecord(ReferralRecord{})}));
  Write("signed_objects", "transition", Cat({B({6}), SerializeReferralTransition(ReferralTransition{})}));
  Write("signed_objects", "erasure", Cat({B({7}), SerializeErasureStatement(ErasureStatement{})}));
}

void Audit() {
  for (int kind = 1; kind <= 20; ++kind) {
    audit::AuditEvent event;
    event.kind = static_cast<audit::AuditEventKind>(kind);
    event.time_ms = 1'700'000'000'000;
    Write("audit", "event-" + std::to_string(kind), Cat({B({0}), audit::EncodeAuditEvent(event)}));
  }
  const audit::EncodedTreeHead head = audit::EncodeTreeHead({7, 1'700'000'000'000, Hash256()});
  Write("audit", "tree-head", Cat({B({0}), Bytes(head.begin(), head.end())}));
  Write("audit", "receipt", Cat({B({0}), Text(audit::EncodeAuditReceipt({41, 3}))}));
  const audit::EncodedRestoreNotice notice =
      audit::EncodeRestoreNotice({7, Hash256(), 1'700'000'000'000, audit::TreeHead{9, 1'600'000'000'000, Hash256()}});
  Write("audit", "restore-notice", Cat({B({0}), Bytes(notice.begin(), notice.end())}));
  Write("audit", "made-up", Cat({B({1}), Bytes(8 + 8 + 64, 1), B({2}), Bytes(64, 9)}));
  Write("audit", "tree-7", Cat({B({2, 6}), Bytes(14, 1), B({0, 0, 0, 6, 0, 0, 0, 2, 0, 0, 0, 3, 5})}));
  Write("audit", "tree-100", Cat({B({2, 99}), Bytes(200, 2), B({0, 0, 0, 77, 0, 0, 0, 20, 0, 0, 0, 31, 9})}));
}

void Attachments(const std::filesystem::path& source) {
  int n = 0;
  for (const auto& v : Vectors(source, "attachments.json")) {
    Write("attachment", "stream-" + std::to_string(n++), Cat({B({0, 0}), Hex(v["stream"])}));
  }
  Write("attachment", "roundtrip-small", Cat({B({1, 2, 3, 9}), Bytes(8, 0), Text("survivor's passport scan")}));
  Write("attachment", "roundtrip-chunks", Cat({B({1, 3, 200, 1, 17}), Bytes(4, 0), B({0, 1, 0, 0}), Bytes(64, 5)}));
}

void KeyStores(const std::filesystem::path& source) {
  int n = 0;
  for (const auto& v : Vectors(source, "keystore.json")) {
    Write("keystore", "file-" + std::to_string(n++), Cat({B({0, 1}), Hex(v["file"])}));
  }
  Write("keystore", "roundtrip", Cat({B({1}), Bytes(4, 3), B({7}), Bytes(32, 0x0A), B({2, 0, 0, 0, 1, 0, 0, 0, 2})}));
  n = 0;
  for (const auto& v : Vectors(source, "sealed_signing_key.json")) {
    Write("keystore", "sealed-key-" + std::to_string(n++), Cat({B({2, 1}), Hex(v["file"])}));
  }
  Write("keystore", "sealed-key-roundtrip", Cat({B({3}), Bytes(4, 9), B({5}), Bytes(32, 0x0B)}));
}

void PageTokens() {
  Write("page_token", "audit", Cat({B({0}), Text(domain::EncodeAuditPageToken(1234))}));
  Write("page_token", "listing", Cat({B({0}), Text(domain::EncodeListingPageToken({true, 1'700'000'000'000, Id(5)}))}));
  Write("page_token", "id", Cat({B({0}), Text(api::IdPageToken(Id(6)))}));
  Write("page_token", "seq", Cat({B({0}), Text(api::SeqPageToken(77))}));
  Write("page_token", "client-loop", Cat({B({1, 5}), B({3}), Text("abcd"), B({3}), Text("efgh"), B({3}), Text("abcd")}));
}

void StateFiles() {
  const std::string hash(64, 'a');
  const std::string id(32, 'b');
  nlohmann::json pending = {{"has_receipt", true}, {"first_index", 4}, {"count", 1}, {"floor", 4},
                            {"started_ms", 1}, {"finished_ms", 2}, {"actor_device", id}, {"actor_org", id},
                            {"what", "case create"}, {"kinds", 1}, {"subject", 1}, {"subject_id", id},
                            {"number", 1}, {"record_hash", hash}};
  nlohmann::json audit;
  audit["head"] = {{"tree_size", 5}, {"timestamp_ms", 1'700'000'000'000}, {"root_hash", hash}};
  audit["pending"] = nlohmann::json::array({pending});
  nlohmann::json state;
  state["format"] = 2;
  state["org_log_heads"][id] = {{"seq", 3}, {"hash", hash}};
  state["cases"][id] = {{"length", 2}, {"hash", hash}};
  state["referrals"][id] = {{"length", 1}, {"hash", hash}, {"ended_by_server", false}};
  state["consent_withdrawals"] = nlohmann::json::object();
  state["server_instance_id"] = id;
  state["audit"] = audit;
  Write("state_file", "full", Text(state.dump()));
  Write("state_file", "empty", Text(R"({"format":2,"org_log_heads":{}})"));
}

void Configs() {
  Write("config", "guide", Text(R"(listen = "127.0.0.1:50051"
data_dir = "/var/lib/trygg"
platform_root_public_key = "0000000000000000000000000000000000000000000000000000000000000000"
log_level = "info"
drain_seconds = 10
session_ttl_seconds = 1800

[tls]
cert_file = "/etc/trygg/tls/fullchain.pem"
key_file = "/etc/trygg/tls/privkey.pem"

[limits]
max_receive_message_bytes = 4194304
max_send_message_bytes = 4194304

[directory]
capacity_stale_hours = 24
)"));
  Write("config", "small", Text("listen = \"[::1]:0\"\n"));
}

}  // namespace
}  // namespace trygg::fuzz

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: trygg_fuzz_seeds SOURCE_DIR OUT_DIR\n");
    return 2;
  }
  const std::filesystem::path source = argv[1];
  trygg::fuzz::g_out = argv[2];
  trygg::fuzz::Records(source);
  trygg::fuzz::Grants();
  trygg::fuzz::Trust();
  trygg::fuzz::OrgLog();
  trygg::fuzz::SignedObjects();
  trygg::fuzz::Audit();
  trygg::fuzz::Attachments(source);
  trygg::fuzz::KeyStores(source);
  trygg::fuzz::PageTokens();
  trygg::fuzz::StateFiles();
  trygg::fuzz::Configs();
  std::printf("trygg_fuzz_seeds: %d seeds in %s\n", trygg::fuzz::g_count, argv[2]);
  return 0;
}
