// SPDX-License-Identifier: Apache-2.0

// trygg-bench-preload: fills a stopped tryggd's database with referrals, for
// trygg-bench --preload (docs/benchmarks.md, "Preloading").
//
// Each referral is made as ReferralClient::Refer makes it (a referral record
// and a packet signed by the sender's device, the referral scope's key granted
// to sender and receiver) and stored as Referrals::Create stores it
// (server/domain/referrals.cc, StoreReferral): the referral row, its
// referral-created audit entry, two grants and their two grant audit entries,
// through the server's own SqliteStore (its writer thread, group
// commit, synchronous=FULL), ReferralTables, CaseTables and AuditLog::Record.
// So the tables, indexes and the audit tree hold what the same number of
// CreateReferral calls would leave. What differs:
//   - the domain's checks (consent, listing route, signature verification)
//     are not run: the referrals satisfy them by construction, and their
//     signatures are genuine (each record, packet and grant header is signed
//     afresh by the sender device's key);
//   - the two grants' sealed boxes are sealed once and reused: every grant's
//     header and signature are its own, but its box holds the first scope's
//     id, so only the first referral's grants open (the bench never opens a
//     preloaded referral's grants);
//   - many referrals share one write (kPerWrite), so commits are larger.
//
// Never reachable in a production server by accident: it is a separate
// program, built with the benchmarks and never installed, and it takes the
// data directory's tryggd.lock, so it refuses to run while a tryggd serves
// that directory (and a tryggd refuses to start while it runs).
//
//   trygg-bench-preload --data-dir DIR --spec FILE --count N
//
// FILE is JSON, written by trygg-bench: hex `sender_seed` (the sender device's
// 32-byte Ed25519 seed), `sender_org`, `sender_device`, `receiver_org`,
// `case_id`, `listing_id`, `consent_id`, `sender_org_box_key`,
// `receiver_org_box_key`, and numbers `service`, `response_time_hours`.

#include <fcntl.h>
#include <sodium.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "server/domain/audit_log.h"
#include "server/domain/caller.h"
#include "server/domain/case_tables.h"
#include "server/domain/referral_tables.h"
#include "server/domain/trust_tables.h"
#include "server/store/sqlite/sqlite_store.h"
#include "trygg/grant.h"
#include "trygg/keys.h"
#include "trygg/random.h"
#include "trygg/record.h"
#include "trygg/status_macros.h"
#include "trygg/workflow.h"

