// SPDX-License-Identifier: Apache-2.0

// trygg-audit: checks a Trygg server's audit log and reports coordinator
// statistics from it. Argument parsing and output only; the checks are
// server/audit/ (verify.h, log_diagnosis.h, statistics.h) and bisect.h. Online commands
// sign in with a device's key store and the pinned platform root, read from
// flags or trygg's config file (tools/trygg/settings.h); verify and stats
// read every entry, so they need a coordinator's key store.
//
// Exit status: 0 verified / done, 1 could not check (network, file, key),
// 2 usage error, 3 the log failed verification (tampering or a fork: the
// output says what and at which index).
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "trygg/audit/audit_entry.h"
#include "trygg/audit/log_diagnosis.h"
#include "server/audit/statistics.h"
#include "server/audit/statistics_report.h"
#include "server/store/sqlite/audit_reader.h"
#include "trygg/audit/tree_frontier.h"
#include "trygg/audit/verify.h"
#include "cli_support.h"
#include "session.h"
#include "settings.h"
#include "tools/trygg-audit/bisect.h"
#include "tools/trygg-audit/log_source.h"
#include "tools/trygg-audit/state.h"
#include "trygg/atomic_file.h"
#include "trygg/audit/restore_notice.h"
#include "trygg/status_macros.h"

