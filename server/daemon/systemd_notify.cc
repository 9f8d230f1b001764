// SPDX-License-Identifier: Apache-2.0

#include "server/daemon/systemd_notify.h"

#include <systemd/sd-daemon.h>

namespace trygg::server {

void NotifySystemdReady() {
  // unset_environment=0: nothing tryggd starts needs NOTIFY_SOCKET, and
  // leaving it set keeps the call harmless if it is ever made twice.
  sd_notify(0, "READY=1");
}

}  // namespace trygg::server
