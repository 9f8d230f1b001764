// SPDX-License-Identifier: Apache-2.0

#include "server/api/convert.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace trygg::api {
namespace {

absl::Status BadToken() { return absl::InvalidArgumentError("page_token is not one this server issued"); }

}  // namespace

void TimeToProto(int64_t unix_ms, google::protobuf::Timestamp* out) {
  int64_t seconds = unix_ms / 1000;
  int64_t millis = unix_ms % 1000;
  if (millis < 0) {
    millis += 1000;
    seconds -= 1;
  }
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(millis * 1'000'000));
}

absl::StatusOr<Id128> IdFromProto(const std::string& bytes, absl::string_view field) {
  absl::StatusOr<Id128> id = Id128::FromSpan(AsSpan(bytes));
  if (!id.ok()) return absl::InvalidArgumentError(absl::StrCat(field, " must be 16 bytes"));
  return id;
}

absl::StatusOr<SignedObject> SignedFromProto(const trygg::v1::SignedBlob& blob, absl::string_view field) {
  SignedObject object;
  absl::StatusOr<Signature> signature = Signature::FromSpan(AsSpan(blob.signature()));
  if (!signature.ok()) return absl::InvalidArgumentError(absl::StrCat(field, ".signature must be 64 bytes"));
  if (blob.bytes().empty()) return absl::InvalidArgumentError(absl::StrCat(field, ".bytes is empty"));
  object.signature = *signature;
  object.bytes.assign(blob.bytes().begin(), blob.bytes().end());
  return object;
}

void SignedToProto(const SignedObject& object, std::span<const uint8_t> signer_id, trygg::v1::SignedBlob* blob) {
  blob->set_bytes(BytesToProto(object.bytes));
  blob->set_signature(BytesToProto(object.signature.span()));
  blob->set_signer_id(BytesToProto(signer_id));
}

absl::StatusOr<int> PageSize(int requested, int default_size, int max_size) {
  if (requested < 0) return absl::InvalidArgumentError("page_size must not be negative");
  if (requested == 0) return default_size;
  return std::min(requested, max_size);
}

std::string IdPageToken(const Id128& last) { return HexEncode(last.span()); }

absl::StatusOr<Id128> IdFromPageToken(const std::string& token) {
  if (token.empty()) return Id128();
  absl::StatusOr<std::vector<uint8_t>> raw = HexDecode(token);
  if (!raw.ok()) return BadToken();
  absl::StatusOr<Id128> id = Id128::FromSpan(*raw);
  if (!id.ok()) return BadToken();
  return id;
}

std::string SeqPageToken(uint64_t next_seq) { return absl::StrCat("s", next_seq); }

absl::StatusOr<uint64_t> SeqFromPageToken(const std::string& token, uint64_t if_empty) {
  if (token.empty()) return if_empty;
  uint64_t seq = 0;
  if (token[0] != 's' || !absl::SimpleAtoi(absl::string_view(token).substr(1), &seq)) return BadToken();
  // SimpleAtoi also takes "+5", " 5" and "05": only the token SeqPageToken
  // makes names a position (found by tests/fuzz/page_token_fuzz.cc).
  if (token != SeqPageToken(seq)) return BadToken();
  return seq;
}

}  // namespace trygg::api
