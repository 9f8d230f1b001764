/* SPDX-License-Identifier: Apache-2.0 */

/* libtrygg's C interface (libtrygg_c): the partner flows for apps written in
 * C or bound from another language (bindings/python/ binds it with ctypes).
 * Everything is sealed and verified inside libtrygg exactly as for the C++
 * API; this layer only carries text across. docs/partner-guide.md walks
 * through each flow.
 *
 * Conventions, for every function:
 *  - Text is UTF-8 and NUL-terminated; every text argument (paths, notes,
 *    justifications, evidence, records, names, ids) that is not valid UTF-8
 *    (overlong forms, surrogates, cut sequences) is refused with
 *    TRYGG_INVALID_ARGUMENT naming the argument ("the note is not valid
 *    UTF-8"), before anything is sealed or sent. Passphrases are bytes and
 *    are not checked. Ids are 32 lower-case hex digits.
 *    Names of services, states, reasons and outcomes are the kebab-case names
 *    of docs/api.md ("legal-advice", "accepted", "no-capacity").
 *  - Results that are more than a code come back as JSON text in a buffer the
 *    library allocates (`char** out_json`); the caller owns it and releases it
 *    with trygg_free. On failure *out_json is set to NULL.
 *  - Every function returns a trygg_code: TRYGG_OK (0), or the failure's
 *    gRPC/Abseil status code. trygg_last_error() then says what went wrong
 *    in words a person can act on, and trygg_last_error_reason() names a
 *    verification failure ("wrong-passphrase", "rollback", "fork", ...).
 *    Both are per thread and stay valid until that thread's next trygg_ call.
 *  - Handles (trygg_session) are opaque; no C++ type crosses this header.
 *  - Passphrases cross as pointer and length, are not copied except into
 *    sodium-locked memory (with TRYGG_OPEN_KEEP_PASSPHRASE), and are never
 *    kept in ordinary memory. The caller wipes its own copy after the call
 *    (explicit_bzero, sodium_memzero).
 *
 * Thread-safety: every function may be called from any thread. Calls on one
 * trygg_session are serialised by the session (one at a time; trygg_watch
 * holds its session until it returns, so watch on a session of its own).
 * Different sessions run in parallel. trygg_session_close may race other
 * calls on the same session, and may be called from a watch callback: it
 * cancels a running trygg_watch (which returns TRYGG_CANCELLED), calls
 * already running finish, and every later call on the handle returns
 * TRYGG_FAILED_PRECONDITION ("the session is closed"). A call on a session
 * from inside a call on the same session on the same thread (a trygg_watch
 * callback calling into its own session) returns TRYGG_FAILED_PRECONDITION
 * instead of waiting for itself.
 *
 * ABI: TRYGG_ABI_VERSION is the version of this interface, and
 * trygg_abi_version() that of the loaded library; a program checks that they
 * are equal at start-up. The ABI changes (and TRYGG_ABI_VERSION with it, and
 * libtrygg_c's SONAME) when a function is removed or its parameters or
 * meaning change, or when a trygg_code or flag value changes meaning.
 * Adding a function, a JSON field in a result, an enum value or a flag does
 * not break it: read JSON results by key and ignore keys you do not know.
 */
#ifndef TRYGG_TRYGG_H_
#define TRYGG_TRYGG_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define TRYGG_C_API __attribute__((visibility("default")))
#else
#define TRYGG_C_API
#endif

#define TRYGG_ABI_VERSION 1

/* The status codes of gRPC and Abseil, with the same numbers. */
typedef enum trygg_code {
  TRYGG_OK = 0,
  TRYGG_CANCELLED = 1,
  TRYGG_UNKNOWN = 2,
  TRYGG_INVALID_ARGUMENT = 3,
  TRYGG_DEADLINE_EXCEEDED = 4,
  TRYGG_NOT_FOUND = 5,
  TRYGG_ALREADY_EXISTS = 6,
  TRYGG_PERMISSION_DENIED = 7,
  TRYGG_RESOURCE_EXHAUSTED = 8,
  TRYGG_FAILED_PRECONDITION = 9,
  TRYGG_ABORTED = 10,
  TRYGG_OUT_OF_RANGE = 11,
  TRYGG_UNIMPLEMENTED = 12,
  TRYGG_INTERNAL = 13,
  TRYGG_UNAVAILABLE = 14,
  TRYGG_DATA_LOSS = 15,
  TRYGG_UNAUTHENTICATED = 16
} trygg_code;

