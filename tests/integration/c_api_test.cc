// SPDX-License-Identifier: Apache-2.0

// libtrygg's C interface (trygg/trygg.h) against a real tryggd, called as a
// C program calls it: devices initialised and enrolled through it, a case,
// a consent, a directory search, referrals accepted, declined, completed
// and watched between two organisations, and the refusals, each with its
// code and message and nothing changed.
#include "trygg/trygg.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "testing/temp_dir.h"
#include "testing/trust_world.h"
#include "trygg/device.h"
#include "trygg/directory_client.h"
#include "trygg/membership.h"

namespace trygg {
namespace {

using testing::TestDevice;
using testing::TrustWorld;

constexpr char kPassphrase[] = "en lång lösenfras för C";

// The JSON result of a call that must succeed; the buffer is freed. `out` by
// reference: it is read after the call that fills it has run.
nlohmann::json Ok(trygg_code code, char*& out) {
  INFO(trygg_last_error());
  REQUIRE(code == TRYGG_OK);
  REQUIRE(out != nullptr);
  nlohmann::json value = nlohmann::json::parse(out);
  trygg_free(out);
  return value;
}

// A refused call: its code, no result, and a message naming `named`.
void Refused(trygg_code code, char*& out, trygg_code expected, const std::string& named) {
  INFO(trygg_last_error());
  CHECK(code == expected);
  CHECK(out == nullptr);
  CHECK(std::string(trygg_last_error()).find(named) != std::string::npos);
}

std::string Hex(const Id128& id) { return HexEncode(id.span()); }

struct CWorld {
  TrustWorld world;
  testing::TempDir dir;
  std::string root_hex = HexEncode(world.root().public_key.span());

  // Device init, enrolment request, approval by `admin` after checking the
  // safety number, activation: all but the approval through the C interface.
  trygg_session* Enrol(TestDevice& admin, const std::string& name) {
    const std::string path = dir.file(name + ".keystore");
    char* out = nullptr;
    nlohmann::json device = Ok(
        trygg_device_init(path.c_str(), kPassphrase, std::strlen(kPassphrase), Hex(admin.keys.org_id).c_str(), &out),
        out);
    trygg_session* fresh = nullptr;
    INFO(trygg_last_error());
    REQUIRE(trygg_session_open(path.c_str(), kPassphrase, std::strlen(kPassphrase), world.address().c_str(),
                               root_hex.c_str(), nullptr, 0, &fresh) == TRYGG_OK);
    nlohmann::json ticket = Ok(trygg_enrol_request(fresh, "caseworker", name.c_str(), &out), out);
    CHECK(ticket["safety_number"] == device["safety_number"]);
    trygg_session_close(fresh);

    absl::StatusOr<std::vector<PendingEnrolment>> pending = admin.client->ListEnrolments();
    REQUIRE(pending.ok());
    for (const PendingEnrolment& p : *pending) {
      if (Hex(p.enrolment_id) != ticket["enrolment_id"]) continue;
      REQUIRE(CheckSafetyNumber(ticket["safety_number"].get<std::string>(), p.request.sign_key).ok());
      REQUIRE(ApproveEnrolment(*admin.client, admin.keys, p, world.clock(), world.rng()).ok());
    }
    trygg_session* session = nullptr;
    REQUIRE(trygg_session_open(path.c_str(), kPassphrase, std::strlen(kPassphrase), world.address().c_str(),
                               root_hex.c_str(), nullptr, TRYGG_OPEN_LOGIN | TRYGG_OPEN_KEEP_PASSPHRASE,
                               &session) == TRYGG_OK);
    CHECK(Ok(trygg_activate(session, &out), out)["added"] == 1);
    nlohmann::json info = Ok(trygg_session_info(session, &out), out);
    CHECK(info["role"] == "caseworker");
    CHECK(info["org_key_generations"] == nlohmann::json::array({1}));
    return session;
  }
};

constexpr char kRecord[] = R"({
  "person": {"first_name": "Ioana", "second_name": "Popescu", "primary_language": "ro"},
  "needs": [{"service": "legal-advice", "details": "Lönefordran"}]})";