namespace trygg::bench {
namespace {

// Referrals per store write; the store groups writes further (max_batch).
constexpr size_t kPerWrite = 500;
// Writes made and queued ahead of the writer thread.
constexpr size_t kMaxQueued = 8;
constexpr int64_t kHourMs = 60 * 60 * 1000;
constexpr uint32_t kEpoch = 1;

struct Spec {
  SigningKeyPair sender;
  Id128 sender_org, sender_device, receiver_org, case_id, listing_id, consent_id;
  BoxPublicKey sender_org_box, receiver_org_box;
  uint8_t service = 0;
  uint32_t response_time_hours = 0;
};

template <typename T>
absl::StatusOr<T> HexField(const nlohmann::json& spec, const char* name) {
  if (!spec.contains(name) || !spec[name].is_string()) return absl::InvalidArgumentError(absl::StrCat("spec: no ", name));
  absl::StatusOr<T> value = T::FromHex(spec[name].get<std::string>());
  if (!value.ok()) return absl::InvalidArgumentError(absl::StrCat("spec: ", name, ": ", value.status().message()));
  return value;
}

absl::StatusOr<Spec> ReadSpec(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError("cannot read " + path);
  const nlohmann::json json = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object()) return absl::InvalidArgumentError(path + " is not a JSON object");
  Spec spec;
  TRYGG_ASSIGN_OR_RETURN(Hash256 seed, HexField<Hash256>(json, "sender_seed"));
  spec.sender = SigningKeyPairFromSeed(seed.span());
  TRYGG_ASSIGN_OR_RETURN(spec.sender_org, HexField<Id128>(json, "sender_org"));
  TRYGG_ASSIGN_OR_RETURN(spec.sender_device, HexField<Id128>(json, "sender_device"));
  TRYGG_ASSIGN_OR_RETURN(spec.receiver_org, HexField<Id128>(json, "receiver_org"));
  TRYGG_ASSIGN_OR_RETURN(spec.case_id, HexField<Id128>(json, "case_id"));
  TRYGG_ASSIGN_OR_RETURN(spec.listing_id, HexField<Id128>(json, "listing_id"));
  TRYGG_ASSIGN_OR_RETURN(spec.consent_id, HexField<Id128>(json, "consent_id"));
  TRYGG_ASSIGN_OR_RETURN(spec.sender_org_box, HexField<BoxPublicKey>(json, "sender_org_box_key"));
  TRYGG_ASSIGN_OR_RETURN(spec.receiver_org_box, HexField<BoxPublicKey>(json, "receiver_org_box_key"));
  spec.service = json.value("service", uint8_t{0});
  spec.response_time_hours = json.value("response_time_hours", uint32_t{0});
  return spec;
}

Id128 RandomId(Rng& rng) {
  Id128 id;
  rng.Fill(id.span());
  return id;
}

// One referral, as Refer would send it and Create would store it.
struct Made {
  domain::ReferralRow row;
  std::vector<domain::StoredGrant> grants;
};

class ReferralMaker {
 public:
  explicit ReferralMaker(const Spec& spec) : spec_(spec) { rng_.Fill(scope_key_.span()); }

  absl::Status Init() {
    // The two boxes every grant reuses (see the top of the file).
    GrantParams params{GrantKind::kScopeKey, RandomId(rng_), kEpoch, spec_.sender_device};
    TRYGG_ASSIGN_OR_RETURN(Grant to_sender, SealGrant(params, scope_key_, spec_.sender_org_box, spec_.sender, clock_, rng_));
    TRYGG_ASSIGN_OR_RETURN(Grant to_receiver,
                           SealGrant(params, scope_key_, spec_.receiver_org_box, spec_.sender, clock_, rng_));
    boxes_[0] = to_sender.sealed;
    boxes_[1] = to_receiver.sealed;
    return absl::OkStatus();
  }