/* The ABI version of the loaded library (compare with TRYGG_ABI_VERSION),
 * and libtrygg's version ("0.1.0"; a static string). */
TRYGG_C_API int trygg_abi_version(void);
TRYGG_C_API const char* trygg_version(void);

/* The message of this thread's last failed call ("" after a success), and
 * the name of its verification failure ("" when it was not one). Owned by
 * the library; valid until this thread's next trygg_ call. */
TRYGG_C_API const char* trygg_last_error(void);
TRYGG_C_API const char* trygg_last_error_reason(void);

/* Releases a buffer a trygg_ function returned (NULL is ignored; any other
 * pointer is undefined behaviour). Results may hold personal data: the whole
 * allocation is wiped before it is freed, not only up to the first NUL.
 * libtrygg also wipes its own intermediate copies of decrypted content and
 * of records (on failures too), as far as it reaches them. */
TRYGG_C_API void trygg_free(char* buffer);

/* ---- The device ------------------------------------------------------- */

/* Creates this device's key store at `key_store_path` (its directory too)
 * for organisation `org_id`, sealed under the passphrase (Argon2id
 * MODERATE). ALREADY_EXISTS when there is one: device init runs once.
 * Result: {"org_id", "device_id", "sign_key", "box_key", "safety_number"}. */
TRYGG_C_API trygg_code trygg_device_init(const char* key_store_path, const char* passphrase,
                                         size_t passphrase_len, const char* org_id, char** out_json);

typedef struct trygg_session trygg_session;

/* Flags of trygg_session_open. */
#define TRYGG_OPEN_LOGIN 1u           /* sign in (not before the device is approved) */
#define TRYGG_OPEN_KEEP_PASSPHRASE 2u /* keep it, locked, for trygg_activate */

/* Opens the key store, connects to `server` (host:port) pinned to the
 * platform root `root_key` (64 hex digits), over TLS when `tls_roots_pem`
 * is not NULL (plaintext only to loopback), and with TRYGG_OPEN_LOGIN signs
 * in. The organisation log heads this device verified are kept beside the
 * key store in "<key_store_path>.heads". *out_session is the caller's, to
 * close with trygg_session_close. NOT_FOUND without a key store; reason
 * "wrong-passphrase" for a wrong passphrase; INVALID_ARGUMENT for a flag bit
 * this library does not know (nothing is opened). */
TRYGG_C_API trygg_code trygg_session_open(const char* key_store_path, const char* passphrase, size_t passphrase_len,
                                          const char* server, const char* root_key, const char* tls_roots_pem,
                                          unsigned flags, trygg_session** out_session);

/* Logs out and releases everything the session holds; its secrets are wiped.
 * Safe while other threads call on the session: a running trygg_watch on it
 * ends with TRYGG_CANCELLED, the session is released when the last call
 * running on it returns, and later calls on the handle are refused with
 * TRYGG_FAILED_PRECONDITION (a second close does nothing), never touching
 * freed memory: the handle keeps a few dozen bytes (no secret) for the life of the
 * process so that this holds. NULL is ignored. */
TRYGG_C_API void trygg_session_close(trygg_session* session);

/* Signs in a session opened without TRYGG_OPEN_LOGIN. */
TRYGG_C_API trygg_code trygg_session_login(trygg_session* session);

/* This device: {"device_id", "org_id", "role", "logged_in", "safety_number",
 * "org_key_generations"}. */
TRYGG_C_API trygg_code trygg_session_info(trygg_session* session, char** out_json);

