// SPDX-License-Identifier: Apache-2.0

// tryggd's log: one line per event on stderr, UTC timestamps, levels, either
// as text for people or as one JSON object per line for log collectors
// (docs/operator-guide.md, "Logs"). Log calls take only metadata (ids, codes,
// counts, durations): never a request payload, key, token or plaintext.
// gRPC's own log lines are routed here too.
//
// Thread-safety: InitLogging runs once, in main, before any other thread
// starts; LogCall and spdlog's functions may then be called from any thread.
#ifndef TRYGG_SERVER_DAEMON_LOGGING_H_
#define TRYGG_SERVER_DAEMON_LOGGING_H_

#include <memory>
#include <string>
#include <string_view>

#include <spdlog/formatter.h>

namespace trygg::server {

// Installs the process-wide logger at `level` in `format` ("text" or "json";
// both validated by ValidateConfig).
void InitLogging(const std::string& level, const std::string& format);

// One finished gRPC call: the `rpc` event.
struct CallEvent {
  // The method's full name ("/trygg.v1.CaseService/CreateCase"), or
  // "unknown" for a name this server does not serve.
  std::string_view method;
  // The gRPC status code's name ("OK", "NOT_FOUND").
  std::string_view status;
  double duration_ms = 0;
  // The client's request_id, already validated (api/request_id.h); empty
  // when it sent none.
  std::string_view request_id;
};

// Logs `event` at info level (text: "rpc method=... status=... duration_ms=...
// request_id=..."; JSON: those fields as members).
void LogCall(const CallEvent& event);

// The formatter of --log-format json: every line a JSON object with "time",
// "level" and "event"; `rpc` events carry their fields, every other line is
// event "log" with its text in "message". Text that is not valid UTF-8 is
// written with U+FFFD in place of the bad bytes, so a line always parses.
std::unique_ptr<spdlog::formatter> MakeJsonFormatter();

// The name of the logger whose messages are the JSON members of `rpc` events.
inline constexpr char kCallLoggerName[] = "rpc";

}  // namespace trygg::server

#endif  // TRYGG_SERVER_DAEMON_LOGGING_H_