namespace trygg::audit_tool {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitError = 1;
constexpr int kExitUsage = 2;
constexpr int kExitFailed = 3;
// The log does not extend the saved head, and the operator's signed restore
// notice explains why: a restore, not silent tampering.
constexpr int kExitRestored = 4;
// A notice file is a few hundred bytes; anything much larger is not one.
constexpr size_t kMaxNoticeFileBytes = 64 * 1024;

struct Common {
  // --server, --tls-roots, --root-key and --keystore; what is not given comes
  // from trygg's config file, as for `trygg`.
  cli::GlobalFlags global;
  std::string server_key_hex;
  std::string state_path = DefaultStatePath();
  // The operator's restore notice file (`tryggd restore` writes it).
  std::string restore_notice;
  bool json = false;
};

int Error(const absl::Status& status) {
  std::fprintf(stderr, "trygg-audit: %s\n", std::string(status.message()).c_str());
  return kExitError;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

absl::StatusOr<SignPublicKey> ParseKey(const std::string& hex) {
  absl::StatusOr<std::vector<uint8_t>> bytes = HexDecode(hex);
  if (!bytes.ok() || bytes->size() != SignPublicKey::kSize) {
    return absl::InvalidArgumentError("--server-key must be 64 hex digits (an Ed25519 public key)");
  }
  return SignPublicKey::FromSpan(*bytes);
}

// A signed-in connection for the commands that ask the server: the audit
// RPCs need a session. `whole_log`: the command reads every entry, which
// only a coordinator may.
struct Online {
  std::string server;
  std::unique_ptr<cli::Session> session;
  std::unique_ptr<ServerLog> log;
};

absl::StatusOr<Online> SignIn(const Common& c, bool whole_log) {
  TRYGG_ASSIGN_OR_RETURN(cli::Settings settings, cli::ResolveSettings(c.global));
  Online online;
  online.server = settings.server;
  TRYGG_ASSIGN_OR_RETURN(online.session, cli::OpenSession(settings));
  if (whole_log && online.session->login.role != Role::kCoordinator) {
    return absl::PermissionDeniedError(absl::StrCat(
        "this command reads every audit entry, and only a coordinator may; the key store ",
        settings.keystore.string(), " belongs to a device of organisation ",
        HexEncode(online.session->login.org_id.span()),
        " (a coordinator's comes from `trygg device init --coordinator`)"));
  }
  online.log = std::make_unique<ServerLog>(*online.session->client);
  return online;
}

// The key tree heads must be signed with: the server key the pinned platform
// root certified (libtrygg verifies the certificate), or the one given with
// --server-key, which must then be that same key if the server has one. A
// server with no root-certified key and no --server-key is refused: a key
// it announces about itself proves nothing.
absl::StatusOr<SignPublicKey> ResolveKey(const Common& c, Client& client) {
  TRYGG_ASSIGN_OR_RETURN(ServerInfo info, client.GetServerInfo());
  std::optional<SignPublicKey> certified;
  if (info.server_certificate.has_value()) certified = info.server_certificate->sign_key;
  if (!c.server_key_hex.empty()) {
    TRYGG_ASSIGN_OR_RETURN(SignPublicKey given, ParseKey(c.server_key_hex));
    if (certified.has_value() && *certified != given) {
      return absl::FailedPreconditionError(absl::StrCat(
          "--server-key differs from the server key the platform root certified, ",
          HexEncode(certified->span())));
    }
    return given;
  }
  if (!certified.has_value()) {
    return absl::FailedPreconditionError(
        "the server presents no certificate from the pinned platform root, so its tree heads prove "
        "nothing; have the root holder run `trygg-admin certify-server`, or pass --server-key HEX "
        "obtained from the operator out of band");
  }
  return *certified;
}

std::function<void(uint64_t)> Progress(uint64_t total) {
  return [total, last = uint64_t{0}](uint64_t done) mutable {
    if (done - last >= 50'000 || (done == total && total >= 50'000)) {
      std::fprintf(stderr, "trygg-audit: fetched %llu of %llu entries\n",
                   static_cast<unsigned long long>(done), static_cast<unsigned long long>(total));
      last = done;
    }
  };
}

nlohmann::json HeadJson(const audit::TreeHead& head) {
  return {{"tree_size", head.tree_size},
          {"timestamp_ms", head.timestamp_ms},
          {"root_hash", head.root_hash.ToHex()}};
}

nlohmann::json FindingJson(const audit::LogFinding& f) {
  return {{"kind", std::string(audit::LogFindingKindName(f.kind))},
          {"index", f.index},
          {"other_index", f.other_index},
          {"count", f.count},
          {"message", f.message}};
}

// Prints the outcome of a whole-log check and returns the exit status.
int Report(const Common& c, const char* what, const audit::LogDiagnosis& d,
           const std::optional<audit::TreeHead>& head, const std::vector<std::string>& notes) {
  if (c.json) {
    nlohmann::json json = {{"ok", d.ok()},
                           {"check", what},
                           {"entries", d.entry_count},
                           {"root_hash", d.root.ToHex()},
                           {"notes", notes}};
    json["signed_head"] = head ? HeadJson(*head) : nlohmann::json(nullptr);
    nlohmann::json findings = nlohmann::json::array();
    for (const audit::LogFinding& f : d.findings) findings.push_back(FindingJson(f));
    json["findings"] = findings;
    std::cout << json.dump(2) << "\n";
  } else {
    for (const std::string& note : notes) std::cout << "note: " << note << "\n";
    if (d.ok()) {
      std::cout << "OK: " << d.entry_count << " entries, root " << d.root.ToHex();
      if (head) {
        std::cout << ", match the signed tree head of size " << head->tree_size << " (signed at "
                  << cli::FormatLocalTime(head->timestamp_ms) << ")";
      }
      std::cout << "\n";
    } else {
      for (const audit::LogFinding& f : d.findings) {
        std::cout << (f.kind == audit::LogFinding::Kind::kCaseFork ? "FORK: " : "TAMPERED: ") << f.message << "\n";
      }
    }
  }
  return d.ok() ? kExitOk : kExitFailed;
}

int Verify(const Common& c) {
  absl::StatusOr<Online> online = SignIn(c, /*whole_log=*/true);
  if (!online.ok()) return Error(online.status());
  ServerLog* log = online->log.get();
  absl::StatusOr<SignPublicKey> key = ResolveKey(c, *online->session->client);
  if (!key.ok()) return Error(key.status());
  absl::StatusOr<audit::SignedTreeHead> head = log->LatestHead();
  if (!head.ok()) return Error(head.status());
  if (absl::Status sig = audit::VerifyTreeHeadSignature(*head, *key); !sig.ok()) {
    std::cout << "TAMPERED: " << sig.message() << "\n";
    return kExitFailed;
  }
  absl::StatusOr<std::vector<audit::IndexedEntry>> entries =
      log->Entries(head->head.tree_size, Progress(head->head.tree_size));
  if (!entries.ok()) return Error(entries.status());

  std::vector<audit::TreeHead> heads = {head->head};
  std::vector<std::string> notes;
  absl::StatusOr<AuditorState> saved = LoadState(c.state_path);
  if (saved.ok() && saved->server_key == *key) {
    // The head verified last time is evidence too: the log must still
    // reproduce it.
    heads.push_back(saved->head.head);
  } else if (!saved.ok() && saved.status().code() != absl::StatusCode::kNotFound) {
    notes.push_back(std::string(saved.status().message()));
  }
  audit::LogDiagnosis diagnosis = audit::DiagnoseLog(*entries, heads, {}, {});
  if (!diagnosis.ok()) {
    if (std::optional<audit::LogFinding> where = LocateFirstDifference(*log, *entries, head->head)) {
      diagnosis.findings.insert(diagnosis.findings.begin(), *where);
    }
    return Report(c, "verify", diagnosis, head->head, notes);
  }
  // An intact log can still record a fork: two records accepted under one
  // version of a case. The head is then not saved, like any other failure.
  std::vector<audit::LogFinding> forks = audit::FindCaseForks(*entries);
  if (!forks.empty()) {
    diagnosis.findings = std::move(forks);
    return Report(c, "verify", diagnosis, head->head, notes);
  }
  if (absl::Status saved_state = SaveState(c.state_path, AuditorState{online->server, *key, *head});
      !saved_state.ok()) {
    notes.push_back(std::string(saved_state.message()));
  } else {
    notes.push_back(absl::StrCat("saved the verified head to ", c.state_path));
  }
  return Report(c, "verify", diagnosis, head->head, notes);
}

// Proves that `latest` extends `saved` (both already signature-checked).
// Whatever the server did (restored an older copy, rolled back, forked, then
// maybe grew past the saved size), the refusal is one DATA_LOSS message that
// names both heads, so the same log gives the same verdict on every run. A
// proof that cannot be fetched is that error instead.
absl::Status CheckExtendsSaved(ServerLog& log, const audit::TreeHead& saved, const audit::TreeHead& latest) {
  absl::Status proven = absl::OkStatus();
  if (latest.tree_size < saved.tree_size) {
    proven = absl::DataLossError("smaller");
  } else if (saved.tree_size > 0) {
    absl::StatusOr<std::vector<Hash256>> proof = saved.tree_size == latest.tree_size
                                                     ? std::vector<Hash256>()
                                                     : log.ConsistencyProof(saved.tree_size, latest.tree_size);
    if (!proof.ok()) return proof.status();
    proven = audit::VerifyConsistency(saved.tree_size, latest.tree_size, saved.root_hash, latest.root_hash, *proof);
  }
  if (proven.ok()) return absl::OkStatus();
  return absl::DataLossError(absl::StrCat(
      "the signed log of size ", latest.tree_size, " does not extend the saved head of size ", saved.tree_size,
      " (signed ", cli::FormatLocalTime(saved.timestamp_ms),
      "): the server was restored from an older copy, rolled back or forked; keep both heads as evidence, "
      "and only after a restore you know of, run `trygg-audit acknowledge-restore`"));
}

// A restore notice file as `tryggd restore` writes it: its `notice` and
// `signature` (hex) are what count, checked under the saved head's key; its
// other fields are for people and are not read.
absl::StatusOr<audit::SignedRestoreNotice> LoadRestoreNotice(const std::string& path, const SignPublicKey& key,
                                                             std::string* file_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read the restore notice ", path));
  std::string bytes(kMaxNoticeFileBytes + 1, '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  bytes.resize(static_cast<size_t>(in.gcount()));
  const auto refuse = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(path, " is not a Trygg restore notice: ", why));
  };
  if (bytes.size() > kMaxNoticeFileBytes) return refuse("too large");
  const nlohmann::json json = nlohmann::json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object() || !json.contains("notice") || !json.contains("signature") || !json["notice"].is_string() ||
      !json["signature"].is_string()) {
    return refuse("no `notice` and `signature`");
  }
  absl::StatusOr<std::vector<uint8_t>> notice_bytes = HexDecode(json["notice"].get<std::string>());
  absl::StatusOr<std::vector<uint8_t>> signature_bytes = HexDecode(json["signature"].get<std::string>());
  if (!notice_bytes.ok() || !signature_bytes.ok()) return refuse("`notice` and `signature` must be hex");
  absl::StatusOr<Signature> signature = Signature::FromSpan(*signature_bytes);
  if (!signature.ok()) return refuse(signature.status().message());
  absl::StatusOr<audit::RestoreNotice> notice = audit::DecodeRestoreNotice(*notice_bytes);
  if (!notice.ok()) return refuse(notice.status().message());
  audit::SignedRestoreNotice signed_notice{*notice, *signature};
  TRYGG_RETURN_IF_ERROR(audit::VerifyRestoreNoticeSignature(signed_notice, key));
  if (file_bytes != nullptr) *file_bytes = std::move(bytes);
  return signed_notice;
}

