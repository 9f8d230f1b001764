// SPDX-License-Identifier: Apache-2.0

#include "tools/trygg-audit/state.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "trygg/atomic_file.h"
#include "trygg/status_macros.h"

namespace trygg::audit_tool {

std::string DefaultStatePath() {
  const char* state_home = std::getenv("XDG_STATE_HOME");
  if (state_home != nullptr && *state_home != '\0') {
    return absl::StrCat(state_home, "/trygg/audit-head.json");
  }
  const char* home = std::getenv("HOME");
  return absl::StrCat(home != nullptr ? home : ".", "/.local/state/trygg/audit-head.json");
}

absl::StatusOr<AuditorState> LoadState(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    if (errno == ENOENT) return absl::NotFoundError(absl::StrCat("no saved tree head at ", path));
    return absl::FailedPreconditionError(absl::StrCat("cannot read ", path, ": ", std::strerror(errno)));
  }
  const absl::Status bad = absl::FailedPreconditionError(
      absl::StrCat(path, " is not a trygg-audit state file; move it away to start afresh"));
  nlohmann::json json = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object() || !json.contains("tree_head") || !json.contains("signature") ||
      !json.contains("server_key") || !json["tree_head"].is_string() ||
      !json["signature"].is_string() || !json["server_key"].is_string()) {
    return bad;
  }
  absl::StatusOr<std::vector<uint8_t>> head_bytes = HexDecode(json["tree_head"].get<std::string>());
  absl::StatusOr<std::vector<uint8_t>> signature = HexDecode(json["signature"].get<std::string>());
  absl::StatusOr<std::vector<uint8_t>> key = HexDecode(json["server_key"].get<std::string>());
  if (!head_bytes.ok() || !signature.ok() || !key.ok()) return bad;
  absl::StatusOr<audit::TreeHead> head = audit::DecodeTreeHead(*head_bytes);
  absl::StatusOr<Signature> sig = Signature::FromSpan(*signature);
  absl::StatusOr<SignPublicKey> server_key = SignPublicKey::FromSpan(*key);
  if (!head.ok() || !sig.ok() || !server_key.ok()) return bad;
  AuditorState state;
  state.server = json.value("server", "");
  state.server_key = *server_key;
  state.head = audit::SignedTreeHead{*head, *sig};
  // The file is only as trustworthy as its signature: re-check it, so an
  // edited state file cannot make a rewritten log pass.
  TRYGG_RETURN_IF_ERROR(audit::VerifyTreeHeadSignature(state.head, state.server_key));
  return state;
}

absl::Status SaveState(const std::string& path, const AuditorState& state) {
  const audit::EncodedTreeHead bytes = audit::EncodeTreeHead(state.head.head);
  nlohmann::json json = {
      {"server", state.server},
      {"server_key", HexEncode(state.server_key.span())},
      {"tree_size", state.head.head.tree_size},
      {"timestamp_ms", state.head.head.timestamp_ms},
      {"root_hash", state.head.head.root_hash.ToHex()},
      {"tree_head", HexEncode(bytes)},
      {"signature", HexEncode(state.head.signature.span())},
  };
  const std::string text = json.dump(2) + "\n";
  std::error_code ec;
  const std::filesystem::path target(path);
  if (target.has_parent_path()) std::filesystem::create_directories(target.parent_path(), ec);
  absl::Status written = WriteFileAtomically(
      target, std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()), IfExists::kReplace);
  if (!written.ok()) return absl::FailedPreconditionError(written.message());
  return absl::OkStatus();
}

}  // namespace trygg::audit_tool
