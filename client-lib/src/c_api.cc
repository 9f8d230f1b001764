// SPDX-License-Identifier: Apache-2.0

// libtrygg_c: trygg/trygg.h over the C++ API. Each function checks its
// arguments, takes the session's lock, calls libtrygg, and writes the result
// as JSON text; nothing here decides anything about security.

#include "trygg/trygg.h"

#include <sodium.h>

#include <atomic>
#include <cctype>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "trygg/case_client.h"
#include "trygg/case_record.h"
#include "trygg/crypto_error.h"
#include "trygg/device.h"
#include "trygg/directory_client.h"
#include "trygg/fingerprint.h"
#include "trygg/names.h"
#include "trygg/referral_client.h"
#include "trygg/referral_packet.h"
#include "trygg/status_macros.h"

namespace trygg {
namespace c_api {

// What a session holds. Each call holds a shared_ptr to it for as long as it
// runs, so that trygg_session_close on another thread (or in a watch
// callback) never frees it under a running call: close only marks it closed,
// cancels a running watch, and drops the handle's reference; the last
// reference to go logs out and wipes.
struct SessionCore {
  std::mutex mu;  // one call at a time
  std::atomic<bool> closed{false};
  std::mutex watch_mu;              // guards watching (and orders it with closed)
  WatchCancel* watching = nullptr;  // the running trygg_watch's, if one runs

  // Cancels the running watch, if any; with `close`, marks the core closed
  // first (under watch_mu, so a watch about to start sees it).
  void CancelWatch(bool close) {
    std::lock_guard<std::mutex> lock(watch_mu);
    if (close) closed.store(true);
    if (watching != nullptr) watching->Cancel();
  }
  std::unique_ptr<DeviceSession> device;
  std::unique_ptr<CaseClient> cases;
  std::unique_ptr<ReferralClient> referrals;
  std::unique_ptr<DirectoryClient> directory;

  ~SessionCore() {
    // The clients borrow the device session: they go first.
    directory.reset();
    referrals.reset();
    cases.reset();
    device.reset();
  }
};

}  // namespace c_api
}  // namespace trygg

// The handle: a small shell that outlives trygg_session_close, so that a call
// on a closed handle finds it closed (FAILED_PRECONDITION) instead of freed
// memory. It holds no secret; closed shells are kept by KeepClosedShell.
struct trygg_session {
  std::mutex mu;  // guards core
  std::shared_ptr<trygg::c_api::SessionCore> core;  // null once closed
};

namespace trygg {
namespace {

using c_api::SessionCore;

thread_local std::string t_error;
thread_local std::string t_reason;

// ---- Wiping -------------------------------------------------------------------

// Wipes a buffer that held survivor data (decrypted content, a record's
// JSON) when the scope ends, on the error paths too. Best effort: copies an
// allocator left behind while a string grew are not reached.
void Wipe(std::string& text) { sodium_memzero(text.data(), text.size()); }
void Wipe(std::vector<uint8_t>& bytes) { sodium_memzero(bytes.data(), bytes.size()); }

template <typename Buffer>
class WipeAtExit {
 public:
  explicit WipeAtExit(Buffer& buffer) : buffer_(buffer) {}
  ~WipeAtExit() { Wipe(buffer_); }
  WipeAtExit(const WipeAtExit&) = delete;
  WipeAtExit& operator=(const WipeAtExit&) = delete;

 private:
  Buffer& buffer_;
};

// ---- JSON text --------------------------------------------------------------

// Appends `c` (a code point) as UTF-8.
void AppendUtf8(std::string& out, uint32_t c) {
  if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out.push_back(static_cast<char>(0xc0 | (c >> 6)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3f)));
  } else if (c < 0x10000) {
    out.push_back(static_cast<char>(0xe0 | (c >> 12)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3f)));
  } else {
    out.push_back(static_cast<char>(0xf0 | (c >> 18)));
    out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3f)));
  }
}

// The code point of the UTF-8 sequence at text[i], advancing i; U+FFFD for
// a byte that does not start a valid, shortest-form sequence. Decrypted text
// comes from other organisations and is not trusted to be UTF-8; what this
// interface hands out always is.
uint32_t NextCodePoint(std::string_view text, size_t& i) {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(text[k]); };
  const uint8_t b0 = byte(i);
  int extra = 0;
  uint32_t c = 0, min = 0;
  if (b0 < 0x80) {
    ++i;
    return b0;
  } else if ((b0 & 0xe0) == 0xc0) {
    extra = 1, c = b0 & 0x1f, min = 0x80;
  } else if ((b0 & 0xf0) == 0xe0) {
    extra = 2, c = b0 & 0x0f, min = 0x800;
  } else if ((b0 & 0xf8) == 0xf0) {
    extra = 3, c = b0 & 0x07, min = 0x10000;
  } else {
    ++i;
    return 0xfffd;
  }
  for (int k = 1; k <= extra; ++k) {
    if (i + k >= text.size() || (byte(i + k) & 0xc0) != 0x80) {
      ++i;
      return 0xfffd;
    }
    c = (c << 6) | (byte(i + k) & 0x3f);
  }
  if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
    ++i;
    return 0xfffd;
  }
  i += 1 + extra;
  return c;
}

