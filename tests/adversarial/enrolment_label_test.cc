// SPDX-License-Identifier: Apache-2.0

// Enrolment labels (issue 11): the label of an enrolment request is written by
// whoever holds the new device and read by the admin who approves it. A
// hostile device signs its own request by hand (libtrygg's signer refuses to)
// and sends it through the raw gRPC stub to a real tryggd; the server must
// refuse it with INVALID_ARGUMENT and store nothing. A hostile server that
// plants such a request in its database cannot get it shown either.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "testing/db_edit.h"
#include "testing/trust_world.h"
#include "trygg/bytes.h"
#include "trygg/crypto_error.h"
#include "trygg/label.h"
#include "trygg/membership.h"
#include "trygg/signing.h"
#include "trygg/trust.h"
#include "trygg/v1/trust.grpc.pb.h"

namespace trygg::adversarial_enrolment_label {
namespace {

using testing::Exec;
using testing::QueryInt;
using testing::TestDevice;
using testing::TrustWorld;

std::string Str(std::span<const uint8_t> bytes) { return {bytes.begin(), bytes.end()}; }

// protocol.md 11.3, written without libtrygg's serializer (which would refuse
// the label), then signed with the device's own key: what a modified client sends.
SignedObject HandMadeRequest(const Id128& org_id, const Id128& device_id, const DeviceKeys& keys,
                             std::string_view label) {
  std::vector<uint8_t> bytes = {'T', 'E', 'R', '1', 0x01};
  bytes.insert(bytes.end(), org_id.span().begin(), org_id.span().end());
  bytes.insert(bytes.end(), device_id.span().begin(), device_id.span().end());
  const auto sign_pk = keys.signing().public_key.span();
  const auto box_pk = keys.box().public_key.span();
  bytes.insert(bytes.end(), sign_pk.begin(), sign_pk.end());
  bytes.insert(bytes.end(), box_pk.begin(), box_pk.end());
  bytes.push_back(static_cast<uint8_t>(Role::kOrgAdmin));
  for (int i = 0; i < 8; ++i) bytes.push_back(i == 7 ? 1 : 0);  // created_at = 1
  bytes.push_back(static_cast<uint8_t>(label.size() >> 8));
  bytes.push_back(static_cast<uint8_t>(label.size()));
  bytes.insert(bytes.end(), label.begin(), label.end());
  SignedObject out;
  out.bytes = bytes;
  out.signature = Sign(keys.signing(), SigningContext::kEnrolment, out.bytes);
  return out;
}

// Sends `request` to the server directly, bypassing the client's own parse.
grpc::StatusCode RawSubmit(TrustWorld& world, const Id128& org_id, const SignedObject& request) {
  auto stub = trygg::v1::TrustService::NewStub(grpc::CreateChannel(world.address(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  trygg::v1::SubmitEnrolmentRequestRequest out;
  out.set_org_id(Str(org_id.span()));
  out.mutable_request()->set_bytes(Str(request.bytes));
  out.mutable_request()->set_signature(Str(request.signature.span()));
  trygg::v1::SubmitEnrolmentRequestResponse response;
  return stub->SubmitEnrolmentRequest(&context, out, &response).error_code();
}

struct LabelWorld {
  TrustWorld world;
  TestDevice& admin = world.AdmitOrganisation("Kvinnojouren Väst");
  DeviceKeys keys = DeviceKeys::Generate(world.rng());
  uint8_t next_device = 0x40;

  EnrolmentRequest Request(std::string label) {
    EnrolmentRequest request;
    request.org_id = admin.keys.org_id;
    request.device_id = Id128(std::array<uint8_t, 16>{0x77, ++next_device});
    request.sign_key = keys.signing().public_key;
    request.box_key = keys.box().public_key;
    request.requested_role = Role::kOrgAdmin;
    request.created_at_ms = 1;
    request.label = std::move(label);
    return request;
  }

  // The whole attack for one label: libtrygg will not make the request, a
  // hand-made one is refused by the server (and by the client's own submit),
  // and nothing reaches the database or the admin.
  void CheckRefused(const std::string& label) {
    INFO("label bytes " << HexEncode(AsBytes(label)));
    EnrolmentRequest request = Request(label);
    CHECK(SignEnrolmentRequest(request, keys.signing()).status().code() == absl::StatusCode::kInvalidArgument);
    const SignedObject hand_made = HandMadeRequest(request.org_id, request.device_id, keys, label);
    CHECK(GetCryptoError(VerifyEnrolmentRequest(hand_made).status()) == CryptoError::kMalformed);
    CHECK(RawSubmit(world, request.org_id, hand_made) == grpc::StatusCode::INVALID_ARGUMENT);
    auto client = world.NewClient();
    CHECK(client->SubmitEnrolment(hand_made).status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(QueryInt(world.db_path(), "SELECT count(*) FROM enrolments") == 0);
    auto pending = admin.client->ListEnrolments();
    REQUIRE(pending.ok());
    CHECK(pending->empty());
  }
};

TEST_CASE("a device cannot put terminal escape sequences in front of the approving admin",
          "[adversarial][enrolment]") {
  LabelWorld w;
  // Clear the screen and print a fake "safety number matches" line; move the
  // cursor up to overwrite the real safety number; an OSC 8 hyperlink.
  for (const std::string& label : {std::string("\x1b[2J\x1b[Hsafety number matches"),
                                  std::string("Anna's laptop\x1b[1A\x1b[2K"),
                                  std::string("\x1b]8;;https://evil.example\x07laptop\x1b]8;;\x07"),
                                  std::string("Anna\rBen"), std::string("Anna\nrole: caseworker"),
                                  std::string("Anna\0Ben", 8)}) {
    w.CheckRefused(label);
  }
}

TEST_CASE("a device cannot send a label of invalid UTF-8", "[adversarial][enrolment]") {
  LabelWorld w;
  for (const std::string& label : {std::string("laptop \xff"),        // never a UTF-8 byte
                                  std::string("\xc0\xaf"),          // overlong "/"
                                  std::string("\xe0\x80\xaf"),      // overlong, 3 bytes
                                  std::string("\xed\xa0\x80"),      // a surrogate
                                  std::string("\xf4\x90\x80\x80"),  // past U+10FFFF
                                  std::string("Anna \xe2\x82"),     // cut inside a character
                                  std::string("\x80laptop")}) {     // a lone continuation byte
    w.CheckRefused(label);
  }
}

TEST_CASE("a device cannot hide C1 control characters or DEL in its label", "[adversarial][enrolment]") {
  LabelWorld w;
  for (const std::string& label : {std::string("laptop\x7f\x7f\x7f"),
                                  std::string("\xc2\x9b" "2J"),  // C1 CSI, which some terminals obey
                                  std::string("\xc2\x85" "next line"), std::string("\xc2\x80")}) {
    w.CheckRefused(label);
  }
}

TEST_CASE("a device cannot spoof what its label reads with bidi overrides or isolates",
          "[adversarial][enrolment]") {
  LabelWorld w;
  // "Anna's laptop" with RLO: displays reversed text, e.g. a label that shows
  // another colleague's name; then each embedding, override and isolate.
  w.CheckRefused("Anna's \xe2\x80\xae" "potpal");
  for (const std::string bidi : {"\xe2\x80\xaa", "\xe2\x80\xab", "\xe2\x80\xac", "\xe2\x80\xad", "\xe2\x81\xa6",
                                 "\xe2\x81\xa7", "\xe2\x81\xa8", "\xe2\x81\xa9"}) {
    w.CheckRefused("laptop " + bidi);
  }
}

TEST_CASE("a device cannot send a label over 64 characters, though 64 of any script pass",
          "[adversarial][enrolment]") {
  LabelWorld w;
  w.CheckRefused(std::string(65, 'a'));
  std::string long_swedish;
  for (int i = 0; i < 65; ++i) long_swedish += "å";
  w.CheckRefused(long_swedish);

  // The limit counts characters, not bytes: 64 four-byte characters (256 bytes) pass.
  std::string emoji;
  for (int i = 0; i < 64; ++i) emoji += "\xf0\x9f\x92\xbb";  // U+1F4BB PERSONAL COMPUTER
  std::string arabic;
  for (int i = 0; i < 32; ++i) arabic += "\xd9\x84\xd8\xa7";  // lam alef, right-to-left without overrides
  for (const std::string& fine : {std::string(64, 'a'), emoji, arabic, std::string("Annas bärbara dator")}) {
    auto client = w.world.NewClient();
    EnrolmentRequest request = w.Request(fine);
    auto signed_request = SignEnrolmentRequest(request, w.keys.signing());
    REQUIRE(signed_request.ok());
    CHECK(client->SubmitEnrolment(*signed_request).ok());
  }
  auto pending = w.admin.client->ListEnrolments();
  REQUIRE(pending.ok());
  CHECK(pending->size() == 4);
  CHECK(QueryInt(w.world.db_path(), "SELECT count(*) FROM enrolments") == 4);
}

TEST_CASE("a server that plants a request with a hostile label cannot get it shown to the admin",
          "[adversarial][enrolment][malicious]") {
  LabelWorld w;
  // The server makes up a device and signs a request with an escape sequence
  // (it holds no device key of the organisation, but it can make new ones).
  const EnrolmentRequest request = w.Request("ok");
  const SignedObject planted = HandMadeRequest(request.org_id, request.device_id, w.keys, "\x1b[2Jtrust me");
  Exec(w.world.db_path(), "INSERT INTO enrolments VALUES (x'" + std::string(32, '5') + "', x'" +
                              HexEncode(request.org_id.span()) + "', x'" + HexEncode(request.device_id.span()) +
                              "', x'" + HexEncode(planted.bytes) + "', x'" + HexEncode(planted.signature.span()) +
                              "', 1)");
  auto pending = w.admin.client->ListEnrolments();
  REQUIRE_FALSE(pending.ok());
  CHECK(GetCryptoError(pending.status()) == CryptoError::kMalformed);
  CHECK(std::string(pending.status().message()).find('\x1b') == std::string::npos);
}

TEST_CASE("text the CLI prints cannot carry an escape, a bidi override or a forged escape",
          "[adversarial][enrolment]") {
  // What `trygg enrol list` and `enrol approve` print a label through.
  CHECK(EscapeForTerminal("Anna's laptop") == "Anna's laptop");
  CHECK(EscapeForTerminal("Annas bärbara dator \xf0\x9f\x92\xbb") == "Annas bärbara dator \xf0\x9f\x92\xbb");
  CHECK(EscapeForTerminal("\x1b[2J") == "\\u{001B}[2J");
  CHECK(EscapeForTerminal("a\xe2\x80\xae" "b") == "a\\u{202E}b");
  CHECK(EscapeForTerminal("\xc2\x9b") == "\\u{009B}");
  CHECK(EscapeForTerminal("\xff\xc0\xaf") == "\\xFF\\xC0\\xAF");
  CHECK(EscapeForTerminal("x\xe2\x82") == "x\\xE2\\x82");
  CHECK(EscapeForTerminal(std::string("a\0b", 3)) == "a\\u{0000}b");
  // A backslash is doubled, so "\u{001B}" typed into a label cannot pass for an escaped byte.
  CHECK(EscapeForTerminal("\\u{001B}") == "\\\\u{001B}");
  // Whatever the input, the output is printable ASCII or printable UTF-8 only.
  std::string every_byte;
  for (int b = 0; b < 256; ++b) every_byte.push_back(static_cast<char>(b));
  const std::string escaped = EscapeForTerminal(every_byte);
  CHECK(CheckLabel(escaped, escaped.size(), "escaped").ok());
}

}  // namespace
}  // namespace trygg::adversarial_enrolment_label