// Whether the signed notice explains why `latest` does not extend `saved`:
// OK, or why not (audit::CheckRestoreExplains), or the error fetching the
// proof from the restored log to `latest`.
absl::Status CheckNoticeExplains(ServerLog& log, const audit::RestoreNotice& notice, const audit::TreeHead& saved,
                                 const audit::TreeHead& latest) {
  std::vector<Hash256> proof;
  if (notice.restored_tree_size > 0 && notice.restored_tree_size < latest.tree_size) {
    TRYGG_ASSIGN_OR_RETURN(proof, log.ConsistencyProof(notice.restored_tree_size, latest.tree_size));
  }
  return audit::CheckRestoreExplains(notice, saved, latest, proof);
}

nlohmann::json NoticeJson(const audit::RestoreNotice& notice) {
  nlohmann::json json = {{"restored_tree_size", notice.restored_tree_size},
                         {"restored_root_hash", HexEncode(notice.restored_root_hash.span())},
                         {"restored_at_ms", notice.restored_at_ms},
                         {"superseded_head", nullptr}};
  if (notice.superseded.has_value()) json["superseded_head"] = HeadJson(*notice.superseded);
  return json;
}

std::string DescribeNotice(const audit::RestoreNotice& notice) {
  return absl::StrCat("the operator's signed notice says the log was restored ",
                      cli::FormatLocalTime(notice.restored_at_ms), " to ", notice.restored_tree_size, " entries",
                      notice.superseded.has_value()
                          ? absl::StrCat(", abandoning a log of ", notice.superseded->tree_size, " entries")
                          : std::string());
}

// The saved head, or why there is none (naming how to make one).
absl::StatusOr<AuditorState> LoadSavedHead(const Common& c) {
  absl::StatusOr<AuditorState> saved = LoadState(c.state_path);
  if (saved.status().code() == absl::StatusCode::kNotFound) {
    return absl::NotFoundError(absl::StrCat(saved.status().message(),
                                            "; run `trygg-audit verify` first to verify a head (coordinators), or "
                                            "`trygg-audit consistency --init` to start from the latest signed head"));
  }
  if (!saved.ok()) return saved.status();
  if (!c.server_key_hex.empty()) {
    TRYGG_ASSIGN_OR_RETURN(SignPublicKey given, ParseKey(c.server_key_hex));
    if (given != saved->server_key) {
      return absl::FailedPreconditionError(
          "--server-key differs from the key of the saved head; a new key needs a new `verify`");
    }
  }
  return saved;
}

// `consistency --init`: any device may start watching a log from its latest
// head, signed by the key the platform root certified. It proves nothing about
// the past (that is `verify`, which reads every entry), only that from now on
// the log grows without rewriting.
int StartFromLatest(const Common& c) {
  absl::StatusOr<AuditorState> existing = LoadState(c.state_path);
  if (existing.status().code() != absl::StatusCode::kNotFound) {
    return Error(absl::FailedPreconditionError(absl::StrCat(
        "a saved head is already at ", c.state_path,
        "; `trygg-audit consistency` proves the log extends it (after a restore you know of: "
        "`trygg-audit acknowledge-restore`)")));
  }
  absl::StatusOr<Online> online = SignIn(c, /*whole_log=*/false);
  if (!online.ok()) return Error(online.status());
  absl::StatusOr<SignPublicKey> key = ResolveKey(c, *online->session->client);
  if (!key.ok()) return Error(key.status());
  absl::StatusOr<audit::SignedTreeHead> head = online->log->LatestHead();
  if (!head.ok()) return Error(head.status());
  if (absl::Status sig = audit::VerifyTreeHeadSignature(*head, *key); !sig.ok()) {
    std::cout << "TAMPERED: " << sig.message() << "\n";
    return kExitFailed;
  }
  if (absl::Status s = SaveState(c.state_path, AuditorState{c.global.server, *key, *head}); !s.ok()) {
    return Error(s);
  }
  if (c.json) {
    std::cout << nlohmann::json({{"ok", true}, {"check", "consistency-init"}, {"saved_head", HeadJson(head->head)}})
                     .dump(2)
              << "\n";
  } else {
    std::cout << "OK: saved the latest signed head (" << head->head.tree_size << " entries, signed "
              << cli::FormatLocalTime(head->head.timestamp_ms) << ") to " << c.state_path
              << "; from now on `trygg-audit consistency` proves the log only grows\n";
  }
  return kExitOk;
}

