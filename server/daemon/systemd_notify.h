// SPDX-License-Identifier: Apache-2.0

// Readiness for systemd (docs/operator-guide.md, "Package").
//
// Purpose: the packaged unit (packaging/tryggd.service) is Type=notify, so
// systemd counts tryggd as started only once it listens and serves health:
// units ordered after it, and `systemctl start`, wait for that, and a server
// that fails to start is a failed start, not a service that died later.
// Failure modes: none visible. Outside systemd (NOTIFY_SOCKET unset: a shell,
// a test, CI) the call does nothing; a notification systemd cannot receive is
// ignored, since readiness is a courtesy and the server serves regardless.
// Thread-safety: call from one thread (main's start-up).
#ifndef TRYGG_SERVER_DAEMON_SYSTEMD_NOTIFY_H_
#define TRYGG_SERVER_DAEMON_SYSTEMD_NOTIFY_H_

namespace trygg::server {

// Tells systemd the server is ready (sd_notify READY=1). Call once, after the
// server listens.
void NotifySystemdReady();

}  // namespace trygg::server

#endif  // TRYGG_SERVER_DAEMON_SYSTEMD_NOTIFY_H_