std::string Str(std::string_view text) {
  std::string out = "\"";
  size_t i = 0;
  while (i < text.size()) {
    const uint32_t c = NextCodePoint(text, i);
    if (c == '"') {
      out += "\\\"";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\u00";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    } else {
      AppendUtf8(out, c);
    }
  }
  return out + "\"";
}

std::string Num(int64_t n) { return std::to_string(n); }
std::string NumU(uint64_t n) { return std::to_string(n); }
std::string Bool(bool b) { return b ? "true" : "false"; }
std::string IdJson(const Id128& id) { return Str(HexEncode(id.span())); }

// A JSON object, members in the order added; values are JSON text.
class Obj {
 public:
  Obj() = default;
  Obj(Obj&&) = default;
  Obj& operator=(Obj&&) = default;
  Obj(const Obj&) = delete;
  Obj& operator=(const Obj&) = delete;
  ~Obj() { Wipe(text_); }

  Obj& Add(std::string_view key, const std::string& value) {
    if (text_.size() > 1) text_.push_back(',');
    text_ += Str(key);
    text_.push_back(':');
    text_ += value;
    return *this;
  }
  std::string Done() const { return text_ + "}"; }

 private:
  std::string text_ = "{";
};

std::string Arr(const std::vector<std::string>& values) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i) out += (i > 0 ? "," : "") + values[i];
  return out + "]";
}

// ---- Arguments ----------------------------------------------------------------

absl::Status Missing(std::string_view what) {
  return absl::InvalidArgumentError(std::string(what) + " is required");
}

// Whether `text` is valid UTF-8 (shortest forms, no surrogates).
bool IsUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const size_t at = i;
    if (NextCodePoint(text, i) == 0xfffd && !(i == at + 3 && text.substr(at, 3) == "\xef\xbf\xbd")) return false;
  }
  return true;
}

