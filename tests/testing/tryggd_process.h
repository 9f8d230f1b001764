// SPDX-License-Identifier: Apache-2.0

// Runs the real tryggd binary as a child process for integration tests: starts
// it on a loopback port chosen by the kernel (port 0), reads the address it
// prints, and stops it with a signal, reporting how it exited.
//
// Thread-safety: one test thread per object.
#ifndef TRYGG_TESTS_TESTING_TRYGGD_PROCESS_H_
#define TRYGG_TESTS_TESTING_TRYGGD_PROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace trygg::testing {

// Path of the built tryggd (TRYGG_BUILD_DIR is set by ctest).
std::string TryggdPath();

struct ExitResult {
  bool exited = false;   // false: killed by a signal
  int code = -1;         // exit status, or the signal number
  std::string stdout_text;
  std::string stderr_text;
};

// Runs tryggd to completion (for start-up failures); kills it after `timeout`.
ExitResult RunTryggd(const std::vector<std::string>& args,
                     std::chrono::milliseconds timeout = std::chrono::seconds(20));

class TryggdProcess {
 public:
  // Starts tryggd with `args` (and `extra_env`, "NAME=value" entries added to
  // this process's environment) and waits until it prints its address. On
  // failure, `ok()` is false and `startup_error()` holds its output.
  explicit TryggdProcess(const std::vector<std::string>& args,
                         std::chrono::milliseconds timeout = std::chrono::seconds(20),
                         const std::vector<std::string>& extra_env = {});
  ~TryggdProcess();
  TryggdProcess(const TryggdProcess&) = delete;
  TryggdProcess& operator=(const TryggdProcess&) = delete;

  bool ok() const { return !address_.empty(); }
  const std::string& address() const { return address_; }
  const std::string& startup_error() const { return startup_error_; }
  pid_t pid() const { return pid_; }
  // What it has printed on stdout so far (at least its start-up lines).
  const std::string& stdout_text() const { return stdout_text_; }
  // What it has written to stderr (its log) so far; empty after Stop, which
  // returns it.
  std::string stderr_text() const;

  // Sends `signal` and waits for the exit (SIGKILL after `timeout`).
  ExitResult Stop(int signal, std::chrono::milliseconds timeout = std::chrono::seconds(20));

 private:
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  int stderr_fd_ = -1;
  int stderr_file_ = -1;
  std::string stdout_text_;
  std::string address_;
  std::string startup_error_;
};

}  // namespace trygg::testing

#endif  // TRYGG_TESTS_TESTING_TRYGGD_PROCESS_H_