TEST_CASE("the C interface runs the partner flows between two organisations") {
  CHECK(trygg_abi_version() == TRYGG_ABI_VERSION);
  CHECK(std::string(trygg_version()).rfind("0.", 0) == 0);

  CWorld c;
  REQUIRE(c.world.ok());
  TestDevice& shelter_admin = c.world.AdmitOrganisation("Skyddat boende Syd");
  TestDevice& legal_admin = c.world.AdmitOrganisation("Juridisk rådgivning");
  Listing l;
  l.category = static_cast<uint8_t>(ServiceCategory::kLegalAdvice);
  l.regions = {"SE-M"};
  l.languages = {"ro", "sv"};
  l.response_time_hours = 48;
  DirectoryClient legal_directory(*legal_admin.client, legal_admin.keys, c.world.clock(), c.world.rng());
  absl::StatusOr<VerifiedListing> listing = legal_directory.Publish(l);
  REQUIRE(listing.ok());
  const std::string listing_id = Hex(listing->listing.listing_id);

  trygg_session* anna = c.Enrol(shelter_admin, "anna");
  trygg_session* lawyer = c.Enrol(legal_admin, "lawyer");
  char* out = nullptr;

  const std::string case_id = Ok(trygg_case_create(anna, kRecord, &out), out)["case_id"];
  nlohmann::json read = Ok(trygg_case_read(anna, case_id.c_str(), &out), out);
  CHECK(read["latest"]["person"]["first_name"] == "Ioana");
  CHECK(read["versions"][0]["record"]["needs"][0]["service"] == "legal-advice");
  CHECK(Ok(trygg_case_list(anna, &out), out)["cases"].size() == 1);

  const int64_t in_a_month = c.world.clock().NowUnixMillis() + 30LL * 24 * 3600 * 1000;
  const std::string consent_id =
      Ok(trygg_consent_record(anna, case_id.c_str(), Hex(legal_admin.keys.org_id).c_str(), "legal-advice",
                              in_a_month, "Muntligt samtycke med tolk", &out),
         out)["consent_id"];

  nlohmann::json found = Ok(trygg_directory_search(anna, "legal-advice", nullptr, "ro", 0, &out), out);
  REQUIRE(found["listings"].size() == 1);
  CHECK(found["listings"][0]["listing_id"] == listing_id);
  CHECK(found["rejected"] == 0);

  const char* share[] = {"needs"};
  nlohmann::json sent = Ok(trygg_refer(anna, case_id.c_str(), listing_id.c_str(), consent_id.c_str(), nullptr, share,
                                       1, "Ring före besök", "urgent", &out),
                           out);
  const std::string referral_id = sent["referral_id"];
  CHECK(sent["state"] == "sent");
  CHECK(sent["urgency"] == "urgent");
  CHECK(sent["basis"] == "consent");

  // Refusals carry a code and a message, and change nothing.
  {
    out = reinterpret_cast<char*>(1);
    Refused(trygg_case_read(anna, "not-hex", &out), out, TRYGG_INVALID_ARGUMENT, "case id");
    Refused(trygg_case_read(nullptr, case_id.c_str(), &out), out, TRYGG_INVALID_ARGUMENT, "NULL");
    Refused(trygg_case_create(anna, R"({"persn": {}})", &out), out, TRYGG_INVALID_ARGUMENT, "persn");
    const char* passport[] = {"passport"};
    Refused(trygg_refer(anna, case_id.c_str(), listing_id.c_str(), consent_id.c_str(), nullptr, passport, 1, nullptr,
                        nullptr, &out),
            out, TRYGG_INVALID_ARGUMENT, "passport");
    Refused(trygg_refer(anna, case_id.c_str(), listing_id.c_str(), consent_id.c_str(), "both", share, 1, nullptr,
                        nullptr, &out),
            out, TRYGG_INVALID_ARGUMENT, "one of");
    Refused(trygg_referral_decline(lawyer, referral_id.c_str(), "bored", &out), out, TRYGG_INVALID_ARGUMENT, "bored");
    Refused(trygg_directory_search(anna, "spa", nullptr, nullptr, 0, &out), out, TRYGG_INVALID_ARGUMENT, "spa");
    // Text that is not UTF-8 is refused at the boundary, naming the argument
    // (proto3 would only refuse it on the receiver's side).
    Refused(trygg_refer(anna, case_id.c_str(), listing_id.c_str(), consent_id.c_str(), nullptr, share, 1,
                        "bad \xff note", nullptr, &out),
            out, TRYGG_INVALID_ARGUMENT, "the note is not valid UTF-8");
    Refused(trygg_refer(anna, case_id.c_str(), listing_id.c_str(), nullptr, "overlong \xc0\xaf", share, 1, nullptr,
                        nullptr, &out),
            out, TRYGG_INVALID_ARGUMENT, "the vital-interests justification is not valid UTF-8");
    Refused(trygg_consent_record(anna, case_id.c_str(), nullptr, "legal-advice", in_a_month, "surrogate \xed\xa0\x80",
                                 &out),
            out, TRYGG_INVALID_ARGUMENT, "the evidence of consent is not valid UTF-8");
    Refused(trygg_case_create(anna, "{\"comments\": [\"cut \xe2\x82\"]}", &out), out, TRYGG_INVALID_ARGUMENT,
            "the case record is not valid UTF-8");
    Refused(trygg_enrol_request(anna, "caseworker", "label \xfe", &out), out, TRYGG_INVALID_ARGUMENT,
            "the label is not valid UTF-8");
    Refused(trygg_directory_search(anna, nullptr, "SE-\x80", nullptr, 0, &out), out, TRYGG_INVALID_ARGUMENT,
            "the region is not valid UTF-8");
    out = reinterpret_cast<char*>(1);
    // The sender cannot answer its own referral.
    CHECK(trygg_referral_accept(anna, referral_id.c_str(), &out) != TRYGG_OK);
    CHECK(out == nullptr);
    CHECK(Ok(trygg_outbox(anna, nullptr, nullptr, &out), out)["referrals"].size() == 1);
    CHECK(Ok(trygg_referral_get(anna, referral_id.c_str(), &out), out)["state"] == "sent");
    CHECK(Ok(trygg_case_list(anna, &out), out)["cases"].size() == 1);

    trygg_session* wrong = nullptr;
    const std::string path = c.dir.file("anna.keystore");
    CHECK(trygg_session_open(path.c_str(), "fel", 3, c.world.address().c_str(), c.root_hex.c_str(), nullptr,
                             TRYGG_OPEN_LOGIN, &wrong) != TRYGG_OK);
    CHECK(wrong == nullptr);
    CHECK(std::string(trygg_last_error_reason()) == "wrong-passphrase");
    CHECK(trygg_session_open(c.dir.file("nobody.keystore").c_str(), "x", 1, c.world.address().c_str(),
                             c.root_hex.c_str(), nullptr, 0, &wrong) == TRYGG_NOT_FOUND);
    // Flags it does not know are refused, before the key store is opened.
    CHECK(trygg_session_open(path.c_str(), kPassphrase, std::strlen(kPassphrase), c.world.address().c_str(),
                             c.root_hex.c_str(), nullptr, TRYGG_OPEN_LOGIN | 4u, &wrong) == TRYGG_INVALID_ARGUMENT);
    CHECK(wrong == nullptr);
    CHECK(std::string(trygg_last_error()).find("unknown flags") != std::string::npos);
    CHECK(trygg_device_init(path.c_str(), "x", 1, Hex(shelter_admin.keys.org_id).c_str(), &out) ==
          TRYGG_ALREADY_EXISTS);
    // A success clears the last error.
    Ok(trygg_session_info(anna, &out), out);
    CHECK(std::string(trygg_last_error()).empty());
  }
  // Calls on one session from several threads are serialised.
  {
    std::vector<std::thread> threads;
    std::atomic<int> ok{0};
    for (int i = 0; i < 4; ++i) {
      threads.emplace_back([&] {
        for (int k = 0; k < 5; ++k) {
          char* page = nullptr;
          if (trygg_inbox(lawyer, nullptr, nullptr, &page) == TRYGG_OK &&
              nlohmann::json::parse(page)["referrals"].size() == 1) {
            ++ok;
          }
          trygg_free(page);
        }
      });
    }
    for (std::thread& t : threads) t.join();
    CHECK(ok == 20);
  }
  // The receiver reads only the shared sections, accepts (watched by the sender) and completes.
  {
    nlohmann::json inbox = Ok(trygg_inbox(lawyer, "sent", nullptr, &out), out);
    REQUIRE(inbox["referrals"].size() == 1);
    CHECK(inbox["referrals"][0]["referral_id"] == referral_id);
    CHECK(inbox["referrals"][0]["from_org_name"] == "Skyddat boende Syd");
    nlohmann::json got = Ok(trygg_referral_get(lawyer, referral_id.c_str(), &out), out);
    CHECK(got["incoming"] == true);
    CHECK(got["packet"]["note"] == "Ring före besök");
    CHECK(got["packet"]["shared"]["needs"][0]["details"] == "Lönefordran");
    CHECK_FALSE(got["packet"]["shared"].contains("person"));
  }
  // Watch reports the receiver's answer, from the moment it is open.
  {
    std::atomic<bool> accepted{false};
    struct Watcher {
      trygg_session* lawyer;
      std::string referral_id;
      std::atomic<bool>* accepted;
      std::vector<std::string> events;
    } watcher{lawyer, referral_id, &accepted, {}};
    const trygg_watch_fn on_notice = [](void* user, const char* json) -> int {
      auto* w = static_cast<Watcher*>(user);
      const nlohmann::json notice = nlohmann::json::parse(json);
      w->events.push_back(notice["event"]);
      if (notice["event"] == "open") {
        // Another session may run while this one watches.
        char* answer = nullptr;
        if (trygg_referral_accept(w->lawyer, w->referral_id.c_str(), &answer) == TRYGG_OK) *w->accepted = true;
        trygg_free(answer);
        return 1;
      }
      return !(notice["referral_id"] == w->referral_id && notice["state"] == "accepted");
    };
    REQUIRE(trygg_watch(anna, 30'000, on_notice, &watcher) == TRYGG_OK);
    CHECK(accepted);
    REQUIRE(watcher.events.size() >= 2);
    CHECK(watcher.events.front() == "open");
    CHECK(watcher.events.back() == "referral");
  }
  {
    nlohmann::json done = Ok(trygg_referral_complete(lawyer, referral_id.c_str(), "service-provided", &out), out);
    CHECK(done["state"] == "completed");
    CHECK(done["outcome"] == "service-provided");
    nlohmann::json outbox = Ok(trygg_outbox(anna, nullptr, nullptr, &out), out);
    REQUIRE(outbox["referrals"].size() == 1);
    CHECK(outbox["referrals"][0]["state"] == "completed");
  }
  // A vital-interests referral, declined with a reason.
  {
    nlohmann::json vital = Ok(trygg_refer(anna, case_id.c_str(), listing_id.c_str(), nullptr, "Akut hot", share, 1,
                                          nullptr, nullptr, &out),
                              out);
    CHECK(vital["basis"] == "vital-interests");
    nlohmann::json declined =
        Ok(trygg_referral_decline(lawyer, vital["referral_id"].get<std::string>().c_str(), "no-capacity", &out), out);
    CHECK(declined["state"] == "declined");
    CHECK(declined["decline_reason"] == "no-capacity");
  }
  // The audit trail: refused, changing nothing, while no platform root
  // certifies the server's key; then every write of Anna's device so far is
  // proven in one check, and the next check has only the log's growth to prove.
  {
    out = reinterpret_cast<char*>(1);
    CHECK(trygg_audit_verify(anna, &out) == TRYGG_FAILED_PRECONDITION);
    CHECK(out == nullptr);
    CHECK(std::string(trygg_last_error()).find("certified by the platform root") != std::string::npos);
    c.world.CertifyServer();
    const nlohmann::json proven = Ok(trygg_audit_verify(anna, &out), out);
    // Her sign-in, the case, the consent and two referrals at least.
    CHECK(proven["writes_verified"].get<int64_t>() >= 5);
    CHECK(proven["entries_verified"].get<int64_t>() >= proven["writes_verified"].get<int64_t>());
    CHECK(proven["writes_pending"] == 0);
    CHECK(proven["previous_tree_size"] == 0);
    CHECK(proven["tree_size"].get<int64_t>() >= proven["entries_verified"].get<int64_t>());
    CHECK(proven["root_hash"].get<std::string>().size() == 64);
    CHECK(proven["timestamp_ms"].get<int64_t>() > 0);
    // A second check right after has no new write of hers to prove.
    const nlohmann::json again = Ok(trygg_audit_verify(anna, &out), out);
    CHECK(again["writes_verified"] == 0);
    CHECK(again["previous_tree_size"] == proven["tree_size"]);
    CHECK(again["tree_size"].get<int64_t>() >= proven["tree_size"].get<int64_t>());
    out = reinterpret_cast<char*>(1);
    CHECK(trygg_audit_verify(nullptr, &out) == TRYGG_INVALID_ARGUMENT);
    CHECK(out == nullptr);
  }
  // A malformed record is refused without quoting it.
  {
    out = reinterpret_cast<char*>(1);
    CHECK(trygg_case_create(anna, R"({"person": {"first_name": "Ioana Popescu" "second_name": "Secretescu"}})",
                            &out) == TRYGG_INVALID_ARGUMENT);
    CHECK(out == nullptr);
    CHECK(std::string(trygg_last_error()).find("trygg.v1.CaseRecord") != std::string::npos);
    CHECK(std::string(trygg_last_error()).find("Popescu") == std::string::npos);
    CHECK(std::string(trygg_last_error()).find("Secretescu") == std::string::npos);
    CHECK(trygg_case_create(anna, R"({"person": {"birthdate": 19900101}})", &out) == TRYGG_INVALID_ARGUMENT);
    CHECK(std::string(trygg_last_error()).find("19900101") == std::string::npos);
    CHECK(std::string(trygg_last_error()).find("person.birthdate") != std::string::npos);
  }
  const std::string anna_path = c.dir.file("anna.keystore");
  const auto open_anna = [&] {
    trygg_session* s = nullptr;
    INFO(trygg_last_error());
    REQUIRE(trygg_session_open(anna_path.c_str(), kPassphrase, std::strlen(kPassphrase), c.world.address().c_str(),
                               c.root_hex.c_str(), nullptr, TRYGG_OPEN_LOGIN, &s) == TRYGG_OK);
    return s;
  };
  // A watch callback calling into its own session is refused (it would wait
  // for itself); closing its own session from the callback ends the watch.
  {
    trygg_session* own = open_anna();
    struct Reentry {
      trygg_session* session;
      trygg_code code = TRYGG_OK;
      std::string message;
      char* out = reinterpret_cast<char*>(1);
    } reentry{own, TRYGG_OK, {}, reinterpret_cast<char*>(1)};
    const trygg_watch_fn call_own = [](void* user, const char*) -> int {
      auto* r = static_cast<Reentry*>(user);
      r->code = trygg_case_list(r->session, &r->out);
      r->message = trygg_last_error();
      trygg_session_close(r->session);  // ends the watch
      return 0;
    };
    CHECK(trygg_watch(own, 0, call_own, &reentry) == TRYGG_CANCELLED);
    CHECK(reentry.code == TRYGG_FAILED_PRECONDITION);
    CHECK(reentry.out == nullptr);
    CHECK(reentry.message.find("its own session") != std::string::npos);

    // trygg_watch_cancel from the callback ends the watch; the session stays open.
    own = open_anna();
    reentry.session = own;
    const trygg_watch_fn cancel_own = [](void* user, const char*) -> int {
      trygg_watch_cancel(static_cast<Reentry*>(user)->session);
      return 1;
    };
    CHECK(trygg_watch(own, 0, cancel_own, &reentry) == TRYGG_CANCELLED);
    CHECK(std::string(trygg_last_error()).find("trygg_watch_cancel") != std::string::npos);
    CHECK(Ok(trygg_case_list(own, &out), out)["cases"].size() == 1);
    trygg_watch_cancel(own);  // no watch runs: nothing happens
    trygg_watch_cancel(nullptr);
    CHECK(Ok(trygg_case_list(own, &out), out)["cases"].size() == 1);

    const trygg_watch_fn close_own = [](void* user, const char*) -> int {
      trygg_session_close(static_cast<Reentry*>(user)->session);
      return 1;
    };
    CHECK(trygg_watch(own, 0, close_own, &reentry) == TRYGG_CANCELLED);
    CHECK(std::string(trygg_last_error()).find("closed") != std::string::npos);
    out = reinterpret_cast<char*>(1);
    Refused(trygg_case_list(own, &out), out, TRYGG_FAILED_PRECONDITION, "closed");
    trygg_session_close(own);  // a second close does nothing
  }
  // Closing a session while another thread watches on it: the watch ends
  // with CANCELLED, nothing is freed under it, later calls are refused.
  {
    trygg_session* shared = open_anna();
    struct Opened {
      std::mutex mu;
      std::condition_variable cv;
      bool open = false;
    } opened;
    const trygg_watch_fn on_open = [](void* user, const char* json) -> int {
      auto* o = static_cast<Opened*>(user);
      if (nlohmann::json::parse(json)["event"] == "open") {
        std::lock_guard<std::mutex> lock(o->mu);
        o->open = true;
        o->cv.notify_all();
      }
      return 1;
    };
    trygg_code watched = TRYGG_OK;
    std::string watch_error;
    std::thread watcher([&] {
      watched = trygg_watch(shared, 0, on_open, &opened);
      watch_error = trygg_last_error();
    });
    {
      std::unique_lock<std::mutex> lock(opened.mu);
      opened.cv.wait(lock, [&] { return opened.open; });
    }
    trygg_session_close(shared);
    watcher.join();
    CHECK(watched == TRYGG_CANCELLED);
    CHECK(watch_error.find("closed") != std::string::npos);
    out = reinterpret_cast<char*>(1);
    Refused(trygg_case_list(shared, &out), out, TRYGG_FAILED_PRECONDITION, "closed");
    CHECK(trygg_session_login(shared) == TRYGG_FAILED_PRECONDITION);
    CHECK(trygg_watch(shared, 1000, on_open, &opened) == TRYGG_FAILED_PRECONDITION);
    trygg_session_close(shared);
  }
  // Closing from several threads at once while calls run.
  {
    trygg_session* busy = open_anna();
    std::atomic<int> refused{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 3; ++i) {
      threads.emplace_back([&] {
        for (int k = 0; k < 5; ++k) {
          char* page = nullptr;
          const trygg_code code = trygg_case_list(busy, &page);
          if (code == TRYGG_FAILED_PRECONDITION) ++refused;
          trygg_free(page);
        }
      });
    }
    threads.emplace_back([&] { trygg_session_close(busy); });
    threads.emplace_back([&] { trygg_session_close(busy); });
    for (std::thread& t : threads) t.join();
    out = reinterpret_cast<char*>(1);
    Refused(trygg_case_list(busy, &out), out, TRYGG_FAILED_PRECONDITION, "closed");
  }
  trygg_session_close(anna);
  trygg_session_close(lawyer);
  trygg_free(nullptr);
  trygg_session_close(nullptr);
}

}  // namespace
}  // namespace trygg
