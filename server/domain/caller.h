// SPDX-License-Identifier: Apache-2.0

// Who is calling: the authenticated device behind a bearer token, as the
// domain sees it. Every authorisation decision takes a Caller.
#ifndef TRYGG_SERVER_DOMAIN_CALLER_H_
#define TRYGG_SERVER_DOMAIN_CALLER_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "server/domain/prechecked_signatures.h"
#include "trygg/bytes.h"
#include "trygg/trust.h"

namespace trygg::domain {

struct Caller {
  Id128 device_id;
  // The device's organisation; for a coordinator, its certificate's subject id.
  Id128 org_id;
  Role role = Role::kCaseworker;
  int64_t session_expires_at_ms = 0;
  // The device's signing key as the session's authentication read it. Only
  // for checking signatures before a write is queued: rules read the key
  // again inside the write (prechecked_signatures.h).
  SignPublicKey sign_key{};
  // This call's signatures checked before its write was queued; may be null.
  std::shared_ptr<const PrecheckedSignatures> prechecked{};
};

// `caller` with `object`'s signature as a `kind` checked now, under the key
// its session found. A handler calls it on its own thread before queueing the
// write, so the Ed25519 work stays off the writer thread; the rule inside the
// write uses the result only for the same object and key
// (prechecked_signatures.h).
// `check(prechecked, key)` adds what it checks to the caller's set.
template <typename Check>
Caller WithPrechecked(Caller caller, Check&& check) {
  auto checked = caller.prechecked != nullptr ? std::make_shared<PrecheckedSignatures>(*caller.prechecked)
                                              : std::make_shared<PrecheckedSignatures>();
  check(*checked, caller.sign_key);
  caller.prechecked = std::move(checked);
  return caller;
}

inline Caller PrecheckSignature(Caller caller, SignedKind kind, const SignedObject& object) {
  return WithPrechecked(std::move(caller), [&](PrecheckedSignatures& checked, const SignPublicKey& key) {
    checked.Check(kind, key, object);
  });
}

// The role checks that rules start with. PERMISSION_DENIED names what the
// caller may not do.

// A caseworker or admin device of a member organisation:
// "only caseworkers and organisation admins <activity>".
inline absl::Status RequireMember(const Caller& caller, std::string_view activity) {
  if (caller.role != Role::kCaseworker && caller.role != Role::kOrgAdmin) {
    return absl::PermissionDeniedError("only caseworkers and organisation admins " + std::string(activity));
  }
  return absl::OkStatus();
}

// Any signed-in device of a member organisation, or a coordinator.
inline absl::Status RequireMemberOrCoordinator(const Caller& caller) {
  if (caller.role == Role::kCaseworker || caller.role == Role::kOrgAdmin || caller.role == Role::kCoordinator) {
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError("not allowed for this role");
}

// An admin device of `org_id`; `refusal` is the whole message.
inline absl::Status RequireOrgAdmin(const Caller& caller, const Id128& org_id, std::string_view refusal) {
  if (caller.role != Role::kOrgAdmin || caller.org_id != org_id) return absl::PermissionDeniedError(std::string(refusal));
  return absl::OkStatus();
}

}  // namespace trygg::domain

#endif  // TRYGG_SERVER_DOMAIN_CALLER_H_