  absl::StatusOr<Made> Make() {
    const int64_t now = clock_.NowUnixMillis();
    const Id128 scope_id = RandomId(rng_);
    RecordDraft draft;
    draft.case_id = spec_.case_id;
    draft.scope_id = scope_id;
    draft.epoch = kEpoch;
    draft.record_id = RandomId(rng_);
    draft.author_org = spec_.sender_org;
    draft.author_device = spec_.sender_device;
    static constexpr uint8_t kPacket[] = {'p', 'r', 'e', 'l', 'o', 'a', 'd'};
    const SecretKey dek = GenerateDataKey(rng_);
    TRYGG_ASSIGN_OR_RETURN(SealedRecord packet, SealRecord(draft, kPacket, {}, dek, scope_key_, spec_.sender, clock_, rng_));

    ReferralRecord record;
    record.referral_id = RandomId(rng_);
    record.case_id = spec_.case_id;
    record.from_org_id = spec_.sender_org;
    record.to_org_id = spec_.receiver_org;
    record.listing_id = spec_.listing_id;
    record.service = spec_.service;
    record.basis = ReferralBasis::kConsent;
    record.consent_id = spec_.consent_id;
    record.created_at_ms = now;
    record.packet_hash = RecordHash(packet);
    record.sender_device_id = spec_.sender_device;
    TRYGG_ASSIGN_OR_RETURN(SignedObject signed_record, SignReferralRecord(record, spec_.sender));

    Made made;
    domain::ReferralRow& row = made.row;
    row.referral_id = record.referral_id;
    row.case_id = record.case_id;
    row.from_org = record.from_org_id;
    row.to_org = record.to_org_id;
    row.listing_id = record.listing_id;
    row.consent_id = record.consent_id;
    row.scope_id = scope_id;
    row.service = record.service;
    row.urgency = static_cast<uint8_t>(record.urgency);
    row.basis = static_cast<uint8_t>(record.basis);
    row.state = domain::ReferralState::kSent;
    row.created_at_ms = row.updated_at_ms = now;
    row.answer_by_ms = now + int64_t{spec_.response_time_hours} * kHourMs;
    row.sender_device = spec_.sender_device;
    row.signed_referral = std::move(signed_record);
    row.packet = std::move(packet);

    const Id128 orgs[2] = {spec_.sender_org, spec_.receiver_org};
    const BoxPublicKey* keys[2] = {&spec_.sender_org_box, &spec_.receiver_org_box};
    for (int i = 0; i < 2; ++i) {
      GrantHeader header;
      header.kind = GrantKind::kScopeKey;
      header.scope_id = scope_id;
      header.epoch = kEpoch;
      header.recipient_key_id = BoxKeyId(*keys[i]);
      header.granter_device = spec_.sender_device;
      header.created_at_ms = now;
      domain::StoredGrant& stored = made.grants.emplace_back();
      stored.scope_id = scope_id;
      stored.epoch = kEpoch;
      stored.org_id = orgs[i];
      stored.grant.header = SerializeGrantHeader(header);
      stored.grant.sealed = boxes_[i];
      const std::vector<uint8_t> signed_bytes = GrantSignedBytes(stored.grant);
      crypto_sign_detached(stored.grant.signature.data(), nullptr, signed_bytes.data(), signed_bytes.size(),
                           spec_.sender.secret_key.data());
    }
    return made;
  }

