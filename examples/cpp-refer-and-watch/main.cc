// SPDX-License-Identifier: Apache-2.0

// A partner app in C++ over libtrygg: a caseworker's device opens a case
// from a case record (JSON), records the survivor's consent to a service,
// finds that service in the directory, refers the case sharing only the
// sections the receiver needs, and watches until the receiver answers.
//
//   TRYGG_APP_PASSPHRASE=... refer-and-watch --key-store DEVICE.keystore \
//     --server HOST:PORT --root-key HEX --case CASE.json --service legal-advice \
//     [--share needs --share person] [--note TEXT] [--seconds 60]
//
// The device must be enrolled and activated (examples/python/partner_app.py
// init/enrol/activate, or `trygg device init/enrol request/device activate`).
// A real app asks the person for the passphrase; the variable is for demos.
// Prints one line per step; exits 0 once the referral is accepted, 1 on an
// error, 2 when it was declined or no answer came in time.
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "trygg/case_client.h"
#include "trygg/case_record.h"
#include "trygg/device.h"
#include "trygg/directory_client.h"
#include "trygg/names.h"
#include "trygg/referral_client.h"
#include "trygg/referral_packet.h"

namespace {

struct Args {
  std::string key_store, server, root_key, case_file, service, note;
  std::vector<std::string> share;
  int seconds = 60;
};

int Usage() {
  std::cerr << "usage: refer-and-watch --key-store F --server HOST:PORT --root-key HEX --case CASE.json "
               "--service NAME [--share SECTION]... [--note TEXT] [--seconds N]\n"
               "  (the passphrase in TRYGG_APP_PASSPHRASE)\n";
  return 1;
}

int Fail(const std::string& step, const absl::Status& status) {
  std::cerr << "refer-and-watch: " << step << ": " << status.message() << "\n";
  return 1;
}

std::string Hex(const trygg::Id128& id) { return trygg::HexEncode(id.span()); }

}  // namespace

int main(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") return Usage(), 0;
    if (i + 1 >= argc) return Usage();
    const std::string value = argv[++i];
    if (flag == "--key-store") args.key_store = value;
    else if (flag == "--server") args.server = value;
    else if (flag == "--root-key") args.root_key = value;
    else if (flag == "--case") args.case_file = value;
    else if (flag == "--service") args.service = value;
    else if (flag == "--share") args.share.push_back(value);
    else if (flag == "--note") args.note = value;
    else if (flag == "--seconds") args.seconds = std::atoi(value.c_str());
    else return Usage();
  }
  const char* passphrase = std::getenv("TRYGG_APP_PASSPHRASE");
  if (args.key_store.empty() || args.server.empty() || args.root_key.empty() || args.case_file.empty() ||
      args.service.empty() || passphrase == nullptr) {
    return Usage();
  }

  // 1. The device's session: key store, pinned root, login.
  trygg::DeviceSessionOptions options;
  options.client.address = args.server;
  absl::StatusOr<trygg::SignPublicKey> root = trygg::SignPublicKey::FromHex(args.root_key);
  if (!root.ok()) return Fail("--root-key", root.status());
  options.client.platform_root = *root;
  absl::StatusOr<std::unique_ptr<trygg::DeviceSession>> opened =
      trygg::DeviceSession::Open(args.key_store, passphrase, options);
  if (!opened.ok()) return Fail("opening the device", opened.status());
  trygg::DeviceSession& device = **opened;
  trygg::CaseClient cases(device.client(), device.keys(), device.clock(), device.rng());
  trygg::ReferralClient referrals(device.client(), device.keys(), cases, device.clock(), device.rng());
  trygg::DirectoryClient directory(device.client(), device.keys(), device.clock(), device.rng());

  // 2. The case, sealed on this device.
  std::ifstream file(args.case_file);
  std::stringstream text;
  text << file.rdbuf();
  absl::StatusOr<trygg::v1::CaseRecord> record = trygg::CaseRecordFromJson(text.str());
  if (!record.ok()) return Fail(args.case_file, record.status());
  const std::string bytes = record->SerializeAsString();
  absl::StatusOr<trygg::Id128> case_id =
      cases.CreateCase(std::vector<uint8_t>(bytes.begin(), bytes.end()), trygg::kContentCaseRecord);
  if (!case_id.ok()) return Fail("opening the case", case_id.status());
  std::cout << "case " << Hex(*case_id) << " opened" << std::endl;

  // 3. The service, from the verified directory.
  const std::optional<uint8_t> service = trygg::ServiceCategoryFromName(args.service);
  if (!service.has_value()) return Fail("--service", absl::InvalidArgumentError("unknown service " + args.service));
  trygg::ListingQuery query;
  query.category = *service;
  absl::StatusOr<trygg::ListingResults> found = directory.Search(query);
  if (!found.ok()) return Fail("searching the directory", found.status());
  if (found->listings.empty()) return Fail("searching the directory", absl::NotFoundError("no " + args.service));
  const trygg::VerifiedListing& listing = found->listings.front();
  std::cout << "listing " << Hex(listing.listing.listing_id) << " of organisation " << Hex(listing.listing.org_id)
            << std::endl;

  // 4. The survivor's consent to this receiver and service, then the referral.
  trygg::ConsentTerms terms;
  terms.case_id = *case_id;
  terms.to_org = listing.listing.org_id;
  terms.services = trygg::ServiceBit(*service);
  terms.expires_at_ms = device.clock().NowUnixMillis() + 30LL * 24 * 3600 * 1000;
  const std::string evidence = "Consent given in person, with an interpreter";
  terms.evidence.assign(evidence.begin(), evidence.end());
  absl::StatusOr<trygg::Id128> consent = referrals.RecordConsent(terms);
  if (!consent.ok()) return Fail("recording consent", consent.status());
  trygg::ReferralRequest request;
  request.case_id = *case_id;
  request.listing_id = listing.listing.listing_id;
  request.consent_id = *consent;
  request.share = args.share;
  request.note = args.note;
  absl::StatusOr<trygg::ReferralDraft> draft = trygg::PrepareReferral(cases, directory, request);
  if (!draft.ok()) return Fail("preparing the referral", draft.status());
  absl::StatusOr<trygg::Id128> referral_id = referrals.Refer(*draft);
  if (!referral_id.ok()) return Fail("referring", referral_id.status());
  std::cout << "referral " << Hex(*referral_id) << " sent" << std::endl;

  // 5. Watch until the receiver answers (ids and states only: no personal data).
  std::string answer;
  const int64_t deadline = device.clock().NowUnixMillis() + int64_t{args.seconds} * 1000;
  absl::Status watched = referrals.Watch(
      [&](const trygg::ReferralNotice& notice) {
        if (notice.referral_id != *referral_id) return true;
        answer = std::string(trygg::ReferralStatusName(static_cast<uint8_t>(notice.state)));
        std::cout << "referral " << Hex(notice.referral_id) << " is " << answer << std::endl;
        return answer == "sent";
      },
      deadline, [] { std::cout << "watching" << std::endl; });
  if (!watched.ok()) return Fail("watching", watched);
  // What the watch saw, checked against the verified referral itself.
  absl::StatusOr<trygg::ReferralView> view = referrals.Get(*referral_id);
  if (!view.ok()) return Fail("reading the referral", view.status());
  const std::string state(trygg::ReferralStatusName(static_cast<uint8_t>(view->state)));
  std::cout << "verified: " << state << " by " << view->to_org_name << std::endl;
  return state == "accepted" ? 0 : 2;
}
