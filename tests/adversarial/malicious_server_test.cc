// SPDX-License-Identifier: Apache-2.0

// A malicious server that controls what each client receives, played by
// EvilProxy (tests/testing/evil_proxy.h) in front of a real tryggd: it
// replays old answers, serves old snapshots, drops answers, reorders what it
// sends, and forks the world, showing two devices two different histories.
// Each test shows what the real libtrygg client catches, that a refused
// answer changes nothing the client trusts, and, for the fork, what it
// cannot catch on its own.
#include <catch2/catch.hpp>

#include "testing/db_edit.h"
#include "testing/evil_proxy.h"
#include "testing/trust_world.h"
#include "trygg/case_client.h"
#include "trygg/crypto_error.h"
#include "trygg/membership.h"
#include "trygg/v1/case.pb.h"
#include "trygg/v1/trust.pb.h"

namespace trygg::adversarial_proxy {
namespace {

using testing::EvilProxy;
using testing::QueryInt;
using testing::TestDevice;
using testing::TrustWorld;

constexpr char kGetCase[] = "/trygg.v1.CaseService/GetCase";
constexpr char kAppendCaseVersion[] = "/trygg.v1.CaseService/AppendCaseVersion";
constexpr char kGetOrgLog[] = "/trygg.v1.TrustService/GetOrgLog";
constexpr char kAppendOrgLogLink[] = "/trygg.v1.TrustService/AppendOrgLogLink";

std::vector<uint8_t> Text(std::string_view s) { return {s.begin(), s.end()}; }
std::string AsString(const std::vector<uint8_t>& v) { return {v.begin(), v.end()}; }
// The seq a served organisation-log link names; 0 if it does not parse.
uint64_t ServedLinkSeq(const trygg::v1::SignedBlob& blob) {
  const std::string& bytes = blob.bytes();
  auto parsed = ParseOrgLogLink(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
  return parsed.ok() ? parsed->seq : 0;
}
std::string ReasonOf(const absl::Status& status) {
  auto reason = GetCryptoError(status);
  return reason ? std::string(CryptoErrorName(*reason)) : status.ToString();
}

// Serves `method` from the exchange the proxy recorded at `index` (an older
// answer to the same request).
EvilProxy::UnaryHook ServeRecorded(const EvilProxy& proxy, const std::string& method, size_t index) {
  const grpc::ByteBuffer old = proxy.Recorded(method).at(index).response;
  return [old](const std::string&, const grpc::ByteBuffer&, grpc::ByteBuffer& response) {
    response = old;
    return EvilProxy::Action::kForward;
  };
}

// One organisation; each caseworker's device talks to tryggd through a
// proxy of its own, so the server can show them different worlds.
struct ForkableShelter {
  TrustWorld world;
  TestDevice& admin = world.AdmitOrganisation("Skyddat boende Väst");
  TestDevice& anna = world.AddDevice(admin, Role::kCaseworker);
  TestDevice& bo = world.AddDevice(admin, Role::kCaseworker);
  EvilProxy anna_proxy{world.address()};
  EvilProxy bo_proxy{world.address()};
  std::unique_ptr<Client> anna_via = world.ClientThrough(anna, anna_proxy.address());
  std::unique_ptr<Client> bo_via = world.ClientThrough(bo, bo_proxy.address());
  CaseClient anna_cases{*anna_via, anna.keys, world.clock(), world.rng()};
  CaseClient bo_cases{*bo_via, bo.keys, world.clock(), world.rng()};

  const Id128& org() const { return admin.keys.org_id; }
  int64_t StoredVersions(const Id128& case_id) {
    return QueryInt(world.db_path(),
                    "SELECT count(*) FROM case_versions WHERE case_id = x'" + HexEncode(case_id.span()) + "'");
  }
};

}  // namespace

TEST_CASE("malicious server: an organisation log replayed from an earlier recording is caught as a rollback",
          "[adversarial][malicious-server]") {
  ForkableShelter s;
  REQUIRE(s.anna_via->FetchOrgLog(s.org()).ok());
  const size_t before_revocation = s.anna_proxy.Recorded(kGetOrgLog).size() - 1;
  REQUIRE(RevokeDevice(*s.admin.client, s.admin.keys, s.bo.keys.device_id, s.world.clock(), s.world.rng()).ok());
  auto current = s.anna_via->FetchOrgLog(s.org());
  REQUIRE(current.ok());
  REQUIRE(current->FindDevice(s.bo.keys.device_id)->revoked);
  const OrgLogHead seen = s.anna_via->remembered_heads().at(s.org());

  // The old snapshot still shows Bo active; every link in it is validly signed.
  s.anna_proxy.SetHook(kGetOrgLog, ServeRecorded(s.anna_proxy, kGetOrgLog, before_revocation));
  CHECK(ReasonOf(s.anna_via->FetchOrgLog(s.org()).status()) == "ROLLBACK");
  CHECK(s.anna_via->remembered_heads().at(s.org()).seq == seen.seq);
  CHECK(s.anna_via->remembered_heads().at(s.org()).hash == seen.hash);

  // Not caught: a device that never saw the newer head (its first fetch)
  // accepts the old snapshot. Comparing heads out of band closes this.
  auto newcomer = s.world.ClientThrough(s.anna, s.anna_proxy.address());
  auto first_fetch = newcomer->FetchOrgLog(s.org());
  REQUIRE(first_fetch.ok());
  CHECK_FALSE(first_fetch->FindDevice(s.bo.keys.device_id)->revoked);

  s.anna_proxy.ClearHooks();
  REQUIRE(s.anna_via->FetchOrgLog(s.org()).ok());
  CHECK(s.anna_via->remembered_heads().at(s.org()).hash == seen.hash);
}

TEST_CASE("malicious server: a case served from an earlier recording is caught as a rollback",
          "[adversarial][malicious-server]") {
  ForkableShelter s;
  auto case_id = s.anna_cases.CreateCase(Text("Namn: Olga; skyddat boende beviljat"), 1);
  REQUIRE(case_id.ok());
  REQUIRE(s.anna_cases.ReadCase(*case_id).ok());  // recorded: one version
  REQUIRE(s.anna_cases.AppendVersion(*case_id, Text("förövaren har hittat adressen; flytt"), 1).ok());
  REQUIRE(s.anna_cases.AppendVersion(*case_id, Text("ny adress: hemlig"), 1).ok());
  auto read = s.anna_cases.ReadCase(*case_id);
  REQUIRE(read.ok());
  REQUIRE(read->versions.size() == 3);

  s.anna_proxy.SetHook(kGetCase, ServeRecorded(s.anna_proxy, kGetCase, 0));
  CHECK(ReasonOf(s.anna_cases.ReadCase(*case_id).status()) == "ROLLBACK");
  // Another device that has seen three versions is not fooled either.
  REQUIRE(s.bo_cases.ReadCase(*case_id).ok());
  s.bo_proxy.SetHook(kGetCase, ServeRecorded(s.anna_proxy, kGetCase, 0));
  CHECK(ReasonOf(s.bo_cases.ReadCase(*case_id).status()) == "ROLLBACK");

  s.anna_proxy.ClearHooks();
  auto again = s.anna_cases.ReadCase(*case_id);
  REQUIRE(again.ok());
  CHECK(again->versions.size() == 3);
}

// A device that restarts (every `trygg` command is a new process) still
// knows the newest version of each case it verified: the head is kept in the
// client's state file, as organisation log heads are. (It used to live in
// the CaseClient only, and a restarted device accepted an old snapshot.)
TEST_CASE("malicious server: a case rolled back across a restart of the reading device is caught",
          "[adversarial][malicious-server]") {
  ForkableShelter s;
  auto case_id = s.anna_cases.CreateCase(Text("Namn: Olga; skyddat boende beviljat"), 1);
  REQUIRE(case_id.ok());
  REQUIRE(s.anna_cases.ReadCase(*case_id).ok());  // recorded: one version
  REQUIRE(s.anna_cases.AppendVersion(*case_id, Text("ny adress: hemlig"), 1).ok());
  REQUIRE(s.anna_cases.ReadCase(*case_id).ok());

  // The same device, the same state file, a new process.
  const std::string state = "anna-restart";
  {
    auto before = s.world.ClientThrough(s.anna, s.anna_proxy.address(), state);
    CaseClient cases(*before, s.anna.keys, s.world.clock(), s.world.rng());
    REQUIRE(cases.ReadCase(*case_id).ok());
  }
  s.anna_proxy.SetHook(kGetCase, ServeRecorded(s.anna_proxy, kGetCase, 0));
  auto after = s.world.ClientThrough(s.anna, s.anna_proxy.address(), state);
  CaseClient restarted(*after, s.anna.keys, s.world.clock(), s.world.rng());
  CHECK(ReasonOf(restarted.ReadCase(*case_id).status()) == "ROLLBACK");
}

TEST_CASE("malicious server: a dropped answer is an error and changes nothing the client trusts",
          "[adversarial][malicious-server]") {
  ForkableShelter s;
  auto case_id = s.anna_cases.CreateCase(Text("första samtalet"), 1);
  REQUIRE(case_id.ok());
  REQUIRE(s.anna_via->FetchOrgLog(s.org()).ok());
  const OrgLogHead seen = s.anna_via->remembered_heads().at(s.org());

  auto drop = [](const std::string&, const grpc::ByteBuffer&, grpc::ByteBuffer&) {
    return EvilProxy::Action::kDrop;
  };
  // A read dropped: an error, and the remembered head stays.
  s.anna_proxy.SetHook(kGetOrgLog, drop);
  CHECK(s.anna_via->FetchOrgLog(s.org()).status().code() == absl::StatusCode::kUnavailable);
  CHECK(s.anna_via->remembered_heads().at(s.org()).hash == seen.hash);
  s.anna_proxy.SetHook(kGetCase, drop);
  CHECK(s.anna_cases.ReadCase(*case_id).status().code() == absl::StatusCode::kUnavailable);
  s.anna_proxy.ClearHooks();

  // A write lost on the way: an error, and nothing stored.
  s.anna_proxy.SetRequestGate([](const std::string& method, const grpc::ByteBuffer&, grpc::ByteBuffer&) {
    return method == kAppendCaseVersion ? EvilProxy::Gate::kDrop : EvilProxy::Gate::kForward;
  });
  CHECK(s.anna_cases.AppendVersion(*case_id, Text("andra samtalet"), 1).status().code() ==
        absl::StatusCode::kUnavailable);
  CHECK(s.StoredVersions(*case_id) == 1);
  s.anna_proxy.ClearHooks();
  auto read = s.anna_cases.ReadCase(*case_id);
  REQUIRE(read.ok());
  CHECK(read->versions.size() == 1);

  // A write stored but its answer dropped: an error; the device then reads
  // its own version back, which continues what it had seen.
  s.anna_proxy.SetHook(kAppendCaseVersion, drop);
  CHECK(s.anna_cases.AppendVersion(*case_id, Text("andra samtalet"), 1).status().code() ==
        absl::StatusCode::kUnavailable);
  CHECK(s.StoredVersions(*case_id) == 2);
  s.anna_proxy.ClearHooks();
  read = s.anna_cases.ReadCase(*case_id);
  INFO(read.status().ToString());
  REQUIRE(read.ok());
  REQUIRE(read->versions.size() == 2);
  CHECK(AsString(read->versions[1].plaintext) == "andra samtalet");
  REQUIRE(s.anna_cases.AppendVersion(*case_id, Text("tredje samtalet"), 1).ok());
  CHECK(s.StoredVersions(*case_id) == 3);
}

TEST_CASE("malicious server: versions of a case served out of order are refused", "[adversarial][malicious-server]") {
  ForkableShelter s;
  auto case_id = s.anna_cases.CreateCase(Text("v1"), 1);
  REQUIRE(case_id.ok());
  REQUIRE(s.anna_cases.AppendVersion(*case_id, Text("v2"), 1).ok());
  REQUIRE(s.anna_cases.AppendVersion(*case_id, Text("v3"), 1).ok());
  REQUIRE(s.bo_cases.ReadCase(*case_id).ok());

  auto reorder = [](std::vector<int> order) {
    return EvilProxy::Alter<trygg::v1::GetCaseRequest, trygg::v1::GetCaseResponse>(
        [order](const trygg::v1::GetCaseRequest&, trygg::v1::GetCaseResponse& r) {
          trygg::v1::GetCaseResponse copy = r;
          r.clear_versions();
          for (int i : order) *r.add_versions() = copy.versions(i);
        });
  };
  for (const std::vector<int>& order : {std::vector<int>{0, 2, 1}, std::vector<int>{1, 0, 2},
                                        std::vector<int>{2, 1, 0}, std::vector<int>{0, 2}}) {
    s.bo_proxy.SetHook(kGetCase, reorder(order));
    auto read = s.bo_cases.ReadCase(*case_id);
    INFO(read.status().ToString());
    CHECK_FALSE(read.ok());
  }
  // A version sent twice is no new history either.
  s.bo_proxy.SetHook(kGetCase, reorder({0, 1, 1, 2}));
  auto twice = s.bo_cases.ReadCase(*case_id);
  INFO(twice.status().ToString());
  CHECK_FALSE(twice.ok());
  // The same reordering to a reader that has never seen the case.
  CaseClient fresh(*s.bo_via, s.bo.keys, s.world.clock(), s.world.rng());
  s.bo_proxy.SetHook(kGetCase, reorder({0, 2, 1}));
  CHECK(ReasonOf(fresh.ReadCase(*case_id).status()) == "BROKEN_CHAIN");

  s.bo_proxy.ClearHooks();
  auto read = s.bo_cases.ReadCase(*case_id);
  REQUIRE(read.ok());
  REQUIRE(read->versions.size() == 3);
  CHECK(AsString(read->versions[2].plaintext) == "v3");
}

// A fork: the server pretends to store Bo's version, shows Bo a history with
// it and Anna the real one. Each history is consistent on its own.
TEST_CASE("malicious server: a case forked between two devices is caught when one sees the other's branch",
          "[adversarial][malicious-server]") {
  ForkableShelter s;
  s.world.CertifyServer();
  auto case_id = s.anna_cases.CreateCase(Text("v1: intag"), 1);
  REQUIRE(case_id.ok());
  REQUIRE(s.bo_cases.ReadCase(*case_id).ok());

  // Bo's proxy swallows his write and answers as if it were stored...
  trygg::v1::RecordEnvelope bo_version;
  s.bo_proxy.SetRequestGate([&](const std::string& method, const grpc::ByteBuffer& request, grpc::ByteBuffer& answer) {
    if (method != kAppendCaseVersion) return EvilProxy::Gate::kForward;
    bo_version = EvilProxy::Parse<trygg::v1::AppendCaseVersionRequest>(request).version();
    trygg::v1::AppendCaseVersionResponse response;
    response.set_version(2);
    answer = EvilProxy::Serialize(response);
    return EvilProxy::Gate::kAnswer;
  });
  // ...and shows him the first version and his own.
  auto bo_branch = [&](const trygg::v1::GetCaseRequest&, trygg::v1::GetCaseResponse& r) {
    while (r.versions_size() > 1) r.mutable_versions()->RemoveLast();
    *r.add_versions() = bo_version;
  };
  REQUIRE(s.bo_cases.AppendVersion(*case_id, Text("v2 enligt Bo: flytt till Malmö"), 1).ok());
  REQUIRE(s.anna_cases.AppendVersion(*case_id, Text("v2 enligt Anna: kvar i Göteborg"), 1).ok());
  CHECK(s.StoredVersions(*case_id) == 2);
  s.bo_proxy.SetHook(kGetCase, EvilProxy::Alter<trygg::v1::GetCaseRequest, trygg::v1::GetCaseResponse>(bo_branch));

  // Not caught: each device alone sees a consistent history.
  auto bo_read = s.bo_cases.ReadCase(*case_id);
  INFO(bo_read.status().ToString());
  REQUIRE(bo_read.ok());
  CHECK(AsString(bo_read->versions.back().plaintext) == "v2 enligt Bo: flytt till Malmö");
  auto anna_read = s.anna_cases.ReadCase(*case_id);
  REQUIRE(anna_read.ok());
  CHECK(AsString(anna_read->versions.back().plaintext) == "v2 enligt Anna: kvar i Göteborg");

  // Caught: when Anna is shown Bo's branch, and Bo the real one.
  s.anna_proxy.SetHook(kGetCase, EvilProxy::Alter<trygg::v1::GetCaseRequest, trygg::v1::GetCaseResponse>(bo_branch));
  CHECK(ReasonOf(s.anna_cases.ReadCase(*case_id).status()) == "FORK");
  s.bo_proxy.ClearHooks();
  CHECK(ReasonOf(s.bo_cases.ReadCase(*case_id).status()) == "FORK");
  // Caught as well, by Bo alone: his write has no audit receipt, which the
  // device reports when it checks its writes against the signed audit log.
  auto audit = s.bo_via->VerifyAuditTrail();
  INFO(audit.status().ToString());
  CHECK_FALSE(audit.ok());
  CHECK(s.anna_via->VerifyAuditTrail().ok());
}

// A fork of the organisation log: the server pretends to store the admin's
// promotion of Carl and shows it to Anna only, while everyone else sees the
// admin revoke Carl instead.
TEST_CASE("malicious server: an organisation log forked between two devices is caught when one sees the other's "
          "branch",
          "[adversarial][malicious-server]") {
  ForkableShelter s;
  TestDevice& carl = s.world.AddDevice(s.admin, Role::kCaseworker);
  auto admin_via = s.world.ClientThrough(s.admin, s.anna_proxy.address());
  REQUIRE(s.anna_via->FetchOrgLog(s.org()).ok());
  REQUIRE(s.bo_via->FetchOrgLog(s.org()).ok());
  const int shared_links = EvilProxy::Parse<trygg::v1::GetOrgLogResponse>(
                               s.anna_proxy.Recorded(kGetOrgLog).back().response)
                               .links_size();

  trygg::v1::SignedBlob promotion;
  s.anna_proxy.SetRequestGate(
      [&](const std::string& method, const grpc::ByteBuffer& request, grpc::ByteBuffer& answer) {
        if (method != kAppendOrgLogLink) return EvilProxy::Gate::kForward;
        promotion = EvilProxy::Parse<trygg::v1::AppendOrgLogLinkRequest>(request).link();
        trygg::v1::AppendOrgLogLinkResponse response;
        response.set_seq(static_cast<uint64_t>(shared_links) + 1);
        answer = EvilProxy::Serialize(response);
        return EvilProxy::Gate::kAnswer;
      });
  auto anna_branch = EvilProxy::Alter<trygg::v1::GetOrgLogRequest, trygg::v1::GetOrgLogResponse>(
      [&](const trygg::v1::GetOrgLogRequest& q, trygg::v1::GetOrgLogResponse& r) {
        // The links are from_seq, from_seq + 1, ...: keep those of the shared prefix.
        const int first = static_cast<int>(std::max<uint64_t>(q.from_seq(), 1));
        while (r.links_size() > 0 && first + r.links_size() - 1 > shared_links) r.mutable_links()->RemoveLast();
        if (promotion.bytes().empty()) return;
        *r.add_links() = promotion;
      });
  s.anna_proxy.SetHook(kGetOrgLog, anna_branch);
  REQUIRE(ChangeRole(*admin_via, s.admin.keys, carl.keys.device_id, Role::kOrgAdmin, s.world.clock()).ok());
  REQUIRE_FALSE(promotion.bytes().empty());
  REQUIRE(RevokeDevice(*s.admin.client, s.admin.keys, carl.keys.device_id, s.world.clock(), s.world.rng()).ok());

  // Not caught: each sees a log that verifies link by link from the root.
  auto anna_log = s.anna_via->FetchOrgLog(s.org());
  INFO(anna_log.status().ToString());
  REQUIRE(anna_log.ok());
  CHECK(anna_log->FindDevice(carl.keys.device_id)->role == Role::kOrgAdmin);
  CHECK_FALSE(anna_log->FindDevice(carl.keys.device_id)->revoked);
  auto bo_log = s.bo_via->FetchOrgLog(s.org());
  REQUIRE(bo_log.ok());
  CHECK(bo_log->FindDevice(carl.keys.device_id)->revoked);
  // Two devices that compare heads out of band see the fork at once.
  CHECK(s.anna_via->remembered_heads().at(s.org()).hash != s.bo_via->remembered_heads().at(s.org()).hash);

  // Caught: when Anna's device sees the real log, and Bo's is shown Anna's.
  s.anna_proxy.ClearHooks();
  CHECK(ReasonOf(s.anna_via->FetchOrgLog(s.org()).status()) == "FORK");
  s.bo_proxy.SetHook(kGetOrgLog, anna_branch);
  const std::string bo_reason = ReasonOf(s.bo_via->FetchOrgLog(s.org()).status());
  INFO(bo_reason);
  CHECK((bo_reason == "FORK" || bo_reason == "ROLLBACK"));
}

// The client keeps the verified organisation log and, once it has it, asks
// only for the links from its cached head on (Client::FetchOrgLog). A server
// that rewrites, shortens or forks the log after that is caught all the same,
// with the refusal the uncached fetch gives, and nothing the client trusts
// changes (threat-model.md, "Organisation-log cache").
TEST_CASE("malicious server: an organisation log rewritten after the client cached it is caught",
          "[adversarial][malicious-server]") {
  ForkableShelter s;
  TestDevice& carl = s.world.AddDevice(s.admin, Role::kCaseworker);
  REQUIRE(s.anna_via->FetchOrgLog(s.org()).ok());
  const uint64_t cached_seq = s.anna_via->remembered_heads().at(s.org()).seq;
  REQUIRE(RevokeDevice(*s.admin.client, s.admin.keys, carl.keys.device_id, s.world.clock(), s.world.rng()).ok());
  auto warm = s.anna_via->FetchOrgLog(s.org());
  REQUIRE(warm.ok());
  REQUIRE(warm->FindDevice(carl.keys.device_id)->revoked);
  const OrgLogHead seen = s.anna_via->remembered_heads().at(s.org());
  REQUIRE(seen.seq > cached_seq);
  // The second fetch was incremental: from the cached head link on (the
  // revocation and the key rotation after it are new).
  const auto last = s.anna_proxy.Recorded(kGetOrgLog).back();
  CHECK(EvilProxy::Parse<trygg::v1::GetOrgLogRequest>(last.request).from_seq() == cached_seq);
  CHECK(EvilProxy::Parse<trygg::v1::GetOrgLogResponse>(last.response).links_size() ==
        static_cast<int>(seen.seq - cached_seq + 1));

  auto link_seq = ServedLinkSeq;
  auto unchanged = [&] {
    CHECK(s.anna_via->remembered_heads().at(s.org()).seq == seen.seq);
    CHECK(s.anna_via->remembered_heads().at(s.org()).hash == seen.hash);
  };

  SECTION("a link the client has seen, rewritten") {
    s.anna_proxy.SetHook(kGetOrgLog, EvilProxy::Alter<trygg::v1::GetOrgLogRequest, trygg::v1::GetOrgLogResponse>(
                                         [&](const trygg::v1::GetOrgLogRequest&, trygg::v1::GetOrgLogResponse& r) {
                                           for (auto& link : *r.mutable_links()) {
                                             if (link_seq(link) != seen.seq) continue;
                                             std::string bytes = link.bytes();
                                             bytes.back() ^= 1;
                                             link.set_bytes(bytes);
                                           }
                                         }));
    const std::string reason = ReasonOf(s.anna_via->FetchOrgLog(s.org()).status());
    INFO(reason);
    CHECK((reason == "BAD_SIGNATURE" || reason == "MALFORMED"));
    unchanged();
  }
  SECTION("the log cut short before the cached head (the revocation undone)") {
    s.anna_proxy.SetHook(kGetOrgLog, EvilProxy::Alter<trygg::v1::GetOrgLogRequest, trygg::v1::GetOrgLogResponse>(
                                         [&](const trygg::v1::GetOrgLogRequest&, trygg::v1::GetOrgLogResponse& r) {
                                           while (r.links_size() > 0 && link_seq(r.links(r.links_size() - 1)) >= seen.seq) {
                                             r.mutable_links()->RemoveLast();
                                           }
                                         }));
    CHECK(ReasonOf(s.anna_via->FetchOrgLog(s.org()).status()) == "ROLLBACK");
    unchanged();
  }
  SECTION("an older recording, from before the cache was warm") {
    s.anna_proxy.SetHook(kGetOrgLog, ServeRecorded(s.anna_proxy, kGetOrgLog, 0));
    CHECK(ReasonOf(s.anna_via->FetchOrgLog(s.org()).status()) == "ROLLBACK");
    unchanged();
  }
  SECTION("a new link that does not extend the cached head (another branch)") {
    // A validly signed link from the admin that names a head the client never
    // saw: the server replaces the revocation and shows a role change after it.
    trygg::v1::SignedBlob branch_link;
    s.anna_proxy.SetRequestGate(
        [&](const std::string& method, const grpc::ByteBuffer& request, grpc::ByteBuffer& answer) {
          if (method != kAppendOrgLogLink) return EvilProxy::Gate::kForward;
          branch_link = EvilProxy::Parse<trygg::v1::AppendOrgLogLinkRequest>(request).link();
          trygg::v1::AppendOrgLogLinkResponse response;
          response.set_seq(seen.seq + 1);
          answer = EvilProxy::Serialize(response);
          return EvilProxy::Gate::kAnswer;
        });
    auto admin_via = s.world.ClientThrough(s.admin, s.anna_proxy.address());
    // The admin's own client has not seen the revocation through this proxy
    // yet: it signs a link after the head it fetches, which the hook shows
    // without the revocation.
    s.anna_proxy.SetHook(kGetOrgLog, EvilProxy::Alter<trygg::v1::GetOrgLogRequest, trygg::v1::GetOrgLogResponse>(
                                         [&](const trygg::v1::GetOrgLogRequest&, trygg::v1::GetOrgLogResponse& r) {
                                           while (r.links_size() > 0 &&
                                                  link_seq(r.links(r.links_size() - 1)) >= seen.seq) {
                                             r.mutable_links()->RemoveLast();
                                           }
                                           if (!branch_link.bytes().empty()) *r.add_links() = branch_link;
                                         }));
    REQUIRE(ChangeRole(*admin_via, s.admin.keys, s.bo.keys.device_id, Role::kOrgAdmin, s.world.clock()).ok());
    REQUIRE_FALSE(branch_link.bytes().empty());
    REQUIRE(ServedLinkSeq(branch_link) == seen.seq);
    const std::string reason = ReasonOf(s.anna_via->FetchOrgLog(s.org()).status());
    INFO(reason);
    CHECK(reason == "FORK");
    unchanged();
  }

  // The honest log again: accepted, and the cache goes on from where it was.
  s.anna_proxy.ClearHooks();
  s.anna_proxy.SetRequestGate(nullptr);
  auto honest = s.anna_via->FetchOrgLog(s.org());
  REQUIRE(honest.ok());
  CHECK(honest->head().hash == seen.hash);
  CHECK(honest->FindDevice(carl.keys.device_id)->revoked);
}

}  // namespace trygg::adversarial_proxy