// Every text argument is UTF-8 (the header's convention): refused, naming
// the argument, before anything is sealed; proto3 strings that are not would
// only fail on the receiver's side. NULL is let through (optional ones).
absl::Status Utf8Arg(const char* text, std::string_view what) {
  if (text != nullptr && !IsUtf8(text)) {
    return absl::InvalidArgumentError(std::string(what) + " is not valid UTF-8");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string_view> Required(const char* text, std::string_view what) {
  if (text == nullptr || *text == '\0') return Missing(what);
  TRYGG_RETURN_IF_ERROR(Utf8Arg(text, what));
  return std::string_view(text);
}

absl::StatusOr<Id128> IdArg(const char* hex, std::string_view what) {
  TRYGG_ASSIGN_OR_RETURN(std::string_view text, Required(hex, what));
  absl::StatusOr<Id128> id = Id128::FromHex(text);
  if (!id.ok()) return absl::InvalidArgumentError(std::string(what) + " must be 32 hex digits");
  return id;
}

absl::StatusOr<uint8_t> NameArg(NamedEnum kind, const char* name, std::string_view what) {
  TRYGG_ASSIGN_OR_RETURN(std::string_view text, Required(name, what));
  const std::optional<uint8_t> value = ParseName(kind, text);
  if (!value.has_value()) {
    return absl::InvalidArgumentError("unknown " + std::string(what) + " '" + std::string(text) + "'; one of " +
                                      NameChoices(kind));
  }
  return *value;
}

std::string Name(NamedEnum kind, uint8_t value) {
  const std::string_view name = FormatName(kind, value);
  return name.empty() ? "unknown" : std::string(name);
}

// ---- Results --------------------------------------------------------------------

trygg_code Fail(const absl::Status& status) {
  t_error = std::string(status.message());
  t_reason.clear();
  if (std::optional<CryptoError> reason = GetCryptoError(status); reason.has_value()) {
    for (char c : CryptoErrorName(*reason)) t_reason.push_back(c == '_' ? '-' : static_cast<char>(std::tolower(c)));
  }
  if (t_error.empty()) t_error = status.ToString();
  return status.code() == absl::StatusCode::kOk ? TRYGG_UNKNOWN : static_cast<trygg_code>(status.code());
}

trygg_code Succeed() {
  t_error.clear();
  t_reason.clear();
  return TRYGG_OK;
}

// Result buffers carry their size in a header before the text, so that
// trygg_free wipes the whole allocation (not only up to the first NUL).
constexpr size_t kBufferHeader = alignof(std::max_align_t) > sizeof(size_t) ? alignof(std::max_align_t)
                                                                              : sizeof(size_t);

char* CopyOut(const std::string& text) {
  const size_t size = kBufferHeader + text.size() + 1;
  char* block = static_cast<char*>(std::malloc(size));
  if (block == nullptr) return nullptr;
  std::memcpy(block, &size, sizeof(size));
  char* buffer = block + kBufferHeader;
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';
  return buffer;
}

// Runs `body` (returning the JSON result) behind the C boundary: no exception
// crosses it, and the result lands in *out_json.
template <typename Body>
trygg_code Run(char** out_json, Body body) {
  if (out_json != nullptr) *out_json = nullptr;
  try {
    absl::StatusOr<std::string> result = body();
    if (!result.ok()) return Fail(result.status());
    WipeAtExit<std::string> wipe(*result);
    if (out_json != nullptr) {
      *out_json = CopyOut(*result);
      if (*out_json == nullptr) return Fail(absl::ResourceExhaustedError("out of memory"));
    }
    return Succeed();
  } catch (const std::exception& e) {
    return Fail(absl::InternalError(std::string("libtrygg: ") + e.what()));
  } catch (...) {
    return Fail(absl::InternalError("libtrygg: unexpected failure"));
  }
}

// The sessions this thread is inside a call of (a trygg_watch callback runs
// inside its watch): a call on one of them from the same thread would wait
// for itself.
thread_local std::vector<const SessionCore*> t_inside;

absl::Status ClosedError() {
  return absl::FailedPreconditionError("the session is closed (trygg_session_close was called)");
}

// The same on a session: holds a reference to its core for the whole call
// and its lock while `body` runs. Refuses a closed session and a call from
// inside a call on the same session (a watch callback calling into its own
// session) with FAILED_PRECONDITION.
template <typename Body>
trygg_code OnSession(trygg_session* session, char** out_json, Body body) {
  if (out_json != nullptr) *out_json = nullptr;
  if (session == nullptr) return Fail(absl::InvalidArgumentError("the session is NULL"));
  std::shared_ptr<SessionCore> core;
  {
    std::lock_guard<std::mutex> lock(session->mu);
    core = session->core;
  }
  if (core == nullptr) return Fail(ClosedError());
  for (const SessionCore* inside : t_inside) {
    if (inside == core.get()) {
      return Fail(absl::FailedPreconditionError(
          "this thread is already inside a call on this session (a trygg_watch callback called into its own "
          "session); use another session, or make the call from another thread"));
    }
  }
  std::lock_guard<std::mutex> lock(core->mu);
  if (core->closed.load()) return Fail(ClosedError());
  t_inside.push_back(core.get());
  struct Leave {
    ~Leave() { t_inside.pop_back(); }
  } leave;
  return Run(out_json, [&]() { return body(*core); });
}

// Closed handles, kept so that a later call on one is refused rather than
// reading freed memory (and reachable, so leak checkers do not report them).
void KeepClosedShell(trygg_session* shell) {
  static std::mutex* const mu = new std::mutex;
  static std::vector<trygg_session*>* const shells = new std::vector<trygg_session*>;
  std::lock_guard<std::mutex> lock(*mu);
  shells->push_back(shell);
}

// ---- Views as JSON ----------------------------------------------------------------

std::string ListingJson(const VerifiedListing& v) {
  const Listing& l = v.listing;
  std::vector<std::string> regions, languages;
  for (const std::string& r : l.regions) regions.push_back(Str(r));
  for (const std::string& t : l.languages) languages.push_back(Str(t));
  return Obj()
      .Add("listing_id", IdJson(l.listing_id))
      .Add("org_id", IdJson(l.org_id))
      .Add("revision", Num(static_cast<int64_t>(l.revision)))
      .Add("category", Str(Name(NamedEnum::kServiceCategory, l.category)))
      .Add("regions", Arr(regions))
      .Add("languages", Arr(languages))
      .Add("capacity_free", Num(v.capacity_free))
      .Add("capacity_updated_at_ms", Num(v.capacity_updated_at_ms))
      .Add("capacity_stale", Bool(v.capacity_stale))
      .Add("response_time_hours", Num(l.response_time_hours))
      .Add("contact_hours", Str(l.contact_hours))
      .Add("description", Str(l.description))
      .Add("retired", Bool(v.retired()))
      .Done();
}

Obj ReferralFields(const ReferralRecord& r, ReferralStatus state, uint8_t code, int64_t updated_at_ms,
                   int64_t answer_by_ms, const std::string& from_name, const std::string& to_name) {
  Obj out;
  out.Add("referral_id", IdJson(r.referral_id))
      .Add("case_id", IdJson(r.case_id))
      .Add("from_org", IdJson(r.from_org_id))
      .Add("to_org", IdJson(r.to_org_id))
      .Add("from_org_name", Str(from_name))
      .Add("to_org_name", Str(to_name))
      .Add("listing_id", IdJson(r.listing_id))
      .Add("service", Str(Name(NamedEnum::kServiceCategory, r.service)))
      .Add("urgency", Str(Name(NamedEnum::kUrgency, static_cast<uint8_t>(r.urgency))))
      .Add("basis", Str(Name(NamedEnum::kReferralBasis, static_cast<uint8_t>(r.basis))))
      .Add("state", Str(Name(NamedEnum::kReferralState, static_cast<uint8_t>(state))))
      .Add("created_at_ms", Num(r.created_at_ms))
      .Add("updated_at_ms", Num(updated_at_ms))
      .Add("answer_by_ms", Num(answer_by_ms));
  if (r.basis == ReferralBasis::kConsent) out.Add("consent_id", IdJson(r.consent_id));
  if (state == ReferralStatus::kDeclined) out.Add("decline_reason", Str(Name(NamedEnum::kDeclineReason, code)));
  if (state == ReferralStatus::kCompleted) out.Add("outcome", Str(Name(NamedEnum::kOutcome, code)));
  return out;
}

// The referral as JSON; the view's decrypted packet and justification are
// wiped once written.
std::string ReferralJson(ReferralView& v) {
  struct WipeView {
    ReferralView& v;
    ~WipeView() {
      if (v.packet.has_value()) Wipe(*v.packet);
      if (v.justification.has_value()) Wipe(*v.justification);
    }
  } wipe_view{v};
  Obj out = ReferralFields(v.record, v.state, v.code, v.updated_at_ms, v.answer_by_ms, v.from_org_name,
                           v.to_org_name);
  out.Add("incoming", Bool(v.incoming)).Add("sent_by_device", IdJson(v.record.sender_device_id));
  std::vector<std::string> transitions;
  for (const SignedTransitionView& t : v.transitions) {
    transitions.push_back(Obj()
                              .Add("from", Str(Name(NamedEnum::kReferralState, t.transition.from_state)))
                              .Add("to", Str(Name(NamedEnum::kReferralState, t.transition.to_state)))
                              .Add("at_ms", Num(t.transition.at_ms))
                              .Add("by_device", IdJson(t.transition.actor_device_id))
                              .Add("by_org", IdJson(t.actor_org))
                              .Done());
  }
  out.Add("transitions", Arr(transitions));
  if (v.packet.has_value()) {
    absl::StatusOr<trygg::v1::ReferralPacket> packet = ReadReferralPacket(*v.packet);
    std::string text =
        packet.ok() ? ReferralPacketToJson(*packet)
                    : Obj().Add("text", Str(std::string_view(reinterpret_cast<const char*>(v.packet->data()),
                                                             v.packet->size())))
                          .Done();
    WipeAtExit<std::string> wipe(text);
    if (packet.ok()) packet->Clear();
    out.Add("packet", text);
  }
  if (v.justification.has_value()) {
    std::string text = Str(std::string_view(reinterpret_cast<const char*>(v.justification->data()),
                                            v.justification->size()));
    WipeAtExit<std::string> wipe(text);
    out.Add("vital_interests_justification", text);
  }
  return out.Done();
}

absl::StatusOr<std::string> PageJson(const ReferralPage& page) {
  std::vector<std::string> rows;
  for (const ReferralSummary& r : page.referrals) {
    rows.push_back(ReferralFields(r.record, r.state, r.code, r.updated_at_ms, r.answer_by_ms, r.from_org_name,
                                  r.to_org_name)
                       .Done());
  }
  return Obj().Add("referrals", Arr(rows)).Add("next_page_token", Str(page.next_page_token)).Done();
}

absl::StatusOr<ReferralQuery> Query(const char* state, const char* page_token) {
  ReferralQuery query;
  if (state != nullptr && *state != '\0') {
    TRYGG_ASSIGN_OR_RETURN(uint8_t s, NameArg(NamedEnum::kReferralState, state, "state"));
    query.states.push_back(static_cast<ReferralStatus>(s));
  }
  TRYGG_RETURN_IF_ERROR(Utf8Arg(page_token, "the page token"));
  if (page_token != nullptr) query.page_token = page_token;
  return query;
}

std::vector<uint8_t> Bytes(std::string_view text) { return {text.begin(), text.end()}; }

absl::StatusOr<std::vector<uint8_t>> RecordArg(const char* record_json) {
  TRYGG_ASSIGN_OR_RETURN(std::string_view json, Required(record_json, "the case record"));
  TRYGG_ASSIGN_OR_RETURN(trygg::v1::CaseRecord record, CaseRecordFromJson(json));
  std::string serialized = record.SerializeAsString();
  WipeAtExit<std::string> wipe(serialized);
  record.Clear();
  return Bytes(serialized);
}

}  // namespace
}  // namespace trygg

