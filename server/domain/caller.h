// Who is calling: the authenticated device behind a bearer token, as the
// domain sees it. Every authorisation decision takes a Caller.
#ifndef TRYGG_SERVER_DOMAIN_CALLER_H_
#define TRYGG_SERVER_DOMAIN_CALLER_H_

#include "trygg/bytes.h"
#include "trygg/trust.h"

namespace trygg::domain {

struct Caller {
  Id128 device_id;
  // The device's organisation; for a coordinator, its certificate's subject id.
  Id128 org_id;
  Role role = Role::kCaseworker;
  int64_t session_expires_at_ms = 0;
};

}  // namespace trygg::domain

#endif  // TRYGG_SERVER_DOMAIN_CALLER_H_