/* The enrolment request (works before login): `role` "caseworker" or
 * "org-admin", `label` a short name the admin recognises. Result:
 * {"enrolment_id", "safety_number"}; show the safety number to the admin,
 * who compares it before approving. */
TRYGG_C_API trygg_code trygg_enrol_request(trygg_session* session, const char* role, const char* label,
                                          char** out_json);

/* After approval, on a session opened with TRYGG_OPEN_LOGIN and
 * TRYGG_OPEN_KEEP_PASSPHRASE: receives and verifies the organisation keys and
 * saves the key store. Result: {"added": N}. */
TRYGG_C_API trygg_code trygg_activate(trygg_session* session, char** out_json);

/* ---- Cases ------------------------------------------------------------ */

/* Opens a case whose first version is `record_json`, a trygg.v1.CaseRecord
 * in JSON (docs/case-record.md). Result: {"case_id", "version": 1}. */
TRYGG_C_API trygg_code trygg_case_create(trygg_session* session, const char* record_json, char** out_json);

/* Adds a version. Result: {"case_id", "version"}. */
TRYGG_C_API trygg_code trygg_case_append(trygg_session* session, const char* case_id, const char* record_json,
                                         char** out_json);

/* Every version, verified and decrypted: {"case_id", "versions": [{"version",
 * "created_at_ms", "author_org", "author_device", "content_type", "record"
 * (the case record's JSON, for content type 2) or "text"}], "latest": the
 * latest case record}. */
TRYGG_C_API trygg_code trygg_case_read(trygg_session* session, const char* case_id, char** out_json);

/* The cases this organisation may read: {"cases": [{"case_id", "owner_org",
 * "head_version", "updated_at_ms"}]}. */
TRYGG_C_API trygg_code trygg_case_list(trygg_session* session, char** out_json);

/* Records the survivor's consent to referrals of `case_id`: to `to_org`
 * (NULL or "": any member organisation), for `services` (comma-separated
 * names, e.g. "shelter,legal-advice"), until `expires_at_ms` (Unix ms), with
 * `evidence` (what was agreed and how; sealed). Result: {"consent_id"}. */
TRYGG_C_API trygg_code trygg_consent_record(trygg_session* session, const char* case_id, const char* to_org,
                                            const char* services, int64_t expires_at_ms, const char* evidence,
                                            char** out_json);

/* ---- The directory ---------------------------------------------------- */

/* Verified listings; each filter may be NULL or "" (any). `category` a
 * service name, `region` ISO 3166-2, `language` BCP 47. Result: {"listings":
 * [{"listing_id", "org_id", "category", "regions", "languages",
 * "capacity_free", "capacity_stale", "response_time_hours", "contact_hours",
 * "description", "retired"}], "rejected": N listings that did not verify}. */
TRYGG_C_API trygg_code trygg_directory_search(trygg_session* session, const char* category, const char* region,
                                              const char* language, int open_capacity_only, char** out_json);

/* ---- Referrals -------------------------------------------------------- */

/* Refers `case_id` to the service `listing_id`. Exactly one of `consent_id`
 * and `vital_interests` (a justification, sealed and flagged to coordinators)
 * is given, the other NULL. The packet shares the `share_count` sections
 * named in `share` ("person", "exploitation", "needs", "contacts",
 * "support_plan", "comments") of the latest case record, and `note` (may be
 * NULL). `urgency` "routine", "urgent" or "emergency" (NULL: routine).
 * Result: the referral as trygg_referral_get returns it. */
TRYGG_C_API trygg_code trygg_refer(trygg_session* session, const char* case_id, const char* listing_id,
                                   const char* consent_id, const char* vital_interests, const char* const* share,
                                   size_t share_count, const char* note, const char* urgency, char** out_json);

/* Referrals to (inbox) or from (outbox) this organisation, newest first;
 * `state` a state name or NULL for all; `page_token` NULL for the first page.
 * Result: {"referrals": [{"referral_id", "case_id", "from_org", "to_org",
 * "from_org_name", "to_org_name", "listing_id", "service", "urgency",
 * "basis", "state", "created_at_ms", "updated_at_ms", "answer_by_ms"}],
 * "next_page_token"}. */