int Consistency(const Common& c) {
  absl::StatusOr<AuditorState> saved = LoadSavedHead(c);
  if (!saved.ok()) return Error(saved.status());
  Common here = c;
  if (here.global.server.empty()) here.global.server = saved->server;
  absl::StatusOr<Online> online = SignIn(here, /*whole_log=*/false);
  if (!online.ok()) return Error(online.status());
  absl::StatusOr<audit::SignedTreeHead> head = online->log->LatestHead();
  if (!head.ok()) return Error(head.status());

  const audit::TreeHead& old_head = saved->head.head;
  const audit::TreeHead& new_head = head->head;
  absl::Status result = audit::VerifyTreeHeadSignature(*head, saved->server_key);
  bool extends = false;
  if (result.ok()) {
    result = CheckExtendsSaved(*online->log, old_head, new_head);
    if (!result.ok() && result.code() != absl::StatusCode::kDataLoss) return Error(result);
    extends = result.ok();
  }
  // A log that does not extend the saved head is a restore only when the
  // operator's signed notice explains it; then the saved head is kept until
  // `acknowledge-restore`.
  std::optional<audit::SignedRestoreNotice> notice;
  if (!extends && result.code() == absl::StatusCode::kDataLoss && !c.restore_notice.empty()) {
    absl::StatusOr<audit::SignedRestoreNotice> loaded = LoadRestoreNotice(c.restore_notice, saved->server_key, nullptr);
    absl::Status explained = loaded.status();
    if (loaded.ok()) explained = CheckNoticeExplains(*online->log, loaded->notice, old_head, new_head);
    if (explained.ok()) {
      notice = *loaded;
    } else if (explained.code() == absl::StatusCode::kNotFound || explained.code() == absl::StatusCode::kUnavailable) {
      return Error(explained);
    } else {
      result = absl::DataLossError(
          absl::StrCat(result.message(), "; the restore notice given does not explain it: ", explained.message()));
    }
  }
  if (extends) {
    if (absl::Status s = SaveState(c.state_path, AuditorState{saved->server, saved->server_key, *head}); !s.ok()) {
      return Error(s);
    }
  }
  const std::string restored_message =
      notice.has_value()
          ? absl::StrCat(DescribeNotice(notice->notice), "; the saved head of size ", old_head.tree_size, " (signed ",
                         cli::FormatLocalTime(old_head.timestamp_ms),
                         ") was signed before it and is superseded, and the signed log of size ", new_head.tree_size,
                         " extends the restored one; entries after the restored size that you saw are gone from "
                         "the server. Keep the notice and the state file as evidence; once the restore is "
                         "confirmed, run `trygg-audit acknowledge-restore --restore-notice ",
                         c.restore_notice, "`")
          : std::string();
  if (c.json) {
    nlohmann::json json = {{"ok", extends},
                           {"check", "consistency"},
                           {"saved_head", HeadJson(old_head)},
                           {"latest_head", HeadJson(new_head)},
                           {"restored", notice.has_value()},
                           {"message", notice.has_value() ? restored_message : std::string(result.message())}};
    if (notice.has_value()) json["restore_notice"] = NoticeJson(notice->notice);
    std::cout << json.dump(2) << "\n";
  } else if (extends) {
    std::cout << "OK: the log grew from " << old_head.tree_size << " to " << new_head.tree_size
              << " entries and its first " << old_head.tree_size << " are unchanged\n";
  } else if (notice.has_value()) {
    std::cout << "RESTORED: " << restored_message << "\n";
  } else {
    std::cout << "TAMPERED: " << result.message() << "\n";
  }
  return extends ? kExitOk : notice.has_value() ? kExitRestored : kExitFailed;
}