 private:
  const Spec& spec_;
  SystemRng rng_;
  SystemClock clock_;
  SecretKey scope_key_;
  std::vector<uint8_t> boxes_[2];
};

// What Referrals::Create stores once its checks pass (StoreReferral).
absl::Status StoreMade(domain::Transaction& txn, const domain::Caller& caller, const Made& made) {
  const int64_t now = made.row.created_at_ms;
  TRYGG_RETURN_IF_ERROR(txn.referrals().InsertReferral(made.row));
  TRYGG_RETURN_IF_ERROR(domain::AuditLog::Record(txn, domain::ReferralCreatedEvent(caller, now, made.row)).status());
  for (const domain::StoredGrant& grant : made.grants) {
    TRYGG_RETURN_IF_ERROR(txn.cases().InsertGrant(grant));
    TRYGG_RETURN_IF_ERROR(domain::AuditLog::Record(txn, domain::GrantEvent(caller, now, grant.org_id, grant.epoch,
                                                                          made.row.case_id, made.row.referral_id))
                              .status());
  }
  return absl::OkStatus();
}

absl::Status Preload(const std::string& data_dir, const Spec& spec, size_t count) {
  // The data directory's lock, as tryggd takes it: no tryggd serves it now.
  const std::string lock_path = data_dir + "/tryggd.lock";
  const int lock_fd = open(lock_path.c_str(), O_RDWR | O_CLOEXEC);
  if (lock_fd < 0) return absl::FailedPreconditionError(data_dir + " is not a tryggd data directory");
  if (flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    close(lock_fd);
    return absl::FailedPreconditionError(data_dir + " is in use by a tryggd; stop it first");
  }
  store::sqlite::SqliteStore::Options options;
  options.path = data_dir + "/trygg.db";
  options.readers = 1;
  // The whole working set of the audit tree and the indexes at a million
  // referrals stays in memory: half the CPU of a tiny cache (100,000 referrals:
  // 32 s against 69 s with a 1 KiB cache).
  options.writer_cache_kib = 256 * 1024;
  absl::StatusOr<std::unique_ptr<store::sqlite::SqliteStore>> opened = store::sqlite::SqliteStore::Open(options);
  if (!opened.ok()) return opened.status();
  std::unique_ptr<store::sqlite::SqliteStore> db = *std::move(opened);
  // The sender must exist as trygg-bench set it up: a device of its
  // organisation, on a case that organisation holds.
  TRYGG_RETURN_IF_ERROR(db->Read([&](domain::Transaction& txn) -> absl::Status {
    TRYGG_ASSIGN_OR_RETURN(std::optional<domain::DeviceRow> device, txn.trust().GetDevice(spec.sender_device));
    if (!device.has_value() || device->org_id != spec.sender_org) {
      return absl::FailedPreconditionError("the spec's sender device is not in this database");
    }
    return absl::OkStatus();
  }));

  domain::Caller caller;
  caller.device_id = spec.sender_device;
  caller.org_id = spec.sender_org;
  caller.role = Role::kOrgAdmin;
  caller.sign_key = spec.sender.public_key;

  ReferralMaker maker(spec);
  TRYGG_RETURN_IF_ERROR(maker.Init());
  std::mutex mu;
  std::condition_variable cv;
  size_t queued = 0;
  absl::Status failed;
  const auto t0 = std::chrono::steady_clock::now();
  for (size_t made_so_far = 0; made_so_far < count;) {
    const size_t n = std::min(kPerWrite, count - made_so_far);
    auto batch = std::make_shared<std::vector<Made>>();
    batch->reserve(n);
    for (size_t i = 0; i < n; ++i) {
      TRYGG_ASSIGN_OR_RETURN(Made made, maker.Make());
      batch->push_back(std::move(made));
    }
    made_so_far += n;
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return queued < kMaxQueued; });
      if (!failed.ok()) break;
      ++queued;
    }
    db->Write(
        [batch, &caller](domain::Transaction& txn) -> absl::Status {
          for (const Made& made : *batch) TRYGG_RETURN_IF_ERROR(StoreMade(txn, caller, made));
          return absl::OkStatus();
        },
        [&](absl::Status status) {
          std::lock_guard<std::mutex> lock(mu);
          if (!status.ok() && failed.ok()) failed = status;
          --queued;
          cv.notify_all();
        });
    if (made_so_far % 100000 < kPerWrite) {
      std::fprintf(stderr, "trygg-bench-preload: %zu made, %.0f s\n", made_so_far,
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return queued == 0; });
  }
  db.reset();  // finishes the writes, checkpoints, closes
  close(lock_fd);
  if (!failed.ok()) return failed;
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto cpu = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  std::fprintf(stderr, "trygg-bench-preload: %zu referrals stored in %.1f s (CPU: %.1f s user, %.1f s system)\n",
               count, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
               cpu(usage.ru_utime), cpu(usage.ru_stime));
  return absl::OkStatus();
}

}  // namespace
}  // namespace trygg::bench

int main(int argc, char** argv) {
  CLI::App app{"trygg-bench-preload: fills a stopped tryggd's database with referrals for trygg-bench --preload"};
  std::string data_dir, spec_path;
  size_t count = 0;
  app.add_option("--data-dir", data_dir, "the stopped tryggd's data directory")->required();
  app.add_option("--spec", spec_path, "JSON written by trygg-bench: the sender, receiver, case, listing, consent")
      ->required();
  app.add_option("--count", count, "referrals to add")->required();
  CLI11_PARSE(app, argc, argv);
  if (sodium_init() < 0) {
    std::fprintf(stderr, "trygg-bench-preload: libsodium failed to initialise\n");
    return 1;
  }
  absl::StatusOr<trygg::bench::Spec> spec = trygg::bench::ReadSpec(spec_path);
  absl::Status status = spec.ok() ? trygg::bench::Preload(data_dir, *spec, count) : spec.status();
  if (!status.ok()) {
    std::fprintf(stderr, "trygg-bench-preload: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}
