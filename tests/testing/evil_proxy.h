// SPDX-License-Identifier: Apache-2.0

// EvilProxy: a malicious server for tests. A gRPC server on 127.0.0.1:0 that
// forwards every call to a real tryggd, byte for byte, and lets a test drop,
// replay, reorder, substitute and fork what the clients behind it receive.
// A client uses it by connecting to address() instead of tryggd's
// (TrustWorld::ClientThrough); two proxies in front of one tryggd show two
// clients two different worlds (a fork).
//
// What it forwards: every method, as opaque bytes. Unary calls (looked up in
// the generated descriptor pool) go through the hooks below; streaming calls
// of any shape are piped through message by message, and the server's
// messages of a streaming call pass the stream hook. The client's
// `authorization` metadata (its bearer token) and any `trygg-*` metadata go
// upstream; the server's initial and trailing metadata (the audit receipt,
// docs/api.md "Audit receipts") come back, for streams the trailing only.
// The call keeps the client's deadline.
//
// Recording: the proxy keeps every unary exchange that tryggd answered OK,
// as tryggd answered it (before any hook), so a test can serve an older
// response later (replay, an old snapshot).
//
// Ownership: owns its gRPC server and its channel to tryggd; `upstream` must
// stay reachable while clients use the proxy. Destroying the proxy cancels
// the calls still in flight.
// Thread-safety: every method may be called from any thread. Hooks run on
// gRPC's threads, one at a time (the proxy serialises them), so a hook may
// keep plain state in its captures; a hook must not call through the proxy.
// Failure modes: ok() is false when the listener could not start. A dropped
// call is UNAVAILABLE; a response that cannot be forwarded is INTERNAL.
// Nothing it handles is logged (requests carry tokens and ciphertext).
#ifndef TRYGG_TESTS_TESTING_EVIL_PROXY_H_
#define TRYGG_TESTS_TESTING_EVIL_PROXY_H_

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

namespace trygg::testing {

class EvilProxy {
 public:
  // What a unary hook decides after seeing tryggd's answer.
  enum class Action {
    kForward,  // send `response` as the hook left it (unchanged = pass)
    kDrop,     // the client gets UNAVAILABLE; tryggd has done the work
  };
  // Called after tryggd answered a unary call with OK. `response` is what the
  // client will receive: a hook replaces it (replay, substitution) or edits
  // it (see Alter).
  using UnaryHook = std::function<Action(const std::string& method, const grpc::ByteBuffer& request,
                                         grpc::ByteBuffer& response)>;
  // What a request gate decides before a unary call is forwarded.
  enum class Gate {
    kForward,  // send it on to tryggd
    kDrop,     // the client gets UNAVAILABLE and tryggd never sees the call
    kAnswer,   // the client gets `answer` (OK) and tryggd never sees the call:
               // a write the server pretends to store, a read it makes up
  };
  using RequestGate =
      std::function<Gate(const std::string& method, const grpc::ByteBuffer& request, grpc::ByteBuffer& answer)>;
  // Called for each message tryggd sends on a streaming call; what the hook
  // appends to `out` is sent, in order. Appending nothing holds a message
  // back (the hook may release it with a later one: reordering); messages
  // still held when the stream ends are lost.
  using StreamHook =
      std::function<void(const std::string& method, grpc::ByteBuffer message, std::vector<grpc::ByteBuffer>& out)>;

  struct Exchange {
    std::string method;
    grpc::ByteBuffer request;
    grpc::ByteBuffer response;  // as tryggd sent it
  };

  // Starts the proxy in front of tryggd at `upstream` (host:port).
  explicit EvilProxy(const std::string& upstream);
  ~EvilProxy();
  EvilProxy(const EvilProxy&) = delete;
  EvilProxy& operator=(const EvilProxy&) = delete;

  bool ok() const;
  // 127.0.0.1:<port>
  const std::string& address() const;

  // `method` is the full gRPC name, "/trygg.v1.TrustService/GetOrgLog";
  // an empty method sets the hook for every method without a hook of its own.
  void SetHook(const std::string& method, UnaryHook hook);
  void SetRequestGate(RequestGate gate);
  void SetStreamHook(const std::string& method, StreamHook hook);
  // Back to an honest proxy (recordings are kept).
  void ClearHooks();

  // Every exchange of `method` tryggd answered OK, oldest first.
  std::vector<Exchange> Recorded(const std::string& method) const;
  // The number of calls of `method` that reached the proxy.
  size_t Calls(const std::string& method) const;

  // Serialisation helpers for hooks.
  static std::string Bytes(const grpc::ByteBuffer& buffer);
  static grpc::ByteBuffer Buffer(const std::string& bytes);
  template <class Message>
  static Message Parse(const grpc::ByteBuffer& buffer) {
    Message message;
    message.ParseFromString(Bytes(buffer));
    return message;
  }
  template <class Message>
  static grpc::ByteBuffer Serialize(const Message& message) {
    return Buffer(message.SerializeAsString());
  }
  // A hook that parses the exchange into its proto types, lets `edit` change
  // the response, and forwards the result.
  template <class Request, class Response>
  static UnaryHook Alter(std::function<void(const Request&, Response&)> edit) {
    return [edit = std::move(edit)](const std::string&, const grpc::ByteBuffer& request,
                                    grpc::ByteBuffer& response) {
      Response parsed = Parse<Response>(response);
      edit(Parse<Request>(request), parsed);
      response = Serialize(parsed);
      return Action::kForward;
    };
  }

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace trygg::testing

#endif  // TRYGG_TESTS_TESTING_EVIL_PROXY_H_