// After a restore the operator announced: the saved head no longer has a
// future on this server. The state file is kept as evidence beside itself
// (<state>.superseded-<size>-<signed ms>.json, mode 0600, never overwritten)
// and the latest signed head, under the same key, becomes the saved one. A log
// that still extends the saved head has nothing to acknowledge: nothing changes.
int AcknowledgeRestore(const Common& c) {
  absl::StatusOr<AuditorState> saved = LoadSavedHead(c);
  if (!saved.ok()) return Error(saved.status());
  Common here = c;
  if (here.global.server.empty()) here.global.server = saved->server;
  absl::StatusOr<Online> online = SignIn(here, /*whole_log=*/false);
  if (!online.ok()) return Error(online.status());
  absl::StatusOr<audit::SignedTreeHead> head = online->log->LatestHead();
  if (!head.ok()) return Error(head.status());
  if (absl::Status sig = audit::VerifyTreeHeadSignature(*head, saved->server_key); !sig.ok()) {
    std::cout << "TAMPERED: " << sig.message() << "\n";
    return kExitFailed;
  }
  const absl::Status extends = CheckExtendsSaved(*online->log, saved->head.head, head->head);
  if (!extends.ok() && extends.code() != absl::StatusCode::kDataLoss) return Error(extends);
  // With a notice, it must be the operator's, under the saved head's key, and
  // explain this very rollback; a notice that does not changes nothing.
  std::optional<audit::SignedRestoreNotice> notice;
  std::string notice_bytes;
  if (!extends.ok() && !c.restore_notice.empty()) {
    absl::StatusOr<audit::SignedRestoreNotice> loaded =
        LoadRestoreNotice(c.restore_notice, saved->server_key, &notice_bytes);
    absl::Status explained = loaded.status();
    if (loaded.ok()) explained = CheckNoticeExplains(*online->log, loaded->notice, saved->head.head, head->head);
    if (explained.code() == absl::StatusCode::kNotFound || explained.code() == absl::StatusCode::kUnavailable) {
      return Error(explained);
    }
    if (!explained.ok()) {
      std::cout << "TAMPERED: " << extends.message() << "; the restore notice given does not explain it: "
                << explained.message() << "; nothing was acknowledged\n";
      return kExitFailed;
    }
    notice = *loaded;
  }
  std::string archive;
  std::string notice_archive;
  if (!extends.ok()) {
    archive = absl::StrCat(c.state_path, ".superseded-", saved->head.head.tree_size, "-",
                           saved->head.head.timestamp_ms, ".json");
    std::ifstream in(c.state_path, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof()) return Error(absl::FailedPreconditionError("cannot read " + c.state_path));
    absl::Status kept = WriteFileAtomically(
        archive, std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), IfExists::kRefuse);
    if (!kept.ok()) return Error(kept);
    if (notice.has_value()) {
      notice_archive = absl::StrCat(c.state_path, ".superseded-", saved->head.head.tree_size, "-",
                                    saved->head.head.timestamp_ms, ".restore-notice.json");
      absl::Status kept_notice = WriteFileAtomically(
          notice_archive, std::span(reinterpret_cast<const uint8_t*>(notice_bytes.data()), notice_bytes.size()),
          IfExists::kRefuse);
      if (!kept_notice.ok()) return Error(kept_notice);
    }
    if (absl::Status s = SaveState(c.state_path, AuditorState{saved->server, saved->server_key, *head}); !s.ok()) {
      return Error(s);
    }
  }
  if (c.json) {
    std::cout << nlohmann::json({{"ok", true},
                                 {"check", "acknowledge-restore"},
                                 {"acknowledged", !extends.ok()},
                                 {"superseded_head", HeadJson(saved->head.head)},
                                 {"evidence_file", archive},
                                 {"restore_notice", notice.has_value() ? NoticeJson(notice->notice) : nullptr},
                                 {"notice_file", notice_archive},
                                 {"saved_head", HeadJson(extends.ok() ? saved->head.head : head->head)}})
                     .dump(2)
              << "\n";
  } else if (extends.ok()) {
    std::cout << "OK: nothing to acknowledge: the signed log of size " << head->head.tree_size
              << " extends the saved head; run `trygg-audit consistency`\n";
  } else {
    if (notice.has_value()) {
      std::cout << "RESTORED: " << DescribeNotice(notice->notice) << "; kept as evidence in " << notice_archive
                << "\n";
    } else {
      std::cout << "NOTE: no restore notice given (--restore-notice): this takes the operator's word for the "
                   "restore\n";
    }
    std::cout << "ACKNOWLEDGED: the saved head of size " << saved->head.head.tree_size << " (signed "
              << cli::FormatLocalTime(saved->head.head.timestamp_ms) << ") is kept as evidence in " << archive
              << "; the saved head is now the latest signed head of size " << head->head.tree_size << " (signed "
              << cli::FormatLocalTime(head->head.timestamp_ms) << ")\n";
  }
  return kExitOk;
}

int CheckIncluded(const Common& c, const std::vector<uint64_t>& indices,
                  const std::vector<std::string>& entry_hex) {
  if (!entry_hex.empty() && entry_hex.size() != indices.size()) {
    std::fprintf(stderr, "trygg-audit: give one --entry per --index, or none\n");
    return kExitUsage;
  }
  absl::StatusOr<Online> online = SignIn(c, /*whole_log=*/false);
  if (!online.ok()) return Error(online.status());
  ServerLog* log = online->log.get();
  absl::StatusOr<SignPublicKey> key = ResolveKey(c, *online->session->client);
  if (!key.ok()) return Error(key.status());
  absl::StatusOr<audit::SignedTreeHead> head = log->LatestHead();
  if (!head.ok()) return Error(head.status());
  if (absl::Status sig = audit::VerifyTreeHeadSignature(*head, *key); !sig.ok()) {
    std::cout << "TAMPERED: " << sig.message() << "\n";
    return kExitFailed;
  }
  const uint64_t n = head->head.tree_size;
  bool all = true;
  nlohmann::json results = nlohmann::json::array();
  for (size_t k = 0; k < indices.size(); ++k) {
    const uint64_t index = indices[k];
    absl::Status status;
    std::vector<uint8_t> bytes;
    if (index >= n) {
      status = absl::NotFoundError(absl::StrCat("is beyond the signed log of size ", n));
    } else if (!entry_hex.empty()) {
      absl::StatusOr<std::vector<uint8_t>> decoded = HexDecode(entry_hex[k]);
      if (!decoded.ok()) return Error(absl::InvalidArgumentError("--entry must be hex"));
      bytes = *decoded;
    } else {
      absl::StatusOr<std::vector<uint8_t>> fetched = log->Entry(index);
      if (!fetched.ok()) return Error(fetched.status());
      bytes = *fetched;
    }
    if (status.ok()) {
      absl::StatusOr<std::vector<Hash256>> proof = log->InclusionProof(index, n);
      if (!proof.ok()) return Error(proof.status());
      status = audit::VerifyInclusion(audit::HashLeaf(bytes), index, n, *proof, head->head.root_hash);
    }
    all = all && status.ok();
    if (c.json) {
      results.push_back({{"index", index}, {"included", status.ok()}, {"message", std::string(status.message())}});
    } else if (status.ok()) {
      std::cout << "OK: entry " << index << " is in the signed log of size " << n << "\n";
    } else {
      std::cout << "NOT INCLUDED: entry " << index << " " << status.message() << "\n";
    }
  }
  if (c.json) {
    std::cout << nlohmann::json({{"ok", all}, {"signed_head", HeadJson(head->head)}, {"entries", results}}).dump(2)
              << "\n";
  }
  return all ? kExitOk : kExitFailed;
}

