// SPDX-License-Identifier: Apache-2.0

#include "testing/tryggd_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string_view>

extern char** environ;

namespace trygg::testing {
namespace {

using SteadyClock = std::chrono::steady_clock;

// The child's stderr goes to `err_file` if it is open (a file the child can
// fill without anyone reading it), else to a pipe returned in `err_fd`.
pid_t Spawn(const std::vector<std::string>& args, const std::vector<std::string>& extra_env, int* out_fd,
            int* err_fd, int err_file = -1) {
  int out[2];
  int err[2] = {-1, -1};
  if (pipe2(out, O_CLOEXEC) != 0 || (err_file < 0 && pipe2(err, O_CLOEXEC) != 0)) std::abort();
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err_file >= 0 ? err_file : err[1], 2);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  std::string path = TryggdPath();
  std::vector<char*> argv;
  argv.push_back(path.data());
  std::vector<std::string> owned = args;
  for (std::string& a : owned) argv.push_back(a.data());
  argv.push_back(nullptr);
  // This process's environment, with `extra_env` ("NAME=value") added.
  std::vector<std::string> env_owned = extra_env;
  std::vector<char*> envp;
  for (char** e = environ; *e != nullptr; ++e) envp.push_back(*e);
  for (std::string& e : env_owned) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawn(&pid, path.c_str(), &actions, nullptr, argv.data(), envp.data()) != 0) std::abort();
  posix_spawn_file_actions_destroy(&actions);
  close(out[1]);
  if (err[1] >= 0) close(err[1]);
  *out_fd = out[0];
  *err_fd = err[0];
  return pid;
}

// Reads what is available from `fd` into `text` within `wait`; false at EOF.
bool ReadSome(int fd, std::string& text, std::chrono::milliseconds wait) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(wait.count())) <= 0) return true;
  char buf[4096];
  ssize_t n = read(fd, buf, sizeof(buf));
  if (n <= 0) return false;
  text.append(buf, static_cast<size_t>(n));
  return true;
}

void Drain(int fd, std::string& text, SteadyClock::time_point deadline) {
  while (fd >= 0 && SteadyClock::now() < deadline && ReadSome(fd, text, std::chrono::milliseconds(50))) {
  }
}

// Polls for the child's exit, a condition, until `deadline` (then kills it):
// waitpid has no timeout of its own, and a SIGCHLD handler would be global
// state shared by every test in the process.
ExitResult WaitFor(pid_t pid, SteadyClock::time_point deadline) {
  ExitResult result;
  int status = 0;
  for (;;) {
    pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (SteadyClock::now() >= deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      break;
    }
    usleep(10 * 1000);
  }
  result.exited = WIFEXITED(status);
  result.code = result.exited ? WEXITSTATUS(status) : WTERMSIG(status);
  return result;
}

}  // namespace

std::string TryggdPath() {
  const char* build = std::getenv("TRYGG_BUILD_DIR");
  return std::string(build != nullptr ? build : ".") + "/server/daemon/tryggd";
}

ExitResult RunTryggd(const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
  int out = -1;
  int err = -1;
  pid_t pid = Spawn(args, {}, &out, &err);
  auto deadline = SteadyClock::now() + timeout;
  std::string out_text;
  std::string err_text;
  Drain(out, out_text, deadline);
  Drain(err, err_text, deadline);
  ExitResult result = WaitFor(pid, deadline);
  close(out);
  close(err);
  result.stdout_text = out_text;
  result.stderr_text = err_text;
  return result;
}

TryggdProcess::TryggdProcess(const std::vector<std::string>& args, std::chrono::milliseconds timeout,
                             const std::vector<std::string>& extra_env) {
  // A running server logs every call; a pipe nobody reads until Stop would
  // fill up and block it, so its stderr goes to an in-memory file.
  stderr_file_ = memfd_create("tryggd-stderr", MFD_CLOEXEC);
  if (stderr_file_ < 0) std::abort();
  pid_ = Spawn(args, extra_env, &stdout_fd_, &stderr_fd_, stderr_file_);
  // tryggd prints "tryggd listening on <address>; ..." once it accepts calls;
  // readiness is that line, waited for with a deadline (poll on its stdout).
  static constexpr std::string_view kListening = "tryggd listening on ";
  auto deadline = SteadyClock::now() + timeout;
  while (SteadyClock::now() < deadline) {
    if (auto at = stdout_text_.find(kListening); at != std::string::npos) {
      auto begin = at + kListening.size();
      auto end = stdout_text_.find(';', begin);
      if (end != std::string::npos && end > begin &&
          stdout_text_.find_first_of(" \t\n", begin) >= end) {
        address_ = stdout_text_.substr(begin, end - begin);
        return;
      }
    }
    if (!ReadSome(stdout_fd_, stdout_text_, std::chrono::milliseconds(50))) break;
  }
  ExitResult result = Stop(SIGKILL, std::chrono::seconds(5));
  startup_error_ = result.stdout_text + result.stderr_text;
}

ExitResult TryggdProcess::Stop(int signal, std::chrono::milliseconds timeout) {
  ExitResult result;
  if (pid_ < 0) return result;
  kill(pid_, signal);
  auto deadline = SteadyClock::now() + timeout;
  std::string err_text;
  Drain(stdout_fd_, stdout_text_, deadline);
  Drain(stderr_fd_, err_text, deadline);
  result = WaitFor(pid_, deadline);
  result.stdout_text = stdout_text_;
  result.stderr_text = err_text + stderr_text();
  close(stdout_fd_);
  if (stderr_fd_ >= 0) close(stderr_fd_);
  if (stderr_file_ >= 0) close(stderr_file_);
  stdout_fd_ = stderr_fd_ = stderr_file_ = -1;
  pid_ = -1;
  return result;
}

std::string TryggdProcess::stderr_text() const {
  std::string text;
  if (stderr_file_ < 0) return text;
  char buf[65536];
  for (off_t at = 0;;) {
    ssize_t n = pread(stderr_file_, buf, sizeof(buf), at);
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
    at += n;
  }
  return text;
}

TryggdProcess::~TryggdProcess() {
  if (pid_ >= 0) Stop(SIGKILL, std::chrono::seconds(5));
}

}  // namespace trygg::testing
