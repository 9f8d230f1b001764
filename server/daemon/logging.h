// tryggd's log: one line per event on stderr, UTC timestamps, levels. Log
// calls take only metadata (ids, codes, counts, durations): never a request
// payload, key, token or plaintext. gRPC's own log lines are routed here too.
#ifndef TRYGG_SERVER_DAEMON_LOGGING_H_
#define TRYGG_SERVER_DAEMON_LOGGING_H_

#include <string>

namespace trygg::server {

// Installs the process-wide logger at `level` (validated by ValidateConfig).
void InitLogging(const std::string& level);

}  // namespace trygg::server

#endif  // TRYGG_SERVER_DAEMON_LOGGING_H_