int VerifyDb(const Common& c, const std::string& db_path) {
  absl::StatusOr<SignPublicKey> key = ParseKey(c.server_key_hex);
  if (!key.ok()) return Error(key.status());
  absl::StatusOr<std::unique_ptr<store::sqlite::AuditLogCopy>> db = store::sqlite::AuditLogCopy::Open(db_path);
  if (!db.ok()) return Error(db.status());
  absl::StatusOr<std::vector<audit::SignedTreeHead>> stored_heads = (*db)->SignedHeads();
  if (!stored_heads.ok()) return Error(stored_heads.status());
  absl::StatusOr<std::vector<audit::IndexedEntry>> entries = (*db)->Entries();
  if (!entries.ok()) return Error(entries.status());

  const audit::StoredLogDiagnosis checked = audit::DiagnoseStoredLog(*entries, *stored_heads, (*db)->LeafHashes(), *key);
  return Report(c, "verify-db", checked.diagnosis, checked.latest, checked.notes);
}

// What `stats` is asked for besides where the entries come from.
struct StatsRequest {
  int64_t threshold = 5;
  std::string format = "table";
  std::string output;
  int64_t now_ms = 0;
  std::string from_date, to_date;  // YYYY-MM-DD, Europe/Stockholm, both inclusive
  std::string lang = "sv";
};

// The zone a coordinator's dates and months are in, whatever TZ says: the
// platform is Swedish, and two coordinators must get the same report.
constexpr char kReportZone[] = "Europe/Stockholm";

// A calendar date YYYY-MM-DD that exists; anything else is a usage error.
absl::StatusOr<absl::CivilDay> ParseDate(const std::string& flag, const std::string& text) {
  bool shaped = text.size() == 10;
  for (size_t i = 0; shaped && i < text.size(); ++i) {
    shaped = (i == 4 || i == 7) ? text[i] == '-' : std::isdigit(static_cast<unsigned char>(text[i])) != 0;
  }
  if (shaped) {
    const int year = std::stoi(text.substr(0, 4)), month = std::stoi(text.substr(5, 2)),
              day = std::stoi(text.substr(8, 2));
    const absl::CivilDay parsed(year, month, day);
    // CivilDay normalises 2026-02-30 to 2026-03-02: such a date does not exist.
    if (parsed.year() == year && parsed.month() == month && parsed.day() == day) return parsed;
  }
  return cli::UsageError(absl::StrCat(flag, " must be a date YYYY-MM-DD (in ", kReportZone, "), not \"", text, "\""));
}

// The period of --from and --to as Unix ms: from the start of the first day
// to the start of the day after the last, in kReportZone (so a day is 23 or
// 25 hours when the clocks change).
absl::Status ResolvePeriod(const StatsRequest& request, const absl::TimeZone& zone, audit::StatisticsOptions& options) {
  std::optional<absl::CivilDay> from, to;
  if (!request.from_date.empty()) {
    TRYGG_ASSIGN_OR_RETURN(from, ParseDate("--from", request.from_date));
    options.from_ms = absl::ToUnixMillis(absl::FromCivil(*from, zone));
  }
  if (!request.to_date.empty()) {
    TRYGG_ASSIGN_OR_RETURN(to, ParseDate("--to", request.to_date));
    options.to_ms = absl::ToUnixMillis(absl::FromCivil(*to + 1, zone));
  }
  if (from && to && *from > *to) {
    return cli::UsageError(absl::StrCat("--from ", request.from_date, " is after --to ", request.to_date));
  }
  return absl::OkStatus();
}

