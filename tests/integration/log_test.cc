// SPDX-License-Identifier: Apache-2.0

// tryggd --log-format json end to end: a real flow with real secrets (a
// bearer token, sealed case records and grants, the plaintext they seal),
// then every line of the log must be a JSON object, the calls that sent a
// request_id must be found by it, and no secret may appear in any form
// (as text, hex or base64). tryggd never receives a key store passphrase
// (it stays on the device), so the log cannot hold one and is not searched
// for it.
#include <signal.h>
#include <sodium.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cctype>
#include <cstring>
#include <span>
#include <sstream>

#include <grpcpp/grpcpp.h>
#include <nlohmann/json.hpp>

#include "testing/db_edit.h"
#include "testing/trust_world.h"
#include "trygg/bytes.h"
#include "trygg/case_client.h"
#include "trygg/signing.h"
#include "trygg/v1/case.grpc.pb.h"
#include "trygg/v1/session.grpc.pb.h"

namespace trygg {
namespace {

using testing::TestDevice;
using testing::TrustWorld;

constexpr std::string_view kFirstRecord = "Namn: Elena Vasilescu; personnummer 19990101-2389; tvångsarbete i bageri";
constexpr std::string_view kSecondRecord = "Behöver tolk på rumänska och skyddat boende i Malmö";
constexpr char kGoodRequestId[] = "logtest-resend-grant-7";
constexpr char kRefusedRequestId[] = "logtest-bad-case-id-8";

std::vector<uint8_t> LogTestBytes(std::string_view s) { return {s.begin(), s.end()}; }
std::string LogTestString(const std::vector<uint8_t>& v) { return {v.begin(), v.end()}; }

std::string Base64(std::span<const uint8_t> bytes, int variant) {
  std::string out(sodium_base64_encoded_len(bytes.size(), variant), '\0');
  sodium_bin2base64(out.data(), out.size(), bytes.data(), bytes.size(), variant);
  out.resize(std::strlen(out.c_str()));
  return out;
}

// `secret` as text, lower and upper hex, and base64 (standard and URL-safe,
// padded or not) of a prefix whose length is a multiple of 3, so that it is a
// prefix of the base64 of the whole.
std::vector<std::string> Forms(std::span<const uint8_t> secret) {
  std::vector<std::string> forms;
  const std::span<const uint8_t> prefix = secret.first(std::min<size_t>(secret.size(), 24));
  const std::span<const uint8_t> aligned = prefix.first(prefix.size() - prefix.size() % 3);
  std::string hex = HexEncode(prefix);
  forms.push_back(hex);
  for (char& c : hex) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  forms.push_back(hex);
  for (int variant : {sodium_base64_VARIANT_ORIGINAL, sodium_base64_VARIANT_URLSAFE_NO_PADDING}) {
    forms.push_back(Base64(aligned, variant));
  }
  return forms;
}

// Logs in through the raw RPCs, as a client would, so that the test knows the
// bearer token it must never find in the log.
std::string RawLogin(const TestDevice& device, const std::shared_ptr<grpc::Channel>& channel) {
  auto stub = trygg::v1::SessionService::NewStub(channel);
  const std::string device_id(device.keys.device_id.span().begin(), device.keys.device_id.span().end());
  grpc::ClientContext challenge_context;
  trygg::v1::GetChallengeRequest challenge_request;
  challenge_request.set_device_id(device_id);
  trygg::v1::GetChallengeResponse challenge;
  REQUIRE(stub->GetChallenge(&challenge_context, challenge_request, &challenge).ok());
  const std::vector<uint8_t> challenge_bytes = LogTestBytes(challenge.challenge());
  const Signature signature = Sign(device.keys.device.signing(), SigningContext::kSession, challenge_bytes);
  grpc::ClientContext session_context;
  trygg::v1::CreateSessionRequest session_request;
  session_request.set_device_id(device_id);
  session_request.mutable_signed_challenge()->set_bytes(challenge.challenge());
  session_request.mutable_signed_challenge()->set_signature(
      std::string(signature.span().begin(), signature.span().end()));
  session_request.mutable_signed_challenge()->set_signer_id(device_id);
  trygg::v1::CreateSessionResponse session;
  grpc::Status status = stub->CreateSession(&session_context, session_request, &session);
  INFO(status.error_message());
  REQUIRE(status.ok());
  REQUIRE(session.token().size() == 64);
  return session.token();
}

std::string TrailingRequestId(const grpc::ClientContext& context) {
  const auto& trailing = context.GetServerTrailingMetadata();
  auto it = trailing.find("x-request-id");
  return it == trailing.end() ? std::string() : std::string(it->second.data(), it->second.size());
}

TEST_CASE("the JSON log is one object a line, carries request ids and nothing secret", "[logging]") {
  TrustWorld world({"--log-format", "json"});
  REQUIRE(world.ok());
  TestDevice& shelter = world.AdmitOrganisation("Loggjouren Syd");
  TestDevice& anna = world.AddDevice(shelter, Role::kCaseworker);
  CaseClient cases{*anna.client, anna.keys, world.clock(), world.rng()};
  auto case_id = cases.CreateCase(LogTestBytes(kFirstRecord), 1);
  REQUIRE(case_id.ok());
  REQUIRE(cases.AppendVersion(*case_id, LogTestBytes(kSecondRecord), 1).ok());
  REQUIRE(LogTestString(cases.ReadCase(*case_id)->versions[0].plaintext) == kFirstRecord);

  auto channel = grpc::CreateChannel(world.address(), grpc::InsecureChannelCredentials());
  const std::string token = RawLogin(anna, channel);
  auto case_stub = trygg::v1::CaseService::NewStub(channel);
  auto authorised = [&](grpc::ClientContext& context) { context.AddMetadata("authorization", "Bearer " + token); };

  grpc::ClientContext get_context;
  authorised(get_context);
  trygg::v1::GetCaseRequest get;
  get.set_case_id(std::string(case_id->span().begin(), case_id->span().end()));
  trygg::v1::GetCaseResponse got;
  REQUIRE(case_stub->GetCase(&get_context, get, &got).ok());
  REQUIRE(got.grants_size() >= 1);

  // A resent grant is accepted unchanged: a successful write with a request_id.
  {
    grpc::ClientContext context;
    authorised(context);
    trygg::v1::PutGrantsRequest put;
    put.set_request_id(kGoodRequestId);
    put.set_case_id(get.case_id());
    *put.add_grants() = got.grants(0);
    trygg::v1::PutGrantsResponse reply;
    grpc::Status status = case_stub->PutGrants(&context, put, &reply);
    INFO(status.error_message());
    CHECK(status.ok());
    CHECK(TrailingRequestId(context) == kGoodRequestId);
  }
  // A refused one carries its request_id back too.
  {
    grpc::ClientContext context;
    authorised(context);
    trygg::v1::PutGrantsRequest put;
    put.set_request_id(kRefusedRequestId);
    put.set_case_id("short");
    trygg::v1::PutGrantsResponse reply;
    CHECK(case_stub->PutGrants(&context, put, &reply).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(TrailingRequestId(context) == kRefusedRequestId);
  }
  // A request_id that is not printable ASCII, or too long, is refused before
  // anything else and is not echoed.
  for (const std::string& bad : {std::string("logtest\nforged-line"), std::string(129, 'r')}) {
    grpc::ClientContext context;
    authorised(context);
    trygg::v1::PutGrantsRequest put;
    put.set_request_id(bad);
    put.set_case_id(get.case_id());
    *put.add_grants() = got.grants(0);
    trygg::v1::PutGrantsResponse reply;
    grpc::Status status = case_stub->PutGrants(&context, put, &reply);
    CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(status.error_message().find("request_id") != std::string::npos);
    CHECK(TrailingRequestId(context).empty());
  }

  // What the server stored: ciphertext only, which must not reach the log.
  std::vector<std::vector<uint8_t>> ciphertexts;
  for (const char* sql : {"SELECT body FROM case_versions", "SELECT wrapped_dek FROM case_versions",
                          "SELECT sealed FROM grants"}) {
    for (auto& blob : testing::QueryBlobs(world.db_path(), sql)) ciphertexts.push_back(std::move(blob));
  }
  REQUIRE(ciphertexts.size() >= 5);

  testing::ExitResult exit = world.server().Stop(SIGTERM);
  CHECK(exit.code == 0);
  const std::string& log = exit.stderr_text;

  int lines = 0;
  int rpc_lines = 0;
  bool good_id_logged = false;
  bool refused_id_logged = false;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) {
    INFO(line);
    ++lines;
    nlohmann::json object;
    REQUIRE_NOTHROW(object = nlohmann::json::parse(line));
    REQUIRE(object.is_object());
    CHECK(object.at("time").is_string());
    CHECK(object.at("level").is_string());
    CHECK(object.at("event").is_string());
    if (object.at("event") != "rpc") continue;
    ++rpc_lines;
    CHECK(object.at("method").is_string());
    CHECK(object.at("status").is_string());
    CHECK(object.at("duration_ms").is_number());
    if (object.contains("request_id")) {
      const std::string id = object.at("request_id");
      CHECK(id.find("forged") == std::string::npos);
      if (id == kGoodRequestId) {
        good_id_logged = object.at("method") == "/trygg.v1.CaseService/PutGrants" && object.at("status") == "OK";
      }
      if (id == kRefusedRequestId) refused_id_logged = object.at("status") == "INVALID_ARGUMENT";
    }
  }
  CHECK(lines > rpc_lines);
  CHECK(rpc_lines >= 10);
  CHECK(good_id_logged);
  CHECK(refused_id_logged);
  CHECK(log.find("\"method\":\"/trygg.v1.CaseService/CreateCase\",\"status\":\"OK\"") != std::string::npos);
  // The line break in the refused request_id did not start a line of its own.
  CHECK(log.find("forged-line") == std::string::npos);

  std::vector<std::string> secrets = {token, std::string(kFirstRecord), std::string(kSecondRecord),
                                      "Elena Vasilescu", "19990101-2389", "rumänska"};
  std::vector<std::vector<uint8_t>> binary = ciphertexts;
  binary.push_back(*HexDecode(token));
  binary.push_back(LogTestBytes(kFirstRecord));
  binary.push_back(LogTestBytes(kSecondRecord));
  const auto& seed = anna.keys.device.signing().secret_key;
  binary.emplace_back(seed.data(), seed.data() + 32);
  for (const auto& bytes : binary) {
    for (std::string& form : Forms(bytes)) secrets.push_back(std::move(form));
  }
  for (const std::string& secret : secrets) {
    INFO(secret);
    CHECK(log.find(secret) == std::string::npos);
  }
}

}  // namespace
}  // namespace trygg