using namespace trygg;  // NOLINT: the C functions below are thin wrappers.

extern "C" {

int trygg_abi_version(void) { return TRYGG_ABI_VERSION; }

const char* trygg_version(void) { return TRYGG_VERSION_STRING; }

const char* trygg_last_error(void) { return t_error.c_str(); }

const char* trygg_last_error_reason(void) { return t_reason.c_str(); }

void trygg_free(char* buffer) {
  if (buffer == nullptr) return;
  char* block = buffer - kBufferHeader;
  size_t size = 0;
  std::memcpy(&size, block, sizeof(size));
  sodium_memzero(block, size);
  std::free(block);
}

trygg_code trygg_device_init(const char* key_store_path, const char* passphrase, size_t passphrase_len,
                             const char* org_id, char** out_json) {
  return Run(out_json, [&]() -> absl::StatusOr<std::string> {
    TRYGG_ASSIGN_OR_RETURN(std::string_view path, Required(key_store_path, "the key store path"));
    if (passphrase == nullptr || passphrase_len == 0) return Missing("the passphrase");
    TRYGG_ASSIGN_OR_RETURN(Id128 org, IdArg(org_id, "the organisation id"));
    SystemRng rng;
    TRYGG_ASSIGN_OR_RETURN(KeyStoreContents keys, InitDevice(std::string(path), std::string_view(passphrase, passphrase_len),
                                                             org, ModerateKdfLimits(), rng));
    const SignPublicKey& sign_key = keys.device.signing().public_key;
    return Obj()
        .Add("org_id", IdJson(keys.org_id))
        .Add("device_id", IdJson(keys.device_id))
        .Add("sign_key", Str(HexEncode(sign_key.span())))
        .Add("box_key", Str(HexEncode(keys.device.box().public_key.span())))
        .Add("safety_number", Str(SafetyNumber(sign_key)))
        .Done();
  });
}

trygg_code trygg_session_open(const char* key_store_path, const char* passphrase, size_t passphrase_len,
                              const char* server, const char* root_key, const char* tls_roots_pem, unsigned flags,
                              trygg_session** out_session) {
  if (out_session == nullptr) return Fail(absl::InvalidArgumentError("out_session is NULL"));
  *out_session = nullptr;
  constexpr unsigned kKnownFlags = TRYGG_OPEN_LOGIN | TRYGG_OPEN_KEEP_PASSPHRASE;
  if ((flags & ~kKnownFlags) != 0) {
    return Fail(absl::InvalidArgumentError("unknown flags of trygg_session_open (known: TRYGG_OPEN_LOGIN, "
                                           "TRYGG_OPEN_KEEP_PASSPHRASE)"));
  }
  auto session = std::make_shared<SessionCore>();
  const trygg_code code = Run(nullptr, [&]() -> absl::StatusOr<std::string> {
    TRYGG_ASSIGN_OR_RETURN(std::string_view path, Required(key_store_path, "the key store path"));
    if (passphrase == nullptr || passphrase_len == 0) return Missing("the passphrase");
    DeviceSessionOptions options;
    TRYGG_ASSIGN_OR_RETURN(std::string_view address, Required(server, "the server address"));
    options.client.address = std::string(address);
    TRYGG_ASSIGN_OR_RETURN(std::string_view root_hex, Required(root_key, "the platform root key"));
    absl::StatusOr<SignPublicKey> root = SignPublicKey::FromHex(root_hex);
    if (!root.ok()) return absl::InvalidArgumentError("the platform root key must be 64 hex digits");
    options.client.platform_root = *root;
    TRYGG_RETURN_IF_ERROR(Utf8Arg(tls_roots_pem, "the TLS roots"));
    if (tls_roots_pem != nullptr) options.client.tls_root_certificates = tls_roots_pem;
    options.login = (flags & TRYGG_OPEN_LOGIN) != 0;
    options.keep_passphrase = (flags & TRYGG_OPEN_KEEP_PASSPHRASE) != 0;
    TRYGG_ASSIGN_OR_RETURN(session->device, DeviceSession::Open(std::string(path),
                                                                std::string_view(passphrase, passphrase_len), options));
    DeviceSession& d = *session->device;
    session->cases = std::make_unique<CaseClient>(d.client(), d.keys(), d.clock(), d.rng());
    session->referrals = std::make_unique<ReferralClient>(d.client(), d.keys(), *session->cases, d.clock(), d.rng());
    session->directory = std::make_unique<DirectoryClient>(d.client(), d.keys(), d.clock(), d.rng());
    return std::string();
  });
  if (code != TRYGG_OK) return code;
  try {
    auto shell = std::make_unique<trygg_session>();
    shell->core = std::move(session);
    *out_session = shell.release();
  } catch (const std::exception&) {
    return Fail(absl::ResourceExhaustedError("out of memory"));
  }
  return code;
}

void trygg_session_close(trygg_session* session) {
  if (session == nullptr) return;
  std::shared_ptr<SessionCore> core;
  {
    std::lock_guard<std::mutex> lock(session->mu);
    core = std::move(session->core);
    session->core = nullptr;
  }
  if (core == nullptr) return;  // closed before
  core->CancelWatch(/*close=*/true);
  try {
    KeepClosedShell(session);
  } catch (...) {
    // Out of memory: the shell is leaked instead, never freed under a caller.
  }
  // The core goes (logging out, wiping its secrets) here, or when the last
  // call still running on it returns.
}

trygg_code trygg_session_login(trygg_session* session) {
  return OnSession(session, nullptr, [&](SessionCore& s) -> absl::StatusOr<std::string> {
    TRYGG_RETURN_IF_ERROR(s.device->LogIn());
    return std::string();
  });
}

trygg_code trygg_session_info(trygg_session* session, char** out_json) {
  return OnSession(session, out_json, [&](SessionCore& s) -> absl::StatusOr<std::string> {
    const DeviceSession& d = *s.device;
    std::vector<std::string> generations;
    for (const OrgKey& key : d.keys().org_keys) generations.push_back(Num(key.generation));
    return Obj()
        .Add("device_id", IdJson(d.keys().device_id))
        .Add("org_id", IdJson(d.keys().org_id))
        .Add("logged_in", Bool(d.logged_in()))
        .Add("role", d.logged_in() ? Str(Name(NamedEnum::kRole, static_cast<uint8_t>(d.login().role))) : "null")
        .Add("safety_number", Str(SafetyNumber(d.keys().device.signing().public_key)))
        .Add("org_key_generations", Arr(generations))
        .Done();
  });
}

trygg_code trygg_enrol_request(trygg_session* session, const char* role, const char* label, char** out_json) {
  return OnSession(session, out_json, [&](SessionCore& s) -> absl::StatusOr<std::string> {
    TRYGG_ASSIGN_OR_RETURN(uint8_t r, NameArg(NamedEnum::kRole, role, "role"));
    TRYGG_RETURN_IF_ERROR(Utf8Arg(label, "the label"));
    TRYGG_ASSIGN_OR_RETURN(EnrolmentTicket ticket,
                           RequestEnrolment(*s.device, static_cast<Role>(r), label == nullptr ? "" : label));
    return Obj()
        .Add("enrolment_id", IdJson(ticket.enrolment_id))
        .Add("device_id", IdJson(ticket.request.device_id))
        .Add("safety_number", Str(ticket.safety_number))
        .Done();
  });
}

trygg_code trygg_activate(trygg_session* session, char** out_json) {
  return OnSession(session, out_json, [&](SessionCore& s) -> absl::StatusOr<std::string> {
    TRYGG_ASSIGN_OR_RETURN(int added, ActivateDevice(*s.device));
    return Obj().Add("added", Num(added)).Done();
  });
}

trygg_code trygg_case_create(trygg_session* session, const char* record_json, char** out_json) {
  return OnSession(session, out_json, [&](SessionCore& s) -> absl::StatusOr<std::string> {
    TRYGG_ASSIGN_OR_RETURN(std::vector<uint8_t> plaintext, RecordArg(record_json));
    WipeAtExit<std::vector<uint8_t>> wipe(plaintext);
    TRYGG_ASSIGN_OR_RETURN(Id128 case_id, s.cases->CreateCase(plaintext, kContentCaseRecord));
    return Obj().Add("case_id", IdJson(case_id)).Add("version", Num(1)).Done();
  });
}

trygg_code trygg_case_append(trygg_session* session, const char* case_id, const char* record_json,
                             char** out_json) {
  return OnSession(session, out_json, [&](SessionCore& s) -> absl::StatusOr<std::string> {
    TRYGG_ASSIGN_OR_RETURN(Id128 id, IdArg(case_id, "the case id"));
    TRYGG_ASSIGN_OR_RETURN(std::vector<uint8_t> plaintext, RecordArg(record_json));
    WipeAtExit<std::vector<uint8_t>> wipe(plaintext);
    TRYGG_ASSIGN_OR_RETURN(uint64_t version, s.cases->AppendVersion(id, plaintext, kContentCaseRecord, {}));
    return Obj().Add("case_id", IdJson(id)).Add("version", Num(static_cast<int64_t>(version))).Done();
  });
}

trygg_code trygg_case_read(trygg_session* session, const char* case_id, char** out_json) {
  return OnSession(session, out_json, [&](SessionCore& s) -> absl::StatusOr<std::string> {
    TRYGG_ASSIGN_OR_RETURN(Id128 id, IdArg(case_id, "the case id"));
    TRYGG_ASSIGN_OR_RETURN(CaseRead read, s.cases->ReadCase(id));
    std::vector<std::string> versions;
    struct WipeRead {
      CaseRead& read;
      std::vector<std::string>& versions;
      ~WipeRead() {
        for (CaseVersion& v : read.versions) Wipe(v.plaintext);
        for (std::string& v : versions) Wipe(v);
      }
    } wipe_read{read, versions};
    for (const CaseVersion& v : read.versions) {
      Obj version;
      version.Add("version", Num(static_cast<int64_t>(v.header.version)))
          .Add("created_at_ms", Num(v.header.created_at_ms))
          .Add("author_org", IdJson(v.header.author_org))
          .Add("author_device", IdJson(v.header.author_device))
          .Add("content_type", Num(v.header.content_type))
          .Add("attachments", Num(static_cast<int64_t>(v.attachment_hashes.size())));
      trygg::v1::CaseRecord record;
      std::string content;
      WipeAtExit<std::string> wipe_content(content);
      if (v.header.content_type == kContentCaseRecord &&
          record.ParseFromArray(v.plaintext.data(), static_cast<int>(v.plaintext.size()))) {
        content = CaseRecordToJson(record);
        version.Add("record", content);
      } else {
        content = Str(std::string_view(reinterpret_cast<const char*>(v.plaintext.data()), v.plaintext.size()));
        version.Add("text", content);
      }
      versions.push_back(version.Done());
    }
    std::string all = Arr(versions);
    WipeAtExit<std::string> wipe_all(all);
    std::string latest = CaseRecordToJson(LatestCaseRecord(read));
    WipeAtExit<std::string> wipe_latest(latest);
    return Obj().Add("case_id", IdJson(id)).Add("versions", all).Add("latest", latest).Done();
  });
}

trygg_code trygg_case_list(trygg_session* session, char** out_json) {
  return OnSession(session, out_json, [&](SessionCore& s) -> absl::StatusOr<std::string> {
    TRYGG_ASSIGN_OR_RETURN(std::vector<CaseListing> cases, s.cases->ListCases());
    std::vector<std::string> rows;
    for (const CaseListing& c : cases) {
      rows.push_back(Obj()
                         .Add("case_id", IdJson(c.case_id))
                         .Add("owner_org", IdJson(c.owner_org))
                         .Add("head_version", Num(static_cast<int64_t>(c.head_version)))
                         .Add("updated_at_ms", Num(c.updated_at_ms))
                         .Done());
    }
    return Obj().Add("cases", Arr(rows)).Done();
  });
}

trygg_code trygg_consent_record(trygg_session* session, const char* case_id, const char* to_org,
                                const char* services, int64_t expires_at_ms, const char* evidence,
                                char** out_json) {
  return OnSession(session, out_json, [&](SessionCore& s) -> absl::StatusOr<std::string> {
    ConsentTerms terms;
    TRYGG_ASSIGN_OR_RETURN(terms.case_id, IdArg(case_id, "the case id"));
    if (to_org != nullptr && *to_org != '\0') {
      TRYGG_ASSIGN_OR_RETURN(terms.to_org, IdArg(to_org, "to_org"));
    }
    TRYGG_ASSIGN_OR_RETURN(std::string_view names, Required(services, "the services"));
    while (!names.empty()) {
      const size_t comma = names.find(',');
      const std::string name(names.substr(0, comma));
      names = comma == std::string_view::npos ? std::string_view() : names.substr(comma + 1);
      TRYGG_ASSIGN_OR_RETURN(uint8_t service, NameArg(NamedEnum::kServiceCategory, name.c_str(), "service"));
      terms.services |= ServiceBit(service);
    }
    terms.expires_at_ms = expires_at_ms;
    TRYGG_ASSIGN_OR_RETURN(std::string_view text, Required(evidence, "the evidence of consent"));
    terms.evidence = Bytes(text);
    WipeAtExit<std::vector<uint8_t>> wipe(terms.evidence);
    TRYGG_ASSIGN_OR_RETURN(Id128 consent_id, s.referrals->RecordConsent(terms));
    return Obj().Add("consent_id", IdJson(consent_id)).Done();
  });
}

trygg_code trygg_directory_search(trygg_session* session, const char* category, const char* region,
                                  const char* language, int open_capacity_only, char** out_json) {
  return OnSession(session, out_json, [&](SessionCore& s) -> absl::StatusOr<std::string> {
    ListingQuery query;
    if (category != nullptr && *category != '\0') {
      TRYGG_ASSIGN_OR_RETURN(query.category, NameArg(NamedEnum::kServiceCategory, category, "category"));
    }
    TRYGG_RETURN_IF_ERROR(Utf8Arg(region, "the region"));
    TRYGG_RETURN_IF_ERROR(Utf8Arg(language, "the language"));
    if (region != nullptr) query.region = region;
    if (language != nullptr) query.language = language;
    query.open_capacity_only = open_capacity_only != 0;
    TRYGG_ASSIGN_OR_RETURN(ListingResults results, s.directory->Search(query));
    std::vector<std::string> listings;
    for (const VerifiedListing& v : results.listings) listings.push_back(ListingJson(v));
    return Obj()
        .Add("listings", Arr(listings))
        .Add("next_page_token", Str(results.next_page_token))
        .Add("rejected", Num(results.rejected))
        .Done();
  });
}

trygg_code trygg_refer(trygg_session* session, const char* case_id, const char* listing_id, const char* consent_id,
                       const char* vital_interests, const char* const* share, size_t share_count, const char* note,
                       const char* urgency, char** out_json) {
  return OnSession(session, out_json, [&](SessionCore& s) -> absl::StatusOr<std::string> {
    ReferralRequest request;
    TRYGG_ASSIGN_OR_RETURN(request.case_id, IdArg(case_id, "the case id"));
    TRYGG_ASSIGN_OR_RETURN(request.listing_id, IdArg(listing_id, "the listing id"));
    if (consent_id != nullptr && *consent_id != '\0') {
      TRYGG_ASSIGN_OR_RETURN(Id128 consent, IdArg(consent_id, "the consent id"));
      request.consent_id = consent;
    }
    TRYGG_RETURN_IF_ERROR(Utf8Arg(vital_interests, "the vital-interests justification"));
    if (vital_interests != nullptr) request.vital_interests = vital_interests;
    if (share_count > 0 && share == nullptr) return Missing("the section names");
    for (size_t i = 0; i < share_count; ++i) {
      if (share[i] == nullptr) return Missing("a section name");
      TRYGG_RETURN_IF_ERROR(Utf8Arg(share[i], "a section name"));
      request.share.push_back(share[i]);
    }
    TRYGG_RETURN_IF_ERROR(Utf8Arg(note, "the note"));
    if (note != nullptr) request.note = note;
    if (urgency != nullptr && *urgency != '\0') {
      TRYGG_ASSIGN_OR_RETURN(uint8_t u, NameArg(NamedEnum::kUrgency, urgency, "urgency"));
      request.urgency = static_cast<ReferralUrgency>(u);
    }
    WipeAtExit<std::string> wipe_note(request.note);
    WipeAtExit<std::string> wipe_justification(request.vital_interests);
    TRYGG_ASSIGN_OR_RETURN(ReferralDraft draft, PrepareReferral(*s.cases, *s.directory, request));
    WipeAtExit<std::vector<uint8_t>> wipe_packet(draft.packet);
    WipeAtExit<std::vector<uint8_t>> wipe_draft_justification(draft.justification);
    TRYGG_ASSIGN_OR_RETURN(Id128 referral_id, s.referrals->Refer(draft));
    TRYGG_ASSIGN_OR_RETURN(ReferralView view, s.referrals->Get(referral_id));
    return ReferralJson(view);
  });
}

trygg_code trygg_inbox(trygg_session* session, const char* state, const char* page_token, char** out_json) {
  return OnSession(session, out_json, [&](SessionCore& s) -> absl::StatusOr<std::string> {
    TRYGG_ASSIGN_OR_RETURN(ReferralQuery query, Query(state, page_token));
    TRYGG_ASSIGN_OR_RETURN(ReferralPage page, s.referrals->Inbox(query));
    return PageJson(page);
  });
}

trygg_code trygg_outbox(trygg_session* session, const char* state, const char* page_token, char** out_json) {
  return OnSession(session, out_json, [&](SessionCore& s) -> absl::StatusOr<std::string> {
    TRYGG_ASSIGN_OR_RETURN(ReferralQuery query, Query(state, page_token));
    TRYGG_ASSIGN_OR_RETURN(ReferralPage page, s.referrals->Outbox(query));
    return PageJson(page);
  });
}

trygg_code trygg_referral_get(trygg_session* session, const char* referral_id, char** out_json) {
  return OnSession(session, out_json, [&](SessionCore& s) -> absl::StatusOr<std::string> {
    TRYGG_ASSIGN_OR_RETURN(Id128 id, IdArg(referral_id, "the referral id"));
    TRYGG_ASSIGN_OR_RETURN(ReferralView view, s.referrals->Get(id));
    return ReferralJson(view);
  });
}

trygg_code trygg_referral_accept(trygg_session* session, const char* referral_id, char** out_json) {
  return OnSession(session, out_json, [&](SessionCore& s) -> absl::StatusOr<std::string> {
    TRYGG_ASSIGN_OR_RETURN(Id128 id, IdArg(referral_id, "the referral id"));
    TRYGG_ASSIGN_OR_RETURN(ReferralView view, s.referrals->Accept(id));
    return ReferralJson(view);
  });
}

trygg_code trygg_referral_decline(trygg_session* session, const char* referral_id, const char* reason,
                                  char** out_json) {
  return OnSession(session, out_json, [&](SessionCore& s) -> absl::StatusOr<std::string> {
    TRYGG_ASSIGN_OR_RETURN(Id128 id, IdArg(referral_id, "the referral id"));
    TRYGG_ASSIGN_OR_RETURN(uint8_t code, NameArg(NamedEnum::kDeclineReason, reason, "decline reason"));
    TRYGG_ASSIGN_OR_RETURN(ReferralView view, s.referrals->Decline(id, static_cast<DeclineReason>(code)));
    return ReferralJson(view);
  });
}

trygg_code trygg_referral_complete(trygg_session* session, const char* referral_id, const char* outcome,
                                   char** out_json) {
  return OnSession(session, out_json, [&](SessionCore& s) -> absl::StatusOr<std::string> {
    TRYGG_ASSIGN_OR_RETURN(Id128 id, IdArg(referral_id, "the referral id"));
    TRYGG_ASSIGN_OR_RETURN(uint8_t code, NameArg(NamedEnum::kOutcome, outcome, "outcome"));
    TRYGG_ASSIGN_OR_RETURN(ReferralView view, s.referrals->Complete(id, static_cast<ReferralOutcome>(code)));
    return ReferralJson(view);
  });
}

trygg_code trygg_audit_verify(trygg_session* session, char** out_json) {
  return OnSession(session, out_json, [&](SessionCore& s) -> absl::StatusOr<std::string> {
    TRYGG_ASSIGN_OR_RETURN(AuditTrailReport report, s.device->client().VerifyAuditTrail());
    return Obj()
        .Add("tree_size", NumU(report.head.tree_size))
        .Add("timestamp_ms", Num(report.head.timestamp_ms))
        .Add("root_hash", Str(HexEncode(report.head.root_hash.span())))
        .Add("previous_tree_size", NumU(report.previous_tree_size))
        .Add("writes_verified", NumU(report.writes_verified))
        .Add("entries_verified", NumU(report.entries_verified))
        .Add("writes_pending", NumU(report.writes_pending))
        .Done();
  });
}

trygg_code trygg_watch(trygg_session* session, int64_t timeout_ms, trygg_watch_fn on_notice, void* user_data) {
  return OnSession(session, nullptr, [&](SessionCore& s) -> absl::StatusOr<std::string> {
    if (on_notice == nullptr) return Missing("the notice callback");
    if (timeout_ms < 0) return absl::InvalidArgumentError("timeout_ms must be 0 (no limit) or more");
    const int64_t deadline = timeout_ms == 0 ? 0 : s.device->clock().NowUnixMillis() + timeout_ms;
    WatchCancel cancel;
    {
      std::lock_guard<std::mutex> lock(s.watch_mu);
      if (s.closed.load()) return ClosedError();
      s.watching = &cancel;
    }
    struct Unregister {
      SessionCore& s;
      ~Unregister() {
        std::lock_guard<std::mutex> lock(s.watch_mu);
        s.watching = nullptr;
      }
    } unregister{s};
    const absl::Status watched = s.referrals->Watch(
        [&](const ReferralNotice& n) {
          const std::string notice = Obj()
                                         .Add("event", Str("referral"))
                                         .Add("referral_id", IdJson(n.referral_id))
                                         .Add("state", Str(Name(NamedEnum::kReferralState,
                                                                static_cast<uint8_t>(n.state))))
                                         .Add("incoming", Bool(n.incoming))
                                         .Add("at_ms", Num(n.at_ms))
                                         .Done();
          return on_notice(user_data, notice.c_str()) != 0;
        },
        deadline, [&] {
          // Once the server has registered the stream: every change from now
          // on reaches the callback.
          const std::string open = Obj().Add("event", Str("open")).Done();
          on_notice(user_data, open.c_str());
        },
        &cancel);
    if (absl::IsCancelled(watched) && cancel.cancelled()) {
      return absl::CancelledError(s.closed.load() ? "the session was closed while trygg_watch ran (trygg_session_close)"
                                                  : "the watch was cancelled (trygg_watch_cancel)");
    }
    TRYGG_RETURN_IF_ERROR(watched);
    return std::string();
  });
}

void trygg_watch_cancel(trygg_session* session) {
  if (session == nullptr) return;
  std::shared_ptr<SessionCore> core;
  {
    std::lock_guard<std::mutex> lock(session->mu);
    core = session->core;
  }
  if (core != nullptr) core->CancelWatch(/*close=*/false);
}

}  // extern "C"