int Stats(const Common& c, const std::string& db_path, const StatsRequest& request) {
  audit::StatisticsOptions options;
  if (!absl::LoadTimeZone(kReportZone, &options.zone)) {
    return Error(absl::FailedPreconditionError(
        absl::StrCat("cannot load the time zone ", kReportZone, " (is the tzdata package installed?)")));
  }
  if (absl::Status period = ResolvePeriod(request, options.zone, options); !period.ok()) {
    std::fprintf(stderr, "trygg-audit stats: %s\n", std::string(period.message()).c_str());
    return kExitUsage;
  }
  // Statistics over a log that does not verify would be statistics about
  // someone's edits: the entries are checked against signed heads first.
  std::vector<audit::IndexedEntry> entries;
  std::vector<audit::TreeHead> heads;
  if (!db_path.empty()) {
    absl::StatusOr<std::unique_ptr<store::sqlite::AuditLogCopy>> db = store::sqlite::AuditLogCopy::Open(db_path);
    if (!db.ok()) return Error(db.status());
    absl::StatusOr<std::vector<audit::IndexedEntry>> read = (*db)->Entries();
    if (!read.ok()) return Error(read.status());
    entries = std::move(*read);
    if (c.server_key_hex.empty()) {
      std::fprintf(stderr,
                   "trygg-audit: the entries of %s are not checked against a signed tree head; pass "
                   "--server-key, or run `trygg-audit verify-db` first\n",
                   db_path.c_str());
    } else {
      absl::StatusOr<SignPublicKey> key = ParseKey(c.server_key_hex);
      if (!key.ok()) return Error(key.status());
      absl::StatusOr<std::vector<audit::SignedTreeHead>> stored = (*db)->SignedHeads();
      if (!stored.ok()) return Error(stored.status());
      for (const audit::SignedTreeHead& h : *stored) {
        if (audit::VerifyTreeHeadSignature(h, *key).ok()) heads.push_back(h.head);
      }
      if (heads.empty()) {
        std::cout << "TAMPERED: the database holds no tree head signed by server key " << c.server_key_hex
                  << "\n";
        return kExitFailed;
      }
    }
  } else {
    absl::StatusOr<Online> online = SignIn(c, /*whole_log=*/true);
    if (!online.ok()) return Error(online.status());
    absl::StatusOr<SignPublicKey> key = ResolveKey(c, *online->session->client);
    if (!key.ok()) return Error(key.status());
    absl::StatusOr<audit::SignedTreeHead> head = online->log->LatestHead();
    if (!head.ok()) return Error(head.status());
    if (absl::Status sig = audit::VerifyTreeHeadSignature(*head, *key); !sig.ok()) {
      std::cout << "TAMPERED: " << sig.message() << "\n";
      return kExitFailed;
    }
    absl::StatusOr<std::vector<audit::IndexedEntry>> read =
        online->log->Entries(head->head.tree_size, Progress(head->head.tree_size));
    if (!read.ok()) return Error(read.status());
    entries = std::move(*read);
    heads.push_back(head->head);
    // Names come from the organisation certificates, each verified against
    // the pinned platform root by libtrygg. They are a courtesy: without
    // them the report names organisations by id.
    absl::StatusOr<std::vector<OrganisationSummary>> orgs = online->session->client->ListOrganisations();
    if (orgs.ok()) {
      for (const OrganisationSummary& o : *orgs) options.org_names[o.org_id.array()] = o.display_name;
    } else {
      std::fprintf(stderr, "trygg-audit: organisations are shown by id: cannot read their certificates: %s\n",
                   std::string(orgs.status().message()).c_str());
    }
  }
  if (!heads.empty() && !audit::DiagnoseLog(entries, heads, {}, {}).ok()) {
    std::cout << "TAMPERED: the entries do not match the signed tree heads; run `trygg-audit "
              << (db_path.empty() ? "verify" : "verify-db") << "` for details\n";
    return kExitFailed;
  }
  // Only what a signed head covers is counted: entries after the largest one
  // are unproven (appended since, or by someone else).
  if (!heads.empty()) {
    uint64_t signed_size = 0;
    for (const audit::TreeHead& h : heads) signed_size = std::max(signed_size, h.tree_size);
    if (entries.size() > signed_size) {
      std::fprintf(stderr, "trygg-audit: left out %llu entries after the last signed tree head (size %llu)\n",
                   static_cast<unsigned long long>(entries.size() - signed_size),
                   static_cast<unsigned long long>(signed_size));
      entries.resize(signed_size);
    }
  }
  std::vector<audit::AuditEvent> events;
  uint64_t skipped = 0;
  for (const audit::IndexedEntry& e : entries) {
    absl::StatusOr<audit::AuditEvent> event = audit::DecodeAuditEvent(e.bytes);
    if (event.ok()) {
      events.push_back(*event);
    } else {
      ++skipped;
    }
  }
  if (skipped > 0) {
    std::fprintf(stderr, "trygg-audit: skipped %llu entries this version cannot read\n",
                 static_cast<unsigned long long>(skipped));
  }
  options.threshold = request.threshold;
  options.now_ms = request.now_ms != 0 ? request.now_ms : NowMs();
  const audit::StatisticsReport report = audit::ComputeStatistics(events, options);
  audit::ReportOptions render;
  render.language = request.lang == "en" ? audit::ReportLanguage::kEnglish : audit::ReportLanguage::kSwedish;
  render.generated_at = cli::FormatLocalTime(options.now_ms);
  render.from_date = request.from_date;
  render.to_date = request.to_date;
  const std::string& format = request.format;
  std::string text = format == "csv"    ? audit::RenderCsv(report)
                     : format == "json" ? audit::RenderJson(report, render)
                     : format == "html" ? audit::RenderHtml(report, render)
                                        : audit::RenderText(report, render);
  const std::string& output = request.output;
  if (output.empty() || output == "-") {
    std::cout << text;
  } else {
    std::ofstream out(output, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.good()) return Error(absl::UnavailableError(absl::StrCat("cannot write ", output)));
    std::fprintf(stderr, "trygg-audit: wrote %s\n", output.c_str());
  }
  return kExitOk;
}