TRYGG_C_API trygg_code trygg_inbox(trygg_session* session, const char* state, const char* page_token,
                                   char** out_json);
TRYGG_C_API trygg_code trygg_outbox(trygg_session* session, const char* state, const char* page_token,
                                    char** out_json);

/* One referral, every signature verified: the fields of a list entry, plus
 * "incoming", "transitions", "packet" (the ReferralPacket's JSON while this
 * organisation may read it, else absent), "vital_interests_justification"
 * and "decline_reason" or "outcome" by state. */
TRYGG_C_API trygg_code trygg_referral_get(trygg_session* session, const char* referral_id, char** out_json);

/* The receiver's answers and the outcome; each returns the referral as
 * trygg_referral_get does. `reason`: a decline reason name ("no-capacity",
 * ...); `outcome`: an outcome name ("service-provided", ...).
 * FAILED_PRECONDITION when the referral is not in a state that allows it. */
TRYGG_C_API trygg_code trygg_referral_accept(trygg_session* session, const char* referral_id, char** out_json);
TRYGG_C_API trygg_code trygg_referral_decline(trygg_session* session, const char* referral_id, const char* reason,
                                              char** out_json);
TRYGG_C_API trygg_code trygg_referral_complete(trygg_session* session, const char* referral_id,
                                               const char* outcome, char** out_json);

/* Proves that the server's audit log holds this device's writes since the
 * last check and only grew since the head the device verified before
 * (docs/audit.md 4.1), then remembers the new head. Every write queues its
 * audit receipt in the device's state file until this runs, and each save of
 * that file costs more the longer the queue: call it regularly (daily, say,
 * and before a device is retired). {"tree_size", "timestamp_ms", "root_hash",
 * "previous_tree_size", "writes_verified", "entries_verified",
 * "writes_pending"}. DATA_LOSS naming what failed: an entry or head the
 * server got wrong, a head signed by another key than the server's
 * certificate, two sessions of this device shown different logs (keep the
 * state file as evidence), or a damaged audit part of the state file
 * (`trygg audit forget --yes` starts afresh). FAILED_PRECONDITION when the
 * server's key is not certified by the platform root (the receipts stay
 * queued). If the new head cannot be saved, the call fails but this session
 * keeps the head it proved. */
TRYGG_C_API trygg_code trygg_audit_verify(trygg_session* session, char** out_json);

/* Called first with {"event": "open"} once the server has registered the
 * watch (every change committed after that is reported), then for each
 * referral notice with {"event": "referral", "referral_id", "state",
 * "incoming", "at_ms"} (no personal data). The text is the library's, for
 * the call only. Return nonzero to keep watching, 0 to stop (ignored for
 * the open event). */
typedef int (*trygg_watch_fn)(void* user_data, const char* notice_json);

/* Follows changes to this organisation's referrals until `on_notice` returns
 * 0 or `timeout_ms` passes (0: no limit), then returns TRYGG_OK; returns
 * TRYGG_CANCELLED when the session is closed meanwhile (by another thread or
 * by the callback). Runs the callback on the calling thread; holds the
 * session until it returns. The callback may call other sessions and
 * trygg_session_close, but a call on the watched session from the callback
 * is refused with TRYGG_FAILED_PRECONDITION. */
TRYGG_C_API trygg_code trygg_watch(trygg_session* session, int64_t timeout_ms, trygg_watch_fn on_notice,
                                   void* user_data);

/* Ends the trygg_watch running on `session`, from its callback or from
 * another thread: that watch returns TRYGG_CANCELLED (a watch started later
 * is not affected). Does nothing when none runs, or for NULL or a closed
 * session; does not wait for the watch to return. */
TRYGG_C_API void trygg_watch_cancel(trygg_session* session);

#ifdef __cplusplus
}  /* extern "C" */
#endif

#endif /* TRYGG_TRYGG_H_ */