int Main(int argc, char** argv) {
  CLI::App app{"trygg-audit: verify a Trygg server's tamper-evident audit log and report "
               "coordinator statistics from it.\nExit status: 0 verified, 1 could not check, "
               "2 usage error, 3 verification failed (tampering or fork), 4 the log was restored, as the operator's signed "
               "restore notice explains (`consistency --restore-notice`)."};
  app.require_subcommand(1);
  Common c;
  // The online commands sign in with a device's key store (a coordinator's
  // for verify and stats) and pin the platform root, as `trygg` does;
  // settings not given come from trygg's config file.
  auto add_server = [&](CLI::App* cmd) {
    cmd->add_option("--server", c.global.server,
                    std::string("tryggd address, host:port (default: trygg's config, else ") + cli::kDefaultServer +
                        ")");
    // --tls-roots as in trygg; --ca-file is its older name, kept for scripts.
    cmd->add_option("--tls-roots,--ca-file", c.global.tls_roots,
                    "PEM file of CA certificates for the server's TLS certificate (default: trygg's config, "
                    "else plaintext, loopback only)");
    cmd->add_option("--keystore", c.global.keystore, "the device key store to sign in with (default: trygg's config)");
    cmd->add_option("--root-key", c.global.root_key,
                    "the platform root public key, 64 hex digits (default: trygg's config)");
  };
  auto add_key = [&](CLI::App* cmd, const char* help) {
    return cmd->add_option("--server-key", c.server_key_hex, help);
  };

  CLI::App* verify = app.add_subcommand(
      "verify", "Fetch every entry and the latest signed tree head, recompute the whole log, report any "
                "case with two different records for one version (a fork), and save the verified head to "
                "the state file");
  add_server(verify);
  add_key(verify, "the server's Ed25519 public key, 64 hex digits (default: the key the platform root certified)");
  verify->add_option("--state", c.state_path, "state file of the last verified head")->capture_default_str();
  verify->add_flag("--json", c.json, "print the result as JSON");

  CLI::App* consistency = app.add_subcommand(
      "consistency", "Prove the latest signed log extends the saved head (RFC 9162 consistency proof)");
  add_server(consistency);
  add_key(consistency, "expected server key (default: the saved head's)");
  consistency->add_option("--state", c.state_path, "state file of the last verified head")->capture_default_str();
  consistency->add_flag("--json", c.json, "print the result as JSON");
  consistency->add_option("--restore-notice", c.restore_notice,
                          "the operator's signed restore notice (from `tryggd restore`): a log that no longer "
                          "extends the saved head is reported as that restore (exit 4) when the notice explains it");
  bool init = false;
  consistency->add_flag("--init", init,
                        "with no saved head yet: save the latest signed head, signed by the certified server "
                        "key, as the starting point (any device may)");

  CLI::App* acknowledge = app.add_subcommand(
      "acknowledge-restore",
      "After a restore of the server you know of: keep the saved head as evidence beside the state file and "
      "start again from the latest signed head");
  add_server(acknowledge);
  add_key(acknowledge, "expected server key (default: the saved head's)");
  acknowledge->add_option("--state", c.state_path, "state file of the last verified head")->capture_default_str();
  acknowledge->add_flag("--json", c.json, "print the result as JSON");
  acknowledge->add_option("--restore-notice", c.restore_notice,
                          "the operator's signed restore notice: acknowledge only the restore it explains, and keep "
                          "it as evidence (without it, the operator's word is taken)");

  std::vector<uint64_t> indices;
  std::vector<std::string> entry_hex;
  CLI::App* included = app.add_subcommand(
      "check-included", "Check that entries are in the latest signed log (RFC 9162 inclusion proofs)");
  add_server(included);
  add_key(included, "the server's public key, 64 hex digits (default: the key the platform root certified)");
  included->add_option("--index", indices, "entry index; repeat for several")->required();
  included->add_option("--entry", entry_hex,
                       "the entry's bytes in hex, one per --index (default: as the server serves it)");
  included->add_flag("--json", c.json, "print the result as JSON");

  std::string db_path;
  CLI::App* verify_db = app.add_subcommand(
      "verify-db", "Check a copy of a server's SQLite database offline: every entry against the "
                   "signed heads and the stored tree; says which entry was edited, removed, "
                   "reordered or inserted");
  verify_db->add_option("--db", db_path, "the trygg.db file (a copy; opened read-only)")
      ->required()
      ->check(CLI::ExistingFile);
  add_key(verify_db, "the server's Ed25519 public key, 64 hex digits")->required();
  verify_db->add_flag("--json", c.json, "print the result as JSON");

  StatsRequest request;
  CLI::App* stats = app.add_subcommand(
      "stats", "Coordinator statistics from the entries, with small counts suppressed");
  stats->add_option("--db", db_path, "read a trygg.db copy instead of a server")->check(CLI::ExistingFile);
  add_server(stats);
  add_key(stats, "the server's public key (default online: the key the platform root certified; with --db: "
                 "verify against the stored heads signed by this key)");
  stats->add_option("--threshold", request.threshold, "suppress counts below this")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{1'000'000}));
  stats->add_option("--format", request.format, "table, csv, json or html")
      ->capture_default_str()
      ->check(CLI::IsMember({"table", "csv", "json", "html"}));
  stats->add_option("--output,-o", request.output, "write to this file (default: standard output)");
  stats->add_option("--now-ms", request.now_ms, "the time overdue is judged at, Unix ms (default: now)");
  stats->add_option("--from", request.from_date,
                    "count referrals created on or after this day, YYYY-MM-DD in Europe/Stockholm (default: "
                    "from the start of the log)");
  stats->add_option("--to", request.to_date,
                    "count referrals created on or before this day, YYYY-MM-DD in Europe/Stockholm, inclusive "
                    "(default: up to now)");
  stats->add_option("--lang", request.lang,
                    "language of the table and HTML report: sv (Swedish) or en (English); CSV and JSON keys "
                    "stay English")
      ->capture_default_str()
      ->check(CLI::IsMember({"sv", "en"}));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  if (*verify) return Verify(c);
  if (*consistency) return init ? StartFromLatest(c) : Consistency(c);
  if (*acknowledge) return AcknowledgeRestore(c);
  if (*included) return CheckIncluded(c, indices, entry_hex);
  if (*verify_db) return VerifyDb(c, db_path);
  if (*stats) {
    if (!db_path.empty() && !c.global.server.empty()) {
      std::fprintf(stderr, "trygg-audit stats: give --db or --server, not both\n");
      return kExitUsage;
    }
    return Stats(c, db_path, request);
  }
  return kExitUsage;
}

}  // namespace
}  // namespace trygg::audit_tool

int main(int argc, char** argv) { return trygg::audit_tool::Main(argc, argv); }
